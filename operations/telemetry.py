"""The service's Prometheus exposition (served at /metrics): request latency by route, the dialogue's own
metrics (assistant/telemetry.py), and the lengths of the queues people work from."""

from __future__ import annotations

import datetime as dt

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

REQUEST_SECONDS = Histogram(
    "xiaobao_http_request_seconds",
    "HTTP request latency by route",
    ["method", "route", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


class QueueCollector:
    """Queue lengths read from the database at scrape time."""

    def __init__(self, db_engine: Engine) -> None:
        self.db_engine = db_engine

    def collect(self):
        from xiaobao.assistant.reports import IssueReport
        from xiaobao.assistant.store import Handoff, KnowledgeGap

        today = dt.date.today()
        with Session(self.db_engine) as session:
            queued = session.scalar(select(func.count()).select_from(Handoff).where(Handoff.status == "queued"))
            held = session.scalar(select(func.count()).select_from(Handoff).where(Handoff.status.in_(("claimed", "answered"))))
            gaps = session.scalar(select(func.count()).select_from(KnowledgeGap).where(KnowledgeGap.status == "open"))
            overdue = session.scalar(
                select(func.count()).select_from(KnowledgeGap).where(KnowledgeGap.status == "open", KnowledgeGap.due_date < today)
            )
            reports = session.scalar(select(func.count()).select_from(IssueReport).where(IssueReport.status != "closed"))
        gauge = GaugeMetricFamily("xiaobao_queue_length", "Items waiting in a queue", labels=["queue"])
        for name, value in (("handoff_waiting", queued), ("handoff_with_helper", held), ("knowledge_gaps_open", gaps),
                            ("knowledge_gaps_overdue", overdue), ("issue_reports_open", reports)):  # fmt: skip
            gauge.add_metric([name], value or 0)
        yield gauge


def exposition(queues: CollectorRegistry) -> bytes:
    """The process-wide metrics followed by this app's queue gauges, in the text format."""
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY) + generate_latest(queues)


def queue_registry(db_engine: Engine) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(QueueCollector(db_engine))
    return registry
