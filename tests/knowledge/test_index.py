import datetime as dt

import pytest

from xiaobao.knowledge.index import EdgeIndex, IndexPoint, SearchFilter, ServerIndex


@pytest.fixture(params=["edge", "server"])
def index(request, tmp_path):
    """The same contract for the embedded engine and the server client (qdrant-client's in-memory
    mode stands in for a server here; it implements the same API)."""
    if request.param == "edge":
        idx = EdgeIndex(tmp_path / "shard", dim=3)
    else:
        from qdrant_client import QdrantClient

        idx = ServerIndex(QdrantClient(location=":memory:"), "test", dim=3)
    yield idx
    idx.close()


ID = [f"00000000-0000-0000-0000-00000000000{i}" for i in range(6)]


def point(i, doc_type="statute", vector=(1.0, 0.0, 0.0), sparse=None, **payload):
    base = {"doc_type": doc_type, "source": f"src{i}", "group": f"g{i}", "status": "active", "text": f"t{i}"}
    return IndexPoint(ID[i], {**base, **payload}, list(vector), {"bm25": sparse or {i + 1: 1.0}})


def ids(hits):
    return [h.id for h in hits]


def test_dense_and_sparse_search(index):
    index.upsert([point(0, vector=(1, 0, 0), sparse={7: 1.0}), point(1, vector=(0, 1, 0), sparse={8: 1.0})])
    assert index.count() == 2
    assert ids(index.search("dense", [0.9, 0.1, 0], 1, SearchFilter())) == [ID[0]]
    hits = index.search("bm25", {8: 1.0}, 5, SearchFilter())
    assert ids(hits) == [ID[1]] and hits[0].payload["text"] == "t1"
    assert index.search("bm25", {}, 5, SearchFilter()) == []


def test_filters_by_type_department_and_superseded(index):
    index.upsert([point(0), point(1, doc_type="qa", department="民政局"), point(2, status="superseded")])
    everything = SearchFilter(include_superseded=True)
    assert set(ids(index.search("dense", [1, 0, 0], 10, everything))) == set(ID[:3])
    assert set(ids(index.search("dense", [1, 0, 0], 10, SearchFilter()))) == {ID[0], ID[1]}
    assert ids(index.search("dense", [1, 0, 0], 10, SearchFilter(doc_types=["qa"]))) == [ID[1]]
    assert ids(index.search("dense", [1, 0, 0], 10, SearchFilter(departments=["民政局"]))) == [ID[1]]


def test_effective_date_filter(index):
    index.upsert(
        [
            point(0, effective_from=None, effective_to=None),
            point(1, effective_from=20270101, effective_to=None),
            point(2, effective_from=20200101, effective_to=20231231),
        ]
    )
    now = set(ids(index.search("dense", [1, 0, 0], 10, SearchFilter(on_date=dt.date(2026, 6, 1)))))
    assert now == {ID[0]}
    past = set(ids(index.search("dense", [1, 0, 0], 10, SearchFilter(on_date=dt.date(2022, 6, 1)))))
    assert past == {ID[0], ID[2]}


def test_delete_and_set_status(index):
    index.upsert([point(0), point(1)])
    index.set_status("src1", "superseded")
    assert ids(index.search("dense", [1, 0, 0], 10, SearchFilter())) == [ID[0]]
    index.delete([ID[0]])
    assert index.count() == 1


def test_edge_index_persists(tmp_path):
    idx = EdgeIndex(tmp_path / "shard", dim=3)
    idx.upsert([point(0)])
    idx.close()
    reopened = EdgeIndex(tmp_path / "shard", dim=3)
    assert reopened.count() == 1
    reopened.close()


def test_facet_counts_active_points(index):
    index.upsert([point(1, "qa", group="qa:1"), point(2, "qa", group="qa:1"), point(3, "qa", group="qa:2"), point(4, "guide", group="g:1")])
    index.upsert([point(5, "qa", group="qa:3")])
    index.set_status("src5", "superseded")  # an old version does not count
    assert index.facet("doc_type") == {"qa": 3, "guide": 1}
    assert index.facet("group", ["qa"]) == {"qa:1": 2, "qa:2": 1}


def test_a_shard_held_by_another_process_is_a_clear_error(tmp_path):
    import subprocess
    import sys

    from xiaobao.knowledge.index import IndexUnavailable

    EdgeIndex(tmp_path / "shard", 3).close()
    hold = (
        "from pathlib import Path; import time; from knowledge.index import EdgeIndex; "
        f"i = EdgeIndex(Path('{tmp_path / 'shard'}'), 3); print('held', flush=True); time.sleep(30)"
    )
    holder = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(IndexUnavailable, match="另一个小宝进程"):
            EdgeIndex(tmp_path / "shard", 3)
    finally:
        holder.kill()
        holder.wait()
