"""What the dialogue keeps: sessions, turns, citations, tool calls, ratings, knowledge gaps,
hand-offs, and the applications whose progress citizens ask about."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from xiaobao.assistant.citations import scrub_ids
from xiaobao.db import Base, now
from xiaobao.govdata.workdays import add_working_days, china_date

GAP_WORKING_DAYS = 5  # every unanswered question gets an official reply within 5 working days


def gap_due_date() -> dt.date:
    return add_working_days(china_date(now()), GAP_WORKING_DAYS)


class ChatSession(Base):
    __tablename__ = "chat_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    # the identified citizen or enterprise (from the portal's login); None for anonymous sessions
    user_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    # how the server knows who it is: "credential" (a verified ID token) or "demo" (a sample identity,
    # honoured only in demo mode); None: anonymous, whatever user_ref an older version stored
    identity: Mapped[str | None] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20), default="web")
    # bot: Xiaobao answers | queued: waiting for a helper | human: a helper holds it (Xiaobao is silent)
    status: Mapped[str] = mapped_column(String(20), default="bot", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)
    turns: Mapped[list[Turn]] = relationship(back_populates="session", order_by="Turn.id")


class Turn(Base):
    __tablename__ = "turns"
    # the operations report scans a period's answers: this index holds every column it reads, so
    # the scan never touches the rows (which carry the text)
    __table_args__ = (Index("ix_turns_report", "role", "created_at", "path", "department", "session_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_sessions.id"), index=True)
    role: Mapped[str] = mapped_column(String(10))  # user | assistant | helper | system (notices)
    text: Mapped[str] = mapped_column(Text)
    # assistant turns: verbatim | generated | refused | tool | greeting | handoff | error; helper turns: human
    path: Mapped[str | None] = mapped_column(String(20), index=True)
    intent: Mapped[str | None] = mapped_column(String(20))
    label: Mapped[str | None] = mapped_column(String(40))  # 官方答复 / AI 生成 (GB 45438-2025)
    # what the answer was about, from its first citation or tool: operations count per department and item
    department: Mapped[str | None] = mapped_column(String(100), index=True)
    item: Mapped[str | None] = mapped_column(String(200))
    flags: Mapped[dict] = mapped_column(JSON, default=dict)  # e.g. {"pii": ["phone"]}
    ttft_ms: Mapped[float | None]
    total_ms: Mapped[float | None]
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    session: Mapped[ChatSession] = relationship(back_populates="turns")
    citations: Mapped[list[Citation]] = relationship(order_by="Citation.number", cascade="all, delete-orphan")
    tool_calls: Mapped[list[ToolCall]] = relationship(cascade="all, delete-orphan")


class Citation(Base):
    __tablename__ = "citations"
    # a turn's citations, and which knowledge units a period cited, both from this index alone
    __table_args__ = (Index("ix_citations_turn_cover", "turn_id", "doc_type", "group"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id"))
    number: Mapped[int] = mapped_column(Integer)
    citation: Mapped[str] = mapped_column(String(500))
    group: Mapped[str] = mapped_column(String(500), index=True)  # the knowledge unit, for usage statistics
    doc_type: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)


class ToolCall(Base):
    __tablename__ = "tool_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    arguments: Mapped[dict] = mapped_column(JSON)
    result: Mapped[dict] = mapped_column(JSON)
    ok: Mapped[bool] = mapped_column(Boolean)


class Rating(Base):
    __tablename__ = "ratings"
    __table_args__ = (Index("ix_ratings_created", "created_at", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id"), index=True)
    value: Mapped[str] = mapped_column(String(10))  # good | bad
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)


class KnowledgeGap(Base):
    """A question Xiaobao or a helper could not answer; closed when a published Q&A entry answers it."""

    __tablename__ = "knowledge_gaps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_sessions.id"), index=True)
    turn_id: Mapped[int | None] = mapped_column(ForeignKey("turns.id"))
    question: Mapped[str] = mapped_column(Text)
    # no_evidence | judged_unanswerable | unsupported_answer | answer_cut | low_confidence | rated_bad | helper_unresolved
    reason: Mapped[str] = mapped_column(String(40))
    trace: Mapped[dict] = mapped_column(JSON)  # what retrieval found, with scores
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)  # open | answered | dismissed
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    due_date: Mapped[dt.date | None] = mapped_column(default=gap_due_date)  # Chinese working days
    entry_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the Q&A entry that answers it
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Handoff(Base):
    """One hand-off of a session to the human helpers, from queued to closed."""

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_sessions.id"), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    evidence: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)  # queued | claimed | closed
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    helper: Mapped[str | None] = mapped_column(String(64), index=True)  # username of the helper holding it
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    first_reply_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # resolved | unresolved | referred | returned (to Xiaobao)
    outcome: Mapped[str | None] = mapped_column(String(20), index=True)
    requeued: Mapped[int | None] = mapped_column(Integer, default=0)  # times returned to the queue (helper offline)


def turn_dict(turn: Turn) -> dict:
    """A turn as the citizen's chat, the API and the helper console show it."""
    return {
        "turn_id": turn.id,
        "role": turn.role,
        "text": turn.text,
        "path": turn.path,
        "label": turn.label,
        "helper": (turn.flags or {}).get("helper"),
        "created_at": turn.created_at.isoformat(),
        "citations": [
            {
                "number": c.number,
                "citation": c.citation,
                "text": c.text,
                "entry": (turn.flags or {}).get("entries", {}).get(str(c.number)),
                "version_date": (turn.flags or {}).get("versions", {}).get(str(c.number)),
            }
            for c in turn.citations
        ],
    }


def official_entry(payload: dict) -> dict:
    """What a citation of an official reply (答复口径) shows instead of the entry's internal id: its
    question, issuing department, effective date, version and link (those the entry has)."""
    effective = payload.get("effective_from")  # YYYYMMDD in the index
    return {
        "question": payload.get("question"),
        "department": payload.get("department"),
        "effective_from": f"{effective // 10000}-{effective // 100 % 100:02d}-{effective % 100:02d}" if effective else None,
        "version": payload.get("version"),
        "url": payload.get("url"),
    }


def cited_as(citation: str, entry: dict | None) -> str:
    """A source as a citizen reads it (the sources line while the model writes, the API's 出处, the chat's
    citations): an official reply (答复口径) by its entry's question and department, never the bare label
    or its id; any other source by its citation without internal ids."""
    if entry:
        return f"答复口径：{entry.get('question') or '（未登记问题）'}" + (f"（{entry['department']}）" if entry.get("department") else "")
    return scrub_ids(citation) or citation


def add_notice(session: Session, session_id: str, text: str) -> Turn:
    """A system notice in the citizen's chat (a helper joined, the session went back to Xiaobao…)."""
    turn = Turn(session_id=session_id, role="system", text=text, path="notice")
    session.add(turn)
    return turn
