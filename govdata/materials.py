"""Application materials generated from the data sources (申请材料自动生成).

A template is data — one JSON file per material in a templates folder (demo/templates/, format in
docs/SERVICES.md): its fields, each with the sources that may fill it in order of preference, and
the paragraphs of the document. Generating a material fills every field from the applicant's own
records, records where each value came from, takes what no source knows from the applicant's
answers, and lists what is still unknown as questions. A value the government holds is never
overridden by an answer: a differing answer is reported as a conflict. The result is a DOCX or a
PDF that the pre-review reads like any upload."""

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

from xiaobao.govdata.codes import valid_credit_code, valid_id_number
from xiaobao.govdata.prefill import SOURCE_NAMES, lookup
from xiaobao.govdata.records import Enterprise, Person

ANSWER = "申请人填写"
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
    # where the government holds the value, most authoritative first: person.name, enterprise.premises,
    # enterprise.licence.营业执照.number, or "today" (the date the document is made); none = ask
    sources: list[str] = Field(default_factory=list)
    question: str | None = None  # how to ask the applicant when no source has it

    def ask(self) -> str:
        return self.question or f"请提供{self.label}。"


class Template(BaseModel):
    id: str
    version: int = 1
    name: str  # the material's name (食品经营许可申请书)
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
        used = {name for paragraph in self.body for _, name, _, _ in string.Formatter().parse(paragraph) if name}
        if used - set(names):
            raise ValueError(f"正文引用了未定义的字段：{'、'.join(sorted(used - set(names)))}")
        for spec in self.fields:
            for source in spec.sources:
                if source != "today" and source.partition(".")[0] != self.applicant:
                    raise ValueError(f"字段 {spec.name} 的数据来源 {source} 不是{self.applicant}的记录")
        return self


@dataclass
class Value:
    name: str
    label: str
    value: str | None
    source: str | None  # in words: 法人库, 电子证照（营业执照）, 申请人填写; None = not known yet
    path: str | None = None  # the source path (enterprise.premises) or "answer"


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
    if ".licence." in path:
        return f"电子证照（{path.split('.licence.')[1].rpartition('.')[0]}）"
    return SOURCE_NAMES[path.partition(".")[0]]


def generate(
    template: Template, person: Person | None, enterprise: Enterprise | None, answers: dict | None = None, on: dt.date | None = None
) -> Generated:
    """Fill the template: sources first (in their order), then the applicant's answers; the rest is asked."""
    answers = {k: str(v).strip() for k, v in (answers or {}).items() if v is not None and str(v).strip()}
    on = on or dt.date.today()
    result = Generated(template.id, template.version, template.name, template.item_id, template.material_id)
    for spec in template.fields:
        value = path = None
        for source in spec.sources:
            value = on.isoformat() if source == "today" else lookup(source, person, enterprise)
            if value is not None:
                path = source
                break
        answer = clean(answers[spec.name], spec.type) if spec.name in answers else None
        if value is not None:
            if answer is not None and answer.replace(" ", "") != value.replace(" ", ""):
                result.conflicts.append(f"{spec.label}：您提供“{answer}”，{source_name(path)}为“{value}”，已按{source_name(path)}填写")
            result.fields.append(Value(spec.name, spec.label, value, source_name(path), path))
            continue
        if answer is not None:
            check, problem = _CHECKS[spec.type]
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


class Templates:
    """The templates of a folder, read once; a bad template is an error naming its file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._all: dict[str, Template] | None = None

    def all(self) -> dict[str, Template]:
        if self._all is None:
            found = {}
            for path in sorted(self.folder.glob("*.json")):
                try:
                    template = Template.model_validate(json.loads(path.read_text(encoding="utf-8")))
                except ValidationError as exc:
                    problems = "；".join(f"{'.'.join(map(str, e['loc'])) or '模板'}：{e['msg']}" for e in exc.errors())
                    raise TemplateError(f"材料模板 {path.name} 有误：{problems}") from None
                except ValueError as exc:  # not JSON
                    raise TemplateError(f"材料模板 {path.name} 有误：{exc}") from None
                found[template.id] = template
            self._all = found
        return self._all

    def find(self, text: str | None) -> Template | None:
        """A template by id, or by its material's name or an alias (the longest that occurs in the text)."""
        if not text:
            return None
        templates = self.all()
        if text.strip() in templates:
            return templates[text.strip()]
        named = [(len(n), t) for t in templates.values() for n in (t.name, *t.aliases) if n in text or text.strip() in n]
        return max(named, key=lambda pair: pair[0])[1] if named else None
