"""What every request passes through: the request budgets (429 with Retry-After) and the timing that
/metrics exposes."""

import math
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from xiaobao.assistant.telemetry import ERRORS as ERROR_COUNT
from xiaobao.operations.telemetry import REQUEST_SECONDS


async def limited(request: Request, call_next):
    """Request budgets per client address and per citizen session: 429 with Retry-After."""
    path = request.url.path
    if path.startswith(("/api/", "/v1/")):
        session = path.split("/")[3] if path.startswith("/api/sessions/") and path.count("/") >= 3 else None
        if wait := request.app.state.services.budgets.wait(request.client.host if request.client else "?", session):
            ERROR_COUNT.labels("rate_limited").inc()
            return JSONResponse(
                {"detail": "请求太频繁，请稍后再试。"}, status_code=429, headers={"Retry-After": str(max(1, math.ceil(wait)))}
            )
    return await call_next(request)


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


def install(app: FastAPI) -> None:
    # added last, timing is the outer one: a request refused by its budget is timed too (as "unmatched")
    app.middleware("http")(limited)
    app.middleware("http")(timed)
