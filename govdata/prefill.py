"""Smart prefill: every field of an item's form that the government's data can answer, with where
each value came from; the rest is asked. 再来一单 starts from a previous application's form."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from xiaobao.govdata.records import Directory, Enterprise, Person, ServiceItem

SOURCE_NAMES = {"person": "人口库", "enterprise": "法人库"}


@dataclass
class FilledField:
    name: str
    label: str
    value: str | None
    source: str | None  # where the value came from, in words; None = the applicant must fill it
    required: bool = True


@dataclass
class Prefill:
    item_id: str
    item: str
    department: str
    fields: list[FilledField] = field(default_factory=list)

    @property
    def filled(self) -> int:
        return sum(f.value is not None for f in self.fields)

    @property
    def fill_rate(self) -> float:
        return self.filled / len(self.fields) if self.fields else 0.0

    @property
    def missing(self) -> list[str]:
        return [f.label for f in self.fields if f.value is None]

    def to_dict(self) -> dict:
        return {**asdict(self), "filled": self.filled, "fill_rate": round(self.fill_rate, 4), "missing": self.missing}


def lookup(path: str, person: Person | None, enterprise: Enterprise | None) -> str | None:
    """A value by its source path: person.phone, enterprise.credit_code, enterprise.licence.<名称>.number."""
    kind, _, rest = path.partition(".")
    record = {"person": person, "enterprise": enterprise}.get(kind)
    if record is None:
        return None
    if rest.startswith("licence."):
        name, _, attribute = rest.removeprefix("licence.").rpartition(".")
        licence = next((lic for lic in record.licences if lic.name == name), None)
        value = getattr(licence, attribute, None) if licence else None
    else:
        value = getattr(record, rest, None)
    if value is None or value == "":
        return None
    return value.isoformat() if isinstance(value, dt.date) else f"{value:g}" if isinstance(value, float) else str(value)


def prefill(item: ServiceItem, person: Person | None, enterprise: Enterprise | None, previous: dict | None = None) -> Prefill:
    """Fill the form from the data sources; with `previous` (a former application's form data,
    for 再来一单) fields the sources cannot answer are taken from it. Current data wins over old."""
    result = Prefill(item.id, item.name, item.department)
    for spec in item.form:
        value = lookup(spec.source, person, enterprise) if spec.source else None
        source = SOURCE_NAMES[spec.source.partition(".")[0]] if value is not None else None
        if value is None and previous and previous.get("form_data", {}).get(spec.name):
            value, source = str(previous["form_data"][spec.name]), f"上次申请 {previous['id']}"
        result.fields.append(FilledField(spec.name, spec.label, value, source, spec.required))
    return result


def applicant_records(directory: Directory, item: ServiceItem, user_ref: str) -> tuple[Person | None, Enterprise | None]:
    """The identified user's own records for this item's kind of applicant."""
    if item.applicant == "enterprise":
        return None, directory.enterprise(user_ref)
    return directory.person(user_ref), None
