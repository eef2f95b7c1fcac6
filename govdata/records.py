"""The records the service tools read, their shapes, and where they come from.

`Directory` is the seam: `DbDirectory` reads them from our database (seeded from the demo pack),
`HttpDirectory` from a district's own systems over HTTP (contract in docs/SERVICES.md).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Literal, Protocol

import httpx
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from sqlalchemy import JSON, Boolean, Engine, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from xiaobao.db import Base


class Application(Base):
    """A case in the district's case system (sample rows come with the demo pack)."""

    __tablename__ = "applications"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    item: Mapped[str] = mapped_column(String(200))
    item_id: Mapped[str | None] = mapped_column(String(40))  # the catalogue's service item
    form_data: Mapped[dict | None] = mapped_column(JSON)  # the submitted form, for 再来一单
    applicant_ref: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(40))
    next_step: Mapped[str | None] = mapped_column(String(200))
    timeline: Mapped[list] = mapped_column(JSON, default=list)  # [{"at": ISO time, "event": "..."}]
    promised_date: Mapped[dt.date | None]
    sample: Mapped[bool] = mapped_column(Boolean, default=False)


def seed_applications(db_engine: Engine, path: Path) -> int:
    """Load sample applications (JSON Lines) once; rows already present are left as they are."""
    added = 0
    with Session(db_engine) as session:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            if session.get(Application, rec["id"]) is None:
                promised = rec.get("promised_date")
                session.add(Application(**{**rec, "promised_date": dt.date.fromisoformat(promised) if promised else None, "sample": True}))
                added += 1
        session.commit()
    return added


class FormField(BaseModel):
    name: str
    label: str
    type: Literal["text", "date", "number", "phone", "id_number", "credit_code", "choice"] = "text"
    required: bool = True
    choices: list[str] = Field(default_factory=list)
    # where the government already holds the value: "person.phone", "enterprise.credit_code",
    # "enterprise.licence.食品经营许可证.number"; None = only the applicant knows it
    source: str | None = None


class ReviewPoint(BaseModel):
    id: str
    label: str
    # present | legible | credit_code | id_number | matches_record | same_name | unexpired | has_fields
    check: str
    fields: list[str] = Field(default_factory=list)  # for has_fields: the labels that must appear


class Material(BaseModel):
    id: str
    name: str
    required: bool = True
    keywords: list[str]  # words that identify the material in a file's name or text
    review_points: list[ReviewPoint] = Field(default_factory=list)


class Guide(BaseModel):
    """What a published 办事指南 says of an item, kept as published (docs/SERVICES.md, 事项目录导入)."""

    region: str  # whose guide it is (广东省…): never presented as Baoshan's
    item_type: str | None = None  # 行政许可、公共服务…
    level: str | None = None  # 省级、市级…
    conditions: str | None = None  # 受理条件
    materials: list[str] = Field(default_factory=list)  # 申请材料, by name
    location: str | None = None
    time_limit_legal: str | None = None  # 法定办结时限, as published ("30(工作日)")
    time_limit_promised: str | None = None  # 承诺办结时限
    phone: str | None = None
    url: str | None = None
    service_objects: list[str] = Field(default_factory=list)


class ServiceItem(BaseModel):
    id: str
    name: str
    department: str
    applicant: Literal["person", "enterprise"]
    aliases: list[str] = Field(default_factory=list)
    promised_days: int | None = None
    form: list[FormField] = Field(default_factory=list)
    materials: list[Material] = Field(default_factory=list)  # materials with their review points
    guide: Guide | None = None  # items imported from a published catalogue


class Licence(BaseModel):
    name: str
    number: str
    expires: dt.date | None = None


class Person(BaseModel):
    ref: str
    name: str
    id_number: str
    gender: str | None = None
    birth_date: dt.date | None = None
    phone: str | None = None
    address: str | None = None
    hukou_address: str | None = None
    bank_account: str | None = None


class Enterprise(BaseModel):
    ref: str
    name: str
    credit_code: str
    legal_rep: str
    legal_rep_id: str | None = None
    address: str | None = None  # 住所 (registered address)
    premises: str | None = None  # 经营场所 (where it trades), when registered
    district: str | None = None
    industry: str | None = None
    size: Literal["微型", "小型", "中型", "大型"] | None = None
    established: dt.date | None = None
    revenue_wan: float | None = None  # last year's revenue, 万元
    employees: int | None = None
    contact_phone: str | None = None
    bank_account: str | None = None
    licences: list[Licence] = Field(default_factory=list)
    credit: Literal["正常", "失信"] = "正常"


class Rule(BaseModel):
    """One machine-readable eligibility condition of a policy."""

    field: Literal["industry", "size", "district", "age_years", "revenue_wan", "employees", "licence"]
    op: Literal["in", "not_in", ">=", "<=", "has"]
    value: list[str] | float | str


class Policy(BaseModel):
    id: str
    name: str
    department: str
    benefit: str
    rules: list[Rule]
    credit: Literal["block", "flag", "ignore"] = "block"  # what a 失信 enterprise gets
    auto_grant: bool = True  # 免申即享: granted without an application once eligible


class RegisteredAddress(BaseModel):
    """An address in the registered-address library (企业住所地址库, 无忧快注): a company may be
    registered there, the park vouching for the premises (docs/SERVICES.md)."""

    id: str
    address: str  # the standard form (govdata.addresses.standardise): 上海市宝山区沪太路6655号2幢301室
    park: str  # the 园区 / 集中登记地 / 商务楼宇 it belongs to
    kind: Literal["园区", "集中登记地", "商务楼宇"]
    scope: Literal["unit", "building"] = "unit"  # building: every room under the address is in the library
    waives_proof: bool = True  # the proof of premises (住所使用证明) may be left out of the application
    status: Literal["可登记", "暂停登记"] = "可登记"
    note: str | None = None  # conditions (industries, contact), or why a proof is still needed
    sample: bool = False  # demo data, said so wherever it is shown


KINDS = {"item": ServiceItem, "person": Person, "enterprise": Enterprise, "policy": Policy, "address": RegisteredAddress}


class Directory(Protocol):
    """Where the tools look things up. Every method returns None / [] for what does not exist."""

    def item(self, item_id: str) -> ServiceItem | None: ...

    def items(self) -> list[ServiceItem]: ...

    def person(self, ref: str) -> Person | None: ...

    def persons(self) -> list[Person]: ...

    def enterprise(self, ref: str) -> Enterprise | None: ...

    def enterprises(self) -> list[Enterprise]: ...

    def policies(self) -> list[Policy]: ...

    def applications(self, applicant_ref: str) -> list[dict]: ...

    def address(self, standard: str) -> RegisteredAddress | None:
        """The library's entry for exactly this standardised address (govdata.addresses looks up the
        building an address lies in as well)."""

    def addresses(self) -> list[RegisteredAddress]: ...


class GovRecord(Base):
    __tablename__ = "gov_records"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # item | person | enterprise | policy | address
    ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict] = mapped_column(JSON)
    sample: Mapped[bool] = mapped_column(Boolean, default=False)


def application_dict(a: Application) -> dict:
    return {
        "id": a.id,
        "item": a.item,
        "item_id": a.item_id,
        "applicant_ref": a.applicant_ref,
        "status": a.status,
        "next_step": a.next_step,
        "timeline": a.timeline or [],
        "promised_date": a.promised_date.isoformat() if a.promised_date else None,
        "form_data": a.form_data or {},
    }


class DbDirectory:
    def __init__(self, db_engine: Engine) -> None:
        self.db_engine = db_engine

    def _one(self, kind: str, ref: str):
        with Session(self.db_engine) as session:
            row = session.get(GovRecord, (kind, ref))
            return KINDS[kind].model_validate(row.data) if row else None

    def _all(self, kind: str) -> list:
        with Session(self.db_engine) as session:
            return [
                KINDS[kind].model_validate(r.data)
                # the district's own (sample) records first: where an imported catalogue names an item
                # alike, the district's item is the one found
                for r in session.scalars(select(GovRecord).where(GovRecord.kind == kind).order_by(GovRecord.sample.desc(), GovRecord.ref))
            ]

    def item(self, item_id: str) -> ServiceItem | None:
        return self._one("item", item_id)

    def items(self) -> list[ServiceItem]:
        return self._all("item")

    def person(self, ref: str) -> Person | None:
        return self._one("person", ref)

    def persons(self) -> list[Person]:
        return self._all("person")

    def enterprise(self, ref: str) -> Enterprise | None:
        return self._one("enterprise", ref)

    def enterprises(self) -> list[Enterprise]:
        return self._all("enterprise")

    def policies(self) -> list[Policy]:
        return self._all("policy")

    def applications(self, applicant_ref: str) -> list[dict]:
        with Session(self.db_engine) as session:
            rows = session.scalars(select(Application).where(Application.applicant_ref == applicant_ref).order_by(Application.id))
            return [application_dict(a) for a in rows]

    def address(self, standard: str) -> RegisteredAddress | None:
        with Session(self.db_engine) as session:
            query = select(GovRecord).where(GovRecord.kind == "address", GovRecord.data["address"].as_string() == standard)
            row = session.scalars(query.order_by(GovRecord.ref)).first()
            return RegisteredAddress.model_validate(row.data) if row else None

    def addresses(self) -> list[RegisteredAddress]:
        return self._all("address")


class HttpDirectory:
    """A district's own systems behind one HTTP API (docs/SERVICES.md): GET /items, /items/{id},
    /persons, /persons/{ref}, /enterprises, /enterprises/{ref}, /policies, /applications?applicant={ref},
    /addresses, /addresses?address={standard address}; 404 = unknown."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 5.0, transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport)

    def _get(self, path: str, shape, **params):
        response = self.http.get(path, params=params or None)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return TypeAdapter(shape).validate_python(response.json())

    def item(self, item_id: str) -> ServiceItem | None:
        return self._get(f"/items/{item_id}", ServiceItem)

    def items(self) -> list[ServiceItem]:
        return self._get("/items", list[ServiceItem]) or []

    def person(self, ref: str) -> Person | None:
        return self._get(f"/persons/{ref}", Person)

    def persons(self) -> list[Person]:
        return self._get("/persons", list[Person]) or []

    def enterprise(self, ref: str) -> Enterprise | None:
        return self._get(f"/enterprises/{ref}", Enterprise)

    def enterprises(self) -> list[Enterprise]:
        return self._get("/enterprises", list[Enterprise]) or []

    def policies(self) -> list[Policy]:
        return self._get("/policies", list[Policy]) or []

    def applications(self, applicant_ref: str) -> list[dict]:
        return self._get("/applications", list[dict], applicant=applicant_ref) or []

    def address(self, standard: str) -> RegisteredAddress | None:
        found = self._get("/addresses", list[RegisteredAddress], address=standard) or []
        return found[0] if found else None

    def addresses(self) -> list[RegisteredAddress]:
        return self._get("/addresses", list[RegisteredAddress]) or []


def sample_identities(db_engine: Engine) -> list[tuple[str, str]]:
    """(label, ref) of the demo pack's sample persons and enterprises, for the chat page's 演示身份
    picker; empty where no sample data was loaded (a real deployment)."""
    with Session(db_engine) as session:
        rows = session.scalars(select(GovRecord).where(GovRecord.sample.is_(True), GovRecord.kind.in_(("person", "enterprise"))))
        return [(f"{r.data['name']}（{'个人' if r.kind == 'person' else '企业'}，示例）", r.ref) for r in rows]


def is_sample_identity(db_engine: Engine, ref: str) -> bool:
    """Whether `ref` is one of the demo pack's sample persons, enterprises or applicants."""
    with Session(db_engine) as session:
        people = GovRecord.kind.in_(("person", "enterprise"))  # not an item's, a policy's or an address's id
        record = session.scalar(select(GovRecord.ref).where(GovRecord.ref == ref, GovRecord.sample.is_(True), people).limit(1))
        applicant = session.scalar(select(Application.id).where(Application.applicant_ref == ref, Application.sample.is_(True)).limit(1))
        return bool(record or applicant)


class SeedError(ValueError):
    pass


def seed_records(db_engine: Engine, kind: str, path: Path) -> int:
    """Load sample records of one kind (JSON Lines) once; rows already present are kept as they are.
    A bad line is an error that names the file and line."""
    shape = KINDS[kind]
    added = 0
    with Session(db_engine) as session:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                ref = record["id"] if kind in ("item", "policy", "address") else record["ref"]
                shape.model_validate(record)
            except (ValueError, KeyError, ValidationError) as exc:
                raise SeedError(f"{path}:{number}: {exc}") from None
            if session.get(GovRecord, (kind, ref)) is None:
                session.add(GovRecord(kind=kind, ref=ref, data=record, sample=True))
                added += 1
        session.commit()
    return added
