import json

from tests.conftest import write
from xiaobao.eval.bench import run_bench
from xiaobao.knowledge import base as knowledge_base


def test_bench_reports_every_phase(settings, fake_embedder, monkeypatch, tmp_path):
    monkeypatch.setattr(knowledge_base, "build_embedder", lambda s: fake_embedder)
    corpus = tmp_path / "corpus"
    for i in range(3):
        write(corpus / f"{i}.txt", f"第{i}份文件。内容不同{i}。")
    queries = write(tmp_path / "q.jsonl", json.dumps({"question": "文件内容", "relevant": ["x"]}, ensure_ascii=False))
    result = run_bench(settings, [corpus], queries)
    assert result["cold"]["chunks"] == 3 and result["cold"]["embedded"] == 3
    assert result["unchanged"]["embedded"] == 0
    assert result["rebuild_from_cache"]["embedded"] == 0 and result["index_points"] == 3
    assert result["search_default_ms"]["p95"] >= result["search_default_ms"]["p50"] > 0
    assert result["peak_rss_mb"] > 0
