"""The answer being given, sentence by sentence, for whoever speaks it. The chat page's answer stream
passes through `Recitals.tee`, which notes each checked sentence as it is shown (and, at the end, the
rest of the reply: an official reply, a tool's answer, a note that the model stopped); the audio
route follows the session's latest recital and speaks each sentence as soon as it is noted, in one
request for the whole answer.

Kept in this process, for the last answer of each of the most recent sessions: the chat page that
asks and the page's audio request reach the same server process (as the page's own stream does)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator

from xiaobao.voice.text import sentences

SESSIONS = 2000  # sessions whose last answer is remembered
QUIET_FOR = 180.0  # seconds without a new sentence after which a follower stops waiting (a stream that died)


class Recital:
    def __init__(self) -> None:
        self._said = ""  # the reply's text so far, as shown
        self._sentences: list[str] = []  # as spoken: long ones cut (text.sentences)
        self._done = False
        self._changed = threading.Condition()

    def add(self, text: str) -> None:
        """A checked sentence, as it is shown."""
        with self._changed:
            if self._done:
                return
            self._said += text
            self._sentences += sentences(text, first=not self._sentences)
            self._changed.notify_all()

    def finish(self, reply_text: str | None = None) -> None:
        """The end of the answer: the reply's text is spoken past what was already added (all of it
        when nothing was: an official reply, a tool's answer). None: the stream ended without a reply."""
        if reply_text and not self._done:
            if not self._said:
                self.add(reply_text)
            elif reply_text.startswith(self._said):
                self.add(reply_text[len(self._said) :])
        with self._changed:
            self._done = True
            self._changed.notify_all()

    def follow(self, quiet_for: float = QUIET_FOR) -> Iterator[str]:
        """Each sentence in order, from the first, as soon as it is added; ends with the answer."""
        given = 0
        while True:
            with self._changed:
                waited = time.monotonic()
                while given == len(self._sentences) and not self._done:
                    if not self._changed.wait(timeout=max(0.0, quiet_for - (time.monotonic() - waited))):
                        return
                fresh, done = self._sentences[given:], self._done
            yield from fresh
            given += len(fresh)
            if done and given == len(self._sentences):
                return


class Recitals:
    """The latest recital of each session."""

    def __init__(self, sessions: int = SESSIONS) -> None:
        self._latest: OrderedDict[str, Recital] = OrderedDict()
        self._sessions = sessions
        self._lock = threading.Lock()

    def begin(self, session_id: str) -> Recital:
        recital = Recital()
        with self._lock:
            self._latest[session_id] = recital
            self._latest.move_to_end(session_id)
            while len(self._latest) > self._sessions:
                self._latest.popitem(last=False)[1].finish()
        return recital

    def latest(self, session_id: str) -> Recital | None:
        with self._lock:
            return self._latest.get(session_id)

    def tee(self, session_id: str, events: Iterable[tuple[str, object]]) -> Iterator[tuple[str, object]]:
        """The events of an answer stream (Engine.stream: ("sentence", text) …, ("final", reply)),
        passed on unchanged, each sentence and the final reply's text noted in a new recital."""
        recital = self.begin(session_id)
        try:
            for kind, value in events:
                if kind == "sentence":
                    recital.add(value)
                elif kind == "final":
                    recital.finish(getattr(value, "text", None))
                yield kind, value
        finally:
            recital.finish()  # a stream that failed or was dropped: followers stop
