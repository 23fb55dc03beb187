"""The office roles' second factor: an authenticator app with one-time recovery codes, set up
at the first sign-in, asked at every sign-in after; the admin's reset (issue 9, item 1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
from sqlmodel import col, select

from interrupters.audit.models import AuditEvent
from interrupters.auth import passkeys, twofactor
from interrupters.auth.models import DeviceSession, RecoveryCode, TotpFactor
from interrupters.errors import InvalidInput
from interrupters.push.models import Notification

from . import factories
from .authenticator import SoftAuthenticator

SECRET = "test-secret-key-that-is-long-enough-0123456789"
OFFICE = ("admin", "supervisor", "briefing_author", "researcher")
FIELD = ("interrupter", "association_lead", "night_walker")


class Clock:
    """A clock the test moves by hand: codes are computed for its time, no sleeping."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def app_config() -> dict[str, Any]:
    # WebAuthn checks the origin: the test client speaks https, as the software passkey does,
    # whatever INTERRUPTERS_ENV says (make test sets "test", which serves plain http).
    return {"TWO_FACTOR_REQUIRED": True, "PREFERRED_URL_SCHEME": "https"}


@pytest.fixture
def clock(app):
    clock = Clock()
    app.config["CLOCK"] = clock
    return clock


def _path(response) -> str:
    return urlsplit(response.headers["Location"]).path


def _password(client, user, next_path: str | None = None):
    url = f"/login?next={next_path}" if next_path else "/login"
    return client.post(url, data={"email": user.email, "password": factories.PASSWORD})


def _code(user, when: datetime) -> str:
    return pyotp.TOTP(factories.TOTP_SECRETS[user.id]).at(when)


def _events(session, name: str) -> list[AuditEvent]:
    session.expire_all()
    return list(session.exec(select(AuditEvent).where(AuditEvent.event == name)).all())


# Routes, every role ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", OFFICE)
def test_office_roles_must_set_up_a_second_factor_before_anything_else(
    app, client, session, world, role
):
    user = factories.create_user(session, world, role)
    session.commit()
    response = _password(client, user, "/profile")
    assert response.status_code == 302
    assert _path(response) == "/login/authenticator"
    # Every other page, and every script, waits for it.
    for path in ("/", "/profile", "/notifications"):
        page = client.get(path)
        assert page.status_code == 302 and _path(page) == "/login/authenticator", path
    scripted = client.get("/", headers={"HX-Request": "true"})
    assert scripted.status_code == 403 and scripted.get_json() == {"status": "second_factor"}
    codes = factories.enrol_authenticator(client, user)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/profile").status_code == 200


@pytest.mark.parametrize("role", FIELD)
def test_field_roles_are_not_asked(client, session, world, role):
    user = factories.create_user(session, world, role)
    session.commit()
    response = _password(client, user)
    # Asked for no second factor: offered a PIN for the phone instead (issue 9, item 5).
    assert response.status_code == 302 and _path(response) == "/pin/new"
    assert client.get("/profile").status_code == 200
    # Nothing to pass: the second-factor page sends them on.
    assert _path(client.get("/login/second-factor")) == "/"


def test_each_sign_in_asks_for_a_code_and_a_code_works_once(app, clock, login_as, session):
    user = login_as("supervisor")
    assert factories.TOTP_SECRETS[user.id]
    phone, laptop = app.test_client(), app.test_client()
    clock.now += timedelta(minutes=2)
    response = _password(phone, user, "/profile")
    assert _path(response) == "/login/second-factor"
    assert _path(phone.get("/")) == "/login/second-factor"
    wrong = phone.post(response.headers["Location"], data={"code": "000000"})
    assert wrong.status_code == 422
    code = _code(user, clock.now)
    passed = phone.post(response.headers["Location"], data={"code": code})
    assert passed.status_code == 302 and _path(passed) == "/profile"
    assert phone.get("/profile").status_code == 200
    # The same code on another device, within its window: refused (no replay).
    _password(laptop, user)
    again = laptop.post("/login/second-factor", data={"code": code})
    assert again.status_code == 422
    assert _path(laptop.get("/")) == "/login/second-factor"
    # The next step's code works.
    clock.now += timedelta(seconds=30)
    assert (
        laptop.post("/login/second-factor", data={"code": _code(user, clock.now)}).status_code
        == 302
    )
    assert laptop.get("/profile").status_code == 200
    methods = [event.detail["method"] for event in _events(session, "second_factor_passed")]
    assert methods == ["totp", "totp", "totp"]


def test_a_recovery_code_works_once(app, clock, client, session, world):
    user = factories.create_user(session, world, "researcher")
    session.commit()
    _password(client, user)
    codes = factories.enrol_authenticator(client, user)
    first = app.test_client()
    _password(first, user)
    # Typed as people type it: upper case, a space for the dash.
    typed = codes[3].upper().replace("-", " ")
    assert first.post("/login/second-factor", data={"code": typed}).status_code == 302
    assert first.get("/profile").status_code == 200
    second = app.test_client()
    _password(second, user)
    assert second.post("/login/second-factor", data={"code": codes[3]}).status_code == 422
    assert _path(second.get("/")) == "/login/second-factor"
    assert twofactor.recovery_codes_left(session=session, user_id=user.id) == 9
    assert second.post("/login/second-factor", data={"code": codes[4]}).status_code == 302


def test_wrong_codes_are_throttled_per_account(app, clock, login_as, session):
    user = login_as("admin")
    attacker = app.test_client()
    clock.now += timedelta(minutes=1)
    _password(attacker, user)
    statuses = [
        attacker.post("/login/second-factor", data={"code": "123456"}).status_code for _ in range(6)
    ]
    # The fifth wrong code starts the wait; an attempt while waiting is not even checked.
    assert statuses == [422, 422, 422, 422, 429, 429]
    # Even the right code waits now; once the wait has passed it works.
    right = attacker.post("/login/second-factor", data={"code": _code(user, clock.now)})
    assert right.status_code == 429
    clock.now += timedelta(minutes=6)
    right = attacker.post("/login/second-factor", data={"code": _code(user, clock.now)})
    assert right.status_code == 302
    failed = _events(session, "second_factor_failed")
    assert [event.detail["failures"] for event in failed] == [1, 2, 3, 4, 5]
    assert len(_events(session, "second_factor_throttled")) == 2


def test_a_person_with_a_factor_cannot_set_up_another_before_passing_it(
    app, clock, login_as, session
):
    user = login_as("briefing_author")
    stored = session.get(TotpFactor, user.id)
    assert stored is not None
    before = stored.secret_encrypted
    other = app.test_client()
    _password(other, user)
    assert _path(other.post("/login/authenticator/start")) == "/login/second-factor"
    assert _path(other.get("/login/authenticator")) == "/login/second-factor"
    assert other.post("/login/authenticator", data={"code": "123456"}).status_code == 302
    session.expire_all()
    assert session.get(TotpFactor, user.id).secret_encrypted == before
    assert _path(other.get("/")) == "/login/second-factor"


def test_no_state_change_on_get_and_the_secret_is_stored_encrypted(client, session, world):
    user = factories.create_user(session, world, "supervisor")
    session.commit()
    _password(client, user)
    page = client.get("/login/authenticator")
    assert page.status_code == 200 and "<svg" not in page.get_data(as_text=True)
    assert session.get(TotpFactor, user.id) is None
    client.post("/login/authenticator/start")
    page = client.get("/login/authenticator")
    text = page.get_data(as_text=True)
    assert "<svg" in text and "no-store" in page.headers["Cache-Control"]
    secret = factories._SECRET_IN_PAGE.search(text).group(1)
    session.expire_all()
    row = session.get(TotpFactor, user.id)
    assert row.confirmed_at is None and secret not in row.secret_encrypted
    # The QR code is drawn by the app: no image from elsewhere.
    assert "http" not in text.split("<svg", 1)[1].split("</svg>", 1)[0]


# Services ---------------------------------------------------------------------------------


def test_services_enrol_verify_and_refuse_replay(session, world, actor_for):
    user = factories.create_user(session, world, "researcher")
    actor = actor_for(user)
    now = datetime.now(UTC)
    twofactor.start_totp(session=session, actor=actor, secret=SECRET, now=now)
    totp_secret = twofactor.pending_totp_secret(session=session, actor=actor, secret=SECRET)
    assert totp_secret
    with pytest.raises(InvalidInput):
        twofactor.confirm_totp(session=session, actor=actor, code="12345x", secret=SECRET, now=now)
    codes = twofactor.confirm_totp(
        session=session, actor=actor, code=pyotp.TOTP(totp_secret).at(now), secret=SECRET, now=now
    )
    assert len(codes) == 10
    hashes = session.exec(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id))
    assert not set(codes) & set(hashes)
    assert session.get(DeviceSession, actor.device_session_id).second_factor_at == now
    later = actor_for(user)
    code = pyotp.TOTP(totp_secret).at(now)
    assert not twofactor.verify_code(
        session=session, actor=later, code=code, secret=SECRET, now=now
    )
    step = now + timedelta(seconds=30)
    next_code = pyotp.TOTP(totp_secret).at(step)
    assert twofactor.verify_code(
        session=session, actor=later, code=next_code, secret=SECRET, now=step
    )
    # A code from another key (a changed SECRET_KEY cannot read the stored secret) fails.
    third = actor_for(user)
    assert not twofactor.verify_code(
        session=session,
        actor=third,
        code=pyotp.TOTP(totp_secret).at(step + timedelta(seconds=30)),
        secret="another-secret-key-that-is-long-enough-000",
        now=step + timedelta(seconds=30),
    )
    # Nothing secret is in the audit log.
    session.flush()
    logged = json.dumps([e.detail for e in session.exec(select(AuditEvent)).all()])
    assert totp_secret not in logged and next_code not in logged
    assert not any(code in logged for code in codes)


def test_verify_code_refuses_a_user_without_a_factor(session, world, actor_for):
    user = factories.create_user(session, world, "admin")
    actor = actor_for(user)
    assert not twofactor.verify_code(session=session, actor=actor, code="123456", secret=SECRET)
    assert (
        twofactor.pending_step(
            session=session,
            device=session.get(DeviceSession, actor.device_session_id),
            roles={factories.Role.admin},
        )
        == twofactor.ENROL
    )


# The admin's reset ---------------------------------------------------------------------------


def test_an_admin_resets_a_persons_factors(app, clock, login_as, session, world):
    person = login_as("supervisor", client=app.test_client())
    admin_client = app.test_client()
    admin = login_as("admin", client=admin_client)
    before = len(_events(session, "second_factors_reset"))
    page = admin_client.get(f"/admin/users/{person.id}")
    assert "/second-factors/reset" in page.get_data(as_text=True)
    response = admin_client.post(f"/admin/users/{person.id}/second-factors/reset")
    assert response.status_code == 303
    session.expire_all()
    assert session.get(TotpFactor, person.id) is None
    left = session.exec(select(RecoveryCode.id).where(RecoveryCode.user_id == person.id)).all()
    assert left == []
    open_devices = session.exec(
        select(DeviceSession.id)
        .where(DeviceSession.user_id == person.id)
        .where(col(DeviceSession.revoked_at).is_(None))
    ).all()
    assert open_devices == []
    (event,) = _events(session, "second_factors_reset")[before:]
    assert event.actor_id == admin.id and event.object_id == str(person.id)
    (told,) = session.exec(
        select(Notification)
        .where(Notification.recipient_id == person.id)
        .where(Notification.kind == "second_factors_reset")
    ).all()
    assert str(person.id) not in json.dumps(told.title) + json.dumps(told.body)
    # At the next sign-in the person sets up a new one.
    again = app.test_client()
    assert _path(_password(again, person)) == "/login/authenticator"


def test_only_an_admin_resets(app, login_as, session, world):
    target = factories.create_user(session, world, "researcher")
    session.commit()
    client = app.test_client()
    login_as("supervisor", client=client)
    assert client.post(f"/admin/users/{target.id}/second-factors/reset").status_code == 403


# Passkeys ------------------------------------------------------------------------------------

JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


def _register_passkey(client, authenticator: SoftAuthenticator, next_path: str = "/profile"):
    options = client.post("/profile/passkeys/options", headers=JSON_HEADERS)
    assert options.status_code == 200, options.get_data(as_text=True)
    return client.post(
        f"/profile/passkeys?next={next_path}",
        data=authenticator.create(options.get_json()),
        headers=JSON_HEADERS,
    )


def _sign_in_with_passkey(client, authenticator: SoftAuthenticator, **kwargs):
    options = client.post("/login/passkey/options", headers=JSON_HEADERS)
    assert options.status_code == 200, options.get_data(as_text=True)
    return client.post(
        "/login/passkey?next=/profile",
        data=authenticator.get(options.get_json(), **kwargs),
        headers=JSON_HEADERS,
    )


def test_an_office_role_enrols_a_passkey_and_signs_in_with_it(app, client, session, world):
    user = factories.create_user(session, world, "supervisor")
    session.commit()
    assert _path(_password(client, user)) == "/login/authenticator"
    authenticator = SoftAuthenticator()
    registered = _register_passkey(client, authenticator, "/profile")
    assert registered.status_code == 200, registered.get_json()
    assert registered.get_json() == {"status": "ok", "next": "/profile"}
    assert client.get("/profile").status_code == 200
    # The next sign-in offers the passkey first and takes it.
    phone = app.test_client()
    assert _path(_password(phone, user)) == "/login/second-factor"
    page = phone.get("/login/second-factor").get_data(as_text=True)
    assert 'data-passkey="sign-in"' in page
    # A passkey alone: no code to type (recovery codes come with the authenticator app).
    assert 'name="code"' not in page
    answer = _sign_in_with_passkey(phone, authenticator)
    assert answer.status_code == 200 and answer.get_json()["next"] == "/profile"
    assert phone.get("/profile").status_code == 200
    methods = [event.detail["method"] for event in _events(session, "second_factor_passed")]
    assert methods == ["passkey", "passkey"]


def test_a_passkey_answer_is_used_once_and_needs_user_verification(app, client, session, world):
    user = factories.create_user(session, world, "researcher")
    session.commit()
    _password(client, user)
    authenticator = SoftAuthenticator()
    assert _register_passkey(client, authenticator).status_code == 200
    phone = app.test_client()
    _password(phone, user)
    # Without the screen lock (user verification): refused.
    assert _sign_in_with_passkey(phone, authenticator, verified=False).status_code == 422
    # Another key that claims the credential id: refused.
    impostor = SoftAuthenticator()
    impostor.credential_id = authenticator.credential_id
    assert _sign_in_with_passkey(phone, impostor).status_code == 422
    assert _path(phone.get("/profile")) == "/login/second-factor"
    # A replayed answer: the challenge is spent.
    options = phone.post("/login/passkey/options", headers=JSON_HEADERS).get_json()
    answer = authenticator.get(options)
    assert phone.post("/login/passkey", data=answer, headers=JSON_HEADERS).status_code == 200
    other = app.test_client()
    _password(other, user)
    assert other.post("/login/passkey", data=answer, headers=JSON_HEADERS).status_code == 422


def test_a_field_role_adds_a_passkey_and_is_not_asked_for_it(app, client, session, world):
    user = factories.create_user(session, world, "night_walker")
    session.commit()
    _password(client, user)
    assert 'data-passkey="register"' in client.get("/profile").get_data(as_text=True)
    assert _register_passkey(client, SoftAuthenticator()).status_code == 200
    again = app.test_client()
    assert _path(_password(again, user)) == "/pin/new"
    assert again.get("/profile").status_code == 200


def test_a_device_waiting_for_its_factor_cannot_add_a_passkey_instead(
    app, clock, login_as, session
):
    user = login_as("admin")
    other = app.test_client()
    _password(other, user)
    assert other.post("/profile/passkeys/options", headers=JSON_HEADERS).status_code == 422
    assert other.post("/profile/passkeys", data="{}", headers=JSON_HEADERS).status_code == 422
    assert _path(other.get("/profile")) == "/login/second-factor"


def test_wrong_passkey_answers_count_with_wrong_codes(app, clock, client, session, world):
    user = factories.create_user(session, world, "briefing_author")
    session.commit()
    _password(client, user)
    authenticator = SoftAuthenticator()
    assert _register_passkey(client, authenticator).status_code == 200
    phone = app.test_client()
    _password(phone, user)
    for _ in range(5):
        assert _sign_in_with_passkey(phone, SoftAuthenticator()).status_code == 422
    # The account waits now: even the right passkey is refused until the wait has passed.
    assert _sign_in_with_passkey(phone, authenticator).status_code == 422
    assert len(_events(session, "second_factor_throttled")) == 1
    clock.now += timedelta(minutes=6)
    assert _sign_in_with_passkey(phone, authenticator).status_code == 200


def test_a_person_removes_a_passkey_but_an_office_role_keeps_one_factor(
    app, client, session, world
):
    user = factories.create_user(session, world, "supervisor")
    stranger = factories.create_user(session, world, "night_walker")
    session.commit()
    _password(client, user)
    assert _register_passkey(client, SoftAuthenticator()).status_code == 200
    assert _register_passkey(client, SoftAuthenticator()).status_code == 200
    first, second = (p.id for p in passkeys.passkeys_of(session=session, user_id=user.id))
    assert client.post("/profile/passkeys/remove", data={"passkey_id": first}).status_code == 302
    # The last one stays: without it a stolen password could set up a new factor.
    assert client.post("/profile/passkeys/remove", data={"passkey_id": second}).status_code == 302
    session.expire_all()
    assert [p.id for p in passkeys.passkeys_of(session=session, user_id=user.id)] == [second]
    assert len(_events(session, "passkey_removed")) == 1
    # Someone else's passkey: not found.
    other = app.test_client()
    _password(other, stranger)
    response = other.post("/profile/passkeys/remove", data={"passkey_id": second})
    assert response.status_code == 404
    assert [p.id for p in passkeys.passkeys_of(session=session, user_id=user.id)] == [second]
