"""The online helpers' desk: the board of waiting hand-offs, claiming one, replying, Xiaobao's draft
reply, transfer, giving back and closing (optionally saving the answer as knowledge); and the citizen's
side of a hand-off: where they are in the queue, cancelling the wait. Both sides can follow changes
as server-sent events (the pages keep a slow poll as a fallback)."""

from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from xiaobao.api.deps import MAX_ROW_ID, Helper, Owned, RowId, ServicesDep
from xiaobao.api.sessions import sse
from xiaobao.operations.metrics import handoff_stats
from xiaobao.services import Services
from xiaobao.staff.live import DESK, session_key

KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing a quiet stream

router = APIRouter(tags=["线上帮办"])


class ReplyIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class TransferIn(BaseModel):
    to: str = Field(min_length=1, max_length=64)


class CloseIn(BaseModel):
    outcome: Literal["resolved", "unresolved", "referred"]
    save_as_knowledge: bool = False
    question: str = Field("", max_length=200)
    answer: str = Field("", max_length=5000)


# the fixed paths come before /api/helpdesk/{handoff_id}, which would otherwise take them
@router.get("/api/helpdesk/board")
def board(services: ServicesDep, helper: Helper) -> dict:
    return services.desk.board(helper)


@router.get("/api/helpdesk/events")
async def desk_events(services: ServicesDep, helper: Helper) -> StreamingResponse:
    """A "desk" event whenever the queue, a hand-off or a message in a session changes: the console
    then reads the board (and the open session) again."""

    async def feed() -> AsyncIterator[str]:
        version = services.live.version
        yield sse("desk", {"version": version})
        while True:
            seen, version = version, await services.live.wait([DESK], version, KEEPALIVE_S)
            yield sse("desk", {"version": version}) if version != seen else ": keepalive\n\n"

    return StreamingResponse(feed(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


@router.get("/api/helpdesk/stats")
def stats(services: ServicesDep, helper: Helper) -> dict:
    """First responses and outcomes of every hand-off so far (the dashboard has them per period)."""
    with Session(services.db_engine) as session:
        return handoff_stats(session)


@router.post("/api/helpdesk/{handoff_id}/claim")
def claim(services: ServicesDep, handoff_id: RowId, helper: Helper) -> dict:
    return services.desk.claim(handoff_id, helper)


@router.get("/api/helpdesk/{handoff_id}")
def detail(services: ServicesDep, handoff_id: RowId, helper: Helper) -> dict:
    return services.desk.detail(handoff_id, helper)


@router.post("/api/helpdesk/{handoff_id}/reply")
def reply(services: ServicesDep, handoff_id: RowId, body: ReplyIn, helper: Helper) -> dict:
    return services.desk.reply(handoff_id, helper, body.text)


@router.post("/api/helpdesk/{handoff_id}/suggestion")
def suggestion(services: ServicesDep, handoff_id: RowId, helper: Helper) -> dict:
    """Xiaobao's draft answer to the citizen's last question (not sent)."""
    question = services.desk.detail(handoff_id, helper)["last_question"]
    if not question:
        raise HTTPException(422, "这个会话里还没有群众的提问")
    return {"question": question, **services.engine.suggest(question)}


@router.post("/api/helpdesk/{handoff_id}/transfer")
def transfer(services: ServicesDep, handoff_id: RowId, body: TransferIn, helper: Helper) -> dict:
    return services.desk.transfer(handoff_id, helper, body.to)


@router.post("/api/helpdesk/{handoff_id}/return")
def give_back(services: ServicesDep, handoff_id: RowId, helper: Helper) -> dict:
    return services.desk.give_back(handoff_id, helper)


@router.post("/api/helpdesk/{handoff_id}/close")
def close(services: ServicesDep, handoff_id: RowId, body: CloseIn, helper: Helper) -> dict:
    return services.desk.close(handoff_id, helper, body.outcome, body.save_as_knowledge, body.question, body.answer)


# the citizen's side ---------------------------------------------------------------------------------


@router.get("/api/sessions/{session_id}/handoff", tags=["会话"])
def waiting(services: ServicesDep, session_id: Owned) -> dict:
    """The session's hand-off as the citizen sees it: status queued (position, helpers_online, estimate_s —
    null when no helper is online) or claimed/answered (helper); status "none" without one."""
    return services.desk.waiting(session_id) or {"status": "none"}


@router.post("/api/sessions/{session_id}/handoff/cancel", tags=["会话"])
def cancel(services: ServicesDep, session_id: Owned) -> dict:
    """Stop waiting for a helper: Xiaobao carries on (a claimed session cannot be cancelled: 409)."""
    return services.desk.cancel(session_id)


@router.get("/api/sessions/{session_id}/events", tags=["会话"])
async def session_events(
    services: ServicesDep,
    session_id: Owned,
    after: Annotated[int, Query(ge=0, le=MAX_ROW_ID, description="只推送这条之后的消息（断线重连时填最后收到的 turn_id）。")] = 0,
) -> StreamingResponse:
    """Server-sent events for the citizen's page: "turn" for each new message (helper replies, notices,
    Xiaobao's answers) and "handoff" when the hand-off changes (the same object as GET …/handoff)."""
    return StreamingResponse(
        _session_feed(services, session_id, after), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )


async def _session_feed(services: Services, session_id: str, after: int) -> AsyncIterator[str]:
    shown: dict | None = None
    while True:
        version = services.live.version  # before reading: a change while we read wakes the wait below at once
        for turn in await run_in_threadpool(services.engine.history, session_id, after):
            after = turn["turn_id"]
            yield sse("turn", turn)
        state = await run_in_threadpool(services.desk.waiting, session_id) or {"status": "none"}
        if state != shown:
            shown = state
            yield sse("handoff", state)
        # a waiting citizen's place moves with the others' hand-offs too
        keys = [session_key(session_id), *([DESK] if state["status"] == "queued" else [])]
        if await services.live.wait(keys, version, KEEPALIVE_S) == version:
            yield ": keepalive\n\n"
