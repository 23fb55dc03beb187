"""Conflicts: flag once per UUID, the append-only timeline, mediations, incidents, duty."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select

from interrupters.audit.models import AuditEvent
from interrupters.conflicts import services
from interrupters.conflicts.models import (
    CommunityResponse,
    Conflict,
    ConflictEvent,
    ConflictParticipant,
    Incident,
    Mediation,
)
from interrupters.conflicts.values import ConflictStatus
from interrupters.duty import services as duty_services
from interrupters.errors import DuplicateRecord, InvalidInput, NotAllowed, NotVisible
from interrupters.push.models import Notification
from interrupters.reports.services import outcome_shares

from . import factories
from .test_sync import Phone


@pytest.fixture
def team(session, world):
    worker = factories.create_user(session, world, "interrupter")
    colleague = factories.create_user(session, world, "interrupter")
    supervisor = factories.create_user(session, world, "supervisor")
    outsider = factories.create_user(session, world, "interrupter", organisation="other_programme")
    session.commit()
    return worker, colleague, supervisor, outsider


def update_input(**overrides):
    data = {"occurred_at": datetime.now(UTC) - timedelta(minutes=5)} | overrides
    return services.ConflictUpdateInput.model_validate(data)


def flag(session, world, user, actor_for, **overrides):
    conflict, _created = services.flag_conflict(
        session=session,
        actor=actor_for(user),
        data=factories.conflict_input(world, **overrides),
        client_uuid=str(uuid.uuid4()),
    )
    return conflict


def count(session, model):
    session.expire_all()
    return session.exec(select(func.count()).select_from(model)).one()


def test_flag_once_per_uuid_with_a_code_and_a_timeline(session, world, team, actor_for):
    actor = actor_for(team[0])
    key = str(uuid.uuid4())
    data = factories.conflict_input(world)
    first, created = services.flag_conflict(
        session=session, actor=actor, data=data, client_uuid=key
    )
    again, created_again = services.flag_conflict(
        session=session, actor=actor, data=data, client_uuid=key
    )
    session.commit()
    assert created and not created_again and first.id == again.id
    assert first.code == "C-0001"
    assert flag(session, world, team[0], actor_for).code == "C-0002"
    events = services.timeline(session=session, conflict_id=first.id)
    assert [(e.kind, e.to_level, e.text) for e in events] == [
        ("detected", 2, "Threats online after the match.")
    ]
    with pytest.raises(DuplicateRecord):
        services.flag_conflict(
            session=session,
            actor=actor,
            data=factories.conflict_input(world, risk_level=1),
            client_uuid=key,
        )


def test_conflict_has_no_field_for_names_or_offences():
    fields = set(Conflict.model_fields) | set(services.ConflictInput.model_fields)
    assert not fields & {"name", "names", "party_names", "personal_number", "offence", "crime"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"party_labels": ["19990101-1234"]}, "party_labels"),
        ({"party_labels": ["x" * 41]}, "party_labels"),
        ({"parties_count": 1}, "parties_count"),
        ({"risk_level": 5}, "risk_level"),
    ],
)
def test_invalid_conflicts_are_refused(world, overrides, field):
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as raised:
        factories.conflict_input(world, **overrides)
    assert field in str(raised.value)


def test_future_time_and_foreign_place_are_refused(session, world, team, actor_for):
    with pytest.raises(InvalidInput) as raised:
        flag(session, world, team[0], actor_for, occurred_at=datetime.now(UTC) + timedelta(days=1))
    assert "occurred_at" in raised.value.errors
    with pytest.raises(InvalidInput) as raised:
        flag(session, world, team[0], actor_for, place_id=world.places["Tensta centrum"].id)
    assert "place_id" in raised.value.errors


def test_level_change_needs_a_reason_and_is_kept_in_the_timeline(session, world, team, actor_for):
    conflict = flag(session, world, team[0], actor_for)
    colleague = actor_for(team[1])
    with pytest.raises(InvalidInput) as raised:
        services.update_conflict(
            session=session,
            actor=colleague,
            conflict_id=conflict.id,
            data=update_input(risk_level=1),
            client_uuid=str(uuid.uuid4()),
        )
    assert "text" in raised.value.errors
    key = str(uuid.uuid4())
    data = update_input(risk_level=1, text="They talked it through at the youth centre.")
    events, created = services.update_conflict(
        session=session, actor=colleague, conflict_id=conflict.id, data=data, client_uuid=key
    )
    replay, created_again = services.update_conflict(
        session=session, actor=colleague, conflict_id=conflict.id, data=data, client_uuid=key
    )
    session.commit()
    assert created and not created_again and replay[0].id == events[0].id
    assert (events[0].kind, events[0].from_level, events[0].to_level) == ("level_changed", 2, 1)
    assert conflict.risk_level == 1
    assert count(session, ConflictEvent) == 2


def test_closing_and_reopening(session, world, team, actor_for):
    conflict = flag(session, world, team[0], actor_for)
    actor = actor_for(team[0])
    services.update_conflict(
        session=session,
        actor=actor,
        conflict_id=conflict.id,
        data=update_input(status="resolved", text="Handshake at the centre."),
        client_uuid=str(uuid.uuid4()),
    )
    assert conflict.status == "resolved"
    assert conflict not in services.list_conflicts(session=session, actor=actor)
    with pytest.raises(InvalidInput):
        services.update_conflict(
            session=session,
            actor=actor,
            conflict_id=conflict.id,
            data=update_input(text="More news."),
            client_uuid=str(uuid.uuid4()),
        )
    services.update_conflict(
        session=session,
        actor=actor,
        conflict_id=conflict.id,
        data=update_input(status="open"),
        client_uuid=str(uuid.uuid4()),
    )
    kinds = [e.kind for e in services.timeline(session=session, conflict_id=conflict.id)]
    assert kinds == ["detected", "closed", "status_changed"]


def test_timeline_is_append_only_in_the_service_api():
    # No service changes or removes an entry: the timeline only grows.
    names = [name for name in dir(services) if "event" in name.lower()]
    assert not [n for n in names if n.startswith(("delete", "edit", "remove", "change"))]


def test_mediations_and_their_outcome_shares(session, world, team, actor_for):
    worker, colleague, supervisor, _outsider = team
    conflict = flag(session, world, worker, actor_for)
    outcomes = ["resolved_immediately"] * 13 + ["temporarily_resolved"] * 5 + ["unresolved"] * 2
    for outcome in outcomes:
        services.record_mediation(
            session=session,
            actor=actor_for(worker),
            conflict_id=conflict.id,
            data=services.MediationInput.model_validate(
                {
                    "mediator_ids": [colleague.id],
                    "occurred_at": datetime.now(UTC) - timedelta(hours=1),
                    "strategies": ["separate_parties", "face_saving", "separate_parties"],
                    "outcome": outcome,
                }
            ),
            client_uuid=str(uuid.uuid4()),
        )
    session.commit()
    mediation = session.exec(select(Mediation)).first()
    assert mediation.mediator_ids == sorted([worker.id, colleague.id])
    assert mediation.strategies == ["face_saving", "separate_parties"]
    assert conflict.status == ConflictStatus.mediating
    shares = outcome_shares(session=session, actor=actor_for(supervisor))
    assert shares.total == 20
    assert shares.share("resolved_immediately") == pytest.approx(0.65)
    assert shares.share("temporarily_resolved") == pytest.approx(0.25)


def test_mediators_are_the_programmes_workers(session, world, team, actor_for):
    conflict = flag(session, world, team[0], actor_for)
    with pytest.raises(InvalidInput):
        services.record_mediation(
            session=session,
            actor=actor_for(team[0]),
            conflict_id=conflict.id,
            data=services.MediationInput.model_validate(
                {
                    "mediator_ids": [team[3].id],
                    "occurred_at": datetime.now(UTC),
                    "outcome": "unresolved",
                }
            ),
            client_uuid=str(uuid.uuid4()),
        )


def test_incident_joins_its_conflicts_timeline_and_a_community_response(
    session, world, team, actor_for
):
    conflict = flag(session, world, team[0], actor_for)
    incident, _ = services.record_incident(
        session=session,
        actor=actor_for(team[1]),
        data=services.IncidentInput.model_validate(
            {
                "type": "assault",
                "area_id": world.areas["Rinkeby"].id,
                "conflict_id": conflict.id,
                # After the conflict was detected: the timeline is in the order things happened.
                "occurred_at": datetime.now(UTC) - timedelta(minutes=30),
                "injured_count": 1,
                "response": "hospital_response",
            }
        ),
        client_uuid=str(uuid.uuid4()),
    )
    response, _ = services.record_community_response(
        session=session,
        actor=actor_for(team[1]),
        data=services.CommunityResponseInput.model_validate(
            {
                "kind": "community_meeting",
                "area_id": world.areas["Rinkeby"].id,
                "incident_id": incident.id,
                "occurred_at": datetime.now(UTC) - timedelta(minutes=10),
                "participants_estimate": 40,
            }
        ),
        client_uuid=str(uuid.uuid4()),
    )
    session.commit()
    kinds = [e.kind for e in services.timeline(session=session, conflict_id=conflict.id)]
    assert kinds == ["detected", "incident"]
    assert response.incident_id == incident.id
    # Another programme's conflict cannot be named.
    with pytest.raises(InvalidInput):
        services.record_incident(
            session=session,
            actor=actor_for(team[3]),
            data=services.IncidentInput.model_validate(
                {
                    "type": "threat",
                    "area_id": world.areas["Rinkeby"].id,
                    "conflict_id": conflict.id,
                    "occurred_at": datetime.now(UTC),
                }
            ),
            client_uuid=str(uuid.uuid4()),
        )


def test_only_supervisors_link_participants(session, world, team, actor_for):
    worker, _colleague, supervisor, _outsider = team
    conflict = flag(session, world, worker, actor_for)
    participant = factories.create_participant_for(session, world, worker)
    with pytest.raises(NotAllowed):
        services.link_participant(
            session=session,
            actor=actor_for(worker),
            conflict_id=conflict.id,
            participant_code=participant.code,
        )
    services.link_participant(
        session=session,
        actor=actor_for(supervisor),
        conflict_id=conflict.id,
        participant_code=participant.code.lower(),
    )
    session.commit()
    assert count(session, ConflictParticipant) == 1
    assert (
        services.linked_participants(session=session, actor=actor_for(worker), conflict=conflict)
        == []
    )
    assert [
        p.id
        for p in services.linked_participants(
            session=session, actor=actor_for(supervisor), conflict=conflict
        )
    ] == [participant.id]
    linked = session.exec(select(AuditEvent).where(AuditEvent.event == "participant_linked")).one()
    assert linked.detail == {"participant_id": participant.id}


def test_other_organisations_see_nothing(session, world, team, actor_for):
    conflict = flag(session, world, team[0], actor_for)
    with pytest.raises(NotVisible):
        services.get_conflict(session=session, actor=actor_for(team[3]), conflict_id=conflict.id)
    assert services.list_conflicts(session=session, actor=actor_for(team[3])) == []


def test_escalation_reaches_supervisors_and_workers_on_duty_in_the_area(
    session, world, team, actor_for
):
    worker, colleague, supervisor, outsider = team
    on_duty = actor_for(colleague)
    duty_services.start_duty(
        session=session, actor=on_duty, area_ids=[world.areas["Rinkeby"].id], hours=6
    )
    # Elsewhere on duty, off duty, or in another programme: not alerted.
    duty_services.start_duty(
        session=session, actor=actor_for(outsider), area_ids=[world.areas["Rinkeby"].id], hours=6
    )
    conflict = flag(session, world, worker, actor_for, risk_level=1)
    supervisors, workers = services.escalation_recipients(
        session=session, conflict=conflict, now=datetime.now(UTC)
    )
    assert supervisors == [supervisor.id]
    assert workers == [colleague.id]
    duty_services.end_duty(session=session, actor=on_duty)
    assert (
        services.escalation_recipients(session=session, conflict=conflict, now=datetime.now(UTC))[1]
        == []
    )


# Routes and the outbox ----------------------------------------------------------------------


def _form(world, **overrides):
    return {
        "occurred_at": "2026-11-20T21:15",
        "location": f"place:{world.places['Rinkeby torg'].id}",
        "risk_level": "2",
        "type": "group_vs_group",
        "parties_count": "2",
        "supporters_count": "10",
        "party_labels": "the older group, the younger group",
        "detected_via": "street",
        "catalyst": "territory",
        "weapon": "none_known",
        "youth_involved": "y",
        "note": "Tension by the square.",
    } | overrides


def test_flag_follow_and_mediate_through_the_pages(client, session, world, login_as):
    login_as("interrupter")
    assert client.get("/conflicts/new").status_code == 200
    response = client.post("/conflicts/new", data=_form(world))
    assert response.status_code == 303
    conflict = session.exec(select(Conflict)).one()
    assert conflict.party_labels == ["the older group", "the younger group"]
    page = client.get(f"/conflicts/{conflict.id}").get_data(as_text=True)
    assert "the older group" in page and conflict.code in page
    assert 'data-outbox="conflict_update"' in page and 'data-outbox="mediation"' in page
    client.post(
        f"/conflicts/{conflict.id}/updates",
        data={
            "conflict_id": str(conflict.id),
            "occurred_at": "2026-11-20T22:00",
            "risk_level": "1",
            "text": "Calmer after the talk.",
            "kind": "info",
        },
    )
    client.post(
        f"/conflicts/{conflict.id}/mediations",
        data={
            "conflict_id": str(conflict.id),
            "occurred_at": "2026-11-20T22:30",
            "outcome": "temporarily_resolved",
            "strategies": ["de_escalate"],
            "follow_up_on": "2026-11-22",
        },
    )
    session.expire_all()
    assert session.get(Conflict, conflict.id).risk_level == 1
    assert count(session, Mediation) == 1
    assert "conflict_viewed" in session.exec(select(AuditEvent.event)).all()
    levels = client.get("/conflicts/levels").get_data(as_text=True)
    assert conflict.code in levels and "the older group" not in levels


def test_every_conflict_kind_arrives_once_from_the_outbox(client, session, world, login_as):
    login_as("interrupter")
    phone = Phone(client)
    key = str(uuid.uuid4())
    first = phone.send(_form(world), client_uuid=key, kind="conflict")
    assert first.status_code == 201
    assert phone.send(_form(world), client_uuid=key, kind="conflict").status_code == 200
    conflict = session.exec(select(Conflict)).one()
    update = {
        "conflict_id": str(conflict.id),
        "occurred_at": "2026-11-20T22:00",
        "text": "Heard more at school.",
        "kind": "info",
    }
    mediation = {
        "conflict_id": str(conflict.id),
        "occurred_at": "2026-11-20T22:30",
        "outcome": "resolved_immediately",
    }
    incident = {
        "occurred_at": "2026-11-20T23:00",
        "type": "disorder",
        "location": f"area:{world.areas['Rinkeby'].id}",
        "injured_count": "0",
        "response": "none",
    }
    response = {
        "occurred_at": "2026-11-21T18:00",
        "kind": "vigil",
        "location": f"area:{world.areas['Rinkeby'].id}",
    }
    for kind, payload in [
        ("conflict_update", update),
        ("mediation", mediation),
        ("incident", incident),
        ("community_response", response),
    ]:
        key = str(uuid.uuid4())
        assert phone.send(payload, client_uuid=key, kind=kind).status_code == 201, kind
        assert phone.send(payload, client_uuid=key, kind=kind).status_code == 200, kind
    assert count(session, ConflictEvent) == 3  # detected, info, mediation
    assert count(session, Mediation) == 1
    assert count(session, Incident) == 1
    assert count(session, CommunityResponse) == 1


def test_an_update_to_another_programmes_conflict_is_held_not_stored(
    client, session, world, login_as, actor_for
):
    owner = factories.create_user(session, world, "interrupter", organisation="other_programme")
    session.commit()
    conflict = flag(session, world, owner, actor_for)
    session.commit()
    login_as("interrupter")
    answer = Phone(client).send(
        {"conflict_id": str(conflict.id), "occurred_at": "2026-11-20T22:00", "text": "x"},
        kind="conflict_update",
    )
    # Held for its author, like any record the server cannot take as it stands: the answer is
    # the same for a conflict that does not exist, so it tells nothing of another programme.
    assert answer.status_code == 200 and answer.get_json()["status"] == "needs_correction"
    assert count(session, ConflictEvent) == 1


# Alerts and reminders (through the push package's notifications) ---------------------------


def test_level_three_alerts_supervisors_and_workers_on_duty_once(session, world, team, actor_for):
    from interrupters.push.models import Notification

    worker, colleague, supervisor, _outsider = team
    duty_services.start_duty(
        session=session, actor=actor_for(colleague), area_ids=[world.areas["Rinkeby"].id], hours=4
    )
    conflict = flag(session, world, worker, actor_for, risk_level=2)
    actor = actor_for(worker)
    key = str(uuid.uuid4())
    data = update_input(risk_level=3, text="A video with threats is spreading.")
    services.update_conflict(
        session=session, actor=actor, conflict_id=conflict.id, data=data, client_uuid=key
    )
    # The same update again (a phone's retry) notifies nobody twice.
    services.update_conflict(
        session=session, actor=actor, conflict_id=conflict.id, data=data, client_uuid=key
    )
    session.commit()
    rows = session.exec(select(Notification).where(Notification.kind == "conflict_escalated")).all()
    assert sorted(n.recipient_id for n in rows) == sorted([supervisor.id, colleague.id])
    assert all(n.requires_ack for n in rows)
    # Lock screens are public: no code, label or place in the text.
    for row in rows:
        text = repr(row.model_dump())
        assert conflict.code not in text and "older group" not in text and "torg" not in text
    # Falling to 2 and back to 3 is a new escalation: a new alert.
    services.update_conflict(
        session=session,
        actor=actor,
        conflict_id=conflict.id,
        data=update_input(risk_level=2, text="Calmer."),
        client_uuid=str(uuid.uuid4()),
    )
    assert count(session, Notification) == 2


def test_follow_up_reminders_are_sent_once(session, world, team, actor_for):
    from interrupters.conflicts.jobs import remind_follow_ups
    from interrupters.push.models import Notification

    worker, colleague, _supervisor, _outsider = team
    conflict = flag(session, world, worker, actor_for)
    services.record_mediation(
        session=session,
        actor=actor_for(colleague),
        conflict_id=conflict.id,
        data=services.MediationInput.model_validate(
            {
                "occurred_at": datetime.now(UTC) - timedelta(days=2),
                "outcome": "temporarily_resolved",
                "follow_up_on": (datetime.now(UTC) - timedelta(days=1)).date(),
            }
        ),
        client_uuid=str(uuid.uuid4()),
    )
    participant = factories.create_participant_for(session, world, worker)
    factories.create_contact(
        session,
        world,
        worker,
        subject="participant",
        participant_id=participant.id,
        follow_up_on=(datetime.now(UTC) - timedelta(days=1)).date(),
    )
    session.commit()
    assert remind_follow_ups(session=session) == 2
    assert remind_follow_ups(session=session) == 0
    reminders = session.exec(select(Notification).where(Notification.kind == "follow_up_due")).all()
    assert sorted(n.recipient_id for n in reminders) == sorted([colleague.id, worker.id])


def test_only_the_latest_contacts_follow_up_reminds(session, world, team):
    """An older contact's past date is settled by a newer contact; an exited participant rests."""
    from interrupters.conflicts.jobs import remind_follow_ups

    worker = team[0]
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    settled, due, exited = (
        factories.create_participant_for(session, world, worker) for _ in range(3)
    )
    for participant, dates in (
        (settled, [yesterday, None]),
        (due, [None, yesterday]),
        (exited, [yesterday]),
    ):
        for days_ago, follow_up_on in zip((3, 2), dates, strict=False):
            factories.create_contact(
                session,
                world,
                worker,
                subject="participant",
                participant_id=participant.id,
                occurred_at=datetime.now(UTC) - timedelta(days=days_ago),
                follow_up_on=follow_up_on,
            )
    exited.status = "exited"
    session.add(exited)
    session.commit()
    assert remind_follow_ups(session=session) == 1
    assert session.exec(select(Notification.subject)).all() == [f"participant:{due.id}:{yesterday}"]


def test_a_replay_after_the_conflict_closed_is_not_held(client, session, world, login_as):
    """An incident sent, stored, its answer lost; the conflict closes; the phone retries."""
    from interrupters.records.models import HeldRecord

    login_as("interrupter")
    phone = Phone(client)
    phone.send(_form(world), kind="conflict")
    conflict = session.exec(select(Conflict)).one()
    incident = {
        "occurred_at": "2026-11-20T23:00",
        "type": "threat",
        "location": f"area:{world.areas['Rinkeby'].id}",
        "conflict_id": str(conflict.id),
        "response": "none",
    }
    key = str(uuid.uuid4())
    assert phone.send(incident, client_uuid=key, kind="incident").status_code == 201
    closed = {
        "conflict_id": str(conflict.id),
        "occurred_at": "2026-11-21T10:00",
        "status": "resolved",
        "text": "Settled.",
    }
    assert phone.send(closed, kind="conflict_update").status_code == 201
    # The closed conflict is no longer a choice on the incident form, yet this is a replay.
    again = phone.send(incident, client_uuid=key, kind="incident")
    assert again.status_code == 200 and again.get_json()["status"] == "replayed"
    assert count(session, Incident) == 1 and count(session, HeldRecord) == 0


def test_the_scheduler_runs_the_follow_up_reminders(app):
    from interrupters.scheduler import SchedulerLock, build_scheduler

    with SchedulerLock(app) as lock:
        jobs = {job.id: job for job in build_scheduler(app, lock).get_jobs()}
    assert jobs["conflicts.remind_follow_ups"].trigger.interval == timedelta(minutes=15)
