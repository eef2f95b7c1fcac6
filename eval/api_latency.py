"""Latency through the HTTP API, on a real uvicorn server on loopback with real retrieval, sequential
requests: the verbatim path (questions that match published Q&A phrasings), and the streamed
generated path (when the citizen first sees something, the sources, the first checked sentence)."""

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


def generated_questions(engine, guides_file: Path) -> list[str]:
    """Questions about the demo guides that retrieval finds evidence for but no official reply answers
    (the model must write them; where P alone is unsure, after the judge's verdict)."""
    from xiaobao.assistant.router import route

    guides = [json.loads(line)["name"] for line in guides_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    asks = ("的受理条件有哪些", "在哪里办，几点上班", "办好要多久", "要交哪些材料，能不能网上交")
    candidates = (f"{g}{a}" for g in guides for a in asks)
    return [q for q in candidates if route(q).intent == "knowledge" and engine.triage(q)[1] in ("generate", "judge")]


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


def measure_stream(app, questions: list[str], port: int = 8765) -> dict:
    """Each question once over SSE in a new session: milliseconds from sending to the first event
    (status), to the sources, to the first checked sentence, and to the final reply; paths taken."""
    marks: dict[str, list[float]] = {"status": [], "sources": [], "sentence": [], "final": []}
    paths: Counter = Counter()
    with serving(app, port) as url, httpx.Client(base_url=url, timeout=300) as client:
        for question in questions:
            session, key = new_session(client)
            started, seen = time.perf_counter(), set()
            body = {"text": question, "stream": True}
            with client.stream("POST", f"/api/sessions/{session}/messages", json=body, headers=key) as response:
                for line in response.iter_lines():
                    if line.startswith("event: ") and (kind := line[7:]) not in seen:
                        seen.add(kind)
                        marks[kind].append((time.perf_counter() - started) * 1000)
                    elif line.startswith("data: ") and "final" in seen and '"path"' in line:
                        paths[json.loads(line[6:])["path"]] += 1
    return {
        "questions": len(questions),
        "paths": dict(paths),
        **{
            f"{kind}_ms": {"n": len(v), "p50": round(percentile(v, 50)), "p95": round(percentile(v, 95))} if v else {"n": 0}
            for kind, v in marks.items()
        },
    }
