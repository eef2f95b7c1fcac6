import math

import pytest

from xiaobao.eval.metrics import mrr_at, ndcg_at, recall_at
from xiaobao.operations.metrics import percentile


def test_recall_counts_each_relevant_item():
    assert recall_at(["a", "b", "c"], {"a", "c", "z"}, 2) == pytest.approx(1 / 3)
    assert recall_at(["a", "b", "c"], {"a", "c", "z"}, 3) == pytest.approx(2 / 3)


def test_mrr_uses_the_first_hit_within_k():
    assert mrr_at(["x", "a", "b"], {"a", "b"}) == 0.5
    assert mrr_at(["x"] * 10 + ["a"], {"a"}, 10) == 0.0


def test_ndcg_is_one_for_a_perfect_ranking():
    assert ndcg_at(["a", "b", "x"], {"a", "b"}) == pytest.approx(1.0)
    assert ndcg_at(["x", "a"], {"a"}) == pytest.approx(1 / math.log2(3))


def test_percentile_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 50) == 50 and percentile(values, 95) == 95 and percentile([], 50) == 0.0
