"""Lexical features: jieba search-mode tokens turned into BM25-weighted sparse vectors.

Token ids are a stable 32-bit hash of the token, so no vocabulary has to be stored or shared
between processes. Qdrant applies the IDF part (sparse vectors with the IDF modifier); we store
the saturated term frequency, so scores are BM25.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import jieba

# Function words and question words that carry no topic; kept short on purpose: every entry
# here is a word BM25 can never match on.
STOP_WORDS = frozenset(
    """
    的 了 是 在 和 与 或 及 等 我 你 他 她 它 我们 你们 他们 这 那 这个 那个
    吗 呢 吧 啊 呀 么 嘛 哦 请问 请 问 一下 怎么 怎么办 怎样 如何 什么 哪些 哪个 哪里
    是否 可以 能否 能 会 要 需要 有 没有 就 都 也 还 又 被 把 对 对于 为 为了 从 向 以
    之 其 该 此 并 而 但 如果 因为 所以 一个 个 了吗 谁
    """.split()
)
_WORD = re.compile(r"[\w\u4e00-\u9fff]")


class Tokenizer:
    """jieba in search mode (words plus their sub-words), stop words and punctuation removed."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            self._jieba.tmp_dir = str(cache_dir)

    def tokens(self, text: str) -> list[str]:
        out = []
        for token in self._jieba.lcut_for_search(text.lower()):
            token = token.strip()
            if token and token not in STOP_WORDS and _WORD.search(token):
                out.append(token)
        return out


def token_id(token: str) -> int:
    return zlib.crc32(token.encode("utf-8"))


class BM25Encoder:
    name = "bm25"

    def __init__(self, tokenizer: Tokenizer, k1: float = 1.2, b: float = 0.75, avg_len: float = 60.0) -> None:
        self.tokenizer = tokenizer
        self._k1, self._b, self._avg_len = k1, b, avg_len

    def encode_documents(self, texts: Sequence[str]) -> list[dict[int, float]]:
        vectors = []
        for text in texts:
            counts = Counter(self.tokenizer.tokens(text))
            length = sum(counts.values())
            norm = self._k1 * (1 - self._b + self._b * length / self._avg_len)
            vectors.append({token_id(t): tf * (self._k1 + 1) / (tf + norm) for t, tf in counts.items()})
        return vectors

    def encode_query(self, text: str) -> dict[int, float]:
        return {token_id(t): 1.0 for t in set(self.tokenizer.tokens(text))}
