"""For the people who run the service: the health check and the Prometheus metrics. Neither is
budgeted (middleware.py budgets only /api/, /v1/ and the chat page's calls); /metrics can need a token."""

import hmac

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse

from xiaobao.api.deps import ServicesDep
from xiaobao.operations.telemetry import exposition, queue_registry

router = APIRouter(tags=["运维"])


@router.get("/health")
def health(services: ServicesDep) -> dict:
    llm = services.llm
    return {"status": "ok", "llm": llm.healthy() if hasattr(llm, "healthy") else None, "demo_mode": services.settings.demo_mode}


@router.get("/metrics", response_class=PlainTextResponse)
def prometheus(services: ServicesDep, request: Request) -> PlainTextResponse:
    """Prometheus metrics: request latency by route, model and retrieval latency, tokens, errors, queue lengths.
    With XIAOBAO_METRICS_TOKEN set, only for `Authorization: Bearer <token>`."""
    if token := services.settings.metrics_token:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(errors="replace"), token.encode()):
            raise HTTPException(401, "需要监控令牌（Authorization: Bearer）。", headers={"WWW-Authenticate": "Bearer"})
    return PlainTextResponse(exposition(queue_registry(services.db_engine)), media_type="text/plain; version=0.0.4")
