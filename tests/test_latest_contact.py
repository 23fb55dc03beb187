"""Each participant keeps its latest contact and the follow-up it set (issue 13): every path
that writes a contact moves it, and pages read it from the participant.

The suite also asks after every test that no participant's kept contact is out of step
(conftest.py); these tests name the paths and the orders that could leave it so."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session

from interrupters.contacts import services as contacts
from interrupters.contacts.models import Contact
from interrupters.participants.models import Participant
from interrupters.retention.services import apply_retention, months_before

from . import factories
from .test_sync import Phone, outcomes, payload, sealed, send_batch

NOW = datetime.now(UTC).replace(microsecond=0)


def kept(session: Session, participant: Participant) -> tuple[datetime | None, date | None]:
    session.expire_all()
    row = session.get(Participant, participant.id)
    assert row is not None
    return row.last_contact_at, row.next_follow_up


def contact_of(session, world, worker, participant, hours_ago: int, follow: date | None):
    return factories.create_contact(
        session,
        world,
        worker,
        subject="participant",
        participant_id=participant.id,
        occurred_at=NOW - timedelta(hours=hours_ago),
        follow_up_on=follow,
    )


def test_a_later_contact_moves_it_an_earlier_one_does_not(session, world, actor_for):
    worker = factories.create_user(session, world, "interrupter")
    participant = factories.create_participant_for(session, world, worker)
    assert kept(session, participant) == (None, None)
    soon = date.today() + timedelta(days=3)
    contact_of(session, world, worker, participant, 5, soon)
    assert kept(session, participant) == (NOW - timedelta(hours=5), soon)
    # Logged later, met earlier (a phone that was offline): the kept contact stays.
    contact_of(session, world, worker, participant, 30, date.today())
    assert kept(session, participant) == (NOW - timedelta(hours=5), soon)
    # A later contact that sets no follow-up settles the one before.
    contact_of(session, world, worker, participant, 1, None)
    assert kept(session, participant) == (NOW - timedelta(hours=1), None)
    assert contacts.latest_out_of_step(session=session) == []


def test_a_batch_keeps_its_latest_contact_whatever_the_order(client, session, world, login_as):
    worker = login_as("interrupter")
    first, second = (factories.create_participant_for(session, world, worker) for _ in range(2))
    session.commit()
    phone = Phone(client)

    def record(participant: Participant, at: str, follow: str = "") -> dict[str, object]:
        data = payload(
            world,
            subject="participant",
            participant_id=str(participant.id),
            age_band="",
            occurred_at=at,
            follow_up_on=follow,
        )
        return sealed(phone, data)

    batch = [
        record(first, "2026-11-20T21:15", "2026-12-24"),
        record(first, "2026-11-22T18:00", "2026-12-28"),  # the latest of the first
        record(first, "2026-11-21T10:00"),
        record(second, "2026-11-19T12:00", "2026-12-01"),
    ]
    assert [status for _uuid, _code, status in outcomes(send_batch(phone, batch))] == ["stored"] * 4
    stockholm_evening = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)  # 18:00 in Stockholm
    assert kept(session, first) == (stockholm_evening, date(2026, 12, 28))
    assert kept(session, second)[1] == date(2026, 12, 1)
    # A second batch with an earlier contact of the first changes nothing.
    send_batch(phone, [record(first, "2026-11-01T12:00", "2026-11-02")])
    assert kept(session, first) == (stockholm_evening, date(2026, 12, 28))


def test_a_corrected_contact_moves_it_on_both_participants(session, world, actor_for):
    worker = factories.create_user(session, world, "interrupter")
    old, new = (factories.create_participant_for(session, world, worker) for _ in range(2))
    earlier = contact_of(session, world, worker, old, 10, date.today())
    latest = contact_of(session, world, worker, old, 2, date.today() + timedelta(days=7))
    contact_of(session, world, worker, new, 5, None)
    # The latest contact was the other participant's, and earlier than the worker thought.
    contacts.update_contact(
        session=session,
        actor=actor_for(worker),
        contact_id=latest.id,
        data=factories.contact_input(
            world,
            subject="participant",
            participant_id=new.id,
            occurred_at=NOW - timedelta(hours=4),
            follow_up_on=date.today() + timedelta(days=1),
        ),
    )
    assert kept(session, old) == (earlier.occurred_at, date.today())
    assert kept(session, new) == (NOW - timedelta(hours=4), date.today() + timedelta(days=1))


def test_anonymised_contacts_leave_the_participant(session, world):
    worker = factories.create_user(session, world, "interrupter")
    participant = factories.create_participant_for(session, world, worker)
    contact = contact_of(session, world, worker, participant, 1, date.today())
    # Moved back past the programme's period, as time would; then kept again.
    session.execute(
        update(Contact).where(Contact.id == contact.id).values(occurred_at=months_before(NOW, 40))
    )
    contacts.refresh_latest(session=session, participant_ids=[participant.id])
    assert kept(session, participant)[0] == months_before(NOW, 40)
    apply_retention(session=session, now=NOW)
    session.commit()
    assert kept(session, participant) == (None, None)


def test_a_contact_written_behind_the_services_back_is_found(session, world):
    """The suite's check after every test can fail: a contact added as a bare row is out of
    step until its participant's latest contact is read again."""
    worker = factories.create_user(session, world, "interrupter")
    participant = factories.create_participant_for(session, world, worker)
    contact_of(session, world, worker, participant, 5, None)
    session.add(
        Contact(
            client_uuid=str(uuid.uuid4()),
            payload_hash="t",
            organisation_id=world.organisations["programme"].id,
            worker_id=worker.id,
            subject="participant",
            participant_id=participant.id,
            occurred_at=NOW,
            area_id=world.areas["Rinkeby"].id,
            kind="street",
            purpose="check_in",
        )
    )
    session.flush()
    assert contacts.latest_out_of_step(session=session) == [participant.id]
    contacts.refresh_latest(session=session, participant_ids=None)
    assert contacts.latest_out_of_step(session=session) == []
    session.commit()


@pytest.mark.parametrize("later_first", [True, False], ids=["later-first", "earlier-first"])
def test_two_requests_at_once_keep_the_later_contact(app, session, world, later_first):
    """Two sessions store contacts of one participant at once: the later contact is kept,
    whichever of them writes first (the second waits for the first's row lock)."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer at a time: nothing can interleave")
    worker = factories.create_user(session, world, "interrupter")
    participant = factories.create_participant_for(session, world, worker)
    session.commit()
    times = [NOW - timedelta(hours=1), NOW - timedelta(hours=6)]
    if not later_first:
        times.reverse()
    engine = app.extensions["db_engine"]
    first, second = Session(engine), Session(engine)
    row = {"participant_id": participant.id, "follow_up_on": None}
    contacts.note_contacts(session=first, rows=[{**row, "occurred_at": times[0]}])
    waiting = threading.Thread(
        target=lambda: (
            contacts.note_contacts(session=second, rows=[{**row, "occurred_at": times[1]}]),
            second.commit(),
        )
    )
    waiting.start()
    waiting.join(timeout=0.5)
    assert waiting.is_alive(), "the second request waits for the first's row lock"
    first.commit()
    waiting.join(timeout=10)
    first.close()
    second.close()
    assert kept(session, participant)[0] == NOW - timedelta(hours=1)
    # Nothing stored a contact row here: the suite's check must see the participant as it was.
    session.execute(
        update(Participant)
        .where(Participant.id == participant.id)
        .values(last_contact_at=None, next_follow_up=None)
    )
    session.commit()
