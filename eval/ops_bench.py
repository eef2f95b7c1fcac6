"""The operations report at scale: seed a database with a million turns (and the sessions,
citations, ratings, hand-offs and gaps that go with them), then time the report over periods; and
the cockpit over a year at a million turns a month (`run_cockpit`)."""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from pathlib import Path

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from xiaobao.assistant.store import ChatSession, Citation, Handoff, KnowledgeGap, Rating, Turn
from xiaobao.govdata.records import Application, GovRecord
from xiaobao.govdata.workdays import CHINA
from xiaobao.operations.cockpit import DailyCitations, DailyFigures
from xiaobao.operations.metrics import Period

DEPARTMENTS = [f"宝山区示例局{i:02d}" for i in range(12)]
ITEMS_PER_DEPARTMENT = 10
OUTCOMES = ("resolved",) * 9 + ("unresolved",)  # helpers resolve nine in ten
PATHS = ["verbatim"] * 45 + ["generated"] * 25 + ["refused"] * 10 + ["tool"] * 10 + ["handoff"] * 5 + ["greeting"] * 5


def item_of(department: str, n: int) -> str:
    return f"{department}事项{n}"


def seed(db_engine, turns: int, days: int = 90, seed_: int = 3, on_progress=None, entries: int = 2000) -> dict:
    """`turns` turns (half questions, half answers) over the last `days` days, in batches; answers
    cite `entries` Q&A entries, the popular ones far more often (as people ask)."""
    rng = random.Random(seed_)
    end = dt.datetime.now(dt.UTC)
    counts = {"sessions": 0, "turns": 0, "citations": 0, "ratings": 0, "handoffs": 0, "gaps": 0}
    next_turn = 1
    batch = 50_000
    with db_engine.begin() as conn:
        while counts["turns"] < turns:
            sessions, rows, cites, ratings, handoffs, gaps = [], [], [], [], [], []
            while len(rows) < batch and counts["turns"] + len(rows) < turns:
                sid = str(uuid.UUID(int=rng.getrandbits(128)))
                start = end - dt.timedelta(seconds=rng.uniform(0, days * 86400))
                sessions.append({"id": sid, "channel": "web", "status": "bot", "created_at": start})
                for q in range(rng.choice((1, 1, 2, 3))):
                    at = start + dt.timedelta(seconds=30 * q)
                    path = rng.choice(PATHS)
                    department = rng.choice(DEPARTMENTS)
                    item = item_of(department, rng.randrange(ITEMS_PER_DEPARTMENT))
                    # every row has every key: an executemany takes its columns from the first row
                    rows.append({"id": next_turn, "session_id": sid, "role": "user", "text": "问题", "path": None,
                                 "department": None, "item": None, "flags": {}, "created_at": at})  # fmt: skip
                    rows.append({"id": next_turn + 1, "session_id": sid, "role": "assistant", "text": "回答", "path": path,
                                 "department": department, "item": item, "flags": {}, "created_at": at})  # fmt: skip
                    if path in ("verbatim", "generated"):
                        group = f"qa:q{int(entries * rng.random() ** 3)}"  # the popular entries cited far more
                        cites.append(
                            {"turn_id": next_turn + 1, "number": 1, "citation": "c", "group": group, "doc_type": "qa", "text": "t"}
                        )
                    if rng.random() < 0.08:
                        ratings.append({"turn_id": next_turn + 1, "value": rng.choice(("good", "good", "bad")), "created_at": at})
                    if path == "handoff":
                        reply = at + dt.timedelta(seconds=rng.uniform(5, 120))
                        handoffs.append({"session_id": sid, "reason": "r", "evidence": [], "status": "closed", "created_at": at,
                                         "first_reply_at": reply, "closed_at": reply, "outcome": rng.choice(OUTCOMES)})  # fmt: skip
                    if path == "refused":
                        gaps.append({"session_id": sid, "question": "问题", "reason": "no_evidence", "trace": {}, "status": "open",
                                     "created_at": at, "due_date": (at + dt.timedelta(days=7)).date()})  # fmt: skip
                    next_turn += 2
            for table, data in (
                (ChatSession, sessions),
                (Turn, rows),
                (Citation, cites),
                (Rating, ratings),
                (Handoff, handoffs),
                (KnowledgeGap, gaps),
            ):
                if data:
                    conn.execute(insert(table), data)
            counts["sessions"] += len(sessions)
            counts["turns"] += len(rows)
            counts["citations"] += len(cites)
            counts["ratings"] += len(ratings)
            counts["handoffs"] += len(handoffs)
            counts["gaps"] += len(gaps)
            if on_progress:
                on_progress(len(rows))
    return counts


def run(settings, turns: int, repeats: int = 3, on_progress=None) -> dict:
    """Seed a temporary data directory and time the report (best and worst of `repeats`)."""
    import tempfile

    from xiaobao.services import Services

    with tempfile.TemporaryDirectory(prefix="xiaobao-ops-") as tmp:
        s = settings.model_copy(update={"data_dir": Path(tmp)})
        with Services(s) as services:
            started = time.perf_counter()
            counts = seed(services.db_engine, turns, on_progress=on_progress)
            seeded = time.perf_counter() - started
            services.db_engine.dispose()  # the report starts from a cold connection pool, as a fresh process would
            metrics = services.metrics
            today = dt.datetime.now(CHINA).date()
            periods = {
                "last 7 days": Period(today - dt.timedelta(days=6), today),
                "last 30 days": Period(today - dt.timedelta(days=29), today),
                "last 90 days (all rows)": Period(today - dt.timedelta(days=89), today),
                "last 30 days, one department": Period(today - dt.timedelta(days=29), today, department=DEPARTMENTS[3]),
            }
            timings = {}
            for name, period in periods.items():
                seconds = []
                for _ in range(repeats):
                    t = time.perf_counter()
                    report = metrics.report(period)
                    seconds.append(time.perf_counter() - t)
                timings[name] = {"answers": report["answers"], "best_s": round(min(seconds), 3), "worst_s": round(max(seconds), 3)}
            size = (Path(tmp) / "xiaobao.db").stat().st_size
    return {"rows": counts, "seed_seconds": round(seeded, 1), "database_mb": round(size / 1e6, 1), "report": timings}


APPLICATIONS_PER_MONTH = 50_000  # an assumption: a district's cases a month through the service's systems


def seed_applications(db_engine, count: int, days: int, seed_: int = 5) -> int:
    """`count` cases submitted over the last `days` days: nine in ten online, a tenth corrected,
    most completed within their promise; the items belong to the seeded departments."""
    rng = random.Random(seed_)
    end = dt.datetime.now(dt.UTC)
    with db_engine.begin() as conn:
        items = [(f"IT-{d}-{n}", item_of(dep, n), dep) for d, dep in enumerate(DEPARTMENTS) for n in range(ITEMS_PER_DEPARTMENT)]
        records = [{"id": ref, "name": name, "department": dep, "applicant": "person"} for ref, name, dep in items]
        conn.execute(insert(GovRecord), [{"kind": "item", "ref": r["id"], "data": r, "sample": False} for r in records])
        for first in range(0, count, 20_000):
            rows = []
            for i in range(first, min(count, first + 20_000)):
                d, n = rng.randrange(len(DEPARTMENTS)), rng.randrange(ITEMS_PER_DEPARTMENT)
                submitted = end - dt.timedelta(seconds=rng.uniform(0, days * 86400))
                channel = "网上申请已提交" if rng.random() < 0.9 else "窗口申请已提交"
                timeline = [{"at": (submitted - dt.timedelta(minutes=rng.uniform(3, 40))).isoformat(), "event": "开始填报"},
                            {"at": submitted.isoformat(), "event": channel}]  # fmt: skip
                if rng.random() < 0.1:
                    timeline.append({"at": (submitted + dt.timedelta(hours=4)).isoformat(), "event": "需补正：材料不全"})
                done = submitted + dt.timedelta(days=rng.uniform(0.5, 12))
                if done < end:
                    timeline.append({"at": done.isoformat(), "event": "已办结"})
                rows.append({"id": f"BENCH{i:08d}", "item": item_of(DEPARTMENTS[d], n), "item_id": f"IT-{d}-{n}", "applicant_ref": f"p{i}",
                             "status": "已办结" if done < end else "审核中", "timeline": timeline, "next_step": None, "form_data": None,
                             "promised_date": (submitted + dt.timedelta(days=10)).date(), "sample": False})  # fmt: skip
            conn.execute(insert(Application), rows)
    return count


def _timed(action, repeats: int) -> tuple[object, float, float, float]:
    """The result, the best and worst wall time, and the best CPU time of this process (which a
    loaded machine inflates far less than the wall time)."""
    seconds, cpu, result = [], [], None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        result = action()
        seconds.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return result, round(min(seconds), 3), round(max(seconds), 3), round(min(cpu), 3)


def run_cockpit(settings, turns_per_month: int = 1_000_000, months: int = 12, repeats: int = 3, on_progress=None) -> dict:
    """The cockpit over a year at `turns_per_month`. One month is seeded in full (turns with their
    citations, hand-offs and ratings, and APPLICATIONS_PER_MONTH cases) and pre-aggregated by the real
    refresh; its daily rows are then copied to the `months - 1` months before it, so the year's report
    reads as many pre-aggregated rows as a real year of that traffic would (the rows per day depend
    on the departments, items and entries seen in a day, not on the turns). Today is computed live."""
    import tempfile

    from xiaobao.services import Services

    with tempfile.TemporaryDirectory(prefix="xiaobao-cockpit-") as tmp:
        s = settings.model_copy(update={"data_dir": Path(tmp)})
        with Services(s) as services:
            db_engine = services.db_engine
            started = time.perf_counter()
            counts = seed(db_engine, turns_per_month, days=30, on_progress=on_progress, entries=20_000)
            counts["applications"] = seed_applications(db_engine, APPLICATIONS_PER_MONTH, days=30)
            seeded = time.perf_counter() - started
            cockpit = services.cockpit
            t = time.perf_counter()
            cockpit.refresh()
            first_refresh = time.perf_counter() - t
            t = time.perf_counter()
            cockpit.refresh()  # as the schedule does each hour: the last 7 days again
            hourly_refresh = time.perf_counter() - t
            with Session(db_engine) as session:
                month_rows = session.scalar(select(func.count()).select_from(DailyFigures))
                month_cited = session.scalar(select(func.count()).select_from(DailyCitations))
                first = session.scalar(select(func.min(DailyFigures.day)))
            _copy_back(db_engine, first, months)
            db_engine.dispose()
            today = dt.datetime.now(CHINA).date()
            periods = {
                "last 30 days": Period(today - dt.timedelta(days=29), today),
                "last 365 days": Period(today - dt.timedelta(days=364), today),
                "last 365 days, one department": Period(today - dt.timedelta(days=364), today, department=DEPARTMENTS[3]),
            }
            timings = {}
            for name, period in periods.items():
                report, best, worst, cpu = _timed(lambda p=period: cockpit.report(p), repeats)
                timings[name] = {"answers": report["district"]["volume"]["answers"], "best_s": best, "worst_s": worst, "cpu_s": cpu}
            with Session(db_engine) as session:
                rows = {"ops_daily": session.scalar(select(func.count()).select_from(DailyFigures)),
                        "ops_daily_citations": session.scalar(select(func.count()).select_from(DailyCitations))}  # fmt: skip
            size = (Path(tmp) / "xiaobao.db").stat().st_size
    return {
        "turns_per_month": turns_per_month,
        "seeded_month": counts,
        "seed_seconds": round(seeded, 1),
        "refresh_seconds": {"first (the whole month)": round(first_refresh, 2), "hourly (last 7 days)": round(hourly_refresh, 2)},
        "rows_per_month": {"ops_daily": month_rows, "ops_daily_citations": month_cited},
        "rows_for_the_year": rows,
        "database_mb": round(size / 1e6, 1),
        "report": timings,
    }


def _copy_back(db_engine, first: dt.date, months: int) -> None:
    """Copy the stored month's daily rows to the `months - 1` months before it (30 days apart)."""
    sqlite = db_engine.dialect.name == "sqlite"
    shift = "date(day, :offset)" if sqlite else "(day + CAST(:offset AS interval))::date"
    with db_engine.begin() as conn:
        for k in range(1, months):
            offset = f"-{30 * k} days"
            for table, columns in (
                (
                    "ops_daily",
                    [
                        "department",
                        "item",
                        *(c.name for c in DailyFigures.__table__.columns if c.name not in ("day", "department", "item")),
                    ],
                ),
                ("ops_daily_citations", ['"group"', "cited"]),
            ):
                names = ", ".join(columns)
                conn.execute(text(f"INSERT INTO {table} (day, {names}) SELECT {shift}, {names} FROM {table} WHERE day >= :first"),
                             {"offset": offset, "first": first.isoformat() if sqlite else first})  # fmt: skip
