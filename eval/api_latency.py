"""Latency of the verbatim path through the HTTP API: a real uvicorn server on loopback, real
retrieval, questions that match published Q&A phrasings; sequential requests."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import uvicorn

from eval.metrics import percentile


def qa_phrasings(qa_file: Path) -> list[str]:
    entries = [json.loads(line) for line in qa_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [p for e in entries if e.get("status", "published") == "published" for p in [e["question"], *(e.get("alternatives") or [])]]


def measure(app, questions: list[str], rounds: int = 3, port: int = 8765) -> dict:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    latencies: list[float] = []
    paths: Counter = Counter()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            session = client.post("/api/sessions", json={}).json()["session_id"]
            client.post(f"/api/sessions/{session}/messages", json={"text": questions[0]})  # warm-up
            for _ in range(rounds):
                for question in questions:
                    session = client.post("/api/sessions", json={}).json()["session_id"]
                    started = time.perf_counter()
                    reply = client.post(f"/api/sessions/{session}/messages", json={"text": question}).json()
                    elapsed = (time.perf_counter() - started) * 1000
                    paths[reply["path"]] += 1
                    if reply["path"] == "verbatim":  # other phrasings are routed to tools or hand-off
                        latencies.append(elapsed)
    finally:
        server.should_exit = True
        thread.join(10)
    return {
        "verbatim_requests": len(latencies),
        "paths": dict(paths),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "max_ms": round(max(latencies), 1),
    }
