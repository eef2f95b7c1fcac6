"""The running service's note in its data directory (serve.json: process id, address, a local token):
written by `xiaobao serve` while it runs, so that a command on the same data directory (`xiaobao
ingest`) knows the embedded index is held and goes through the service instead. The token is the
local operator's credential: whoever can read the data directory (mode 0600) can already read the
database, so it grants no more than that. A note left by a killed service is recognised as stale."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

NOTE = "serve.json"


@dataclass(frozen=True)
class Running:
    pid: int
    url: str
    token: str


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def announce(data_dir: Path, url: str) -> Running:
    running = Running(os.getpid(), url, secrets.token_urlsafe(32))
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / NOTE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(running), out)
    return running


def withdraw(data_dir: Path, running: Running) -> None:
    """Remove the note, if it is still this process's."""
    if found(data_dir) == running:
        (data_dir / NOTE).unlink(missing_ok=True)


def found(data_dir: Path) -> Running | None:
    """The service running on the data directory, or None; a note whose process is gone is removed."""
    path = data_dir / NOTE
    try:
        running = Running(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    if not _alive(running.pid):
        path.unlink(missing_ok=True)
        return None
    return running
