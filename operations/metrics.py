"""Service metrics over a period, optionally for one department or item, computed by aggregate
queries in the database (so they stay fast at millions of turns; see `xiaobao eval ops`).

Definitions (also in docs/OPERATIONS.md):
- questions: the citizens' messages; answers: Xiaobao's turns, by path;
- resolved by Xiaobao alone: a session with a question, no refusal or error, no hand-off and no
  不满意 rating; resolved with helpers: that, or a hand-off closed as resolved;
- first response: a hand-off's queued → first human reply;
- knowledge usage rate: the share of published Q&A entries cited at least once in the period.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Engine, Select, and_, case, distinct, func, select
from sqlalchemy.orm import Session

from xiaobao.assistant.store import Citation, Handoff, KnowledgeGap, Rating, Turn
from xiaobao.db import aware
from xiaobao.govdata.workdays import CHINA
from xiaobao.knowledge.base import KnowledgeBase

PATHS = ("verbatim", "generated", "quoted", "refused", "tool", "handoff", "greeting", "error")
FIRST_RESPONSE_BUCKETS = ((0, 15), (15, 30), (30, 60), (60, 120), (120, None))
OUTCOMES = ("resolved", "unresolved", "referred", "returned", "cancelled")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive
    department: str | None = None
    item: str | None = None

    @property
    def since(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), CHINA).astimezone(dt.UTC)

    @property
    def until(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), CHINA).astimezone(dt.UTC)

    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def as_dict(self) -> dict:
        """The period as reports show it."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "department": self.department, "item": self.item}


def handoff_stats(session: Session, query: Select | None = None, moment: dt.datetime | None = None) -> dict:
    """First responses (queued → first human reply) and outcomes of the hand-offs a query of
    (created_at, first_reply_at, closed_at, outcome) selects — all of them when none is given. Every
    hand-off counts: one still waiting, or ended without a helper's reply, after more than 60 s is a
    miss (one younger than that is not decided yet)."""
    query = query if query is not None else select(Handoff.created_at, Handoff.first_reply_at, Handoff.closed_at, Handoff.outcome)
    rows = session.execute(query).all()
    moment = moment or dt.datetime.now(dt.UTC)
    times = sorted((aware(reply) - aware(queued)).total_seconds() for queued, reply, _, _ in rows if reply is not None)
    unanswered = [
        ((aware(closed or moment) - aware(queued)).total_seconds(), closed is None) for queued, reply, closed, _ in rows if reply is None
    ]
    missed = sum(waited > 60 for waited, _ in unanswered)
    outcomes = {o: sum(r[3] == o for r in rows) for o in OUTCOMES}
    closed = sum(outcomes[o] for o in ("resolved", "unresolved", "referred"))
    return {
        "count": len(rows),
        "answered": len(times),
        "waiting": sum(still for _, still in unanswered),
        "waiting_over_60s": sum(still and waited > 60 for waited, still in unanswered),
        "first_response_p50_s": round(percentile(times, 50), 1) if times else None,
        "first_response_p95_s": round(percentile(times, 95), 1) if times else None,
        "within_60s": _share(sum(t <= 60 for t in times), len(times) + missed),
        "buckets": {
            (f"{lo}-{hi}s" if hi else f">{lo}s"): sum(lo <= t < hi if hi else t >= lo for t in times) for lo, hi in FIRST_RESPONSE_BUCKETS
        },
        "outcomes": outcomes,
        "helper_resolution_rate": _share(outcomes["resolved"], closed),
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class Metrics:
    def __init__(self, kb: KnowledgeBase, db_engine: Engine) -> None:
        self.kb = kb
        self.db_engine = db_engine

    def _answers(self, period: Period) -> Select:
        """Xiaobao's answers in the period (and department / item)."""
        query = select(Turn).where(Turn.role == "assistant", Turn.created_at >= period.since, Turn.created_at < period.until)
        if period.department:
            query = query.where(Turn.department == period.department)
        if period.item:
            query = query.where(Turn.item == period.item)
        return query

    def _sessions(self, period: Period):
        """Ids of the sessions with an answer in the period (and department / item)."""
        return self._answers(period).with_only_columns(Turn.session_id).distinct().scalar_subquery()

    def report(self, period: Period) -> dict:
        """The whole report. Its parts are independent reads, run side by side on their own
        connections (SQLite in WAL mode serves concurrent readers; the driver releases the GIL)."""
        with ThreadPoolExecutor(max_workers=3) as pool:
            cells = pool.submit(self._read, self._cells, period)
            resolution = pool.submit(self._read, self._resolution, period)
            knowledge = pool.submit(self._read, self._knowledge, period)
            sessions_by_day = pool.submit(self._read, self._sessions_by_day, period)
            rest = {name: pool.submit(self._read, getattr(self, f"_{name}"), period) for name in ("handoffs", "ratings", "gaps")}
            cells_, resolution_ = cells.result(), resolution.result()
            with Session(self.db_engine) as session:
                volume = self._volume(session, period, cells_, resolution_["sessions"])
                by_department = self._by_department(session, period, cells_)
            return {
                "period": period.as_dict(),
                **volume,
                "daily": self._daily(period, cells_, sessions_by_day.result()),
                "resolution": resolution_,
                **{name: future.result() for name, future in rest.items()},
                "knowledge": knowledge.result(),
                "by_department": by_department,
            }

    def _read(self, part, period: Period):
        with Session(self.db_engine) as session:
            return part(session, period)

    def _day(self, column):
        """The calendar day in China of a stored (UTC) time, in SQL: SQLite has no time zones."""
        if self.db_engine.dialect.name == "sqlite":
            return func.date(column, "+8 hours")
        return func.date(column + dt.timedelta(hours=8))

    def _cells(self, session: Session, period: Period) -> list[tuple[str, str | None, str | None, int]]:
        """Answers counted per (day, department, path): one pass over the covering index, a few
        thousand rows back, from which the volume, daily and per-department tables are summed."""
        answers = self._answers(period).subquery()
        day = self._day(answers.c.created_at).label("day")
        rows = session.execute(
            select(day, answers.c.department, answers.c.path, func.count()).group_by(day, answers.c.department, answers.c.path)
        )
        return [(str(d), dep, path, n) for d, dep, path, n in rows]

    def _volume(self, session: Session, period: Period, cells, sessions: int) -> dict:
        paths: dict[str, int] = {}
        for _day, _dep, path, n in cells:
            paths[path or ""] = paths.get(path or "", 0) + n
        if period.department or period.item:  # a question belongs to a department through the answer it got
            questions = sum(paths.values())
        else:
            questions = session.scalar(
                select(func.count())
                .select_from(Turn)
                .where(Turn.role == "user", Turn.created_at >= period.since, Turn.created_at < period.until)
            )
        return {
            "sessions": sessions,
            "questions": questions or 0,
            "answers": sum(paths.values()),
            "paths": {path: paths.get(path, 0) for path in PATHS} | {p: n for p, n in paths.items() if p not in PATHS and p},
        }

    def _sessions_by_day(self, session: Session, period: Period) -> dict[str, int]:
        answers = self._answers(period).subquery()
        day = self._day(answers.c.created_at).label("day")
        return {str(d): n for d, n in session.execute(select(day, func.count(distinct(answers.c.session_id))).group_by(day))}

    def _daily(self, period: Period, cells, sessions: dict[str, int]) -> list[dict]:
        totals: dict[str, dict[str, int]] = {}
        for d, _dep, path, n in cells:
            row = totals.setdefault(d, {})
            row[path] = row.get(path, 0) + n
        out = []
        for day_ in period.days():
            row = totals.get(day_.isoformat(), {})
            out.append(
                {
                    "date": day_.isoformat(),
                    "answers": sum(row.values()),
                    "sessions": sessions.get(day_.isoformat(), 0),
                    **{p: row.get(p, 0) for p in ("verbatim", "generated", "refused", "handoff")},
                }
            )
        return out

    def _resolution(self, session: Session, period: Period) -> dict:
        """Sessions answered in the period, those Xiaobao resolved alone (no refusal or error, no
        hand-off, no 不满意) and those a helper resolved: one aggregate over a per-session summary,
        so only three numbers leave the database."""
        answers = self._answers(period).subquery()
        failed = func.max(case((answers.c.path.in_(("refused", "error")), 1), else_=0)).label("failed")
        handed = func.max(case((answers.c.path == "handoff", 1), else_=0)).label("handed")
        sessions = select(answers.c.session_id, failed, handed).group_by(answers.c.session_id).subquery()
        unhappy = self._rated(period).where(Rating.value == "bad").with_only_columns(Turn.session_id)
        resolved = select(Handoff.session_id).where(
            Handoff.created_at >= period.since, Handoff.created_at < period.until, Handoff.outcome == "resolved"
        )
        alone_case = case((and_(sessions.c.failed == 0, sessions.c.handed == 0, sessions.c.session_id.not_in(unhappy)), 1), else_=0)
        asked, alone, helped = session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(alone_case), 0),
                func.coalesce(func.sum(case((sessions.c.session_id.in_(resolved), 1), else_=0)), 0),
            ).select_from(sessions)
        ).one()
        return {
            "sessions": asked,
            "xiaobao_alone": _share(alone, asked),
            "with_helpers": _share(alone + helped, asked),
        }

    def _rated(self, period: Period):
        """Ratings given in the period to answers that match the period's filters (driven from the
        ratings, which are few, rather than from the answers)."""
        # coalesce() keeps SQLite from scanning the turns index by role and makes it start from the
        # ratings' time index instead: thousands of rows rather than half the turns table
        query = (
            select(Rating, Turn.session_id, Turn.department)
            .join(Turn, Rating.turn_id == Turn.id)
            .where(Rating.created_at >= period.since, Rating.created_at < period.until, func.coalesce(Turn.role, "") == "assistant")
        )
        if period.department:
            query = query.where(Turn.department == period.department)
        if period.item:
            query = query.where(Turn.item == period.item)
        return query

    def _handoffs(self, session: Session, period: Period) -> dict:
        query = select(Handoff.created_at, Handoff.first_reply_at, Handoff.closed_at, Handoff.outcome).where(
            Handoff.created_at >= period.since, Handoff.created_at < period.until
        )
        if period.department or period.item:
            query = query.where(Handoff.session_id.in_(self._sessions(period)))
        return handoff_stats(session, query)

    def _ratings(self, session: Session, period: Period) -> dict:
        rated = self._rated(period).subquery()
        counts = dict(session.execute(select(rated.c.value, func.count()).group_by(rated.c.value)).all())
        good, bad = counts.get("good", 0), counts.get("bad", 0)
        comments = session.execute(
            select(rated.c.created_at, rated.c.value, rated.c.comment)
            .where(rated.c.comment.is_not(None), rated.c.comment != "")
            .order_by(rated.c.id.desc())
            .limit(20)
        ).all()
        return {
            "good": good,
            "bad": bad,
            "good_share": _share(good, good + bad),
            "bad_share": _share(bad, good + bad),
            "comments": [{"at": at.isoformat(), "value": value, "comment": comment} for at, value, comment in comments],
        }

    def _gaps(self, session: Session, period: Period) -> dict:
        today = dt.datetime.now(CHINA).date()
        open_q = select(func.count()).select_from(KnowledgeGap).where(KnowledgeGap.status == "open")
        in_period = and_(KnowledgeGap.created_at >= period.since, KnowledgeGap.created_at < period.until)
        answered = session.execute(
            select(KnowledgeGap.closed_at, KnowledgeGap.due_date).where(in_period, KnowledgeGap.status == "answered")
        ).all()
        on_time = sum(1 for closed, due in answered if due is None or closed.astimezone(CHINA).date() <= due) if answered else 0
        return {
            "open": session.scalar(open_q) or 0,
            "overdue": session.scalar(open_q.where(KnowledgeGap.due_date < today)) or 0,
            "filed": session.scalar(select(func.count()).select_from(KnowledgeGap).where(in_period)) or 0,
            "answered": len(answered),
            "answered_on_time": _share(on_time, len(answered)),
        }

    def _knowledge(self, session: Session, period: Period) -> dict:
        published = self.kb.index.facet("group", ["qa"])
        cited = set(
            session.scalars(
                select(Citation.group)
                .distinct()
                .join(Turn, Citation.turn_id == Turn.id)
                .where(Turn.role == "assistant", Turn.created_at >= period.since, Turn.created_at < period.until, Citation.doc_type == "qa")
            )
        )
        used = cited & set(published)
        never = sorted(set(published) - used)
        return {
            "published_qa": len(published),
            "used_qa": len(used),
            "usage_rate": _share(len(used), len(published)),
            "never_used": [group.removeprefix("qa:") for group in never[:100]],
            "size_by_type": self.kb.index.facet("doc_type"),
        }

    def _by_department(self, session: Session, period: Period, cells) -> list[dict]:
        rated = self._rated(period).subquery()
        ratings = session.execute(select(rated.c.department, rated.c.value, func.count()).group_by(rated.c.department, rated.c.value)).all()
        rows: dict[str | None, dict] = {}
        for _day, department, path, n in cells:
            row = rows.setdefault(department, dict.fromkeys(("answers", "verbatim", "generated", "refused", "tool", "good", "bad"), 0))
            row["answers"] += n
            if path in row:
                row[path] += n
        for department, value, n in ratings:
            if department in rows and value in ("good", "bad"):
                rows[department][value] += n
        ordered = sorted(rows.items(), key=lambda item: -item[1]["answers"])
        return [{"department": department or "（未归属）", **row} for department, row in ordered]
