"""Contacts: logging once per UUID, editing until reviewed, and the supervisor's review."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select

from interrupters.audit.models import AuditEvent
from interrupters.contacts import services
from interrupters.contacts.models import Contact, ContactReview
from interrupters.contacts.values import ReviewDecision, ReviewState
from interrupters.errors import DuplicateRecord, InvalidInput, InvalidState, NotAllowed, NotVisible

from . import factories


@pytest.fixture
def team(session, world):
    worker = factories.create_user(session, world, "interrupter")
    colleague = factories.create_user(session, world, "interrupter")
    supervisor = factories.create_user(session, world, "supervisor")
    outsider = factories.create_user(session, world, "interrupter", organisation="other_programme")
    session.commit()
    return worker, colleague, supervisor, outsider


def count(session, model):
    return session.exec(select(func.count()).select_from(model)).one()


def test_same_uuid_same_content_is_one_contact(session, world, team, actor_for):
    worker = actor_for(team[0])
    data = factories.contact_input(world)
    key = str(uuid.uuid4())
    first, created = services.log_contact(session=session, actor=worker, data=data, client_uuid=key)
    again, created_again = services.log_contact(
        session=session, actor=worker, data=data, client_uuid=key
    )
    session.commit()
    assert created and not created_again
    assert first.id == again.id
    assert count(session, Contact) == 1


def test_same_uuid_other_content_is_refused(session, world, team, actor_for):
    worker = actor_for(team[0])
    key = str(uuid.uuid4())
    services.log_contact(
        session=session,
        actor=worker,
        data=factories.contact_input(world, note="a"),
        client_uuid=key,
    )
    with pytest.raises(DuplicateRecord) as raised:
        services.log_contact(
            session=session,
            actor=worker,
            data=factories.contact_input(world, note="b"),
            client_uuid=key,
        )
    assert raised.value.code == 409


def test_another_worker_cannot_claim_a_uuid(session, world, team, actor_for):
    data = factories.contact_input(world)
    key = str(uuid.uuid4())
    services.log_contact(session=session, actor=actor_for(team[0]), data=data, client_uuid=key)
    with pytest.raises(DuplicateRecord):
        services.log_contact(session=session, actor=actor_for(team[1]), data=data, client_uuid=key)


def test_payload_hash_ignores_order_of_referrals(world):
    one = factories.contact_input(world, referrals=["housing", "education"])
    two = services.ContactInput.model_validate(
        one.model_dump() | {"referrals": ["education", "housing"]}
    )
    assert two.payload_hash() == one.payload_hash()
    assert two.model_copy(update={"note": "other"}).payload_hash() != one.payload_hash()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"occurred_at": datetime.now(UTC) + timedelta(days=1)}, "occurred_at"),
        ({"area_id": 999_999, "place_id": None}, "area_id"),
        ({"place_id": 999_999}, "place_id"),
        ({"subject": "participant", "participant_id": 999_999}, "participant_id"),
    ],
)
def test_invalid_references_are_refused(session, world, team, actor_for, overrides, field):
    with pytest.raises(InvalidInput) as raised:
        services.log_contact(
            session=session,
            actor=actor_for(team[0]),
            data=factories.contact_input(world, **overrides),
            client_uuid=str(uuid.uuid4()),
        )
    assert field in raised.value.errors


def test_place_must_lie_in_the_area(session, world, team, actor_for):
    data = factories.contact_input(
        world, area_id=world.areas["Tensta"].id, place_id=world.places["Rinkeby torg"].id
    )
    with pytest.raises(InvalidInput) as raised:
        services.log_contact(
            session=session, actor=actor_for(team[0]), data=data, client_uuid=str(uuid.uuid4())
        )
    assert "place_id" in raised.value.errors


def test_retired_place_is_refused(session, world, team, actor_for):
    place = world.places["Rinkeby torg"]
    place.active = False
    session.add(place)
    session.commit()
    with pytest.raises(InvalidInput):
        services.log_contact(
            session=session,
            actor=actor_for(team[0]),
            data=factories.contact_input(world),
            client_uuid=str(uuid.uuid4()),
        )


def test_participant_of_another_organisation_is_refused(session, world, team, actor_for):
    foreign = factories.create_participant_for(session, world, team[3])
    with pytest.raises(InvalidInput):
        services.log_contact(
            session=session,
            actor=actor_for(team[0]),
            data=factories.contact_input(world, subject="participant", participant_id=foreign.id),
            client_uuid=str(uuid.uuid4()),
        )


def test_subject_clears_fields_that_do_not_belong(world):
    data = factories.contact_input(
        world, subject="group", group_size=5, age_band="15-17", gender="male"
    )
    assert data.group_size == 5 and data.gender is None
    person = factories.contact_input(world, subject="person", group_size=5)
    assert person.group_size is None


def test_note_longer_than_280_is_refused(world):
    with pytest.raises(ValueError):
        factories.contact_input(world, note="x" * 281)


def test_return_correct_and_approve(session, world, team, actor_for):
    worker, _colleague, supervisor, _outsider = team
    contact = factories.create_contact(session, world, worker)
    session.commit()
    boss = actor_for(supervisor)

    with pytest.raises(InvalidInput):
        services.review_contact(
            session=session, actor=boss, contact_id=contact.id, decision=ReviewDecision.returned
        )
    services.review_contact(
        session=session,
        actor=boss,
        contact_id=contact.id,
        decision=ReviewDecision.returned,
        comment="Which place was it?",
    )
    assert contact.review_state == ReviewState.returned
    assert contact not in services.review_queue_page(session=session, actor=boss).items

    services.update_contact(
        session=session,
        actor=actor_for(worker),
        contact_id=contact.id,
        data=factories.contact_input(world, note="At the square, by the metro exit."),
    )
    assert contact.review_state == ReviewState.corrected
    assert contact in services.review_queue_page(session=session, actor=boss).items

    services.review_contact(
        session=session, actor=boss, contact_id=contact.id, decision=ReviewDecision.approved
    )
    session.commit()
    assert contact.review_state == ReviewState.approved
    decisions = [
        r.decision for r in services.review_history(session=session, contact_id=contact.id)
    ]
    assert decisions == ["returned", "approved"]
    events = session.exec(
        select(AuditEvent.event).where(AuditEvent.event == "contact_reviewed")
    ).all()
    assert len(events) == 2

    with pytest.raises(InvalidState):
        services.update_contact(
            session=session,
            actor=actor_for(worker),
            contact_id=contact.id,
            data=factories.contact_input(world),
        )
    with pytest.raises(InvalidState):
        services.review_contact(
            session=session, actor=boss, contact_id=contact.id, decision=ReviewDecision.approved
        )


def test_only_the_author_edits_a_contact(session, world, team, actor_for):
    contact = factories.create_contact(session, world, team[0])
    with pytest.raises(NotAllowed):
        services.update_contact(
            session=session,
            actor=actor_for(team[1]),
            contact_id=contact.id,
            data=factories.contact_input(world),
        )
    with pytest.raises(NotAllowed):
        services.update_contact(
            session=session,
            actor=actor_for(team[2]),
            contact_id=contact.id,
            data=factories.contact_input(world),
        )


def test_interrupters_cannot_review_and_supervisors_not_their_own(session, world, team, actor_for):
    worker, colleague, supervisor, _ = team
    contact = factories.create_contact(session, world, worker)
    own = factories.create_contact(session, world, supervisor)
    with pytest.raises(NotAllowed):
        services.review_contact(
            session=session,
            actor=actor_for(colleague),
            contact_id=contact.id,
            decision=ReviewDecision.approved,
        )
    with pytest.raises(NotAllowed):
        services.review_contact(
            session=session,
            actor=actor_for(supervisor),
            contact_id=own.id,
            decision=ReviewDecision.approved,
        )


def test_other_organisation_sees_nothing(session, world, team, actor_for):
    contact = factories.create_contact(session, world, team[0])
    outsider = actor_for(team[3])
    with pytest.raises(NotVisible):
        services.get_contact(session=session, actor=outsider, contact_id=contact.id)
    # The team reads its colleagues' contacts.
    assert (
        services.get_contact(session=session, actor=actor_for(team[1]), contact_id=contact.id)
        is contact
    )


def test_queue_filters(session, world, team, actor_for):
    worker, colleague, supervisor, _ = team
    old = factories.create_contact(
        session, world, worker, occurred_at=datetime(2026, 11, 1, 22, 30, tzinfo=UTC)
    )
    tensta = factories.create_contact(
        session,
        world,
        colleague,
        area_id=world.areas["Tensta"].id,
        place_id=world.places["Tensta centrum"].id,
    )
    boss = actor_for(supervisor)
    assert {c.id for c in services.review_queue_page(session=session, actor=boss).items} == {
        old.id,
        tensta.id,
    }
    assert [
        c.id
        for c in services.review_queue_page(session=session, actor=boss, worker_id=worker.id).items
    ] == [old.id]
    assert [
        c.id
        for c in services.review_queue_page(
            session=session, actor=boss, area_id=world.areas["Tensta"].id
        ).items
    ] == [tensta.id]
    # 22:30 UTC on 1 November is 23:30 in Stockholm: still 1 November there.
    from datetime import date

    assert [
        c.id
        for c in services.review_queue_page(
            session=session, actor=boss, day_from=date(2026, 11, 1), day_to=date(2026, 11, 1)
        ).items
    ] == [old.id]


def test_approve_many_is_all_or_nothing(session, world, team, actor_for):
    worker, _colleague, supervisor, _ = team
    first = factories.create_contact(session, world, worker)
    own = factories.create_contact(session, world, supervisor)
    session.commit()
    with pytest.raises(NotAllowed):
        services.approve_contacts(
            session=session, actor=actor_for(supervisor), contact_ids=[first.id, own.id]
        )
    session.rollback()
    assert session.get(Contact, first.id).review_state == ReviewState.submitted
    assert (
        services.approve_contacts(
            session=session, actor=actor_for(supervisor), contact_ids=[first.id]
        )
        == 1
    )


# Routes ----------------------------------------------------------------------------------


def _form(world, **overrides):
    data = {
        "occurred_at": "2026-11-20T21:15",
        "location": f"place:{world.places['Rinkeby torg'].id}",
        "subject": "person",
        "age_band": "15-17",
        "kind": "street",
        "purpose": "check_in",
        "duration_minutes": "10",
        "note": "Calm by the square.",
    }
    data.update(overrides)
    return data


def test_log_contact_through_the_form(client, session, world, login_as):
    user = login_as("interrupter")
    page = client.get("/contacts/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'maxlength="280"' in html and 'data-outbox="contact"' in html
    key = str(uuid.uuid4())
    response = client.post("/contacts/new", data=_form(world, client_uuid=key))
    assert response.status_code == 303
    again = client.post("/contacts/new", data=_form(world, client_uuid=key))
    assert again.status_code == 303
    stored = session.exec(select(Contact).where(Contact.worker_id == user.id)).all()
    assert len(stored) == 1
    # 21:15 in Stockholm in November is 20:15 UTC.
    assert stored[0].occurred_at == datetime(2026, 11, 20, 20, 15, tzinfo=UTC)
    # The next form preselects the place just used.
    html = client.get("/contacts/new").get_data(as_text=True)
    assert f'<option selected value="place:{world.places["Rinkeby torg"].id}">' in html


def test_form_errors_keep_the_input_and_drop_the_uuid(client, session, world, login_as):
    login_as("interrupter")
    response = client.post(
        "/contacts/new",
        data=_form(world, age_band="", client_uuid=str(uuid.uuid4()), note="kept text"),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "kept text" in html
    assert 'name="client_uuid" type="hidden" value=""' in html
    assert count(session, Contact) == 0


def test_returned_contact_shows_the_comment_to_its_worker(
    client, session, world, login_as, actor_for
):
    user = login_as("interrupter")
    supervisor = factories.create_user(session, world, "supervisor")
    contact = factories.create_contact(session, world, user)
    services.review_contact(
        session=session,
        actor=actor_for(supervisor),
        contact_id=contact.id,
        decision=ReviewDecision.returned,
        comment="Add the duration, please.",
    )
    session.commit()
    assert "Add the duration, please." in client.get("/contacts").get_data(as_text=True)
    assert "Add the duration, please." in client.get(f"/contacts/{contact.id}/edit").get_data(
        as_text=True
    )
    response = client.post(f"/contacts/{contact.id}/edit", data=_form(world, duration_minutes="25"))
    assert response.status_code == 303
    session.refresh(contact)
    assert contact.review_state == ReviewState.corrected and contact.duration_minutes == 25


def test_supervisor_reviews_through_the_routes(client, session, world, login_as):
    worker = factories.create_user(session, world, "interrupter")
    first = factories.create_contact(session, world, worker)
    second = factories.create_contact(session, world, worker)
    session.commit()
    login_as("supervisor")
    queue = client.get("/review").get_data(as_text=True)
    assert f'value="{first.id}"' in queue and f'value="{second.id}"' in queue
    fragment = client.get(f"/review?worker_id={worker.id}", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True) and 'id="queue"' in fragment.get_data(
        as_text=True
    )
    assert "HX-Request" in fragment.headers["Vary"]
    returned = client.post(f"/review/{first.id}", data={"decision": "returned", "comment": ""})
    assert returned.status_code == 303
    session.refresh(first)
    assert first.review_state == ReviewState.submitted  # a return needs a comment
    client.post(f"/review/{first.id}", data={"decision": "returned", "comment": "Which area?"})
    client.post("/review/approve", data={"contact_ids": [str(second.id)]})
    session.refresh(first)
    session.refresh(second)
    assert first.review_state == ReviewState.returned
    assert second.review_state == ReviewState.approved
    assert count(session, ContactReview) == 2


def test_the_form_offers_the_workers_own_participants_and_accepts_a_colleagues(
    client, session, world, login_as
):
    user = login_as("interrupter")
    colleague = factories.create_user(session, world, "interrupter")
    mine = factories.create_participant_for(session, world, user)
    theirs = factories.create_participant_for(session, world, colleague)
    met = factories.create_participant_for(session, world, colleague)
    factories.create_contact(session, world, user, subject="participant", participant_id=met.id)
    session.commit()
    html = client.get("/contacts/new").get_data(as_text=True)
    # The programme's other participants are not listed: the form stays one worker's size.
    assert mine.code in html and met.code in html and theirs.code not in html
    # Opened from the colleague's participant's page, that one is offered and chosen.
    html = client.get(f"/contacts/new?participant={theirs.id}").get_data(as_text=True)
    assert f'<option selected value="{theirs.id}">{theirs.code}</option>' in html
    key = str(uuid.uuid4())
    response = client.post(
        "/contacts/new",
        data=_form(
            world,
            subject="participant",
            participant_id=str(theirs.id),
            age_band="",
            client_uuid=key,
        ),
    )
    assert response.status_code == 303
    stored = session.exec(select(Contact).where(Contact.client_uuid == key)).one()
    assert stored.participant_id == theirs.id


@pytest.mark.parametrize("value", ["abc", "99999999", "-1", "1e3"])
def test_a_participant_outside_the_programme_is_refused_by_the_form(
    client, session, world, login_as, value
):
    login_as("interrupter")
    outsider = factories.create_user(session, world, "interrupter", organisation="other_programme")
    foreign = factories.create_participant_for(session, world, outsider)
    session.commit()
    for participant in (value, str(foreign.id)):
        response = client.post(
            "/contacts/new",
            data=_form(
                world,
                subject="participant",
                participant_id=participant,
                age_band="",
                client_uuid=str(uuid.uuid4()),
            ),
        )
        assert response.status_code == 422
    assert count(session, Contact) == 0
