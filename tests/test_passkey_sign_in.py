"""Signing in with a passkey instead of the password (it counts as both factors), and new
recovery codes (issue 9)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlmodel import col, select

from interrupters.audit.models import AuditEvent
from interrupters.auth.models import DeviceSession, RecoveryCode, User

from . import factories
from .authenticator import SoftAuthenticator

JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


@pytest.fixture
def app_config() -> dict[str, Any]:
    # WebAuthn checks the origin: the test client speaks https, as the software passkey does.
    return {"TWO_FACTOR_REQUIRED": True, "PREFERRED_URL_SCHEME": "https"}


def _path(response) -> str:
    return urlsplit(response.headers["Location"]).path


def _register(client, authenticator: SoftAuthenticator) -> None:
    options = client.post("/profile/passkeys/options", headers=JSON_HEADERS)
    assert options.status_code == 200, options.get_data(as_text=True)
    answer = client.post(
        "/profile/passkeys", data=authenticator.create(options.get_json()), headers=JSON_HEADERS
    )
    assert answer.status_code == 200, answer.get_json()


def _with_handle(answer: str, user_id: int | None) -> str:
    """What a browser sends for a discoverable passkey: the account's handle with it."""
    from webauthn.helpers import bytes_to_base64url

    data = json.loads(answer)
    if user_id is not None:
        data["response"]["userHandle"] = bytes_to_base64url(f"user:{user_id}".encode())
    return json.dumps(data)


def _passkey_sign_in(client, authenticator: SoftAuthenticator, *, handle: int | None, **kwargs):
    options = client.post("/login/passkey/start", headers=JSON_HEADERS)
    assert options.status_code == 200, options.get_data(as_text=True)
    body = options.get_json()
    # No account is named: the browser offers the passkeys it holds for the site.
    assert not body.get("allowCredentials")
    assert body["userVerification"] == "required"
    return client.post(
        "/login/passkey/finish?next=/contacts",
        data=_with_handle(authenticator.get(body, **kwargs), handle),
        headers=JSON_HEADERS,
    )


def test_an_office_role_signs_in_with_a_passkey_alone(app, client, login_as, session):
    user = login_as("supervisor")
    authenticator = SoftAuthenticator()
    _register(client, authenticator)
    phone = app.test_client()
    answer = _passkey_sign_in(phone, authenticator, handle=user.id)
    assert answer.status_code == 200, answer.get_json()
    # Both factors at once: no password, no code, straight to where the person was going.
    assert answer.get_json() == {"status": "ok", "next": "/contacts"}
    assert phone.get("/review").status_code == 200
    session.expire_all()
    device = session.exec(
        select(DeviceSession)
        .where(DeviceSession.user_id == user.id)
        .order_by(col(DeviceSession.id).desc())
    ).first()
    assert device is not None and device.second_factor_at is not None
    methods = [
        e.detail
        for e in session.exec(select(AuditEvent).where(AuditEvent.event == "second_factor_passed"))
    ]
    assert {"method": "passkey_sign_in"} in methods


def test_a_field_role_signing_in_with_a_passkey_is_offered_a_pin(app, client, login_as):
    user = login_as("interrupter")
    authenticator = SoftAuthenticator()
    _register(client, authenticator)
    phone = app.test_client()
    answer = _passkey_sign_in(phone, authenticator, handle=None)
    assert answer.get_json() == {"status": "ok", "next": "/pin/new?next=/contacts"}
    assert phone.get("/participants/").status_code == 200
    assert user.id


def test_a_passkey_sign_in_is_refused_without_its_screen_lock_a_key_or_a_challenge(
    app, client, login_as, session, world
):
    user = login_as("admin")
    authenticator = SoftAuthenticator()
    _register(client, authenticator)
    phone = app.test_client()
    # Without user verification it would be one factor only.
    assert _passkey_sign_in(phone, authenticator, handle=user.id, verified=False).status_code == 422
    # Another key claiming the credential.
    impostor = SoftAuthenticator()
    impostor.credential_id = authenticator.credential_id
    assert _passkey_sign_in(phone, impostor, handle=user.id).status_code == 422
    # The credential of one account with another account's handle.
    other = factories.create_user(session, world, "admin")
    session.commit()
    assert _passkey_sign_in(phone, authenticator, handle=other.id).status_code == 422
    # An answer without a challenge asked for, or a replay of a spent one.
    options = phone.post("/login/passkey/start", headers=JSON_HEADERS).get_json()
    answer = authenticator.get(options)
    assert phone.post("/login/passkey/finish", data=answer, headers=JSON_HEADERS).status_code == 200
    replay = app.test_client()
    assert (
        replay.post("/login/passkey/finish", data=answer, headers=JSON_HEADERS).status_code == 422
    )
    session.expire_all()
    failed = session.exec(select(AuditEvent).where(AuditEvent.event == "login_failed")).all()
    assert len(failed) >= 3 and all(e.detail == {"method": "passkey"} for e in failed)
    # A deactivated account's passkey opens nothing.
    row = session.get(User, user.id)
    assert row is not None
    row.active = False
    session.add(row)
    session.commit()
    assert _passkey_sign_in(app.test_client(), authenticator, handle=user.id).status_code == 422


def test_new_recovery_codes_replace_the_old_ones(app, client, session, world):
    user = factories.create_user(session, world, "supervisor")
    session.commit()
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    old_codes = factories.enrol_authenticator(client, user)
    session.expire_all()
    old_hashes = set(
        session.exec(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id))
    )
    assert len(old_hashes) == 10
    wrong = client.post("/profile/recovery-codes", data={"password": "not the password"})
    assert wrong.status_code == 422
    page = client.post("/profile/recovery-codes", data={"password": factories.PASSWORD})
    assert page.status_code == 200 and page.headers["Cache-Control"].startswith("no-store")
    text = page.get_data(as_text=True)
    session.expire_all()
    rows = session.exec(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all()
    assert len(rows) == 10 and not old_hashes & {r.code_hash for r in rows}
    events = session.exec(
        select(AuditEvent).where(AuditEvent.event == "recovery_codes_renewed")
    ).all()
    assert [e.actor_id for e in events] == [user.id]
    # A new code works once, in place of the authenticator.
    code = re.findall(r"<code>([a-z0-9]{6}-[a-z0-9]{6})</code>", text)[0]
    phone = app.test_client()
    phone.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert _path(phone.post("/login/second-factor", data={"code": code})) == "/"
    again = app.test_client()
    again.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert again.post("/login/second-factor", data={"code": code}).status_code == 422
    # The old codes stopped working when the new ones were made.
    assert again.post("/login/second-factor", data={"code": old_codes[0]}).status_code in (
        422,
        429,
    )
