"""Latency of the verbatim path through the HTTP API: a real uvicorn server on loopback, real
retrieval, questions that match published Q&A phrasings; sequential requests."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import httpx

from xiaobao.eval.serving import serving
from xiaobao.operations.metrics import percentile


def qa_phrasings(qa_file: Path) -> list[str]:
    entries = [json.loads(line) for line in qa_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [p for e in entries if e.get("status", "published") == "published" for p in [e["question"], *(e.get("alternatives") or [])]]


def new_session(client: httpx.Client) -> tuple[str, dict]:
    """A session id and the header that proves it is ours."""
    created = client.post("/api/sessions", json={}).json()
    return created["session_id"], {"X-Session-Key": created["session_key"]}


def measure(app, questions: list[str], rounds: int = 3, port: int = 8765) -> dict:
    latencies: list[float] = []
    paths: Counter = Counter()
    with serving(app, port) as url, httpx.Client(base_url=url, timeout=30) as client:
        session, key = new_session(client)
        client.post(f"/api/sessions/{session}/messages", json={"text": questions[0]}, headers=key)  # warm-up
        for _ in range(rounds):
            for question in questions:
                session, key = new_session(client)
                started = time.perf_counter()
                reply = client.post(f"/api/sessions/{session}/messages", json={"text": question}, headers=key).json()
                elapsed = (time.perf_counter() - started) * 1000
                paths[reply["path"]] += 1
                if reply["path"] == "verbatim":  # other phrasings are routed to tools or hand-off
                    latencies.append(elapsed)
    return {
        "verbatim_requests": len(latencies),
        "paths": dict(paths),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "max_ms": round(max(latencies), 1),
    }
