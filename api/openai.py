"""The OpenAI-compatible /v1/chat/completions facade, for clients built for that API: the last user
message is asked in a Xiaobao session and the checked answer comes back with its sources."""

import json
import time
import uuid
from collections.abc import Callable, Iterator
from itertools import chain
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from xiaobao.api.deps import NOT_YOURS, ServicesDep
from xiaobao.assistant.engine import Reply
from xiaobao.assistant.store import cited_as

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
        lines.append("出处：" + "；".join(f"[{c['number']}] {cited_as(c['citation'], c.get('entry'))}" for c in reply.citations))
    if reply.label:
        lines.append(f"（{reply.label}）")
    return "\n".join(lines)


def usage(reply: Reply) -> dict:
    """OpenAI's usage block: the model's tokens for a generated answer (prompt tokens where the model
    server reports them; llama-cpp-python's does not when streaming), zero for answers without it."""
    prompt, completion = reply.usage.get("prompt_tokens", 0), reply.usage.get("completion_tokens", 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def chunks(base: dict, events: Iterator[tuple[str, object]], issue_key: Callable[[str], str]) -> Iterator[str]:
    """The answer as it is checked: the role at once; Xiaobao's status and the sources it found as
    `xiaobao` extension fields (no content); each checked sentence as a delta when it passes; the rest
    (a quote, an official reply, the sources and label) at the end; then the stop chunk, which carries
    the reply's details, usage and the session key for continuing."""

    def chunk(delta: dict, **extra) -> str:
        details = {key: extra.pop(key) for key in ("xiaobao", "usage") if key in extra}
        data = {**base, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, **extra}], **details}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    shown = ""
    for kind, value in events:
        if kind == "sentence":
            shown += value
            yield chunk({"content": value})
        elif kind == "final":
            full = with_sources(value)
            if rest := full[len(shown) :] if full.startswith(shown) else full:
                yield chunk({"content": rest})
            details = {**value.to_dict(), "session_key": issue_key(value.session_id)}
            yield chunk({}, finish_reason="stop", xiaobao=details, usage=usage(value))
        else:
            yield chunk({}, xiaobao={kind: value})
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
    base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": body.model}
    if body.stream:
        events = engine.stream(session_id, question)
        first = next(events)  # bad input raises here: a 4xx, not a broken stream
        return StreamingResponse(chunks(base, chain([first], events), keys.issue), media_type="text/event-stream")
    reply = engine.respond(session_id, question)
    return {
        **base,
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": with_sources(reply)}, "finish_reason": "stop"}],
        "usage": usage(reply),
        "xiaobao": {**reply.to_dict(), "session_key": keys.issue(session_id)},
    }


@router.get("/v1/models")
def models() -> dict:
    """The one model this facade serves, for clients that list models before they ask."""
    return {"object": "list", "data": [{"id": "xiaobao", "object": "model", "created": 0, "owned_by": "xiaobao"}]}
