"""For the people who run the service: the health check and the Prometheus metrics. Neither is
budgeted (middleware.py budgets only /api/ and /v1/)."""

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from xiaobao.api.deps import ServicesDep
from xiaobao.operations.telemetry import exposition, queue_registry

router = APIRouter(tags=["运维"])


@router.get("/health")
def health(services: ServicesDep) -> dict:
    llm = services.engine.llm
    return {"status": "ok", "llm": llm.healthy() if hasattr(llm, "healthy") else None}


@router.get("/metrics", response_class=PlainTextResponse)
def prometheus(services: ServicesDep) -> PlainTextResponse:
    """Prometheus metrics: request latency by route, model and retrieval latency, tokens, errors, queue lengths."""
    return PlainTextResponse(exposition(queue_registry(services.db_engine)), media_type="text/plain; version=0.0.4")
