"""First response to a hand-off, as the system delivers it: simulated citizens hand their sessions
to humans over the HTTP API and poll their chat as the web page does; simulated helpers poll the
queue as the console does, claim, type a reply and close. Everything goes through a real uvicorn
server on loopback.

Per hand-off: queued → seen by a helper (console poll) → claimed → reply posted → reply visible in
the citizen's chat (chat poll). The first response the citizen experiences is queued → visible.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from xiaobao.operations.metrics import percentile

PASSWORD = "bench-password"


@dataclass(frozen=True)
class Scenario:
    citizens: int = 60
    helpers: int = 4
    arrival_seconds: float = 60.0  # citizens arrive uniformly at random over this window
    console_poll: float = 2.0  # the helper console refreshes its queue every 2 s
    chat_poll: float = 2.0  # the citizen's chat fetches new replies every 2 s
    typing: tuple[float, float] = (5.0, 15.0)  # seconds a helper takes to read and type the first reply
    wrap_up: float = 3.0  # seconds from the first reply to closing the session
    seed: int = 7


@dataclass
class Trace:
    queued: float
    seen: float | None = None
    claimed: float | None = None
    posted: float | None = None
    visible: float | None = None


@dataclass
class Run:
    scenario: Scenario
    traces: dict[str, Trace] = field(default_factory=dict)  # by session id
    conflicts: int = 0
    errors: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


async def citizen(client: httpx.AsyncClient, run: Run, delay: float) -> None:
    """Arrive, hand off, then poll the chat until a helper's reply shows up."""
    await asyncio.sleep(delay)
    created = (await client.post("/api/sessions", json={})).json()
    session, key = created["session_id"], {"X-Session-Key": created["session_key"]}
    handed = (await client.post(f"/api/sessions/{session}/handoff", json={"reason": "压测：转人工"}, headers=key)).json()
    trace = run.traces[session] = Trace(queued=time.monotonic())
    last = handed["turn_id"]
    while not run.done.is_set() and trace.visible is None:
        await asyncio.sleep(run.scenario.chat_poll)
        response = await client.get(f"/api/sessions/{session}/messages", params={"after": last}, headers=key)
        if response.status_code != 200:
            run.errors += 1
            continue
        turns = response.json()
        if any(t["role"] == "helper" for t in turns):
            trace.visible = time.monotonic()
        elif turns:
            last = turns[-1]["turn_id"]


async def helper(client: httpx.AsyncClient, run: Run, rng: random.Random) -> None:
    """Poll the queue; claim the longest-waiting session; type; reply; close; repeat."""
    s = run.scenario
    while not run.done.is_set():
        response = await client.get("/api/helpdesk/board")
        if response.status_code != 200:
            run.errors += 1
            await asyncio.sleep(s.console_poll)
            continue
        now = time.monotonic()
        waiting = response.json()["queued"]
        for item in waiting:
            trace = run.traces.get(item["session_id"])
            if trace and trace.seen is None:
                trace.seen = now
        claimed = None
        for item in waiting:
            answer = await client.post(f"/api/helpdesk/{item['id']}/claim")
            if answer.status_code == 200:
                claimed = item
                break
            run.conflicts += answer.status_code == 409
        if claimed is None:
            await asyncio.sleep(s.console_poll)
            continue
        trace = run.traces.get(claimed["session_id"])
        if trace:
            trace.claimed = time.monotonic()
        await asyncio.sleep(rng.uniform(*s.typing))
        posted = await client.post(f"/api/helpdesk/{claimed['id']}/reply", json={"text": "您好，我是线上帮办，请问需要办理什么事项？"})
        if posted.status_code != 200:
            run.errors += 1
        elif trace:
            trace.posted = time.monotonic()
        await asyncio.sleep(s.wrap_up)
        await client.post(f"/api/helpdesk/{claimed['id']}/close", json={"outcome": "resolved"})


def summarise(run: Run, elapsed: float) -> dict:
    traces = list(run.traces.values())

    def spans(start: str, end: str) -> list[float]:
        return [getattr(t, end) - getattr(t, start) for t in traces if getattr(t, start) is not None and getattr(t, end) is not None]

    def stats(values: list[float]) -> dict:
        if not values:
            return {"n": 0}
        p50, p95 = percentile(values, 50), percentile(values, 95)
        return {"n": len(values), "p50_s": round(p50, 2), "p95_s": round(p95, 2), "max_s": round(max(values), 2)}

    first = spans("queued", "visible")
    return {
        "scenario": {**run.scenario.__dict__, "typing": list(run.scenario.typing)},
        "handoffs": len(traces),
        "answered": len(first),
        "seconds": round(elapsed, 1),
        "queued_to_seen": stats(spans("queued", "seen")),
        "seen_to_claimed": stats(spans("seen", "claimed")),
        "claimed_to_posted": stats(spans("claimed", "posted")),
        "posted_to_visible": stats(spans("posted", "visible")),
        "first_response": stats(first),
        "first_response_within_60s": round(sum(v <= 60 for v in first) / len(traces), 4) if traces else None,
        "first_responses_s": [round(v, 2) for v in sorted(first)],
        "claim_conflicts": run.conflicts,
        "errors": run.errors,
    }


async def simulate(base_url: str, tokens: list[str], scenario: Scenario) -> dict:
    """Run the scenario against a served app; `tokens` are the helpers' login tokens."""
    rng = random.Random(scenario.seed)
    run = Run(scenario)
    started = time.monotonic()
    limits = httpx.Limits(max_connections=scenario.citizens + 4)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        staff = [httpx.AsyncClient(base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {t}"}) for t in tokens]
        helpers = [asyncio.create_task(helper(c, run, random.Random(scenario.seed + i))) for i, c in enumerate(staff)]
        arrivals = sorted(rng.uniform(0, scenario.arrival_seconds) for _ in range(scenario.citizens))
        await asyncio.gather(*(citizen(client, run, delay) for delay in arrivals))
        run.done.set()
        await asyncio.gather(*helpers)
        for c in staff:
            await c.aclose()
    return summarise(run, time.monotonic() - started)


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = result["scenario"]
    values = result["first_responses_s"]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.hist(values, bins=20, color="#2563eb")
    ax.axvline(60, color="#b91c1c", linestyle="--", label="60 s promise")
    ax.set_xlabel("first response seen by the citizen (s)")
    ax.set_ylabel("hand-offs")
    ax.set_title(f"{result['handoffs']} citizens, {s['helpers']} helpers, typing {s['typing'][0]:g}–{s['typing'][1]:g} s")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_benchmark(settings, scenario: Scenario, port: int) -> dict:
    """The scenario against a fresh service in a temporary data directory (the live database is not
    touched): real embedder and database, helpers created for the run."""
    import tempfile

    from sqlalchemy.orm import Session

    from xiaobao.eval.serving import serving
    from xiaobao.operations.metrics import handoff_stats
    from xiaobao.server import create_app
    from xiaobao.services import Services

    with tempfile.TemporaryDirectory(prefix="xiaobao-handoff-") as tmp:
        # every simulated client shares one address: the per-client budget would throttle the simulation
        s = settings.model_copy(
            update={"data_dir": Path(tmp), "rate_limit_per_client": 0, "rate_limit_per_session": 0, "rate_limit_sessions_per_client": 0}
        )
        with Services(s) as services:  # the hand-off path never asks the model
            tokens = []
            for i in range(scenario.helpers):
                services.accounts.add(f"helper{i}", PASSWORD, "helper", f"帮办{i}")
                tokens.append(services.accounts.login(f"helper{i}", PASSWORD)[0])
            with serving(create_app(services, with_ui=False), port) as url:
                result = asyncio.run(simulate(url, tokens, scenario))
            with Session(services.db_engine) as session:
                result["server_side"] = handoff_stats(session)
    return result
