"""One path for every record a phone sends (issue 8): declared once, never stranded.

Every kind held, shown to its author, corrected and stored once, or discarded and audited;
a poisoned record answered on its own; roles refused before anything is read; codes that do
not collide under concurrency.
"""

from __future__ import annotations

import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import func, select

from interrupters.audit.models import AuditEvent
from interrupters.auth.models import User
from interrupters.briefings.models import Briefing, BriefingReceipt
from interrupters.briefings.services import publish_briefing
from interrupters.conflicts.models import (
    CommunityResponse,
    Conflict,
    ConflictEvent,
    Incident,
    Mediation,
)
from interrupters.contacts.models import Contact
from interrupters.picture.models import PlaceObservation
from interrupters.places.models import Place
from interrupters.push.models import Notification
from interrupters.records import KINDS, batch_get, batch_scope
from interrupters.records import services as records_services
from interrupters.records.models import HeldRecord
from interrupters.records.services import Incoming, Outcome
from interrupters.walks.models import WalkReport, WalkSignup

from . import factories
from .test_sync import Phone, outcomes, payload, sealed, send_batch

STOCKHOLM = ZoneInfo("Europe/Stockholm")
# The line every page shows while the person has records waiting for correction.
BANNER = 'role="status"><a href="/records/held"'


def count(session, model, *where):
    session.expire_all()
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def local(hours: float) -> str:
    return (datetime.now(STOCKHOLM) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def conflict_form(world, **overrides):
    return {
        "occurred_at": local(-1),
        "location": f"place:{world.places['Rinkeby torg'].id}",
        "risk_level": "2",
        "type": "group_vs_group",
        "parties_count": "2",
        "party_labels": "the older group",
        "detected_via": "street",
        "catalyst": "territory",
        "weapon": "none_known",
        "note": "Tension by the square.",
    } | overrides


@pytest.fixture
def worker_phone(client, login_as):
    user = login_as("interrupter")
    return Phone(client), user


def make_conflict(phone, world) -> int:
    answer = phone.send(conflict_form(world), kind="conflict")
    assert answer.status_code == 201, answer.get_json()
    return int(
        phone.client.application.extensions["db_engine"]
        .connect()
        .exec_driver_sql("SELECT max(id) FROM conflict")
        .scalar()
    )


# Every kind, held and corrected -----------------------------------------------------------

# (kind, the model it lands in, a payload the server holds (a time a day ahead), the fix)
CASE_KINDS = ["contact", "conflict", "conflict_update", "mediation", "incident"]
CASE_KINDS += ["community_response"]
MODELS = {
    "contact": Contact,
    "conflict": Conflict,
    "conflict_update": ConflictEvent,
    "mediation": Mediation,
    "incident": Incident,
    "community_response": CommunityResponse,
    "walk_report": WalkReport,
}


def case_payload(kind, world, conflict_id, when):
    area = f"area:{world.areas['Rinkeby'].id}"
    return {
        "contact": lambda: payload(world, occurred_at=when),
        "conflict": lambda: conflict_form(world, occurred_at=when),
        "conflict_update": lambda: {
            "conflict_id": str(conflict_id),
            "occurred_at": when,
            "text": "They talked it over.",
        },
        "mediation": lambda: {
            "conflict_id": str(conflict_id),
            "occurred_at": when,
            "strategies": ["de_escalate"],
            "outcome": "temporarily_resolved",
        },
        "incident": lambda: {
            "occurred_at": when,
            "type": "threat",
            "location": area,
            "response": "none",
        },
        "community_response": lambda: {
            "occurred_at": when,
            "kind": "vigil",
            "location": area,
        },
    }[kind]()


def url_path(phone, endpoint):
    """The path an endpoint's URL starts with (before its own arguments)."""
    rule = next(phone.client.application.url_map.iter_rules(endpoint))
    return rule.rule.split("<")[0]


def stored_count(session, kind, client_uuids):
    model = MODELS[kind]
    return count(session, model, model.client_uuid.in_(client_uuids))


@pytest.mark.parametrize("kind", CASE_KINDS)
def test_every_case_kind_is_held_shown_corrected_and_stored_once(
    worker_phone, session, world, kind
):
    phone, _user = worker_phone
    conflict_id = make_conflict(phone, world) if kind in ("conflict_update", "mediation") else 0
    held_uuid = str(uuid.uuid4())
    # One payload, sent again below: the same record, whatever minute the clock has moved to.
    ahead = case_payload(kind, world, conflict_id, local(30))
    answer = phone.send(ahead, client_uuid=held_uuid, kind=kind)
    assert answer.status_code == 200 and answer.get_json()["status"] == "needs_correction"
    assert "occurred_at" in answer.get_json()["errors"]
    held = session.exec(select(HeldRecord).where(HeldRecord.client_uuid == held_uuid)).one()
    assert stored_count(session, kind, [held_uuid]) == 0

    # Shown to its author with the reason, reachable from every page, with the correction link.
    page = phone.client.get("/records/held").get_data(as_text=True)
    link = re.search(rf'href="([^"]*held={held.id}[^"]*)"', page)
    assert link, page
    assert link.group(1).startswith(url_path(phone, KINDS[kind].correct))
    # Every page says that something waits, with a link to the list.
    assert 'role="status"><a href="/records/held"' in phone.client.get("/conflicts/").get_data(
        as_text=True
    )
    form_page = phone.client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert f'name="held_id" type="hidden" value="{held.id}"' in form_page

    # Corrected: a new UUID, the held record named; stored once, however often it arrives.
    fixed = case_payload(kind, world, conflict_id, local(-1)) | {"held_id": str(held.id)}
    new_uuid = str(uuid.uuid4())
    assert phone.send(fixed, client_uuid=new_uuid, kind=kind).status_code == 201
    assert phone.send(fixed, client_uuid=new_uuid, kind=kind).status_code == 200
    assert stored_count(session, kind, [new_uuid]) == 1
    session.expire_all()
    assert session.get(HeldRecord, held.id).resolved_at is not None
    assert 'class="card"' not in phone.client.get("/records/held").get_data(as_text=True)
    assert 'role="status"><a href="/records/held"' not in phone.client.get("/conflicts/").get_data(
        as_text=True
    )
    # The original again is still "needs correction", never a second record.
    again = phone.send(ahead, client_uuid=held_uuid, kind=kind)
    assert again.get_json()["status"] == "needs_correction"
    assert stored_count(session, kind, [held_uuid]) == 0


def walker_on_a_walk(client, session, world, login_as):
    """A night walker signed in, signed up to a walk that began four hours ago: (phone, walk)."""
    lead = factories.create_user(session, world, "association_lead")
    member = login_as("night_walker")
    walk = factories.create_walk(
        session, world, lead, planned_start=datetime.now(UTC) - timedelta(hours=4)
    )
    session.add(WalkSignup(walk_id=walk.id, user_id=member.id))
    session.commit()
    return Phone(client), walk


def walk_report(walk, place):
    return {
        "walk_id": str(walk.id),
        "places_visited": [str(place.id)],
        "youths_met": "26-50",
        "atmosphere": "lively",
    }


def test_a_walk_report_and_an_acknowledgement_are_held_and_listed(client, session, world, login_as):
    phone, walk = walker_on_a_walk(client, session, world, login_as)
    report = walk_report(walk, world.places["Bredängs centrum"])
    assert phone.send(report, kind="walk_report").get_json()["status"] == "needs_correction"
    ack = phone.send({"briefing_id": "999999"}, kind="briefing_ack")
    assert ack.get_json()["status"] == "needs_correction"
    page = client.get("/records/held").get_data(as_text=True)
    assert len(re.findall(r'class="card"', page)) == 2
    assert "/walks/reports/new?held=" in page and "/briefings/999999?held=" in page
    assert count(session, WalkReport) == 0 and count(session, BriefingReceipt) == 0


def test_a_held_record_is_discarded_and_audited_only_by_its_author(
    app, worker_phone, session, world, login_as
):
    phone, user = worker_phone
    phone.send(payload(world, occurred_at=local(30)))
    held = session.exec(select(HeldRecord)).one()
    other = app.test_client()
    login_as("interrupter", client=other)
    assert other.get(f"/records/held/{held.id}").status_code == 404
    assert other.post(f"/records/held/{held.id}/discard").status_code == 404
    response = phone.client.post(f"/records/held/{held.id}/discard")
    assert response.status_code == 303
    session.expire_all()
    assert session.get(HeldRecord, held.id).resolved_as == "discarded"
    event = session.exec(
        select(AuditEvent).where(AuditEvent.event == "held_record_discarded")
    ).one()
    assert event.actor_id == user.id and event.object_type == "contact"
    assert 'class="card"' not in phone.client.get("/records/held").get_data(as_text=True)


def test_the_supervisor_sees_who_has_records_waiting(app, worker_phone, session, world, login_as):
    phone, user = worker_phone
    phone.send(payload(world, occurred_at=local(30)))
    phone.send(payload(world, occurred_at=local(40)))
    supervisor = app.test_client()
    login_as("supervisor", client=supervisor)
    page = supervisor.get("/records/held/team").get_data(as_text=True)
    assert user.display_name in page and "<td>2</td>" in page
    outsider = app.test_client()
    login_as("supervisor", client=outsider, organisation="other_programme")
    assert user.display_name not in outsider.get("/records/held/team").get_data(as_text=True)


@pytest.mark.parametrize("kind", ["conflict", "conflict_update"])
def test_a_held_raise_to_level_four_alerts_the_supervisor(
    app, worker_phone, session, world, login_as, kind
):
    phone, _user = worker_phone
    supervisor = factories.create_user(session, world, "supervisor")
    outsider = factories.create_user(session, world, "supervisor", organisation="other_programme")
    session.commit()
    conflict_id = make_conflict(phone, world) if kind == "conflict_update" else 0
    data = case_payload(kind, world, conflict_id, local(30)) | {"risk_level": "4"}
    answer = phone.send(data, kind=kind)
    assert answer.get_json()["status"] == "needs_correction"
    alerts = session.exec(select(Notification).where(Notification.kind == "escalation_held")).all()
    assert [a.recipient_id for a in alerts] == [supervisor.id]
    assert outsider.id not in {a.recipient_id for a in alerts}
    assert alerts[0].requires_ack
    # Generic text: no place, no label.
    text = str(alerts[0].title) + str(alerts[0].body)
    assert "Rinkeby" not in text and "older group" not in text


# Refused before validation -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["contact", "conflict", "mediation"])
def test_a_night_walkers_case_records_are_403_and_nothing_is_kept(
    client, session, world, login_as, kind
):
    login_as("night_walker")
    phone = Phone(client)
    data = {"contact": payload(world), "conflict": conflict_form(world)}.get(
        kind, {"conflict_id": "1", "occurred_at": local(-1), "outcome": "unresolved"}
    )
    answer = phone.send(data, kind=kind)
    assert answer.status_code == 403 and answer.get_json()["status"] == "forbidden"
    # Invalid content is refused the same way: it is never read, so never held.
    answer = phone.send({"nonsense": ["x"] * 3}, kind=kind)
    assert answer.status_code == 403
    assert count(session, HeldRecord) == 0 and count(session, MODELS[kind]) == 0
    assert kind not in phone.refresh().get_json()["kinds"]


# One poisoned record, its own answer --------------------------------------------------------


@pytest.mark.parametrize(
    ("poison", "answer"),
    [
        # A NUL in a note is cleaned and the contact stored; in a choice it is refused: held.
        ({"note": "Calm\x00 by the square."}, (201, "stored")),
        ({"kind": "street\x00"}, (200, "needs_correction")),
        # A megabyte of text is more than any field holds: held, cut to what a field may hold.
        ({"note": "x" * 1_000_000}, (200, "needs_correction")),
        # A list where one value belongs.
        ({"kind": ["street", "phone"]}, (200, "needs_correction")),
        # An id past what the database holds.
        ({"location": "place:99999999999999999999"}, (200, "needs_correction")),
        ({"duration_minutes": "99999999999999999999"}, (200, "needs_correction")),
        # A date the calendar cannot hold.
        ({"occurred_at": "0001-01-01T00:00"}, (200, "needs_correction")),
        ({"follow_up_on": "9999-12-31"}, (200, "needs_correction")),
    ],
    ids=[
        "nul-note",
        "nul-choice",
        "megabyte",
        "list",
        "huge-id",
        "huge-int",
        "year-1",
        "year-9999",
    ],
)
def test_one_poisoned_record_in_a_batch_of_50_gets_its_own_answer(
    worker_phone, session, world, poison, answer
):
    phone, _user = worker_phone
    batch = [sealed(phone, payload(world, note=f"Calm evening {i}.")) for i in range(49)]
    batch.insert(17, sealed(phone, payload(world) | poison))
    answers = outcomes(send_batch(phone, batch))
    assert answers[17][1:] == answer
    assert [a[1:] for a in answers[:17] + answers[18:]] == [(201, "stored")] * 49
    assert count(session, Contact) == 49 + (answer[0] == 201)
    if poison.get("note", "").startswith("Calm\x00"):
        stored = session.exec(select(Contact).where(Contact.note.like("Calm by%"))).one()
        assert stored.note == "Calm by the square."


def test_a_batch_answers_each_record_it_inserted_at_once_with_its_own_row(app, session, world):
    """The batch's insert gives each new record its id (RETURNING on SQLite, a look-up after
    the insert on PostgreSQL): the id answered is the row stored under the record's UUID."""
    user = factories.create_user(session, world, "interrupter")
    actor = factories.principal(session, user)
    session.commit()
    incoming = [
        Incoming(
            kind="contact",
            client_uuid=str(uuid.uuid4()),
            payload=payload(world, note=f"Calm evening {i}.", duration_minutes=str(i)),
        )
        for i in range(12)
    ]
    with app.test_request_context():
        received = records_services.receive(session=session, actor=actor, records=incoming)
    session.commit()
    assert [answer.outcome for answer in received] == [Outcome.stored] * 12
    for record, answer in zip(incoming, received, strict=True):
        contact = session.get(Contact, answer.record_id)
        assert contact is not None and contact.client_uuid == record.client_uuid
        assert contact.note == record.payload["note"]


# Codes without collisions ---------------------------------------------------------------------


def test_twenty_conflicts_flagged_at_once_get_twenty_codes(app, session, world):
    user = factories.create_user(session, world, "interrupter")
    session.commit()
    phones = []
    for _ in range(20):
        client = app.test_client()
        client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
        phone = Phone(client)
        phone.refresh()
        phones.append(phone)
    barrier = threading.Barrier(len(phones))
    statuses = []

    def flag(phone):
        envelope = sealed(phone, conflict_form(world), kind="conflict")
        barrier.wait()
        response = send_batch(phone, [envelope])
        statuses.append(response.get_json()["results"][0]["code"])

    threads = [threading.Thread(target=flag, args=(phone,)) for phone in phones]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 20
    session.expire_all()
    codes = session.exec(select(Conflict.code)).all()
    assert len(codes) == 20 and len(set(codes)) == 20
    assert sorted(codes) == [f"C-{n:04d}" for n in range(1, 21)]


def test_every_record_keeps_the_phones_time_and_the_servers(worker_phone, session, world):
    phone, _user = worker_phone
    conflict_id = make_conflict(phone, world)
    for kind in ("mediation", "incident", "community_response"):
        assert (
            phone.send(case_payload(kind, world, conflict_id, local(-3)), kind=kind).status_code
            == 201
        )
    session.expire_all()
    for model in (Mediation, Incident, CommunityResponse):
        row = session.exec(select(model)).one()
        assert row.received_at - row.occurred_at > timedelta(hours=2)


def test_a_settled_held_record_keeps_no_content(worker_phone, session, world):
    phone, _user = worker_phone
    key = str(uuid.uuid4())
    held_payload = payload(world, occurred_at=local(30), note="A particular note.")
    phone.send(held_payload, client_uuid=key)
    held = session.exec(select(HeldRecord)).one()
    assert held.payload["note"] == "A particular note."
    phone.client.post(f"/records/held/{held.id}/discard")
    session.expire_all()
    assert session.get(HeldRecord, held.id).payload == {}
    # The original again is still the same held record: answered, never stored.
    again = phone.send(held_payload, client_uuid=key)
    assert again.get_json()["status"] == "needs_correction"
    assert count(session, Contact) == 0


def test_an_acknowledgement_from_a_phone_72_hours_ahead_keeps_both_times(
    client, session, world, login_as
):
    from interrupters.briefings.models import Acknowledgement

    author = factories.create_user(session, world, "briefing_author")
    factories.serve(session, world, "association")
    briefing = factories.create_briefing(session, world, author, publish=True)
    session.commit()
    login_as("night_walker")
    ahead = datetime.now(STOCKHOLM) + timedelta(hours=72)
    answer = Phone(client).send(
        {"briefing_id": str(briefing.id), "at": ahead.strftime("%Y-%m-%dT%H:%M")},
        kind="briefing_ack",
    )
    assert answer.status_code == 201
    receipt = session.exec(select(BriefingReceipt)).one()
    # The phone's time as it said, the server's receipt beside it; the acknowledgement counts
    # from when it arrived, never from a time that has not come.
    assert receipt.at - receipt.received_at > timedelta(hours=71)
    acknowledgement = session.exec(select(Acknowledgement)).one()
    assert acknowledgement.acknowledged_at == receipt.received_at


def test_the_control_characters_cleaned_are_exactly_unicodes_but_newline_and_tab():
    """clean_payload finds control characters with one regular expression: the same set as
    Unicode's category Cc, newline and tab kept."""
    import unicodedata

    from interrupters.records.services import _CONTROLS

    for code in range(0x110000):
        char = chr(code)
        expected = unicodedata.category(char) == "Cc" and char not in "\n\t"
        assert bool(_CONTROLS.fullmatch(char)) == expected, hex(code)


def test_a_busy_database_is_answered_busy_and_nothing_is_held(
    worker_phone, session, world, monkeypatch
):
    # A deadlock or a lock that timed out is the database's state, not the record's fault:
    # the phone keeps the record and sends it again; nothing waits "for correction".
    from dataclasses import replace

    from sqlalchemy.exc import OperationalError

    from interrupters.records import KINDS as kinds

    def deadlocked(**_kwargs):
        raise OperationalError("UPDATE ...", {}, Exception("deadlock detected"))

    monkeypatch.setitem(
        kinds, "conflict", replace(kinds["conflict"], store=deadlocked, prepare=None)
    )
    phone, _user = worker_phone
    answer = phone.send(conflict_form(world), kind="conflict")
    assert answer.status_code == 503, answer.get_json()
    assert count(session, HeldRecord) == 0
    assert count(session, Conflict) == 0


def test_a_batch_looks_a_row_up_once_and_outside_a_batch_every_time(session, world, monkeypatch):
    """The rows each record of a batch names again (its place, area, participant) come from
    the batch's memory after the first look-up; outside a batch each look-up is the
    session's own (a form request sees the rows as they are now)."""
    place = world.places["Rinkeby torg"]
    looked: list[object] = []
    get = session.get

    def counted(model, ident, *args, **kwargs):
        looked.append((model, ident))
        return get(model, ident, *args, **kwargs)

    monkeypatch.setattr(session, "get", counted)
    with batch_scope():
        assert batch_get(session, Place, place.id) is place
        assert batch_get(session, Place, place.id) is place
        assert batch_get(session, Place, 10**8) is None
        assert batch_get(session, Place, 10**8) is None
    assert looked == [(Place, place.id), (Place, 10**8)]
    batch_get(session, Place, place.id)
    batch_get(session, Place, place.id)
    assert len(looked) == 4


# The other kinds: each with its own sender, its own reason to be held and its own fix --------


def other_case(kind, client, session, world, login_as):
    """(phone, a payload the server holds, the payload that corrects it, what is checked
    once the fix is stored) for a kind outside CASE_KINDS (referrals: tests/test_referrals.py)."""
    if kind == "walk_report":
        phone, walk = walker_on_a_walk(client, session, world, login_as)
        # A place outside the walk's district, then one inside it.
        held = walk_report(walk, world.places["Bredängs centrum"])
        fixed = walk_report(walk, world.places["Tensta centrum"])
        return phone, held, fixed, lambda: count(session, WalkReport) == 1
    if kind == "place_observation":
        factories.serve(session, world, "municipal")
        session.commit()
        login_as("briefing_author")
        fields = {
            "observed_at": local(-0.25),
            "kind": "tension_between_groups",
            "severity": "2",
            "source": "field_assistants",
            "note": "Two groups by the stairs",
        }
        held = fields | {"place_id": str(world.places["Bredängs centrum"].id)}
        fixed = fields | {"place_id": str(world.places["Rinkeby torg"].id)}
        return Phone(client), held, fixed, lambda: count(session, PlaceObservation) == 1
    if kind == "place_signal":
        login_as("interrupter")
        fields = {
            "place_id": str(world.places["Rinkeby torg"].id),
            "kind": "tension_between_groups",
            "severity": "2",
        }
        held, fixed = fields | {"observed_at": local(30)}, fields | {"observed_at": local(-0.1)}
        return Phone(client), held, fixed, lambda: count(session, PlaceObservation) == 1
    # A read or an acknowledgement of a briefing the reader cannot see yet (a draft), sent
    # again once it is published.
    factories.serve(session, world, "municipal")
    author = factories.create_user(session, world, "briefing_author")
    briefing = factories.create_briefing(session, world, author)
    login_as("interrupter")
    receipt = {"briefing_id": str(briefing.id), "at": local(-0.1)}

    receipt_kind = {"briefing_read": "read", "briefing_ack": "acknowledged"}[kind]
    return (
        Phone(client),
        receipt,
        dict(receipt),
        lambda: count(session, BriefingReceipt, BriefingReceipt.kind == receipt_kind) == 1,
    )


OTHER_KINDS = ["walk_report", "place_observation", "place_signal", "briefing_read", "briefing_ack"]


def test_every_kind_is_in_a_held_and_corrected_test():
    """A new kind joins one of the tests of its held records, or this fails."""
    assert set(CASE_KINDS) | set(OTHER_KINDS) | {"referral", "referral_update"} == set(KINDS)


@pytest.mark.parametrize("kind", OTHER_KINDS)
def test_every_other_kind_is_held_shown_corrected_and_stored_once(
    client, session, world, login_as, kind
):
    phone, held_payload, fixed_payload, stored = other_case(kind, client, session, world, login_as)
    held_uuid = str(uuid.uuid4())
    answer = phone.send(held_payload, client_uuid=held_uuid, kind=kind)
    assert answer.status_code == 200 and answer.get_json()["status"] == "needs_correction"
    held = session.exec(select(HeldRecord).where(HeldRecord.client_uuid == held_uuid)).one()

    # Shown to its author with the reason and a link to the form that corrects it, which
    # names the held record (so the corrected record settles it).
    page = phone.client.get("/records/held").get_data(as_text=True)
    link = re.search(rf'href="([^"]*held={held.id}[^"]*)"', page)
    assert link, page
    assert link.group(1).startswith(url_path(phone, KINDS[kind].correct))
    if kind.startswith("briefing_"):
        briefing = session.get(Briefing, int(held_payload["briefing_id"]))
        publish_briefing(
            session=session,
            actor=factories.principal(session, session.get(User, briefing.author_id)),
            briefing_id=briefing.id,
        )
        session.commit()
    form_page = phone.client.get(link.group(1).replace("&amp;", "&"))
    assert form_page.status_code == 200
    assert f'name="held_id" type="hidden" value="{held.id}"' in form_page.get_data(as_text=True)

    # Corrected: a new UUID, the held record named; stored once, however often it arrives.
    fixed = fixed_payload | {"held_id": str(held.id)}
    new_uuid = str(uuid.uuid4())
    assert phone.send(fixed, client_uuid=new_uuid, kind=kind).status_code == 201
    assert phone.send(fixed, client_uuid=new_uuid, kind=kind).status_code == 200
    assert stored()
    session.expire_all()
    assert session.get(HeldRecord, held.id).resolved_at is not None
    assert 'class="card"' not in phone.client.get("/records/held").get_data(as_text=True)
    # The original again is still "needs correction", never a second record.
    again = phone.send(held_payload, client_uuid=held_uuid, kind=kind)
    assert again.get_json()["status"] == "needs_correction"
    assert stored()


def test_a_record_of_another_kind_never_settles_a_held_one(worker_phone, session, world):
    """A held level-4 flag waits for its own correction, whatever held_id a contact names."""
    phone, _user = worker_phone
    flag = conflict_form(world, occurred_at=local(30), risk_level="4")
    assert phone.send(flag, kind="conflict").get_json()["status"] == "needs_correction"
    held = session.exec(select(HeldRecord).where(HeldRecord.kind == "conflict")).one()
    contact = payload(world) | {"held_id": str(held.id)}
    assert phone.send(contact, kind="contact").status_code == 201
    session.expire_all()
    assert session.get(HeldRecord, held.id).resolved_at is None
    # Its own kind settles it.
    fixed = conflict_form(world, risk_level="4") | {"held_id": str(held.id)}
    assert phone.send(fixed, kind="conflict").status_code == 201
    session.expire_all()
    assert session.get(HeldRecord, held.id).resolved_at is not None
