"""The sync endpoint: every answer the phone's outbox relies on (DESIGN.md, guarantees 2-5)."""

from __future__ import annotations

import gzip
import json
import threading
import uuid
import zlib
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import event
from sqlmodel import func, select

from interrupters.audit.models import AuditEvent
from interrupters.auth import services as auth_services
from interrupters.auth.models import DeviceSession
from interrupters.contacts.models import Contact
from interrupters.db import utcnow
from interrupters.records.models import HeldRecord
from interrupters.sync import crypto

from . import factories


def count(session, model):
    session.expire_all()
    return session.exec(select(func.count()).select_from(model)).one()


@contextmanager
def statements_of(app):
    """The SQL the app's engine runs within the block, each on one line, in lower case."""
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()).lower())

    engine = app.extensions["db_engine"]
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def payload(world, **overrides):
    data = {
        "occurred_at": "2026-11-20T21:15",
        "location": f"place:{world.places['Rinkeby torg'].id}",
        "subject": "person",
        "age_band": "15-17",
        "kind": "street",
        "purpose": "check_in",
        "referrals": ["housing", "education"],
        "duration_minutes": "10",
        "note": "Calm by the square.",
    }
    data.update(overrides)
    return data


class Phone:
    """What the outbox does: fetch the config, seal each record, post it."""

    def __init__(self, client):
        self.client = client
        self.config = None

    def refresh(self):
        response = self.client.get("/sync/config", headers={"Accept": "application/json"})
        self.config = response.get_json() if response.status_code == 200 else None
        return response

    def send(self, data, *, client_uuid=None, kind="contact", envelope=None):
        if self.config is None:
            self.refresh()
        client_uuid = client_uuid or str(uuid.uuid4())
        envelope = envelope or crypto.seal(
            self.config["public_key"], data, kind=kind, client_uuid=client_uuid
        )
        return self.client.post(
            "/sync/records",
            json={"kind": kind, "client_uuid": client_uuid, "envelope": envelope},
            headers={
                "Accept": "application/json",
                "X-CSRFToken": self.config["csrf_token"],
                "Referer": "https://localhost/contacts/new",
            },
        )


@pytest.fixture
def phone(client, login_as):
    login_as("interrupter")
    return Phone(client)


def test_stored_then_replayed_is_one_contact(phone, session, world):
    key = str(uuid.uuid4())
    first = phone.send(payload(world), client_uuid=key)
    assert first.status_code == 201 and first.get_json()["status"] == "stored"
    # A replay carries a new envelope (fresh ephemeral key): the same content all the same.
    again = phone.send(payload(world), client_uuid=key)
    assert again.status_code == 200 and again.get_json()["status"] == "replayed"
    assert "no-store" in again.headers["Cache-Control"]
    assert count(session, Contact) == 1
    contact = session.exec(select(Contact)).one()
    assert contact.client_uuid == key and contact.note == "Calm by the square."


def test_same_uuid_other_content_is_409(phone, session, world):
    key = str(uuid.uuid4())
    phone.send(payload(world), client_uuid=key)
    response = phone.send(payload(world, note="Something else."), client_uuid=key)
    assert response.status_code == 409 and response.get_json()["status"] == "conflict"
    assert session.exec(select(Contact.note)).all() == ["Calm by the square."]


def test_invalid_record_is_held_for_its_author(phone, client, session, world):
    place = world.places["Rinkeby torg"]
    key = str(uuid.uuid4())
    # The place was removed after the phone cached the form.
    place.active = False
    session.add(place)
    session.commit()
    response = phone.send(payload(world), client_uuid=key)
    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "needs_correction"
    assert "location" in body["errors"]
    assert count(session, Contact) == 0
    held = session.exec(select(HeldRecord)).one()
    assert held.client_uuid == key and held.payload["note"] == "Calm by the square."
    # Replayed: the same answer, still one held record.
    assert phone.send(payload(world), client_uuid=key).get_json()["status"] == "needs_correction"
    assert count(session, HeldRecord) == 1
    # The author sees it among the contacts to correct, opens it and saves it corrected.
    assert f"/contacts/new?held={held.id}" in client.get("/contacts").get_data(as_text=True)
    form = client.get(f"/contacts/new?held={held.id}").get_data(as_text=True)
    assert "Calm by the square." in form and f'value="{held.id}"' in form
    corrected = payload(world, location=f"area:{world.areas['Rinkeby'].id}", held_id=str(held.id))
    assert client.post("/contacts/new", data=corrected).status_code == 303
    session.expire_all()
    held = session.get(HeldRecord, held.id)
    assert held.resolved_at is not None
    assert count(session, Contact) == 1
    assert f"/contacts/new?held={held.id}" not in client.get("/contacts").get_data(as_text=True)


def test_a_record_for_someone_elses_uuid_is_a_conflict(client, session, world, login_as):
    key = str(uuid.uuid4())
    first = Phone(app_client := client)
    login_as("interrupter")
    first.send(payload(world), client_uuid=key)
    other_client = app_client.application.test_client()
    login_as("interrupter", client=other_client)
    assert Phone(other_client).send(payload(world), client_uuid=key).status_code == 409


def test_envelope_cannot_be_moved_to_another_record(phone, session, world):
    phone.refresh()
    key = str(uuid.uuid4())
    envelope = crypto.seal(
        phone.config["public_key"], payload(world), kind="contact", client_uuid=key
    )
    response = phone.send(payload(world), client_uuid=str(uuid.uuid4()), envelope=envelope)
    assert response.status_code == 422 and response.get_json()["status"] == "unreadable"
    assert count(session, Contact) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "contact", "client_uuid": "not-a-uuid", "envelope": {}},
        {"kind": "nonsense", "client_uuid": str(uuid.uuid4()), "envelope": {}},
        [],
    ],
)
def test_malformed_requests_are_400(phone, body):
    phone.refresh()
    response = phone.client.post(
        "/sync/records",
        json=body,
        headers={"Accept": "application/json", "X-CSRFToken": phone.config["csrf_token"]},
    )
    assert response.status_code == 400


def test_not_signed_in_is_401_login_and_keeps_the_phone(client, world):
    response = client.get("/sync/config", headers={"Accept": "application/json"})
    assert response.status_code == 401 and response.get_json() == {"status": "login"}
    assert "Clear-Site-Data" not in response.headers


def test_expired_session_is_401_login(phone, session, world):
    phone.refresh()
    from datetime import timedelta

    from interrupters.auth.models import DeviceSession

    for device in session.exec(select(DeviceSession)):
        device.last_seen_at -= timedelta(days=2)
        session.add(device)
    session.commit()
    response = phone.send(payload(world))
    assert response.status_code == 401 and response.get_json()["status"] == "login"
    assert "Clear-Site-Data" not in response.headers
    assert count(session, Contact) == 0


def test_a_request_reads_before_it_writes_the_devices_last_seen(app, phone, session, world):
    """The loader's touch waits for the request's commit: on SQLite a first-statement write
    would hold the write lock while the batch is decrypted and checked."""
    phone.refresh()
    for device in session.exec(select(DeviceSession)):
        device.last_seen_at -= timedelta(minutes=5)
        session.add(device)
    session.commit()
    with statements_of(app) as statements:
        assert phone.send(payload(world)).status_code == 201
    writes = [i for i, s in enumerate(statements) if s.startswith(("update", "insert"))]
    touch = next(i for i, s in enumerate(statements) if s.startswith("update device_session"))
    looked_up = next(i for i, s in enumerate(statements) if "from contact" in s)
    assert looked_up < writes[0] and writes[0] <= touch
    session.expire_all()
    device = session.exec(select(DeviceSession).order_by(DeviceSession.id.desc())).first()
    assert utcnow() - device.last_seen_at < timedelta(minutes=1)


def test_revoked_device_is_told_to_wipe(phone, session, world, actor_for):
    phone.refresh()
    from interrupters.auth.models import DeviceSession

    device = session.exec(select(DeviceSession).order_by(DeviceSession.id.desc())).first()
    user = session.get(factories.User, device.user_id)
    auth_services.revoke_device(session=session, actor=actor_for(user), device_session_id=device.id)
    session.commit()
    response = phone.send(payload(world))
    assert response.status_code == 401 and response.get_json()["status"] == "revoked"
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'


def test_roles_without_contacts_are_refused_and_audited(client, session, world, login_as):
    login_as("night_walker")
    phone = Phone(client)
    assert phone.refresh().status_code == 200
    response = phone.send(payload(world))
    assert response.status_code == 403
    assert count(session, Contact) == 0 and count(session, HeldRecord) == 0


def test_missing_csrf_token_is_refused(app, world, session):
    from flask import Flask

    assert isinstance(app, Flask)
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    user = factories.create_user(session, world, "interrupter")
    session.commit()
    # Sign in with a token taken from the login form.
    import re

    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    # The test client speaks https (PREFERRED_URL_SCHEME): a same-origin Referer is required.
    signed_in = client.post(
        "/login",
        data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token},
        headers={"Referer": "https://localhost/login"},
    )
    assert signed_in.status_code == 302
    phone = Phone(client)
    phone.refresh()
    phone.config["csrf_token"] = "stale"
    assert phone.send(payload(world)).status_code == 400
    phone.refresh()
    assert phone.send(payload(world)).status_code == 201


def test_two_simultaneous_sends_create_one_contact(app, session, world):
    """Both requests race past the lookup; the unique constraint keeps one, both succeed."""
    user = factories.create_user(session, world, "interrupter")
    session.commit()
    clients = [app.test_client() for _ in range(4)]
    phones = []
    for client in clients:
        client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
        phone = Phone(client)
        phone.refresh()
        phones.append(phone)
    key = str(uuid.uuid4())
    results = []
    barrier = threading.Barrier(len(phones))

    def send(phone):
        barrier.wait()
        results.append(phone.send(payload(world), client_uuid=key).status_code)

    threads = [threading.Thread(target=send, args=(phone,)) for phone in phones]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 200, 200, 201]
    assert count(session, Contact) == 1


def test_held_records_are_audited_without_content(phone, session, world):
    place = world.places["Rinkeby torg"]
    place.active = False
    session.add(place)
    session.commit()
    phone.send(payload(world, note="A very particular note"))
    event = session.exec(select(AuditEvent).where(AuditEvent.event == "record_held")).one()
    assert "particular" not in repr(event.model_dump())


# --- The batch form: {"records": [...]}, each record answered on its own ---------------------


def sealed(phone, data, *, client_uuid=None, kind="contact"):
    """One record as the outbox puts it in a batch."""
    if phone.config is None:
        phone.refresh()
    client_uuid = client_uuid or str(uuid.uuid4())
    envelope = crypto.seal(phone.config["public_key"], data, kind=kind, client_uuid=client_uuid)
    return {"kind": kind, "client_uuid": client_uuid, "envelope": envelope}


def send_batch(phone, records):
    if phone.config is None:
        phone.refresh()
    return phone.client.post(
        "/sync/records",
        json={"records": records},
        headers={
            "Accept": "application/json",
            "X-CSRFToken": phone.config["csrf_token"],
            "Referer": "https://localhost/contacts/new",
        },
    )


def outcomes(response):
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "batch" and "no-store" in response.headers["Cache-Control"]
    return [(r["client_uuid"], r["code"], r["status"]) for r in body["results"]]


def test_config_says_how_many_records_a_request_may_carry(phone):
    assert phone.refresh().get_json()["max_batch"] >= 2


def test_config_gives_the_servers_time_for_the_phone_to_check_its_clock(phone):
    before = utcnow().timestamp() * 1000
    server_time = phone.refresh().get_json()["server_time"]
    assert isinstance(server_time, int)
    assert before - 1 <= server_time <= utcnow().timestamp() * 1000 + 1


def test_batch_replay_within_a_batch_is_one_record(phone, session, world):
    key = str(uuid.uuid4())
    # A lost answer: the phone sends the same record again in its next batch, beside others.
    other = str(uuid.uuid4())
    first = send_batch(phone, [sealed(phone, payload(world), client_uuid=key)])
    assert outcomes(first) == [(key, 201, "stored")]
    again = send_batch(
        phone,
        [
            sealed(phone, payload(world), client_uuid=key),
            sealed(phone, payload(world, note="Second."), client_uuid=other),
            # The same UUID twice in one batch (a fresh envelope each time) is one record.
            sealed(phone, payload(world, note="Second."), client_uuid=other),
        ],
    )
    assert outcomes(again) == [
        (key, 200, "replayed"),
        (other, 201, "stored"),
        (other, 200, "replayed"),
    ]
    assert count(session, Contact) == 2
    assert sorted(session.exec(select(Contact.note)).all()) == ["Calm by the square.", "Second."]


def test_batch_same_uuid_other_content_in_one_batch_is_409(phone, session, world):
    key = str(uuid.uuid4())
    response = send_batch(
        phone,
        [
            sealed(phone, payload(world), client_uuid=key),
            sealed(phone, payload(world, note="Something else."), client_uuid=key),
        ],
    )
    assert outcomes(response) == [(key, 201, "stored"), (key, 409, "conflict")]
    assert session.exec(select(Contact.note)).all() == ["Calm by the square."]


def test_batch_answers_each_record_on_its_own(phone, client, session, world):
    """Stored, held, conflict, unreadable and malformed side by side; each as if sent alone."""
    removed = world.places["Tensta centrum"]
    removed.active = False
    session.add(removed)
    session.commit()
    known = str(uuid.uuid4())
    assert phone.send(payload(world), client_uuid=known).status_code == 201
    stored, held, unreadable = (str(uuid.uuid4()) for _ in range(3))
    moved = sealed(phone, payload(world), client_uuid=str(uuid.uuid4()))
    moved["client_uuid"] = unreadable  # sealed for another UUID: nothing here can open it
    response = send_batch(
        phone,
        [
            sealed(phone, payload(world, note="New."), client_uuid=stored),
            sealed(phone, payload(world, location=f"place:{removed.id}"), client_uuid=held),
            sealed(phone, payload(world, note="Other content."), client_uuid=known),
            moved,
            {"kind": "contact", "client_uuid": "not-a-uuid", "envelope": {}},
        ],
    )
    assert outcomes(response) == [
        (stored, 201, "stored"),
        (held, 200, "needs_correction"),
        (known, 409, "conflict"),
        (unreadable, 422, "unreadable"),
        ("not-a-uuid", 400, "malformed"),
    ]
    assert "location" in response.get_json()["results"][1]["errors"]
    assert count(session, Contact) == 2
    assert session.exec(select(HeldRecord.client_uuid)).all() == [held]
    # The held record, sent again in a later batch, is the same held record.
    again = send_batch(
        phone, [sealed(phone, payload(world, location=f"place:{removed.id}"), client_uuid=held)]
    )
    assert outcomes(again) == [(held, 200, "needs_correction")]
    assert count(session, HeldRecord) == 1


def test_batch_not_signed_in_is_401_for_every_record(client, session, world):
    phone = Phone(client)
    phone.config = {"public_key": _public_key(client), "csrf_token": ""}
    response = send_batch(phone, [sealed(phone, payload(world)) for _ in range(3)])
    assert response.status_code == 401 and response.get_json() == {"status": "login"}
    assert count(session, Contact) == 0


def _public_key(client):
    from interrupters.sync.views import outbox_key

    with client.application.app_context():
        return crypto.public_key_raw(outbox_key())


def test_batch_of_a_revoked_device_is_told_to_wipe(phone, session, world, actor_for):
    phone.refresh()
    from interrupters.auth.models import DeviceSession

    device = session.exec(select(DeviceSession).order_by(DeviceSession.id.desc())).first()
    user = session.get(factories.User, device.user_id)
    auth_services.revoke_device(session=session, actor=actor_for(user), device_session_id=device.id)
    session.commit()
    response = send_batch(phone, [sealed(phone, payload(world)) for _ in range(2)])
    assert response.status_code == 401 and response.get_json()["status"] == "revoked"
    assert count(session, Contact) == 0


@pytest.mark.parametrize("records", [[], {"kind": "contact"}, "records"])
def test_batch_without_records_is_400(phone, records):
    response = send_batch(phone, records)
    assert response.status_code == 400 and response.get_json() == {"status": "malformed"}


def test_batch_larger_than_announced_is_413_and_stores_nothing(phone, session, world):
    limit = phone.refresh().get_json()["max_batch"]
    response = send_batch(phone, [sealed(phone, payload(world)) for _ in range(limit + 1)])
    assert response.status_code == 413
    assert response.get_json() == {"status": "too_large", "max_batch": limit}
    assert count(session, Contact) == 0


def post_gzipped(phone, raw: bytes, encoding: str = "gzip"):
    if phone.config is None:
        phone.refresh()
    return phone.client.post(
        "/sync/records",
        data=raw,
        headers={
            "Content-Type": "application/json",
            "Content-Encoding": encoding,
            "Accept": "application/json",
            "X-CSRFToken": phone.config["csrf_token"],
            "Referer": "https://localhost/contacts/new",
        },
    )


def test_gzipped_batch_is_stored_like_a_plain_one(phone, session, world):
    records = [sealed(phone, payload(world, note=f"Gzip {n}.")) for n in range(3)]
    body = gzip.compress(json.dumps({"records": records}).encode())
    response = post_gzipped(phone, body)
    assert outcomes(response) == [(r["client_uuid"], 201, "stored") for r in records]
    assert count(session, Contact) == 3
    # The phone sent it again (a lost answer): replayed, still three.
    assert [code for _u, code, _s in outcomes(post_gzipped(phone, body))] == [200, 200, 200]
    assert count(session, Contact) == 3


@pytest.mark.parametrize(
    ("raw", "encoding", "status"),
    [
        (b"not gzip at all", "gzip", 400),
        (gzip.compress(b"{not json"), "gzip", 400),
        (json.dumps({"records": []}).encode(), "br", 400),
        # A small upload that would inflate to 8 MB of spaces is refused before it is read.
        (gzip.compress(b"[" + b" " * 8_000_000 + b"]"), "gzip", 413),
    ],
)
def test_unreadable_or_oversized_bodies_store_nothing(phone, session, raw, encoding, status):
    response = post_gzipped(phone, raw, encoding)
    assert response.status_code == status
    assert count(session, Contact) == 0


def test_a_record_meeting_a_concurrent_send_settles_alone(phone, session, world):
    """A record of the batch meets a concurrent send of its UUID (the unique key refuses it):
    its savepoint is rolled back and it is tried again; its neighbours are not touched."""
    from dataclasses import replace
    from unittest import mock

    from sqlalchemy.exc import IntegrityError

    from interrupters.records import KINDS

    kind = KINDS["contact"]
    calls = []

    def racing(**kwargs):
        calls.append(kwargs["client_uuid"])
        if len(calls) == 2:
            raise IntegrityError("INSERT INTO contact", {}, Exception("UNIQUE constraint"))
        return kind.store(**kwargs)

    keys = [str(uuid.uuid4()) for _ in range(3)]
    records = [
        sealed(phone, payload(world, note=f"Record {i}."), client_uuid=k)
        for i, k in enumerate(keys)
    ]
    # One by one (no multi-row insert): the savepoint of each record is what is tested here.
    with mock.patch.dict(KINDS, {"contact": replace(kind, store=racing, prepare=None)}):
        response = send_batch(phone, records)
    assert outcomes(response) == [(key, 201, "stored") for key in keys]
    assert calls == [keys[0], keys[1], keys[1], keys[2]]
    assert count(session, Contact) == 3


def test_a_batch_insert_the_database_refuses_is_stored_one_by_one(phone, session, world):
    """The batch's new contacts go in at once; when the database refuses that insert (a
    concurrent send of one UUID committed first), it is rolled back and every record is
    stored on its own: each answered, each stored once."""
    from dataclasses import replace
    from unittest import mock

    from sqlalchemy.exc import IntegrityError

    from interrupters.records import KINDS
    from interrupters.records import services as record_services

    kind = KINDS["contact"]
    one_by_one = []
    real_insert = record_services._insert_rows

    def refused(session_, model, rows):
        real_insert(session_, model, rows)  # written, then refused: the rollback must undo it
        raise IntegrityError("INSERT INTO contact", {}, Exception("UNIQUE constraint"))

    def store(**kwargs):
        one_by_one.append(kwargs["client_uuid"])
        return kind.store(**kwargs)

    keys = [str(uuid.uuid4()) for _ in range(4)]
    records = [
        sealed(phone, payload(world, note=f"Record {i}."), client_uuid=k)
        for i, k in enumerate(keys)
    ]
    with (
        mock.patch.object(record_services, "_insert_rows", refused),
        mock.patch.dict(KINDS, {"contact": replace(kind, store=store)}),
    ):
        response = send_batch(phone, records)
    assert outcomes(response) == [(key, 201, "stored") for key in keys]
    assert one_by_one == keys
    assert count(session, Contact) == 4
    assert sorted(session.exec(select(Contact.client_uuid)).all()) == sorted(keys)


def test_a_batch_looks_its_uuids_up_once_and_a_held_one_is_still_answered(
    app, phone, session, world
):
    """The held records and the stored contacts are looked up in one query (issue 8); a
    record held before is answered as held, a stored one as replayed, in the same batch."""

    phone.refresh()
    held = sealed(phone, payload(world, occurred_at="2099-01-01T10:00"))
    stored = sealed(phone, payload(world, note="Stored before."))
    assert outcomes(send_batch(phone, [held, stored])) == [
        (held["client_uuid"], 200, "needs_correction"),
        (stored["client_uuid"], 201, "stored"),
    ]
    new = sealed(phone, payload(world, note="New now."))
    with statements_of(app) as statements:
        answers = outcomes(send_batch(phone, [held, stored, new]))
    assert answers == [
        (held["client_uuid"], 200, "needs_correction"),
        (stored["client_uuid"], 200, "replayed"),
        (new["client_uuid"], 201, "stored"),
    ]
    looked_up = [s for s in statements if "from held_record" in s]
    assert len(looked_up) == 2  # the look-up, and the held record's row it found
    assert "from contact" in looked_up[0]
    assert count(session, Contact) == 2 and count(session, HeldRecord) == 1


def test_a_batch_goes_in_at_once_and_its_odd_records_one_by_one(phone, session, world):
    """Valid new records are inserted together; a held one, a replay and a UUID twice in the
    batch are answered one by one, exactly as they would be alone."""
    from dataclasses import replace
    from unittest import mock

    from interrupters.records import KINDS

    kind = KINDS["contact"]
    one_by_one = []

    def store(**kwargs):
        one_by_one.append(kwargs["client_uuid"])
        return kind.store(**kwargs)

    known = str(uuid.uuid4())
    assert phone.send(payload(world, note="Sent before."), client_uuid=known).status_code == 201
    twice = str(uuid.uuid4())
    fresh = [str(uuid.uuid4()) for _ in range(3)]
    bad = str(uuid.uuid4())
    records = [
        sealed(phone, payload(world, note="New 0."), client_uuid=fresh[0]),
        sealed(phone, payload(world, note="Sent before."), client_uuid=known),
        sealed(phone, payload(world, note="Twice."), client_uuid=twice),
        sealed(phone, payload(world, group_size="1", subject="group"), client_uuid=bad),
        sealed(phone, payload(world, note="New 1."), client_uuid=fresh[1]),
        sealed(phone, payload(world, note="Twice."), client_uuid=twice),
        sealed(phone, payload(world, note="New 2."), client_uuid=fresh[2]),
    ]
    with mock.patch.dict(KINDS, {"contact": replace(kind, store=store)}):
        response = send_batch(phone, records)
    assert [(u, c) for u, c, _s in outcomes(response)] == [
        (fresh[0], 201),
        (known, 200),
        (twice, 201),
        (bad, 200),
        (fresh[1], 201),
        (twice, 200),
        (fresh[2], 201),
    ]
    assert [s for _u, _c, s in outcomes(response)][3] == "needs_correction"
    # The three fresh ones went in together; the others one by one, in order.
    assert one_by_one == [known, twice, bad, twice]
    assert count(session, Contact) == 1 + 3 + 1
    assert count(session, HeldRecord) == 1


def test_two_simultaneous_batches_of_the_same_records_store_each_once(app, session, world):
    user = factories.create_user(session, world, "interrupter")
    session.commit()
    phones = []
    for _ in range(4):
        client = app.test_client()
        client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
        phone = Phone(client)
        phone.refresh()
        phones.append(phone)
    keys = [str(uuid.uuid4()) for _ in range(3)]
    results = []
    barrier = threading.Barrier(len(phones))

    def send(phone):
        records = [sealed(phone, payload(world), client_uuid=key) for key in keys]
        barrier.wait()
        results.append(outcomes(send_batch(phone, records)))

    threads = [threading.Thread(target=send, args=(phone,)) for phone in phones]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == len(phones)
    for i, key in enumerate(keys):
        answers = sorted((r[i][1], r[i][2]) for r in results)
        assert [r[i][0] for r in results] == [key] * len(phones)
        assert answers == [(200, "replayed")] * 3 + [(201, "stored")]
    assert count(session, Contact) == 3


# The compact envelope (version 2): deflated, with the key as a compressed point ----------


def test_a_compact_envelope_is_smaller_and_stored_like_the_first_version(phone, session, world):
    public = phone.refresh().get_json()["public_key"]
    data = payload(world, note="Talked about the weekend by the square; the group was calm.")
    plain = crypto.seal(public, data, kind="contact", client_uuid=str(uuid.uuid4()))
    compact = crypto.seal(public, data, kind="contact", client_uuid=str(uuid.uuid4()), compact=True)
    assert compact["v"] == 2 and len(json.dumps(compact)) < 0.75 * len(json.dumps(plain))
    key = str(uuid.uuid4())
    envelope = crypto.seal(public, data, kind="contact", client_uuid=key, compact=True)
    assert phone.send(data, client_uuid=key, envelope=envelope).status_code == 201
    assert phone.send(data, client_uuid=key, envelope=envelope).status_code == 200
    assert count(session, Contact) == 1


def test_a_compact_envelope_that_inflates_too_far_is_unreadable(app):
    """A deflated record is inflated to at most MAX_PLAIN: a bomb is refused, not inflated."""
    key = crypto.load_or_create_key(Path(app.instance_path))
    client_uuid = str(uuid.uuid4())
    envelope = crypto.seal(
        crypto.public_key_raw(key),
        {"note": "x"},
        kind="contact",
        client_uuid=client_uuid,
        compact=True,
    )
    assert crypto.open_envelope(key, envelope, kind="contact", client_uuid=client_uuid) == {
        "note": "x"
    }
    # Re-encrypt a bomb under the same ephemeral key: what the phone could send.
    ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), crypto.unb64url(envelope["epk"])
    )
    raw = ephemeral.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    aes = AESGCM(crypto._aes_key(key.exchange(ec.ECDH(), ephemeral), raw))
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    bomb = deflater.compress(b'{"note": "' + b"x" * 10_000_000 + b'"}') + deflater.flush()
    iv = bytes(12)
    envelope = envelope | {
        "iv": crypto.b64url(iv),
        "ct": crypto.b64url(aes.encrypt(iv, bomb, crypto.associated_data("contact", client_uuid))),
    }
    with pytest.raises(crypto.UnreadableEnvelope):
        crypto.open_envelope(key, envelope, kind="contact", client_uuid=client_uuid)


CONTACT_VARIANTS = [
    {},
    {"subject": "group", "group_size": "5", "age_band": "18-20", "gender": "male"},
    {"age_band": "<15", "gender": "female", "follow_up_on": "2026-12-01"},
    {"referrals": ["education", "housing", "education"], "duration_minutes": ""},
    {"note": "Tab\tand\x00a NUL, then\r\nnew line.  ", "kind": "phone"},
    {"location": None, "note": ""},
]


def test_a_contact_inserted_with_its_batch_is_the_row_it_would_be_alone(phone, session, world):
    """The multi-row insert writes exactly the row the one-by-one path writes."""
    location = f"area:{world.places['Rinkeby torg'].area_id}"
    variants = [
        {**variant, "location": location} if "location" in variant else variant
        for variant in CONTACT_VARIANTS
    ]
    alone = [str(uuid.uuid4()) for _ in variants]
    together = [str(uuid.uuid4()) for _ in variants]
    for key, variant in zip(alone, variants, strict=True):
        assert phone.send(payload(world, **variant), client_uuid=key).status_code == 201
    response = send_batch(
        phone,
        [
            sealed(phone, payload(world, **variant), client_uuid=key)
            for key, variant in zip(together, variants, strict=True)
        ],
    )
    assert [code for _u, code, _s in outcomes(response)] == [201] * len(variants)
    session.expire_all()
    rows = {c.client_uuid: c.model_dump() for c in session.exec(select(Contact)).all()}
    for one, batched in zip(alone, together, strict=True):
        first, second = rows[one], rows[batched]
        for column in ("id", "client_uuid", "received_at", "updated_at"):
            first.pop(column), second.pop(column)
        assert second == first


def test_a_batch_check_the_database_refuses_is_stored_one_by_one(phone, session, world):
    """A read of the batch's checks fails in the database (PostgreSQL then refuses the rest of
    the transaction): the batch goes one by one, each record with its own answer."""
    from dataclasses import replace
    from unittest import mock

    from sqlalchemy import text

    from interrupters.records import KINDS

    kind = KINDS["contact"]
    assert kind.prepare is not None
    prepare = kind.prepare
    calls = []

    def failing(**kwargs):
        calls.append(kwargs["client_uuid"])
        if len(calls) == 2:
            # A statement the database refuses, as a value out of range would be.
            kwargs["session"].execute(text("SELECT no_such_column FROM contact"))
        return prepare(**kwargs)

    keys = [str(uuid.uuid4()) for _ in range(3)]
    records = [
        sealed(phone, payload(world, note=f"Record {i}."), client_uuid=k)
        for i, k in enumerate(keys)
    ]
    with mock.patch.dict(KINDS, {"contact": replace(kind, prepare=failing)}):
        response = send_batch(phone, records)
    assert outcomes(response) == [(key, 201, "stored") for key in keys]
    assert calls == keys[:2]
    assert count(session, Contact) == 3


def test_a_batch_s_form_follows_places_changed_since_the_last_batch(phone, session, world):
    """The contact form kept by the process between batches (contacts.records._KEPT) answers
    as a fresh one would once a place is retired or added, here or on another host."""
    from interrupters.places.models import Place

    square = world.places["Rinkeby torg"]
    at_square = payload(world)
    first = outcomes(send_batch(phone, [sealed(phone, at_square) for _ in range(2)]))
    assert [code for _u, code, _s in first] == [201, 201]

    square.active = False
    new_place = Place(area_id=square.area_id, name="Ny plats", type="square")
    session.add_all([square, new_place])
    session.commit()

    at_new = payload(world, location=f"place:{new_place.id}")
    second = outcomes(
        send_batch(
            phone,
            [sealed(phone, at_square), sealed(phone, at_square)]
            + [sealed(phone, at_new) for _ in range(2)],
        )
    )
    assert [code for _u, code, _s in second] == [200, 200, 201, 201]
    assert [status for _u, _c, status in second][:2] == ["needs_correction"] * 2
