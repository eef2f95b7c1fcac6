"""Operations over HTTP: the metrics report, its charts and exports, evaluation history and the
办不成事 channel (citizens submit and look up; admins assign and close)."""

# No `from __future__ import annotations` here: FastAPI must resolve the route-local Annotated aliases.
import csv
import datetime as dt
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from xiaobao.assistant.guard import mask
from xiaobao.assistant.reports import Reports
from xiaobao.govdata.workdays import CHINA
from xiaobao.identity.access import SessionKeys
from xiaobao.identity.accounts import Accounts, Staff
from xiaobao.operations import charts, history
from xiaobao.operations.metrics import Metrics, Period
from xiaobao.staff.api import with_role

MAX_DAYS = 366


class ReportIn(BaseModel):
    description: str = Field(min_length=1, max_length=2000, description="没有办成的事情和经过")
    item: str | None = Field(None, max_length=200, description="涉及的事项")
    contact: str | None = Field(None, max_length=100, description="联系方式（仅工作人员可见）")
    session_id: str | None = Field(None, max_length=36, description="在对话中提交时的会话")
    session_key: str | None = Field(None, max_length=100)


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
    """A table as CSV or XLSX; personal numbers in any text cell are masked (exports leave the system)."""
    rows = [{c: mask(v) if isinstance(v, str) else v for c, v in row.items()} for row in rows]
    if kind == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        body = out.getvalue().encode("utf-8-sig")  # with a BOM, Excel opens Chinese text correctly
        media = "text/csv; charset=utf-8"
    else:
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = name[:31]
        sheet.append(list(columns))
        for row in rows:
            sheet.append([row.get(c) for c in columns])
        out_bytes = io.BytesIO()
        book.save(out_bytes)
        body = out_bytes.getvalue()
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}.{kind}"'})


def build_router(metrics: Metrics, reports: Reports, accounts: Accounts, keys: SessionKeys) -> APIRouter:
    router = APIRouter()
    Admin = Annotated[Staff, Depends(with_role(accounts, "admin"))]
    Window = Annotated[Period, Depends(period_of)]

    @router.get("/api/ops/report", tags=["运营"])
    def report(admin: Admin, period: Window) -> dict:
        """All service metrics for the period (and department / item)."""
        return metrics.report(period)

    @router.get("/api/ops/export/{table}", tags=["运营"])
    def export_table(
        table: Literal["daily", "paths", "departments", "first_response", "comments", "never_used", "knowledge_size", "reports", "evals"],
        admin: Admin,
        period: Window,
        format: Literal["csv", "xlsx"] = "csv",
    ) -> Response:
        """One table of the dashboard as CSV or XLSX."""
        if table == "reports":
            columns = ("tracking_no", "status_name", "item", "description", "contact", "assignee", "result", "created_at", "closed_at")
            return export(columns, reports.list(), format, table)
        if table == "evals":
            rows = [{**run, **run["headline"]} for run in history.runs(metrics.db_engine)]
            labels = sorted({label for run in rows for label in run["headline"]})
            return export(("at", "kind", "version", *labels), rows, format, table)
        columns, rows = EXPORTS[table]
        return export(columns, rows(metrics.report(period)), format, table)

    @router.get("/api/ops/charts/{name}.png", tags=["运营"])
    def chart(name: Literal["trend", "paths", "first_response", "departments", "evals"], admin: Admin, period: Window) -> Response:
        data = history.runs(metrics.db_engine) if name == "evals" else metrics.report(period)
        return Response(charts.draw(name, data), media_type="image/png", headers={"Cache-Control": "no-store"})

    @router.get("/api/ops/evals", tags=["运营"])
    def evals(admin: Admin, kind: Annotated[str | None, Query(max_length=20)] = None) -> list[dict]:
        return history.runs(metrics.db_engine, kind)

    @router.get("/api/ops/reports", tags=["运营"])
    def list_reports(admin: Admin, status: Literal["submitted", "assigned", "closed"] | None = None) -> list[dict]:
        return reports.list(status)

    @router.post("/api/ops/reports/{tracking_no}/assign", tags=["运营"])
    def assign(tracking_no: str, body: AssignIn, admin: Admin) -> dict:
        return reports.assign(tracking_no, body.assignee, admin.username)

    @router.post("/api/ops/reports/{tracking_no}/close", tags=["运营"])
    def close(tracking_no: str, body: CloseReportIn, admin: Admin) -> dict:
        return reports.close(tracking_no, body.result, admin.username)

    @router.post("/api/reports", status_code=201, tags=["办不成事"])
    def submit(body: ReportIn) -> dict:
        """Report a matter that could not be done; returns the tracking number."""
        if body.session_id and not keys.valid(body.session_id, body.session_key):
            raise HTTPException(403, "无权关联这个会话。")
        return reports.submit(body.description, body.contact, body.item, body.session_id)

    @router.get("/api/reports/{tracking_no}", tags=["办不成事"])
    def lookup(tracking_no: str, request: Request) -> dict:
        """Look a report up by its tracking number: status and result (contact details are not shown)."""
        return reports.lookup(tracking_no)

    return router
