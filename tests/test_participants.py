"""The caseload: codes, visibility, follow-ups, closing a case."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from interrupters.audit.models import AuditEvent
from interrupters.errors import InvalidInput, InvalidState, NotAllowed, NotVisible
from interrupters.participants import services
from interrupters.participants.models import Participant
from interrupters.participants.values import ExitReason, ParticipantStatus

from . import factories


@pytest.fixture
def people(session, world):
    worker = factories.create_user(session, world, "interrupter")
    colleague = factories.create_user(session, world, "interrupter")
    supervisor = factories.create_user(session, world, "supervisor")
    outsider = factories.create_user(session, world, "interrupter", organisation="other_programme")
    session.commit()
    return worker, colleague, supervisor, outsider


def _input(world, **overrides):
    data = {
        "area_id": world.areas["Rinkeby"].id,
        "age_band": "15-17",
        "risk_tier": "high",
    } | overrides
    return services.ParticipantInput.model_validate(data)


def test_codes_are_made_by_the_app(session, world, people, actor_for):
    actor = actor_for(people[0])
    codes = {
        services.create_participant(session=session, actor=actor, data=_input(world)).code
        for _ in range(20)
    }
    assert len(codes) == 20
    assert all(re.fullmatch(r"P-[2-9A-HJKMNP-Z]{4}", code) for code in codes)


def test_participant_has_no_name_field():
    forbidden = {
        "name",
        "first_name",
        "last_name",
        "personal_number",
        "personnummer",
        "address",
        "offence",
    }
    assert not forbidden & set(Participant.model_fields)


def test_caseload_orders_by_follow_up_and_shows_the_last_contact(session, world, people, actor_for):
    worker = people[0]
    actor = actor_for(worker)
    later = services.create_participant(session=session, actor=actor, data=_input(world))
    sooner = services.create_participant(session=session, actor=actor, data=_input(world))
    untouched = services.create_participant(session=session, actor=actor, data=_input(world))
    occurred = datetime.now(UTC) - timedelta(hours=3)
    for participant, follow in ((later, 9), (sooner, 2)):
        factories.create_participant_contact(
            session,
            world,
            worker,
            participant,
            occurred_at=occurred,
            follow_up_on=date.today() + timedelta(days=follow),
        )
    # A colleague's participant is not in the worker's caseload.
    services.create_participant(session=session, actor=actor_for(people[1]), data=_input(world))
    rows = services.caseload(session=session, actor=actor)
    assert [r.participant.id for r in rows] == [sooner.id, later.id, untouched.id]
    assert rows[0].last_contact_at == occurred
    assert rows[0].next_follow_up == date.today() + timedelta(days=2)
    assert rows[2].last_contact_at is None


def test_team_reads_but_only_the_worker_and_supervisor_edit(session, world, people, actor_for):
    worker, colleague, supervisor, outsider = people
    participant = services.create_participant(
        session=session, actor=actor_for(worker), data=_input(world)
    )
    assert services.get_participant(
        session=session, actor=actor_for(colleague), participant_id=participant.id
    )
    with pytest.raises(NotAllowed):
        services.update_participant(
            session=session,
            actor=actor_for(colleague),
            participant_id=participant.id,
            data=_input(world),
        )
    services.update_participant(
        session=session,
        actor=actor_for(supervisor),
        participant_id=participant.id,
        data=_input(world, risk_tier="low", worker_id=colleague.id),
    )
    assert participant.risk_tier == "low" and participant.worker_id == colleague.id
    with pytest.raises(NotVisible):
        services.get_participant(
            session=session, actor=actor_for(outsider), participant_id=participant.id
        )


def test_only_supervisors_assign_to_someone_else(session, world, people, actor_for):
    worker, colleague, supervisor, outsider = people
    with pytest.raises(NotAllowed):
        services.create_participant(
            session=session, actor=actor_for(worker), data=_input(world, worker_id=colleague.id)
        )
    with pytest.raises(InvalidInput):
        services.create_participant(
            session=session, actor=actor_for(supervisor), data=_input(world, worker_id=outsider.id)
        )


def test_viewing_a_participant_is_audited(session, world, people, actor_for):
    participant = services.create_participant(
        session=session, actor=actor_for(people[0]), data=_input(world)
    )
    services.get_participant(
        session=session, actor=actor_for(people[1]), participant_id=participant.id
    )
    viewed = session.exec(select(AuditEvent).where(AuditEvent.event == "participant_viewed")).all()
    assert [(e.actor_id, e.object_id) for e in viewed] == [(people[1].id, str(participant.id))]


def test_close_with_exit_reason(session, world, people, actor_for):
    actor = actor_for(people[0])
    participant = services.create_participant(session=session, actor=actor, data=_input(world))
    services.close_participant(
        session=session,
        actor=actor,
        participant_id=participant.id,
        exit_reason=ExitReason.goals_met,
    )
    assert participant.status == ParticipantStatus.exited and participant.exit_reason == "goals_met"
    assert participant.exited_at is not None
    assert services.caseload(session=session, actor=actor) == []
    with pytest.raises(InvalidState):
        services.close_participant(
            session=session,
            actor=actor,
            participant_id=participant.id,
            exit_reason=ExitReason.moved,
        )


# Routes ----------------------------------------------------------------------------------


def test_register_a_participant_through_the_form(client, session, world, login_as):
    user = login_as("interrupter")
    assert client.get("/participants/new").status_code == 200
    response = client.post(
        "/participants/new",
        data={
            "area_id": str(world.areas["Tensta"].id),
            "age_band": "18-20",
            "risk_tier": "medium",
            "status": "active",
            "goals": ["education", "employment"],
            "nickname": "Lillen",
        },
    )
    assert response.status_code == 303
    participant = session.exec(select(Participant).where(Participant.worker_id == user.id)).one()
    assert participant.goals == ["education", "employment"]
    assert response.headers["Location"].endswith(f"/participants/{participant.id}")
    page = client.get(f"/participants/{participant.id}").get_data(as_text=True)
    assert participant.code in page and "Lillen" in page
    assert participant.code in client.get("/participants/").get_data(as_text=True)


def test_nickname_is_hidden_from_the_team(client, session, world, login_as):
    owner = factories.create_user(session, world, "interrupter")
    participant = factories.create_participant_for(session, world, owner, nickname="Kungen")
    session.commit()
    login_as("interrupter")
    page = client.get(f"/participants/{participant.id}").get_data(as_text=True)
    assert participant.code in page and "Kungen" not in page
    assert client.get(f"/participants/{participant.id}/edit").status_code == 403


def test_close_through_the_form(client, session, world, login_as):
    user = login_as("interrupter")
    participant = factories.create_participant_for(session, world, user)
    session.commit()
    response = client.post(f"/participants/{participant.id}/close", data={"exit_reason": "moved"})
    assert response.status_code == 303
    session.refresh(participant)
    assert participant.status == "exited" and participant.exit_reason == "moved"
