import json

import pytest

from xiaobao.eval.verbatim import SETS, load, run_verbatim_eval
from xiaobao.knowledge.retriever import Hit


def hit(doc_id: str) -> Hit:
    return Hit(group=f"qa:{doc_id}", score=1.0, payload={"doc_id": doc_id, "doc_type": "qa"}, signals={})


def test_paraphrases_and_near_misses_are_scored_apart(tmp_path):
    rows = [
        {"question": "开办企业需要哪些材料", "expect": "qa-0024"},
        {"question": "注册公司多久拿执照", "expect": "qa-0023"},
        {"question": "个体户注销要什么材料", "expect": None},
        {"question": "公积金怎么提取", "expect": None},
    ]
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    answers = {
        "开办企业需要哪些材料": ([hit("qa-0024")], "verbatim"),
        "注册公司多久拿执照": ([hit("qa-0024")], "verbatim"),  # the wrong entry
        "个体户注销要什么材料": ([hit("qa-0021")], "verbatim"),  # a false verbatim
        "公积金怎么提取": ([], "refuse"),
    }
    s = run_verbatim_eval(answers.__getitem__, {"x": path})["sets"]["x"]
    assert (s["paraphrases"], s["verbatim_right"], s["verbatim_wrong_entry"]) == (2, 0.5, 0.5)
    assert (s["near_misses"], s["false_verbatim"]) == (2, 0.5)


def test_the_shipped_sets_are_well_formed_and_apart():
    tuning, evaluation = (load(SETS[name]) for name in ("tuning", "evaluation"))
    assert len(tuning) >= 40 and len(evaluation) >= 40
    assert not {r["question"] for r in tuning} & {r["question"] for r in evaluation}
    for rows in (tuning, evaluation):
        assert sum(1 for r in rows if r["expect"]) >= 20 and sum(1 for r in rows if not r["expect"]) >= 20


def test_a_row_without_expect_is_refused(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "x"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="第 1 行"):
        load(path)
