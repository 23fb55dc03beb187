"""Counts kept per organisation and period (a month of figures, a week of contacts), so that a
page reads a few rows instead of counting a year of records (issue 13: flat at a million).

A domain's job counts the periods that may still change and keeps them; its pages read what
was kept, say when it was counted, and count on the spot only what was never kept. A period is
counted again until `settle` after it ended (a phone that was offline, a held record corrected
late); after that its counts are final."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from interrupters.db import UTCDateTime, upsert, utcnow

Counts = dict[str, dict[str, int]]  # a key of the domain's (an area, a worker) -> name -> count


class KeptCounts(SQLModel, table=True):
    """One organisation's counts of one kind for one period, and when they were counted."""

    __tablename__ = "kept_counts"
    __table_args__ = (UniqueConstraint("kind", "organisation_id", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    organisation_id: int = Field(foreign_key="organisation.id")
    period: date  # the period's first day
    counts: Counts = Field(sa_column=Column(JSON, nullable=False))
    counted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def read(
    *, session: Session, kind: str, organisation_ids: Iterable[int], periods: Sequence[date]
) -> dict[tuple[int, date], KeptCounts]:
    """What is kept of `periods`, by (organisation, period)."""
    rows = session.exec(
        select(KeptCounts).where(
            KeptCounts.kind == kind,
            col(KeptCounts.organisation_id).in_(list(organisation_ids)),
            col(KeptCounts.period).in_(list(periods)),
        )
    )
    return {(row.organisation_id, row.period): row for row in rows}


def due(
    *,
    session: Session,
    kind: str,
    organisation_id: int,
    periods: Sequence[date],
    end_of: Callable[[date], datetime],
    settle: timedelta,
) -> list[int]:
    """The indexes of `periods` never kept, or counted before they had settled."""
    # The times alone: the counts (a programme's areas times every indicator) stay unread.
    kept: dict[date, datetime] = {
        period: counted_at
        for period, counted_at in session.exec(
            select(col(KeptCounts.period), col(KeptCounts.counted_at)).where(
                KeptCounts.kind == kind,
                KeptCounts.organisation_id == organisation_id,
                col(KeptCounts.period) >= periods[0],
            )
        )
    }
    return [
        index
        for index, period in enumerate(periods)
        if period not in kept or kept[period] < end_of(period) + settle
    ]


def count_due(
    *,
    session: Session,
    kind: str,
    organisation_id: int,
    periods: Sequence[date],
    end_of: Callable[[date], datetime],
    settle: timedelta,
    count: Callable[[list[date]], dict[date, Counts]],
) -> list[KeptCounts]:
    """The due periods of one organisation counted by `count` (a run of consecutive periods
    at a time; a period it leaves out counted nothing), not yet kept: `keep_all` writes them,
    so that the counting, which may take seconds, holds no write lock."""
    counted = []
    for run in runs(
        due(
            session=session,
            kind=kind,
            organisation_id=organisation_id,
            periods=periods,
            end_of=end_of,
            settle=settle,
        )
    ):
        run_periods = [periods[i] for i in run]
        found = count(run_periods)
        counted += [
            KeptCounts(
                kind=kind,
                organisation_id=organisation_id,
                period=period,
                counts=found.get(period, {}),
            )
            for period in run_periods
        ]
    return counted


def keep_all(*, session: Session, counted: Iterable[KeptCounts], now: datetime) -> None:
    """Keep what `count_due` counted (insert, or replace what was kept); the caller commits."""
    for row in counted:
        values = {"counts": row.counts, "counted_at": now}
        session.execute(
            upsert(session, KeptCounts)
            .values(kind=row.kind, organisation_id=row.organisation_id, period=row.period, **values)
            .on_conflict_do_update(
                index_elements=["kind", "organisation_id", "period"], set_=values
            )
        )


def runs(indexes: Sequence[int]) -> list[list[int]]:
    """Consecutive indexes together, [0, 1, 4] -> [[0, 1], [4]]: each run is one count."""
    found: list[list[int]] = []
    for index in indexes:
        if found and found[-1][-1] == index - 1:
            found[-1].append(index)
        else:
            found.append([index])
    return found


__all__ = ["KeptCounts", "count_due", "due", "keep_all", "read", "runs"]
