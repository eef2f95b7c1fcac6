"""Tables leave the system as CSV or XLSX for the operators: personal numbers are masked, and no cell
can become a formula in the spreadsheet that opens it (citizen text starting with = + - @ would)."""

from __future__ import annotations

import csv
import io

from xiaobao.assistant.guard import mask

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MEDIA = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def cell(value: object, quote: bool) -> object:
    """A value as it may stand in an exported cell: text masked; with `quote` (CSV, which has no cell
    types), text a spreadsheet would read as a formula gets a leading apostrophe (OWASP's advice)."""
    if not isinstance(value, str):
        return value
    value = mask(value)
    return f"'{value}" if quote and value.startswith(FORMULA_START) else value


def table(columns: tuple[str, ...], rows: list[dict], kind: str, name: str) -> bytes:
    """The rows as a CSV (with a BOM, so Excel reads Chinese right) or an XLSX workbook whose text
    cells are stored as text."""
    if kind == "csv":
        rows = [{c: cell(row.get(c), quote=True) for c in columns} for row in rows]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().encode("utf-8-sig")
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = name[:31]
    sheet.append(list(columns))
    for row in rows:
        sheet.append([cell(row.get(c), quote=False) for c in columns])
    for line in sheet.iter_rows(min_row=2):
        for value in line:
            if isinstance(value.value, str):
                value.data_type = "s"  # text, never a formula
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()
