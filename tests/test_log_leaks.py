"""Logs never hold personal data, under any path (issue 14, item 3; DESIGN.md, Security).

Planted participant codes, notes, e-mail addresses, passwords, tokens and push endpoints go
through every route of the app (GET with a query string, POST with valid and with hostile
forms), the phone's sync endpoint (sealed records, a held one, malformed ones), sign-in with a
wrong password until the throttle answers, and forced server errors whose messages carry the
planted values. Everything logged, at DEBUG, by every logger (the root, werkzeug, SQLAlchemy's
engine and pool, Flask-WTF, gunicorn's) is captured as the app's handlers write it, in JSON and
in text, and searched: none of the planted values may be there. The records' own messages are
searched too, before the last-line filter, so the filter is not what keeps them out.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from interrupters import logs
from interrupters.contacts import services as contact_services
from interrupters.db import get_session
from interrupters.identifying import CODE_ALPHABET
from interrupters.sync import crypto

from . import factories
from .test_access_matrix import (
    JSON_POSTS,
    Records,
    app_rules,
    make_records,
    methods_of,
    ordered,
    post_data,
    sign_in,
    url_of,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
CAPTURED_LOGGERS = (
    "",
    "interrupters",
    "werkzeug",
    "flask_wtf.csrf",
    "sqlalchemy.engine",
    "sqlalchemy.pool",
    "gunicorn.error",
    "gunicorn.access",
)
# Fields of the app's forms that take free text: the planted note goes into each.
FREE_TEXT = (
    "note",
    "notes",
    "text",
    "comment",
    "summary",
    "description",
    "party_labels",
    "label",
    "title",
    "body",
    "reason",
    "observations",
    "actions",
    "safety_reminders",
    "expected_events",
    "on_call",
    "name",
    "display_name",
    "device_label",
)


def planted_code() -> str:
    # At least one letter past F, so hex (request ids) never spells it by chance.
    letters = [c for c in CODE_ALPHABET if c.isalpha() and c > "F"]
    return "P-" + secrets.choice(letters) + "".join(secrets.choice(CODE_ALPHABET) for _ in "abc")


@dataclass
class Planted:
    code: str = field(default_factory=planted_code)
    note: str = field(default_factory=lambda: f"plantednote{uuid.uuid4().hex[:16]}")
    email: str = field(default_factory=lambda: f"planted.{uuid.uuid4().hex[:12]}@example.org")
    password: str = field(default_factory=lambda: f"plantedpw-{uuid.uuid4().hex[:16]}")
    endpoint_token: str = field(default_factory=lambda: f"plantedpush{uuid.uuid4().hex[:16]}")
    # What the app itself holds: the participant's code, a contact's note, a party label, the
    # signed-in person's address, an invitation token.
    real: list[str] = field(default_factory=list)

    def hostile(self) -> str:
        return f"{self.code} {self.email} {self.note}"

    def needles(self) -> list[str]:
        found = [self.code, self.code.replace("-", ""), self.note, self.email, self.password]
        found += [self.email.split("@")[0], self.endpoint_token, *self.real]
        for value in self.real:
            if value.startswith("P-"):
                found.append(value.replace("-", ""))
            if "@" in value:
                found.append(value.split("@")[0])
        return [needle.lower() for needle in found if needle]


class RawMessages(logging.Handler):
    """Each record's own message, before the app's filter touches it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call still shows its format string
            message = str(record.msg)
        self.messages.append((record.name, message))


@dataclass
class Captured:
    json: io.StringIO
    text: io.StringIO
    raw: RawMessages

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.json.getvalue().splitlines() if line.strip()]


@pytest.fixture
def captured() -> Iterator[Captured]:
    """Every logger at DEBUG into the app's own handlers (JSON and text) and a raw one."""
    root = logging.getLogger()
    result = Captured(io.StringIO(), io.StringIO(), RawMessages())
    handlers = [result.raw, logs.make_handler("json", result.json)]
    handlers.append(logs.make_handler("text", result.text))
    levels = {name: logging.getLogger(name).level for name in CAPTURED_LOGGERS}
    for name in CAPTURED_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    for handler in handlers:
        root.addHandler(handler)
    try:
        yield result
    finally:
        for handler in handlers:
            root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def assert_no_planted(captured: Captured, planted: Planted) -> None:
    outputs = {"json": captured.json.getvalue().lower(), "text": captured.text.getvalue().lower()}
    assert outputs["json"] and outputs["text"], "nothing was logged: the capture is broken"
    for kind, output in outputs.items():
        for needle in planted.needles():
            assert needle not in output, f"{needle!r} in the {kind} log:\n" + _around(
                output, needle
            )
    # Not even the records' own messages: the last-line filter is not what keeps them out.
    # (SQLAlchemy's DEBUG "Row" lines are the exception by design: the filter hides them.)
    for name, message in captured.raw.messages:
        if name.startswith("sqlalchemy.engine") and message.startswith("Row "):
            continue
        lowered = message.lower()
        for needle in planted.needles():
            assert needle not in lowered, f"{needle!r} in a {name} record: {message[:500]}"
    # Every JSON line parses.
    captured.json_lines()


def _around(output: str, needle: str) -> str:
    at = output.index(needle)
    return output[max(0, at - 600) : at + 300]


# Requests ------------------------------------------------------------------------------------


def query(planted: Planted) -> str:
    return urlencode(
        {"q": planted.note, "email": planted.email, "code": planted.code, "next": planted.code}
    )


def form_with_free_text(endpoint: str, records: Records, planted: Planted) -> dict[str, Any]:
    data = dict(post_data(endpoint, records))
    for key in FREE_TEXT:
        if key in data:
            data[key] = f"{planted.note} {planted.code}"
    return data | {"email": planted.email, "password": planted.password}


def hostile_form(endpoint: str, records: Records, planted: Planted) -> dict[str, Any]:
    keys = set(post_data(endpoint, records)) | {"email", "password", "note", "code", "held_id"}
    return {key: planted.hostile() for key in keys}


def send_everything(client: FlaskClient, app: Flask, records: Records, planted: Planted) -> int:
    """Every route, every method: planted query strings, planted and hostile forms."""
    sent = 0
    for rule in ordered(app_rules(app), records.column):
        for method in methods_of(rule):
            url = url_of(app, rule, records, method)
            if method == "GET":
                client.get(f"{url}?{query(planted)}")
                sent += 1
                continue
            if rule.endpoint in JSON_POSTS:
                continue  # the sync and push bodies are planted below
            client.post(
                f"{url}?{query(planted)}", data=form_with_free_text(rule.endpoint, records, planted)
            )
            client.post(url, data=hostile_form(rule.endpoint, records, planted))
            client.post(
                url, data=b"\xff\xfe" + planted.hostile().encode(), content_type="text/plain"
            )
            sent += 3
    return sent


def contact(records: Records, planted: Planted, *, hours: float) -> dict[str, str]:
    local = datetime.now(STOCKHOLM) + timedelta(hours=hours)
    return {
        "occurred_at": local.strftime("%Y-%m-%dT%H:%M"),
        "location": f"place:{records.place_id}",
        "subject": "person",
        "age_band": "15-17",
        "kind": "street",
        "purpose": "check_in",
        "note": f"{planted.note} {planted.code} {planted.email}",
    }


def send_sync(client: FlaskClient, app: Flask, records: Records, planted: Planted) -> None:
    """Sealed records (stored, held for a time a day ahead, replayed, conflicting, unreadable)
    and malformed ones, each carrying planted values."""
    public = crypto.public_key_raw(crypto.load_or_create_key(Path(app.instance_path)))

    def sealed(fields: dict[str, str], client_uuid: str | None = None) -> dict[str, Any]:
        client_uuid = client_uuid or str(uuid.uuid4())
        envelope = crypto.seal(public, fields, kind="contact", client_uuid=client_uuid)
        return {"kind": "contact", "client_uuid": client_uuid, "envelope": envelope}

    stored = sealed(contact(records, planted, hours=-1))
    held = sealed(contact(records, planted, hours=30))
    other = sealed(contact(records, planted, hours=-2), client_uuid=stored["client_uuid"])
    tampered = sealed(contact(records, planted, hours=-1))
    tampered["envelope"] = dict(tampered["envelope"]) | {"ct": planted.hostile()}
    batch = [
        stored,
        held,
        stored,  # replayed
        other,  # the same UUID, other content
        tampered,
        {"kind": planted.note, "client_uuid": planted.hostile(), "envelope": planted.email},
        {"kind": "contact", "client_uuid": planted.code, "envelope": {"v": planted.note}},
        [planted.hostile()],
    ]
    headers = {"Accept": "application/json"}
    client.post(f"/sync/records?{query(planted)}", json={"records": batch}, headers=headers)
    client.post("/sync/records", json=sealed(contact(records, planted, hours=40)), headers=headers)
    client.post("/sync/records", data=planted.hostile(), content_type="application/json")
    client.post("/sync/records", json={"records": planted.hostile()}, headers=headers)
    # The held records' pages, and a correction posted with planted text.
    client.get("/records/held")
    client.get(f"/records/held?{query(planted)}")
    client.post("/sync/discarded", data={"kinds": [planted.note, "contact"], "count": planted.code})


def send_push(client: FlaskClient, planted: Planted) -> None:
    subscription = JSON_POSTS["push.subscribe"](None, None)  # type: ignore[arg-type]
    subscription["endpoint"] = f"https://fcm.googleapis.com/fcm/send/{planted.endpoint_token}"
    client.post("/push/subscribe", json=subscription, headers={"Accept": "application/json"})
    hostile = subscription | {
        "endpoint": f"https://{planted.endpoint_token}.example/{planted.email}"
    }
    client.post("/push/subscribe", json=hostile, headers={"Accept": "application/json"})


def send_wrong_passwords(app: Flask, email: str, planted: Planted) -> None:
    """Wrong passwords for a real account until the throttle answers, and an unknown address."""
    anonymous = app.test_client()
    for _ in range(7):
        anonymous.post("/login", data={"email": email, "password": planted.password})
    anonymous.post("/login", data={"email": planted.email, "password": planted.password})
    anonymous.post("/login", data={"email": planted.hostile(), "password": planted.hostile()})


def send_server_errors(
    client: FlaskClient, app: Flask, records: Records, planted: Planted, monkeypatch: Any
) -> list[int]:
    """Services that fail with the planted values in their messages, and a database error
    whose statement carries them as parameters; the answers' statuses."""
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: a 500, logged

    def fails(*_args: Any, **_kwargs: Any) -> Any:
        try:
            raise KeyError(planted.email)
        except KeyError as error:
            raise ValueError(f"cannot list {planted.code}: {planted.note}") from error

    def database_fails(*_args: Any, **_kwargs: Any) -> Any:
        get_session().execute(
            text("INSERT INTO no_such_table (code, note) VALUES (:code, :note)"),
            {"code": planted.code, "note": planted.note},
        )

    def unreadable(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError(planted.hostile())

    statuses = []
    with monkeypatch.context() as patch:
        patch.setattr(contact_services, "own_contacts", fails)
        patch.setattr(contact_services, "log_contact", database_fails)
        patch.setattr(crypto, "open_envelope", unreadable)
        statuses.append(client.get(f"/contacts?{query(planted)}").status_code)
        form = form_with_free_text("contacts.new", records, planted)
        statuses.append(client.post("/contacts/new", data=form).status_code)
        public = crypto.public_key_raw(crypto.load_or_create_key(Path(app.instance_path)))
        client_uuid = str(uuid.uuid4())
        envelope = crypto.seal(
            public, contact(records, planted, hours=-1), kind="contact", client_uuid=client_uuid
        )
        statuses.append(
            client.post(
                "/sync/records",
                json={"kind": "contact", "client_uuid": client_uuid, "envelope": envelope},
                headers={"Accept": "application/json"},
            ).status_code
        )
    return statuses


# Tests ---------------------------------------------------------------------------------------


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"AUDIT_DENIALS_IN_FULL": 10_000}


COLUMNS = ("anonymous", "interrupter", "supervisor", "admin", "association_lead", "night_walker")


@pytest.mark.parametrize("column", COLUMNS)
def test_no_planted_value_reaches_the_logs(
    app, session, world, login_as, captured, monkeypatch, column
):
    client, user = sign_in(app, login_as, column)
    records = make_records(session, world, column, user)
    planted = Planted()
    planted.real = [
        records.participant_code,
        records.contact_note,
        records.party_label,
        records.invitation_token,
    ]
    if user is not None:
        planted.real.append(user.email)

    statuses = send_server_errors(client, app, records, planted, monkeypatch)
    if column in ("interrupter", "supervisor"):
        # The forced failures ran (the others are refused before any service runs).
        assert statuses.count(500) == 3, statuses
    send_sync(client, app, records, planted)
    send_push(client, planted)
    target = factories.create_user(session, world, "night_walker")
    session.commit()
    planted.real.append(target.email)
    send_wrong_passwords(app, target.email, planted)
    assert send_everything(client, app, records, planted) > 100

    assert_no_planted(captured, planted)
    lines = captured.json_lines()
    if column in ("interrupter", "supervisor"):
        errors = [line for line in lines if line["message"].startswith("unhandled ")]
        assert len(errors) >= 3, [line["message"] for line in lines if line["level"] == "ERROR"]
        # The type and a safe location; the traceback's frames without the messages.
        assert any(line["message"].startswith("unhandled ValueError") for line in errors)
        assert any("sqlalchemy.exc." in line["message"] for line in errors)
        assert all(line.get("request_id") for line in errors)
        assert all("Traceback" in line.get("exception", "") for line in errors)


@pytest.fixture
def limited_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """Sign-in limits on (memory storage), behind one trusted proxy."""
    from interrupters import create_app

    from .conftest import _test_config

    config = _test_config(
        database_url,
        INSTANCE_PATH=str(tmp_path / "limited"),
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        TRUSTED_PROXIES=1,
    )
    app = create_app(config)
    yield app
    app.extensions["db_engine"].dispose()


def test_the_rate_limiters_line_names_no_address_or_account(limited_app, captured):
    """Flask-Limiter logs the limit's key (the client's address) when it refuses."""
    address = f"203.0.113.{secrets.randbelow(200) + 20}"
    planted = Planted()
    client = limited_app.test_client()
    headers = {"X-Forwarded-For": address}
    statuses = [
        client.post(
            "/login", data={"email": planted.email, "password": planted.password}, headers=headers
        ).status_code
        for _ in range(32)
    ]
    assert 429 in statuses
    assert any("ratelimit" in message for _name, message in captured.raw.messages)
    written = captured.json.getvalue() + captured.text.getvalue()
    assert address not in written and "[address]" in written
    assert_no_planted(captured, planted)
