"""The relational database: SQLite (WAL) by default, any SQLAlchemy URL (e.g. PostgreSQL) for deployments.
Its schema is versioned: the Alembic revisions in migrations/versions are applied when it is opened."""

from __future__ import annotations

import datetime as dt
import fcntl
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
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
    """The database engine, its schema migrated to the newest revision. `busy_timeout`: how long a
    SQLite write waits for another writer's lock."""
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
    migrate(db_engine)
    return db_engine


MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(db_engine: Engine) -> None:
    """Apply the migrations not yet applied (a database without alembic_version, made before
    migrations existed, is adopted by the baseline revision). Several workers starting at once take
    turns: the first migrates, the others find nothing left to do."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with _one_at_a_time(db_engine), db_engine.connect() as conn:
        if current_revision(conn) != ScriptDirectory.from_config(config).get_current_head():
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        conn.commit()


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _one_at_a_time(db_engine: Engine):
    """A lock held while migrating: PostgreSQL's advisory lock (on a connection of its own); for SQLite
    an flock on a file beside the database, taken before the first connection, whose switch to WAL
    needs the file to itself — workers connecting at once to a new file got "database is locked"
    there. Never on the database file itself: closing any descriptor of it drops every POSIX lock the
    process holds on it, SQLite's included, and another process closing the database then deletes
    the WAL index from under this one ("disk I/O error" on every later query)."""
    if db_engine.dialect.name == "postgresql":
        with db_engine.connect() as lock:
            lock.execute(text("SELECT pg_advisory_lock(7150001)"))  # any constant: Xiaobao's migration lock
            try:
                yield
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(7150001)"))
    elif db_engine.dialect.name == "sqlite" and (database := db_engine.url.database):
        with open(f"{database}.lock", "ab") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
    else:
        yield
