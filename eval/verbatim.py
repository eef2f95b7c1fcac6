"""`xiaobao eval verbatim`: when is an official reply (答复口径) given word for word?

An official reply read out verbatim is the strongest thing Xiaobao says, so both of its mistakes are
measured on the demo knowledge pack: a paraphrase of an entry's question that does not get the
reply (开办企业需要哪些材料 → 注册公司需要准备哪些材料？), and a question about something else that gets
a close entry's reply anyway (高龄老人护理补贴怎么申请 → 高龄老人津贴怎么申请？). Two sets written by us
(eval/data/README.md): verbatim-tuning.jsonl, on which the rule was chosen, and
verbatim-evaluation.jsonl, written apart in citizens' own words and never used to tune. A row's
`expect` is the entry that should be read out, or null when no official reply answers it; each
paraphrase is also asked with its entry left out (eval.truth.left_out: the answer is then not in the
knowledge base).
The decision is the engine's own (Engine.triage), without the model — or, when `xiaobao serve` holds
the data directory, the running service's (its hit test, GET /api/staff/search, as the local operator).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx

from xiaobao.eval.truth import left_out

DATA = Path(__file__).resolve().parent / "data"
SETS = {
    "tuning": DATA / "verbatim-tuning.jsonl",
    "evaluation": DATA / "verbatim-evaluation.jsonl",  # seen through three rule changes: no longer blind
    "evaluation-2": DATA / "verbatim-evaluation-2.jsonl",  # seen: the rule was changed for what it showed
    "evaluation-3": DATA / "verbatim-evaluation-3.jsonl",  # seen: the rule was changed for what it showed
    "evaluation-4": DATA / "verbatim-evaluation-4.jsonl",  # blind (eval/data/README.md)
}
COMMAND = "xiaobao eval verbatim --json docs/eval/verbatim.json"

Decide = Callable[[str], tuple[str, str | None]]  # a question → (decision, the entry read out if verbatim)
LeaveOut = Callable[[str, str], tuple[str, str | None]]  # (question, entry left out) → the same


def by_engine(engine) -> Decide:
    def decide(question: str) -> tuple[str, str | None]:
        hits, decision = engine.triage(question)
        return decision, str(hits[0].payload.get("doc_id")) if decision == "verbatim" and hits else None

    return decide


def leaving_out(engine) -> LeaveOut:
    """The engine's decision with one entry left out of the knowledge base, as if it had never been
    published: does the question then get another entry's reply verbatim?"""
    decide = by_engine(engine)

    def decide_without(question: str, entry: str) -> tuple[str, str | None]:
        with left_out(engine.kb, {entry}):
            return decide(question)

    return decide_without


def by_service(http: httpx.Client) -> Decide:
    def decide(question: str) -> tuple[str, str | None]:
        found = http.get("/api/staff/search", params={"q": question, "k": 1, "ask_model": "false"}).raise_for_status().json()
        return found["decision"], str(found["hits"][0]["doc_id"]) if found["decision"] == "verbatim" and found["hits"] else None

    return decide


def load(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for number, row in enumerate(rows, start=1):
        if not isinstance(row.get("question"), str) or "expect" not in row:
            raise ValueError(f"{path.name} 第 {number} 行缺少 question 或 expect")
    return rows


def score(decide: Decide, rows: list[dict], left_out: LeaveOut | None = None) -> dict:
    """Per row the decision and the entry read out; paraphrase recall and the false-verbatim rate.
    With `left_out`, each paraphrase is asked again with its own entry left out: any reply read out
    then is a false one (the answer is not in the knowledge base)."""
    out = []
    for row in rows:
        decision, given = decide(row["question"])
        out.append({**row, "decision": decision, "given": given, "ok": given == row["expect"]})
        if left_out and row["expect"]:
            out[-1]["given_left_out"] = left_out(row["question"], row["expect"])[1]
    paraphrases = [r for r in out if r["expect"]]
    others = [r for r in out if not r["expect"]]

    def share(count: int, group: list) -> float:
        return round(count / max(len(group), 1), 4)

    return {
        "paraphrases": len(paraphrases),
        "verbatim_right": share(sum(r["ok"] for r in paraphrases), paraphrases),
        "verbatim_wrong_entry": share(sum(bool(r["given"]) and not r["ok"] for r in paraphrases), paraphrases),
        "near_misses": len(others),
        "false_verbatim": share(sum(bool(r["given"]) for r in others), others),
        **({"false_verbatim_left_out": share(sum(bool(r["given_left_out"]) for r in paraphrases), paraphrases)} if left_out else {}),
        "rows": out,
    }


def run_verbatim_eval(decide: Decide, sets: dict[str, Path] = SETS, left_out: LeaveOut | None = None) -> dict:
    return {"command": COMMAND, "sets": {name: score(decide, load(path), left_out) for name, path in sets.items()}}


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = ("verbatim_right", "verbatim_wrong_entry", "false_verbatim", "false_verbatim_left_out")
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(len(result["sets"]), 1)
    for i, (name, s) in enumerate(result["sets"].items()):
        bars = ax.bar([x + i * width for x in range(len(metrics))], [s.get(m, 0.0) for m in metrics], width, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks([x + width / 2 for x in range(len(metrics))], metrics)
    ax.set_ylim(0, 1.05)
    ax.set_title("Official replies given verbatim (demo pack)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
