"""Retention: notes, links and free text go after each organisation's periods; figures stay."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from interrupters.audit.models import AuditEvent
from interrupters.audit.services import verify_chain
from interrupters.conflicts.models import (
    Conflict,
    ConflictEvent,
    ConflictParticipant,
    Incident,
    Mediation,
)
from interrupters.contacts.models import Contact, ContactReview
from interrupters.contacts.services import refresh_latest
from interrupters.picture.models import PlaceObservation
from interrupters.retention.models import RetentionPolicy
from interrupters.retention.services import KINDS, apply_retention, months_before
from interrupters.scheduler import SchedulerLock, build_scheduler
from interrupters.walks.models import WalkReport
from interrupters.walks.services import season_figures

from . import factories

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
NOTE = "Met by the square, talked a long time."  # the content that must never be reported


@dataclass
class Aged:
    participant_id: int
    old_contact: int  # 30 months: anonymised
    mid_contact: int  # 18 months: note blanked, participant kept
    new_contact: int  # 1 month: untouched
    old_conflict: int
    new_conflict: int
    old_report: int
    new_report: int
    old_observation: int
    new_observation: int


def _conflict(session: Session, world: factories.World, author_id: int, **values: Any) -> Conflict:
    conflict = Conflict(
        client_uuid=str(uuid.uuid4()),
        payload_hash="0" * 64,
        code=f"C-{uuid.uuid4().hex[:6]}",
        organisation_id=world.organisations["programme"].id,
        area_id=world.areas["Rinkeby"].id,
        detected_via="street",
        catalyst="online_provocation",
        type="group_vs_group",
        parties_count=2,
        party_labels=["the older group from the square"],
        risk_level=3,
        status="cooling",
        flagged_by_id=author_id,
        **values,
    )
    session.add(conflict)
    session.flush()
    assert conflict.id is not None
    mediation = Mediation(
        client_uuid=str(uuid.uuid4()),
        payload_hash="0" * 64,
        conflict_id=conflict.id,
        author_id=author_id,
        occurred_at=conflict.created_at,
        strategies=["de_escalate"],
        outcome="temporarily_resolved",
        note=NOTE,
    )
    incident = Incident(
        client_uuid=str(uuid.uuid4()),
        payload_hash="0" * 64,
        organisation_id=conflict.organisation_id,
        conflict_id=conflict.id,
        type="threat",
        area_id=conflict.area_id,
        occurred_at=conflict.created_at,
        note=NOTE,
        author_id=author_id,
    )
    session.add_all([mediation, incident])
    session.flush()
    session.add(
        ConflictEvent(
            conflict_id=conflict.id,
            kind="mediation",
            occurred_at=conflict.created_at,
            author_id=author_id,
            text=NOTE,
            mediation_id=mediation.id,
        )
    )
    session.flush()
    return conflict


def age(session: Session, world: factories.World) -> Aged:
    """Contacts, conflicts and walk reports of several ages, in the programme and association."""
    worker = factories.create_user(session, world, "interrupter")
    supervisor = factories.create_user(session, world, "supervisor")
    walker = factories.create_user(session, world, "night_walker")
    participant = factories.create_participant_for(session, world, worker)
    contacts = []
    for months in (30, 18, 1):
        contact = factories.create_contact(
            session,
            world,
            worker,
            subject="participant",
            participant_id=participant.id,
            note=NOTE,
            follow_up_on=date(2026, 12, 20),
        )
        contact.occurred_at = months_before(NOW, months) - timedelta(days=1)
        session.add(contact)
        session.add(
            ContactReview(
                contact_id=contact.id, reviewer_id=supervisor.id, decision="returned", comment=NOTE
            )
        )
        contacts.append(contact)
    # Moved back in time behind the services' back: the participant's latest contact is read again.
    session.flush()
    refresh_latest(session=session, participant_ids=[participant.id])
    old = months_before(NOW, 25)
    old_conflict = _conflict(session, world, worker.id, created_at=old, updated_at=old)
    session.add(
        ConflictParticipant(
            conflict_id=old_conflict.id, participant_id=participant.id, linked_by_id=supervisor.id
        )
    )
    new_conflict = _conflict(session, world, worker.id)
    session.add(
        ConflictParticipant(
            conflict_id=new_conflict.id, participant_id=participant.id, linked_by_id=supervisor.id
        )
    )
    reports = []
    for months in (8, 2):
        # Filed the morning after a walk of last night, then moved back in time.
        walk = factories.create_walk(
            session,
            world,
            walker,
            planned_start=datetime.now(UTC) - timedelta(hours=12),
            state="completed",
        )
        report = factories.create_walk_report(session, world, walker, walk, note=NOTE)
        starts = months_before(NOW, months) - timedelta(days=3)
        walk.planned_start, walk.planned_end = starts, starts + timedelta(hours=5)
        report.submitted_at = starts + timedelta(hours=6)
        session.add_all([walk, report])
        reports.append(report)
    observations = []
    for months in (8, 1):
        observation = PlaceObservation(
            client_uuid=str(uuid.uuid4()),
            payload_hash="0" * 64,
            organisation_id=world.organisations["municipal"].id,
            author_id=walker.id,
            place_id=world.places["Rinkeby torg"].id,
            district_id=world.districts["Järva"].id,
            observed_at=months_before(NOW, months) - timedelta(days=2),
            source="field_assistants",
            kind="gathering",
            severity=2,
            note=NOTE,
        )
        session.add(observation)
        observations.append(observation)
    session.flush()
    session.commit()
    return Aged(
        participant_id=participant.id,
        old_contact=contacts[0].id,
        mid_contact=contacts[1].id,
        new_contact=contacts[2].id,
        old_conflict=old_conflict.id,
        new_conflict=new_conflict.id,
        old_report=reports[0].id,
        new_report=reports[1].id,
        old_observation=observations[0].id,
        new_observation=observations[1].id,
    )


def figures(session: Session, world: factories.World) -> dict[str, Any]:
    """What the evaluation counts: contacts per month by kind and purpose, conflicts, walks."""
    session.expire_all()
    contacts = Counter(
        (c.occurred_at.strftime("%Y-%m"), c.kind, c.purpose, c.area_id, c.subject)
        for c in session.exec(select(Contact)).all()
    )
    conflicts = Counter(
        (c.catalyst, c.risk_level, c.status) for c in session.exec(select(Conflict)).all()
    )
    mediations = Counter(m.outcome for m in session.exec(select(Mediation)).all())
    incidents = Counter(i.type for i in session.exec(select(Incident)).all())
    walks = season_figures(
        session=session,
        organisation_id=world.organisations["association"].id,
        since=date(2025, 1, 1),
        until=date(2026, 12, 31),
    )
    return {
        "contacts": contacts,
        "conflicts": conflicts,
        "mediations": mediations,
        "incidents": incidents,
        "walks": [(m.month, m.walks_held, m.walker_evenings, m.reports_filed) for m in walks],
    }


def snapshot(session: Session) -> list[Any]:
    session.expire_all()
    rows = []
    for model in (
        Contact,
        ContactReview,
        Conflict,
        ConflictEvent,
        ConflictParticipant,
        Mediation,
        Incident,
        WalkReport,
        PlaceObservation,
    ):
        rows.extend(row.model_dump() for row in session.exec(select(model)).all())
    return rows


EXPECTED = {
    "contacts_anonymised": 1,  # the 30-month one
    "contact_notes": 1,  # the 18-month one
    "review_comments": 2,  # of both
    "conflicts_anonymised": 1,
    "conflict_texts": 3,  # its timeline entry, mediation note and incident note
    "walk_report_texts": 1,  # the 8-month report
    "observation_notes": 1,  # the 8-month observation's
}


def test_a_dry_run_counts_and_changes_nothing(session, world):
    age(session, world)
    before = snapshot(session)
    events = len(session.exec(select(AuditEvent)).all())
    report = apply_retention(session=session, now=NOW, dry_run=True)
    session.commit()
    assert report.counts() == EXPECTED
    assert snapshot(session) == before
    assert len(session.exec(select(AuditEvent)).all()) == events


def test_a_run_removes_what_is_due_keeps_figures_and_is_idempotent(session, world):
    aged = age(session, world)
    figures_before = figures(session, world)
    report = apply_retention(session=session, now=NOW)
    session.commit()
    assert report.counts() == EXPECTED

    session.expire_all()
    old = session.get(Contact, aged.old_contact)
    assert (old.note, old.participant_id, old.follow_up_on) == ("", None, None)
    mid = session.get(Contact, aged.mid_contact)
    assert (mid.note, mid.participant_id) == ("", aged.participant_id)
    new = session.get(Contact, aged.new_contact)
    assert (new.note, new.participant_id) == (NOTE, aged.participant_id)
    comments = {r.contact_id: r.comment for r in session.exec(select(ContactReview)).all()}
    assert comments == {aged.old_contact: "", aged.mid_contact: "", aged.new_contact: NOTE}
    assert session.get(Conflict, aged.old_conflict).party_labels == []
    assert session.get(Conflict, aged.new_conflict).party_labels != []
    links = session.exec(select(ConflictParticipant.conflict_id)).all()
    assert links == [aged.new_conflict]
    for model, column in ((ConflictEvent, "text"), (Mediation, "note"), (Incident, "note")):
        texts = {row.conflict_id: getattr(row, column) for row in session.exec(select(model)).all()}
        assert texts == {aged.old_conflict: "", aged.new_conflict: NOTE}, model
    assert session.get(WalkReport, aged.old_report).note == ""
    assert session.get(WalkReport, aged.new_report).note == NOTE
    assert session.get(PlaceObservation, aged.old_observation).note == ""
    assert session.get(PlaceObservation, aged.new_observation).note == NOTE

    assert figures(session, world) == figures_before

    # Audited with counts only.
    (run,) = session.exec(select(AuditEvent).where(AuditEvent.event == "retention_run")).all()
    assert run.detail["counts"] == EXPECTED
    assert NOTE not in repr(run.detail)

    # A second run finds nothing more.
    after = snapshot(session)
    again = apply_retention(session=session, now=NOW + timedelta(days=1))
    session.commit()
    assert again.counts() == dict.fromkeys(KINDS, 0)
    assert snapshot(session) == after
    assert figures(session, world) == figures_before
    assert verify_chain(session=session) is None


def test_each_organisation_keeps_its_own_periods(session, world, actor_for):
    worker = factories.create_user(session, world, "interrupter")
    outsider = factories.create_user(session, world, "interrupter", organisation="other_programme")
    contacts = []
    for user in (worker, outsider):
        contact = factories.create_contact(session, world, user, note=NOTE)
        contact.occurred_at = NOW - timedelta(days=75)
        session.add(contact)
        contacts.append(contact)
    session.add(
        RetentionPolicy(organisation_id=world.organisations["programme"].id, contact_note_months=2)
    )
    session.commit()
    report = apply_retention(session=session, now=NOW)
    session.commit()
    assert report.by_organisation == {world.organisations["programme"].id: {"contact_notes": 1}}
    session.expire_all()
    assert [session.get(Contact, c.id).note for c in contacts] == ["", NOTE]


def test_months_before_keeps_the_local_day_and_time_or_the_months_last_day():
    stockholm = ZoneInfo("Europe/Stockholm")
    # 12:00 in Stockholm on 31 March (summer time) is 12:00 on 28 February (winter time).
    moved = months_before(datetime(2026, 3, 31, 10, tzinfo=UTC), 1).astimezone(stockholm)
    assert (moved.date(), moved.hour) == (date(2026, 2, 28), 12)
    assert months_before(datetime(2026, 1, 15, 12, tzinfo=UTC), 12).date() == date(2025, 1, 15)
    assert months_before(datetime(2026, 1, 15, 12, tzinfo=UTC), 25).date() == date(2023, 12, 15)


def test_the_command_reports_counts_only(app, session, world):
    age(session, world)
    # The command's own clock is now: move the data further back than NOW's periods.
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["retention", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "contacts_anonymised" in dry.output and NOTE not in dry.output
    assert not session.exec(select(AuditEvent).where(AuditEvent.event == "retention_run")).all()
    done = runner.invoke(args=["retention"])
    assert done.exit_code == 0, done.output
    session.expire_all()
    assert session.exec(select(AuditEvent).where(AuditEvent.event == "retention_run")).one()
    again = runner.invoke(args=["retention", "--dry-run"])
    assert all(line.rstrip().endswith(" 0") for line in again.output.splitlines()[1:])


def test_the_scheduler_runs_retention_nightly_and_sums_up_denials(app):
    with SchedulerLock(app) as lock:
        jobs = {job.id: job for job in build_scheduler(app, lock).get_jobs()}
    trigger = str(jobs["retention.apply"].trigger)
    assert "hour='3'" in trigger and "minute='45'" in trigger
    assert jobs["audit.summarise_denials"].trigger.interval == timedelta(minutes=5)


def test_the_admin_sets_an_organisations_periods(client, session, world, login_as):
    admin = login_as("admin")
    programme = world.organisations["programme"].id
    page = client.get(f"/admin/organisations/{programme}/edit").get_data(as_text=True)
    for name, months in (
        ("contact_note_months", 12),
        ("contact_months", 24),
        ("conflict_months", 24),
        ("walk_report_text_months", 6),
    ):
        found = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
        assert found is not None and f'value="{months}"' in found.group(0), name
    values = {
        "contact_note_months": "6",
        "contact_months": "18",
        "conflict_months": "36",
        "walk_report_text_months": "3",
    }
    response = client.post(f"/admin/organisations/{programme}/retention", data=values)
    assert response.status_code == 303
    session.expire_all()
    policy = session.get(RetentionPolicy, programme)
    assert (
        policy.contact_note_months,
        policy.contact_months,
        policy.conflict_months,
        policy.walk_report_text_months,
        policy.updated_by_id,
    ) == (6, 18, 36, 3, admin.id)
    (event,) = session.exec(select(AuditEvent).where(AuditEvent.event == "retention_changed")).all()
    assert event.detail["contact_months"] == 18 and event.object_id == str(programme)


@pytest.mark.parametrize(
    "bad", [{"contact_months": "0"}, {"contact_months": "500"}, {"conflict_months": "abc"}, {}]
)
def test_periods_out_of_bounds_are_refused(client, session, world, login_as, bad):
    login_as("admin")
    programme = world.organisations["programme"].id
    values = {
        "contact_note_months": "6",
        "contact_months": "18",
        "conflict_months": "36",
        "walk_report_text_months": "3",
    }
    if bad:
        values |= bad
    else:
        del values["walk_report_text_months"]
    response = client.post(f"/admin/organisations/{programme}/retention", data=values)
    assert response.status_code == 422
    session.expire_all()
    assert session.get(RetentionPolicy, programme) is None


def test_an_anonymised_contact_still_opens(client, session, world, login_as):
    login_as("supervisor")
    aged = age(session, world)
    apply_retention(session=session, now=NOW)
    session.commit()
    response = client.get(f"/contacts/{aged.old_contact}")
    assert response.status_code == 200
    assert NOTE not in response.get_data(as_text=True)
    assert client.get("/review").status_code == 200
    assert client.get("/contacts").status_code == 200
