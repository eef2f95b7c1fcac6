"""The schema migrations, on SQLite and PostgreSQL: they make exactly the schema the models describe,
and a database of the previous release (04e2da0, before migrations existed; its DDL is kept beside
this file) is upgraded with every row kept."""

import datetime as dt
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from xiaobao import db, services  # noqa: F401  (services imports every table module)
from xiaobao.services import Services
from xiaobao.settings import Settings

pytestmark = pytest.mark.databases
HERE = Path(__file__).parent
HEAD = ScriptDirectory(str(db.MIGRATIONS)).get_current_head()  # the newest revision, whichever it is


def url_of(database: str | None, tmp_path: Path) -> str:
    return database or f"sqlite:///{tmp_path / 'var' / 'xiaobao.db'}"


def build_release_04e2da0(url: str) -> None:
    """A database as release 04e2da0 made it, with a citizen's conversation, a staff account and an
    application in it."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    engine = create_engine(url)
    ddl = (HERE / f"release_04e2da0.{engine.dialect.name}.sql").read_text(encoding="utf-8")
    at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    with engine.begin() as conn:
        for statement in ddl.split(";\n"):
            if statement.strip().removeprefix("--"):
                conn.exec_driver_sql(statement)
        conn.execute(text("INSERT INTO chat_sessions (id, channel, status, created_at) VALUES ('s-1', 'web', 'bot', :at)"), {"at": at})
        conn.execute(
            text("INSERT INTO turns (session_id, role, text, flags, created_at) VALUES ('s-1', :role, :text, '{}', :at)"),
            [{"role": "user", "text": "办事大厅什么时候开门", "at": at}, {"role": "assistant", "text": "工作日9:00至17:00。", "at": at}],
        )
        conn.execute(
            text(
                "INSERT INTO staff_users (username, display_name, role, password_hash, active, created_at)"
                " VALUES ('li', '李明', 'helper', 'x', true, :at)"
            ),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO applications (id, item, applicant_ref, status, timeline, sample)"
                " VALUES ('BS1', '居住证办理', 'citizen-1', '审核中', '[]', false)"
            )
        )
    engine.dispose()


def test_the_migrations_make_the_schema_of_the_models(database, tmp_path):
    engine = db.open_database(url_of(database, tmp_path))
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), db.Base.metadata) == []
    engine.dispose()


def test_a_database_of_the_previous_release_is_upgraded_with_its_data(database, tmp_path):
    url = url_of(database, tmp_path)
    build_release_04e2da0(url)
    with Services(Settings(data_dir=tmp_path / "var", database_url=database)) as upgraded:
        with upgraded.db_engine.connect() as conn:
            assert db.current_revision(conn) == HEAD
            assert compare_metadata(MigrationContext.configure(conn), db.Base.metadata) == []
        assert [(t["role"], t["text"]) for t in upgraded.engine.history("s-1")] == [
            ("user", "办事大厅什么时候开门"),
            ("assistant", "工作日9:00至17:00。"),
        ]
        assert [(u["username"], u["display_name"]) for u in upgraded.accounts.users()] == [("li", "李明")]
        assert [a["status"] for a in upgraded.directory.applications("citizen-1")] == ["审核中"]


def test_a_database_of_an_earlier_release_gets_the_columns_added_since(database, tmp_path):
    url = url_of(database, tmp_path)
    build_release_04e2da0(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE applications DROP COLUMN form_data"))  # not there before it was added
    db.migrate(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), db.Base.metadata) == []
        assert conn.execute(text("SELECT id, form_data FROM applications")).all() == [("BS1", None)]
    engine.dispose()


def test_workers_starting_together_migrate_once(database, tmp_path):
    url = url_of(database, tmp_path)
    barrier = threading.Barrier(4)
    failures: list[Exception] = []

    def worker() -> None:
        barrier.wait()
        try:
            db.open_database(url).dispose()
        except Exception as error:  # noqa: BLE001  (the assertion below shows it)
            failures.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]
    engine.dispose()


def test_a_database_at_0003_gets_versioned_templates_and_keeps_its_library(database, tmp_path):
    """0004: template_versions, and library_materials.read_values (empty for what was kept before)."""
    from alembic import command
    from alembic.config import Config

    url = url_of(database, tmp_path)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")
        conn.execute(
            text(
                "INSERT INTO library_materials (id, owner_ref, type, filename, sha256, size, content, origin, created_at)"
                " VALUES ('m-1', 'demo-enterprise-1', '营业执照', '营业执照.png', 'ab', 3, :bytes, 'prereview', :at)"
            ),
            {"bytes": b"png", "at": dt.datetime(2026, 11, 30, tzinfo=dt.UTC)},
        )
    engine.dispose()
    with Services(Settings(data_dir=tmp_path / "var", database_url=database)) as upgraded:
        with upgraded.db_engine.connect() as conn:
            assert db.current_revision(conn) == HEAD
            assert compare_metadata(MigrationContext.configure(conn), db.Base.metadata) == []
        kept = upgraded.library.get("demo-enterprise-1", "m-1")
        assert (kept["type"], kept["read"]) == ("营业执照", {}) and upgraded.library.content("demo-enterprise-1", "m-1")[1] == b"png"
        assert upgraded.library.readings("demo-enterprise-1") == {}  # nothing was read for it then
        demo = db.MIGRATIONS.parent / "demo" / "templates"
        assert upgraded.templates.all() == {} and upgraded.templates.seed(demo) == len(list(demo.glob("*.json")))
