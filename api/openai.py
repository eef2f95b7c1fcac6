"""The OpenAI-compatible /v1/chat/completions facade, for clients built for that API: the last user
message is asked in a Xiaobao session and the checked answer comes back with its sources."""

import json
import time
from collections.abc import Iterator
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from xiaobao.api.deps import NOT_YOURS, ServicesDep
from xiaobao.assistant.engine import Reply

router = APIRouter(tags=["OpenAI 兼容"])


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None


class ChatRequest(BaseModel):
    model: str = "xiaobao"
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    metadata: dict[str, str] | None = Field(None, description="可带 session_id 和 session_key 以延续同一会话。")


def with_sources(reply: Reply) -> str:
    """Plain text for clients that show only text: the answer, its label and its sources."""
    lines = [reply.text]
    if reply.citations:
        lines.append("出处：" + "；".join(f"[{c['number']}] {c['citation']}" for c in reply.citations))
    if reply.label:
        lines.append(f"（{reply.label}）")
    return "\n".join(lines)


def chunks(base: dict, content: str, xiaobao: dict) -> Iterator[str]:
    """The whole checked answer as one streamed delta, then the stop chunk, which carries the reply's
    details and the session key for continuing (as the non-streamed answer does)."""

    def chunk(delta: dict, **extra) -> str:
        details = {"xiaobao": extra.pop("xiaobao")} if "xiaobao" in extra else {}
        data = {**base, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, **extra}], **details}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": content})
    yield chunk({}, finish_reason="stop", xiaobao=xiaobao)
    yield "data: [DONE]\n\n"


@router.post("/v1/chat/completions", response_model=None)
def chat_completions(services: ServicesDep, body: ChatRequest, request: Request) -> dict | StreamingResponse:
    """OpenAI-compatible: the last user message is asked in a session (`metadata.session_id`, or a
    new one). Streaming sends only checked text: unchecked model tokens never reach these clients."""
    engine, keys = services.engine, services.session_keys
    question = next((m.content for m in reversed(body.messages) if m.role == "user" and m.content), None)
    if not question:
        raise HTTPException(422, "messages 中需要至少一条 user 消息。")
    metadata = body.metadata or {}
    if session_id := metadata.get("session_id"):
        if not keys.valid(session_id, metadata.get("session_key")):
            raise HTTPException(403, NOT_YOURS)
        services.budgets.charge(session=session_id)  # the session's budget, as on /api/sessions/{id}/…
    else:
        services.budgets.charge(new_session_of=request.client.host if request.client else "?")
        session_id = engine.create_session(channel="api")
    reply = engine.respond(session_id, question)
    base = {"id": f"chatcmpl-{reply.turn_id}", "created": int(time.time()), "model": body.model}
    xiaobao = {**reply.to_dict(), "session_key": keys.issue(session_id)}
    if body.stream:
        return StreamingResponse(chunks(base, with_sources(reply), xiaobao), media_type="text/event-stream")
    return {
        **base,
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": with_sources(reply)}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "xiaobao": xiaobao,
    }


@router.get("/v1/models")
def models() -> dict:
    """The one model this facade serves, for clients that list models before they ask."""
    return {"object": "list", "data": [{"id": "xiaobao", "object": "model", "created": 0, "owned_by": "xiaobao"}]}
