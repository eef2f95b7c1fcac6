"""The structure the code promises in docs/ARCHITECTURE.md, checked: services are built only in the
composition root, and the HTTP layer stays thin. (The import layers are checked by import-linter,
which `make test` and `make lint` run.)"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the services, and the clients and stores they are made of: built once, in services.py
SERVICES = {
    "Accounts", "Budgets", "CitizenVerifier", "DbDirectory", "Editorial", "Engine", "HelpDesk", "Ingestor", "KnowledgeBase",
    "Listener", "Metrics", "OpenAICompatibleLLM", "Reports", "Reviewer", "SessionKeys", "Speaker", "Tools", "open_database",
}  # fmt: skip


def sources() -> list[Path]:
    skip = {"tests", ".venv", "build", "var"}
    return [p for p in ROOT.rglob("*.py") if not skip & set(p.relative_to(ROOT).parts)]


def calls(tree: ast.AST) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name in SERVICES:
                found.append((name, node.lineno))
    return found


def test_services_are_built_only_in_the_composition_root():
    elsewhere = [
        f"{path.relative_to(ROOT)}:{line} {name}()"
        for path in sources()
        if path.name != "services.py" or path.parent != ROOT
        for name, line in calls(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert elsewhere == []


def functions(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def test_the_http_layer_is_thin():
    http = [ROOT / "server.py", *(ROOT / "api").glob("*.py")]
    long = [f"{p.name}:{name} ({n} lines)" for p in http for name, n in functions(p) if n > 80]
    assert long == []
    (create_app,) = [n for name, n in functions(ROOT / "server.py") if name == "create_app"]
    assert create_app <= 60
