import pytest

from xiaobao.knowledge.fusion import weighted_rrf, weighted_score_fusion


def test_rrf_rewards_agreement():
    fused = weighted_rrf({"dense": ["a", "b", "c"], "bm25": ["b", "d"]}, {"dense": 1, "bm25": 1}, k=60)
    assert [key for key, _ in fused] == ["b", "a", "d", "c"]
    assert abs(dict(fused)["b"] - (1 / 62 + 1 / 61)) < 1e-12


def test_weights_shift_the_order_and_zero_weight_ignores_a_list():
    rankings = {"dense": ["a", "b"], "bm25": ["b", "a"]}
    assert weighted_rrf(rankings, {"dense": 2, "bm25": 1})[0][0] == "a"
    assert weighted_rrf(rankings, {"dense": 1, "bm25": 2})[0][0] == "b"
    assert [k for k, _ in weighted_rrf(rankings, {"dense": 1, "bm25": 0})] == ["a", "b"]


def test_ties_keep_first_appearance():
    assert [k for k, _ in weighted_rrf({"x": ["a"], "y": ["b"]}, {"x": 1, "y": 1})] == ["a", "b"]


def test_score_fusion_keeps_score_gaps():
    scored = {"dense": [("a", 0.90), ("b", 0.89), ("c", 0.50)], "bm25": [("b", 12.0), ("a", 2.0)]}
    fused = dict(weighted_score_fusion(scored, {"dense": 1, "bm25": 1}))
    assert fused["b"] == pytest.approx(0.975 + 1.0)
    assert fused["a"] == pytest.approx(1.0 + 0.0)
    assert fused["c"] == pytest.approx(0.0)
    assert [k for k, _ in weighted_score_fusion(scored, {"dense": 3, "bm25": 1})] == ["b", "a", "c"]


def test_score_fusion_of_a_single_hit_counts_it_fully():
    assert weighted_score_fusion({"dense": [("a", 0.3)]}, {"dense": 2}) == [("a", 2.0)]
