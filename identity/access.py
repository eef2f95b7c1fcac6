"""Who may use the service, and how often. A citizen's session is read only by whoever holds its key
(an HMAC of the session id under the service's secret: no table, not derivable from the id), and
every client address and session has a request budget."""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import os
import secrets
import threading
import time
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
        # bytes, not str: compare_digest refuses non-ASCII strings, and a key is whatever a client sends
        return bool(key) and hmac.compare_digest(self.issue(session_id).encode(), key.encode(errors="replace"))


class RateLimiter:
    """Token buckets per key (a client address, a session): `per_minute` requests a minute on
    average, bursts up to `burst`. `check` answers how many seconds to wait, 0 when allowed."""

    def __init__(self, per_minute: int, burst: int | None = None, max_keys: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst or per_minute)
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                if len(self._buckets) > self.max_keys:  # forget idle clients rather than grow without end
                    self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


class OverBudget(Exception):
    """Over a request budget: try again after `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("请求太频繁，请稍后再试。")
        self.retry_after = max(1, math.ceil(retry_after))


class Budgets:
    """The request budgets of the service: per client address, per citizen session, and new sessions
    per client address (else every new session would bring a fresh session budget). A limit of 0 turns
    that budget off."""

    def __init__(self, per_client: int, per_session: int, sessions_per_client: int) -> None:
        self.per_client = RateLimiter(per_client) if per_client else None
        self.per_session = RateLimiter(per_session) if per_session else None
        self.new_sessions = RateLimiter(sessions_per_client) if sessions_per_client else None

    def charge(self, client: str | None = None, session: str | None = None, new_session_of: str | None = None) -> None:
        """Count one request against the budgets of whom it names; OverBudget when one of them is spent."""
        for limiter, key in ((self.per_client, client), (self.per_session, session), (self.new_sessions, new_session_of)):
            if limiter and key and (wait := limiter.check(key)):
                raise OverBudget(wait)
