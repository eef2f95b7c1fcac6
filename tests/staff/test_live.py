"""Live updates: a commit wakes whoever waits on it, and the server-sent-event streams carry a helper's
reply, a notice and the place in the queue to the citizen, and queue changes to the helpers, over a
real HTTP server."""

import asyncio
import json
import threading
import time

import httpx

from tests.assistant.test_llm_server import free_port
from xiaobao.eval.serving import serving
from xiaobao.server import create_app
from xiaobao.staff.live import DESK, session_key


def test_a_commit_wakes_the_waiters_of_its_session_and_the_desk(services, engine):
    live, chat = services.live, engine.create_session()

    async def waits() -> tuple[float, bool, bool]:
        version = live.version
        started = time.perf_counter()
        threading.Timer(0.2, engine.handoff, (chat, "用户点击转人工")).start()
        await live.wait([session_key(chat)], version, 5)
        return time.perf_counter() - started, live.changed_since([DESK], version), live.changed_since([session_key("other")], version)

    waited, desk_changed, other_changed = asyncio.run(waits())
    assert 0.2 <= waited < 1.0 and desk_changed and not other_changed


def events(lines, done) -> list[tuple[str, dict]]:
    """Events from the lines of a text/event-stream response until `done(events so far)`."""
    out, kind = [], None
    for line in lines:
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            out.append((kind, json.loads(line[6:])))
            if done(out):
                return out
    return out


def has(kind: str, **fields):
    return lambda got: any(k == kind and all(v.get(f) == x for f, x in fields.items()) for k, v in got)


def test_the_citizen_and_the_helper_hear_changes_as_events(services, engine):
    services.accounts.add("li", "password-1", "helper", "李明")
    with serving(create_app(services, with_ui=False), free_port()) as url:
        citizen = httpx.Client(base_url=url, timeout=10)
        created = citizen.post("/api/sessions", json={}).json()
        chat, citizen.headers["X-Session-Key"] = created["session_id"], created["session_key"]
        helper = httpx.Client(base_url=url, timeout=10)
        assert helper.post("/api/staff/login", json={"username": "li", "password": "password-1"}).status_code == 200

        with (
            citizen.stream("GET", f"/api/sessions/{chat}/events") as citizen_stream,
            helper.stream("GET", "/api/helpdesk/events") as helper_stream,
        ):
            mine, desk = citizen_stream.iter_lines(), helper_stream.iter_lines()
            assert events(mine, len) == [("handoff", {"status": "none"})]
            assert events(desk, len)[0][0] == "desk"
            assert citizen.post(f"/api/sessions/{chat}/handoff", json={}).status_code == 200
            got = events(mine, lambda got: has("turn", path="handoff")(got) and has("handoff", status="queued")(got))
            assert "已为您转接" in next(v["text"] for k, v in got if k == "turn")
            assert next(v for k, v in got if k == "handoff")["position"] == 1
            assert events(desk, len)[0][0] == "desk"

            (waiting,) = helper.get("/api/helpdesk/board").json()["queued"]
            helper.post(f"/api/helpdesk/{waiting['id']}/claim")
            sent = time.perf_counter()
            helper.post(f"/api/helpdesk/{waiting['id']}/reply", json={"text": "您好，我是李明。"})
            got = events(mine, has("turn", text="您好，我是李明。"))
            assert time.perf_counter() - sent < 2.0
            assert has("turn", role="system")(got) and has("handoff", status="claimed")(got)  # 李明已接入

        assert citizen.post(f"/api/sessions/{chat}/handoff/cancel").status_code == 409  # a helper is on it: too late
        assert citizen.get(f"/api/sessions/{chat}/handoff").json()["status"] == "answered"
        stranger = httpx.Client(base_url=url, timeout=10)
        assert stranger.get(f"/api/sessions/{chat}/events").status_code == 403


def test_only_recent_changes_are_remembered(services, monkeypatch):
    import xiaobao.staff.live as live_module

    monkeypatch.setattr(live_module, "REMEMBERED", 10)
    live = services.live
    for i in range(25):
        live.touch(session_key(f"s{i}"))
    assert len(live._changed) <= 10 and live.changed_since([session_key("s24")], live.version - 1)


def test_the_mini_program_flow_over_http(services, engine):
    """What a WeChat mini-program front end does (docs/STAFF.md): a session on its channel, a question
    answered as server-sent events, a rating, a hand-off, the helper's reply as an event."""
    services.accounts.add("li", "password-1", "helper", "李明")
    with serving(create_app(services, with_ui=False), free_port()) as url:
        app = httpx.Client(base_url=url, timeout=10)
        created = app.post("/api/sessions", json={"channel": "miniprogram", "user_ref": "citizen-1"})
        assert created.status_code == 201
        chat, app.headers["X-Session-Key"] = created.json()["session_id"], created.json()["session_key"]
        with app.stream("POST", f"/api/sessions/{chat}/messages", json={"text": "政务服务中心几点上班？", "stream": True}) as answer:
            final = events(answer.iter_lines(), has("final"))[-1][1]
        assert final["path"] == "verbatim" and final["citations"][0]["citation"] == "答复口径 qa-1"
        assert app.post(f"/api/sessions/{chat}/turns/{final['turn_id']}/rating", json={"value": "good"}).status_code == 204
        assert app.post(f"/api/sessions/{chat}/handoff", json={}).json()["path"] == "handoff"
        assert app.get(f"/api/sessions/{chat}/handoff").json()["position"] == 1

        helper = httpx.Client(base_url=url, timeout=10)
        helper.post("/api/staff/login", json={"username": "li", "password": "password-1"})
        (waiting,) = helper.get("/api/helpdesk/board").json()["queued"]
        with app.stream("GET", f"/api/sessions/{chat}/events", params={"after": final["turn_id"]}) as feed:
            lines = feed.iter_lines()
            events(lines, has("handoff", status="queued"))
            helper.post(f"/api/helpdesk/{waiting['id']}/claim")
            helper.post(f"/api/helpdesk/{waiting['id']}/reply", json={"text": "您好，我是李明。"})
            assert has("turn", role="helper", helper="李明")(events(lines, has("turn", role="helper")))
