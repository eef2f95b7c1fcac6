"""State shared by several API workers through a real redis-server (started by the test session;
skipped without one): the request budgets and the line for the model behave as one service's. Each
worker is a Services of its own over the same settings, as each `xiaobao serve` worker process is."""

import asyncio
import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.servers import free_port
from xiaobao.assistant.llm import ModelBusy, SharedSlots, Slots
from xiaobao.assistant.store import ChatSession
from xiaobao.db import now
from xiaobao.identity.access import OverBudget, RateLimiter, RedisRateLimiter
from xiaobao.server import create_app
from xiaobao.services import Services
from xiaobao.settings import Settings
from xiaobao.staff.live import DESK, session_key


@pytest.fixture
def workers(tmp_path, redis_url):
    """Two workers sharing one Redis; budgets and the line are small enough to run out."""
    settings = Settings(
        data_dir=tmp_path / "var", redis_url=redis_url, rate_limit_per_session=3, rate_limit_per_client=5, llm_concurrency=1, llm_queue=1
    )
    with Services(settings) as first, Services(settings) as second:
        yield first, second


def test_without_redis_each_process_keeps_its_own(settings):
    with Services(settings) as alone:
        assert isinstance(alone.model_line, Slots) and isinstance(alone.budgets.per_client, RateLimiter)


def test_token_buckets_in_redis_fill_as_in_memory(redis_url):
    import redis

    limiter = RedisRateLimiter(redis.Redis.from_url(redis_url), "test", per_minute=60, burst=3)
    assert [limiter.check("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.check("a", now=0.0) == pytest.approx(1.0)  # one token a second
    assert limiter.check("b", now=0.0) == 0.0  # another client has its own budget
    assert limiter.check("a", now=1.0) == 0.0


def test_two_workers_spend_one_budget(workers):
    first, second = workers
    for worker in (first, second, first):
        worker.budgets.charge(session="s-1")
    with pytest.raises(OverBudget) as over:
        second.budgets.charge(session="s-1")  # the fourth request, whichever worker it reaches
    assert over.value.retry_after >= 1
    second.budgets.charge(session="s-2")  # another session has its own


def test_two_workers_share_one_line_for_the_model(workers):
    first, second = workers
    inside, release = threading.Event(), threading.Event()

    def answering() -> None:
        with first.model_line.hold():
            inside.set()
            release.wait(10)

    generating = threading.Thread(target=answering)
    generating.start()
    inside.wait(5)
    waiting = threading.Thread(target=lambda: second.model_line.hold().__enter__())  # the one place in line
    waiting.start()
    time.sleep(0.3)
    with pytest.raises(ModelBusy), second.model_line.hold():
        pass  # running and waiting are full over both workers
    release.set()
    generating.join(5)
    waiting.join(5)  # the waiting one got the running place when the first was done
    assert not waiting.is_alive()


def test_a_killed_worker_s_place_is_given_back_when_its_lease_ends(workers):
    first, second = workers
    first.model_line.LEASE, second.model_line.timeout = 1.0, 0.3
    dead = first.model_line.hold()
    dead.__enter__()  # generating, and never leaves: the process died
    with pytest.raises(ModelBusy), second.model_line.hold():
        pass  # waited in line 0.3 s for the one running place
    time.sleep(1.0)
    with second.model_line.hold():
        pass


def test_a_full_shared_line_gets_an_answer_at_once_without_the_model(services, engine, llm, redis_url):
    """The worker under test has its line in Redis; another worker is using the model's one place."""
    import redis

    client_of = redis.Redis.from_url(redis_url)
    engine.slots = SharedSlots(client_of, running=1, waiting=0, timeout=5)
    other_worker = SharedSlots(client_of, running=1, waiting=0, timeout=5)
    client = TestClient(create_app(services, with_ui=False))
    created = client.post("/api/sessions", json={}).json()
    with other_worker.hold():
        response = client.post(
            f"/api/sessions/{created['session_id']}/messages",
            json={"text": "九十岁老人高龄津贴每月多少钱"},
            headers={"X-Session-Key": created["session_key"]},
        )
    reply = response.json()  # what it says without the model is the engine's (tests/test_limits.py); here: at once, no model
    assert response.status_code == 200 and reply["offer_human"] and reply["path"] != "generated" and llm.calls == []


def test_without_redis_budgets_let_requests_through_and_the_line_refuses(tmp_path):
    down = Settings(data_dir=tmp_path / "var", redis_url=f"redis://127.0.0.1:{free_port()}/0", rate_limit_per_session=1)
    with Services(down) as worker:
        worker.budgets.charge(session="s-1")
        worker.budgets.charge(session="s-1")  # not counted, not refused: Redis is down
        with pytest.raises(ModelBusy), worker.model_line.hold():
            pass


def test_a_change_committed_by_one_worker_wakes_the_pages_waiting_on_another(workers):
    first, second = workers
    first.live  # noqa: B018  (built with each worker's app: it hears that worker's commits)
    since = second.live.version
    time.sleep(0.3)  # the second worker's listener has subscribed

    async def wait_on_the_second() -> tuple[int, float]:
        started = time.monotonic()
        version = await second.live.wait([DESK], since, timeout=10)
        return version, time.monotonic() - started

    def commit_on_the_first() -> None:
        time.sleep(0.2)
        with Session(first.db_engine) as session:
            session.add(ChatSession(id="s-live", channel="web", status="waiting", created_at=now()))
            session.commit()

    committer = threading.Thread(target=commit_on_the_first)
    committer.start()
    version, waited = asyncio.run(wait_on_the_second())
    committer.join()
    assert version > since and waited < 2  # pushed, not the 10 s timeout
    assert second.live.changed_since([session_key("s-live")], since)
