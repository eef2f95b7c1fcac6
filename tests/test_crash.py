"""Crash consistency: `xiaobao serve` is killed with SIGKILL in the middle of a burst of writes;
after a restart every message the API had acknowledged is stored, and the service answers again.
On SQLite and on PostgreSQL."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.assistant.test_llm_server import free_port

pytestmark = [pytest.mark.slow, pytest.mark.databases]
XIAOBAO = str(Path(sys.executable).parent / "xiaobao")
QUESTIONS = ["办事大厅什么时候开门", "政务服务中心几点上班？", "你好", "转人工"]


def environment(database: str | None) -> dict:
    return {**os.environ, **({"XIAOBAO_DATABASE_URL": database} if database else {})}


def start(data_dir: Path, port: int, database: str | None) -> subprocess.Popen:
    env = {
        **environment(database),
        "XIAOBAO_LLM_URL": "http://127.0.0.1:9/v1",
        "XIAOBAO_RATE_LIMIT_PER_CLIENT": "0",
        "XIAOBAO_RATE_LIMIT_PER_SESSION": "0",
        "XIAOBAO_RATE_LIMIT_SESSIONS_PER_CLIENT": "0",
    }
    child = subprocess.Popen([XIAOBAO, "--data-dir", str(data_dir), "serve", "--port", str(port)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return child
        except httpx.HTTPError:
            time.sleep(0.3)
    child.kill()
    raise RuntimeError("xiaobao serve did not start")


async def burst(url: str, sessions: int, acknowledged: list) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:

        async def citizen(i: int) -> None:
            try:
                created = (await client.post("/api/sessions", json={})).json()
                key = {"X-Session-Key": created["session_key"]}
                for n in range(1000):
                    text = f"{QUESTIONS[n % len(QUESTIONS)]}"
                    response = await client.post(f"/api/sessions/{created['session_id']}/messages", json={"text": text}, headers=key)
                    if response.status_code == 200:
                        acknowledged.append((created["session_id"], response.json()["turn_id"]))
            except httpx.HTTPError:
                return  # the server died under us

        await asyncio.gather(*(citizen(i) for i in range(sessions)))


def test_acknowledged_messages_survive_a_kill_9(tmp_path, database):
    data = tmp_path / "var"
    init = subprocess.run([XIAOBAO, "--data-dir", str(data), "init", "--no-llm"], capture_output=True, env=environment(database))
    assert init.returncode == 0
    port = free_port()
    server = start(data, port, database)
    acknowledged: list = []

    async def attack() -> None:
        task = asyncio.create_task(burst(f"http://127.0.0.1:{port}", 10, acknowledged))
        await asyncio.sleep(3)
        server.send_signal(signal.SIGKILL)  # mid-burst, no chance to clean up
        await task

    asyncio.run(attack())
    server.wait(10)
    assert len(acknowledged) > 20
    db = create_engine(database or f"sqlite:///{data / 'xiaobao.db'}")
    with db.connect() as conn:
        stored = set(conn.scalars(text("SELECT id FROM turns")))
    db.dispose()
    missing = [turn for _, turn in acknowledged if turn not in stored]
    assert missing == []

    server = start(data, port, database)  # the same data directory opens again (Qdrant shard and database)
    try:
        session, _ = acknowledged[0]
        created = httpx.post(f"http://127.0.0.1:{port}/api/sessions", json={}).json()
        reply = httpx.post(
            f"http://127.0.0.1:{port}/api/sessions/{created['session_id']}/messages",
            json={"text": "办事大厅什么时候开门"},
            headers={"X-Session-Key": created["session_key"]},
        )
        assert reply.status_code == 200 and reply.json()["path"] == "verbatim"
    finally:
        server.terminate()
        server.wait(30)
