"""What every request passes through: the client's real address (only behind a trusted proxy), the
request budgets (429 with Retry-After), the cross-site check of the staff cookie, the security headers
of every page, and the timing that /metrics exposes."""

import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from xiaobao.api.deps import COOKIE
from xiaobao.api.errors import over_budget
from xiaobao.assistant.telemetry import ERRORS as ERROR_COUNT
from xiaobao.identity.access import OverBudget
from xiaobao.operations.telemetry import REQUEST_SECONDS

STAFF_API = ("/api/staff/", "/api/helpdesk/", "/api/editor/", "/api/admin/", "/api/ops/")
CHANGES = {"POST", "PUT", "PATCH", "DELETE"}
# the consoles are our own plain pages: nothing from elsewhere, not framed by other sites
STAFF_PAGES_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


async def limited(request: Request, call_next):
    """Request budgets per client address, per citizen session and for new sessions: everything that
    reaches the model, OCR or the database — the API, the OpenAI facade and the chat page's own calls."""
    path, budgets = request.url.path, request.app.state.services.budgets
    client = request.client.host if request.client else "?"
    chat_call = path.startswith("/chat/") and request.method == "POST"  # the Gradio page's questions and uploads
    if path.startswith(("/api/", "/v1/")) or chat_call:
        session = path.split("/")[3] if path.startswith("/api/sessions/") and path.count("/") >= 3 else None
        new_session = path == "/api/sessions" and request.method == "POST"
        try:
            budgets.charge(client, session, client if new_session else None)
        except OverBudget as exc:  # raised outside a route: the errors module answers it all the same
            return await over_budget(request, exc)
    return await call_next(request)


async def same_site(request: Request, call_next):
    """A state-changing staff request that rides on the login cookie must come from our own pages: a
    page on another origin (even another port of this host) cannot post with the cookie. Bearer
    tokens are not sent by browsers on their own, so they need no such check."""
    if request.method in CHANGES and request.url.path.startswith(STAFF_API) and COOKIE in request.cookies:
        origin = request.headers.get("origin")
        own = f"{request.url.scheme}://{request.url.netloc}"
        if request.headers.get("sec-fetch-site") == "cross-site" or (origin and origin != own):
            return JSONResponse({"detail": "跨站请求被拒绝：请在小宝工作台页面内操作。"}, status_code=403)
    return await call_next(request)


async def secured(request: Request, call_next):
    settings = request.app.state.services.settings  # before the call: a mounted app (the chat page) takes over the scope's app
    response = await call_next(request)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    csp = f"frame-ancestors {settings.frame_ancestors}"
    if request.url.path.startswith("/staff/"):
        csp = f"{STAFF_PAGES_CSP}; {csp}"
    response.headers["Content-Security-Policy"] = csp
    return response


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


def install(app: FastAPI, trusted_proxies: list[str]) -> None:
    # each one added wraps the ones before: timing is the outermost, so a refused request is timed too
    app.middleware("http")(limited)
    app.middleware("http")(same_site)
    app.middleware("http")(secured)
    app.middleware("http")(timed)
    if trusted_proxies:  # the client's address from X-Forwarded-For, believed only from these proxies
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted_proxies)
