"""Accuracy of generated application materials on the labelled set eval/data/materials-cases.jsonl
(written by eval/materials_cases.py): every field's value and source against the expected ones,
documents fully correct, what was asked, conflicts reported, and whether each complete document, as
DOCX and as PDF, passes its own review points in the pre-review (the round trip). A case's library
materials (verified uploads with what the pre-review read in them) are kept in the electronic material
library given (a scratch one: `xiaobao eval materials` builds it in a temporary data directory), and
generation takes what the library offers the case's applicant (Library.readings)."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from xiaobao.govdata.library import Library
from xiaobao.govdata.materials import Template, document, generate, pdf
from xiaobao.govdata.records import Directory, Enterprise, Person
from xiaobao.prereview.review import Reviewer

CASES = Path(__file__).resolve().parent / "data" / "materials-cases.jsonl"
# a point that compares with another material (the 营业执照), which a single generated document lacks
NEEDS_ANOTHER_MATERIAL = {"same_name"}


def load(path: Path = CASES) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def own_review(
    reviewer: Reviewer, directory: Directory, template: Template, data: bytes, person, enterprise, suffix: str = "docx"
) -> dict[str, str]:
    """The generated document's own review points and their results."""
    review = reviewer.review(directory.item(template.item_id), [(f"{template.name}.{suffix}", data)], person, enterprise)
    return {p.point: p.result for p in review.points if p.material_id == template.material_id}


def passed(points: dict[str, str]) -> bool:
    """Every point passes (a material the item does not list has none: that is no pass)."""
    decided = [result for point, result in points.items() if point not in NEEDS_ANOTHER_MATERIAL]
    return bool(decided) and all(result == "pass" for result in decided)


def evaluate(
    cases: list[dict],
    templates: dict[str, Template],
    directory: Directory,
    reviewer: Reviewer | None = None,
    on_case: Callable[[], None] | None = None,
    library: Library | None = None,
) -> dict:
    if library is None and any(case.get("library") for case in cases):
        raise ValueError("标注集中有电子材料库的案例，需要一个（临时的）电子材料库")
    fields = correct = filled = wrong_source = asked = asked_right = documents_right = from_uploads = 0
    conflicts_expected = conflicts_found = reviewed = 0
    review_passed: Counter = Counter()
    by_scenario: Counter = Counter()
    right_by_scenario: Counter = Counter()
    failures: list[dict] = []
    for case in cases:
        template = templates[case["template"]]
        person = Person.model_validate(case["person"]) if case["person"] else None
        enterprise = Enterprise.model_validate(case["enterprise"]) if case["enterprise"] else None
        on = dt.date.fromisoformat(case["on"])
        for n, kept in enumerate(case.get("library", [])):  # a scan's bytes stand in: only what was read matters here
            until = dt.date.fromisoformat(kept["valid_until"]) if kept["valid_until"] else None
            scan = f"{case['id']}-{n}".encode()
            library.keep(kept["owner"], kept["type"], f"{kept['type']}.png", scan, "prereview", until, read=kept["read"])
        uploads = library.readings((person or enterprise).ref, on) if library else None
        result = generate(template, person, enterprise, case["answers"], on=on, uploads=uploads)
        wrong = []
        for got in result.fields:
            expected = case["expected"][got.name]
            fields += 1
            filled += got.value is not None
            asked += got.value is None
            if got.value is None:
                ok = expected is None
                asked_right += ok
            else:
                ok = expected is not None and got.value == expected["value"] and got.path == expected["source"]
                wrong_source += expected is None or got.path != expected["source"]
                from_uploads += ok and got.path.startswith("upload.")
            correct += ok
            if not ok:
                wrong.append({"field": got.name, "got": [got.value, got.path], "expected": expected})
        found = {c.split("：")[0] for c in result.conflicts}
        labels = {f.name: f.label for f in template.fields}
        conflicts_expected += len(case["conflicts"])
        conflicts_found += sum(labels[f] in found for f in case["conflicts"])
        by_scenario[case["scenario"]] += 1
        if not wrong:
            documents_right += 1
            right_by_scenario[case["scenario"]] += 1
        else:
            failures.append({"id": case["id"], "wrong": wrong})
        if reviewer is not None and result.complete:
            reviewed += 1
            for suffix, render in (("docx", document), ("pdf", pdf)):
                points = own_review(reviewer, directory, template, render(template, result.to_dict()), person, enterprise, suffix)
                review_passed[suffix] += passed(points)
        if on_case:
            on_case()
    return {
        "cases": len(cases),
        "fields": fields,
        "field_accuracy": round(correct / fields, 4) if fields else 0.0,
        "filled": filled,
        "filled_from_wrong_source": wrong_source,
        "filled_from_uploads": from_uploads,
        "asked": asked,
        "asked_correctly": asked_right,
        "documents_fully_correct": documents_right,
        "document_accuracy": round(documents_right / len(cases), 4) if cases else 0.0,
        "conflicts_expected": conflicts_expected,
        "conflicts_reported": conflicts_found,
        "complete_documents_reviewed": reviewed,
        "passed_pre_review": review_passed["docx"],
        "passed_pre_review_pdf": review_passed["pdf"],
        "by_scenario": {s: {"cases": n, "fully_correct": right_by_scenario[s]} for s, n in by_scenario.items()},
        "failures": failures[:20],
    }
