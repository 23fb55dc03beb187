"""The audit log is append-only and hash-chained, and holds no personal data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlmodel import func, select

from interrupters.audit.models import AuditEvent, DenialTally
from interrupters.audit.services import (
    DENIAL_WINDOW,
    DENIALS_IN_FULL,
    open_denial_tallies,
    record_denial,
    record_event,
    summarise_denials,
    verify_chain,
)
from interrupters.scheduler import periodic_jobs, run_job

from . import factories


def test_chain_links_every_event(session, world):
    user = factories.create_user(session, world, "supervisor")
    for index in range(5):
        record_event(
            session=session,
            event="contact_reviewed",
            actor_id=user.id,
            object_type="contact",
            object_id=index,
        )
    session.commit()
    events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert events[0].prev_hash is None
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(events))
    assert verify_chain(session=session) is None


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_event SET event = 'x'", "DELETE FROM audit_event"]
)
def test_events_cannot_be_changed_or_deleted(session, statement):
    record_event(session=session, event="login")
    session.commit()
    with pytest.raises(DatabaseError):
        session.execute(text(statement))
        session.commit()
    session.rollback()
    assert session.exec(select(AuditEvent.event)).all() == ["login"]


def test_a_forged_event_breaks_the_chain(session):
    record_event(session=session, event="login")
    record_event(session=session, event="logout")
    session.commit()
    # An event inserted behind the log's back (the triggers allow inserts) is detected.
    forged = AuditEvent(event="export", prev_hash="0" * 64, hash="f" * 64)
    session.add(forged)
    session.commit()
    broken = verify_chain(session=session)
    assert broken is not None
    assert (broken.event_id, broken.at, broken.reason) == (forged.id, forged.at, "prev_hash")


def tamper(session, statement: str, **params) -> None:
    """Change an audit row behind the triggers' back, as someone with the database would."""
    if session.get_bind().dialect.name == "postgresql":
        # Triggers do not fire for a replica session; LOCAL ends with this transaction.
        session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        # The test's own copy of the database: the trigger goes with it.
        session.execute(text("DROP TRIGGER audit_event_no_update"))
    session.execute(text(statement), params)
    session.commit()


def test_a_changed_detail_names_that_event(session):
    events = [
        record_event(session=session, event="export", detail={"rows": index}) for index in range(6)
    ]
    session.commit()
    assert verify_chain(session=session, batch=4) is None
    target = events[4]
    tamper(
        session,
        "UPDATE audit_event SET detail = :detail WHERE id = :id",
        detail='{"rows": 400}',
        id=target.id,
    )
    broken = verify_chain(session=session, batch=4)
    assert broken is not None
    assert (broken.event_id, broken.at, broken.reason) == (target.id, target.at, "hash")


def test_a_deleted_event_names_the_one_after_it(session):
    events = [record_event(session=session, event="login") for _ in range(3)]
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        session.execute(text("DROP TRIGGER audit_event_no_delete"))
    session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": events[1].id})
    session.commit()
    broken = verify_chain(session=session)
    assert broken is not None
    assert (broken.event_id, broken.reason) == (events[2].id, "prev_hash")


def test_sign_in_events_hold_no_email(client, session, world):
    user = factories.create_user(session, world, "interrupter")
    session.commit()
    client.post("/login", data={"email": user.email, "password": "wrong-password-123"})
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    events = session.exec(select(AuditEvent)).all()
    assert {e.event for e in events} >= {"login", "login_failed"}
    for event in events:
        assert user.email not in repr(event.model_dump())


# Repeated denials ------------------------------------------------------------------------------

WINDOW_OPENS = datetime(2026, 12, 4, 22, 0, tzinfo=UTC)


def deny_many(session, actor_id, count: int, *, start=WINDOW_OPENS) -> None:
    for index in range(count):
        record_denial(
            session=session,
            actor_id=actor_id,
            endpoint="admin.users",
            method="GET",
            status=403,
            now=start + timedelta(seconds=index % 3000),
        )
        if index % 100 == 99:
            session.commit()
    session.commit()


def test_a_thousand_denials_make_a_bounded_number_of_rows(session, world):
    walker = factories.create_user(session, world, "night_walker")
    other = factories.create_user(session, world, "night_walker")
    session.commit()
    deny_many(session, walker.id, 1000)
    deny_many(session, other.id, 3)

    def events_of(name):
        return session.exec(select(AuditEvent).where(AuditEvent.event == name)).all()

    written = events_of("access_denied")
    assert len(written) == DENIALS_IN_FULL + 3
    assert sum(1 for e in written if e.actor_id == other.id) == 3
    # Until the window closes, the count is readable outside the chain.
    (tally,) = [t for t in open_denial_tallies(session=session) if t.actor_key == walker.id]
    assert (tally.denials, tally.written) == (1000, DENIALS_IN_FULL)
    # Still inside the window: nothing to sum up yet.
    assert summarise_denials(session=session, now=WINDOW_OPENS + timedelta(minutes=59)) == 0

    closed = WINDOW_OPENS + DENIAL_WINDOW + timedelta(seconds=1)
    assert summarise_denials(session=session, now=closed) == 1
    session.commit()
    assert summarise_denials(session=session, now=closed + timedelta(minutes=5)) == 0
    session.commit()
    (summary,) = events_of("access_denied_repeated")
    assert summary.actor_id == walker.id
    assert summary.detail["denials"] == 1000
    # The count is recoverable from the chain: the events written plus the summary's count.
    in_full = sum(1 for e in events_of("access_denied") if e.actor_id == walker.id)
    assert in_full + summary.detail["counted_only"] == 1000
    assert session.exec(select(func.count()).select_from(AuditEvent)).one() == (
        DENIALS_IN_FULL + 3 + 1
    )
    assert session.exec(select(DenialTally)).all() == []
    assert verify_chain(session=session) is None

    tamper(
        session,
        "UPDATE audit_event SET detail = :detail WHERE id = :id",
        detail=json.dumps({**summary.detail, "counted_only": 1}),
        id=summary.id,
    )
    broken = verify_chain(session=session)
    assert broken is not None and broken.event_id == summary.id


def test_a_new_window_writes_in_full_again(session, world):
    walker = factories.create_user(session, world, "night_walker")
    session.commit()
    deny_many(session, walker.id, DENIALS_IN_FULL + 5)
    deny_many(session, walker.id, 2, start=WINDOW_OPENS + DENIAL_WINDOW)
    denied = session.exec(select(AuditEvent).where(AuditEvent.event == "access_denied")).all()
    assert len(denied) == DENIALS_IN_FULL + 2
    summarise_denials(session=session, now=WINDOW_OPENS + 2 * DENIAL_WINDOW)
    session.commit()
    (summary,) = session.exec(
        select(AuditEvent).where(AuditEvent.event == "access_denied_repeated")
    ).all()
    assert summary.detail["counted_only"] == 5
    assert summary.detail["window_start"] == WINDOW_OPENS.isoformat()


@pytest.mark.parametrize("app_config", [{"AUDIT_DENIALS_IN_FULL": 3}])
def test_denied_requests_past_the_limit_are_only_counted(client, session, login_as):
    walker = login_as("night_walker")
    for _ in range(8):
        assert client.get("/admin/users").status_code == 403
    rows = session.exec(select(AuditEvent).where(AuditEvent.event == "access_denied")).all()
    assert len(rows) == 3
    assert rows[0].detail == {"endpoint": "admin.users", "method": "GET", "status": 403}
    (tally,) = session.exec(select(DenialTally)).all()
    assert (tally.actor_key, tally.denials, tally.written) == (walker.id, 8, 3)


def test_the_scheduler_sums_up_closed_windows(app, session, world):
    walker = factories.create_user(session, world, "night_walker")
    session.commit()
    deny_many(session, walker.id, DENIALS_IN_FULL + 4)
    job = {job.id: job for job in periodic_jobs(app)}["audit.summarise_denials"]
    assert run_job(app, job) == 1
    assert run_job(app, job) == 0
    session.expire_all()
    (summary,) = session.exec(
        select(AuditEvent).where(AuditEvent.event == "access_denied_repeated")
    ).all()
    assert summary.detail["counted_only"] == 4
