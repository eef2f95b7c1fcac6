"""Service exceptions as HTTP answers, in one place: the status each means and, where the exception's
own text is not for the client, the Chinese `detail` said instead."""

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from xiaobao.assistant.engine import IdentityRefused, SessionNotFound, TurnNotFound
from xiaobao.assistant.guard import BadMessage
from xiaobao.assistant.reports import ReportError, ReportNotFound
from xiaobao.assistant.telemetry import ERRORS as ERROR_COUNT
from xiaobao.identity.access import OverBudget
from xiaobao.identity.accounts import AccountError
from xiaobao.identity.citizens import CredentialRejected
from xiaobao.knowledge.embedders import ModelMissing
from xiaobao.prereview.review import ReviewBusy, UploadRejected
from xiaobao.staff.editorial import EditorialError, EntryNotFound
from xiaobao.staff.helpdesk import Conflict, DeskError, HandoffNotFound
from xiaobao.voice.listening import AudioTooLong, BadAudio

log = logging.getLogger("xiaobao.server")
STATUS = {
    BadMessage: 422,
    DeskError: 422,
    EditorialError: 422,
    AccountError: 422,
    ReportError: 422,
    IdentityRefused: 403,
    CredentialRejected: 401,
    UploadRejected: 413,
    Conflict: 409,
    HandoffNotFound: 404,
    EntryNotFound: 404,
    ReportNotFound: 404,
    SessionNotFound: 404,
    TurnNotFound: 404,
    BadAudio: 422,
    AudioTooLong: 413,
    ModelMissing: 503,  # its text names the package to install
}
SAID_INSTEAD = {  # a lookup error carries the missing key, not a sentence
    HandoffNotFound: "没有这个转人工记录。",
    EntryNotFound: "没有这个知识条目。",
    ReportNotFound: "没有这个查询编号。",
    SessionNotFound: "会话不存在，请新建会话。",
    TurnNotFound: "这个会话里没有这条回答。",
}


def refusal(status: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    """A handler answering with the status and the exception's words (or the ones said instead)."""

    async def handler(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": SAID_INSTEAD.get(type(exc), str(exc))}, status_code=status)

    return handler


def try_later(status: int, kind: str) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    """A handler for a refusal that passes (a full line, a spent budget): the status, the exception's
    words and its `retry_after` as Retry-After; counted by kind for /metrics."""

    async def handler(request: Request, exc: Exception) -> JSONResponse:
        ERROR_COUNT.labels(kind).inc()
        return JSONResponse({"detail": str(exc)}, status_code=status, headers={"Retry-After": str(exc.retry_after)})

    return handler


over_budget = try_later(429, "rate_limited")  # also answered by the budget middleware, outside any route


async def database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
    """The database is locked past its wait, or the disk is full: nothing was half-written (the
    transaction rolled back); the client may simply try again."""
    ERROR_COUNT.labels("database").inc()
    log.error("database unavailable on %s: %s", request.url.path, exc.orig)
    return JSONResponse({"detail": "服务暂时繁忙，请稍后再试。"}, status_code=503, headers={"Retry-After": "5"})


async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming each field and what is wrong with it, never echoing what was sent: the input may hold
    personal data, and text that cannot be encoded (a lone surrogate) would turn the answer into a 500."""
    problems = [
        {
            "loc": [str(part).encode("utf-8", "replace").decode() for part in error.get("loc", ())],
            "msg": error.get("msg", ""),
            "type": error.get("type", ""),
        }
        for error in exc.errors()
    ]
    fields = "、".join(".".join(p["loc"][1:] or p["loc"]) for p in problems[:5])
    return JSONResponse({"detail": problems, "message": f"请求的内容有误：{fields}"}, status_code=422)


def install(app: FastAPI) -> None:
    for error, status in STATUS.items():
        app.add_exception_handler(error, refusal(status))
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(OverBudget, over_budget)
    app.add_exception_handler(ReviewBusy, try_later(503, "review_busy"))
    app.add_exception_handler(OperationalError, database_unavailable)
