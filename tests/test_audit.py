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
    assert verify_chain(session=session) == 5


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
    session.add(AuditEvent(event="export", prev_hash="0" * 64, hash="f" * 64))
    session.commit()
    with pytest.raises(ValueError, match="broken"):
        verify_chain(session=session)


def test_sign_in_events_hold_no_email(client, session, world):
    user = factories.create_user(session, world, "interrupter")
    session.commit()
    client.post("/login", data={"email": user.email, "password": "wrong-password-123"})
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    events = session.exec(select(AuditEvent)).all()
    assert {e.event for e in events} >= {"login", "login_failed"}
    for event in events:
        assert user.email not in repr(event.model_dump())
