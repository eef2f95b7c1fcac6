"""`xiaobao eval truth` and the answerability trainer on a small fixed set (test fakes, no shared data)."""

import json

from tests.conftest import FakeEmbedder, write
from xiaobao.assistant.answerability import FEATURES, Model
from xiaobao.eval.answerability import Case, fit, threshold_for, training_rows
from xiaobao.eval.results import write as write_result
from xiaobao.eval.truth import plot, run_truth_eval
from xiaobao.knowledge.lexical import Tokenizer

ANSWERS = [
    ("bj-faq-1", "应急局", "地震发生时应保护头部，躲在桌旁抱头屈膝，远离窗户。"),
    ("bj-faq-2", "应急局", "火灾逃生时用湿毛巾捂住口鼻，弯腰沿安全通道撤离，不要乘坐电梯。"),
    ("bj-faq-3", "体育局", "游泳馆开放时间为每天早上九点到晚上九点，需持健康证明办理游泳卡。"),
    ("bj-faq-4", "体育局", "社会体育指导员证书可在区体育局培训考核合格后领取。"),
    ("bj-faq-5", "交通委", "小客车指标摇号每两个月举行一次，申请人须持有有效驾驶证。"),
    ("bj-faq-6", "交通委", "公交卡充值可在地铁站自助机或公交卡服务网点办理。"),
]
QUESTIONS = [
    ("bj-faq-q-1", "地震时怎么保护头部", "bj-faq-1", "应急局"),
    ("bj-faq-q-2", "火灾逃生要注意什么", "bj-faq-2", "应急局"),
    ("bj-faq-q-3", "游泳馆几点开放", "bj-faq-3", "体育局"),
    ("bj-faq-q-4", "社会体育指导员证书怎么领", "bj-faq-4", "体育局"),
    ("bj-faq-q-5", "小客车指标摇号多久一次", "bj-faq-5", "交通委"),
    ("bj-faq-q-6", "公交卡在哪里充值", "bj-faq-6", "交通委"),
]


def _files(tmp_path):
    corpus = write(
        tmp_path / "answers.jsonl", "\n".join(json.dumps({"id": i, "department": d, "text": t}, ensure_ascii=False) for i, d, t in ANSWERS)
    )
    queries = write(
        tmp_path / "queries.jsonl",
        "\n".join(json.dumps({"id": i, "question": q, "relevant": [g], "department": d}, ensure_ascii=False) for i, q, g, d in QUESTIONS),
    )
    oos = write(
        tmp_path / "oos.jsonl", json.dumps({"id": "oos-1", "question": "推荐一部好看的电影", "expect": "refuse"}, ensure_ascii=False)
    )
    return queries, corpus, oos


def _topic_model() -> Model:
    n = len(FEATURES)
    coef = [0.0] * n
    coef[FEATURES.index("topic_cover")] = 4.0
    return Model(FakeEmbedder.model_id, [0.5] * n, [0.25] * n, coef, -2.0, 0.6, 0.7)


def test_truth_eval_on_a_small_fixed_set(settings, tmp_path):
    queries, corpus, oos = _files(tmp_path)
    result = run_truth_eval(settings, queries, [corpus], oos, model=_topic_model(), embedder=FakeEmbedder())
    train, held = result["splits"]["train"], result["splits"]["held_out"]
    assert (train["questions"], held["questions"]) == (4, 2)  # 交通委 is a held-out department
    for split in (train, held):
        assert split["present"] + split["absent"] == split["questions"]
        assert split["correct_when_present"] + split["wrong_when_present"] + split["refused_answerable"] == 1.0 or split["present"] == 0
        assert 0.0 <= split["false_answer_rate"] <= 1.0
    assert result["out_of_scope"] == {"questions": 1, "refused": 1.0}
    assert result["thresholds"]["answer_probability"] == 0.6
    assert len(result["curve"]["train"]) == 41
    chart = write_result(result, tmp_path / "out" / "truth.json", plot)
    assert chart.exists() and json.loads((tmp_path / "out" / "truth.json").read_text(encoding="utf-8"))["splits"]


def test_the_trainer_fits_on_training_departments_with_leave_out_negatives(settings, tmp_path):
    from xiaobao.eval.answerability import collect

    queries, corpus, _ = _files(tmp_path)
    cases, model_id = collect(settings, queries, [corpus], embedder=FakeEmbedder())
    assert model_id == FakeEmbedder.model_id and len(cases) == 6
    assert all(all(c.key not in case.gold for c in case.left) for case in cases)  # the gold is left out
    x, y = training_rows(Tokenizer(settings.cache_dir), [c for c in cases if not c.held_out])
    assert x.shape[1] == len(FEATURES) and 0 < y.sum() <= 4  # positives only where the gold was retrieved
    model = fit(Tokenizer(settings.cache_dir), cases, model_id)
    assert model.info["train_questions"] == 4 and "交通委" in model.info["held_out_departments"]
    assert 0.0 <= model.answer_threshold <= model.verbatim_threshold <= 1.0


def test_threshold_for_a_target_false_answer_rate():
    values = [0.05 * i for i in range(20)]  # P of 20 questions asked with their gold removed
    t = threshold_for(values, 0.05)
    assert sum(v >= t for v in values) <= 1
    assert threshold_for([], 0.05) == 0.0


def test_case_split_is_fixed_by_id():
    case = Case("bj-faq-q-1", "q", "首都之窗", ["bj-faq-1"], [], [])
    assert case.held_out and case.removed == Case("bj-faq-q-1", "q", "体育局", [], [], []).removed


def test_end_to_end_leave_out_through_the_engine(settings, tmp_path):
    from tests.conftest import ScriptedLLM
    from xiaobao.eval.truth import run_end_to_end

    queries, corpus, _ = _files(tmp_path)
    llm = ScriptedLLM()
    llm.answers = ["小客车指标摇号每两个月举行一次[1]。"] * 2
    result = run_end_to_end(settings, 10, queries, [corpus], embedder=FakeEmbedder(), llm=llm)
    assert result["questions"] == 2 and {r["id"] for r in result["rows"]} == {"bj-faq-q-5", "bj-faq-q-6"}  # held-out only
    for row in result["rows"]:
        assert not (row["removed"] and row["cites_gold"])  # a left-out answer is never found
    assert result["present"] + result["absent"] == 2
    assert sum(result["paths"].values()) == 2
