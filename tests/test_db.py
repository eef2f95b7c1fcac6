"""db.py: the database stays usable while other processes (CLI commands, workers) open it too."""

import subprocess
import sys

from sqlalchemy import text

from xiaobao.db import open_database


def test_a_command_run_beside_the_server_leaves_the_servers_database_working(tmp_path):
    """SQLite's locks are POSIX record locks, which a process loses on *any* close() of the file. A
    migration lock once opened and closed the database file itself: the server lost its shared lock,
    so a command run beside it (`xiaobao users add`) found itself alone on closing, deleted the WAL
    index from under the server, and every later query of the server failed with "disk I/O error"."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    server = open_database(url)
    with server.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    command = (
        "from sqlalchemy import text; from xiaobao.db import open_database\n"
        f"e = open_database({url!r})\n"
        "with e.begin() as c: c.execute(text('INSERT INTO t VALUES (2)'))\n"
        "e.dispose()"
    )
    subprocess.run([sys.executable, "-c", command], check=True)
    assert (tmp_path / "x.db-shm").exists()  # the server's WAL index is still there
    with server.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (3)"))
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 3
    server.dispose()
