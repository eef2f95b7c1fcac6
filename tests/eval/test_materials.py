"""`xiaobao eval materials`: the labelled set is what its script writes, and the scoring counts
wrong values, wrong sources and missed questions."""

import copy
import json

import pytest

from xiaobao.eval.materials import CASES, evaluate, load
from xiaobao.eval.materials_cases import build


def test_the_labelled_set_is_the_script_s_output_and_covers_every_scenario():
    cases = load()
    assert cases == json.loads(json.dumps(build(), ensure_ascii=False)) and len(cases) >= 200
    assert {c["scenario"] for c in cases} == {
        "complete",
        "unanswered",
        "missing",
        "missing_answered",
        "conflict",
        "invalid",
        "loose",
        "fallback",
        "partial",
        "ocr",
        "ocr_expired",
        "ocr_conflict",
        "ocr_other_owner",
        "ocr_misread",
    }
    assert {c["template"] for c in cases} >= {"articles-of-association", "collective-contract-review"}
    assert CASES.name == "materials-cases.jsonl"


def test_scores_and_the_round_trip(services, services_data):
    cases = load()[::10]  # every scenario of every template, a few of each
    assert any(c.get("library") for c in cases)
    result = evaluate(cases, services.templates.all(), services_data, services.reviewer, library=services.library)
    assert result["field_accuracy"] == 1.0 and result["filled_from_wrong_source"] == 0 and result["filled_from_uploads"] > 0
    assert result["passed_pre_review"] == result["passed_pre_review_pdf"] == result["complete_documents_reviewed"] > 0
    # the labels say a field comes from elsewhere / must be asked: both are counted against the generator
    wrong = copy.deepcopy(cases[0])
    wrong["expected"]["premises"] = {"value": wrong["enterprise"]["address"], "source": "enterprise.address"}
    wrong["expected"]["enterprise_name"] = None
    scored = evaluate([wrong], services.templates.all(), services_data)
    assert scored["filled_from_wrong_source"] == 2 and scored["documents_fully_correct"] == 0
    assert {w["field"] for w in scored["failures"][0]["wrong"]} == {"premises", "enterprise_name"}
    # upload cases need a library to keep their materials in
    with pytest.raises(ValueError, match="电子材料库"):
        evaluate([c for c in cases if c.get("library")], services.templates.all(), services_data)
