"""The docs describe what exists: README's command table against the `xiaobao` command, the settings
tables against `Settings`, README's REST table against the OpenAPI schema."""

import re
from pathlib import Path

import typer

from xiaobao.cli import app
from xiaobao.server import create_app
from xiaobao.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# staff routes are documented by prefix in README and route by route in docs/STAFF.md and docs/OPERATIONS.md
BY_PREFIX = ("/api/staff/", "/api/helpdesk/", "/api/editor/", "/api/admin/", "/api/ops/")


def section(text: str, title: str) -> str:
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def cells(line: str) -> list[str]:
    return re.split(r"(?<!\\)\|", line)  # a table cell may hold an escaped pipe (helper\|editor)


def first_cells(table: str) -> list[str]:
    return [cells(line)[1] for line in table.splitlines() if line.startswith("| `")]


def commands(group, prefix: str = "xiaobao") -> set[str]:
    """The leaf commands of the Typer app (a group is anything with subcommands)."""
    found = set()
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        found |= commands(command, path) if getattr(command, "commands", None) else {path}
    return found


def test_the_command_table_lists_every_command():
    documented = set()
    for cell in first_cells(section(README, "Commands")):
        for code in re.findall(r"`(xiaobao [^`]*)`", cell):
            words = code.split()
            documented.add(" ".join(w for i, w in enumerate(words) if all(re.fullmatch(r"[a-z][a-z-]*", x) for x in words[: i + 1])))
    assert documented == commands(typer.main.get_command(app))


def settings_in(text: str) -> dict[str, str]:
    """Each XIAOBAO_ variable named in a table's first cell, with that row's default cell."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("| `XIAOBAO_"):
            row = cells(line)
            for name in re.findall(r"`XIAOBAO_([A-Z0-9_]+)`", row[1]):
                rows[name.lower()] = row[2].strip()
    return rows


def test_the_settings_reference_lists_every_setting_and_readme_only_real_ones():
    reference = settings_in((ROOT / "docs" / "SETTINGS.md").read_text(encoding="utf-8"))
    assert set(reference) == set(Settings.model_fields)
    assert set(settings_in(section(README, "Settings"))) <= set(Settings.model_fields)


def test_the_rest_table_matches_the_openapi_schema(services):
    schema = create_app(services, with_ui=False).openapi()
    served = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    documented = set()
    for cell in first_cells(section(README, "HTTP API")):
        for method, path in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s\[]*)", cell):
            documented.add((method, re.sub(r"\{[a-z_]*\}", "{}", path)))
    normal = {(m, re.sub(r"\{[a-z_]*\}", "{}", p)) for m, p in served}
    assert documented <= normal, documented - normal
    assert {(m, p) for m, p in normal if not p.startswith(BY_PREFIX)} <= documented
