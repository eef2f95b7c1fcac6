"""`xiaobao eval calibrate`: where to put the two answer thresholds, from data.

- evidence: the best dense cosine of a question against the corpus, for answerable questions and
  for out-of-scope ones; the threshold refuses the chosen share of out-of-scope questions.
- verbatim: the dense cosine between Q&A phrasings of the same entry (alternatives vs question)
  against the best cosine that unrelated questions reach; the threshold sits above the unrelated.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from xiaobao.knowledge.base import KnowledgeBase
from xiaobao.knowledge.index import DENSE, SearchFilter
from xiaobao.operations.metrics import percentile


def best_dense(kb: KnowledgeBase, questions: Sequence[str]) -> list[float]:
    scores = []
    for q in questions:
        hits = kb.retriever.signal(DENSE, q, 1, SearchFilter())
        scores.append(hits[0].score if hits else 0.0)
    return scores


def summary(values: Sequence[float]) -> dict:
    return {f"p{q}": round(percentile(values, q), 4) for q in (5, 25, 50, 75, 95)}


def evidence_threshold(kb: KnowledgeBase, answerable: Sequence[str], out_of_scope: Sequence[str], refuse_share: float = 0.9) -> dict:
    inside, outside = best_dense(kb, answerable), best_dense(kb, out_of_scope)
    # just above the out-of-scope score at the chosen share, so that share is refused (scores below the threshold)
    threshold = float(np.nextafter(percentile(outside, refuse_share * 100), 1.0))
    return {
        "answerable": summary(inside),
        "out_of_scope": summary(outside),
        "threshold": round(threshold, 4),
        "out_of_scope_refused": sum(s < threshold for s in outside) / len(outside),
        "answerable_kept": sum(s >= threshold for s in inside) / len(inside),
    }


def verbatim_threshold(kb: KnowledgeBase, qa_file: Path, unrelated: Sequence[str]) -> dict:
    entries = [json.loads(line) for line in qa_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    entries = [e for e in entries if e.get("status", "published") == "published"]
    # as in the engine: the citizen's words are a query, the indexed phrasings are passages
    mains = kb.embedder.embed_passages([e["question"] for e in entries])
    phrasings = kb.embedder.embed_passages([p for e in entries for p in [e["question"], *(e.get("alternatives") or [])]])
    positives = []
    for entry, main in zip(entries, mains, strict=True):
        for alternative in entry.get("alternatives") or []:
            positives.append(float(kb.embedder.embed_queries([alternative])[0] @ main))
    unrelated_best = (kb.embedder.embed_queries(list(unrelated)) @ phrasings.T).max(axis=1).tolist()
    threshold = float(np.nextafter(max(unrelated_best), 1.0))
    return {
        "paraphrases": summary(positives),
        "unrelated_best": summary(unrelated_best),
        "threshold": round(threshold, 4),
        "paraphrases_matched": sum(p >= threshold for p in positives) / len(positives),
    }
