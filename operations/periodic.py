"""The cockpit's weekly and monthly reports (周报、月报) as XLSX and PDF with charts, written on a
schedule into the data directory: a background thread refreshes the daily pre-aggregates every hour
and writes the reports of the last complete week (Monday–Sunday) and month once they are due."""

from __future__ import annotations

import datetime as dt
import io
import logging
import threading
from pathlib import Path

from xiaobao.govdata.workdays import CHINA
from xiaobao.operations import charts
from xiaobao.operations.cockpit import INDEX_KEYS, TARGETS, Cockpit
from xiaobao.operations.exports import cell
from xiaobao.operations.metrics import Period

log = logging.getLogger(__name__)
KINDS = {"week": "周报", "month": "月报"}
CHARTS = ("cockpit_targets", "cockpit_index")
NO_DATA = "无数据"


def last_complete(kind: str, today: dt.date) -> Period:
    """The last complete week (Monday to Sunday) or calendar month before `today`."""
    if kind == "week":
        end = today - dt.timedelta(days=today.weekday() + 1)
        return Period(end - dt.timedelta(days=6), end)
    end = today.replace(day=1) - dt.timedelta(days=1)
    return Period(end.replace(day=1), end)


def shown(key: str, value: float | None) -> str:
    """A figure as people read it: a share in per cent, a time in minutes, 无数据 where none."""
    if value is None:
        return NO_DATA
    target = TARGETS[key]
    if target.unit == "%":
        return f"{value * 100:.1f}%"
    return f"{value:,.1f} {target.unit}" if isinstance(value, float) else f"{value:,} {target.unit}"


def promise(key: str) -> str:
    t = TARGETS[key]
    sign = (">" if t.strict else "≥") if t.higher_is_better else "≤"
    return f"{sign} {t.target * 100:g}%" if t.unit == "%" else f"{sign} {t.target:,g} {t.unit}"


def verdict(met: bool | None) -> str:
    return NO_DATA if met is None else "达标" if met else "未达标"


def district_rows(report: dict) -> list[list[str]]:
    """指标、本期、承诺、是否达标、依据（件数）、数据来源 for the district."""
    figures = report["district"]["indicators"] | report["district"]["knowledge"]["indicators"]
    return [
        [TARGETS[k].label, shown(k, f["value"]), promise(k), verdict(f["met"]), f"{f['basis']:,}", TARGETS[k].source]
        for k, f in figures.items()
    ]


def department_rows(rows: list[dict], with_item: bool = False) -> list[list]:
    out = []
    for row in rows:
        head = [row["department"], row["item"]] if with_item else [row["department"]]
        index = row["index"] if row["index"] is not None else NO_DATA
        out.append([*head, index, row["index_basis"], *(shown(k, row["indicators"][k]["value"]) for k in INDEX_KEYS),
                    row["volume"]["answers"], row["volume"]["applications"], row["volume"]["handoffs"]])  # fmt: skip
    return out


DISTRICT_HEAD = ["指标", "本期", "承诺", "是否达标", "依据（件）", "数据来源"]
DEPARTMENT_HEAD = ["部门", "政务服务指数", "指数依据（项）", *(TARGETS[k].label for k in INDEX_KEYS), "回答", "办件", "转人工"]


def title(report: dict, kind: str | None = None) -> str:
    p = report["period"]
    return f"宝山区政务服务{KINDS.get(kind or '', '运营报告')}（{p['start']} 至 {p['end']}）"


def workbook(report: dict, kind: str | None = None) -> bytes:
    """总览 (with the charts), 各部门, 各事项: text cells stored as text (never formulas), personal
    numbers masked as in every export."""
    from openpyxl import Workbook
    from openpyxl.drawing.image import Image
    from openpyxl.styles import Font

    book = Workbook()
    sheets = (
        ("总览", DISTRICT_HEAD, district_rows(report)),
        ("各部门", DEPARTMENT_HEAD, department_rows(report["departments"])),
        ("各事项", ["部门", "事项", *DEPARTMENT_HEAD[1:]], department_rows(report["items"], with_item=True)),
    )
    for number, (name, head, rows) in enumerate(sheets):
        sheet = book.active if number == 0 else book.create_sheet()
        sheet.title = name
        if number == 0:
            sheet.append([title(report, kind)])
            sheet["A1"].font = Font(bold=True, size=14)
        sheet.append(head)
        for row in rows:
            sheet.append([cell(v, quote=False) for v in row])
        for line in sheet.iter_rows():
            for value in line:
                if isinstance(value.value, str):
                    value.data_type = "s"
        for column, width in zip("ABCDEFGHIJKLM", (22, 24, 14, 12, 12, 30, 14, 14, 14, 14, 14, 10, 10), strict=False):
            sheet.column_dimensions[column].width = width
    overview = book["总览"]
    for n, name in enumerate(CHARTS):
        image = Image(io.BytesIO(charts.draw(name, report)))
        image.width, image.height = 660, 300
        overview.add_image(image, f"A{len(district_rows(report)) + 4 + n * 17}")
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def pdf(report: dict, kind: str | None = None) -> bytes:
    """An A4 report: the district's figures against the promises, the charts, the departments.
    Chinese is set in reportlab's built-in CID font STSong-Light (needs no font file)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    body = ParagraphStyle("body", fontName="STSong-Light", fontSize=9, leading=13)
    heading = ParagraphStyle("heading", parent=body, fontSize=16, leading=22, spaceAfter=6)
    sub = ParagraphStyle("sub", parent=body, fontSize=12, leading=18, spaceBefore=8, spaceAfter=4)
    grid = TableStyle([("FONT", (0, 0), (-1, -1), "STSong-Light", 8), ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                       ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e5e7eb")), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")])  # fmt: skip

    def table(head, rows, widths=None):
        wrapped = [[Paragraph(str(v), body) for v in row] for row in [head, *rows]]
        t = Table(wrapped, colWidths=widths, repeatRows=1)
        t.setStyle(grid)
        return t

    through = report["aggregated_through"] or "—"
    story = [
        Paragraph(title(report, kind), heading),
        Paragraph(
            f"日汇总截至 {through}；其后的对话与转人工按明细实时计算，办件只计已汇总的日子（T+1）。"
            "“无数据”表示本期没有可计算该指标的记录，不作估计。",
            body,
        ),
        Paragraph("一、全区指标与承诺", sub),
        table(DISTRICT_HEAD, district_rows(report), [38 * mm, 24 * mm, 24 * mm, 18 * mm, 20 * mm, 120 * mm]),
        PageBreak(),
        Paragraph("二、图表", sub),
        *(Image(io.BytesIO(charts.draw(name, report)), width=230 * mm, height=104 * mm) for name in CHARTS),
        PageBreak(),
        Paragraph("三、各部门政务服务指数", sub),
        Paragraph(
            "政务服务指数 = 100 × 该部门有数据的各项指标“达成度”的平均值；达成度 = 实际值 ÷ 承诺值（上限 1），申请时长为 承诺值 ÷ 实际值。",
            body,
        ),
        Spacer(1, 4),
        table(DEPARTMENT_HEAD, department_rows(report["departments"])),
    ]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
                      title=title(report, kind), author="小宝").build(story)  # fmt: skip
    return out.getvalue()


def write_due(cockpit: Cockpit, folder: Path, today: dt.date | None = None) -> list[Path]:
    """Write the last complete week's and month's reports that are not written yet; returns them."""
    today = today or dt.datetime.now(CHINA).date()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in KINDS:
        period = last_complete(kind, today)
        stem = folder / f"{KINDS[kind]}-{period.start.isoformat()}-{period.end.isoformat()}"
        if stem.with_suffix(".pdf").exists():
            continue
        report = cockpit.report(period)
        stem.with_suffix(".xlsx").write_bytes(workbook(report, kind))
        stem.with_suffix(".pdf").write_bytes(pdf(report, kind))  # last: its presence means both are there
        written += [stem.with_suffix(".xlsx"), stem.with_suffix(".pdf")]
    return written


def listing(folder: Path) -> list[dict]:
    files = [f for f in folder.glob("*") if f.suffix in (".pdf", ".xlsx")] if folder.exists() else []
    return [{"name": f.name, "bytes": f.stat().st_size} for f in sorted(files, key=lambda f: f.name, reverse=True)]


class Schedule:
    """`first` seconds after start, then every `every` seconds: refresh the pre-aggregates, write the
    reports due. A failure is logged and tried again next time; the service goes on. The first run
    waits because drawing the reports' charts holds the interpreter for seconds: a service just
    started answers its first citizens first."""

    def __init__(self, cockpit: Cockpit, folder: Path, every: float = 3600, first: float = 30) -> None:
        self.cockpit, self.folder, self.every, self.first = cockpit, folder, every, first
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ops-schedule", daemon=True)

    def _run(self) -> None:
        self._stop.wait(self.first)
        while not self._stop.is_set():
            try:
                self.cockpit.refresh()
                for path in write_due(self.cockpit, self.folder):
                    log.info("运营报告已生成：%s", path)
            except Exception:  # noqa: BLE001  (a schedule outlives one bad run)
                log.exception("运营日汇总或报告生成失败，下次再试")
            self._stop.wait(self.every)

    def __enter__(self) -> Schedule:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
