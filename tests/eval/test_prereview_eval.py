import json
import shutil
from pathlib import Path

import pytest

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


def test_clean_cases_in_real_layouts_pass(services, services_data, tmp_path):
    """Two clean cases of the independent set (a licence and an ID card photographed askew, a DOCX
    or photographed table form, a lease): every point passes. The full set is `xiaobao eval
    prereview --set independent`, not a unit test."""
    from xiaobao.eval.prereview_cases import FONT
    from xiaobao.eval.prereview_field_cases import generate

    if not Path(FONT).exists():
        pytest.skip("the CJK font that renders the scans is not installed")
    cases = tmp_path / "independent"
    generate(cases, 2)
    for folder in cases.iterdir():
        case = json.loads((folder / "case.json").read_text(encoding="utf-8"))
        item = services_data.item(case["item_id"])
        assert set(case["expected"]) == {f"{m.id}/{p.id}" for m in item.materials for p in m.review_points}
    result = evaluate(cases, services_data, services.reviewer)
    assert result["n"] == 2 and result["defect_counts"] == {"clean": 2}
    assert result["accuracy"] == 1.0 and result["clean_false_fails"] == 0, result["misses"]


def test_the_case_set_is_complete():
    folders = [p for p in CASES.iterdir() if (p / "case.json").is_file()]
    assert len(folders) >= 200


def test_prefill_fill_rate_over_the_demo_forms(services_data):
    result = prefill_eval(services_data)
    assert result["forms"] == 17 and result["fields"] == 122 and result["fill_rate"] >= 0.8
