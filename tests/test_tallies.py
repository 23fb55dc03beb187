"""The counts kept per month and day (contacts.tallies) equal a recount from the contacts
after contacts are logged, edited, moved between months and areas, reviewed, anonymised by
retention and seeded in bulk; and the figures read from them equal the contacts'."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert
from sqlmodel import Session, select

from interrupters.contacts import services as contacts
from interrupters.contacts import tallies
from interrupters.contacts.models import Contact
from interrupters.contacts.values import ReviewDecision
from interrupters.reports.services import area_month_counts, month_start_utc
from interrupters.retention.services import apply_retention, months_before

from . import factories

# Half an hour into December in Stockholm: still November in UTC.
EDGE = month_start_utc(date(2026, 12, 1)) + timedelta(minutes=30)


def _agree(session: Session) -> None:
    session.flush()
    assert tallies.kept(session) == tallies.recount(session)


def _people(session: Session, world: factories.World) -> tuple[object, object, object]:
    worker = factories.create_user(session, world, "interrupter")
    supervisor = factories.create_user(session, world, "supervisor")
    participant = factories.create_participant_for(session, world, worker)
    session.commit()
    return worker, supervisor, participant


def test_counts_follow_contacts_logged_edited_moved_and_reviewed(session, world):
    worker, supervisor, participant = _people(session, world)
    logged = [
        factories.create_contact(session, world, worker, occurred_at=EDGE),
        factories.create_contact(
            session,
            world,
            worker,
            subject="participant",
            participant_id=participant.id,
            age_band=None,
            occurred_at=EDGE - timedelta(hours=1),  # November in Stockholm too
        ),
        factories.create_contact(session, world, worker, kind="phone", duration_minutes=45),
    ]
    session.commit()
    _agree(session)
    kept = tallies.kept(session)[tallies.ContactMonthTally]
    assert sum(n for n, _m in kept.values()) == 3
    assert {key[1] for key in kept} >= {date(2026, 11, 1), date(2026, 12, 1)}

    # Edited by its worker: moved to another month, area, kind and to the participant.
    actor = factories.principal(session, worker)
    tensta = world.places["Tensta centrum"]
    data = factories.contact_input(
        world,
        subject="participant",
        participant_id=participant.id,
        age_band=None,
        occurred_at=EDGE - timedelta(days=40),
        area_id=tensta.area_id,
        place_id=tensta.id,
        kind="school",
        duration_minutes=5,
    )
    contacts.update_contact(session=session, actor=actor, contact_id=logged[0].id, data=data)
    session.commit()
    _agree(session)

    # Reviewed (returned, corrected, approved): the counts do not move, and still agree.
    boss = factories.principal(session, supervisor)
    contacts.review_contact(
        session=session,
        actor=boss,
        contact_id=logged[2].id,
        decision=ReviewDecision.returned,
        comment="Which place?",
    )
    session.commit()
    before = tallies.kept(session)
    contacts.update_contact(
        session=session,
        actor=actor,
        contact_id=logged[2].id,
        data=factories.contact_input(world, occurred_at=logged[2].occurred_at, kind="phone"),
    )
    contacts.review_contact(
        session=session, actor=boss, contact_id=logged[2].id, decision=ReviewDecision.approved
    )
    session.commit()
    _agree(session)
    assert tallies.kept(session)[tallies.WorkerDayTally] == before[tallies.WorkerDayTally]

    # A change that is rolled back leaves the counts as they were.
    logged[1].occurred_at = EDGE - timedelta(days=400)
    session.flush()
    session.rollback()
    _agree(session)

    # Deleted through the ORM: its counts go, rows that reach zero too.
    session.delete(session.get(Contact, logged[1].id))
    session.commit()
    _agree(session)
    assert not any(
        key[2] == participant.id and key[1] == date(2026, 11, 1)
        for key in tallies.kept(session)[tallies.ParticipantMonthTally]
    )


def test_the_figures_count_what_the_contacts_say(session, world):
    worker, _supervisor, participant = _people(session, world)
    moments = [EDGE, EDGE - timedelta(hours=1), EDGE - timedelta(days=31), EDGE + timedelta(days=3)]
    for index, moment in enumerate(moments * 2):
        extra = (
            {"subject": "participant", "participant_id": participant.id, "age_band": None}
            if index % 2
            else {}
        )
        factories.create_contact(session, world, worker, occurred_at=moment, **extra)
    session.commit()
    counts = area_month_counts(
        session=session,
        programme_id=world.organisations["programme"].id,
        start=date(2026, 10, 1),
        end=date(2026, 12, 1),
    )
    expected = Counter(
        c.occurred_at.astimezone(tallies.STOCKHOLM).date().replace(day=1)
        for c in session.exec(select(Contact)).all()
    )
    got = Counter()
    for (month, _area), values in counts.items():
        got[month] += values.get("contacts", 0)
    assert got == expected
    met = {
        month: values.get("participants_active", 0)
        for (month, _area), values in counts.items()
        if values.get("participants_active")
    }
    assert met == {date(2026, 11, 1): 1, date(2026, 12, 1): 1}


def test_retention_anonymising_contacts_moves_the_participants_counts(session, world):
    worker, _supervisor, participant = _people(session, world)
    now = datetime.now(UTC)
    for months in (30, 1):
        contact = factories.create_contact(
            session,
            world,
            worker,
            subject="participant",
            participant_id=participant.id,
            age_band=None,
        )
        contact.occurred_at = months_before(now, months) - timedelta(days=1)
        session.add(contact)
    session.commit()
    _agree(session)
    apply_retention(session=session, now=now)
    session.commit()
    _agree(session)
    assert len(tallies.kept(session)[tallies.ParticipantMonthTally]) == 1


def test_rebuild_counts_contacts_written_around_the_orm(session, world):
    worker, _supervisor, _participant = _people(session, world)
    factories.create_contact(session, world, worker)
    session.commit()
    session.exec(  # type: ignore[call-overload]
        Contact.__table__.update().values(kind="phone", duration_minutes=7)  # type: ignore[attr-defined]
    )
    session.commit()
    assert tallies.kept(session) != tallies.recount(session)
    tallies.rebuild(session)
    session.commit()
    _agree(session)


def test_contacts_inserted_in_bulk_are_counted(session, world):
    """The records' batch insert (sync) and the demo write contacts with one Core INSERT."""
    worker, _supervisor, participant = _people(session, world)
    template = factories.create_contact(session, world, worker)
    session.commit()
    columns = [c.key for c in Contact.__table__.columns if c.key != "id"]  # type: ignore[attr-defined]
    rows = []
    for index in range(3):
        row = {key: getattr(template, key) for key in columns}
        row |= {
            "client_uuid": f"00000000-0000-4000-8000-00000000000{index}",
            "occurred_at": EDGE - timedelta(days=31 * index),
            "subject": "participant",
            "participant_id": participant.id,
        }
        rows.append(row)
    session.execute(insert(Contact), rows)
    session.execute(insert(Contact), [rows[0] | {"client_uuid": str(uuid.uuid4())}])
    session.commit()
    _agree(session)
    assert len(tallies.kept(session)[tallies.ParticipantMonthTally]) == 3


def test_counts_are_written_as_babel_writes_them(app):
    from babel import numbers

    from interrupters.reports.services import FigureRow
    from interrupters.reports.views import shown

    for language in ("sv", "en"):
        with app.test_request_context(headers={"Accept-Language": language}):
            from interrupters.i18n import format_locale

            locale = format_locale()
            for value in (0, 4, 999, 1000, 12345, 1234567, 2.5, 1234.25):
                row = FigureRow(date(2026, 1, 1), None, "all", None, "", {"n": value})
                assert shown(row, "n") == (
                    numbers.format_decimal(value, format="#,##0.##", locale=locale)
                    if isinstance(value, float)
                    else numbers.format_decimal(value, locale=locale)
                )
