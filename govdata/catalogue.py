"""Import a published service catalogue (办事指南, one item a line) into the service items the tools
read. The same importer serves the Guangdong 2021 guides and a district's own export in that format
(docs/SERVICES.md, 事项目录导入); the demo pack's items are sample data and stay as they are."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from xiaobao.govdata.records import GovRecord, Guide, ServiceItem

# applicants who are organisations, in the guides' 服务对象 words
_ORGANISATIONS = ("企业法人", "非法人企业", "事业法人", "社会组织法人", "其他组织", "行政机关")
_DAYS = re.compile(r"^\s*(\d+)\s*[(（]工作日[)）]\s*$")
_GUIDE_FIELDS = set(Guide.model_fields) - {"region"}


class CatalogueError(ValueError):
    pass


@dataclass
class ImportSummary:
    read: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_sample: int = 0  # lines whose id is a demo item: the demo item is kept
    with_materials: int = 0
    with_conditions: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def working_days(text: str | None) -> int | None:
    """ "7(工作日)" → 7; anything else (None, "即办", a sentence) is not a number of working days."""
    found = _DAYS.match(text or "")
    return int(found.group(1)) if found else None


def guide_item(record: dict, region: str) -> ServiceItem:
    """One published guide line as a service item. An item serves persons when natural persons
    (自然人) are among its service objects, else organisations (enterprise)."""
    for key in ("id", "name", "department"):
        if not isinstance(record.get(key), str) or not record[key].strip():
            raise CatalogueError(f"缺少 {key}")
    objects = record.get("service_objects") or []
    applicant = "person" if "自然人" in objects or not any(o in _ORGANISATIONS for o in objects) else "enterprise"
    guide = Guide(region=region, **{k: v for k, v in record.items() if k in _GUIDE_FIELDS and v is not None})
    return ServiceItem(
        id=record["id"].strip(),
        name=record["name"].strip(),
        department=record["department"].strip(),
        applicant=applicant,
        promised_days=working_days(record.get("time_limit_promised")),
        guide=guide,
    )


def import_catalogue(
    db_engine: Engine, path: Path, region: str, on_item: Callable[[], None] | None = None, batch: int = 500
) -> ImportSummary:
    """Add or update every item of the file (re-importing a newer export updates in place). A bad
    line is reported with its line number and skipped; the others are imported."""
    summary = ImportSummary()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"无法读取 {path}：{exc}") from None
    with Session(db_engine) as session:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            summary.read += 1
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise CatalogueError("不是 JSON 对象")
                item = guide_item(record, region)
            except (ValueError, ValidationError) as exc:
                summary.errors.append(f"第 {number} 行：{str(exc).splitlines()[0]}")
                continue
            data = item.model_dump(mode="json", exclude_none=True)
            row = session.get(GovRecord, ("item", item.id))
            if row is None:
                session.add(GovRecord(kind="item", ref=item.id, data=data, sample=False))
                summary.added += 1
            elif row.sample:
                summary.kept_sample += 1
            elif row.data != data:
                row.data = data
                summary.updated += 1
            else:
                summary.unchanged += 1
            summary.with_materials += bool(item.guide.materials)
            summary.with_conditions += bool(item.guide.conditions)
            if summary.read % batch == 0:
                session.commit()
            if on_item:
                on_item()
        session.commit()
    return summary
