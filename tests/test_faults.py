"""Faults: the service degrades with clear answers and recovers without a restart."""

import sqlite3

import pytest
from fastapi.testclient import TestClient

from xiaobao.assistant.llm import LLMUnavailable
from xiaobao.server import create_app
from xiaobao.settings import Settings


@pytest.fixture
def settings(tmp_path) -> Settings:
    """A SQLite write waits 0.2 s for a lock here (30 s by default), so the test need not wait."""
    return Settings(data_dir=tmp_path / "var", database_busy_timeout=0.2)


def session(client):
    created = client.post("/api/sessions", json={}).json()
    return created["session_id"], {"X-Session-Key": created["session_key"]}


def test_without_the_model_official_replies_and_hand_off_still_work(services, engine, llm):
    def down(messages):
        raise LLMUnavailable("connection refused")

    llm.answers = [down] * 5
    client = TestClient(create_app(services, with_ui=False))
    sid, key = session(client)
    generated = client.post(f"/api/sessions/{sid}/messages", json={"text": "九十岁老人高龄津贴每月多少钱"}, headers=key).json()
    assert generated["path"] == "error" and "暂时不可用" in generated["text"] and generated["offer_human"]
    assert client.post(f"/api/sessions/{sid}/messages", json={"text": "办事大厅什么时候开门"}, headers=key).json()["path"] == "verbatim"
    assert client.post(f"/api/sessions/{sid}/handoff", json={}, headers=key).json()["path"] == "handoff"
    llm.answers = ["年满九十周岁的本区户籍老人每月领取高龄津贴400元[1]。"]  # the model is back: no restart needed
    sid, key = session(client)
    again = client.post(f"/api/sessions/{sid}/messages", json={"text": "九十岁老人高龄津贴每月多少钱"}, headers=key).json()
    assert again["path"] == "generated"


def test_a_locked_database_is_a_503_then_recovers(services, engine, settings):
    client = TestClient(create_app(services, with_ui=False))
    sid, key = session(client)
    blocker = sqlite3.connect(settings.data_dir / "xiaobao.db", timeout=1)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        response = client.post(f"/api/sessions/{sid}/messages", json={"text": "办事大厅什么时候开门"}, headers=key)
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    finally:
        blocker.rollback()
        blocker.close()
    response = client.post(f"/api/sessions/{sid}/messages", json={"text": "办事大厅什么时候开门"}, headers=key)
    assert response.status_code == 200 and response.json()["path"] == "verbatim"
    assert [t["role"] for t in client.get(f"/api/sessions/{sid}/messages", headers=key).json()] == ["user", "assistant"]


def test_a_full_disk_is_a_503_then_recovers(services, engine):
    """SQLite's max_page_count makes the database file unable to grow: what a full disk does."""
    from sqlalchemy import event

    client = TestClient(create_app(services, with_ui=False))
    sid, key = session(client)

    def full(conn, _record) -> None:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")

    engine.db_engine.dispose()
    event.listen(engine.db_engine, "connect", full)
    try:
        refused = [client.post(f"/api/sessions/{sid}/messages", json={"text": "办事大厅什么时候开门" * 40}, headers=key) for _ in range(12)]
        assert 503 in {r.status_code for r in refused} and all(r.status_code in (200, 503) for r in refused)
    finally:
        event.remove(engine.db_engine, "connect", full)
        engine.db_engine.dispose()
    response = client.post(f"/api/sessions/{sid}/messages", json={"text": "办事大厅什么时候开门"}, headers=key)
    assert response.status_code == 200 and response.json()["path"] == "verbatim"
