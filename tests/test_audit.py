"""The audit log is append-only and hash-chained, and holds no personal data."""

from __future__ import annotations

from itertools import pairwise

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlmodel import select

from interrupters.audit.models import AuditEvent
from interrupters.audit.services import record_event, verify_chain

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
