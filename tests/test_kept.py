"""Counts kept per organisation and period (interrupters/kept.py), the jobs that keep them, and
SQLite's planner statistics."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text

from interrupters import kept
from interrupters.db import gather_statistics, is_postgresql
from interrupters.scheduler import SchedulerLock, build_scheduler

from . import factories

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def test_consecutive_periods_are_counted_together():
    assert kept.runs([]) == []
    assert kept.runs([0, 1, 2, 5, 7, 8]) == [[0, 1, 2], [5], [7, 8]]


def test_a_period_is_due_until_it_has_settled_and_a_second_keep_replaces_the_first(session, world):
    programme = world.organisations["programme"].id
    periods = [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]

    def end_of(month: date) -> datetime:
        return datetime(month.year, month.month + 1, 1, tzinfo=UTC)

    def due(now: datetime) -> list[int]:
        return kept.due(
            session=session,
            kind="test",
            organisation_id=programme,
            periods=periods,
            end_of=end_of,
            settle=timedelta(days=31),
        )

    assert due(NOW) == [0, 1, 2]  # never kept
    counted = kept.count_due(
        session=session,
        kind="test",
        organisation_id=programme,
        periods=periods,
        end_of=end_of,
        settle=timedelta(days=31),
        count=lambda run: {period: {"1": {"contacts": 1}} for period in run},
    )
    assert [row.period for row in counted] == periods
    kept.keep_all(session=session, counted=counted, now=NOW)
    session.commit()
    # September ended 50 days before it was counted: final. October and November: not yet.
    assert due(NOW) == [1, 2]
    again = kept.KeptCounts(
        kind="test", organisation_id=programme, period=periods[1], counts={"1": {"contacts": 7}}
    )
    kept.keep_all(session=session, counted=[again], now=NOW + timedelta(days=40))
    session.commit()
    assert due(NOW) == [2]
    found = kept.read(session=session, kind="test", organisation_ids=[programme], periods=periods)
    assert len(found) == 3 and found[(programme, periods[1])].counts == {"1": {"contacts": 7}}
    # Another kind of the same periods is another count.
    assert (
        kept.read(session=session, kind="other", organisation_ids=[programme], periods=periods)
        == {}
    )


def test_the_scheduler_keeps_the_counts_and_sqlite_s_statistics(app):
    with SchedulerLock(app) as lock:
        jobs = {job.id: job for job in build_scheduler(app, lock).get_jobs()}
    for name in ("reports.keep_figures", "contacts.keep_worker_counts"):
        assert jobs[name].trigger.interval == timedelta(minutes=10)
        assert jobs[name].next_run_time is not None  # at the scheduler's start
    trigger = str(jobs["db.gather_statistics"].trigger)
    assert "hour='4'" in trigger and "minute='15'" in trigger


def test_sqlite_gathers_its_planner_statistics(session, world):
    worker = factories.create_user(session, world, "interrupter")
    for _ in range(3):
        factories.create_contact(session, world, worker)
    session.commit()
    gather_statistics(session=session)
    if is_postgresql(session):
        return  # autovacuum's own; the job does nothing there
    indexes = {
        row[0]
        for row in session.execute(text("SELECT idx FROM sqlite_stat1 WHERE tbl = 'contact'"))
    }
    assert "ix_contact_figures" in indexes and "ix_contact_review_queue" in indexes
