import shutil
from pathlib import Path

from xiaobao.eval.prefill import evaluate as prefill_eval
from xiaobao.eval.prereview import evaluate

CASES = Path(__file__).resolve().parents[2] / "eval" / "data" / "prereview"


def test_one_case_of_each_defect_is_reviewed_right(services, services_data, tmp_path):
    for number in range(1, 10):  # the set cycles through the nine defect types
        shutil.copytree(CASES / f"case-{number:04d}", tmp_path / f"case-{number:04d}")
    result = evaluate(tmp_path, services_data, services.reviewer)
    assert result["n"] == 9 and result["accuracy"] == 1.0, result["misses"]
    assert set(result["defect_counts"]) >= {"clean", "missing_material", "blurred_scan", "rotated_scan", "expired"}
    assert all(row["recall"] == 1.0 for row in result["per_defect"].values())


def test_the_case_set_is_complete():
    folders = [p for p in CASES.iterdir() if (p / "case.json").is_file()]
    assert len(folders) >= 200


def test_prefill_fill_rate_over_the_demo_forms(services_data):
    result = prefill_eval(services_data)
    assert result["forms"] == 17 and result["fields"] == 122 and result["fill_rate"] >= 0.8
