"""`xiaobao eval truth`: does Xiaobao answer only when the knowledge base holds the answer?

The leave-out evaluation at the decision level (no model call: fast and deterministic). Each FAQ
question is asked with its gold answer present or — for half of them, fixed by the id — removed
(filtered out of what retrieval returns). Per split (training vs held-out departments):
- correct: answers and the top passage (re-ranked by P(answers)) is the gold;
- wrong: answers from a non-gold passage while the gold is there;
- refused_answerable: refuses although the gold is there;
- false_answer_rate: answers although the gold was removed (target ≤ 5 %);
- recall@1 of the fused ranking and of the P-re-ranked one (all questions, gold present);
plus the refusal rate on out-of-scope questions (eval/data/out_of_scope.jsonl) over the same index.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from xiaobao.assistant.answerability import Model, assess, load_model
from xiaobao.eval.answerability import CORPUS, HELD_OUT, QUERIES, Case, best_probability, collect, read_queries
from xiaobao.eval.questions import gold_keys
from xiaobao.knowledge.index import SearchFilter
from xiaobao.knowledge.lexical import Tokenizer
from xiaobao.knowledge.retriever import unit_key
from xiaobao.operations.metrics import percentile
from xiaobao.settings import Settings

OUT_OF_SCOPE = Path(__file__).resolve().parent / "data" / "out_of_scope.jsonl"
TARGETS = {"false_answer_rate": ("≤", 0.05), "correct_when_present": ("≥", 0.85), "out_of_scope_refused": ("≥", 0.95)}


def cosine_baseline(cases: Sequence[Case], evidence_threshold: float) -> dict:
    """The rule this replaced, on the same questions: answer from the fused top hit when the best dense
    cosine reaches evidence_threshold."""
    present = [c for c in cases if not c.removed]
    absent = [c for c in cases if c.removed]

    def answers(lst) -> bool:
        return any(x.dense is not None and x.dense >= evidence_threshold for x in lst)

    correct = sum(answers(c.full) and bool(c.full) and c.full[0].key in c.gold for c in present)
    return {
        "evidence_threshold": evidence_threshold,
        "correct_when_present": round(correct / max(len(present), 1), 4),
        "false_answer_rate": round(sum(answers(c.left) for c in absent) / max(len(absent), 1), 4),
    }


def split_scores(model: Model, tokenizer, cases: Sequence[Case], threshold: float) -> dict:
    present = [c for c in cases if not c.removed]
    absent = [c for c in cases if c.removed]
    correct = wrong = refused = 0
    for case in present:
        p, key = best_probability(model, tokenizer, case, removed=False)
        if p < threshold:
            refused += 1
        elif key in case.gold:
            correct += 1
        else:
            wrong += 1
    false = sum(best_probability(model, tokenizer, case, removed=True)[0] >= threshold for case in absent)
    fused = sum(bool(c.full) and c.full[0].key in c.gold for c in cases)
    reranked = sum(best_probability(model, tokenizer, c, removed=False)[1] in c.gold for c in cases)
    n_p = max(len(present), 1)
    return {
        "questions": len(cases),
        "present": len(present),
        "absent": len(absent),
        "correct_when_present": round(correct / n_p, 4),
        "wrong_when_present": round(wrong / n_p, 4),
        "refused_answerable": round(refused / n_p, 4),
        "false_answer_rate": round(false / max(len(absent), 1), 4),
        "recall@1_fused": round(fused / max(len(cases), 1), 4),
        "recall@1_reranked": round(reranked / max(len(cases), 1), 4),
        "gold_retrieved@10": round(sum(any(x.key in c.gold for x in c.full) for c in cases) / max(len(cases), 1), 4),
    }


def curve(model: Model, tokenizer, cases: Sequence[Case]) -> list[dict]:
    """Correct-when-present against false-answer rate, over thresholds (all questions, both states)."""
    present = [best_probability(model, tokenizer, c, removed=False) for c in cases]
    absent = [best_probability(model, tokenizer, c, removed=True)[0] for c in cases]
    out = []
    for t in np.linspace(0.0, 1.0, 41):
        correct = sum(p >= t and key in c.gold for (p, key), c in zip(present, cases, strict=True))
        out.append({
            "threshold": round(float(t), 3),
            "correct_when_present": round(correct / max(len(cases), 1), 4),
            "false_answer_rate": round(sum(p >= t for p in absent) / max(len(absent), 1), 4),
        })  # fmt: skip
    return out


def run_truth_eval(
    settings: Settings,
    queries_file: Path = QUERIES,
    corpus: Sequence[Path] = (CORPUS,),
    out_of_scope: Path = OUT_OF_SCOPE,
    limit: int | None = None,
    model: Model | None = None,
    ingest: Callable | None = None,
    on_case: Callable | None = None,
    embedder=None,
) -> dict:
    from xiaobao.eval.retrieval import corpus_collection
    from xiaobao.services import Services

    cases, _ = collect(settings, queries_file, corpus, limit, ingest, on_case, embedder)
    tokenizer = Tokenizer(settings.cache_dir)
    with Services(settings, collection=corpus_collection(corpus), embedder=embedder) as services:
        model = model or load_model(settings.answerability_model, services.kb.embedder.model_id)
        if model is None:
            raise ValueError(
                f"没有为嵌入模型 {services.kb.embedder.model_id} 训练的可答性模型；先运行 xiaobao eval answerability --write-model"
            )
        threshold = settings.answer_probability if settings.answer_probability is not None else model.answer_threshold
        oos = [json.loads(line)["question"] for line in out_of_scope.read_text(encoding="utf-8").splitlines() if line.strip()]
        refused = 0
        for q in oos:
            hits = services.kb.retriever.search(q, 10, SearchFilter())
            refused += not assess(model, services.kb.tokenizer, q, hits, threshold).answerable
    # FAQ questions split by department (the model was fitted on the training ones); questions without
    # a department (lecoqa's statute questions) were never trained on and form one split
    splits = (
        {"train": [c for c in cases if not c.held_out], "held_out": [c for c in cases if c.held_out]}
        if any(c.department for c in cases)
        else {"not_trained_on": list(cases)}
    )
    result = {
        "queries": str(queries_file),
        "corpus": [str(p) for p in corpus],
        "embedder": model.embedder,
        "thresholds": {"answer_probability": threshold, "verbatim_probability": model.verbatim_threshold},
        "model": model.info,
        "splits": {name: split_scores(model, tokenizer, group, threshold) for name, group in splits.items() if group},
        "cosine_baseline": {name: cosine_baseline(group, settings.evidence_threshold) for name, group in splits.items() if group},
        "out_of_scope": {"questions": len(oos), "refused": round(refused / max(len(oos), 1), 4)},
        "curve": {name: curve(model, tokenizer, group) for name, group in splits.items() if group},
        "targets": {k: f"{op} {v:.0%}" for k, (op, v) in TARGETS.items()},
    }
    return result


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = (
        "correct_when_present",
        "wrong_when_present",
        "refused_answerable",
        "false_answer_rate",
        "recall@1_fused",
        "recall@1_reranked",
    )
    splits = list(result["splits"])
    fig, (bars_ax, curve_ax) = plt.subplots(1, 2, figsize=(13, 4.5))
    width = 0.8 / (len(splits) + 1)
    for i, name in enumerate(splits):
        values = [result["splits"][name][m] for m in metrics]
        bars = bars_ax.bar([x + i * width for x in range(len(metrics))], values, width, label=name)
        bars_ax.bar_label(bars, fmt="%.2f", fontsize=7)
    oos = bars_ax.bar([len(metrics) + width / 2], [result["out_of_scope"]["refused"]], width, label="out of scope refused")
    bars_ax.bar_label(oos, fmt="%.2f", fontsize=7)
    bars_ax.set_xticks([x + width / 2 for x in range(len(metrics) + 1)], [*metrics, "oos_refused"], rotation=25, fontsize=8)
    bars_ax.set_ylim(0, 1.05)
    bars_ax.set_title(f"Truth (leave-out), P ≥ {result['thresholds']['answer_probability']:.3f}")
    bars_ax.legend(fontsize=8)
    for name, points in result["curve"].items():
        curve_ax.plot([p["false_answer_rate"] for p in points], [p["correct_when_present"] for p in points], marker=".", label=name)
    curve_ax.axvline(0.05, color="grey", linestyle="--", linewidth=0.8)
    curve_ax.set_xlabel("false-answer rate (gold removed)")
    curve_ax.set_ylabel("correct when present")
    curve_ax.set_title("Threshold sweep")
    curve_ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


ANSWERED = ("verbatim", "generated", "quoted")


class LeftOut:
    """The knowledge base's retriever with some units left out, as if they had never been published:
    the whole engine then answers (or not) from what remains."""

    def __init__(self, retriever, removed: set[str]) -> None:
        self._retriever, self.removed = retriever, removed

    def search(self, query: str, k: int = 10, flt=None, **kw):
        hits = self._retriever.search(query, k + len(self.removed), flt, **kw)
        return [h for h in hits if unit_key(h.payload) not in self.removed][:k]


@contextmanager
def left_out(kb, removed: set[str]):
    """`kb` answers, for the duration, as if the `removed` units had never been published."""
    retriever = kb.retriever
    kb.retriever = LeftOut(retriever, removed)
    try:
        yield
    finally:
        kb.retriever = retriever


def run_end_to_end(
    settings: Settings,
    questions: int,
    queries_file: Path = QUERIES,
    corpus: Sequence[Path] = (CORPUS,),
    ingest: Callable | None = None,
    on_case: Callable | None = None,
    running: Callable | None = None,
    embedder=None,
    llm=None,
) -> dict:
    """The leave-out probe through the whole engine with the real model: `questions` questions spread
    evenly over the held-out departments (every k-th: consecutive rows are one department's series of
    near-duplicates), half with their gold answer left out (by id, as in the decision-level
    evaluation). Per question: the path, whether a citation names the gold, and the time to the first
    checked sentence. `running(services)`: a context that keeps the model served for the duration."""
    from contextlib import nullcontext

    from xiaobao.eval.retrieval import corpus_collection, ingest_quietly
    from xiaobao.services import Services

    held = [r for r in read_queries(queries_file) if (r.get("department") or "") in HELD_OUT]
    chosen = held[:: max(1, len(held) // max(questions, 1))][:questions]
    rows = []
    with Services(settings, collection=corpus_collection(corpus), embedder=embedder, llm=llm) as services:
        (ingest or ingest_quietly)(services, list(corpus))
        engine = services.engine
        with (running or (lambda _: nullcontext()))(services):
            engine.warm_model()  # as `serve` does at start: times are those of a running service
            for rec in chosen:
                gold = gold_keys(rec)
                removed = zlib.crc32(str(rec["id"]).encode()) % 2 == 1
                started, first = time.perf_counter(), None
                with left_out(services.kb, gold if removed else set()):
                    for kind, value in engine.stream(engine.create_session(channel="eval"), rec["question"]):
                        if kind == "sentence" and first is None:
                            first = (time.perf_counter() - started) * 1000
                        if kind == "final":
                            reply = value
                row = {
                    "id": rec["id"],
                    "question": rec["question"],
                    "removed": removed,
                    "path": reply.path,
                    "cites_gold": any(c.get("key") in gold for c in reply.citations),
                    "first_sentence_ms": round(first) if first is not None else None,
                    "total_ms": round(reply.total_ms or 0),
                    "text": reply.text[:200],
                }
                rows.append(row)
                if on_case:
                    on_case(row)
    present = [r for r in rows if not r["removed"]]
    absent = [r for r in rows if r["removed"]]
    firsts = [r["first_sentence_ms"] for r in rows if r["first_sentence_ms"] is not None]

    def share(group, test) -> float:
        return round(sum(map(test, group)) / max(len(group), 1), 4)

    return {
        "questions": len(rows),
        "departments": list(HELD_OUT),
        "present": len(present),
        "absent": len(absent),
        "correct_when_present": share(present, lambda r: r["path"] in ANSWERED and r["cites_gold"]),
        "wrong_when_present": share(present, lambda r: r["path"] in ANSWERED and not r["cites_gold"]),
        "refused_answerable": share(present, lambda r: r["path"] not in ANSWERED),
        "false_answer_rate": share(absent, lambda r: r["path"] in ANSWERED),
        "paths": {p: sum(r["path"] == p for r in rows) for p in sorted({r["path"] for r in rows})},
        "first_sentence_ms": {"n": len(firsts), "p50": round(percentile(firsts, 50)), "p95": round(percentile(firsts, 95))}
        if firsts
        else {"n": 0},
        "rows": rows,
    }
