"""Fill rate of smart prefill: every form in the catalogue for every sample applicant of its kind."""

from __future__ import annotations

from xiaobao.govdata.prefill import prefill
from xiaobao.govdata.records import Directory


def evaluate(directory: Directory) -> dict:
    forms = fields = filled = forms_80 = 0
    per_item: dict[str, dict] = {}
    for item in directory.items():
        if not item.form:
            continue
        applicants = (
            [(p, None) for p in directory.persons()] if item.applicant == "person" else [(None, e) for e in directory.enterprises()]
        )
        for person, enterprise in applicants:
            result = prefill(item, person, enterprise)
            forms += 1
            fields += len(result.fields)
            filled += result.filled
            forms_80 += result.fill_rate >= 0.8
            row = per_item.setdefault(item.id, {"item": item.name, "forms": 0, "fields": 0, "filled": 0, "missing": {}})
            row["forms"] += 1
            row["fields"] += len(result.fields)
            row["filled"] += result.filled
            for label in result.missing:
                row["missing"][label] = row["missing"].get(label, 0) + 1
    for row in per_item.values():
        row["fill_rate"] = round(row["filled"] / row["fields"], 4)
    return {
        "forms": forms,
        "fields": fields,
        "filled": filled,
        "fill_rate": round(filled / fields, 4) if fields else 0.0,
        "forms_at_least_80": round(forms_80 / forms, 4) if forms else 0.0,
        "per_item": per_item,
    }
