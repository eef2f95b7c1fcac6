"""The audit log: who did what to which object, and when. Rows are written in the same transaction
as the action they describe, so an action and its audit entry are stored together or not at all."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, Engine, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from xiaobao.db import Base, now


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


def record(session: Session, /, actor: str, action: str, object_type: str, object_id: object, **detail) -> None:
    session.add(AuditEntry(actor=actor, action=action, object_type=object_type, object_id=str(object_id), detail=detail))


def entries(db_engine: Engine, limit: int = 200, actor: str | None = None, object_type: str | None = None) -> list[dict]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    with Session(db_engine) as session:
        return [
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "object_type": e.object_type,
                "object_id": e.object_id,
                "detail": e.detail,
            }
            for e in session.scalars(query)
        ]


def record_now(db_engine: Engine, actor: str, action: str, object_type: str, object_id: object, **detail) -> None:
    """An entry for an action that has no transaction of its own (e.g. an ingested upload)."""
    with Session(db_engine) as session:
        record(session, actor, action, object_type, object_id, **detail)
        session.commit()
