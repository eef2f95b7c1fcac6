"""Push against polling: how fast a helper's reply reaches the citizens' pages, and what keeping the
pages up to date costs the server. N citizen pages are open on sessions a helper holds; each page
either polls its messages every `poll` seconds (what the chat page did before) or holds the
server-sent-event stream /api/sessions/{id}/events open. A helper then replies to `replies` of them,
one every half second; the delay is from the reply's POST to the page having it. The idle load is the
requests the server answers and the CPU the process spends per second while nothing happens.

The server runs in this process (uvicorn on loopback, a thread); the simulated pages are asyncio
tasks in the same process, so the CPU figure includes the clients' share (small: they only wait)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from pathlib import Path

import httpx

from xiaobao.operations.metrics import percentile

PASSWORD = "bench-password"
MARK = "压测回复"


async def _open_sessions(client: httpx.AsyncClient, staff: httpx.AsyncClient, pages: int) -> list[tuple[str, dict]]:
    sessions = []
    for _ in range(pages):
        created = (await client.post("/api/sessions", json={})).json()
        key = {"X-Session-Key": created["session_key"]}
        await client.post(f"/api/sessions/{created['session_id']}/handoff", json={"reason": "压测：转人工"}, headers=key)
        sessions.append((created["session_id"], key))
    for handoff in (await staff.get("/api/helpdesk/board")).json()["queued"]:
        await staff.post(f"/api/helpdesk/{handoff['id']}/claim")
    return sessions


async def _poll_page(client, session_id, key, poll, seen: dict, counter: list, stop: asyncio.Event) -> None:
    last = max(t["turn_id"] for t in (await client.get(f"/api/sessions/{session_id}/messages", headers=key)).json())
    await asyncio.sleep(random.uniform(0, poll))  # pages opened at different moments
    while not stop.is_set():
        new = (await client.get(f"/api/sessions/{session_id}/messages", params={"after": last}, headers=key)).json()
        counter[0] += 1
        for turn in new:
            last = turn["turn_id"]
            if turn["text"].startswith(MARK):
                seen[session_id] = time.perf_counter()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), poll)


async def _push_page(client, session_id, key, seen: dict, counter: list, stop: asyncio.Event) -> None:
    last = max(t["turn_id"] for t in (await client.get(f"/api/sessions/{session_id}/messages", headers=key)).json())
    counter[0] += 1
    async with client.stream("GET", f"/api/sessions/{session_id}/events", params={"after": last}, headers=key) as stream:
        async for line in stream.aiter_lines():
            if line.startswith("data: ") and MARK in line and json.loads(line[6:]).get("text", "").startswith(MARK):
                seen[session_id] = time.perf_counter()
            if stop.is_set():
                return


async def simulate(url: str, token: str, mode: str, pages: int, replies: int, poll: float, idle: float) -> dict:
    limits = httpx.Limits(max_connections=pages + 50, max_keepalive_connections=pages + 50)
    async with (
        httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client,
        httpx.AsyncClient(base_url=url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as staff,
    ):
        sessions = await _open_sessions(client, staff, pages)
        seen: dict[str, float] = {}
        counter, stop = [0], asyncio.Event()
        if mode == "poll":
            tasks = [asyncio.create_task(_poll_page(client, s, k, poll, seen, counter, stop)) for s, k in sessions]
        else:
            tasks = [asyncio.create_task(_push_page(client, s, k, seen, counter, stop)) for s, k in sessions]
        await asyncio.sleep(3)  # every page is open and settled
        requests_before, cpu_before, wall_before = counter[0], time.process_time(), time.perf_counter()
        await asyncio.sleep(idle)
        wall = time.perf_counter() - wall_before
        idle_load = {
            "requests_per_s": round((counter[0] - requests_before) / wall, 1),
            "cpu_share": round((time.process_time() - cpu_before) / wall, 3),
        }
        sent: dict[str, float] = {}
        handoffs = {h["session_id"]: h["id"] for h in (await staff.get("/api/helpdesk/board")).json()["mine"]}
        for session_id, _ in random.sample(sessions, replies):
            sent[session_id] = time.perf_counter()
            await staff.post(f"/api/helpdesk/{handoffs[session_id]}/reply", json={"text": f"{MARK}：您好，请问还有什么问题？"})
            await asyncio.sleep(0.5)
        deadline = time.perf_counter() + poll + 10
        while len([s for s in sent if s in seen]) < len(sent) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    delays = sorted(seen[s] - t for s, t in sent.items() if s in seen)
    return {
        "mode": mode,
        "pages": pages,
        "replies": replies,
        "delivered": len(delays),
        "delay_p50_s": round(percentile(delays, 50), 3) if delays else None,
        "delay_p95_s": round(percentile(delays, 95), 3) if delays else None,
        "delay_max_s": round(delays[-1], 3) if delays else None,
        "idle": idle_load,
    }


def run_benchmark(
    settings, mode: str, pages: int = 200, replies: int = 20, poll: float = 2.0, idle: float = 20.0, port: int = 8768
) -> dict:
    """The scenario against a fresh service in a temporary data directory (the live database is not touched)."""
    import tempfile

    from xiaobao.eval.serving import serving
    from xiaobao.server import create_app
    from xiaobao.services import Services

    with tempfile.TemporaryDirectory(prefix="xiaobao-push-") as tmp:
        # every simulated page shares one address: the per-client budget would throttle the simulation
        s = settings.model_copy(
            update={"data_dir": Path(tmp), "rate_limit_per_client": 0, "rate_limit_per_session": 0, "rate_limit_sessions_per_client": 0}
        )
        with Services(s) as services:  # the hand-off path never asks the model
            services.accounts.add("helper0", PASSWORD, "helper", "帮办0")
            token = services.accounts.login("helper0", PASSWORD)[0]
            with serving(create_app(services, with_ui=False), port) as url:
                return asyncio.run(simulate(url, token, mode, pages, replies, poll, idle))


if __name__ == "__main__":
    import sys

    from xiaobao.settings import Settings

    pages = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    for mode in ("poll", "push"):
        print(json.dumps(run_benchmark(Settings(), mode, pages), ensure_ascii=False))
