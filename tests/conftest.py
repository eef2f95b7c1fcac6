from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from settings import Settings

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


class FakeEmbedder:
    """A test fake, honest about being one: hashes character bigrams into 64 dimensions.
    Texts sharing characters land near each other, which is all the pipeline tests need."""

    model_id = "fake-bigram-64"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0
        self.texts = 0

    def _embed(self, texts) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for a, b in zip(text, text[1:], strict=False):
                out[row, int(hashlib.md5((a + b).encode()).hexdigest()[:6], 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)

    def embed_queries(self, texts):
        return self._embed(list(texts))

    def embed_passages(self, texts):
        return self._embed(list(texts))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var")


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def kb(settings, fake_embedder):
    from knowledge.base import KnowledgeBase

    with KnowledgeBase(settings, embedder=fake_embedder) as base:
        yield base


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


STATUTE = """# 示例市物业管理条例

2020年1月1日 示例市人大常委会通过

<!-- INFO END -->

## 第一章  总则

第一条 为了规范物业管理活动，维护业主的合法权益，制定本条例。

第二条 本条例适用于本市行政区域内的物业管理活动。

业主大会应当依法履行职责。

## 第二章  业主

第三条 业主可以委托物业服务企业管理共有部分。

第十条之一 物业服务企业不得擅自停水停电。
"""

needs_shared_data = pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is not present")
