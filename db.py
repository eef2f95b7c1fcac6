"""The relational database: SQLite (WAL) by default, any SQLAlchemy URL (e.g. PostgreSQL) for deployments."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record) -> None:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")

    else:
        engine = create_engine(url, pool_pre_ping=True)
    import assistant.store  # noqa: F401  (registers their tables)
    import ingest.state  # noqa: F401

    Base.metadata.create_all(engine)
    return engine
