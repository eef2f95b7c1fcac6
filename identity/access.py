"""Who may use the service, and how often. A citizen's session is read only by whoever holds its key
(an HMAC of the session id under the service's secret: no table, not derivable from the id), and
every client address and session has a request budget: kept in memory by default (one process), or
in Redis when `XIAOBAO_REDIS_URL` is set, so that several API workers spend one budget."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import math
import os
import secrets
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)


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


# The same token bucket as RateLimiter, in one atomic step on the Redis server and on its clock (the
# workers' clocks may differ). A bucket left alone until it would be full again is forgotten (EXPIRE).
# The wait is returned as a string: Redis turns a Lua number into an integer.
TOKEN_BUCKET = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens = tonumber(bucket[1]) or burst
local last = tonumber(bucket[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class RedisRateLimiter:
    """RateLimiter's buckets in Redis, shared by every worker that names the same `prefix`. When Redis
    cannot be reached the request is let through (and logged): a budget store down must not take the
    service down with it."""

    def __init__(self, redis, prefix: str, per_minute: int, burst: int | None = None) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst or per_minute)
        self.prefix = prefix
        self._script = redis.register_script(TOKEN_BUCKET)

    def check(self, key: str, now: float | None = None) -> float:
        from redis import RedisError

        try:
            return float(self._script(keys=[f"{self.prefix}:{key}"], args=[self.rate, self.burst, "" if now is None else now]))
        except RedisError as error:
            log.warning("request budget not checked, Redis unavailable: %s", error)
            return 0.0


class OverBudget(Exception):
    """Over a request budget: try again after `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("请求太频繁，请稍后再试。")
        self.retry_after = max(1, math.ceil(retry_after))


class Budgets:
    """The request budgets of the service: per client address, per citizen session, and new sessions
    per client address (else every new session would bring a fresh session budget). A limit of 0 turns
    that budget off. With a `redis` client the budgets are kept there, shared by every worker."""

    def __init__(self, per_client: int, per_session: int, sessions_per_client: int, redis=None) -> None:
        def limiter(name: str, per_minute: int) -> RateLimiter | RedisRateLimiter | None:
            if not per_minute:
                return None
            return RedisRateLimiter(redis, f"xiaobao:budget:{name}", per_minute) if redis else RateLimiter(per_minute)

        self.per_client = limiter("client", per_client)
        self.per_session = limiter("session", per_session)
        self.new_sessions = limiter("new-sessions", sessions_per_client)

    def charge(self, client: str | None = None, session: str | None = None, new_session_of: str | None = None) -> None:
        """Count one request against the budgets of whom it names; OverBudget when one of them is spent."""
        for limiter, key in ((self.per_client, client), (self.per_session, session), (self.new_sessions, new_session_of)):
            if limiter and key and (wait := limiter.check(key)):
                raise OverBudget(wait)
