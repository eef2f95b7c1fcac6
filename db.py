"""The relational database: SQLite (WAL) by default, any SQLAlchemy URL (e.g. PostgreSQL) for deployments."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


def now() -> dt.datetime:
    """The time stored in every table: UTC, with its zone."""
    return dt.datetime.now(dt.UTC)


def aware(moment: dt.datetime) -> dt.datetime:
    """A stored time with its zone: SQLite hands them back naive, and they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def open_database(url: str, busy_timeout: float = 30.0) -> Engine:
    """The database engine, with the tables of every imported table module created (the composition
    root imports them all). `busy_timeout`: how long a SQLite write waits for another writer's lock."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        db_engine = create_engine(url, connect_args={"timeout": busy_timeout})

        @event.listens_for(db_engine, "connect")
        def _pragmas(conn, _record) -> None:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")

    else:
        db_engine = create_engine(url, pool_pre_ping=True)
    Base.metadata.create_all(db_engine)
    add_missing_columns(db_engine)
    return db_engine


def add_missing_columns(db_engine: Engine) -> None:
    """Additive schema changes for databases made by an earlier version: new columns are nullable
    (defaults are set by the application), so adding them keeps every stored row; new indexes are
    built."""
    existing = inspect(db_engine)
    with db_engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            have = {c["name"] for c in existing.get_columns(table.name)}
            for column in table.columns:
                if column.name not in have:
                    kind = column.type.compile(dialect=db_engine.dialect)
                    conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))
            for index in table.indexes:
                index.create(conn, checkfirst=True)
