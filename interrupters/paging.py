"""Keyset paging: a long list a page at a time, as cheap on page 500 as on page 1.

A page is asked for with an opaque cursor naming the last row shown (its sort time and id),
never an offset: the database walks its index from there instead of counting past every row
before it. A cursor a phone or a hostile client garbles is read as "from the start".
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

T = TypeVar("T")

DEFAULT_SIZE = 50
MAX_CURSOR_LENGTH = 200


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: the last row's sort value and id."""

    value: datetime | date | int | str | None
    id: int

    def encode(self) -> str:
        if isinstance(self.value, datetime):
            raw: list[Any] = ["t", self.value.isoformat(), self.id]
        elif isinstance(self.value, date):
            raw = ["d", self.value.isoformat(), self.id]
        else:
            raw = ["v", self.value, self.id]
        text = json.dumps(raw, separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(
        cls, token: str | None, *, expect: type[datetime | date | int | str]
    ) -> Cursor | None:
        """The cursor a token names, or None for a missing or garbled one, or one whose value
        is not of the list's sort column's kind (`expect`): a hand-made cursor may carry a
        date, a number or a time without a zone where the column holds times, which the
        database would refuse with an error instead of a page."""
        if not token or len(token) > MAX_CURSOR_LENGTH:
            return None
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            kind, value, row_id = json.loads(text)
            if not isinstance(row_id, int) or isinstance(row_id, bool):
                return None
            if not -(2**63) < row_id < 2**63:
                return None
            if kind == "t" and expect is datetime:
                moment = datetime.fromisoformat(value)
                if moment.tzinfo is None:
                    return None
                return cls(moment.astimezone(UTC), row_id)
            if kind == "d" and expect is date:
                return cls(date.fromisoformat(value), row_id)
            if kind == "v" and value is None:
                return cls(None, row_id)
            if kind == "v" and isinstance(value, expect) and not isinstance(value, bool):
                if isinstance(value, int) and not -(2**63) < value < 2**63:
                    return None
                return cls(value, row_id)
        except (ValueError, TypeError, UnicodeDecodeError, OverflowError):
            return None
        return None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its rows and the cursor of the next page, if there is one."""

    items: list[T]
    next_cursor: str | None

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


def after(
    query: Any,
    *,
    cursor: Cursor | None,
    sort: ColumnElement[Any] | Any,
    id_column: ColumnElement[Any] | Any,
    descending: bool = True,
) -> Any:
    """`query` ordered by (sort, id) and starting after `cursor`.

    The range on `sort` alone is what an index on (sort, ...) can seek to on both databases;
    the second term only settles rows that share the cursor's sort value.
    """
    if descending:
        query = query.order_by(sort.desc(), id_column.desc())
    else:
        query = query.order_by(sort.asc(), id_column.asc())
    if cursor is None or cursor.value is None:
        return query
    if descending:
        return query.where(
            sort <= cursor.value,
            or_(sort < cursor.value, and_(sort == cursor.value, id_column < cursor.id)),
        )
    return query.where(
        sort >= cursor.value,
        or_(sort > cursor.value, and_(sort == cursor.value, id_column > cursor.id)),
    )


def fetch_page(
    session: Session,
    query: Any,
    *,
    size: int = DEFAULT_SIZE,
    key: Callable[[Any], Cursor],
) -> Page[Any]:
    """Run an ordered `query` for one page (one row more tells whether another follows)."""
    rows: Sequence[Any] = list(session.exec(query.limit(size + 1)))
    items = list(rows[:size])
    more = len(rows) > size and bool(items)
    return Page(items=items, next_cursor=key(items[-1]).encode() if more else None)
