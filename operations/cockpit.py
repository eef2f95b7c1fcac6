"""The operations cockpit (数据驾驶舱): the plan's promises — application time, on-time completion,
online handling, prefill, first-time success, helper resolution, hand-off first response, knowledge
size and usage — measured per department and per item against their targets, and a per-department
service index (政务服务指数). Formulas and data sources: docs/OPERATIONS.md.

A year of a district's traffic (a million turns a month) is too much to scan per request, so the
figures are summed from daily pre-aggregates (`ops_daily`, `ops_daily_citations`), which `refresh`
fills incrementally; days after the last refresh (normally only today) are computed live from the
turns and hand-offs. Cases count from the stored days only (T+1, as a case system's daily sync): their
progress is JSON read case by case, which a request cannot afford over a year's cases.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Date, Engine, Float, Index, Integer, String, Text, case, cast, delete, distinct, func, insert, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from xiaobao.assistant.store import Citation, Handoff, ToolCall, Turn
from xiaobao.db import Base, aware, now
from xiaobao.govdata.records import Application, GovRecord
from xiaobao.govdata.workdays import CHINA
from xiaobao.knowledge.base import KnowledgeBase
from xiaobao.operations.metrics import Period

# late facts (a hand-off closed the next day, a case system that syncs late) land within this many
# days: every refresh recomputes them
REOPEN_DAYS = 7
FEW_DAYS = 8  # computing fewer days than this, cases are picked by the days their timeline names
UNASSIGNED = ""  # department or item not known (statutes, answers without a citation): shown 未归属


@dataclass(frozen=True)
class Target:
    label: str
    target: float
    higher_is_better: bool
    unit: str  # "%" for a share (0–1), else the unit of the number
    source: str  # where the figure comes from, in words
    strict: bool = False  # the promise is "more than" (> 70 %), not "at least"

    def met(self, value: float | None) -> bool | None:
        if value is None:
            return None
        if self.higher_is_better:
            return value > self.target if self.strict else value >= self.target
        return value <= self.target

    def score(self, value: float) -> float:
        """How much of the promise a value keeps, 0–1: value / target (target / value for times)."""
        if self.higher_is_better:
            return min(1.0, value / self.target)
        return 1.0 if value <= 0 else min(1.0, self.target / value)


TARGETS = {
    "application_minutes": Target("平均申请时长", 20, False, "分钟", "办件时间线：开始填报 → 提交"),
    "on_time": Target("承诺时限内办结率", 1.0, True, "%", "办件：办结日 ≤ 承诺办结日"),
    "online": Target("网上办理率", 0.9, True, "%", "办件：申请渠道（网上 / 窗口）"),
    "prefill": Target("表单预填比例", 0.7, True, "%", "小宝的预填：政府数据填上的字段 / 表单字段", strict=True),
    "first_time": Target("一次办成率", 0.9, True, "%", "办结的办件中没有补正、退回的", strict=True),
    "helper_resolution": Target("帮办解决率", 0.9, True, "%", "转人工：已解决 / (已解决 + 未解决 + 转办)", strict=True),
    "first_response": Target("转人工 1 分钟内响应率", 1.0, True, "%", "转人工：1 分钟内有人回复的"),
    "kb_size": Target("知识库条目", 20000, True, "条", "索引：知识单元（问答、指南章节、法条、文档段落）", strict=True),
    "kb_usage": Target("知识使用率", 0.9, True, "%", "已发布问答中本期被引用过的"),
}
# the service index weighs a department's own figures; the knowledge base is the district's, not a department's
INDEX_KEYS = ("application_minutes", "on_time", "online", "prefill", "first_time", "helper_resolution", "first_response")

COUNTERS = (
    "answers", "sessions", "verbatim", "generated", "refused", "tool",
    "prefills", "prefill_fields", "prefill_filled",
    "handoffs", "handoffs_answered", "handoffs_within_60s", "handoffs_missed", "handoffs_resolved", "handoffs_closed",
    "applications", "apps_channel_known", "apps_online", "apps_timed", "apply_minutes",
    "completed", "completed_first_time", "completed_with_promise", "completed_on_time",
)  # fmt: skip


class DailyFigures(Base):
    """What happened on one day (China time) for one department and item: counts the cockpit sums."""

    __tablename__ = "ops_daily"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    department: Mapped[str] = mapped_column(String(100), primary_key=True)
    item: Mapped[str] = mapped_column(String(200), primary_key=True)
    answers: Mapped[int] = mapped_column(Integer, default=0)
    sessions: Mapped[int] = mapped_column(Integer, default=0)  # a session over midnight counts on both days
    verbatim: Mapped[int] = mapped_column(Integer, default=0)
    generated: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    tool: Mapped[int] = mapped_column(Integer, default=0)
    prefills: Mapped[int] = mapped_column(Integer, default=0)
    prefill_fields: Mapped[int] = mapped_column(Integer, default=0)
    prefill_filled: Mapped[int] = mapped_column(Integer, default=0)
    handoffs: Mapped[int] = mapped_column(Integer, default=0)
    handoffs_answered: Mapped[int] = mapped_column(Integer, default=0)  # a human replied
    handoffs_within_60s: Mapped[int] = mapped_column(Integer, default=0)
    handoffs_missed: Mapped[int] = mapped_column(Integer, default=0)  # no human reply within 60 s
    handoffs_resolved: Mapped[int] = mapped_column(Integer, default=0)
    handoffs_closed: Mapped[int] = mapped_column(Integer, default=0)  # resolved, unresolved or referred
    applications: Mapped[int] = mapped_column(Integer, default=0)  # submitted that day
    apps_channel_known: Mapped[int] = mapped_column(Integer, default=0)
    apps_online: Mapped[int] = mapped_column(Integer, default=0)
    apps_timed: Mapped[int] = mapped_column(Integer, default=0)  # with a start of filling in the timeline
    apply_minutes: Mapped[float] = mapped_column(Float, default=0.0)  # their minutes, summed
    completed: Mapped[int] = mapped_column(Integer, default=0)  # completed that day
    completed_first_time: Mapped[int] = mapped_column(Integer, default=0)
    completed_with_promise: Mapped[int] = mapped_column(Integer, default=0)
    completed_on_time: Mapped[int] = mapped_column(Integer, default=0)


class DailyCitations(Base):
    """Q&A entries cited on a day: the usage rate of a period is a count of distinct entries, which
    daily counts cannot be summed into."""

    __tablename__ = "ops_daily_citations"
    # "was this entry cited in the period": one seek per entry, not a scan of the period's rows
    __table_args__ = (Index("ix_ops_daily_citations_group_day", "group", "day"),)

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    group: Mapped[str] = mapped_column(String(500), primary_key=True)
    cited: Mapped[int] = mapped_column(Integer, default=0)


class CitedEntry(Base):
    """Every Q&A entry ever cited (a few ten thousand rows): the usage query asks, entry by entry,
    whether the daily citations hold it in the period."""

    __tablename__ = "ops_cited_entries"

    group: Mapped[str] = mapped_column(String(500), primary_key=True)


class AggregatedThrough(Base):
    """The last day the daily tables hold complete (one row)."""

    __tablename__ = "ops_aggregated"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    through: Mapped[dt.date] = mapped_column(Date)


# applications -------------------------------------------------------------------------------------

ONLINE_WORDS = ("网上", "线上", "网办", "一网通办", "随申办", "小程序", "掌上", "自助")
WINDOW_WORDS = ("窗口", "现场", "大厅")
START_WORDS = ("开始填报", "开始申请")
SUBMIT_WORDS = ("提交", "申请")
CORRECTION_WORDS = ("补正", "退回", "不予受理", "驳回")
DONE_WORDS = ("办结", "审核通过", "已发证", "已完成")


def _kind(event: dict) -> str | None:
    """What a timeline event is: its `kind` when the case system gives one (started | submitted |
    correction | completed), else read from its words."""
    if event.get("kind"):
        return event["kind"]
    text = event.get("event", "")
    for kind, words in (("started", START_WORDS), ("correction", CORRECTION_WORDS), ("completed", DONE_WORDS), ("submitted", SUBMIT_WORDS)):
        if any(w in text for w in words):
            return kind
    return None


def _channel(event: dict) -> bool | None:
    """Online (True), at a window (False) or not said (None), from the submission event."""
    if event.get("channel"):
        return event["channel"] == "online"
    text = event.get("event", "")
    return True if any(w in text for w in ONLINE_WORDS) else False if any(w in text for w in WINDOW_WORDS) else None


# what the cockpit reads of a case (not its form data): columns, not objects, for speed
CASE_COLUMNS = select(Application.item, Application.item_id, Application.status, Application.timeline, Application.promised_date)


def application_facts(app) -> dict:
    """The cockpit's facts of one case, from its timeline: submitted (first event that is not the
    start of filling in) and its channel; minutes from starting to fill in to submitting; completed
    (an event saying so, or the last event of a case whose status is 已办结), first time (no
    correction or return before), on time (completed by the promised date)."""
    events = sorted(
        ((dt.datetime.fromisoformat(e["at"]), e) for e in (app.timeline or []) if isinstance(e, dict) and e.get("at")),
        key=lambda pair: pair[0],
    )
    if not events:
        return {}
    kinds = [_kind(e) for _, e in events]
    started = next((at for (at, _), k in zip(events, kinds, strict=True) if k == "started"), None)
    submitted_at, submitted = next(((at, e) for (at, e), k in zip(events, kinds, strict=True) if k != "started"), events[0])
    done = next((at for (at, _), k in zip(events, kinds, strict=True) if k == "completed"), None)
    if done is None and app.status == "已办结":
        done = events[-1][0]
    facts = {"submitted": submitted_at, "online": _channel(submitted)}
    if started is not None and started <= submitted_at:
        facts["minutes"] = (submitted_at - started).total_seconds() / 60
    if done is not None:
        facts["completed"] = done
        facts["first_time"] = not any(k == "correction" for (at, _), k in zip(events, kinds, strict=True) if at <= done)
        if app.promised_date:
            facts["on_time"] = done.astimezone(CHINA).date() <= app.promised_date
    return facts


# aggregation ----------------------------------------------------------------------------------------


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return Period(start, end).since, Period(start, end).until


def _china_day(moment: dt.datetime) -> dt.date:
    return aware(moment).astimezone(CHINA).date()


class Cockpit:
    def __init__(self, kb: KnowledgeBase, db_engine: Engine) -> None:
        self.kb = kb
        self.db_engine = db_engine

    def _day(self, column):
        """The calendar day in China of a stored (UTC) time, in SQL."""
        if self.db_engine.dialect.name == "sqlite":
            return func.date(column, "+8 hours")
        return func.date(column + dt.timedelta(hours=8))

    # the daily figures of a range of days, computed from the source tables ---------------------------

    def compute(self, session: Session, start: dt.date, end: dt.date, cases: bool = True) -> tuple[dict, dict]:
        """({(day, department, item): {counter: n}}, {(day, group): times cited}) for the days; the
        cases' figures only with `cases`."""
        since, until = _bounds(start, end)
        cells: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
        self._answers(session, since, until, cells)
        self._prefills(session, since, until, cells)
        self._handoffs(session, since, until, cells)
        if cases:
            self._applications(session, start, end, cells)
        return cells, self._citations(session, since, until)

    def _answers(self, session: Session, since, until, cells) -> None:
        day = self._day(Turn.created_at)
        counts = [func.sum(case((Turn.path == p, 1), else_=0)) for p in ("verbatim", "generated", "refused", "tool")]
        rows = session.execute(
            select(day, Turn.department, Turn.item, func.count(), func.count(distinct(Turn.session_id)), *counts)
            .where(Turn.role == "assistant", Turn.created_at >= since, Turn.created_at < until)
            .group_by(day, Turn.department, Turn.item)
        )
        for d, dep, item, answers, sessions, *paths in rows:
            cell = cells[(dt.date.fromisoformat(str(d)), dep or UNASSIGNED, item or UNASSIGNED)]
            cell["answers"] += answers
            cell["sessions"] += sessions
            for name, n in zip(("verbatim", "generated", "refused", "tool"), paths, strict=True):
                cell[name] += n or 0

    def _prefills(self, session: Session, since, until, cells) -> None:
        rows = session.execute(
            select(Turn.created_at, Turn.department, Turn.item, ToolCall.result)
            .join(Turn, ToolCall.turn_id == Turn.id)
            .where(ToolCall.name == "prefill_form", ToolCall.ok.is_(True), Turn.created_at >= since, Turn.created_at < until)
        )
        for at, dep, item, result in rows:
            fields = result.get("fields") or []
            cell = cells[(_china_day(at), dep or result.get("department") or UNASSIGNED, item or result.get("item") or UNASSIGNED)]
            cell["prefills"] += 1
            cell["prefill_fields"] += len(fields)
            cell["prefill_filled"] += sum(f.get("value") is not None for f in fields)

    def _handoffs(self, session: Session, since, until, cells) -> None:
        """Hand-offs by the day they were asked for, under the department and item of the session's
        last attributed answer before them (one query for the hand-offs, one per 500 of their sessions)."""
        handoffs = session.execute(
            select(Handoff.session_id, Handoff.created_at, Handoff.first_reply_at, Handoff.closed_at, Handoff.outcome).where(
                Handoff.created_at >= since, Handoff.created_at < until
            )
        ).all()
        answers: dict[str, list] = defaultdict(list)
        ids = sorted({h.session_id for h in handoffs})
        for i in range(0, len(ids), 500):
            for sid, at, dep, item in session.execute(
                select(Turn.session_id, Turn.created_at, Turn.department, Turn.item)
                .where(Turn.session_id.in_(ids[i : i + 500]), Turn.role == "assistant", Turn.department.is_not(None))
                .order_by(Turn.id)
            ):
                answers[sid].append((aware(at), dep, item))
        moment = now()
        for sid, created, reply, closed, outcome in handoffs:
            created = aware(created)
            before = [a for a in answers[sid] if a[0] <= created]
            _, dep, item = before[-1] if before else (None, None, None)
            cell = cells[(_china_day(created), dep or UNASSIGNED, item or UNASSIGNED)]
            cell["handoffs"] += 1
            if reply is not None:
                cell["handoffs_answered"] += 1
                cell["handoffs_within_60s"] += (aware(reply) - created).total_seconds() <= 60
            elif (aware(closed or moment) - created).total_seconds() > 60:
                cell["handoffs_missed"] += 1
            cell["handoffs_resolved"] += outcome == "resolved"
            cell["handoffs_closed"] += outcome in ("resolved", "unresolved", "referred")

    def _applications(self, session: Session, start: dt.date, end: dt.date, cells) -> None:
        """Cases by the day they were submitted (channel, time to apply) and the day they were
        completed (first time, on time). The timeline is JSON, read here, case by case."""
        departments = self._item_departments(session)
        query = CASE_COLUMNS
        if (end - start).days < FEW_DAYS:  # the hourly refresh of the last days: only cases whose timeline names them
            # (a time written in UTC names the day before from 16:00; anything more found is only parsed)
            days = [f'"{(start + dt.timedelta(days=i)).isoformat()}' for i in range((end - start).days + 1)]
            evenings = [f'"{(start - dt.timedelta(days=1)).isoformat()}T{hour}' for hour in range(16, 24)]
            query = query.where(or_(*(cast(Application.timeline, Text).contains(text) for text in days + evenings)))
        for app in session.execute(query):
            facts = application_facts(app)
            if not facts:
                continue
            key = (departments.get(app.item_id or "", UNASSIGNED), app.item or UNASSIGNED)
            submitted = _china_day(facts["submitted"])
            if start <= submitted <= end:
                cell = cells[(submitted, *key)]
                cell["applications"] += 1
                if facts["online"] is not None:
                    cell["apps_channel_known"] += 1
                    cell["apps_online"] += facts["online"]
                if "minutes" in facts:
                    cell["apps_timed"] += 1
                    cell["apply_minutes"] += facts["minutes"]
            if "completed" in facts and start <= (done := _china_day(facts["completed"])) <= end:
                cell = cells[(done, *key)]
                cell["completed"] += 1
                cell["completed_first_time"] += facts["first_time"]
                if "on_time" in facts:
                    cell["completed_with_promise"] += 1
                    cell["completed_on_time"] += facts["on_time"]

    @staticmethod
    def _item_departments(session: Session) -> dict[str, str]:
        return {ref: (data or {}).get("department") or UNASSIGNED for ref, data in session.execute(
            select(GovRecord.ref, GovRecord.data).where(GovRecord.kind == "item"))}  # fmt: skip

    def _citations(self, session: Session, since, until) -> dict[tuple[dt.date, str], int]:
        day = self._day(Turn.created_at)
        rows = session.execute(
            select(day, Citation.group, func.count())
            .join(Turn, Citation.turn_id == Turn.id)
            .where(Turn.role == "assistant", Turn.created_at >= since, Turn.created_at < until, Citation.doc_type == "qa")
            .group_by(day, Citation.group)
        )
        return {(dt.date.fromisoformat(str(d)), group): n for d, group, n in rows}

    # the stored daily figures -----------------------------------------------------------------------

    def refresh(self, today: dt.date | None = None, chunk_days: int = 31) -> dict:
        """Store the daily figures of the complete days not stored yet (through yesterday), and
        recompute the last REOPEN_DAYS stored ones. Returns the days written and how long it took.
        Each chunk of days is read first and written after in a short transaction of its own, so the
        service's writes never wait on the reading (SQLite has one writer)."""
        started = now()
        today = today or dt.datetime.now(CHINA).date()
        end = today - dt.timedelta(days=1)
        with Session(self.db_engine) as session:
            stored = session.scalar(select(AggregatedThrough.through).where(AggregatedThrough.id == 1))
            start = stored - dt.timedelta(days=REOPEN_DAYS - 1) if stored else self._first_day(session, end)
            session.commit()
            day = start
            while day <= end:
                last = min(end, day + dt.timedelta(days=chunk_days - 1))
                cells, cited = self.compute(session, day, last)
                session.commit()  # the reading ends here; the writing below is short
                self._store(session, day, last, cells, cited)
                day = last + dt.timedelta(days=1)
            self._store(session, end, end, None, None)  # a refresh of no new day still records how far it looked
        return {"from": start.isoformat(), "through": end.isoformat(), "seconds": round((now() - started).total_seconds(), 2)}

    def _store(self, session: Session, first: dt.date, last: dt.date, cells: dict | None, cited: dict | None) -> None:
        """Replace the stored figures of the days (none: only move the mark) and commit."""
        if cells is not None:
            known = set(session.scalars(select(CitedEntry.group))) if cited else set()
            session.execute(delete(DailyFigures).where(DailyFigures.day >= first, DailyFigures.day <= last))
            session.execute(delete(DailyCitations).where(DailyCitations.day >= first, DailyCitations.day <= last))
            if cells:
                session.execute(insert(DailyFigures), [{"day": d, "department": dep, "item": it, **c} for (d, dep, it), c in cells.items()])
            if cited:
                session.execute(insert(DailyCitations), [{"day": d, "group": g, "cited": n} for (d, g), n in cited.items()])
                if new := {g for _, g in cited} - known:
                    session.execute(insert(CitedEntry), [{"group": g} for g in sorted(new)])
        state = session.get(AggregatedThrough, 1)
        if state is None:
            session.add(AggregatedThrough(id=1, through=last))
        else:
            state.through = max(state.through, last)
        session.commit()

    def _first_day(self, session: Session, end: dt.date) -> dt.date:
        """The first day anything happened: the first answer, or the first case submitted."""
        first = [_china_day(t) for t in (session.scalar(select(func.min(Turn.created_at))),) if t is not None]
        first += [_china_day(f["submitted"]) for app in session.execute(CASE_COLUMNS) if (f := application_facts(app))]
        return min(first, default=end + dt.timedelta(days=1))

    def through(self) -> dt.date | None:
        with Session(self.db_engine) as session:
            return session.scalar(select(AggregatedThrough.through).where(AggregatedThrough.id == 1))

    # the report ------------------------------------------------------------------------------------

    def report(self, period: Period) -> dict:
        """Every figure for the period against its promise: the district, each department (with its
        service index) and each item; stored days summed in the database, later days computed (cases:
        stored days only)."""
        totals: dict[tuple[str, str], dict] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
        with Session(self.db_engine) as session:
            through = session.scalar(select(AggregatedThrough.through).where(AggregatedThrough.id == 1))
            stored_end = min(period.end, through) if through else None
            cited: set[str] = set()
            if stored_end and stored_end >= period.start:
                in_days = (DailyFigures.day >= period.start, DailyFigures.day <= stored_end)
                query = select(DailyFigures.department, DailyFigures.item, *(func.sum(getattr(DailyFigures, c)) for c in COUNTERS))
                query = query.where(*in_days).group_by(DailyFigures.department, DailyFigures.item)
                if period.department:
                    query = query.where(DailyFigures.department == period.department)
                if period.item:
                    query = query.where(DailyFigures.item == period.item)
                for dep, item, *sums in session.execute(query):
                    totals[(dep, item)] = dict(zip(COUNTERS, (s or 0 for s in sums), strict=True))
                in_period = (
                    select(DailyCitations.day)
                    .where(DailyCitations.group == CitedEntry.group, DailyCitations.day >= period.start, DailyCitations.day <= stored_end)
                    .exists()
                )
                cited = set(session.scalars(select(CitedEntry.group).where(in_period)))
            live_start = max(period.start, through + dt.timedelta(days=1)) if through else period.start
            if live_start <= period.end:
                cells, live_cited = self.compute(session, live_start, period.end, cases=False)
                for (_, dep, item), counts in cells.items():
                    if (period.department in (None, dep)) and (period.item in (None, item)):
                        for name, n in counts.items():
                            totals[(dep, item)][name] += n
                cited |= {group for _, group in live_cited}
        return {
            "period": period.as_dict(),
            "aggregated_through": through.isoformat() if through else None,
            "targets": {
                key: {
                    "label": t.label,
                    "target": t.target,
                    "unit": t.unit,
                    "source": t.source,
                    "higher_is_better": t.higher_is_better,
                    "strict": t.strict,
                }
                for key, t in TARGETS.items()
            },  # fmt: skip
            "district": self._figures(_sum(totals.values())) | {"knowledge": self._knowledge(cited)},
            "departments": self._departments(totals),
            "items": sorted(
                (
                    {"department": dep or "（未归属）", "item": item or "（未归属）", **self._figures(c)}
                    for (dep, item), c in totals.items()
                ),
                key=lambda row: (-(row["volume"]["answers"] + row["volume"]["applications"]), row["department"], row["item"]),
            ),
        }

    def _departments(self, totals: dict) -> list[dict]:
        by_department: dict[str, list[dict]] = defaultdict(list)
        for (dep, _item), counts in totals.items():
            by_department[dep].append(counts)
        rows = [{"department": dep or "（未归属）", **self._figures(_sum(c))} for dep, c in by_department.items()]
        return sorted(rows, key=lambda r: (r["index"] is None, -(r["index"] or 0), r["department"]))

    @staticmethod
    def _figures(c: dict) -> dict:
        """The indicators of summed counts, each against its promise, and the service index."""
        values = {
            "application_minutes": round(c["apply_minutes"] / c["apps_timed"], 1) if c["apps_timed"] else None,
            "on_time": _share(c["completed_on_time"], c["completed_with_promise"]),
            "online": _share(c["apps_online"], c["apps_channel_known"]),
            "prefill": _share(c["prefill_filled"], c["prefill_fields"]),
            "first_time": _share(c["completed_first_time"], c["completed"]),
            "helper_resolution": _share(c["handoffs_resolved"], c["handoffs_closed"]),
            "first_response": _share(c["handoffs_within_60s"], c["handoffs_answered"] + c["handoffs_missed"]),
        }
        basis = {
            "application_minutes": c["apps_timed"], "on_time": c["completed_with_promise"], "online": c["apps_channel_known"],
            "prefill": c["prefills"], "first_time": c["completed"], "helper_resolution": c["handoffs_closed"],
            "first_response": c["handoffs_answered"] + c["handoffs_missed"],
        }  # fmt: skip
        indicators = {k: {"value": v, "met": TARGETS[k].met(v), "basis": basis[k]} for k, v in values.items()}
        return {
            "indicators": indicators,
            **service_index(values),
            "volume": {
                k: c[k] for k in ("answers", "sessions", "verbatim", "generated", "refused", "handoffs", "applications", "completed")
            },
        }

    def _knowledge(self, cited: set[str]) -> dict:
        """The knowledge base now (entries: knowledge units, by type) and the period's usage of its
        published Q&A entries."""
        index = self.kb.index
        by_type = {doc_type: len(index.facet("group", [doc_type])) for doc_type in index.facet("doc_type")}
        published = set(index.facet("group", ["qa"]))
        used = cited & published
        entries = sum(by_type.values())
        usage = _share(len(used), len(published))
        return {
            "indicators": {
                "kb_size": {"value": entries, "met": TARGETS["kb_size"].met(entries), "basis": entries},
                "kb_usage": {"value": usage, "met": TARGETS["kb_usage"].met(usage), "basis": len(published)},
            },
            "entries_by_type": by_type,
            "published_qa": len(published),
            "used_qa": len(used),
        }


def service_index(values: dict[str, float | None]) -> dict:
    """政务服务指数: 100 × the mean, over the department's figures that have data, of how much of its
    promise each keeps (value / target, capped at 1; target / value for the application time), and
    how many of the seven figures it rests on."""
    scores = [TARGETS[k].score(values[k]) for k in INDEX_KEYS if values.get(k) is not None]
    return {"index": round(100 * sum(scores) / len(scores), 1) if scores else None, "index_basis": f"{len(scores)}/{len(INDEX_KEYS)}"}


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _sum(rows) -> dict:
    total = dict.fromkeys(COUNTERS, 0)
    for row in rows:
        for name in COUNTERS:
            total[name] += row[name]
    return total
