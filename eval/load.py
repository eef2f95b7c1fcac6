"""Load: N concurrent simulated citizens against the HTTP API on loopback, each asking a question,
reading the answer and thinking a moment before the next. The mix assigns each citizen a kind:
asking questions with official replies (verbatim), asking questions the model must answer
(generated), handing off to a human and then chatting with the helper (handoff), or uploading
materials for pre-review (prereview: OCR in the review workers). Reports throughput, latency per kind
and every non-2xx answer."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from xiaobao.operations.metrics import percentile


@dataclass(frozen=True)
class Load:
    sessions: int = 50
    seconds: float = 30.0
    think: tuple[float, float] = (0.5, 1.5)  # seconds between a citizen's answer and their next question
    mix: dict = field(default_factory=lambda: {"verbatim": 8, "generated": 1, "handoff": 1})
    seed: int = 11


async def ask(client: httpx.AsyncClient, session: str, key: dict, kind: str, what) -> httpx.Response:
    """One request of the citizen's kind: a question, or (prereview) an upload of one case's materials."""
    if kind == "prereview":
        item_id, files = what
        return await client.post(f"/api/sessions/{session}/prereview", data={"item_id": item_id}, files=files, headers=key)
    return await client.post(f"/api/sessions/{session}/messages", json={"text": what}, headers=key)


async def citizen(
    client: httpx.AsyncClient, load: Load, kind: str, questions: dict[str, list], rng: random.Random, results: list, stop: float
) -> None:
    created = (await client.post("/api/sessions", json={})).json()
    session, key = created["session_id"], {"X-Session-Key": created["session_key"]}
    first = True
    while time.monotonic() < stop:
        what = "转人工" if kind == "handoff" and first else rng.choice(questions[kind])
        first = False
        started = time.perf_counter()
        try:
            response = await ask(client, session, key, kind, what)
            status = response.status_code
            path = response.json().get("path") if status == 200 else None
        except httpx.HTTPError as exc:
            status, path = type(exc).__name__, None
        results.append((kind, status, path, (time.perf_counter() - started) * 1000))
        await asyncio.sleep(rng.uniform(*load.think))


async def run(base_url: str, load: Load, questions: dict[str, list[str]]) -> dict:
    """`questions`: per kind, what its citizens ask (handoff citizens ask these after 转人工; prereview
    citizens upload (item_id, [("files", (name, bytes))]) cases)."""
    rng = random.Random(load.seed)
    kinds, weights = zip(*load.mix.items(), strict=True)
    assigned = [rng.choices(kinds, weights)[0] for _ in range(load.sessions)]
    results: list[tuple] = []
    limits = httpx.Limits(max_connections=load.sessions + 5)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
        stop = time.monotonic() + load.seconds
        started = time.perf_counter()
        await asyncio.gather(*(citizen(client, load, kind, questions, random.Random(rng.random()), results, stop) for kind in assigned))
        elapsed = time.perf_counter() - started
    by_kind: dict[str, list] = defaultdict(list)
    for kind, status, path, ms in results:
        by_kind[kind].append((status, path, ms))
    report = {}
    for kind, rows in sorted(by_kind.items()):
        ok = [ms for status, _, ms in rows if status == 200]
        report[kind] = {
            "requests": len(rows),
            "ok": len(ok),
            "p50_ms": round(percentile(ok, 50), 1) if ok else None,
            "p95_ms": round(percentile(ok, 95), 1) if ok else None,
            "max_ms": round(max(ok), 1) if ok else None,
            "statuses": dict(Counter(str(status) for status, _, _ in rows)),
            "paths": dict(Counter(path for _, path, _ in rows if path)),
        }
    errors = sum(1 for _, status, _, _ in results if not isinstance(status, int) or status >= 500 and status != 503)
    return {
        "sessions": load.sessions,
        "citizens_by_kind": dict(Counter(assigned)),
        "seconds": round(elapsed, 1),
        "mix": load.mix,
        "requests": len(results),
        "throughput_rps": round(len(results) / elapsed, 1),
        "errors": errors,
        "busy_503": sum(1 for _, status, _, _ in results if status == 503),
        "by_kind": report,
    }


@contextmanager
def served(settings, port: int, start_timeout: float = 300.0):
    """`xiaobao serve` in a child process on the settings' data directory (it starts the local model
    server too when no XIAOBAO_LLM_URL is set); yields its URL once /health answers."""
    env = {
        **os.environ,
        "XIAOBAO_RATE_LIMIT_PER_CLIENT": "0",
        "XIAOBAO_RATE_LIMIT_PER_SESSION": "0",
        "XIAOBAO_RATE_LIMIT_SESSIONS_PER_CLIENT": "0",
    }
    command = [str(Path(sys.executable).parent / "xiaobao"), "--data-dir", str(settings.data_dir), "serve", "--port", str(port)]
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if child.poll() is not None:
                raise RuntimeError(f"服务没有启动：{child.stderr.read().decode(errors='replace')[-500:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("服务启动超时")
            time.sleep(0.5)
        yield url
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
