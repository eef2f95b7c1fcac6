"""一件事 bundles (情形引导): related service items done together, and the questions about the
applicant's situation (情形) that decide which items, forms and materials apply.

A bundle is data (demo/bundles/*.json, format in docs/SERVICES.md) kept in the database with its
versions: editors save a new version, every older one stays readable, and a citizen's walk through a
bundle keeps the version it started with. A material is waived (少填少交, 两个免于提交) where the
government already holds its data (a record source, as prefill reads it) or where the applicant's
electronic material library holds a valid copy of it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator
from sqlalchemy import JSON, Boolean, DateTime, Engine, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from xiaobao.db import Base, aware, now
from xiaobao.govdata import versions
from xiaobao.govdata.prefill import SOURCE_NAMES, lookup
from xiaobao.identity import audit

YES, NO = "是", "否"
WALK_MINUTES = 30  # a walk left this long is over: a later 是 / 否 is not taken as its answer
_NO_WORDS = re.compile(r"^(否|不|没|无|未|no\b|n$)")
_YES_WORDS = re.compile(r"^(是|需要|要|有|对|好|嗯|可以|已|yes\b|y$)")
_HEDGE = re.compile(r"^(?:暂时|目前|现在|眼下|暂|先|还|应该|大概|可能)+")  # 暂时不招 is 不招


_VERB = re.compile(r"^(开|办|注册|成立)")


def _said(word: str, text: str) -> bool:
    """`word` in `text`, a verb-first word also with a measure word after its verb (开个公司 for 开公司)."""
    if word in text:
        return True
    verb = _VERB.match(word)
    return bool(verb) and re.search(re.escape(verb[0]) + "(?:一个|一家|一间|个|家|间)" + re.escape(word[verb.end() :]), text) is not None


class BundleError(ValueError):
    """The text says what is wrong, in Chinese."""


class Question(BaseModel):
    id: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    text: str = Field(min_length=1)
    choices: list[str] = Field(default_factory=lambda: [YES, NO], min_length=2)
    # asked only when these earlier answers were given: question id → the answers that qualify
    when: dict[str, list[str]] = Field(default_factory=dict)


class BundleItem(BaseModel):
    name: str = Field(min_length=1)
    item_id: str | None = None  # the catalogue's item, where it has one (its form is prefilled)
    department: str | None = None
    when: dict[str, list[str]] = Field(default_factory=dict)


class BundleMaterial(BaseModel):
    name: str = Field(min_length=1)
    item: str  # the bundle item (by name) it is for
    when: dict[str, list[str]] = Field(default_factory=dict)
    # waived where the government holds this value for the applicant (person.hukou_address,
    # enterprise.licence.营业执照.number), or where the library holds a valid material of one of these
    # types (the names items give it: an ID card is 经营者身份证件 for one item, 法定代表人身份证件 for another)
    record: str | None = None
    library: list[str] = Field(default_factory=list)
    made_by: str | None = None  # a bundle item whose result it is (营业执照 from 设立登记): waived when that item applies


class Preset(BaseModel):
    """Answers a citizen's own words already give (开饭店 → 经营食品：是)."""

    words: list[str] = Field(min_length=1)
    answers: dict[str, str]


class Bundle(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)
    name: str = Field(min_length=1, max_length=100)
    applicant: Literal["person", "enterprise"] = "person"
    aliases: list[str] = Field(default_factory=list)  # words that name the bundle in a message
    presets: list[Preset] = Field(default_factory=list)
    sample: bool = False  # sample data (示例数据), said so wherever it is shown
    note: str | None = None
    questions: list[Question] = Field(min_length=1)
    items: list[BundleItem] = Field(min_length=1)
    materials: list[BundleMaterial] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_exist(self) -> Bundle:
        asked: dict[str, list[str]] = {}
        for question in self.questions:  # a condition may only name an earlier question and its choices
            _check_when(question.when, asked, f"问题 {question.id}")
            if question.id in asked:
                raise ValueError(f"问题编号重复：{question.id}")
            asked[question.id] = question.choices
        names = [i.name for i in self.items]
        for item in self.items:
            _check_when(item.when, asked, f"事项“{item.name}”")
        for material in self.materials:
            if material.item not in names:
                raise ValueError(f"材料“{material.name}”所属的事项“{material.item}”不在本一件事中")
            _check_when(material.when, asked, f"材料“{material.name}”")
            if material.made_by and material.made_by not in names:
                raise ValueError(f"材料“{material.name}”的来源事项“{material.made_by}”不在本一件事中")
            if material.record and material.record.partition(".")[0] not in SOURCE_NAMES:
                raise ValueError(f"材料“{material.name}”的数据来源 {material.record} 应以 person. 或 enterprise. 开头")
        for preset in self.presets:
            _check_when({k: [v] for k, v in preset.answers.items()}, asked, f"预设“{'、'.join(preset.words)}”")
        return self


def _check_when(when: dict[str, list[str]], asked: dict[str, list[str]], what: str) -> None:
    for question, answers in when.items():
        if question not in asked:
            raise ValueError(f"{what}的条件引用了不存在（或在其后）的问题 {question}")
        if bad := [a for a in answers if a not in asked[question]]:
            raise ValueError(f"{what}的条件中“{'、'.join(bad)}”不是问题 {question} 的选项")


def holds(when: dict[str, list[str]], answers: dict[str, str]) -> bool:
    return all(answers.get(question) in allowed for question, allowed in when.items())


def choose(question: Question, text: str) -> str | None:
    """The choice a reply means: the choice itself, its number (1, 2…), a choice named in the reply,
    or for a yes/no question the usual ways of saying yes (需要、有) and no (不需要、没有)."""
    said = text.strip().strip("。.!！~ ").lower()
    if said in question.choices:
        return said
    if said.isdigit() and 1 <= int(said) <= len(question.choices):
        return question.choices[int(said) - 1]
    named = [c for c in question.choices if c not in (YES, NO) and (c in said or (len(said) >= 2 and said in c))]
    if len(named) == 1:
        return named[0]
    # a choice said short (个体户 for 个体工商户, 有限公司 for 有限责任公司): its first two characters, if only one has them
    started = [c for c in question.choices if c not in (YES, NO) and len(c) > 2 and c[:2] in said]
    if len(started) == 1:
        return started[0]
    if {YES, NO} <= set(question.choices) and len(said) <= 12:
        said = _HEDGE.sub("", said)
        if _NO_WORDS.match(said):
            return NO
        if _YES_WORDS.match(said):
            return YES
    return None


def asking(question: Question) -> str:
    return f"{question.text}（请回答：{' / '.join(question.choices)}）"


def next_question(bundle: Bundle, answers: dict[str, str]) -> Question | None:
    """The first question still to ask: not answered, and its conditions hold."""
    return next((q for q in bundle.questions if q.id not in answers and holds(q.when, answers)), None)


def check_answers(bundle: Bundle, answers: dict[str, str]) -> dict[str, str]:
    """Answers given all at once (the API): each must name a question of the bundle and one of its choices."""
    questions = {q.id: q for q in bundle.questions}
    checked = {}
    for key, value in answers.items():
        if key not in questions:
            raise BundleError(f"《{bundle.name}》没有问题 {key}；问题有：{'、'.join(questions)}")
        choice = choose(questions[key], str(value))
        if choice is None:
            raise BundleError(f"问题 {key}（{questions[key].text}）的回答应为：{'、'.join(questions[key].choices)}")
        checked[key] = choice
    return checked


def preset_answers(bundle: Bundle, text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for preset in bundle.presets:
        if any(word in text for word in preset.words):
            found.update(preset.answers)
    return found


@dataclass
class MaterialNeed:
    name: str
    item: str
    status: Literal["submit", "waived", "login"]  # login: may be waived once the applicant is identified
    reason: str | None = None  # why it is waived: the data source, or the library material and its validity
    library_id: str | None = None
    template: str | None = None  # a material Xiaobao can generate (govdata.materials), by template id


@dataclass
class Plan:
    bundle: str
    name: str
    version: int
    sample: bool
    answers: dict[str, str]
    items: list[dict] = field(default_factory=list)  # [{name, item_id, department}]
    materials: list[MaterialNeed] = field(default_factory=list)

    @property
    def to_submit(self) -> list[MaterialNeed]:
        return [m for m in self.materials if m.status != "waived"]

    @property
    def waived(self) -> list[MaterialNeed]:
        return [m for m in self.materials if m.status == "waived"]

    def to_dict(self) -> dict:
        return {**asdict(self), "to_submit": [m.name for m in self.to_submit], "waived": [m.name for m in self.waived]}


def plan(bundle: Bundle, version: int, answers: dict[str, str], records: tuple | None, reusable: dict[str, dict]) -> Plan:
    """What applies for these answers. `records`: the applicant's (person, enterprise), None when
    not identified; `reusable`: the applicant's valid library materials by type."""
    result = Plan(bundle.id, bundle.name, version, bundle.sample, answers)
    applying = [i for i in bundle.items if holds(i.when, answers)]
    result.items = [{"name": i.name, "item_id": i.item_id, "department": i.department} for i in applying]
    names = {i.name for i in applying}
    for material in bundle.materials:
        if material.item not in names or not holds(material.when, answers):
            continue
        need = MaterialNeed(material.name, material.item, "submit")
        if material.made_by in names:
            need.status, need.reason = "waived", f"由本一件事中的“{material.made_by}”办结后共享，免于提交"
        elif material.record and records is not None and lookup(material.record, *records) is not None:
            need.status, need.reason = "waived", f"政府已有数据（{SOURCE_NAMES[material.record.partition('.')[0]]}），免于提交"
        elif kept := next((reusable[t] for t in material.library if t in reusable), None):
            until = f"，有效期至 {kept['valid_until']}" if kept.get("valid_until") else ""
            need.status, need.reason, need.library_id = "waived", f"电子材料库已有（{kept['name']}{until}），免于提交", kept["id"]
        elif records is None and (material.record or material.library):
            need.status, need.reason = "login", "实名登录后核验，政府已有或材料库已有的可免交"
        result.materials.append(need)
    return result


# storage ----------------------------------------------------------------------------------------


class BundleVersion(Base):
    """One saved version of a bundle; the highest version is the one in use."""

    __tablename__ = "bundle_versions"
    __table_args__ = (UniqueConstraint("bundle_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bundle_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSON)
    sample: Mapped[bool] = mapped_column(Boolean, default=False)
    author: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)


class BundleWalk(Base):
    """A citizen's walk through a bundle in the chat: the version it started with and the answers so far."""

    __tablename__ = "bundle_walks"

    session_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    bundle_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)


def _version_dict(row: BundleVersion) -> dict:
    return {
        "bundle_id": row.bundle_id,
        "version": row.version,
        "author": row.author,
        "note": row.note,
        "created_at": row.created_at.isoformat(),
        "bundle": row.data,
    }


def validated(data: object) -> Bundle:
    """A bundle from JSON data, or BundleError listing every problem in Chinese."""
    try:
        return Bundle.model_validate(data)
    except ValidationError as exc:
        problems = "；".join(f"{'.'.join(map(str, e['loc'])) or '一件事'}：{e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        raise BundleError(f"一件事配置有误：{problems}") from None


class Bundles:
    def __init__(self, db_engine: Engine) -> None:
        self.db_engine = db_engine

    def seed(self, folder: Path) -> int:
        """The bundles of a folder (sample data) as version 1, once; a bundle already stored is kept."""
        added = 0
        with Session(self.db_engine) as session:
            for path in sorted(folder.glob("*.json")):
                try:
                    bundle = validated(json.loads(path.read_text(encoding="utf-8")))
                except ValueError as exc:
                    raise BundleError(f"{path.name}：{exc}") from None
                if session.scalar(select(BundleVersion.id).where(BundleVersion.bundle_id == bundle.id).limit(1)) is None:
                    data = bundle.model_dump(mode="json")
                    session.add(
                        BundleVersion(bundle_id=bundle.id, version=1, data=data, sample=bundle.sample, author="seed", note=path.name)
                    )
                    added += 1
            session.commit()
        return added

    def all(self) -> list[tuple[Bundle, int]]:
        """Every bundle in its current version."""
        with Session(self.db_engine) as session:
            return [(Bundle.model_validate(r.data), r.version) for r in versions.latest(session, BundleVersion, BundleVersion.bundle_id)]

    def get(self, bundle_id: str, version: int | None = None) -> tuple[Bundle, int] | None:
        """A bundle in its current version, or in the version asked for; None when there is none."""
        with Session(self.db_engine) as session:
            row = versions.one(session, BundleVersion, BundleVersion.bundle_id, bundle_id, version)
            return (Bundle.model_validate(row.data), row.version) if row else None

    def find(self, text: str | None) -> tuple[Bundle, int] | None:
        """The bundle a message names: its id, its name, or the longest of its aliases in the text
        (with the measure word people put after the verb: 开个公司 and 开家饭店 name 开公司 and 开饭店)."""
        if not text:
            return None
        named = [
            (len(word), pair)
            for pair in self.all()
            for word in (pair[0].id, pair[0].name, pair[0].name.removesuffix("一件事"), *pair[0].aliases)
            if word and _said(word, text)
        ]
        return max(named, key=lambda found: found[0])[1] if named else None

    def versions(self, bundle_id: str) -> list[dict]:
        with Session(self.db_engine) as session:
            return [_version_dict(r) for r in versions.history(session, BundleVersion, BundleVersion.bundle_id, bundle_id)]

    def save(self, bundle_id: str, data: object, actor: str, note: str = "") -> dict:
        """A new version of the bundle (a new bundle starts at version 1), in use at once; the
        previous versions stay readable. Audited."""
        bundle = validated(data)
        if bundle.id != bundle_id:
            raise BundleError(f"配置中的编号 {bundle.id} 与地址中的 {bundle_id} 不一致")
        with Session(self.db_engine) as session:
            version = versions.next_version(session, BundleVersion, BundleVersion.bundle_id, bundle_id)
            row = BundleVersion(
                bundle_id=bundle_id, version=version, data=bundle.model_dump(mode="json"), sample=bundle.sample, author=actor, note=note
            )
            session.add(row)
            audit.record(session, actor, "publish_bundle", "bundle", bundle_id, version=version, note=note)
            session.commit()
            return _version_dict(row)

    # a citizen's walk in the chat ------------------------------------------------------------------

    def walk(self, session_id: str) -> tuple[Bundle, int, dict[str, str]] | None:
        """The session's walk still waiting for an answer: its bundle (in the version it started with) and
        answers; None when there is none or it was left more than WALK_MINUTES ago."""
        with Session(self.db_engine) as session:
            row = session.get(BundleWalk, session_id)
            if row is None or aware(row.updated_at) < now() - dt.timedelta(minutes=WALK_MINUTES):
                return None
            found = self.get(row.bundle_id, row.version)
            return (*found, dict(row.answers)) if found else None

    def remember(self, session_id: str, bundle_id: str, version: int, answers: dict[str, str], done: bool) -> None:
        """Keep the walk's answers; a finished walk is forgotten."""
        with Session(self.db_engine) as session:
            row = session.get(BundleWalk, session_id)
            if done:
                if row is not None:
                    session.delete(row)
            elif row is None:
                session.add(BundleWalk(session_id=session_id, bundle_id=bundle_id, version=version, answers=answers))
            else:
                row.bundle_id, row.version, row.answers, row.updated_at = bundle_id, version, answers, now()
            session.commit()
