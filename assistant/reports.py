"""办不成事 (“a matter I could not get done”): a citizen reports it from the chat or a form, gets a
tracking number, an operator assigns and closes it with a result, and the citizen looks it up."""

from __future__ import annotations

import datetime as dt
import re
import secrets

from sqlalchemy import DateTime, Engine, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from xiaobao.assistant.guard import mask
from xiaobao.db import Base, now
from xiaobao.govdata.workdays import CHINA
from xiaobao.identity import audit

# BCS, the date, then 12 random characters from an alphabet without look-alikes (no 0/O, 1/I/L, U):
# 30^12 ≈ 5·10^17 numbers a day, so a number cannot be guessed (the first format, 4 hex characters,
# gave 65,536 a day; numbers issued in it are still looked up)
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_CHARS = 12
TRACKING = re.compile(rf"BCS\d{{8}}(?:[{ALPHABET}]{{{RANDOM_CHARS}}}|[0-9A-F]{{4}})")
STATUS_NAMES = {"submitted": "已受理", "assigned": "处理中", "closed": "已办结"}


class IssueReport(Base):
    __tablename__ = "issue_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracking_no: Mapped[str] = mapped_column(String(32), unique=True)
    session_id: Mapped[str | None] = mapped_column(String(36), index=True)
    description: Mapped[str] = mapped_column(Text)
    item: Mapped[str | None] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(100))  # kept for the operator, never shown in a lookup
    status: Mapped[str] = mapped_column(String(20), default="submitted", index=True)  # submitted | assigned | closed
    assignee: Mapped[str | None] = mapped_column(String(100))  # a department or a person
    result: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    assigned_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


def new_tracking_no() -> str:
    return f"BCS{dt.datetime.now(CHINA):%Y%m%d}" + "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_CHARS))


def normalise_tracking_no(text: str | None) -> str:
    """As typed or copied: any case, with spaces or hyphens between the characters."""
    return re.sub(r"[\s\-‐-―－]+", "", text or "").upper()


class ReportError(ValueError):
    """The text says what is wrong, in Chinese."""


class ReportNotFound(LookupError):
    pass


def public_view(report: IssueReport) -> dict:
    """What the citizen sees when looking a report up: no contact details."""
    return {
        "tracking_no": report.tracking_no,
        "status": report.status,
        "status_name": STATUS_NAMES[report.status],
        "item": report.item,
        "created_at": report.created_at.isoformat(),
        "result": report.result,
        "closed_at": report.closed_at.isoformat() if report.closed_at else None,
    }


def full_view(report: IssueReport) -> dict:
    return {
        **public_view(report),
        "id": report.id,
        "description": report.description,
        "contact": report.contact,
        "assignee": report.assignee,
        "session_id": report.session_id,
        "assigned_at": report.assigned_at.isoformat() if report.assigned_at else None,
    }


class Reports:
    def __init__(self, db_engine: Engine) -> None:
        self.db_engine = db_engine

    def submit(self, description: str, contact: str | None = None, item: str | None = None, session_id: str | None = None) -> dict:
        description = (description or "").strip()
        if len(description) < 5:
            raise ReportError("请说明没有办成的事情（至少 5 个字）")
        if len(description) > 2000:
            raise ReportError("情况说明不能超过 2000 字")
        with Session(self.db_engine) as session:
            tracking = new_tracking_no()
            report = IssueReport(
                tracking_no=tracking,
                session_id=session_id,
                description=mask(description),  # personal numbers are not needed to follow a matter up
                item=(item or "").strip()[:200] or None,
                contact=(contact or "").strip()[:100] or None,
            )
            session.add(report)
            session.commit()
            return public_view(report)

    def lookup(self, tracking_no: str) -> dict:
        with Session(self.db_engine) as session:
            return public_view(self._get(session, tracking_no))

    def list(self, status: str | None = None, limit: int = 500) -> list[dict]:
        query = select(IssueReport).order_by(IssueReport.id.desc()).limit(limit)
        if status:
            query = query.where(IssueReport.status == status)
        with Session(self.db_engine) as session:
            return [full_view(r) for r in session.scalars(query)]

    def assign(self, tracking_no: str, assignee: str, actor: str) -> dict:
        assignee = (assignee or "").strip()
        if not assignee:
            raise ReportError("请填写承办部门或人员")
        with Session(self.db_engine) as session:
            report = self._get(session, tracking_no)
            if report.status == "closed":
                raise ReportError("这件事已办结")
            report.status, report.assignee, report.assigned_at = "assigned", assignee[:100], now()
            audit.record(session, actor, "assign_report", "report", tracking_no, to=assignee)
            session.commit()
            return full_view(report)

    def close(self, tracking_no: str, result: str, actor: str) -> dict:
        result = (result or "").strip()
        if not result:
            raise ReportError("请填写办理结果")
        with Session(self.db_engine) as session:
            report = self._get(session, tracking_no)
            report.status, report.result, report.closed_at = "closed", result[:2000], now()
            audit.record(session, actor, "close_report", "report", tracking_no)
            session.commit()
            return full_view(report)

    @staticmethod
    def _get(session: Session, tracking_no: str) -> IssueReport:
        report = session.scalar(select(IssueReport).where(IssueReport.tracking_no == normalise_tracking_no(tracking_no)))
        if report is None:
            raise ReportNotFound(tracking_no)
        return report
