"""Official replies spoken ahead. A Q&A entry's answer (答复口径) is given word for word, so its audio
can be made before anyone asks: every sentence of every published reply is synthesised into the
speaker's official cache, which keeps exactly these sentences (a retired or edited reply's audio goes
at the next pass). `xiaobao voice prepare` does it at once with all the cores; `xiaobao serve` does it
in the background at the lowest priority and looks again every few minutes, so a reply published
while it runs is spoken from the cache soon after."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from xiaobao.knowledge.base import KnowledgeBase
from xiaobao.knowledge.index import DENSE, SearchFilter
from xiaobao.voice.speech import Speaker, wav_bytes
from xiaobao.voice.text import sentences

log = logging.getLogger(__name__)
AGAIN_EVERY = 300.0  # seconds between the background job's looks for new or edited replies
FIRST_AFTER = 60.0  # seconds after start: a server just started is answering its first requests (and, when
# restarted after a crash, the queue of retries), which even a lowest-priority child slowed measurably


def official_replies(kb: KnowledgeBase) -> list[str]:
    """The answers of the knowledge base's Q&A entries in force, each once."""
    count = kb.index.facet("doc_type", ["qa"]).get("qa", 0)
    if not count:
        return []
    # every Q&A point: the filter selects them, the query vector only orders them
    axis = [1.0] + [0.0] * (kb.embedder.dim - 1)
    hits = kb.index.search(DENSE, axis, count, SearchFilter(doc_types=["qa"]))
    answers = (h.payload.get("answer") for h in hits if h.payload.get("status", "active") == "active")
    return list(dict.fromkeys(a for a in answers if a))


def official_sentences(replies: list[str]) -> list[str]:
    """The sentences spoken for these replies, as the audio routes cut them, each once."""
    return list(dict.fromkeys(s for reply in replies for s in sentences(reply)))


@dataclass
class Prepared:
    sentences: int = 0  # of the official replies
    made: int = 0  # synthesised in this pass
    ready: int = 0  # already there
    removed: int = 0  # audio of replies no longer in force
    seconds: float = 0.0


def prepare(speaker: Speaker, replies: list[str], quietly: bool = False, on_sentence: Callable[[int, int], None] | None = None) -> Prepared:
    """Make the audio of every sentence of these replies that is not yet made; then keep only theirs.
    `on_sentence(done, total)` after each sentence (progress)."""
    assert speaker.official is not None, "the speaker has no cache for official replies"
    started = time.perf_counter()
    todo = official_sentences(replies)
    result = Prepared(sentences=len(todo))
    for done, sentence in enumerate(todo, start=1):
        key = speaker.key(sentence)
        if key in speaker.official:
            result.ready += 1
        else:  # spoken on request before: copied, else synthesised
            data = speaker.cache.get(key) if speaker.cache else None
            speaker.official.put(key, data or wav_bytes(speaker.synthesise(sentence, quietly=quietly)))
            result.made += 1
        if on_sentence:
            on_sentence(done, len(todo))
    result.removed = speaker.official.keep({speaker.key(s) for s in todo})
    result.seconds = round(time.perf_counter() - started, 1)
    return result


def rehearse_in_background(speak: Callable[[list[str]], None], kb: KnowledgeBase, stop: threading.Event) -> threading.Thread:
    """The background job of `xiaobao serve`: a pass FIRST_AFTER seconds after start, then one every AGAIN_EVERY seconds until
    `stop` is set. This thread reads the replies in force; `speak(replies)` makes their audio — `xiaobao
    serve` does it in a child process at the lowest priority, because synthesis in the serving process
    (G2P is Python, under the serving threads' interpreter lock) halved a fresh server's throughput."""

    def run() -> None:
        stop.wait(FIRST_AFTER)
        while not stop.is_set():
            try:
                replies = official_replies(kb)
                log.info("official replies to speak ahead: %d", len(replies))
                speak(replies)
            except Exception:  # the job must not take the server down; requests synthesise on their own
                log.exception("speaking the official replies ahead failed; trying again in %.0f s", AGAIN_EVERY)
            stop.wait(AGAIN_EVERY)

    thread = threading.Thread(target=run, name="xiaobao-rehearsal", daemon=True)
    thread.start()
    return thread
