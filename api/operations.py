"""The operations dashboard over HTTP, for admins: the metrics report for a period, its tables as CSV or
XLSX, its charts, the evaluation history, assigning and closing 办不成事 reports, and the cockpit
(数据驾驶舱): the promises per department and item, exported as XLSX / PDF, and the scheduled reports."""

import datetime as dt
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from xiaobao.api.deps import Admin, ServicesDep
from xiaobao.govdata.workdays import CHINA
from xiaobao.operations import charts, exports, history, periodic
from xiaobao.operations.metrics import Period

router = APIRouter(tags=["运营"])
MAX_DAYS = 366


class AssignIn(BaseModel):
    assignee: str = Field(min_length=1, max_length=100, description="承办部门或人员")


class CloseReportIn(BaseModel):
    result: str = Field(min_length=1, max_length=2000, description="办理结果（群众查询时可见）")


def period_of(
    start: Annotated[dt.date | None, Query(description="起始日（含），默认 30 天前")] = None,
    end: Annotated[dt.date | None, Query(description="截止日（含），默认今天")] = None,
    department: Annotated[str | None, Query(max_length=100)] = None,
    item: Annotated[str | None, Query(max_length=200)] = None,
) -> Period:
    end = end or dt.datetime.now(CHINA).date()
    start = start or end - dt.timedelta(days=29)
    if start > end:
        raise HTTPException(422, "起始日不能晚于截止日")
    if (end - start).days >= MAX_DAYS:
        raise HTTPException(422, f"统计区间不能超过 {MAX_DAYS} 天")
    return Period(start, end, department or None, item or None)


Window = Annotated[Period, Depends(period_of)]
EXPORTS = {  # table name -> (columns, rows of a report)
    "daily": (("date", "answers", "sessions", "verbatim", "generated", "refused", "handoff"), lambda r: r["daily"]),
    "paths": (("path", "answers"), lambda r: [{"path": k, "answers": v} for k, v in r["paths"].items()]),
    "departments": (
        ("department", "answers", "verbatim", "generated", "refused", "tool", "good", "bad"),
        lambda r: r["by_department"],
    ),
    "first_response": (("bucket", "handoffs"), lambda r: [{"bucket": k, "handoffs": v} for k, v in r["handoffs"]["buckets"].items()]),
    "comments": (("at", "value", "comment"), lambda r: r["ratings"]["comments"]),
    "never_used": (("entry",), lambda r: [{"entry": e} for e in r["knowledge"]["never_used"]]),
    "knowledge_size": (("doc_type", "chunks"), lambda r: [{"doc_type": k, "chunks": v} for k, v in r["knowledge"]["size_by_type"].items()]),
}


def export(columns: tuple[str, ...], rows: list[dict], kind: str, name: str) -> Response:
    """A table as a CSV or XLSX download (masked, formula-safe: operations/exports.py)."""
    body = exports.table(columns, rows, kind, name)
    return Response(body, media_type=exports.MEDIA[kind], headers={"Content-Disposition": f'attachment; filename="{name}.{kind}"'})


@router.get("/api/ops/report")
def report(services: ServicesDep, admin: Admin, period: Window) -> dict:
    """All service metrics for the period (and department / item)."""
    return services.metrics.report(period)


@router.get("/api/ops/export/{table}")
def export_table(
    services: ServicesDep,
    table: Literal["daily", "paths", "departments", "first_response", "comments", "never_used", "knowledge_size", "reports", "evals"],
    admin: Admin,
    period: Window,
    format: Literal["csv", "xlsx"] = "csv",
) -> Response:
    """One table of the dashboard as CSV or XLSX."""
    if table == "reports":
        columns = ("tracking_no", "status_name", "item", "description", "contact", "assignee", "result", "created_at", "closed_at")
        return export(columns, services.reports.list(), format, table)
    if table == "evals":
        rows = [{**run, **run["headline"]} for run in history.runs(services.db_engine)]
        labels = sorted({label for run in rows for label in run["headline"]})
        return export(("at", "kind", "version", *labels), rows, format, table)
    columns, rows = EXPORTS[table]
    return export(columns, rows(services.metrics.report(period)), format, table)


@router.get("/api/ops/charts/{name}.png")
def chart(
    services: ServicesDep,
    name: Literal["trend", "paths", "first_response", "departments", "evals", "cockpit_targets", "cockpit_index"],
    admin: Admin,
    period: Window,
) -> Response:
    if name == "evals":
        data = history.runs(services.db_engine)
    else:
        data = services.cockpit.report(period) if name.startswith("cockpit") else services.metrics.report(period)
    return Response(charts.draw(name, data), media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/api/ops/evals")
def evals(services: ServicesDep, admin: Admin, kind: Annotated[str | None, Query(max_length=20)] = None) -> list[dict]:
    return history.runs(services.db_engine, kind)


@router.get("/api/ops/reports")
def list_reports(services: ServicesDep, admin: Admin, status: Literal["submitted", "assigned", "closed"] | None = None) -> list[dict]:
    return services.reports.list(status)


@router.post("/api/ops/reports/{tracking_no}/assign")
def assign(services: ServicesDep, tracking_no: str, body: AssignIn, admin: Admin) -> dict:
    return services.reports.assign(tracking_no, body.assignee, admin.username)


@router.post("/api/ops/reports/{tracking_no}/close")
def close(services: ServicesDep, tracking_no: str, body: CloseReportIn, admin: Admin) -> dict:
    return services.reports.close(tracking_no, body.result, admin.username)


@router.get("/api/ops/cockpit")
def cockpit(services: ServicesDep, admin: Admin, period: Window) -> dict:
    """数据驾驶舱: every promise of the plan for the period, for the district, each department (with its
    政务服务指数) and each item; 无数据 (null) where nothing in the period measures it."""
    return services.cockpit.report(period)


@router.post("/api/ops/cockpit/refresh")
def refresh(services: ServicesDep, admin: Admin) -> dict:
    """Bring the daily pre-aggregates up to yesterday now (the schedule does it every hour)."""
    return services.cockpit.refresh()


@router.get("/api/ops/cockpit/export.{kind}")
def cockpit_export(services: ServicesDep, kind: Literal["xlsx", "pdf"], admin: Admin, period: Window) -> Response:
    report = services.cockpit.report(period)
    body = periodic.workbook(report) if kind == "xlsx" else periodic.pdf(report)
    name = f"cockpit-{period.start.isoformat()}-{period.end.isoformat()}.{kind}"
    media = exports.MEDIA["xlsx"] if kind == "xlsx" else "application/pdf"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/api/ops/cockpit/scheduled")
def scheduled(services: ServicesDep, admin: Admin) -> list[dict]:
    """The weekly and monthly reports written by the schedule (newest first)."""
    return periodic.listing(services.settings.data_dir / "reports")


@router.get("/api/ops/cockpit/scheduled/{name}")
def scheduled_file(services: ServicesDep, name: str, admin: Admin) -> Response:
    if name not in {f["name"] for f in periodic.listing(services.settings.data_dir / "reports")}:
        raise HTTPException(404, "没有这份报告")
    path = services.settings.data_dir / "reports" / name
    media = "application/pdf" if path.suffix == ".pdf" else exports.MEDIA["xlsx"]
    return Response(path.read_bytes(), media_type=media, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})
