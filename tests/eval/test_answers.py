import json

from tests.conftest import citing, write
from xiaobao.eval.answers import run_answer_eval
from xiaobao.eval.questions import Question, load_questions


def test_answer_metrics(engine, llm, tmp_path):
    llm.answers = [citing("第一条", "年满九十周岁的本区户籍老人每月领取高龄津贴400元[{n}]。这句是编的[{n}]。")]
    engine.settings = engine.settings.model_copy(update={"evidence_threshold": 0.35})
    cases = [
        Question("九十岁老人高龄津贴每月多少钱", {"示例区高龄津贴办法|第一条"}),
        Question("办事大厅什么时候开门", {"qa-1"}),
        Question("推荐一部好看的电影", set(), expect_refusal=True),
    ]
    result = run_answer_eval(engine, cases)
    assert result["n"] == 3
    assert result["paths"] == {"generated": 1, "verbatim": 1, "refused": 1}
    assert result["citation_precision"] == 1.0
    assert result["support_rate"] == 0.5  # one of the model's two sentences was supported
    assert result["uncited_generated"] == 0
    assert result["refusal_rate_out_of_scope"] == 1.0
    assert result["ttft_p50_ms"] is not None and result["total_p50_ms"] > 0


def test_load_cases_reads_both_formats(tmp_path):
    path = write(
        tmp_path / "q.jsonl",
        "\n".join([
            json.dumps({"question": "问1", "relevant": [{"law": "法", "article": "第一条"}]}, ensure_ascii=False),
            json.dumps({"question": "问2", "expect": "refuse"}, ensure_ascii=False),
        ]),
    )  # fmt: skip
    cases = load_questions(path)
    assert cases[0].relevant == {"法|第一条"} and not cases[0].expect_refusal
    assert cases[1].expect_refusal
