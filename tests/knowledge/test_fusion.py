from knowledge.fusion import weighted_rrf


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
