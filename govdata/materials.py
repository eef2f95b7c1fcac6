"""Application materials generated from the data sources (申请材料自动生成).

A template is data (format in docs/SERVICES.md): its fields, each with the sources that may fill it
in order of preference, and the paragraphs of the document. Templates live in the database with
their versions, like 一件事 bundles: seeded from JSON files (demo/templates/), edited in the editor
console, every older version readable. Generating a material fills every field from the applicant's
own records, then from what the pre-review read in the applicant's own verified uploads (电子材料库),
records where each value came from, takes what no source knows from the applicant's answers, and
lists what is still unknown as questions. A value the government holds is never overridden: an
answer or an upload that differs is reported as a conflict. The result is a DOCX or a PDF that the
pre-review reads like any upload."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import string
import unicodedata
from dataclasses import asdict, dataclass, field
from html import escape
from pathlib import Path
from typing import Literal

from docx import Document
from docx.shared import Pt
from pydantic import BaseModel, Field, ValidationError, model_validator
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate
from sqlalchemy import JSON, DateTime, Engine, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from xiaobao.db import Base, now
from xiaobao.govdata import versions
from xiaobao.govdata.codes import valid_credit_code, valid_id_number
from xiaobao.govdata.prefill import SOURCE_NAMES, lookup
from xiaobao.govdata.records import Enterprise, Person, ServiceItem
from xiaobao.identity import audit

ANSWER = "申请人填写"
KINDS = {"person": "个人", "enterprise": "企业"}
UPLOAD = "upload"  # a source upload.<material type>.<label>: what the pre-review read in the applicant's verified upload
_PDF_FONT = "STSong-Light"
_PHONE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")
_CHECKS = {
    "id_number": (valid_id_number, "身份证号校验位不正确"),
    "credit_code": (valid_credit_code, "统一社会信用代码校验位不正确"),
    "phone": (lambda v: _PHONE.match(v) is not None, "电话号码格式不正确（手机 11 位，或区号-号码）"),
    "text": (lambda v: True, ""),
}


class TemplateError(ValueError):
    pass


class TemplateField(BaseModel):
    name: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    label: str  # as printed on the document (the pre-review reads it)
    type: Literal["text", "id_number", "credit_code", "phone"] = "text"
    # where the value is held, most authoritative first: the government's records (person.name,
    # enterprise.premises, enterprise.licence.营业执照.number), then the applicant's verified uploads as
    # the pre-review read them (upload.营业执照.住所), or "today" (the date the document is made); none = ask
    sources: list[str] = Field(default_factory=list)
    question: str | None = None  # how to ask the applicant when no source has it
    differs_from: list[str] = Field(default_factory=list)  # earlier fields it may not equal (监事 ≠ 执行董事)

    def ask(self) -> str:
        return self.question or f"请提供{self.label}。"


class Template(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)
    version: int = 1  # the stored version's number (a file's or an editor's own number is not used)
    name: str = Field(min_length=1, max_length=100)  # the material's name (食品经营许可申请书)
    aliases: list[str] = Field(default_factory=list)  # what citizens call it (公司章程 for 有限责任公司章程)
    item_id: str  # the service item it is for
    material_id: str  # the item's material it is (its review points check the document)
    applicant: Literal["person", "enterprise"]
    fields: list[TemplateField]
    body: list[str] = Field(default_factory=list)  # paragraphs after the fields, {name} = a field's value

    @model_validator(mode="after")
    def _placeholders_are_fields(self) -> Template:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError("字段名重复")
        try:
            parsed = [part for paragraph in self.body for part in string.Formatter().parse(paragraph)]
        except ValueError:
            raise ValueError("正文的花括号不成对：字段写作 {字段名}，正文中的花括号写作 {{ 和 }}") from None
        if any(spec or conversion for _, name, spec, conversion in parsed if name is not None):
            # an editor's template is data: {name:>999999999} would build a gigabyte string
            raise ValueError("正文中的字段只能写作 {字段名}，不能带格式或转换（如 {name:>10}、{name!r}）")
        used = {name for _, name, _, _ in parsed if name is not None}
        if "" in used:
            raise ValueError("正文中的 {} 没有写字段名")
        if used - set(names):
            raise ValueError(f"正文引用了未定义的字段：{'、'.join(sorted(used - set(names)))}")
        for index, spec in enumerate(self.fields):
            if set(spec.differs_from) - set(names[:index]):
                raise ValueError(f"字段 {spec.name} 的 differs_from 只能列出它之前的字段")
            uploaded = False
            for source in spec.sources:
                kind = source.partition(".")[0]
                if kind == UPLOAD:
                    if len(source.split(".")) != 3 or "" in source.split("."):
                        raise ValueError(f"字段 {spec.name} 的数据来源 {source} 应写作 upload.材料名称.标签（如 upload.营业执照.住所）")
                    uploaded = True
                elif source != "today" and kind != self.applicant:
                    raise ValueError(f"字段 {spec.name} 的数据来源 {source} 不是{KINDS[self.applicant]}的记录")
                elif uploaded and source != "today":  # the government's records are asked first
                    raise ValueError(f"字段 {spec.name} 的政府数据来源 {source} 应排在上传材料识别的来源之前")
        return self

    def stored(self) -> dict:
        """The template as stored: its data without the version number (the database numbers versions)."""
        return self.model_dump(mode="json", exclude={"version"})


@dataclass
class Value:
    name: str
    label: str
    value: str | None
    source: str | None  # in words: 法人库, 电子证照（营业执照）, 电子材料库（营业执照，上传识别）, 申请人填写; None = not known yet
    path: str | None = None  # the source path (enterprise.premises, upload.营业执照.住所) or "answer"


@dataclass
class Generated:
    template: str
    version: int
    name: str
    item_id: str
    material_id: str
    fields: list[Value] = field(default_factory=list)
    questions: list[dict] = field(default_factory=list)  # [{name, label, question}] in the template's order
    conflicts: list[str] = field(default_factory=list)  # answers that differ from the government's data
    rejected: list[str] = field(default_factory=list)  # answers that are not valid values

    @property
    def complete(self) -> bool:
        return not self.questions

    def to_dict(self) -> dict:
        return {**asdict(self), "complete": self.complete}


def clean(value: str, kind: str) -> str:
    """An answer as the field keeps it. A number's full-width characters are folded (１３９ → 139) and
    the spaces and hyphens people type inside it removed (139 0000 0001; a landline keeps its area-code
    hyphen); text stays as written (Chinese brackets and punctuation are full-width on purpose)."""
    if kind == "text":
        return value.strip()
    value = unicodedata.normalize("NFKC", value).strip()
    if kind in ("id_number", "credit_code"):
        return re.sub(r"[\s-]", "", value).upper()
    value = re.sub(r"\s", "", value)  # a phone number
    return value.replace("-", "") if re.fullmatch(r"1[\d-]{10,13}", value) else value


def source_name(path: str) -> str:
    if path == "today":
        return "生成日期"
    if path.startswith(UPLOAD + "."):
        return f"电子材料库（{path.split('.')[1]}，上传识别）"
    if ".licence." in path:
        return f"电子证照（{path.split('.licence.')[1].rpartition('.')[0]}）"
    return SOURCE_NAMES[path.partition(".")[0]]


def _same(a: str, b: str) -> bool:
    return a.replace(" ", "") == b.replace(" ", "")


def _read(source: str, spec: TemplateField, uploads: dict[str, dict[str, str]]) -> str | None:
    """What the pre-review read under a label of the applicant's verified upload, when it is a valid
    value for the field (a misread number is no value)."""
    _, kind, label = source.split(".")
    value = uploads.get(kind, {}).get(label)
    if not value:
        return None
    value = clean(value, spec.type)
    return value if value and _CHECKS[spec.type][0](value) else None


def generate(
    template: Template,
    person: Person | None,
    enterprise: Enterprise | None,
    answers: dict | None = None,
    on: dt.date | None = None,
    uploads: dict[str, dict[str, str]] | None = None,
) -> Generated:
    """Fill the template: sources first (in their order: the government's records, then `uploads`,
    what the pre-review read in the applicant's own unexpired library materials by type and label),
    then the applicant's answers; the rest is asked. An upload or answer that differs from the value
    used is reported as a conflict."""
    answers = {k: str(v).strip() for k, v in (answers or {}).items() if v is not None and str(v).strip()}
    uploads = uploads or {}
    on = on or dt.date.today()
    result = Generated(template.id, template.version, template.name, template.item_id, template.material_id)
    for spec in template.fields:
        value = path = None
        for source in spec.sources:
            if source == "today":
                found = on.isoformat()
            elif source.startswith(UPLOAD + "."):
                found = _read(source, spec, uploads)
            else:
                found = lookup(source, person, enterprise)
            if found is None:
                continue
            if value is None:
                value, path = found, source
            elif source.startswith(UPLOAD + ".") and not _same(found, value):  # the government's data wins
                result.conflicts.append(
                    f"{spec.label}：{source_name(source)}为“{found}”，{source_name(path)}为“{value}”，已按{source_name(path)}填写"
                )
        answer = clean(answers[spec.name], spec.type) if spec.name in answers else None
        if value is not None:
            if answer is not None and not _same(answer, value):
                result.conflicts.append(f"{spec.label}：您提供“{answer}”，{source_name(path)}为“{value}”，已按{source_name(path)}填写")
            result.fields.append(Value(spec.name, spec.label, value, source_name(path), path))
            continue
        if answer is not None:
            check, problem = _CHECKS[spec.type]
            same = [f.label for f in result.fields if f.name in spec.differs_from and f.value is not None and _same(f.value, answer)]
            if same:
                check, problem = (lambda _: False), f"不能与{'、'.join(same)}相同"
            if check(answer):
                result.fields.append(Value(spec.name, spec.label, answer, ANSWER, "answer"))
                continue
            result.rejected.append(f"{spec.label}“{answer}”：{problem}")
        result.fields.append(Value(spec.name, spec.label, None, None))
        result.questions.append({"name": spec.name, "label": spec.label, "question": spec.ask()})
    return result


def _content(template: Template, generated: dict) -> tuple[list[str], str]:
    """A complete generation's lines (one "标签：值" per field, then the body) and where each value came from."""
    if generated["template"] != template.id or generated["questions"]:
        missing = "、".join(q["label"] for q in generated["questions"])
        raise TemplateError(f"还缺少：{missing}，不能生成《{template.name}》" if missing else "生成结果与模板不符")
    values = {f["name"]: f["value"] for f in generated["fields"]}
    lines = [f"{spec.label}：{values[spec.name]}" for spec in template.fields]
    lines += [paragraph.format(**values) for paragraph in template.body]
    return lines, "数据来源：" + "；".join(f"{f['label']}←{f['source']}" for f in generated["fields"])


def document(template: Template, generated: dict) -> bytes:
    """The DOCX of a complete generation (Generated.to_dict()): title, one "标签：值" line per field,
    the body; where each value came from goes into the document's comments."""
    lines, sources = _content(template, generated)
    doc = Document()
    doc.styles["Normal"].font.size = Pt(12)
    doc.add_heading(template.name, level=1)
    for line in lines:
        doc.add_paragraph(line)
    doc.core_properties.title = template.name
    doc.core_properties.subject = f"{template.id} v{template.version}"
    doc.core_properties.comments = sources
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def pdf(template: Template, generated: dict) -> bytes:
    """The same document as a PDF (A4). Chinese is set in STSong-Light, one of the CID fonts every PDF
    reader provides (the font is named, not embedded: nothing to download or ship); the sources go
    into the document's keywords."""
    lines, sources = _content(template, generated)
    pdfmetrics.registerFont(UnicodeCIDFont(_PDF_FONT))  # idempotent
    body = ParagraphStyle("body", fontName=_PDF_FONT, fontSize=12, leading=20, wordWrap="CJK", spaceAfter=4)
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=28, alignment=TA_CENTER, spaceAfter=14)
    out = io.BytesIO()
    page = SimpleDocTemplate(
        out, pagesize=A4, title=template.name, subject=f"{template.id} v{template.version}", keywords=sources, creator="小宝"
    )
    page.build([Paragraph(escape(template.name), title), *(Paragraph(escape(line), body) for line in lines)])
    return out.getvalue()


def validated(data: object, where: str = "材料模板") -> Template:
    """A template from JSON data, or TemplateError listing every problem in Chinese."""
    try:
        return Template.model_validate(data)
    except ValidationError as exc:
        problems = "；".join(f"{'.'.join(map(str, e['loc'])) or '模板'}：{e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        raise TemplateError(f"{where}有误：{problems}") from None


def fits(template: Template, item: ServiceItem | None) -> str | None:
    """Why the template cannot be used for its item (None: it can): its material must be one of the
    item's materials, whose review points then check every generated document."""
    if item is None:
        return f"事项 {template.item_id} 不在事项目录中"
    if template.material_id not in {m.id for m in item.materials}:
        listed = "、".join(f"{m.id}（{m.name}）" for m in item.materials) or "无"
        return f"事项“{item.name}”没有材料 {template.material_id}；它的材料有：{listed}"
    if template.applicant != item.applicant:
        return f"事项“{item.name}”的申请人是{KINDS[item.applicant]}，模板的申请人是{KINDS[template.applicant]}"
    return None


class TemplateVersion(Base):
    """One saved version of a material template; the highest version is the one in use."""

    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("template_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)

    def template(self) -> Template:
        return Template.model_validate({**self.data, "version": self.version})


def _version_dict(row: TemplateVersion) -> dict:
    return {
        "template_id": row.template_id,
        "version": row.version,
        "author": row.author,
        "note": row.note,
        "created_at": row.created_at.isoformat(),
        "template": row.template().model_dump(mode="json"),
    }


class Templates:
    """The material templates in the database, each with its versions; the newest is in use."""

    def __init__(self, db_engine: Engine) -> None:
        self.db_engine = db_engine

    def seed(self, folder: Path) -> int:
        """The templates of a folder (one JSON file each): a file whose content no stored version of
        its template has becomes that template's next version (a new template: version 1), so a file
        changed since the last `xiaobao init` is taken up and an unchanged one adds nothing. A bad
        file is a TemplateError naming it; nothing of the folder is stored then."""
        added = 0
        with Session(self.db_engine) as session:
            for path in sorted(folder.glob("*.json")):
                try:
                    template = validated(json.loads(path.read_text(encoding="utf-8")), f"材料模板 {path.name} ")
                except json.JSONDecodeError as exc:
                    raise TemplateError(f"材料模板 {path.name} 有误：不是有效的 JSON（{exc}）") from None
                data = template.stored()
                held = session.scalars(select(TemplateVersion.data).where(TemplateVersion.template_id == template.id)).all()
                if data not in held:
                    session.add(TemplateVersion(template_id=template.id, version=len(held) + 1, data=data, author="seed", note=path.name))
                    added += 1
            session.commit()
        return added

    def all(self) -> dict[str, Template]:
        """Every template in its current version, by id."""
        with Session(self.db_engine) as session:
            return {r.template_id: r.template() for r in versions.latest(session, TemplateVersion, TemplateVersion.template_id)}

    def get(self, template_id: str, version: int | None = None) -> Template | None:
        """A template in its current version, or in the version asked for; None when there is none."""
        with Session(self.db_engine) as session:
            row = versions.one(session, TemplateVersion, TemplateVersion.template_id, template_id, version)
            return row.template() if row else None

    def find(self, text: str | None) -> Template | None:
        """A template by id, or by its material's name or an alias (the longest that occurs in the text)."""
        if not text:
            return None
        templates = self.all()
        if text.strip() in templates:
            return templates[text.strip()]
        named = [(len(n), t) for t in templates.values() for n in (t.name, *t.aliases) if n in text or text.strip() in n]
        return max(named, key=lambda pair: pair[0])[1] if named else None

    def versions(self, template_id: str) -> list[dict]:
        """Every saved version, oldest first, with who saved it and why."""
        with Session(self.db_engine) as session:
            return [_version_dict(r) for r in versions.history(session, TemplateVersion, TemplateVersion.template_id, template_id)]

    def save(self, template: Template, actor: str, note: str = "") -> dict:
        """A new version of the template (a new template starts at version 1), in use at once; the
        previous versions stay readable. Audited."""
        with Session(self.db_engine) as session:
            version = versions.next_version(session, TemplateVersion, TemplateVersion.template_id, template.id)
            row = TemplateVersion(template_id=template.id, version=version, data=template.stored(), author=actor, note=note)
            session.add(row)
            audit.record(session, actor, "publish_template", "material_template", template.id, version=version, note=note)
            session.commit()
            return _version_dict(row)
