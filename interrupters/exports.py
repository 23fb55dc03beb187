"""CSV files that open by a double-click in Swedish Excel, safely (issue 10, item 6).

Swedish Excel reads a CSV as the system's list separator (";") and code page unless the file
starts with a UTF-8 byte-order mark: without it a file shows as one column and "Månad" garbled.
Numbers with decimals are written with a decimal comma, as Swedish Excel parses them. A text
cell that a spreadsheet would run as a formula is written with a leading apostrophe.

Shared by every export (walk figures, the audit log, research figures): imports no domain.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Response

BOM = "\ufeff"
# The bytes a file written by `csv_bytes` starts with.
BOM_BYTES = BOM.encode("utf-8")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class SwedishExcel(csv.excel):
    """Excel's CSV with the Swedish list separator; lines end with CRLF as Excel writes them."""

    delimiter = ";"


def safe_cell(value: object) -> str:
    """A text cell a spreadsheet shows as text, never runs as a formula."""
    text = str(value)
    if text[:1] in FORMULA_STARTS:
        return "'" + text
    return text


def cell(value: Any, *, decimal_comma: bool = True) -> str:
    """One cell: whole numbers as they are, decimals with a comma, anything else as safe text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return safe_cell(value)
    if isinstance(value, int):
        # A negative number starts with "-" but is a number, not a formula.
        return str(value)
    if isinstance(value, float | Decimal):
        text = format(value, "f") if isinstance(value, Decimal) else repr(value)
        return text.replace(".", ",") if decimal_comma else text
    return safe_cell(value)


def csv_text(
    header: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    *,
    dialect: type[csv.Dialect] = SwedishExcel,
) -> str:
    """The table as CSV text (no byte-order mark), every cell made safe."""
    decimal_comma = dialect.delimiter != ","
    buffer = io.StringIO()
    writer = csv.writer(buffer, dialect=dialect)
    writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        writer.writerow([cell(value, decimal_comma=decimal_comma) for value in row])
    return buffer.getvalue()


def csv_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """The table as a UTF-8 file with a byte-order mark and semicolons, for Swedish Excel."""
    return (BOM + csv_text(header, rows)).encode("utf-8")


def csv_response(body: bytes, *, filename: str) -> Response:
    """A CSV download that is never cached (exports may hold what only the reader may see)."""
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
