"""Request budgets (429 with Retry-After) and the bounded line for the model (when full: a quote at once)."""

import threading

import pytest
from fastapi.testclient import TestClient

from xiaobao.assistant.llm import ModelBusy, Slots
from xiaobao.identity.access import RateLimiter
from xiaobao.server import create_app


def test_token_buckets():
    limiter = RateLimiter(per_minute=60, burst=3)
    assert [limiter.check("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.check("a", now=0.0) == pytest.approx(1.0)  # one token a second
    assert limiter.check("b", now=0.0) == 0.0  # another client has its own budget
    assert limiter.check("a", now=1.0) == 0.0


def test_429_with_retry_after_per_session_and_per_client(services, engine):
    services.settings = services.settings.model_copy(update={"rate_limit_per_session": 3, "rate_limit_per_client": 10})
    client = TestClient(create_app(services, with_ui=False))
    created = client.post("/api/sessions", json={}).json()
    headers = {"X-Session-Key": created["session_key"]}
    codes = [client.get(f"/api/sessions/{created['session_id']}/messages", headers=headers).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get(f"/api/sessions/{created['session_id']}/messages", headers=headers)
    assert int(limited.headers["Retry-After"]) >= 1 and "太频繁" in limited.json()["detail"]
    codes = [client.post("/api/sessions", json={}).status_code for _ in range(8)]
    assert codes[-1] == 429  # the client address ran out too
    assert client.get("/health").status_code == 200  # health and metrics are not budgeted


def test_the_line_for_the_model_is_bounded():
    slots = Slots(running=1, waiting=1, timeout=5)
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with slots.hold():
            inside.set()
            release.wait(5)

    first = threading.Thread(target=hold)
    first.start()
    inside.wait(5)
    second = threading.Thread(target=lambda: slots.hold().__enter__())  # waits in line
    second.start()
    second.join(0.2)
    with pytest.raises(ModelBusy) as busy, slots.hold():
        pass
    assert busy.value.retry_after > 0
    release.set()
    first.join(5)


def test_a_full_line_gets_an_answer_at_once(services, engine, llm):
    engine.slots = Slots(running=1, waiting=0, timeout=5)
    client = TestClient(create_app(services, with_ui=False))
    created = client.post("/api/sessions", json={}).json()
    with engine.slots.hold():  # someone else is being answered
        response = client.post(
            f"/api/sessions/{created['session_id']}/messages",
            json={"text": "九十岁老人高龄津贴每月多少钱"},
            headers={"X-Session-Key": created["session_key"]},
        )
    reply = response.json()  # not a 503: the sources found and the offer of a person (quoted when sure, see test_answerability)
    assert response.status_code == 200 and reply["path"] == "error" and reply["offer_human"] and "排不上" in reply["text"]
    assert "《示例区高龄津贴办法》第一条" in reply["text"]
    assert llm.calls == []
    verbatim = client.post(
        f"/api/sessions/{created['session_id']}/messages",
        json={"text": "办事大厅什么时候开门"},
        headers={"X-Session-Key": created["session_key"]},
    )
    assert verbatim.status_code == 200  # official replies never wait for the model
