"""The project's files as CSV (for Swedish Excel) and XLSX (XlsxWriter)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import xlsxwriter

from interrupters.exports import csv_bytes

MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Excel's sheet names: at most 31 characters, none of []:*?/\
_SHEET_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})


def csv_file(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """UTF-8 with a byte-order mark, semicolons, formula-safe cells (interrupters.exports)."""
    return csv_bytes(header, rows)


def xlsx_file(sheets: Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]]) -> bytes:
    """One sheet per table; numbers as numbers, every text as text (never a formula or link)."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    bold = workbook.add_format({"bold": True})
    for title, (header, rows) in sheets.items():
        sheet = workbook.add_worksheet(title.translate(_SHEET_FORBIDDEN)[:31])
        for column, name in enumerate(header):
            sheet.write_string(0, column, str(name), bold)
            sheet.set_column(column, column, max(10, min(60, len(str(name)) + 2)))
        for number, row in enumerate(rows, start=1):
            for column, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, bool):
                    sheet.write_number(number, column, int(value))
                elif isinstance(value, int | float):
                    sheet.write_number(number, column, value)
                else:
                    # Text is written as text; the apostrophe of the CSV is not needed here.
                    sheet.write_string(number, column, str(value))
        sheet.freeze_panes(1, 0)
        if rows:
            sheet.autofilter(0, 0, len(rows), max(len(header) - 1, 0))
    workbook.close()
    return buffer.getvalue()


__all__ = ["MIMETYPES", "csv_file", "xlsx_file"]
