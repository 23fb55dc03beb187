"""Alerts nobody can miss (issue 10, item 4): a returned contact, an urgent report's repeat, and
a repeat that is the same alert again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from interrupters.contacts import services as contacts
from interrupters.contacts.values import ReviewDecision
from interrupters.db import utcnow
from interrupters.push import jobs
from interrupters.push import services as push
from interrupters.push.models import Notification

from . import factories


def _rows(session, **where) -> list[Notification]:
    session.expire_all()
    query = select(Notification)
    for name, value in where.items():
        query = query.where(getattr(Notification, name) == value)
    return list(session.exec(query.order_by(col(Notification.id))))


def test_a_returned_contact_notifies_its_worker_once(session, world, actor_for):
    worker = factories.create_user(session, world, "interrupter")
    boss = factories.create_user(session, world, "supervisor")
    returned = factories.create_contact(session, world, worker)
    approved = factories.create_contact(session, world, worker)
    contacts.review_contact(
        session=session,
        actor=actor_for(boss),
        contact_id=returned.id,
        decision=ReviewDecision.returned,
        comment="Fel plats",
    )
    contacts.review_contact(
        session=session,
        actor=actor_for(boss),
        contact_id=approved.id,
        decision=ReviewDecision.approved,
    )
    session.commit()
    rows = _rows(session, kind="contact_returned")
    assert [(r.recipient_id, r.url) for r in rows] == [(worker.id, f"/contacts/{returned.id}")]
    # Generic: the lock screen shows neither the comment nor the contact.
    assert "Fel plats" not in str(rows[0].title) + str(rows[0].body)


def test_returning_through_the_review_queue_notifies(client, session, world, login_as):
    worker = factories.create_user(session, world, "interrupter")
    contact = factories.create_contact(session, world, worker)
    session.commit()
    login_as("supervisor")
    response = client.post(
        f"/review/{contact.id}", data={"decision": "returned", "comment": "Ange platsen"}
    )
    assert response.status_code in (200, 303), response.get_data(as_text=True)[:300]
    assert [r.recipient_id for r in _rows(session, kind="contact_returned")] == [worker.id]


def _urgent_report(session, world):
    lead = factories.create_user(session, world, "association_lead")
    walker = factories.create_user(session, world, "night_walker")
    walk = factories.create_walk(
        session, world, lead, planned_start=datetime.now(UTC) - timedelta(hours=3)
    )
    return factories.create_walk_report(session, world, walker, walk, urgent=True)


def test_an_urgent_report_repeats_like_a_level_4_conflict(app, session, world):
    on_call = factories.create_user(session, world, "supervisor")
    report = _urgent_report(session, world)
    session.commit()
    (first,) = _rows(session, kind="walk_report_urgent")
    assert first.recipient_id == on_call.id and first.repeat_at is not None
    assert first.repeat_to == [on_call.id]
    with app.app_context():
        assert (
            jobs.repeat_unacknowledged(session=session, now=utcnow() + timedelta(minutes=14)) == 0
        )
        assert (
            jobs.repeat_unacknowledged(session=session, now=utcnow() + timedelta(minutes=16)) == 1
        )
    (repeat,) = _rows(session, kind="walk_report_urgent:repeat")
    assert repeat.subject == f"walk-report:{report.id}" and repeat.requires_ack


def test_an_acknowledged_urgent_report_is_not_repeated(app, session, world, actor_for):
    on_call = factories.create_user(session, world, "supervisor")
    _urgent_report(session, world)
    session.commit()
    (first,) = _rows(session, kind="walk_report_urgent")
    push.acknowledge(session=session, actor=actor_for(on_call), notification_id=first.id)
    session.commit()
    with app.app_context():
        assert (
            jobs.repeat_unacknowledged(session=session, now=utcnow() + timedelta(minutes=16)) == 0
        )


def test_a_repeat_is_the_same_alert_one_acknowledgement_settles_it(
    app, client, session, world, login_as
):
    boss = login_as("supervisor")
    _urgent_report(session, world)
    session.commit()
    later = utcnow() + timedelta(minutes=16)
    with app.app_context():
        assert jobs.repeat_unacknowledged(session=session, now=later) == 1
    original, repeat = _rows(session, recipient_id=boss.id)
    assert repeat.kind == original.kind + ":repeat"
    # Listed and counted once, before and after the repeat.
    waiting = push.unacknowledged(session=session, recipient_id=boss.id, now=later)
    assert [n.id for n in waiting] == [original.id]
    assert push.unread_count(session=session, user_id=boss.id, now=later) == 1
    # The list shows the alert once, with its repeat in its history.
    session.exec(select(Notification).where(Notification.id == repeat.id)).one().deliver_at = (
        utcnow() - timedelta(minutes=1)
    )
    session.commit()
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count('class="card notification') == 1
    assert page.count("data-repeat") == 1
    # Acknowledging the repeat (the push the phone showed last) settles the original too.
    response = client.post(f"/notifications/{repeat.id}/acknowledge")
    assert response.status_code == 303
    session.expire_all()
    assert all(r.acknowledged_at is not None for r in _rows(session, recipient_id=boss.id))
    assert push.unacknowledged(session=session, recipient_id=boss.id, now=later) == []
    assert "data-ack-banner" not in client.get("/").get_data(as_text=True)
