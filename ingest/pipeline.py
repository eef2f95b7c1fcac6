"""Incremental ingestion: load files, embed only what changed, upsert, delete what disappeared.

Work is committed window by window (the embedding cache even batch by batch), so a cold ingest
that is stopped continues where it was: files already committed are skipped as unchanged, and the
chunks of a half-done window come back from the embedding cache.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import JSON, DateTime, Engine, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from xiaobao.db import Base
from xiaobao.ingest.loaders import SUPPORTED, Loaded, LoadFailed, LoadOptions, Problem, load_file
from xiaobao.ingest.screening import flags
from xiaobao.ingest.state import IngestedSource
from xiaobao.knowledge.base import KnowledgeBase
from xiaobao.knowledge.chunk import Chunk
from xiaobao.knowledge.index import IndexPoint

# Bump when loaders change what they produce, so unchanged files are re-chunked once.
# 2: text is no longer cut where it reads as an instruction; such chunks are flagged instead.
LOADER_VERSION = "3"  # 3: Q&A entries carry their similar phrasings (alternatives)


def index_signature(kb: KnowledgeBase) -> str:
    """Everything besides a chunk's content that decides its vectors: change any of it (another
    embedder, another view length, BM25 parameters…) and every chunk is written again."""
    s = kb.settings
    parts = (LOADER_VERSION, kb.embedder.model_id, s.embed_chars, s.statute_embed_chars, sorted(kb.sparse))
    parts += (s.bm25_k1, s.bm25_b, s.bm25_avg_len)
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


_SKIPPED_NAMES = ("readme", "manifest", "license", "licence")


@dataclass
class IngestSummary:
    files: int = 0
    files_unchanged: int = 0
    files_loaded: int = 0
    files_removed: int = 0
    files_failed: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    embedded: int = 0
    superseded: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)


def discover(paths: Iterable[Path]) -> list[tuple[Path, Path]]:
    """(file, root) for every supported file under the paths; README/MANIFEST/LICENSE files and
    hidden files are documentation about a corpus, not part of it."""
    found: dict[Path, Path] = {}
    for raw in paths:
        root = raw.resolve()
        if not root.exists():
            raise FileNotFoundError(f"路径不存在：{raw}")
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            hidden = any(part.startswith(".") for part in path.relative_to(root.parent).parts)
            if path.suffix.lower() in SUPPORTED and not hidden and not path.stem.lower().startswith(_SKIPPED_NAMES):
                found.setdefault(path, root if root.is_dir() else root.parent)
    return list(found.items())


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Ingestor:
    def __init__(self, kb: KnowledgeBase, db_engine: Engine, window: int = 2048) -> None:
        self.kb = kb
        self.db_engine = db_engine
        self.window = window
        s = kb.settings
        self.options = LoadOptions(s.chunk_chars, s.chunk_overlap, s.article_max_chars)
        self.signature = index_signature(kb)

    def ingest(self, paths: Iterable[Path], on_progress: Callable[[str, int], None] | None = None) -> IngestSummary:
        """Bring the index in step with the files under `paths`. `on_progress(kind, n)` reports
        ("file", 1) per file done and ("embedded", n) as chunks get embedded."""
        started = time.perf_counter()
        notify = on_progress or (lambda kind, n: None)
        summary = IngestSummary()
        paths = [Path(p) for p in paths]
        files = discover(paths)
        summary.files = len(files)
        with Session(self.db_engine) as session:
            state = {
                row.source: row for row in session.scalars(select(IngestedSource).where(IngestedSource.collection == self.kb.collection))
            }
            touched_versions: set[str] = set()
            pending: list[tuple[str, str, Loaded]] = []
            pending_chunks = 0
            for path, root in files:
                source = str(path)
                digest = file_hash(path)
                row = state.get(source)
                if row and row.file_hash == digest and row.signature == self.signature:
                    summary.files_unchanged += 1
                    summary.unchanged += len(row.chunks)
                    notify("file", 1)
                    continue
                try:
                    loaded = load_file(path, source, root, self.options)
                except LoadFailed as exc:
                    summary.files_failed += 1
                    summary.problems.append(Problem(exc.path, exc.line, exc.message))
                    notify("file", 1)
                    continue
                summary.problems += loaded.problems + flag(loaded, path)
                pending.append((source, digest, loaded))
                pending_chunks += len(loaded.chunks)
                if pending_chunks >= self.window:
                    self._commit(session, state, pending, summary, touched_versions, notify)
                    pending, pending_chunks = [], 0
            self._commit(session, state, pending, summary, touched_versions, notify)

            present = {str(path) for path, _ in files}
            roots = [str(p.resolve()) for p in paths if p.resolve().is_dir()]
            for source, row in list(state.items()):
                if source not in present and any(source.startswith(r.rstrip("/") + "/") for r in roots):
                    self.kb.index.delete(list(row.chunks))
                    summary.deleted += len(row.chunks)
                    summary.files_removed += 1
                    if row.version_key:
                        touched_versions.add(row.version_key)
                    self._unflag(session, source)
                    session.delete(row)
                    del state[source]
            session.commit()
            summary.superseded = self._apply_versions(session, state, touched_versions)
            session.commit()
        summary.seconds = time.perf_counter() - started
        return summary

    def put(self, source: str, chunks: list[Chunk]) -> IngestSummary:
        """Index chunks that come from the database rather than a file (a published Q&A entry),
        through the same write path as a file's: only changed chunks are embedded again."""
        summary = IngestSummary(files=1)
        digest = hashlib.sha256("".join(c.content_hash for c in chunks).encode()).hexdigest()
        with Session(self.db_engine) as session:
            state = {row.source: row for row in session.scalars(self._rows(source))}
            self._commit(session, state, [(source, digest, Loaded(chunks))], summary, set(), lambda kind, n: None)
        return summary

    def drop(self, source: str) -> int:
        """Remove a source's chunks from the index; returns how many there were."""
        with Session(self.db_engine) as session:
            row = session.scalar(self._rows(source))
            if row is None:
                return 0
            self.kb.index.delete(list(row.chunks))
            self._unflag(session, source)
            session.delete(row)
            session.commit()
            return len(row.chunks)

    def _unflag(self, session: Session, source: str) -> None:
        session.execute(delete(FlaggedChunk).where(FlaggedChunk.collection == self.kb.collection, FlaggedChunk.source == source))

    def _rows(self, source: str):
        return select(IngestedSource).where(IngestedSource.collection == self.kb.collection, IngestedSource.source == source)

    def view(self, chunk: Chunk) -> str:
        """The text the dense embedder reads: the leading characters of the chunk's embedding view."""
        s = self.kb.settings
        limit = s.statute_embed_chars if chunk.doc_type == "statute" else s.embed_chars
        return (chunk.embed_text or chunk.text)[:limit]

    def _fingerprint(self, chunk: Chunk) -> str:
        return f"{chunk.content_hash}:{self.signature}"

    def _commit(self, db, state, pending, summary, touched_versions, notify) -> None:
        """Embed, upsert and record one window of loaded files."""
        if not pending:
            return
        writes: list[Chunk] = []
        deletes: list[str] = []
        for source, _digest, loaded in pending:
            old = state[source].chunks if source in state else {}
            new = {c.id: c for c in loaded.chunks}
            for chunk_id, chunk in new.items():
                if old.get(chunk_id) == self._fingerprint(chunk):
                    summary.unchanged += 1
                else:
                    writes.append(chunk)
                    summary.updated += chunk_id in old
                    summary.added += chunk_id not in old
            deletes += [chunk_id for chunk_id in old if chunk_id not in new]

        def embedded(n: int) -> None:
            summary.embedded += n
            notify("embedded", n)

        views = [self.view(c) for c in writes]
        vectors = self.kb.embedder.embed_passages(views, on_progress=embedded)
        sparse = {
            name: enc.encode_documents([lexical_text(c) if name == "bm25" else v for c, v in zip(writes, views, strict=True)])
            for name, enc in self.kb.sparse.items()
        }
        points = [IndexPoint(c.id, c.payload(), vectors[i], {name: vecs[i] for name, vecs in sparse.items()}) for i, c in enumerate(writes)]
        for start in range(0, len(points), 512):
            self.kb.index.upsert(points[start : start + 512])
        self.kb.index.delete(deletes)
        summary.deleted += len(deletes)

        now = dt.datetime.now(dt.UTC)
        # the editors' list of flagged chunks follows the files: what a file's new version no longer flags goes
        sources = [source for source, _digest, _loaded in pending]
        db.execute(delete(FlaggedChunk).where(FlaggedChunk.collection == self.kb.collection, FlaggedChunk.source.in_(sources)))
        for source, _digest, loaded in pending:
            for c in loaded.chunks:
                if c.meta.get("flags"):
                    db.add(FlaggedChunk(collection=self.kb.collection, chunk_id=c.id, source=source, citation=c.citation[:500],
                                        flags=c.meta["flags"], flagged_at=now))  # fmt: skip
        for source, digest, loaded in pending:
            row = state.get(source) or IngestedSource(collection=self.kb.collection, source=source)
            row.file_hash, row.signature = digest, self.signature
            row.version_key, row.version_date = loaded.version_key, loaded.version_date
            row.status = "active"  # fresh chunks are active; _apply_versions corrects older versions
            row.chunks = {c.id: self._fingerprint(c) for c in loaded.chunks}
            row.ingested_at = now
            state[source] = db.merge(row)
            if loaded.version_key:
                touched_versions.add(loaded.version_key)
            summary.files_loaded += 1
            notify("file", 1)
        db.commit()

    def _apply_versions(self, db, state, keys: set[str]) -> int:
        """Of several versions of one document, the newest is active, the others superseded
        (kept, and searchable only when asked for). An undated version loses to a dated one;
        between equal dates the larger one wins."""
        superseded = 0
        by_key: dict[str, list[IngestedSource]] = {}
        for row in state.values():
            if row.version_key in keys:
                by_key.setdefault(row.version_key, []).append(row)
        for rows in by_key.values():
            newest = max(rows, key=lambda r: (r.version_date is not None, r.version_date or "", len(r.chunks), r.source))
            for row in rows:
                status = "active" if row is newest else "superseded"
                superseded += status == "superseded"
                if status == "superseded" or row.status != status:
                    self.kb.index.set_status(row.source, status)
                    row.status = status
        return superseded


class FlaggedChunk(Base):
    """A chunk whose official text reads as an instruction to the model (忽略之前的指令…): it is
    indexed exactly as published, and listed here for the editors to look at."""

    __tablename__ = "flagged_chunks"

    collection: Mapped[str] = mapped_column(String(100), primary_key=True)
    chunk_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    source: Mapped[str] = mapped_column(String(1000), index=True)
    citation: Mapped[str] = mapped_column(String(500))
    flags: Mapped[list] = mapped_column(JSON, default=list)
    flagged_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


def flag(loaded: Loaded, path: Path) -> list[Problem]:
    """Mark the chunks whose text (or Q&A answer) reads as an instruction to the model: the text stays
    exactly as published (official text is never altered), the chunk carries `flags` in its payload
    ([{"reason": "instruction_like", "span", "sentence", "field"}]) and each flag is reported. The
    prompt frames passages as data either way."""
    problems = []
    for chunk in loaded.chunks:
        found = [{**f, "field": "text"} for f in flags(chunk.text)]
        if "answer" in chunk.meta:
            found += [{**f, "field": "answer"} for f in flags(str(chunk.meta["answer"]))]
        for f in found:
            f.pop("at", None)
        if found:
            chunk.meta["flags"] = found
        else:
            chunk.meta.pop("flags", None)
        problems += [Problem(path, None, f"疑似指令注入，已标记待编辑核查（原文未改动）：{f['sentence'][:60]}") for f in found]
    return problems


def flagged_chunks(db_engine: Engine, collection: str | None = None, limit: int = 500) -> list[dict]:
    """The flagged chunks, newest first, for the editor console: where, what was flagged, when."""
    query = select(FlaggedChunk).order_by(FlaggedChunk.flagged_at.desc(), FlaggedChunk.source).limit(limit)
    if collection:
        query = query.where(FlaggedChunk.collection == collection)
    with Session(db_engine) as session:
        return [
            {
                "collection": row.collection,
                "chunk_id": row.chunk_id,
                "source": row.source,
                "citation": row.citation,
                "flags": row.flags,
                "flagged_at": row.flagged_at.isoformat(),
            }
            for row in session.scalars(query)
        ]


def lexical_text(chunk: Chunk) -> str:
    """What BM25 reads: the title too, so a question that names the law or item finds it."""
    return chunk.text if chunk.doc_type == "qa" or chunk.title in chunk.text else f"{chunk.title}\n{chunk.text}"
