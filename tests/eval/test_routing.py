"""`xiaobao eval routing` on small fixed sets: the scores, the fitting, the command."""

import json

import pytest
from typer.testing import CliRunner

from tests.conftest import write
from xiaobao.assistant.router import Route, rules
from xiaobao.cli import app
from xiaobao.eval import routing
from xiaobao.eval.results import write as write_result
from xiaobao.eval.routing import TRAINING, fit, load, plot, run_routing_eval, score

ROWS = [
    {"text": "我的办件", "intent": "progress"},
    {"text": "BS20240001办到哪了", "intent": "progress", "arguments": {"application_id": "BS20240001"}},
    {"text": "营业执照办理进度一般多久", "intent": "knowledge"},
    {"text": "项目进度款怎么支付", "intent": "knowledge"},
    {"text": "帮我瞅瞅材料行不行", "intent": "prereview"},
    {"text": "查询反映 bcs20240612-9f3c", "intent": "report", "arguments": {"tracking_no": "BCS202406129F3C"}},
]


def _jsonl(path, rows):
    return write(path, "\n".join(json.dumps(r, ensure_ascii=False) for r in rows))


def _mistaken(text: str) -> Route:
    """The rules, but with one knowledge question sent to a tool and one request left to retrieval."""
    return {"项目进度款怎么支付": Route("progress"), "帮我瞅瞅材料行不行": Route("knowledge")}.get(text) or rules(text)


def test_scores_count_each_kind_of_mistake():
    result = score(ROWS, _mistaken)
    assert result["n"] == 6 and result["accuracy"] == pytest.approx(4 / 6, abs=1e-4)
    assert (result["knowledge_to_tool"], result["knowledge_to_tool_rate"]) == (1, 0.5)
    assert result["tool_to_knowledge_rate"] == 0.25
    assert result["arguments"] == {"n": 2, "correct": 2}  # a spaced, lower-case tracking number read as the tool reads it
    assert sum(map(sum, result["confusion"]["rows_true_cols_routed"])) == 6
    assert result["per_intent"]["progress"] == {"support": 2, "precision": round(2 / 3, 4), "recall": 1.0}
    assert {e["text"] for e in result["errors"]} == {"项目进度款怎么支付", "帮我瞅瞅材料行不行"}


def test_fitting_chooses_a_threshold_by_cross_validation_and_the_run_compares_both_routers(tmp_path):
    rows = load(TRAINING)
    small = [r for intent in ("progress", "prereview", "knowledge") for r in [x for x in rows if x["intent"] == intent][:10]]
    model = fit(small, grid=(10.0,))
    assert 0.5 <= model.threshold <= 0.99 and model.info["C"] == 10.0
    assert set(model.intents) == {"progress", "prereview", "knowledge"}
    training, evaluation = _jsonl(tmp_path / "train.jsonl", small), _jsonl(tmp_path / "eval.jsonl", ROWS)
    result = run_routing_eval(model, training, evaluation)
    assert set(result["sets"]) == {"training", "evaluation"}
    for runs in result["sets"].values():
        assert set(runs) == {"rules", "router"}
        assert runs["router"]["tool_to_knowledge_rate"] <= runs["rules"]["tool_to_knowledge_rate"]  # it only adds tool routes
    chart = write_result(result, tmp_path / "out" / "routing.json", plot)
    assert chart.exists() and json.loads((tmp_path / "out" / "routing.json").read_text(encoding="utf-8"))["classifier"]["C"] == 10.0


def test_the_command_reports_both_sets_and_rejects_bad_labels(tmp_path):
    data = ["--data-dir", str(tmp_path / "var"), "eval", "routing"]
    training, evaluation = _jsonl(tmp_path / "train.jsonl", ROWS), _jsonl(tmp_path / "eval.jsonl", ROWS)
    out = tmp_path / "routing.json"
    result = CliRunner().invoke(app, [*data, "--training", str(training), "--evaluation", str(evaluation), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "意图路由" in result.output and out.with_suffix(".png").exists()
    assert json.loads(out.read_text(encoding="utf-8"))["sets"]["evaluation"]["rules"]["n"] == 6
    bad = _jsonl(tmp_path / "bad.jsonl", [{"text": "你好", "intent": "chitchat"}])
    result = CliRunner().invoke(app, [*data, "--evaluation", str(bad)])
    assert result.exit_code == 2 and "第 1 行" in result.output and "Traceback" not in result.output


def test_the_evaluation_set_is_scored_only_once_it_is_written(tmp_path, monkeypatch):
    model = fit(
        [r for intent in ("progress", "prereview", "knowledge") for r in [x for x in load(TRAINING) if x["intent"] == intent][:10]],
        grid=(10.0,),
    )
    training = _jsonl(tmp_path / "train.jsonl", ROWS)
    monkeypatch.setattr(routing, "EVALUATION", tmp_path / "routing-evaluation-5.jsonl")  # not written yet
    assert set(run_routing_eval(model, training, routing.EVALUATION)["sets"]) == {"training"}
    assert set(run_routing_eval(model, training, None)["sets"]) == {"training"}
    _jsonl(routing.EVALUATION, ROWS)
    assert run_routing_eval(model, training, routing.EVALUATION)["sets"]["evaluation"]["rules"]["n"] == 6
    with pytest.raises(FileNotFoundError):  # a set named on the command line must exist
        run_routing_eval(model, training, tmp_path / "typo.jsonl")
