"""`xiaobao bench`: ingest throughput (cold, unchanged, rebuilt from cache), search latency, peak memory."""

from __future__ import annotations

import resource
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from xiaobao.eval.questions import load_questions
from xiaobao.eval.retrieval import ingest_quietly
from xiaobao.operations.metrics import percentile
from xiaobao.services import Services
from xiaobao.settings import Settings

COLLECTION = "bench"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _drop_index(settings: Settings) -> None:
    """Forget the bench collection (index and ingest state); the embedding cache is kept."""
    from sqlalchemy import delete
    from sqlalchemy.orm import Session

    from xiaobao.ingest.state import IngestedSource

    shutil.rmtree(settings.qdrant_path / COLLECTION, ignore_errors=True)
    with Services(settings) as services, Session(services.db_engine) as session:
        session.execute(delete(IngestedSource).where(IngestedSource.collection == COLLECTION))
        session.commit()


def _ingest(settings: Settings, corpus: Sequence[Path], ingest: Callable | None) -> dict:
    with Services(settings, collection=COLLECTION) as services:
        summary = (ingest or ingest_quietly)(services, list(corpus))
        chunks = summary.added + summary.updated + summary.unchanged
    return {
        "seconds": round(summary.seconds, 1),
        "chunks": chunks,
        "embedded": summary.embedded,
        "chunks_per_s": round(chunks / summary.seconds, 1) if summary.seconds else None,
        "peak_rss_mb": round(peak_rss_mb()),
    }


def run_bench(
    settings: Settings,
    corpus: Sequence[Path],
    queries_file: Path,
    cold: bool = True,
    ingest: Callable | None = None,
    console=None,
    n_queries: int = 300,
) -> dict:
    say = console.print if console else (lambda *a: None)
    result: dict = {
        "corpus": [str(p) for p in corpus],
        "statute_embed_chars": settings.statute_embed_chars,
        "embed_threads": settings.embed_threads,
    }
    if cold:
        _drop_index(settings)
        shutil.rmtree(settings.cache_dir, ignore_errors=True)
        say("冷启动导入（空缓存、空索引）…")
        result["cold"] = _ingest(settings, corpus, ingest)
    say("再次导入（无变化）…")
    result["unchanged"] = _ingest(settings, corpus, ingest)
    say("从嵌入缓存重建索引…")
    _drop_index(settings)
    result["rebuild_from_cache"] = _ingest(settings, corpus, ingest)

    queries = [q.text for q in load_questions(queries_file, n_queries)]
    with Services(settings, collection=COLLECTION) as services:
        kb = services.kb
        result["index_points"] = kb.index.count()
        kb.retriever.search(queries[0], 10)  # warm-up: jieba's dictionary
        for name, weights in (("default", None), ("bm25", {"bm25": 1.0}), ("dense", {"dense": 1.0})):
            latencies = []
            for text in queries:
                started = time.perf_counter()
                kb.retriever.search(text, 10, weights=weights)
                latencies.append((time.perf_counter() - started) * 1000)
            result[f"search_{name}_ms"] = {"p50": round(percentile(latencies, 50), 1), "p95": round(percentile(latencies, 95), 1)}
    result["peak_rss_mb"] = round(peak_rss_mb())
    return result
