"""Evaluation history: every `xiaobao eval` run is kept with the version and the settings it ran
with, so the dashboard can show how the metrics move from version to version."""

from __future__ import annotations

import datetime as dt
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from sqlalchemy import JSON, DateTime, Engine, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from xiaobao.db import Base, now

# the headline numbers (shares, 0–1) of each kind of evaluation, as (label, path into its result);
# other kinds (api, calibrate, ops) are kept with their full result but not charted
HEADLINES = {
    "retrieval": (("recall@10", ("configs", "default", "recall@10")), ("mrr@10", ("configs", "default", "mrr@10"))),
    "answers": (("citation precision", ("citation_precision",)), ("out-of-scope refused", ("refusal_rate_out_of_scope",))),
    "prereview": (("accuracy", ("accuracy",)),),
    "prefill": (("fill rate", ("fill_rate",)),),
    "handoff": (("within 60 s", ("first_response_within_60s",)),),
    "injection": (("pass rate", ("pass_rate",)),),
}


class EvalRun(Base):
    __tablename__ = "eval_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    version: Mapped[str] = mapped_column(String(60))
    settings: Mapped[dict] = mapped_column(JSON)
    headline: Mapped[dict] = mapped_column(JSON)  # label -> number
    result: Mapped[dict] = mapped_column(JSON)


def code_version() -> str:
    """The package version, with the git commit when run from a checkout."""
    try:
        base = version("xiaobao")
    except PackageNotFoundError:
        base = "unknown"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return base
    return f"{base}+{commit}"


def _dig(data: dict, path: tuple[str, ...]):
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data if isinstance(data, int | float) else None


def record(db_engine: Engine, kind: str, result: dict, settings: dict) -> None:
    headline = {label: _dig(result, path) for label, path in HEADLINES.get(kind, ())}
    with Session(db_engine) as session:
        session.add(EvalRun(kind=kind, version=code_version(), settings=settings, headline=headline, result=result))
        session.commit()


def runs(db_engine: Engine, kind: str | None = None, limit: int = 200) -> list[dict]:
    query = select(EvalRun).order_by(EvalRun.id.desc()).limit(limit)
    if kind:
        query = query.where(EvalRun.kind == kind)
    with Session(db_engine) as session:
        return [
            {"id": r.id, "at": r.at.isoformat(), "kind": r.kind, "version": r.version, "headline": r.headline, "settings": r.settings}
            for r in reversed(session.scalars(query).all())
        ]
