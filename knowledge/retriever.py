"""Hybrid retrieval: each signal (dense, BM25, e5 sparse) ranks citable units; fusion combines them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from xiaobao.knowledge.embedders import Embedder, SparseEncoder
from xiaobao.knowledge.fusion import weighted_rrf, weighted_score_fusion
from xiaobao.knowledge.index import DENSE, Index, SearchFilter


def unit_key(payload: dict) -> str:
    """What a citation names, version aside: law|article for statutes, the record's id otherwise
    (the key gold labels in evaluation sets use)."""
    if payload.get("doc_type") == "statute":
        return f"{payload['law']}|{payload['article']}"
    return str(payload.get("doc_id") or payload.get("group"))


@dataclass
class Hit:
    """One citable unit (article, guide section, Q&A entry…) with the best-matching chunk's payload.

    `signals` maps each signal that found it to (rank, raw score), for thresholds and traces."""

    group: str
    score: float
    payload: dict
    signals: dict[str, tuple[int, float]] = field(default_factory=dict)

    @property
    def citation(self) -> str:
        return self.payload.get("citation", "")


class Retriever:
    def __init__(
        self,
        index: Index,
        embedder: Embedder,
        sparse: Mapping[str, SparseEncoder],
        weights: Mapping[str, float],
        rrf_k: int = 60,
        candidates: int = 100,
        fusion: str = "rrf",
    ) -> None:
        if fusion not in ("rrf", "score"):
            raise ValueError(f"unknown fusion {fusion!r}; use 'rrf' or 'score'")
        unknown = set(weights) - {DENSE, *sparse}
        if unknown:
            raise ValueError(f"unknown retrieval signals {sorted(unknown)}; available: {[DENSE, *sparse]}")
        self.index, self.embedder, self.sparse = index, embedder, dict(sparse)
        self.weights, self.rrf_k, self.candidates, self.fusion = dict(weights), rrf_k, candidates, fusion

    def signal(self, name: str, query: str, limit: int, flt: SearchFilter) -> list[Hit]:
        """One signal's ranking of citable units (chunks of the same unit collapse to the best)."""
        vector = self.embedder.embed_queries([query])[0] if name == DENSE else self.sparse[name].encode_query(query)
        hits: dict[str, Hit] = {}
        for chunk in self.index.search(name, vector, limit, flt):
            group = chunk.payload.get("group", chunk.id)
            if group not in hits:
                hits[group] = Hit(group, chunk.score, chunk.payload, {name: (len(hits) + 1, chunk.score)})
        return list(hits.values())

    def search(
        self,
        query: str,
        k: int = 10,
        flt: SearchFilter | None = None,
        weights: Mapping[str, float] | None = None,
        fusion: str | None = None,
    ) -> list[Hit]:
        flt = flt or SearchFilter()
        weights = dict(weights or self.weights)
        fusion = fusion or self.fusion
        active = [name for name, w in weights.items() if w > 0]
        per_signal = {name: self.signal(name, query, self.candidates, flt) for name in active}
        if len(active) == 1:
            return per_signal[active[0]][:k]
        by_group: dict[str, Hit] = {}
        for hits in per_signal.values():
            for hit in hits:
                merged = by_group.setdefault(hit.group, Hit(hit.group, 0.0, hit.payload))
                merged.signals.update(hit.signals)
        if fusion == "rrf":
            fused = weighted_rrf({name: [h.group for h in hits] for name, hits in per_signal.items()}, weights, self.rrf_k)
        else:
            fused = weighted_score_fusion({name: [(h.group, h.score) for h in hits] for name, hits in per_signal.items()}, weights)
        out = []
        for group, score in fused[:k]:
            hit = by_group[group]
            hit.score = score
            out.append(hit)
        return out
