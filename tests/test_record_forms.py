"""The online forms and sync are one path (issue 8): a record kind's form goes through its
declaration, so a record posted by the form and the same record sent by a phone get the same
answer: stored once, the other one "already stored", other content under its UUID refused."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import select

from interrupters.records import KINDS
from interrupters.records.models import HeldRecord
from interrupters.walks.models import WalkReport

from . import test_sync
from .test_records import (
    MODELS,
    case_payload,
    count,
    local,
    make_conflict,
    stored_count,
    walk_report,
    walker_on_a_walk,
)

phone = test_sync.phone  # the fixture: a signed-in interrupter's phone

FORM_URL = {
    "contact": "/contacts/new",
    "conflict": "/conflicts/new",
    "conflict_update": "/conflicts/{conflict_id}/updates",
    "mediation": "/conflicts/{conflict_id}/mediations",
    "incident": "/conflicts/incidents/new",
    "community_response": "/conflicts/community-responses/new",
}


def _record(phone, world, kind):
    conflict_id = make_conflict(phone, world) if kind in ("conflict_update", "mediation") else 0
    return FORM_URL[kind].format(conflict_id=conflict_id), case_payload(
        kind, world, conflict_id, local(-1)
    )


def _post(client, url, data, client_uuid):
    return client.post(url, data={**data, "client_uuid": client_uuid})


@pytest.mark.parametrize("kind", list(FORM_URL))
def test_a_form_submission_then_the_same_uuid_over_sync_is_already_stored(
    phone, session, world, kind
):
    url, data = _record(phone, world, kind)
    client_uuid = str(uuid.uuid4())
    assert _post(phone.client, url, data, client_uuid).status_code == 303
    assert stored_count(session, kind, [client_uuid]) == 1
    answer = phone.send(data, client_uuid=client_uuid, kind=kind)
    assert answer.status_code == 200 and answer.get_json()["status"] == "replayed"
    # Other content under that UUID, from the phone or the form: refused, nothing changed.
    other = {**data, "occurred_at": local(-2)}
    assert phone.send(other, client_uuid=client_uuid, kind=kind).status_code == 409
    assert _post(phone.client, url, other, client_uuid).status_code == 409
    assert stored_count(session, kind, [client_uuid]) == 1


@pytest.mark.parametrize("kind", list(FORM_URL))
def test_a_record_sent_over_sync_then_posted_by_the_form_is_already_saved(
    phone, session, world, kind
):
    url, data = _record(phone, world, kind)
    client_uuid = str(uuid.uuid4())
    assert phone.send(data, client_uuid=client_uuid, kind=kind).status_code == 201
    again = _post(phone.client, url, data, client_uuid)
    assert again.status_code == 303
    assert stored_count(session, kind, [client_uuid]) == 1
    if kind == "contact":
        page = phone.client.get(again.headers["Location"]).get_data(as_text=True)
        assert "Kontakten var redan sparad." in page  # "The contact was already saved."


def test_every_record_kind_has_an_online_form_tested_here_or_with_its_domain():
    # Walk reports, receipts, referrals and the picture's records are posted by their forms
    # in their domains' tests; every kind here has its form's URL.
    elsewhere = {
        "walk_report",
        "briefing_read",
        "briefing_ack",
        "referral",
        "referral_update",
        "place_observation",
        "place_signal",
    }
    assert set(KINDS) == set(FORM_URL) | elsewhere
    assert set(MODELS) >= set(FORM_URL)


def test_the_form_settles_the_held_record_it_corrects(phone, session, world):
    held_uuid = str(uuid.uuid4())
    ahead = case_payload("incident", world, 0, local(30))
    assert phone.send(ahead, client_uuid=held_uuid, kind="incident").status_code == 200
    held = session.exec(select(HeldRecord).where(HeldRecord.client_uuid == held_uuid)).one()
    fixed = case_payload("incident", world, 0, local(-1)) | {"held_id": str(held.id)}
    # Without JavaScript: no UUID, the server makes one.
    response = phone.client.post(FORM_URL["incident"], data=fixed)
    assert response.status_code == 303
    session.expire_all()
    settled = session.get(HeldRecord, held.id)
    assert settled.resolved_at is not None and settled.resolved_as
    # The held UUID posted by the form is answered as sync answers it: still held, not stored.
    again = _post(phone.client, FORM_URL["incident"], ahead, held_uuid)
    assert again.status_code == 422
    assert stored_count(session, "incident", [held_uuid]) == 0


def test_a_form_with_an_error_is_422_not_held_and_gets_a_new_uuid(phone, session, world):
    client_uuid = str(uuid.uuid4())
    data = case_payload("incident", world, 0, local(30))  # a day ahead: refused
    response = _post(phone.client, FORM_URL["incident"], data, client_uuid)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'value="{client_uuid}"' not in page
    assert count(session, HeldRecord) == 0
    # A UUID that is not one: refused on the form, nothing stored.
    bad = _post(
        phone.client, FORM_URL["incident"], case_payload("incident", world, 0, local(-1)), "x"
    )
    assert bad.status_code == 422
    assert stored_count(session, "incident", ["x"]) == 0


def test_a_walk_report_from_the_form_then_over_sync_is_one_report(client, session, world, login_as):
    phone, walk = walker_on_a_walk(client, session, world, login_as)
    report = walk_report(walk, world.places["Rinkeby torg"])
    client_uuid = str(uuid.uuid4())
    first = _post(client, "/walks/reports/new", report, client_uuid)
    assert first.status_code == 303, first.get_data(as_text=True)
    assert (
        phone.send(report, client_uuid=client_uuid, kind="walk_report").get_json()["status"]
        == "replayed"
    )
    page = client.get(
        _post(client, "/walks/reports/new", report, client_uuid).headers["Location"]
    ).get_data(as_text=True)
    assert "Rapporten var redan inskickad." in page  # "... already filed."
    assert count(session, WalkReport) == 1
