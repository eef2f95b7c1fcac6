"""Rank fusion: combine ranked lists from several retrievers into one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def weighted_rrf(rankings: Mapping[str, Sequence[str]], weights: Mapping[str, float], k: int = 60) -> list[tuple[str, float]]:
    """Weighted reciprocal rank fusion: score(d) = sum over lists of w / (k + rank), rank from 1.

    Lists without a weight are ignored. Ties keep the order of first appearance, so the result
    is deterministic.
    """
    scores: dict[str, float] = {}
    for name, ranking in rankings.items():
        weight = weights.get(name, 0.0)
        if weight <= 0:
            continue
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def weighted_score_fusion(scored: Mapping[str, Sequence[tuple[str, float]]], weights: Mapping[str, float]) -> list[tuple[str, float]]:
    """Weighted sum of min-max normalised scores: each list's best hit counts 1, its worst 0, and an
    item a list did not return counts 0 there. Unlike RRF it keeps how far apart the scores are,
    so a retriever that is sure of its first hit outvotes one that is not."""
    fused: dict[str, float] = {}
    for name, hits in scored.items():
        weight = weights.get(name, 0.0)
        if weight <= 0 or not hits:
            continue
        scores = [s for _, s in hits]
        low, span = min(scores), max(scores) - min(scores)
        for key, score in hits:
            fused[key] = fused.get(key, 0.0) + weight * ((score - low) / span if span > 0 else 1.0)
    return sorted(fused.items(), key=lambda kv: -kv[1])
