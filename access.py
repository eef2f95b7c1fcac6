"""Who may read a citizen's session: whoever holds its key. A session key is an HMAC of the session
id under the service's secret, so it needs no table and cannot be derived from the id alone."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path


class SessionKeys:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def from_file(cls, path: Path) -> SessionKeys:
        """The secret kept in `path` (made on first use, readable by the owner only)."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
        return cls(path.read_text().strip().encode())

    def issue(self, session_id: str) -> str:
        digest = hmac.new(self._secret, session_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def valid(self, session_id: str, key: str | None) -> bool:
        return bool(key) and hmac.compare_digest(self.issue(session_id), key)
