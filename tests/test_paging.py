"""Keyset paging: cursors round-trip, garbage is the first page, pages neither skip nor repeat."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlmodel import Session, col, select

from interrupters.audit.models import AuditEvent
from interrupters.paging import Cursor, after, fetch_page


@pytest.mark.parametrize(
    "value", [datetime(2026, 3, 1, 12, 30, tzinfo=UTC), date(2026, 3, 1), 42, "K-0042", None]
)
def test_a_cursor_round_trips(value: object) -> None:
    cursor = Cursor(value, 17)  # type: ignore[arg-type]
    expect = type(value) if value is not None else str
    assert Cursor.decode(cursor.encode(), expect=expect) == cursor


@pytest.mark.parametrize(
    "value",
    [datetime(2026, 3, 1, 12, 30), date(2026, 3, 1), 42, "2026-03-01T12:30:00+00:00", True],
)
def test_a_cursor_of_another_kind_than_the_column_is_the_start(value: object) -> None:
    # A naive time, a date, a number or text where the list sorts by time would make the
    # database refuse the query: read as the first page instead.
    token = Cursor(value, 17).encode()  # type: ignore[arg-type]
    assert Cursor.decode(token, expect=datetime) is None


def test_a_time_far_in_the_future_is_the_start() -> None:
    token = Cursor(datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-12))), 1)
    assert Cursor.decode(token.encode(), expect=datetime) is None


@pytest.mark.parametrize(
    "token",
    [
        "",
        "x",
        "!!!",
        "W10",
        "a" * 500,
        "WyJ0Iiwibm90IGEgZGF0ZSIsMV0",
        "WyJ2IiwxLDEwMDAwMDAwMDAwMDAwMDAwMDAwMDBd",
    ],
)
def test_a_garbled_cursor_is_the_start(token: str) -> None:
    assert Cursor.decode(token, expect=datetime) is None


def test_pages_cover_every_row_once_with_ties(session: Session) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for index in range(23):
        # Pairs of rows share a time: the id settles their order.
        session.add(AuditEvent(event=f"test.{index}", at=start + timedelta(minutes=index // 2)))
    session.commit()
    seen: list[int] = []
    cursor: Cursor | None = None
    pages = 0
    while True:
        query = after(
            select(AuditEvent).where(col(AuditEvent.event).startswith("test.")),
            cursor=cursor,
            sort=col(AuditEvent.at),
            id_column=col(AuditEvent.id),
        )
        page = fetch_page(session, query, size=5, key=lambda e: Cursor(e.at, e.id))
        seen.extend(e.id for e in page.items)
        pages += 1
        if not page.has_more:
            break
        cursor = Cursor.decode(page.next_cursor, expect=datetime)
    assert pages == 5
    assert len(seen) == 23 == len(set(seen))
    expected = list(
        session.exec(
            select(AuditEvent.id)
            .where(col(AuditEvent.event).startswith("test."))
            .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        )
    )
    assert seen == expected
