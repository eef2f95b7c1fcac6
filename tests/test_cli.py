import json

import pytest
from typer.testing import CliRunner

from xiaobao.cli import app

runner = CliRunner()
COMMANDS = [
    [],
    ["ingest"],
    ["init"],
    ["search"],
    ["serve"],
    ["ask"],
    ["bench"],
    ["eval"],
    ["eval", "retrieval"],
    ["eval", "answers"],
    ["eval", "calibrate"],
    ["eval", "api"],
    ["eval", "handoff"],
    ["eval", "prereview"],
    ["eval", "prefill"],
    ["users"],
    ["users", "add"],
    ["users", "list"],
    ["users", "passwd"],
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


@pytest.fixture
def fake_models(monkeypatch, fake_embedder):
    """Commands build their embedder from the settings; give them the fast fake instead."""
    from xiaobao.knowledge import base as knowledge_base

    monkeypatch.setattr(knowledge_base, "build_embedder", lambda settings: fake_embedder)


def test_ingest_then_search(tmp_path, fake_models):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "qa.jsonl").write_text(
        json.dumps({"id": "qa-1", "question": "怎么转人工？", "answer": "请输入转人工。"}, ensure_ascii=False) + "\n{bad\n",
        encoding="utf-8",
    )
    data = ["--data-dir", str(tmp_path / "var")]
    result = runner.invoke(app, [*data, "ingest", str(corpus)])
    assert result.exit_code == 0, result.output
    assert "导入结果" in result.output and "qa.jsonl:2" in result.output
    result = runner.invoke(app, [*data, "search", "转人工", "-k", "3"])
    assert result.exit_code == 0, result.output
    assert "答复口径 qa-1" in result.output and "请输入转人工" in result.output


def test_init_loads_the_demo_pack_once(tmp_path, fake_models):
    data = ["--data-dir", str(tmp_path / "var")]
    first = runner.invoke(app, [*data, "init", "--no-llm"])
    assert first.exit_code == 0, first.output
    assert "导入示例知识包" in first.output
    second = runner.invoke(app, [*data, "init", "--no-llm"])
    assert "跳过示例知识包" in second.output
    result = runner.invoke(app, [*data, "search", "怎么联系人工帮办", "--type", "qa"])
    assert "答复口径" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "/no/such/path"], "路径不存在"),
        (["search", "  "], "问题不能为空"),
        (["search", "津贴", "--date", "2024-13-01"], "日期格式"),
    ],
)
def test_bad_input_gets_a_clear_message(tmp_path, fake_models, args, message):
    result = runner.invoke(app, ["--data-dir", str(tmp_path / "var"), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_interactive_search_loop(tmp_path, fake_models):
    data = ["--data-dir", str(tmp_path / "var")]
    runner.invoke(app, [*data, "init", "--no-llm"])
    result = runner.invoke(app, [*data, "search"], input="高龄津贴\n\n")
    assert result.exit_code == 0, result.output
    assert "交互模式" not in result.output and "检索结果" in result.output


def test_staff_accounts_from_the_command_line(tmp_path):
    base = ["--data-dir", str(tmp_path / "var"), "users"]
    added = runner.invoke(app, [*base, "add", "li", "--role", "helper", "--name", "李明"], input="password-1\npassword-1\n")
    assert added.exit_code == 0, added.output
    assert "已创建 li（线上帮办）" in added.output
    listed = runner.invoke(app, [*base, "list"])
    assert "李明" in listed.output and "线上帮办" in listed.output
    refused = [
        ["add", "li", "--role", "helper", "--password", "password-1"],  # exists
        ["add", "wang", "--role", "boss", "--password", "password-1"],
        ["add", "wang", "--role", "helper", "--password", "short"],
        ["passwd", "nobody", "--password", "password-2"],
    ]
    for args in refused:
        result = runner.invoke(app, [*base, *args])
        assert result.exit_code == 2 and "错误" in result.output, result.output
    assert runner.invoke(app, [*base, "passwd", "li", "--password", "password-2"]).exit_code == 0


def test_prefill_evaluation_command(tmp_path):
    out = tmp_path / "prefill.json"
    result = runner.invoke(app, ["--data-dir", str(tmp_path / "var"), "eval", "prefill", "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert set(data) >= {"forms", "fields", "filled", "fill_rate"} and data["fill_rate"] >= 0.8
