"""Checking a generated answer against its passages. A sentence stays only if a passage supports it
(holds its topic terms — what it is about, not just generic words like 办理/窗口/宝山区 —, most of its
key terms, every number and every 《title》 in it); it then cites that passage. Internal ids (bj-faq-…,
qa-0025, kb-00001, chunk groups) never reach the citizen. The model's own marks are
tried first; a small model often omits them or cites the wrong number, so a sentence without a
supporting mark is attributed to the passage that does support it, and cut if none does."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from xiaobao.assistant.answerability import loosely_covered, topic_terms
from xiaobao.ingest.splitter import sentences
from xiaobao.knowledge.lexical import Tokenizer

MARK = re.compile(r"\s*[\[【［](\d{1,2})[\]】］]")
# A sentence is supported when this share of its key terms (jieba words of 2+ characters) appears
# in the passages it cites (short sentences need at least MIN_SHARED such terms), and every number
# in it (amounts, days, ages) appears there too: numbers are what a small model gets wrong.
SUPPORT_SHARE = 0.7
MIN_SHARED = 2
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# a policy or law named in a sentence must be named in the passage too: an invented 《办法》 is the
# most convincing thing a model can make up
_TITLE = re.compile(r"《[^》]{2,60}》")
# A sentence's topic terms must all be in its passage: as written, as their parts (养犬登记 → 养犬, 登记),
# or, for a model's small paraphrases (九十岁 for 九十周岁), character by character. A sentence whose
# topic word is missing (养犬, 人才, 小学) is about something else, however many generic words it shares.
# ids of records, Q&A entries and chunks: internal, never shown (the citation list names the source)
INTERNAL_ID = re.compile(
    r"(?<![A-Za-z0-9])(?:(?i:bj-faq(?:-q)?-\d+|qa-\d+|kb-\d+)|[a-z]{2,}(?:-[a-z]+)*-\d{3,}|(?:qa|guide|record|statute|doc):[\w.:/#-]+)"
)


@dataclass
class CheckedAnswer:
    text: str
    numbers: list[int] = field(default_factory=list)  # the passage numbers the kept text cites
    kept: int = 0
    attributed: int = 0  # kept sentences whose citation we set because the model's was missing or wrong
    dropped: list[str] = field(default_factory=list)


def key_terms(tokenizer: Tokenizer, text: str) -> set[str]:
    return {t for t in tokenizer.tokens(text) if len(t) >= 2 and not t.isdigit()}


def scrub_ids(text: str) -> str:
    """The text without internal ids (and the empty brackets or doubled spaces they leave)."""
    out = INTERNAL_ID.sub("", text)
    out = re.sub(r"[（(]\s*[)）]|【\s*】", "", out)
    out = re.sub(r"[ \t]+([，。；、：！？）])", r"\1", out)
    return re.sub(r"[ \t]{2,}", " ", out).strip()


def topic_supported(tokenizer: Tokenizer, sentence: str, passage: str) -> bool:
    """Every topic term of the sentence is in the passage (see above)."""
    return all(loosely_covered(tokenizer, t, passage) for t in topic_terms(tokenizer, sentence))


def support(tokenizer: Tokenizer, sentence: str, passage: str) -> float:
    """The share of the sentence's key terms found in the passage; 0 when it is not supported."""
    terms = key_terms(tokenizer, sentence)
    if not terms or any(number not in passage for number in _NUMBER.findall(sentence)):
        return 0.0
    if any(title not in passage for title in _TITLE.findall(sentence)):
        return 0.0
    if not topic_supported(tokenizer, sentence, passage.lower()):
        return 0.0
    shared = {t for t in terms if t in passage}
    share = len(shared) / len(terms)
    return share if len(shared) >= min(MIN_SHARED, len(terms)) and share >= SUPPORT_SHARE else 0.0


def _pieces(answer: str) -> list[str]:
    """Sentences with their citation marks; a mark that opens a sentence belongs to the one before."""
    out: list[str] = []
    for sentence in sentences(answer):
        lead = re.match(r"^((?:\s*[\[【［]\d{1,2}[\]】］])+)(.*)$", sentence)
        if lead and out:
            out[-1] += lead.group(1)
            sentence = lead.group(2).strip()
        if sentence:
            out.append(sentence)
    return out


def check(answer: str, passages: list[str], tokenizer: Tokenizer) -> CheckedAnswer:
    result = CheckedAnswer("")
    kept: list[str] = []
    for sentence in _pieces(answer):
        marked = [int(n) for n in dict.fromkeys(MARK.findall(sentence)) if 1 <= int(n) <= len(passages)]
        body = scrub_ids(MARK.sub("", sentence))
        scores = {n: support(tokenizer, body, passages[n - 1]) for n in range(1, len(passages) + 1)}
        cite = [n for n in marked if scores[n] > 0]
        if not cite:
            best = max(scores, key=lambda n: scores[n], default=None)
            if best is None or scores[best] == 0:
                result.dropped.append(sentence)
                continue
            cite = [best]
            result.attributed += 1
        ending = body[-1] if body and body[-1] in "。！？；.!?;" else ""
        core = body[:-1] if ending else body
        kept.append(core + "".join(f"[{n}]" for n in cite) + (ending or "。"))
        result.numbers += [n for n in cite if n not in result.numbers]
    result.text = "".join(kept)
    result.kept = len(kept)
    return result


class CheckedStream:
    """The answer checked sentence by sentence while the model writes it: each sentence is released
    once the next one has begun, checked as `check` does, and — if kept — renumbered in the order
    passages are first cited. What it releases is therefore exactly the final answer's text, in order:
    nothing shown is later withdrawn. `refuse` names a word a sentence must not say (the output
    filter); such a sentence is withheld like an unsupported one."""

    def __init__(self, passages: list[str], tokenizer: Tokenizer, refuse: Callable[[str], str | None]) -> None:
        self.passages, self.tokenizer, self.refuse = passages, tokenizer, refuse
        self.written = ""  # what the model has written and is not yet released
        self.shown: list[str] = []
        self.cited: list[int] = []  # passage numbers in the order the shown text first cites them
        self.attributed = 0
        self.dropped: list[str] = []
        self.sensitive: list[str] = []

    def feed(self, token: str) -> list[str]:
        self.written += token
        pieces = _pieces(self.written)
        # the last piece may be unfinished, and a citation mark may still be arriving for the one before
        if len(pieces) < 2 or pieces[-1].lstrip()[:1] in "[【［":
            return []
        self.written = pieces[-1]
        return self._release("".join(pieces[:-1]))

    def finish(self) -> list[str]:
        done, self.written = self.written, ""
        return self._release(done)

    def _release(self, text: str) -> list[str]:
        checked = check(text, self.passages, self.tokenizer)
        self.attributed += checked.attributed
        self.dropped += checked.dropped
        released = []
        for sentence in _pieces(checked.text):
            if word := self.refuse(MARK.sub("", sentence)):
                self.sensitive.append(word)
                self.dropped.append(sentence)
                continue
            for n in map(int, MARK.findall(sentence)):
                if n not in self.cited:
                    self.cited.append(n)
            released.append(MARK.sub(lambda m: f"[{self.cited.index(int(m.group(1))) + 1}]", sentence))
        self.shown += released
        return released

    @property
    def text(self) -> str:
        return "".join(self.shown)
