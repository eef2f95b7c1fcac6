"""The citizen's conversation: sessions, questions (JSON or server-sent events), history, status,
rating and hand-off to a person. Every route but creation needs the session's key."""

import json
from collections.abc import Iterator
from itertools import chain
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from xiaobao.api.deps import MAX_ROW_ID, Owned, RowId, ServicesDep
from xiaobao.assistant.guard import MAX_CHARS

router = APIRouter()


class NewSession(BaseModel):
    id_token: str | None = Field(
        None, max_length=8192, description="门户（一网通办）统一身份认证签发的 ID Token；服务端验签后确定本人身份，每个凭证只能开一个会话。"
    )
    user_ref: str | None = Field(None, max_length=64, description="演示身份（仅演示模式 XIAOBAO_DEMO_MODE 下可用）；匿名会话不填。")
    channel: Literal["web", "miniprogram", "api"] = "web"


class SessionCreated(BaseModel):
    session_id: str
    session_key: str = Field(description="会话密钥：之后访问这个会话时放在请求头 X-Session-Key 中。")


class Message(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_CHARS * 2, description="用户的问题。")
    stream: bool = Field(
        False,
        description="true：以 text/event-stream 返回：status（小宝正在查找）、sources（将依据的资料）、"
        "sentence（每句核对通过后才发出，不会撤回），最后 final（完整答复）。",
    )


class RatingIn(BaseModel):
    value: Literal["good", "bad"]
    comment: str | None = Field(None, max_length=500)


class HandoffIn(BaseModel):
    reason: str = Field("用户要求转人工", max_length=200)


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def event_data(kind: str, value) -> dict:
    """The JSON of one of the engine's stream events (see Engine.stream)."""
    if kind == "final":
        return value.to_dict()
    return {"sources": value} if kind == "sources" else {"text": value}


@router.post("/api/sessions", status_code=201, tags=["会话"])
def create_session(services: ServicesDep, body: NewSession | None = None) -> SessionCreated:
    body = body or NewSession()
    session_id = services.engine.create_session(body.user_ref, body.channel, credential=body.id_token)
    return SessionCreated(session_id=session_id, session_key=services.session_keys.issue(session_id))


@router.get("/api/sessions/{session_id}", tags=["会话"])
def session_status(services: ServicesDep, session_id: Owned) -> dict:
    """bot：小宝在答；queued：排队等人工；human：人工帮办正在服务。"""
    return {"session_id": session_id, "status": services.engine.status(session_id)}


@router.get("/api/sessions/{session_id}/messages", tags=["会话"])
def history(
    services: ServicesDep,
    session_id: Owned,
    after: Annotated[int, Query(ge=0, le=MAX_ROW_ID, description="只返回这条之后的消息（轮询用）。")] = 0,
) -> list[dict]:
    return services.engine.history(session_id, after)


@router.post("/api/sessions/{session_id}/messages", tags=["会话"], response_model=None)
def send(services: ServicesDep, session_id: Owned, body: Message) -> dict | StreamingResponse:
    if not body.stream:
        return services.engine.respond(session_id, body.text).to_dict()
    events = services.recitals.tee(session_id, services.engine.stream(session_id, body.text))  # …/turns/current/audio speaks it
    first = next(events)  # raises bad input / unknown session before the stream starts (4xx, not a broken stream)

    def feed() -> Iterator[str]:
        for kind, value in chain([first], events):  # lazily: each checked sentence leaves as soon as it is checked
            yield sse(kind, event_data(kind, value))

    return StreamingResponse(feed(), media_type="text/event-stream")


@router.post("/api/sessions/{session_id}/turns/{turn_id}/rating", status_code=204, tags=["评价"])
def rate(services: ServicesDep, session_id: Owned, turn_id: RowId, body: RatingIn) -> None:
    services.engine.rate(turn_id, body.value, body.comment, session_id=session_id)


@router.post("/api/sessions/{session_id}/handoff", tags=["会话"])
def handoff(services: ServicesDep, session_id: Owned, body: HandoffIn | None = None) -> dict:
    return services.engine.handoff(session_id, (body or HandoffIn()).reason).to_dict()
