"""Real servers for the tests, started once per test session from the binaries a deployment uses:
a throwaway PostgreSQL cluster (initdb + pg_ctl on a temporary directory, trust authentication on
127.0.0.1) and a redis-server. Each is None when its binaries are not installed; the fixtures in
conftest.py then skip the tests that need it, saying why."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    """The directory of initdb and pg_ctl: on PATH, or Debian's /usr/lib/postgresql/<version>/bin."""
    if on_path := shutil.which("initdb"):
        return Path(on_path).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")


class PostgresCluster:
    """A cluster of its own; `new_database()` hands each test an empty database in it."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="xiaobao-pg-"))
        self._names = itertools.count()
        # PostgreSQL refuses to run as root (CI is root): then the cluster belongs to the postgres user
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            owner = pwd.getpwnam("postgres")
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)

    @classmethod
    def start(cls) -> PostgresCluster | None:
        bin_dir = postgres_bin()
        if bin_dir is None or (os.geteuid() == 0 and not _has_user("postgres")):
            return None
        cluster = cls(bin_dir)
        data = cluster.dir / "data"
        cluster._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        # fsync off: a throwaway cluster, the tests' wall time matters more than surviving a power cut
        options = f"-c listen_addresses=127.0.0.1 -c port={cluster.port} -c unix_socket_directories={cluster.dir} -c fsync=off"
        cluster._run("pg_ctl", "-D", str(data), "-o", options, "-l", str(cluster.dir / "log"), "-w", "start")
        return cluster

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self._as, str(self.bin_dir / tool), *args], check=True, capture_output=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        import psycopg

        name = f"test_{next(self._names)}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} STRATEGY FILE_COPY")
        return self.url(name)

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisServer:
    """A redis-server without persistence on a free port; `url(n)` is logical database n."""

    def __init__(self, binary: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    @classmethod
    def start(cls) -> RedisServer | None:
        binary = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
        return cls(binary) if binary else None

    def url(self, database: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
