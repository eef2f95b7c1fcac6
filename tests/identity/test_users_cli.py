"""`xiaobao users disable / enable`."""

from typer.testing import CliRunner

from xiaobao.cli import app
from xiaobao.identity.audit import entries
from xiaobao.services import Services
from xiaobao.settings import Settings

runner = CliRunner()


def test_disable_and_enable_from_the_command_line(tmp_path):
    base = ["--data-dir", str(tmp_path / "var"), "users"]
    assert runner.invoke(app, [*base, "add", "li", "--role", "helper", "--password", "password-1"]).exit_code == 0
    with Services(Settings(data_dir=tmp_path / "var")) as services:
        token, _ = services.accounts.login("li", "password-1")
    for command in ("disable", "enable"):
        shown = runner.invoke(app, [*base, command, "--help"])
        assert shown.exit_code == 0 and "账号" in shown.output
    disabled = runner.invoke(app, [*base, "disable", "li"])
    assert disabled.exit_code == 0 and "已停用 li" in disabled.output, disabled.output
    assert "已停用" in runner.invoke(app, [*base, "list"]).output
    with Services(Settings(data_dir=tmp_path / "var")) as services:
        assert services.accounts.authenticate(token) is None
    refused = runner.invoke(app, [*base, "disable", "nobody"])
    assert refused.exit_code == 2 and "没有用户 nobody" in refused.output
    enabled = runner.invoke(app, [*base, "enable", "li"])
    assert enabled.exit_code == 0 and "已启用 li" in enabled.output
    with Services(Settings(data_dir=tmp_path / "var")) as services:
        assert services.accounts.login("li", "password-1")[1].username == "li"
        actions = [e["action"] for e in entries(services.db_engine)]
    assert "disable_user" in actions and "enable_user" in actions
