"""Referrals followed to the end, and the directory of services (issue 11, item 5)."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import func, select

from interrupters.audit.models import AuditEvent
from interrupters.errors import InvalidInput, NotAllowed, NotVisible
from interrupters.push.models import Notification
from interrupters.records.models import HeldRecord
from interrupters.referrals import services
from interrupters.referrals.jobs import remind_referral_follow_ups
from interrupters.referrals.models import Referral, ReferralUpdate, Service
from interrupters.scheduler import periodic_jobs

from . import factories
from .test_sync import Phone

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def count(session, model, *where):
    session.expire_all()
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def local(hours: float) -> str:
    return (datetime.now(STOCKHOLM) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def referral_form(participant_id, service_id, **overrides):
    return {
        "participant_id": str(participant_id),
        "service_id": str(service_id),
        "made_at": local(-1),
        "consent_given": "y",
        "consent_scope": "service_contacts_participant",
        "follow_up_on": (datetime.now(STOCKHOLM).date() + timedelta(days=7)).isoformat(),
    } | overrides


@pytest.fixture
def case(session, world):
    """A worker, a participant of theirs, and a service in the directory."""
    worker = factories.create_user(session, world, "interrupter")
    participant = factories.create_participant_for(session, world, worker)
    service = factories.create_service(session, world)
    session.commit()
    return worker, participant, service


# Services, directly ---------------------------------------------------------------------------


def test_a_referral_is_made_once_and_followed_until_it_closes(session, world, case):
    worker, participant, service = case
    actor = factories.principal(session, worker)
    key = str(uuid.uuid4())
    data = services.ReferralInput(
        participant_id=participant.id,
        service_id=service.id,
        made_at=datetime.now(UTC) - timedelta(hours=2),
        consent_given=True,
        consent_scope="worker_contacts_service",
        follow_up_on=datetime.now(STOCKHOLM).date() + timedelta(days=3),
    )
    referral, created = services.make_referral(
        session=session, actor=actor, data=data, client_uuid=key
    )
    again, created_again = services.make_referral(
        session=session, actor=actor, data=data, client_uuid=key
    )
    assert created and not created_again and again.id == referral.id
    assert referral.status == "made" and referral.closed_at is None

    def change(status, hours_ago, follow_up=None):
        return services.update_referral(
            session=session,
            actor=actor,
            referral_id=referral.id,
            data=services.ReferralUpdateInput(
                status=status,
                occurred_at=datetime.now(UTC) - timedelta(hours=hours_ago),
                follow_up_on=follow_up,
            ),
            client_uuid=str(uuid.uuid4()),
        )

    change("contact_made", 1.5, datetime.now(STOCKHOLM).date() + timedelta(days=7))
    assert referral.status == "contact_made" and referral.follow_up_on is not None
    # Sent offline earlier, arriving later: kept in the history, the status stays newer.
    change("started", 1.8)
    assert referral.status == "contact_made"
    change("completed", 1)
    assert referral.status == "completed" and referral.closed_at is not None
    assert referral.follow_up_on is None
    with pytest.raises(InvalidInput) as error:
        change("withdrawn", 0.5)
    assert "status" in error.value.errors
    with pytest.raises(InvalidInput) as error:
        change("started", 3)  # before the referral was made
    assert "occurred_at" in error.value.errors
    history = services.referral_history(session=session, referral_id=referral.id)
    assert [u.status for u in history] == ["started", "contact_made", "completed"]


def test_a_referral_needs_consent_a_known_service_and_an_own_participant(session, world, case):
    worker, participant, service = case
    colleague = factories.create_user(session, world, "interrupter")
    base = {
        "participant_id": participant.id,
        "service_id": service.id,
        "made_at": datetime.now(UTC),
        "consent_given": True,
        "consent_scope": "worker_accompanies",
    }
    wrong = [
        ({"consent_given": False}, "consent_given"),
        ({"service_id": 99_999_999}, "service_id"),
        ({"made_at": datetime.now(UTC) + timedelta(hours=3)}, "made_at"),
    ]
    for overrides, field in wrong:
        with pytest.raises(InvalidInput) as error:
            services.make_referral(
                session=session,
                actor=factories.principal(session, worker),
                data=services.ReferralInput.model_validate(base | overrides),
                client_uuid=str(uuid.uuid4()),
            )
        assert field in error.value.errors
    # A colleague may not refer someone else's participant (own caseload only).
    with pytest.raises(InvalidInput) as error:
        services.make_referral(
            session=session,
            actor=factories.principal(session, colleague),
            data=services.ReferralInput.model_validate(base),
            client_uuid=str(uuid.uuid4()),
        )
    assert "participant_id" in error.value.errors


def test_a_supervisor_refers_any_participant_of_the_organisation(session, world, case):
    _worker, participant, service = case
    supervisor = factories.create_user(session, world, "supervisor")
    outsider = factories.create_user(session, world, "supervisor", organisation="other_programme")
    referral = factories.create_referral(session, supervisor, participant, service)
    assert referral.organisation_id == participant.organisation_id
    with pytest.raises(InvalidInput) as error:
        factories.create_referral(session, outsider, participant, service)
    assert "participant_id" in error.value.errors


def test_who_sees_a_referral(session, world, case):
    worker, participant, service = case
    referral = factories.create_referral(session, worker, participant, service)
    supervisor = factories.create_user(session, world, "supervisor")
    colleague = factories.create_user(session, world, "interrupter")
    outsider = factories.create_user(session, world, "supervisor", organisation="other_programme")
    walker = factories.create_user(session, world, "night_walker")

    def sees(user):
        actor = factories.principal(session, user)
        try:
            services.get_referral(session=session, actor=actor, referral_id=referral.id)
        except NotVisible:
            return False
        return True

    assert sees(worker) and sees(supervisor)
    assert not sees(colleague) and not sees(outsider) and not sees(walker)
    listed = services.visible_referrals(
        session=session, actor=factories.principal(session, supervisor)
    )
    assert [r.id for r in listed] == [referral.id]
    assert (
        services.visible_referrals(session=session, actor=factories.principal(session, colleague))
        == []
    )
    with pytest.raises(NotAllowed):
        services.visible_referrals(session=session, actor=factories.principal(session, walker))


def test_only_the_admin_keeps_the_directory(session, world):
    admin = factories.principal(session, factories.create_user(session, world, "admin"))
    supervisor = factories.principal(session, factories.create_user(session, world, "supervisor"))
    data = services.ServiceInput(
        name=" Stödcentrum Järva ",
        kind="victim_support_centre",
        district_ids=[world.districts["Järva"].id],
        phone="08-508 00 000",
    )
    service = services.save_service(session=session, actor=admin, data=data)
    assert service.name == "Stödcentrum Järva"
    with pytest.raises(NotAllowed):
        services.save_service(session=session, actor=supervisor, data=data)
    with pytest.raises(InvalidInput):
        services.save_service(
            session=session,
            actor=admin,
            data=data.model_copy(update={"district_ids": [99_999_999]}),
        )


# The reminder --------------------------------------------------------------------------------


def test_a_due_follow_up_reminds_the_participants_worker_once(session, world, case):
    worker, participant, service = case
    today = datetime.now(STOCKHOLM).date()
    days_ago = datetime.now(UTC) - timedelta(days=3)
    due = factories.create_referral(
        session,
        worker,
        participant,
        service,
        made_at=days_ago,
        follow_up_on=today - timedelta(days=1),
    )
    factories.create_referral(
        session, worker, participant, service, follow_up_on=today + timedelta(days=2)
    )
    closed = factories.create_referral(
        session,
        worker,
        participant,
        service,
        made_at=days_ago,
        follow_up_on=today - timedelta(days=1),
    )
    services.update_referral(
        session=session,
        actor=factories.principal(session, worker),
        referral_id=closed.id,
        data=services.ReferralUpdateInput(status="declined", occurred_at=datetime.now(UTC)),
        client_uuid=str(uuid.uuid4()),
    )
    # An exited participant's referral reminds nobody.
    gone = factories.create_participant_for(session, world, worker)
    factories.create_referral(
        session, worker, gone, service, made_at=days_ago, follow_up_on=today - timedelta(days=1)
    )
    gone.status = "exited"
    session.add(gone)
    session.commit()
    assert remind_referral_follow_ups(session=session) == 1
    assert remind_referral_follow_ups(session=session) == 0
    (row,) = session.exec(select(Notification).where(Notification.subject.like("referral:%"))).all()
    assert row.recipient_id == worker.id and row.url == f"/referrals/{due.id}"
    # Generic text: no code, no service on a lock screen.
    assert participant.code not in str(row.title) + str(row.body)
    assert service.name not in str(row.title) + str(row.body)
    # A new follow-up date reminds again, later.
    services.update_referral(
        session=session,
        actor=factories.principal(session, worker),
        referral_id=due.id,
        data=services.ReferralUpdateInput(
            status="contact_made", occurred_at=datetime.now(UTC), follow_up_on=today
        ),
        client_uuid=str(uuid.uuid4()),
    )
    session.commit()
    assert remind_referral_follow_ups(session=session) == 1


def test_the_reminder_runs_in_the_scheduler(app):
    jobs = {job.id: job for job in periodic_jobs(app)}
    assert jobs["referrals.remind_follow_ups"].func is remind_referral_follow_ups


# The sync path --------------------------------------------------------------------------------


@pytest.fixture
def worker_phone(client, session, world, login_as):
    worker = login_as("interrupter")
    participant = factories.create_participant_for(session, world, worker)
    service = factories.create_service(session, world)
    session.commit()
    return Phone(client), participant, service


def test_a_referral_from_the_phone_is_stored_once(worker_phone, session):
    phone, participant, service = worker_phone
    key = str(uuid.uuid4())
    data = referral_form(participant.id, service.id)
    first = phone.send(data, client_uuid=key, kind="referral")
    assert first.status_code == 201, first.get_json()
    again = phone.send(data, client_uuid=key, kind="referral")
    assert again.status_code == 200 and again.get_json()["status"] == "replayed"
    other = phone.send(
        data | {"consent_scope": "worker_accompanies"}, client_uuid=key, kind="referral"
    )
    assert other.status_code == 409
    assert count(session, Referral, Referral.client_uuid == key) == 1
    referral = session.exec(select(Referral).where(Referral.client_uuid == key)).one()
    assert referral.consent_scope == "service_contacts_participant"

    # Its status change from the phone, offline too: once.
    change = {
        "referral_id": str(referral.id),
        "status": "contact_made",
        "occurred_at": local(-0.5),
        "follow_up_on": (datetime.now(STOCKHOLM).date() + timedelta(days=7)).isoformat(),
    }
    update_key = str(uuid.uuid4())
    assert phone.send(change, client_uuid=update_key, kind="referral_update").status_code == 201
    assert phone.send(change, client_uuid=update_key, kind="referral_update").status_code == 200
    assert count(session, ReferralUpdate) == 1
    session.expire_all()
    assert session.get(Referral, referral.id).status == "contact_made"


def test_an_invalid_referral_is_held_and_corrected_in_the_referral_form(worker_phone, session):
    phone, participant, service = worker_phone
    held_uuid = str(uuid.uuid4())
    answer = phone.send(
        referral_form(participant.id, service.id, made_at=local(30)),
        client_uuid=held_uuid,
        kind="referral",
    )
    assert answer.status_code == 200 and answer.get_json()["status"] == "needs_correction"
    assert "made_at" in answer.get_json()["errors"]
    held = session.exec(select(HeldRecord).where(HeldRecord.client_uuid == held_uuid)).one()
    assert count(session, Referral) == 0

    page = phone.client.get("/records/held").get_data(as_text=True)
    link = re.search(rf'href="([^"]*held={held.id}[^"]*)"', page)
    assert link and link.group(1).startswith("/referrals/new"), page
    form_page = phone.client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert f'name="held_id" type="hidden" value="{held.id}"' in form_page
    assert 'data-outbox="referral"' in form_page

    fixed = referral_form(participant.id, service.id) | {"held_id": str(held.id)}
    new_uuid = str(uuid.uuid4())
    assert phone.send(fixed, client_uuid=new_uuid, kind="referral").status_code == 201
    assert count(session, Referral, Referral.client_uuid == new_uuid) == 1
    session.expire_all()
    assert session.get(HeldRecord, held.id).resolved_at is not None


def test_a_held_referral_is_corrected_through_the_online_form(worker_phone, session):
    phone, participant, service = worker_phone
    answer = phone.send(
        referral_form(participant.id, service.id, consent_given=""), kind="referral"
    )
    assert answer.get_json()["status"] == "needs_correction"
    held = session.exec(select(HeldRecord)).one()
    response = phone.client.post(
        f"/referrals/new?held={held.id}",
        data=referral_form(participant.id, service.id) | {"held_id": str(held.id)},
    )
    assert response.status_code == 303
    session.expire_all()
    assert count(session, Referral) == 1
    assert session.get(HeldRecord, held.id).resolved_at is not None


def test_a_night_walkers_referral_is_403_and_nothing_is_kept(client, session, world, login_as):
    worker = factories.create_user(session, world, "interrupter")
    participant = factories.create_participant_for(session, world, worker)
    service = factories.create_service(session, world)
    login_as("night_walker")
    phone = Phone(client)
    for kind, data in (
        ("referral", referral_form(participant.id, service.id)),
        ("referral_update", {"referral_id": "1", "status": "completed", "occurred_at": local(-1)}),
    ):
        answer = phone.send(data, kind=kind)
        assert answer.status_code == 403 and answer.get_json()["status"] == "forbidden"
    assert count(session, HeldRecord) == 0 and count(session, Referral) == 0
    assert "referral" not in phone.refresh().get_json()["kinds"]


# Routes through the client --------------------------------------------------------------------


def test_the_worker_makes_and_follows_a_referral_online(client, session, world, login_as):
    worker = login_as("interrupter")
    participant = factories.create_participant_for(session, world, worker)
    service = factories.create_service(session, world)
    session.commit()
    page = client.get(f"/referrals/new?participant={participant.id}")
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    body = page.get_data(as_text=True)
    assert f'<option selected value="{participant.id}">' in body
    # The title and the URL never carry the code.
    assert participant.code not in re.search(r"<title>(.*?)</title>", body, re.S).group(1)
    response = client.post("/referrals/new", data=referral_form(participant.id, service.id))
    assert response.status_code == 303
    referral = session.exec(select(Referral)).one()
    assert response.headers["Location"] == f"/referrals/{referral.id}"
    detail = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert participant.code in detail and service.name in detail
    session.expire_all()
    viewed = session.exec(select(AuditEvent).where(AuditEvent.event == "referral_viewed")).one()
    assert viewed.actor_id == worker.id and viewed.object_id == str(referral.id)
    assert 'data-outbox="referral_update"' in detail
    response = client.post(
        f"/referrals/{referral.id}/update",
        data={"referral_id": str(referral.id), "status": "started", "occurred_at": local(-0.2)},
    )
    assert response.status_code == 303
    session.expire_all()
    assert session.get(Referral, referral.id).status == "started"
    listing = client.get("/referrals").get_data(as_text=True)
    assert participant.code in listing
    # Refused input is shown again, nothing stored.
    bad = client.post(
        "/referrals/new", data=referral_form(participant.id, service.id, consent_given="")
    )
    assert bad.status_code == 422
    assert count(session, Referral) == 1


def test_a_supervisor_refers_from_a_participants_page_without_a_programme_long_list(
    client, session, world, login_as
):
    supervisor = login_as("supervisor")
    worker = factories.create_user(session, world, "interrupter")
    chosen = factories.create_participant_for(session, world, worker)
    other = factories.create_participant_for(session, world, worker)
    service = factories.create_service(session, world)
    session.commit()
    # The form lists the supervisor's own caseload and the one whose page it came from.
    body = client.get(f"/referrals/new?participant={chosen.id}").get_data(as_text=True)
    assert f'<option selected value="{chosen.id}">{chosen.code}</option>' in body
    assert other.code not in body
    response = client.post("/referrals/new", data=referral_form(other.id, service.id))
    assert response.status_code == 303
    assert session.exec(select(Referral)).one().made_by_id == supervisor.id
    # A participant of another programme is refused, whatever the form offered.
    outsider = factories.create_user(session, world, "interrupter", organisation="other_programme")
    foreign = factories.create_participant_for(session, world, outsider)
    session.commit()
    refused = client.post("/referrals/new", data=referral_form(foreign.id, service.id))
    assert refused.status_code == 422
    assert count(session, Referral) == 1


def test_a_colleague_and_another_programme_get_404(client, session, world, login_as, case):
    worker, participant, service = case
    referral = factories.create_referral(session, worker, participant, service)
    session.commit()
    login_as("interrupter")
    assert client.get(f"/referrals/{referral.id}").status_code == 404
    assert participant.code not in client.get("/referrals").get_data(as_text=True)
    other = factories.create_user(session, world, "supervisor", organisation="other_programme")
    session.commit()
    fresh = client.application.test_client()
    fresh.post("/login", data={"email": other.email, "password": factories.PASSWORD})
    assert fresh.get(f"/referrals/{referral.id}").status_code == 404
    assert fresh.get("/referrals/99999999").status_code == 404


def test_the_admin_keeps_the_directory_and_the_workers_read_it(client, session, world, login_as):
    login_as("admin")
    response = client.post(
        "/admin/services/new",
        data={
            "name": "Ungdomsmedling Järva",
            "kind": "youth_mediation",
            "district_ids": [str(world.districts["Järva"].id)],
            "phone": "08-508 25 000",
            "opening_hours": "Mån-fre 8-16",
            "visiting_address": "Kista gång 1",
            "active": "y",
        },
    )
    assert response.status_code == 303
    service = session.exec(select(Service)).one()
    assert client.get("/admin/services").status_code == 200
    edit = client.post(
        f"/admin/services/{service.id}/edit",
        data={"name": "Ungdomsmedling", "kind": "youth_mediation", "active": "y"},
    )
    assert edit.status_code == 303
    session.expire_all()
    assert session.get(Service, service.id).name == "Ungdomsmedling"
    assert session.get(Service, service.id).district_ids == []

    reader = client.application.test_client()
    worker = factories.create_user(session, world, "interrupter")
    session.commit()
    reader.post("/login", data={"email": worker.email, "password": factories.PASSWORD})
    page = reader.get("/services").get_data(as_text=True)
    assert "Ungdomsmedling" in page and "Kista gång 1" not in page
    assert "Mån-fre 8-16" not in page  # cleared by the edit
    # The phone keeps the directory and the referral form for the street.
    url = re.search(r'data-service-worker="([^"]+)"', reader.get("/").get_data(as_text=True))
    assert url is not None
    worker_js = reader.get(html.unescape(url.group(1))).get_data(as_text=True)
    assert '"/services"' in worker_js and '"/referrals/new"' in worker_js


def test_a_contact_with_referral_chips_offers_a_referral(client, session, world, login_as):
    worker = login_as("interrupter")
    participant = factories.create_participant_for(session, world, worker)
    session.commit()
    response = client.post(
        "/contacts/new",
        data={
            "occurred_at": local(-1),
            "location": f"place:{world.places['Rinkeby torg'].id}",
            "subject": "participant",
            "participant_id": str(participant.id),
            "kind": "street",
            "purpose": "referral",
            "referrals": ["youth_mediation"],
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert f'href="/referrals/new?participant={participant.id}"' in body
    # The chips are stored as before.
    contact = session.exec(
        select(factories.Contact).where(factories.Contact.participant_id == participant.id)
    ).one()
    assert contact.referrals == ["youth_mediation"]


def test_the_participant_page_and_the_follow_ups_show_own_referrals(
    client, session, world, login_as
):
    worker = login_as("interrupter")
    participant = factories.create_participant_for(session, world, worker)
    service = factories.create_service(session, world)
    referral = factories.create_referral(
        session,
        worker,
        participant,
        service,
        follow_up_on=datetime.now(STOCKHOLM).date() + timedelta(days=2),
    )
    session.commit()
    page = client.get(f"/participants/{participant.id}").get_data(as_text=True)
    assert f'href="/referrals/{referral.id}"' in page and service.name in page
    assert f'href="/referrals/new?participant={participant.id}"' in page
    follow_ups = client.get("/participants/follow-ups").get_data(as_text=True)
    assert f'href="/referrals/{referral.id}"' in follow_ups
    # Codes and dates only on the page the phone keeps: no service.
    assert service.name not in follow_ups


def test_a_held_referral_update_is_corrected_on_the_referral(worker_phone, session):
    phone, participant, service = worker_phone
    referral = factories.create_referral(
        session, session.get(factories.User, participant.worker_id), participant, service
    )
    session.commit()
    change = {"referral_id": str(referral.id), "status": "started", "occurred_at": local(30)}
    answer = phone.send(change, kind="referral_update")
    assert answer.get_json()["status"] == "needs_correction"
    held = session.exec(select(HeldRecord)).one()
    page = phone.client.get("/records/held").get_data(as_text=True)
    assert f"/referrals/{referral.id}?held={held.id}" in page.replace("&amp;", "&")
    form_page = phone.client.get(f"/referrals/{referral.id}?held={held.id}").get_data(as_text=True)
    assert f'name="held_id" type="hidden" value="{held.id}"' in form_page
    fixed = change | {"occurred_at": local(-0.1), "held_id": str(held.id)}
    assert phone.send(fixed, kind="referral_update").status_code == 201
    session.expire_all()
    assert session.get(Referral, referral.id).status == "started"
    assert session.get(HeldRecord, held.id).resolved_at is not None
