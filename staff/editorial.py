"""The knowledge-gap loop and the Q&A editing workflow.

Unanswered questions (refused, rated unhelpful, left unresolved by a helper) wait in a queue, grouped
by similarity so a topic is answered once, each due 5 working days after it was asked. An answer
becomes a draft Q&A entry; an editor reviews and publishes it, which indexes it at once and closes
the gaps it answers. Entries keep every version and are retired, never deleted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import JSON, Date, DateTime, Engine, Integer, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from xiaobao.assistant.store import GAP_WORKING_DAYS, KnowledgeGap
from xiaobao.db import Base, now
from xiaobao.govdata.workdays import CHINA, add_working_days, china_date, previous_working_day
from xiaobao.identity import audit
from xiaobao.ingest.loaders import SUPPORTED
from xiaobao.ingest.loaders.records import qa_chunks
from xiaobao.ingest.pipeline import Ingestor
from xiaobao.ingest.screening import suspicious
from xiaobao.knowledge.base import KnowledgeBase

FIELDS = ("question", "alternatives", "answer", "item", "department", "effective_from", "effective_to", "source")
MAX_QUESTION, MAX_ANSWER = 200, 5000


def today() -> dt.date:
    return dt.datetime.now(CHINA).date()


class QAEntry(Base):
    __tablename__ = "qa_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="draft", index=True)  # draft | published | retired
    question: Mapped[str] = mapped_column(String(MAX_QUESTION))
    alternatives: Mapped[list] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text)
    item: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(100))
    effective_from: Mapped[dt.date | None] = mapped_column(Date)
    effective_to: Mapped[dt.date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(String(200))  # where the answer came from (helper, import, editor)
    gap_ids: Mapped[list] = mapped_column(JSON, default=list)  # the knowledge gaps it answers
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def code(self) -> str:
        return f"kb-{self.id:05d}"

    def fields(self) -> dict:
        return {
            "question": self.question,
            "alternatives": list(self.alternatives or []),
            "answer": self.answer,
            "item": self.item,
            "department": self.department,
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "source": self.source,
        }

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "code": self.code,
            "status": self.status,
            **self.fields(),
            "gap_ids": list(self.gap_ids or []),
            "version": self.version,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "published_at": self.published_at.isoformat() if self.published_at else None,
            # Q&A for a new policy is published one working day before the policy takes effect
            "publish_by": previous_working_day(self.effective_from).isoformat() if self.effective_from else None,
        }


class QAVersion(Base):
    __tablename__ = "qa_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))  # create | edit | publish | retire
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)
    changes: Mapped[dict] = mapped_column(JSON, default=dict)  # field -> [before, after]
    snapshot: Mapped[dict] = mapped_column(JSON)


class EditorialError(ValueError):
    """The text says what is wrong, in Chinese."""


class EntryNotFound(LookupError):
    pass


def clean_fields(raw: dict) -> dict:
    """Validated entry fields from untrusted input (a form, an imported row); EditorialError says
    which field is wrong."""
    unknown = set(raw) - set(FIELDS)
    if unknown:
        raise EditorialError(f"未知字段：{'、'.join(sorted(unknown))}")
    out: dict = {}
    for key in ("question", "answer", "item", "department", "source"):
        if key in raw:
            value = raw[key]
            out[key] = None if value is None else str(value).strip() or None
    if "alternatives" in raw:
        alternatives = raw["alternatives"] or []
        if isinstance(alternatives, str):  # CSV / XLSX cells: one phrasing per line, or separated by | ；
            alternatives = alternatives.replace("｜", "|").replace("；", "|").replace("\n", "|").split("|")
        out["alternatives"] = [str(a).strip() for a in alternatives if str(a).strip()]
    for key in ("effective_from", "effective_to"):
        if key in raw:
            value = raw[key]
            if value in (None, ""):
                out[key] = None
            elif isinstance(value, dt.datetime):
                out[key] = value.date()
            elif isinstance(value, dt.date):
                out[key] = value
            else:
                try:
                    out[key] = dt.date.fromisoformat(str(value).strip()[:10])
                except ValueError:
                    raise EditorialError(f"{key} 日期格式应为 YYYY-MM-DD：{value}") from None
    if "question" in out and not out["question"]:
        raise EditorialError("问题不能为空")
    if "answer" in out and not out["answer"]:
        raise EditorialError("答复不能为空")
    if len(out.get("question") or "") > MAX_QUESTION:
        raise EditorialError(f"问题不能超过 {MAX_QUESTION} 字")
    if len(out.get("answer") or "") > MAX_ANSWER:
        raise EditorialError(f"答复不能超过 {MAX_ANSWER} 字")
    if any(len(a) > MAX_QUESTION for a in out.get("alternatives", [])):
        raise EditorialError(f"相似问法不能超过 {MAX_QUESTION} 字")
    start, end = out.get("effective_from"), out.get("effective_to")
    if start and end and end < start:
        raise EditorialError("失效日期早于生效日期")
    return out


@dataclass
class ImportRow:
    row: int
    fields: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def parse_import(filename: str, data: bytes) -> list[ImportRow]:
    """Rows of a Q&A import file (CSV, XLSX or JSON Lines; header names as in FIELDS, or their
    Chinese names), each validated; a row with errors says so and is not imported."""
    name = filename.lower()
    try:
        if name.endswith(".jsonl"):
            records = _jsonl_records(data)
        elif name.endswith(".csv"):
            records = _table_records(list(csv.reader(io.StringIO(data.decode("utf-8-sig")))))
        elif name.endswith(".xlsx"):
            records = _table_records(_xlsx_rows(data))
        else:
            raise EditorialError("只支持 CSV、XLSX 或 JSONL 文件")
    except UnicodeDecodeError:
        raise EditorialError("文件不是 UTF-8 编码的文本，请另存为 UTF-8 后再导入") from None
    rows: list[ImportRow] = []
    seen: dict[str, int] = {}
    for number, record in records:
        row = ImportRow(number)
        if isinstance(record, str):
            row.errors.append(record)
        else:
            try:
                row.fields = clean_fields({k: v for k, v in record.items() if v not in (None, "")})
                for key in ("question", "answer"):
                    if not row.fields.get(key):
                        row.errors.append(f"缺少{HEADERS_ZH[key]}")
            except EditorialError as exc:
                row.errors.append(str(exc))
            question = row.fields.get("question")
            if question and question in seen:
                row.errors.append(f"与第 {seen[question]} 行的问题重复")
            elif question:
                seen[question] = number
        rows.append(row)
    return rows


HEADERS_ZH = {
    "question": "问题",
    "alternatives": "相似问法",
    "answer": "答复",
    "item": "事项",
    "department": "部门",
    "effective_from": "生效日期",
    "effective_to": "失效日期",
    "source": "来源",
}
_HEADER_KEYS = {**{v: k for k, v in HEADERS_ZH.items()}, **{k: k for k in FIELDS}}


def _jsonl_records(data: bytes) -> list[tuple[int, dict | str]]:
    out: list[tuple[int, dict | str]] = []
    for number, line in enumerate(data.decode("utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            out.append((number, f"不是合法的 JSON：{exc.msg}"))
            continue
        out.append((number, {k: v for k, v in record.items() if k in FIELDS} if isinstance(record, dict) else "每行须是一个 JSON 对象"))
    return out


def _table_records(rows: list[list]) -> list[tuple[int, dict | str]]:
    if not rows:
        raise EditorialError("文件是空的")
    header = [_HEADER_KEYS.get(str(h or "").strip()) for h in rows[0]]
    if "question" not in header or "answer" not in header:
        raise EditorialError("表头须包含“问题”（question）和“答复”（answer）两列")
    out: list[tuple[int, dict | str]] = []
    for number, cells in enumerate(rows[1:], start=2):
        if not any(str(c or "").strip() for c in cells):
            continue
        out.append((number, {key: cell for key, cell in zip(header, cells, strict=False) if key}))
    return out


def _xlsx_rows(data: bytes) -> list[list]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
    except (BadZipFile, KeyError, ValueError, OSError):
        raise EditorialError("无法读取这个 XLSX 文件（文件损坏或不是 Excel 2007 以上格式）") from None
    return [list(row) for row in sheet.iter_rows(values_only=True)]


class Editorial:
    def __init__(self, kb: KnowledgeBase, ingestor: Ingestor, db_engine: Engine, group_threshold: float = 0.92) -> None:
        self.kb = kb
        self.db_engine = db_engine
        self.ingestor = ingestor
        self.group_threshold = group_threshold

    # the unanswered queue --------------------------------------------------------------------

    def gap_groups(self, on: dt.date | None = None) -> list[dict]:
        """Open gaps grouped by similar questions, overdue groups first, then by due date."""
        on = on or today()
        with Session(self.db_engine) as session:
            gaps = list(session.scalars(select(KnowledgeGap).where(KnowledgeGap.status == "open").order_by(KnowledgeGap.id)))
        if not gaps:
            return []
        vectors = np.asarray(self.kb.embedder.embed_queries([g.question for g in gaps]), dtype=np.float32)
        groups: list[tuple[np.ndarray, list[KnowledgeGap]]] = []
        for gap, vector in zip(gaps, vectors, strict=True):
            best = max(range(len(groups)), key=lambda i: float(groups[i][0] @ vector), default=None)
            if best is not None and float(groups[best][0] @ vector) >= self.group_threshold:
                groups[best][1].append(gap)
            else:
                groups.append((vector, [gap]))
        out = []
        for _, members in groups:
            # gaps stored before due dates existed get theirs from when they were asked
            due = {g.id: g.due_date or add_working_days(china_date(g.created_at), GAP_WORKING_DAYS) for g in members}
            items = [
                {
                    "id": g.id,
                    "question": g.question,
                    "reason": g.reason,
                    "session_id": g.session_id,
                    "created_at": g.created_at.isoformat(),
                    "due_date": due[g.id].isoformat(),
                    "overdue": due[g.id] < on,
                }
                for g in members
            ]
            out.append(
                {
                    "topic": members[0].question,
                    "count": len(members),
                    "due_date": min(due.values()).isoformat(),
                    "overdue": any(i["overdue"] for i in items),
                    "gaps": items,
                }
            )
        return sorted(out, key=lambda g: (not g["overdue"], g["due_date"]))

    def dismiss_gaps(self, gap_ids: list[int], actor: str, note: str = "") -> int:
        """Gaps that need no official reply (not a question, out of scope); kept, marked dismissed."""
        with Session(self.db_engine) as session:
            gaps = list(session.scalars(select(KnowledgeGap).where(KnowledgeGap.id.in_(gap_ids), KnowledgeGap.status == "open")))
            for gap in gaps:
                gap.status, gap.closed_at = "dismissed", now()
                audit.record(session, actor, "dismiss_gap", "gap", gap.id, note=note)
            session.commit()
            return len(gaps)

    # entries ----------------------------------------------------------------------------------

    def create(self, raw: dict, actor: str, gap_ids: list[int] | None = None) -> dict:
        values = clean_fields(raw)
        if not values.get("question") or not values.get("answer"):
            raise EditorialError("问题和答复都不能为空")
        with Session(self.db_engine) as session:
            if gap_ids:
                found = set(session.scalars(select(KnowledgeGap.id).where(KnowledgeGap.id.in_(gap_ids))))
                if missing := sorted(set(gap_ids) - found):
                    raise EditorialError(f"没有这些待答问题：{missing}")
            entry = QAEntry(**values, gap_ids=sorted(set(gap_ids or [])), created_by=actor)
            session.add(entry)
            session.flush()
            self._version(session, entry, "create", actor, {k: [None, v] for k, v in entry.fields().items() if v})
            audit.record(session, actor, "create_entry", "qa_entry", entry.code, gaps=entry.gap_ids)
            session.commit()
            return entry.to_dict()

    def update(self, entry_id: int, raw: dict, actor: str) -> dict:
        values = clean_fields(raw)
        with Session(self.db_engine) as session:
            entry = self._get(session, entry_id)
            if entry.status == "retired":
                raise EditorialError("已停用的条目不能修改；请新建条目")
            before = entry.fields()
            for key, value in values.items():
                setattr(entry, key, value)
            after = entry.fields()
            changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
            if not changes:
                return entry.to_dict()
            entry.version += 1
            entry.updated_at = now()
            self._version(session, entry, "edit", actor, changes)
            audit.record(session, actor, "edit_entry", "qa_entry", entry.code, fields=sorted(changes))
            if entry.status == "published":  # a published entry changes in the index at once
                self.ingestor.put(self._source(entry), self._chunks(entry))
            session.commit()
            return entry.to_dict()

    def publish(self, entry_id: int, actor: str) -> dict:
        """Make the entry searchable now (or from its effective date) and close the gaps it answers."""
        with Session(self.db_engine) as session:
            entry = self._get(session, entry_id)
            if entry.status == "retired":
                raise EditorialError("已停用的条目不能发布；请新建条目")
            for text in (entry.question, entry.answer, *(entry.alternatives or [])):
                if found := suspicious(text):  # an official reply is given verbatim: it must not carry orders
                    raise EditorialError(f"条目中有疑似指令注入的内容（“{found}”），请修改后再发布")
            self.ingestor.put(self._source(entry), self._chunks(entry))
            entry.status, entry.published_at = "published", now()
            entry.version += 1
            self._version(session, entry, "publish", actor, {"status": ["draft", "published"]})
            # the gaps it was written for, and any others asked in one of its phrasings
            phrasings = [entry.question, *(entry.alternatives or [])]
            answered = or_(KnowledgeGap.id.in_(entry.gap_ids or []), KnowledgeGap.question.in_(phrasings))
            gaps = list(session.scalars(select(KnowledgeGap).where(answered, KnowledgeGap.status == "open")))
            for gap in gaps:
                gap.status, gap.entry_id, gap.closed_at = "answered", entry.id, now()
            audit.record(session, actor, "publish_entry", "qa_entry", entry.code, closed_gaps=[g.id for g in gaps])
            session.commit()
            return entry.to_dict()

    def retire(self, entry_id: int, actor: str, reason: str = "") -> dict:
        with Session(self.db_engine) as session:
            entry = self._get(session, entry_id)
            if entry.status == "retired":
                return entry.to_dict()
            self.ingestor.drop(self._source(entry))
            before = entry.status
            entry.status = "retired"
            entry.version += 1
            self._version(session, entry, "retire", actor, {"status": [before, "retired"], "reason": [None, reason]})
            audit.record(session, actor, "retire_entry", "qa_entry", entry.code, reason=reason)
            session.commit()
            return entry.to_dict()

    def get(self, entry_id: int) -> dict:
        with Session(self.db_engine) as session:
            entry = self._get(session, entry_id)
            versions = session.scalars(select(QAVersion).where(QAVersion.entry_id == entry_id).order_by(QAVersion.version))
            return {
                **entry.to_dict(),
                "versions": [
                    {"version": v.version, "action": v.action, "actor": v.actor, "at": v.at.isoformat(), "changes": v.changes}
                    for v in versions
                ],
            }

    def entries(self, status: str | None = None, limit: int = 500) -> list[dict]:
        query = select(QAEntry).order_by(QAEntry.updated_at.desc()).limit(limit)
        if status:
            query = query.where(QAEntry.status == status)
        with Session(self.db_engine) as session:
            return [e.to_dict() for e in session.scalars(query)]

    def warnings(self, on: dt.date | None = None) -> list[dict]:
        """Drafts for a policy that takes effect within one working day (or already has) and are not
        published: the district publishes such Q&A a working day before the policy takes effect."""
        on = on or today()
        horizon = add_working_days(on, 1)
        with Session(self.db_engine) as session:
            drafts = session.scalars(
                select(QAEntry).where(QAEntry.status == "draft", QAEntry.effective_from.is_not(None), QAEntry.effective_from <= horizon)
            )
            return [
                {
                    **e.to_dict(),
                    "message": f"政策将于 {e.effective_from.isoformat()} 生效，答复口径尚未发布"
                    + ("（已生效）" if e.effective_from <= on else ""),
                }
                for e in drafts
            ]

    def import_rows(self, rows: list[ImportRow], actor: str, publish: bool = False) -> list[dict]:
        """Create a draft (or publish) for every row without errors."""
        created = []
        for row in rows:
            if row.errors:
                continue
            entry = self.create({**row.fields, "source": row.fields.get("source") or "批量导入"}, actor)
            created.append(self.publish(entry["id"], actor) if publish else entry)
        return created

    def add_document(self, name: str, data: bytes, actor: str) -> dict:
        """Add an uploaded document to the knowledge base: stored under the data directory's uploads and
        ingested now. EditorialError for a type the loaders do not read, or a file they cannot."""
        name = Path(name).name  # the file's own name: an upload chooses no directory
        if Path(name).suffix.lower() not in SUPPORTED:
            raise EditorialError(f"不支持的文件类型；支持 {'、'.join(sorted(SUPPORTED))}")
        target = self.kb.settings.uploads_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        summary = self.ingestor.ingest([target])
        problems = [p.message for p in summary.problems]
        if summary.files_failed:
            target.unlink()
            raise EditorialError("；".join(problems) or "文件无法读取")
        audit.record_now(self.db_engine, actor, "upload_document", "document", name, chunks=summary.added + summary.updated)
        return {"file": name, "added": summary.added, "updated": summary.updated, "unchanged": summary.unchanged, "problems": problems}

    # --------------------------------------------------------------------------------------------

    def _get(self, session: Session, entry_id: int) -> QAEntry:
        entry = session.get(QAEntry, entry_id)
        if entry is None:
            raise EntryNotFound(entry_id)
        return entry

    def _version(self, session: Session, entry: QAEntry, action: str, actor: str, changes: dict) -> None:
        session.add(
            QAVersion(entry_id=entry.id, version=entry.version, action=action, actor=actor, changes=changes, snapshot=entry.fields())
        )

    @staticmethod
    def _source(entry: QAEntry) -> str:
        return f"editor://qa/{entry.code}"

    def _chunks(self, entry: QAEntry):
        record = {"id": entry.code, **entry.fields(), "version": entry.version}
        return qa_chunks(record, self._source(entry))
