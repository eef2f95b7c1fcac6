"""Checking a generated answer against its passages: every sentence must cite a passage number that
exists, and the cited passage must contain the sentence's key terms. Sentences that fail are cut."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.splitter import sentences
from knowledge.lexical import Tokenizer

MARK = re.compile(r"\s*[\[【［](\d{1,2})[\]】］]")
# A sentence is supported when this share of its key terms (jieba words of 2+ characters) appears
# in the passages it cites (short sentences need at least MIN_SHARED such terms), and every number
# in it (amounts, days, ages) appears there too: numbers are what a small model gets wrong.
SUPPORT_SHARE = 0.7
MIN_SHARED = 2
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass
class CheckedAnswer:
    text: str
    numbers: list[int] = field(default_factory=list)  # the passage numbers the kept text cites
    kept: int = 0
    dropped: list[str] = field(default_factory=list)


def key_terms(tokenizer: Tokenizer, text: str) -> set[str]:
    return {t for t in tokenizer.tokens(text) if len(t) >= 2 and not t.isdigit()}


def supported(tokenizer: Tokenizer, sentence: str, passages: list[str]) -> bool:
    terms = key_terms(tokenizer, sentence)
    if not terms:
        return False
    cited = "\n".join(passages)
    if any(number not in cited for number in _NUMBER.findall(sentence)):
        return False
    shared = {t for t in terms if t in cited}
    return len(shared) >= min(MIN_SHARED, len(terms)) and len(shared) / len(terms) >= SUPPORT_SHARE


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
        numbers = [int(n) for n in MARK.findall(sentence)]
        body = MARK.sub("", sentence).strip()
        valid = [n for n in dict.fromkeys(numbers) if 1 <= n <= len(passages)]
        if valid and supported(tokenizer, body, [passages[n - 1] for n in valid]):
            ending = body[-1] if body and body[-1] in "。！？；.!?;" else ""
            core = body[:-1] if ending else body
            kept.append(core + "".join(f"[{n}]" for n in valid) + (ending or "。"))
            result.numbers += [n for n in valid if n not in result.numbers]
        else:
            result.dropped.append(sentence)
    result.text = "".join(kept)
    result.kept = len(kept)
    return result
