"""The HTTP API: built from the services, nothing else. REST + server-sent events for the web page and
mini-programs, and an OpenAI-compatible /v1/chat/completions facade for existing clients."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import FastAPI, HTTPException, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel, Field

from assistant.engine import Engine, Reply, SessionNotFound, TurnNotFound
from assistant.guard import MAX_CHARS, BadMessage

SessionId = Annotated[str, Path(min_length=1, max_length=36)]


class NewSession(BaseModel):
    user_ref: str | None = Field(None, max_length=64, description="已实名的用户标识（由门户登录提供）；匿名会话不填。")
    channel: Literal["web", "miniprogram", "api"] = "web"


class SessionCreated(BaseModel):
    session_id: str


class Message(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_CHARS * 2, description="用户的问题。")
    stream: bool = Field(False, description="true：以 text/event-stream 返回（token 事件，最后 final 事件）。")


class RatingIn(BaseModel):
    value: Literal["good", "bad"]
    comment: str | None = Field(None, max_length=500)


class HandoffIn(BaseModel):
    reason: str = Field("用户要求转人工", max_length=200)


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None


class ChatRequest(BaseModel):
    model: str = "xiaobao"
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    metadata: dict[str, str] | None = Field(None, description="可带 session_id 以延续同一会话。")


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def with_sources(reply: Reply) -> str:
    """Plain text for clients that show only text: the answer, its label and its sources."""
    lines = [reply.text]
    if reply.citations:
        lines.append("出处：" + "；".join(f"[{c['number']}] {c['citation']}" for c in reply.citations))
    if reply.label:
        lines.append(f"（{reply.label}）")
    return "\n".join(lines)


def create_app(engine: Engine, with_ui: bool = True) -> FastAPI:
    app = FastAPI(
        title="小宝 Xiaobao API",
        description="宝山区“智慧好办”智能助手的接口：会话、提问（JSON 或 SSE 流）、历史、评价、转人工，以及 OpenAI 兼容接口。",
        version="0.1.0",
    )

    @app.exception_handler(BadMessage)
    async def bad_message(request: Request, exc: BadMessage) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(SessionNotFound)
    async def no_session(request: Request, exc: SessionNotFound) -> JSONResponse:
        return JSONResponse({"detail": "会话不存在，请新建会话。"}, status_code=404)

    @app.get("/health", tags=["运维"])
    def health() -> dict:
        return {"status": "ok", "llm": engine.llm.healthy() if hasattr(engine.llm, "healthy") else None}

    @app.get("/api/tools", tags=["工具"])
    def tools() -> list[dict]:
        """The tools Xiaobao can use, with the JSON schemas of their arguments."""
        return [tool.schema() for tool in engine.tools.registry.values()]

    @app.post("/api/sessions", status_code=201, tags=["会话"])
    def create_session(body: NewSession | None = None) -> SessionCreated:
        body = body or NewSession()
        return SessionCreated(session_id=engine.create_session(body.user_ref, body.channel))

    @app.get("/api/sessions/{session_id}/messages", tags=["会话"])
    def history(session_id: SessionId) -> list[dict]:
        return engine.history(session_id)

    @app.post("/api/sessions/{session_id}/messages", tags=["会话"], response_model=None)
    def send(session_id: SessionId, body: Message) -> dict | StreamingResponse:
        if not body.stream:
            return engine.respond(session_id, body.text).to_dict()
        events = engine.stream(session_id, body.text)
        first = next(events)  # raises bad input / unknown session before the stream starts (4xx, not a broken stream)

        def feed() -> Iterator[str]:
            for kind, value in (first, *events):
                yield sse("token", {"text": value}) if kind == "token" else sse("final", value.to_dict())

        return StreamingResponse(feed(), media_type="text/event-stream")

    @app.post("/api/turns/{turn_id}/rating", status_code=204, tags=["评价"])
    def rate(turn_id: int, body: RatingIn) -> None:
        try:
            engine.rate(turn_id, body.value, body.comment)
        except TurnNotFound:
            raise HTTPException(404, "没有这条回答。") from None

    @app.post("/api/sessions/{session_id}/handoff", tags=["会话"])
    def handoff(session_id: SessionId, body: HandoffIn | None = None) -> dict:
        return engine.handoff(session_id, (body or HandoffIn()).reason).to_dict()

    @app.post("/v1/chat/completions", tags=["OpenAI 兼容"], response_model=None)
    def chat_completions(body: ChatRequest) -> dict | StreamingResponse:
        """OpenAI-compatible: the last user message is asked in a session (`metadata.session_id`, or a
        new one). Streaming sends only checked text: unchecked model tokens never reach these clients."""
        question = next((m.content for m in reversed(body.messages) if m.role == "user" and m.content), None)
        if not question:
            raise HTTPException(422, "messages 中需要至少一条 user 消息。")
        session_id = (body.metadata or {}).get("session_id") or engine.create_session(channel="api")
        reply = engine.respond(session_id, question)
        created = int(time.time())
        base = {"id": f"chatcmpl-{reply.turn_id}", "created": created, "model": body.model}
        content = with_sources(reply)
        if not body.stream:
            return {
                **base,
                "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                "xiaobao": reply.to_dict(),
            }

        def chunks() -> Iterator[str]:
            def chunk(delta: dict, **extra) -> str:
                data = {**base, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, **extra}]}
                return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

            yield chunk({"role": "assistant", "content": content})
            yield chunk({}, finish_reason="stop")
            yield "data: [DONE]\n\n"

        return StreamingResponse(chunks(), media_type="text/event-stream")

    if with_ui:
        import gradio as gr

        from ui.chat import THEME, build_chat

        @app.get("/", include_in_schema=False)
        def home() -> RedirectResponse:
            return RedirectResponse("/chat/")

        app = gr.mount_gradio_app(app, build_chat(engine), path="/chat", footer_links=[], theme=THEME)
    return app
