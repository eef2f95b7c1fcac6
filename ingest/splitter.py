"""A Chinese-aware splitter: cuts at sentence ends (。！？；and line breaks), never inside a sentence."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|\n+")


def sentences(text: str) -> list[str]:
    """Sentences with their end punctuation; closing quotes and brackets stay with their sentence."""
    parts = [p.strip() for p in _SENTENCE_END.split(text)]
    out: list[str] = []
    for part in parts:
        if not part:
            continue
        if out and part[0] in "”’」』）)】":
            out[-1] += part[0]
            part = part[1:].strip()
            if not part:
                continue
        out.append(part)
    return out


def split(text: str, size: int = 400, overlap: int = 1) -> list[str]:
    """Pack whole sentences into chunks of at most `size` characters; neighbouring chunks share
    `overlap` sentences. A single sentence longer than `size` becomes a chunk of its own."""
    if size <= 0 or overlap < 0:
        raise ValueError("size must be positive and overlap non-negative")
    items = sentences(text)
    chunks: list[str] = []
    start = 0
    while start < len(items):
        end, length = start, 0
        while end < len(items) and (end == start or length + len(items[end]) <= size):
            length += len(items[end])
            end += 1
        chunks.append("".join(items[start:end]))
        if end >= len(items):
            break
        start = max(end - overlap, start + 1)
    return chunks
