"""A backup made while the service runs restores to a working data directory; the index is copied
only when no process holds it."""

from typer.testing import CliRunner

from tests.conftest import QA, FakeEmbedder, write
from xiaobao.cli import app
from xiaobao.operations.backup import BackupError, backup, restore
from xiaobao.services import Services
from xiaobao.settings import Settings


def test_backup_and_restore(tmp_path, llm):
    import json

    live = Settings(data_dir=tmp_path / "live")
    corpus = write(tmp_path / "kb" / "qa.jsonl", "\n".join(json.dumps(q, ensure_ascii=False) for q in QA))
    with Services(live.model_copy(update={"verbatim_threshold": 0.95}), embedder=FakeEmbedder(), llm=llm) as services:
        services.ingestor.ingest([corpus.parent])
        engine = services.engine
        session = engine.create_session()
        engine.respond(session, "办事大厅什么时候开门")
        online = backup(live, tmp_path / "online")  # the service holds the index
        assert online["index"].startswith("未复制")
    offline = backup(live, tmp_path / "offline")  # stopped: everything
    assert offline["index"] == "已复制"
    try:
        backup(live, tmp_path / "offline")
    except BackupError as exc:
        assert "不是空的" in str(exc)

    restored = Settings(data_dir=tmp_path / "restored")
    restore(restored, tmp_path / "offline")
    with Services(restored.model_copy(update={"verbatim_threshold": 0.95}), embedder=FakeEmbedder(), llm=llm) as services:
        engine = services.engine
        assert [t["role"] for t in engine.history(session)] == ["user", "assistant"]  # the conversation is back
        assert engine.respond(engine.create_session(), "办事大厅什么时候开门").path == "verbatim"  # and the index
    try:
        restore(restored, tmp_path / "offline")
    except BackupError as exc:
        assert "已有数据" in str(exc)


def test_backup_commands_explain_bad_input(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["--data-dir", str(tmp_path / "none"), "backup", str(tmp_path / "b")])
    assert result.exit_code == 2 and "没有找到数据库" in result.output
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["--data-dir", str(tmp_path / "x"), "restore", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "不是小宝的备份" in result.output
