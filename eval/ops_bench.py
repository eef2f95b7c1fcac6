"""The operations report at scale: seed a database with a million turns (and the sessions,
citations, ratings, hand-offs and gaps that go with them), then time the report over periods."""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from pathlib import Path

from sqlalchemy import insert

from xiaobao.assistant.store import ChatSession, Citation, Handoff, KnowledgeGap, Rating, Turn
from xiaobao.govdata.workdays import CHINA
from xiaobao.operations.metrics import Period

DEPARTMENTS = [f"宝山区示例局{i:02d}" for i in range(12)]
OUTCOMES = ("resolved",) * 9 + ("unresolved",)  # helpers resolve nine in ten
PATHS = ["verbatim"] * 45 + ["generated"] * 25 + ["refused"] * 10 + ["tool"] * 10 + ["handoff"] * 5 + ["greeting"] * 5


def seed(db_engine, turns: int, days: int = 90, seed_: int = 3, on_progress=None) -> dict:
    """`turns` turns (half questions, half answers) over the last `days` days, in batches."""
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
                    # every row has every key: an executemany takes its columns from the first row
                    rows.append({"id": next_turn, "session_id": sid, "role": "user", "text": "问题", "path": None,
                                 "department": None, "flags": {}, "created_at": at})  # fmt: skip
                    rows.append({"id": next_turn + 1, "session_id": sid, "role": "assistant", "text": "回答", "path": path,
                                 "department": department, "flags": {}, "created_at": at})  # fmt: skip
                    if path in ("verbatim", "generated"):
                        cites.append({"turn_id": next_turn + 1, "number": 1, "citation": "c", "group": f"qa:q{rng.randrange(2000)}",
                                      "doc_type": "qa", "text": "t"})  # fmt: skip
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
