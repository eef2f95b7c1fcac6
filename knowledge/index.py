"""The vector index: Qdrant, embedded (Qdrant Edge, in-process) or a server (qdrant-client).

Both speak the same protocol, so the rest of the code never knows which one it has. We embed
Qdrant Edge rather than qdrant-client's local mode because local mode is a pure-Python
emulation: at 68k chunks it answered in 0.5-0.9 s, took 116 s to upsert and 13 s to reopen,
where Edge (the real engine) answered in 2-3 ms, upserted in 5 s and reopened in 0.2 s.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

DENSE = "dense"
SPARSE_SIGNALS = ("bm25", "e5_sparse")
KEYWORD_FIELDS = ("doc_type", "department", "item", "status", "source", "group", "law")
INTEGER_FIELDS = ("effective_from", "effective_to")


class IndexUnavailable(RuntimeError):
    """The index cannot be opened or used; the message says why in Chinese."""


@dataclass
class SearchFilter:
    doc_types: list[str] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    include_superseded: bool = False
    on_date: dt.date | None = None


@dataclass
class IndexPoint:
    id: str
    payload: dict
    dense: Sequence[float] | None = None
    sparse: dict[str, dict[int, float]] = field(default_factory=dict)


@dataclass
class IndexHit:
    id: str
    score: float
    payload: dict


class Index(Protocol):
    def upsert(self, points: Sequence[IndexPoint]) -> None: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def set_status(self, source: str, status: str) -> None: ...

    def search(self, using: str, query: Sequence[float] | dict[int, float], limit: int, flt: SearchFilter) -> list[IndexHit]: ...

    def count(self) -> int: ...

    def facet(self, key: str, doc_types: Sequence[str] | None = None, limit: int = 100_000) -> dict[str, int]:
        """Points per value of a payload field (active points only; optionally of some doc types)."""
        ...

    def close(self) -> None: ...


def date_int(value: dt.date | str | None) -> int | None:
    """Dates are stored as YYYYMMDD integers: range filters on them work alike in every engine."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return value.year * 10000 + value.month * 100 + value.day


def _vectors(point: IndexPoint, m) -> dict:
    """A point's named vectors in the vocabulary of an engine's model adapter `m`."""
    vectors = {name: m.sparse_vector(weights) for name, weights in point.sparse.items() if weights}
    if point.dense is not None:
        vectors[DENSE] = [float(x) for x in point.dense]
    return vectors


def _query_vector(query: Sequence[float] | dict[int, float], m):
    return m.sparse_vector(query) if isinstance(query, dict) else [float(x) for x in query]


def _filter(flt: SearchFilter, m):
    """The search filter in the vocabulary of an engine's model adapter `m`; None if it filters nothing."""
    must, must_not = [], []
    for key, values in (("doc_type", flt.doc_types), ("department", flt.departments), ("item", flt.items)):
        if values:
            must.append(m.match(key, values))
    if not flt.include_superseded:
        must_not.append(m.match("status", ["superseded"]))
    if flt.on_date is not None:
        day = date_int(flt.on_date)
        must.append(m.filter(should=[m.is_empty("effective_from"), m.range("effective_from", lte=day)]))
        must.append(m.filter(should=[m.is_empty("effective_to"), m.range("effective_to", gte=day)]))
    return m.filter(must=must, must_not=must_not) if must or must_not else None


def _facet_filter(doc_types, m):
    must = [m.match("status", ["active"])]
    if doc_types:
        must.append(m.match("doc_type", list(doc_types)))
    return m.filter(must=must)


class _EdgeModels:
    def __init__(self) -> None:
        import qdrant_edge as q

        self.q = q

    def match(self, key, values):
        q = self.q
        return q.FieldCondition(key=key, match=q.MatchAny(any=list(values)))

    def range(self, key, gte=None, lte=None):
        return self.q.FieldCondition(key=key, range=self.q.RangeFloat(gte=gte, lte=lte))

    def is_empty(self, key):
        return self.q.IsEmptyCondition(key=key)

    def filter(self, must=None, should=None, must_not=None):
        return self.q.Filter(must=must or None, should=should or None, must_not=must_not or None)

    def sparse_vector(self, weights: dict[int, float]):
        return self.q.SparseVector(indices=list(weights), values=list(weights.values()))


class EdgeIndex:
    """An embedded Qdrant Edge shard in a directory. One process opens it at a time."""

    def __init__(self, path: Path, dim: int, sparse: Sequence[str] = ("bm25",)) -> None:
        import qdrant_edge as q

        self._q = q
        self._m = _EdgeModels()
        config = q.EdgeConfig(
            vectors={DENSE: q.EdgeVectorParams(size=dim, distance=q.Distance.Cosine)},
            sparse_vectors={name: q.EdgeSparseVectorParams(modifier=q.Modifier.Idf if name == "bm25" else None) for name in sparse},
        )
        try:
            if path.exists() and any(path.iterdir()):
                self._shard = q.EdgeShard.load(str(path), config)
            else:
                path.mkdir(parents=True, exist_ok=True)
                self._shard = q.EdgeShard.create(str(path), config)
                for name in KEYWORD_FIELDS:
                    self._shard.update(q.UpdateOperation.create_field_index(name, q.PayloadSchemaType.Keyword))
                for name in INTEGER_FIELDS:
                    self._shard.update(q.UpdateOperation.create_field_index(name, q.PayloadSchemaType.Integer))
        except Exception as exc:  # the engine raises plain exceptions with English text
            raise IndexUnavailable(f"无法打开知识索引 {path}：{exc}。如果另一个小宝进程正在使用同一数据目录，请先停止它。") from exc

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        if points:
            batch = [self._q.Point(id=p.id, vector=_vectors(p, self._m), payload=p.payload) for p in points]
            self._shard.update(self._q.UpdateOperation.upsert_points(batch))

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self._shard.update(self._q.UpdateOperation.delete_points(list(ids)))

    def set_status(self, source: str, status: str) -> None:
        flt = self._m.filter(must=[self._m.match("source", [source])])
        self._shard.update(self._q.UpdateOperation.set_payload_by_filter(flt, {"status": status}))

    def search(self, using, query, limit, flt):
        if isinstance(query, dict) and not query:
            return []  # a question without one known word
        q = self._q
        request = q.QueryRequest(
            limit=limit,
            query=q.Query.Nearest(_query_vector(query, self._m), using=using),
            filter=_filter(flt, self._m),
            with_payload=True,
        )
        return [IndexHit(str(p.id), float(p.score), dict(p.payload or {})) for p in self._shard.query(request)]

    def count(self) -> int:
        return self._shard.count(self._q.CountRequest(exact=True))

    def facet(self, key, doc_types=None, limit=100_000):
        flt = _facet_filter(doc_types, self._m)
        response = self._shard.facet(self._q.FacetRequest(key, limit=limit, exact=True, filter=flt))
        return {str(hit.value): hit.count for hit in response.hits}

    def optimize(self) -> None:
        """Merge segments and build the HNSW graph; worth it after a large ingest."""
        self._shard.optimize()

    def close(self) -> None:
        self._shard.flush()
        self._shard.close()


class _ClientModels:
    def __init__(self) -> None:
        from qdrant_client import models

        self.m = models

    def match(self, key, values):
        return self.m.FieldCondition(key=key, match=self.m.MatchAny(any=list(values)))

    def range(self, key, gte=None, lte=None):
        return self.m.FieldCondition(key=key, range=self.m.Range(gte=gte, lte=lte))

    def is_empty(self, key):
        return self.m.IsEmptyCondition(is_empty=self.m.PayloadField(key=key))

    def filter(self, must=None, should=None, must_not=None):
        return self.m.Filter(must=must or None, should=should or None, must_not=must_not or None)

    def sparse_vector(self, weights: dict[int, float]):
        return self.m.SparseVector(indices=list(weights), values=list(weights.values()))


class ServerIndex:
    """A collection on a Qdrant server (or anything qdrant-client opens, e.g. ":memory:" in tests)."""

    def __init__(self, client, collection: str, dim: int, sparse: Sequence[str] = ("bm25",)) -> None:
        from qdrant_client import models

        self._client, self._name, self._models = client, collection, models
        self._m = _ClientModels()
        try:
            exists = client.collection_exists(collection)
        except Exception as exc:
            raise IndexUnavailable(f"无法连接 Qdrant 服务：{exc}") from exc
        if not exists:
            client.create_collection(
                collection,
                vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
                sparse_vectors_config={
                    name: models.SparseVectorParams(modifier=models.Modifier.IDF if name == "bm25" else None) for name in sparse
                },
            )
            with warnings.catch_warnings():  # qdrant-client's local mode warns that it ignores indexes
                warnings.simplefilter("ignore")
                for name in KEYWORD_FIELDS:
                    client.create_payload_index(collection, name, models.PayloadSchemaType.KEYWORD)
                for name in INTEGER_FIELDS:
                    client.create_payload_index(collection, name, models.PayloadSchemaType.INTEGER)

    @classmethod
    def connect(cls, url: str, api_key: str | None, collection: str, dim: int, sparse: Sequence[str] = ("bm25",)) -> ServerIndex:
        from qdrant_client import QdrantClient

        return cls(QdrantClient(url=url, api_key=api_key), collection, dim, sparse)

    def upsert(self, points):
        if points:
            batch = [self._models.PointStruct(id=p.id, vector=_vectors(p, self._m), payload=p.payload) for p in points]
            self._client.upsert(self._name, batch)

    def delete(self, ids):
        if ids:
            self._client.delete(self._name, points_selector=self._models.PointIdsList(points=list(ids)))

    def set_status(self, source, status):
        flt = self._m.filter(must=[self._m.match("source", [source])])
        self._client.set_payload(self._name, payload={"status": status}, points=flt)

    def search(self, using, query, limit, flt):
        if isinstance(query, dict) and not query:
            return []  # a question without one known word
        result = self._client.query_points(
            self._name,
            query=_query_vector(query, self._m),
            using=using,
            limit=limit,
            query_filter=_filter(flt, self._m),
            with_payload=True,
        )
        return [IndexHit(str(p.id), float(p.score), dict(p.payload or {})) for p in result.points]

    def facet(self, key, doc_types=None, limit=100_000):
        flt = _facet_filter(doc_types, self._m)
        response = self._client.facet(self._name, key, facet_filter=flt, limit=limit, exact=True)
        return {str(hit.value): hit.count for hit in response.hits}

    def count(self):
        return self._client.count(self._name, exact=True).count

    def close(self):
        self._client.close()


def open_index(settings, dim: int, collection: str | None = None) -> Index:
    """The index the settings describe: a server when XIAOBAO_QDRANT_URL is set, else embedded."""
    name = collection or settings.collection
    sparse = SPARSE_SIGNALS if settings.e5_sparse else ("bm25",)
    if settings.qdrant_url:
        return ServerIndex.connect(settings.qdrant_url, settings.qdrant_api_key, name, dim, sparse)
    return EdgeIndex(settings.qdrant_path / name, dim, sparse)
