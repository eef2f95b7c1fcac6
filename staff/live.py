"""Live updates: who must hear about a change, the moment it is committed. A hook on the database
sessions notes what each transaction changed — a turn added to a conversation, a hand-off or a
session's status moved — and after the commit wakes whoever waits on it: the citizen's page (its
session), the helpers' consoles (the desk). The server-sent-event streams and the chat page wait here
instead of polling the database.

With `XIAOBAO_REDIS_URL` set, every change is also published on a Redis channel and each server
process wakes its own waiters for the changes of the others, so several API workers push as one.
Without Redis, or while it is unreachable, a second process does not hear this one's commits (its
pages fall back to the polling they keep as a safety net)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections import defaultdict

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from xiaobao.assistant.store import ChatSession, Handoff, Turn

log = logging.getLogger(__name__)
CHANNEL = "xiaobao:live"
DESK = "desk"  # the helpers' board: the queue, the sessions held, the messages in them
REMEMBERED = 100_000  # keys whose last change is remembered (one per conversation that changed)


def session_key(session_id: str) -> str:
    return f"session:{session_id}"


class Live:
    def __init__(self, db_engine: Engine, redis=None) -> None:
        self.db_engine = db_engine
        self._redis, self._origin, self._stop = redis, os.urandom(8).hex(), threading.Event()
        self._lock = threading.Lock()
        self._version = 0  # one counter for everything: a waiter remembers the last version it saw
        self._changed: dict[str, int] = defaultdict(int)  # key → version of its last change
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = defaultdict(set)
        event.listen(Session, "after_flush", self._note)
        event.listen(Session, "after_commit", self._publish)
        event.listen(Session, "after_rollback", self._forget)
        if redis:
            threading.Thread(target=self._listen, name="live-fan-in", daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        event.remove(Session, "after_flush", self._note)
        event.remove(Session, "after_commit", self._publish)
        event.remove(Session, "after_rollback", self._forget)

    @property
    def version(self) -> int:
        return self._version

    def changed_since(self, keys: list[str], version: int) -> bool:
        return any(self._changed.get(k, 0) > version for k in keys)

    async def wait(self, keys: list[str], version: int, timeout: float) -> int:
        """Until one of `keys` changes after `version` (or `timeout` passes); the version now."""
        loop, woken = asyncio.get_running_loop(), asyncio.Event()
        entry = (loop, woken)
        with self._lock:
            if self.changed_since(keys, version):
                return self._version
            for key in keys:
                self._waiters[key].add(entry)
        try:
            await asyncio.wait_for(woken.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                for key in keys:
                    self._waiters[key].discard(entry)
                    if not self._waiters[key]:
                        del self._waiters[key]
        return self._version

    def touch(self, *keys: str) -> None:
        """Wake the waiters of `keys` (changes outside the database: a sentence streamed to a page),
        here and, through Redis, in the other workers."""
        self._wake(keys)
        if self._redis:
            try:
                self._redis.publish(CHANNEL, json.dumps({"from": self._origin, "keys": list(keys)}))
            except Exception as error:  # noqa: BLE001  (any Redis failure: the others poll instead)
                log.warning("live update not sent to the other workers: %s", error)

    def _wake(self, keys) -> None:
        with self._lock:
            self._version += 1
            woken = set()
            for key in keys:
                self._changed[key] = self._version
                woken |= self._waiters.get(key, set())
            if len(self._changed) > REMEMBERED:  # forget the oldest: a waiter's version is seconds old, not this many changes
                horizon = self._version - REMEMBERED // 2
                self._changed = defaultdict(int, {k: v for k, v in self._changed.items() if v > horizon})
        for loop, waiter in woken:
            loop.call_soon_threadsafe(waiter.set)

    def _listen(self) -> None:
        """The other workers' changes, from Redis, until closed (reconnecting while Redis is away)."""
        while not self._stop.is_set():
            try:
                with self._redis.pubsub(ignore_subscribe_messages=True) as channel:
                    channel.subscribe(CHANNEL)
                    while not self._stop.is_set():
                        message = channel.get_message(timeout=1.0)
                        change = json.loads(message["data"]) if message else None
                        if change and change["from"] != self._origin:
                            self._wake(change["keys"])
            except Exception as error:  # noqa: BLE001  (any Redis failure: try again shortly)
                log.warning("live updates of the other workers not heard: %s", error)
                self._stop.wait(1.0)

    # the database hook: only this service's database ---------------------------------------------

    def _note(self, session: Session, _context) -> None:
        if session.bind is not self.db_engine:
            return
        keys = session.info.setdefault("live", set())
        for row in (*session.new, *session.dirty):
            if isinstance(row, Turn | Handoff):
                keys.update((session_key(row.session_id), DESK))
            elif isinstance(row, ChatSession):
                keys.update((session_key(row.id), DESK))

    def _publish(self, session: Session) -> None:
        keys = session.info.pop("live", None)
        if keys:
            self.touch(*keys)

    def _forget(self, session: Session) -> None:  # a method, not static: each Live listens (and stops) on its own
        session.info.pop("live", None)
