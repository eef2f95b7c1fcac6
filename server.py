"""The HTTP API: built from the services, nothing else. REST + server-sent events for the web page and
mini-programs, and an OpenAI-compatible /v1/chat/completions facade for existing clients."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator
from pathlib import Path as FilePath
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, File, Form, Header, HTTPException, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError

from xiaobao.assistant.engine import Reply, SessionNotFound, TurnNotFound
from xiaobao.assistant.guard import MAX_CHARS, BadMessage
from xiaobao.assistant.llm import ModelBusy
from xiaobao.assistant.reports import ReportError, ReportNotFound
from xiaobao.assistant.telemetry import ERRORS as ERROR_COUNT
from xiaobao.identity.accounts import AccountError
from xiaobao.operations.api import build_router as build_ops_router
from xiaobao.operations.telemetry import REQUEST_SECONDS, exposition, queue_registry
from xiaobao.services import Services
from xiaobao.staff.api import MAX_UPLOAD, build_router, token_of
from xiaobao.staff.editorial import EditorialError, EntryNotFound
from xiaobao.staff.helpdesk import Conflict, DeskError, HandoffNotFound

SessionId = Annotated[str, Path(min_length=1, max_length=36)]
log = logging.getLogger("xiaobao.server")
PAGES = FilePath(__file__).resolve().parent / "ui" / "static"


class NewSession(BaseModel):
    user_ref: str | None = Field(None, max_length=64, description="已实名的用户标识（由门户登录提供）；匿名会话不填。")
    channel: Literal["web", "miniprogram", "api"] = "web"


class SessionCreated(BaseModel):
    session_id: str
    session_key: str = Field(description="会话密钥：之后访问这个会话时放在请求头 X-Session-Key 中。")


class Message(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_CHARS * 2, description="用户的问题。")
    stream: bool = Field(False, description="true：以 text/event-stream 返回（token 事件，最后 final 事件）。")


class RatingIn(BaseModel):
    value: Literal["good", "bad"]
    comment: str | None = Field(None, max_length=500)


class HandoffIn(BaseModel):
    reason: str = Field("用户要求转人工", max_length=200)


class PrefillIn(BaseModel):
    item: str = Field(min_length=1, max_length=100, description="事项编号或名称，如 BS-ITEM-005 或“高龄津贴”")
    again: bool = Field(False, description="再来一单：以本人最近一次同类申请为底")


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None


class ChatRequest(BaseModel):
    model: str = "xiaobao"
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    metadata: dict[str, str] | None = Field(None, description="可带 session_id 和 session_key 以延续同一会话。")


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


ERRORS = {  # service exceptions and the HTTP status each means
    BadMessage: 422,
    DeskError: 422,
    EditorialError: 422,
    AccountError: 422,
    ReportError: 422,
    Conflict: 409,
    HandoffNotFound: 404,
    EntryNotFound: 404,
    ReportNotFound: 404,
}
NOT_YOURS = "无权访问这个会话（缺少或错误的 X-Session-Key）。"


def own_session(request: Request, session_id: SessionId, x_session_key: Annotated[str | None, Header()] = None) -> str:
    """The session, if the caller holds its key: whether another session exists is not revealed."""
    if not request.app.state.services.session_keys.valid(session_id, x_session_key):
        raise HTTPException(403, NOT_YOURS)
    return session_id


Owned = Annotated[str, Depends(own_session)]
STAFF_PAGES = {
    "helper": ("helper", "helper.html"),
    "editor": ("editor", "editor.html"),
    "admin": ("admin", "admin.html"),
    "ops": ("admin", "ops.html"),
}


def create_app(services: Services, with_ui: bool = True) -> FastAPI:
    engine, keys = services.engine, services.session_keys
    app = FastAPI(
        title="小宝 Xiaobao API",
        description="宝山区“智慧好办”智能助手的接口：会话、提问（JSON 或 SSE 流）、历史、评价、转人工、OpenAI 兼容接口，"
        "以及工作人员（线上帮办、知识编辑、管理员）的接口。",
        version="0.2.0",
    )
    app.state.services = services

    for error, status in ERRORS.items():

        async def handler(request: Request, exc: Exception, status: int = status) -> JSONResponse:
            message = {
                HandoffNotFound: "没有这个转人工记录。",
                EntryNotFound: "没有这个知识条目。",
                ReportNotFound: "没有这个查询编号。",
            }.get(type(exc), str(exc))
            return JSONResponse({"detail": message}, status_code=status)

        app.add_exception_handler(error, handler)

    @app.exception_handler(ModelBusy)
    async def busy(request: Request, exc: ModelBusy) -> JSONResponse:
        ERROR_COUNT.labels("model_busy").inc()
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        """The database is locked past its wait, or the disk is full: nothing was half-written (the
        transaction rolled back); the client may simply try again."""
        ERROR_COUNT.labels("database").inc()
        log.error("database unavailable on %s: %s", request.url.path, exc.orig)
        return JSONResponse({"detail": "服务暂时繁忙，请稍后再试。"}, status_code=503, headers={"Retry-After": "5"})

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
        session_id = engine.create_session(body.user_ref, body.channel)
        return SessionCreated(session_id=session_id, session_key=keys.issue(session_id))

    @app.get("/api/sessions/{session_id}", tags=["会话"])
    def session_status(session_id: Owned) -> dict:
        """bot：小宝在答；queued：排队等人工；human：人工帮办正在服务。"""
        return {"session_id": session_id, "status": engine.status(session_id)}

    @app.get("/api/sessions/{session_id}/messages", tags=["会话"])
    def history(session_id: Owned, after: Annotated[int, Query(ge=0, description="只返回这条之后的消息（轮询用）。")] = 0) -> list[dict]:
        return engine.history(session_id, after)

    @app.post("/api/sessions/{session_id}/messages", tags=["会话"], response_model=None)
    def send(session_id: Owned, body: Message) -> dict | StreamingResponse:
        if not body.stream:
            return engine.respond(session_id, body.text).to_dict()
        events = engine.stream(session_id, body.text)
        first = next(events)  # raises bad input / unknown session before the stream starts (4xx, not a broken stream)

        def feed() -> Iterator[str]:
            for kind, value in (first, *events):
                yield sse("token", {"text": value}) if kind == "token" else sse("final", value.to_dict())

        return StreamingResponse(feed(), media_type="text/event-stream")

    @app.post("/api/sessions/{session_id}/turns/{turn_id}/rating", status_code=204, tags=["评价"])
    def rate(session_id: Owned, turn_id: int, body: RatingIn) -> None:
        try:
            engine.rate(turn_id, body.value, body.comment, session_id=session_id)
        except TurnNotFound:
            raise HTTPException(404, "这个会话里没有这条回答。") from None

    @app.post("/api/sessions/{session_id}/handoff", tags=["会话"])
    def handoff(session_id: Owned, body: HandoffIn | None = None) -> dict:
        return engine.handoff(session_id, (body or HandoffIn()).reason).to_dict()

    @app.get("/api/services/items", tags=["办事服务"])
    def service_items() -> list[dict]:
        """The service catalogue: items with their form fields and materials (review points)."""
        return [item.model_dump(mode="json") for item in engine.tools.directory.items()]

    @app.get("/api/sessions/{session_id}/applications", tags=["办事服务"])
    def my_applications(session_id: Owned, application_id: Annotated[str | None, Query(max_length=20)] = None) -> dict:
        """The identified user's applications, or one application's progress."""
        arguments = {"application_id": application_id} if application_id else {}
        return engine.use_tool(session_id, "get_application_progress", arguments, f"查询办件 {application_id or ''}".strip()).to_dict()

    @app.post("/api/sessions/{session_id}/prefill", tags=["办事服务"])
    def prefill_form(session_id: Owned, body: PrefillIn) -> dict:
        """Prefill an item's form from the government's data for the session's identified user."""
        return engine.use_tool(session_id, "prefill_form", {"item": body.item, "again": body.again}, f"预填 {body.item}").to_dict()

    @app.get("/api/sessions/{session_id}/policies", tags=["办事服务"])
    def my_policies(session_id: Owned) -> dict:
        """免申即享: every policy checked against the session's enterprise, rule by rule."""
        return engine.use_tool(session_id, "match_policies", {}, "我可以享受哪些政策").to_dict()

    @app.post("/api/sessions/{session_id}/prereview", tags=["办事服务"])
    async def prereview(
        session_id: Owned,
        item_id: Annotated[str, Form(max_length=40, description="事项编号，如 BS-ITEM-007")],
        files: Annotated[list[UploadFile], File(description="申请材料：PDF、图片、DOCX、TXT，每份不超过 20 MB")],
    ) -> dict:
        """Pre-review uploaded materials against the item's review points."""
        uploads = []
        for upload in files:
            data = await upload.read(MAX_UPLOAD + 1)
            if len(data) > MAX_UPLOAD:
                raise HTTPException(413, f"{upload.filename} 太大（上限 {MAX_UPLOAD // 1024 // 1024} MB）")
            uploads.append((upload.filename or "未命名", data))
        reply = await run_in_threadpool(engine.prereview, session_id, item_id, uploads)  # OCR is CPU work
        review = reply.data
        if review.get("reason") == "no_item":
            raise HTTPException(422, reply.text)
        if review.get("unreadable") and len(review["unreadable"]) == len(uploads):
            raise HTTPException(422, "；".join(review["unreadable"]))
        return reply.to_dict()

    @app.post("/v1/chat/completions", tags=["OpenAI 兼容"], response_model=None)
    def chat_completions(body: ChatRequest) -> dict | StreamingResponse:
        """OpenAI-compatible: the last user message is asked in a session (`metadata.session_id`, or a
        new one). Streaming sends only checked text: unchecked model tokens never reach these clients."""
        question = next((m.content for m in reversed(body.messages) if m.role == "user" and m.content), None)
        if not question:
            raise HTTPException(422, "messages 中需要至少一条 user 消息。")
        metadata = body.metadata or {}
        if session_id := metadata.get("session_id"):
            if not keys.valid(session_id, metadata.get("session_key")):
                raise HTTPException(403, NOT_YOURS)
        else:
            session_id = engine.create_session(channel="api")
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
                "xiaobao": {**reply.to_dict(), "session_key": keys.issue(session_id)},
            }

        def chunks() -> Iterator[str]:
            def chunk(delta: dict, **extra) -> str:
                data = {**base, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, **extra}]}
                return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

            yield chunk({"role": "assistant", "content": content})
            yield chunk({}, finish_reason="stop")
            yield "data: [DONE]\n\n"

        return StreamingResponse(chunks(), media_type="text/event-stream")

    app.include_router(build_router(services))
    app.include_router(build_ops_router(services.metrics, services.reports, services.accounts, keys))
    queues = queue_registry(services.db_engine)

    @app.middleware("http")
    async def limited(request: Request, call_next):
        """Request budgets per client address and per citizen session: 429 with Retry-After."""
        path = request.url.path
        if path.startswith(("/api/", "/v1/")):
            session = path.split("/")[3] if path.startswith("/api/sessions/") and path.count("/") >= 3 else None
            if wait := services.budgets.wait(request.client.host if request.client else "?", session):
                ERROR_COUNT.labels("rate_limited").inc()
                return JSONResponse(
                    {"detail": "请求太频繁，请稍后再试。"}, status_code=429, headers={"Retry-After": str(max(1, math.ceil(wait)))}
                )
        return await call_next(request)

    @app.middleware("http")
    async def timed(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        # the route's template (/api/sessions/{session_id}/messages), not the raw path: bounded labels
        name = getattr(route, "path", None) or "unmatched"
        REQUEST_SECONDS.labels(request.method, name, str(response.status_code)).observe(time.perf_counter() - started)
        if response.status_code >= 500:
            ERROR_COUNT.labels("http_5xx").inc()
        return response

    @app.get("/metrics", tags=["运维"], response_class=PlainTextResponse)
    def prometheus() -> PlainTextResponse:
        """Prometheus metrics: request latency by route, model and retrieval latency, tokens, errors, queue lengths."""
        return PlainTextResponse(exposition(queues), media_type="text/plain; version=0.0.4")

    @app.get("/staff/login", include_in_schema=False)
    def login_page() -> FileResponse:
        return FileResponse(PAGES / "login.html")

    @app.get("/staff/static/{name}", include_in_schema=False)
    def staff_asset(name: Annotated[str, Path(pattern=r"^[a-z]+\.(js|css)$")]) -> FileResponse:
        if not (PAGES / name).is_file():
            raise HTTPException(404, "没有这个文件。")
        return FileResponse(PAGES / name)

    @app.get("/staff/{page}", include_in_schema=False, response_model=None)
    def staff_page(page: str, request: Request) -> FileResponse | RedirectResponse:
        """The consoles are served only to a logged-in account with the page's role."""
        if page not in STAFF_PAGES:
            raise HTTPException(404, "没有这个页面。")
        role, file = STAFF_PAGES[page]
        staff = services.accounts.authenticate(token_of(request))
        if staff is None or not staff.can(role):
            return RedirectResponse(f"/staff/login?next=/staff/{page}", status_code=303)
        return FileResponse(PAGES / file)

    if with_ui:
        import gradio as gr

        from xiaobao.ui.chat import THEME, build_chat

        @app.get("/", include_in_schema=False)
        def home() -> RedirectResponse:
            return RedirectResponse("/chat/")

        app = gr.mount_gradio_app(app, build_chat(services), path="/chat", footer_links=[], theme=THEME)
    return app
