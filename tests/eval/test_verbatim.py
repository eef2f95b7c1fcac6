import json

import pytest
from fastapi.testclient import TestClient

from xiaobao.api.deps import LOCAL_TOKEN
from xiaobao.eval.verbatim import SETS, by_engine, by_service, load, run_verbatim_eval
from xiaobao.server import create_app


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
        "开办企业需要哪些材料": ("verbatim", "qa-0024"),
        "注册公司多久拿执照": ("verbatim", "qa-0024"),  # the wrong entry
        "个体户注销要什么材料": ("verbatim", "qa-0021"),  # a false verbatim
        "公积金怎么提取": ("refuse", None),
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


def test_the_running_service_decides_as_the_engine_does(services):
    """While `xiaobao serve` holds the index the evaluation asks the service (as the local operator)."""
    app = create_app(services, with_ui=False)
    app.state.local_token = "local-secret"
    client = TestClient(app)
    assert client.get("/api/staff/search", params={"q": "公积金"}).status_code == 401
    assert client.get("/api/staff/search", params={"q": "公积金"}, headers={LOCAL_TOKEN: "guess"}).status_code == 403
    client.headers[LOCAL_TOKEN] = "local-secret"
    questions = [r["question"] for r in load(SETS["tuning"])][:12]
    assert [by_service(client)(q) for q in questions] == [by_engine(services.engine)(q) for q in questions]
