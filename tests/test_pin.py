"""A field phone's PIN and the session that outlives a browser restart (issue 9, item 5).

A "restart" here is what a browser does when it is closed: the cookies without an expiry (the
session, pin_until) are gone, the persistent ones (resume, pin) stay. The browser itself is in
tests/browser/test_pin_browser.py.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from interrupters.audit.models import AuditEvent
from interrupters.auth import pin
from interrupters.auth.models import DeviceSession
from interrupters.contacts.models import Contact
from interrupters.errors import InvalidInput
from interrupters.sync import crypto

from . import factories

PIN = "2468"
JSON = {"Accept": "application/json"}


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(app):
    clock = Clock()
    app.config["CLOCK"] = clock
    return clock


def _path(response) -> str:
    return urlsplit(response.headers["Location"]).path


def _cookie(client, name: str) -> str | None:
    found = client.get_cookie(name)
    return found.value if found else None


def _restart(client) -> None:
    """Close the browser: what has no expiry is gone."""
    for name in ("session", "pin_until"):
        client.delete_cookie(name)


def _device(session, user) -> DeviceSession:
    session.expire_all()
    row = session.exec(
        select(DeviceSession)
        .where(DeviceSession.user_id == user.id)
        .order_by(col(DeviceSession.id).desc())
    ).first()
    assert row is not None
    return row


def _events(session, name: str) -> list[AuditEvent]:
    session.expire_all()
    return list(session.exec(select(AuditEvent).where(AuditEvent.event == name)))


def _with_pin(client, login_as, role: str = "interrupter") -> Any:
    user = login_as(role)
    response = client.post("/pin/new?next=/contacts", data={"pin": PIN, "confirm": PIN})
    assert response.status_code == 302 and _path(response) == "/contacts", response.data[:300]
    return user


def _sealed_contact(app, place_id: int) -> dict[str, Any]:
    local = datetime.now(ZoneInfo("Europe/Stockholm")) - timedelta(minutes=30)
    fields = {
        "occurred_at": local.strftime("%Y-%m-%dT%H:%M"),
        "location": f"place:{place_id}",
        "subject": "person",
        "age_band": "15-17",
        "kind": "street",
        "purpose": "check_in",
        "note": "Calm by the square.",
    }
    public = crypto.public_key_raw(crypto.load_or_create_key(Path(app.instance_path)))
    client_uuid = str(uuid.uuid4())
    envelope = crypto.seal(public, fields, kind="contact", client_uuid=client_uuid)
    return {"kind": "contact", "client_uuid": client_uuid, "envelope": envelope}


# Setting the PIN ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["interrupter", "night_walker", "association_lead"])
def test_a_field_role_is_offered_a_pin_after_sign_in_and_sets_one(client, session, world, role):
    user = factories.create_user(session, world, role)
    session.commit()
    login = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert login.headers["Location"] == "/pin/new?next=/"
    page = client.get("/pin/new?next=/")
    assert page.status_code == 200 and page.headers["Cache-Control"].startswith("no-store")
    assert client.post("/pin/new", data={"pin": PIN, "confirm": "1357"}).status_code == 422
    done = client.post("/pin/new?next=/", data={"pin": PIN, "confirm": PIN})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    cookies = {c.split("=")[0]: c for c in done.headers.getlist("Set-Cookie")}
    assert "HttpOnly" in cookies["resume"] and "Max-Age=" in cookies["resume"]
    assert "HttpOnly" not in cookies["pin"] and "Max-Age=" in cookies["pin"]
    # No expiry: gone with the browser.
    assert "Max-Age" not in cookies["pin_until"] and "Expires" not in cookies["pin_until"]
    device = _device(session, user)
    assert device.pin_hash and device.pin_hash.startswith("$argon2") and PIN not in device.pin_hash
    assert device.resume_hash and _cookie(client, "resume") not in device.resume_hash
    assert [e.actor_id for e in _events(session, "pin_set")] == [user.id]
    # Offered once: the next sign-in on this device goes straight on.
    assert client.get("/pin/new").status_code == 200  # the change form, with the current PIN


@pytest.mark.parametrize(
    "bad", ["123", "1234567", "abcd", "12a4", "1111", "1234", "123456", "٢٤٦٨"]
)
def test_guessable_or_malformed_pins_are_refused(client, login_as, bad):
    login_as("interrupter")
    response = client.post("/pin/new", data={"pin": bad, "confirm": bad})
    assert response.status_code == 422


def test_office_roles_get_no_pin(client, login_as, session):
    user = login_as("supervisor")
    assert _path(client.get("/pin/new")) == "/profile"
    assert client.post("/pin/new", data={"pin": PIN, "confirm": PIN}).status_code == 302
    assert _device(session, user).pin_hash is None
    assert _cookie(client, "resume") is None


def test_declining_keeps_the_old_short_session(client, login_as, session):
    user = login_as("night_walker")
    assert client.post("/pin/skip?next=/briefings/current").headers["Location"] == (
        "/briefings/current"
    )
    assert _device(session, user).pin_declined_at is not None
    assert _cookie(client, "resume") is None
    _restart(client)
    assert _path(client.get("/walks/")) == "/login"


def test_changing_the_pin_needs_the_current_one(client, login_as, session, clock):
    user = _with_pin(client, login_as)
    wrong = client.post("/pin/new", data={"current": "9999", "pin": "3579", "confirm": "3579"})
    assert wrong.status_code == 422
    # A wrong current PIN counts like one on the lock screen.
    assert _device(session, user).pin_failures == 1
    clock.now += timedelta(seconds=10)
    changed = client.post("/pin/new", data={"current": PIN, "pin": "3579", "confirm": "3579"})
    assert changed.status_code == 302
    assert _events(session, "pin_changed")


# The restart -------------------------------------------------------------------------------------


def test_a_restart_asks_for_the_pin_not_the_password(app, client, login_as, session, world):
    _with_pin(client, login_as)
    old_resume = _cookie(client, "resume")
    _restart(client)
    page = client.get("/participants/")
    assert page.status_code == 302
    assert page.headers["Location"] == "/pin?next=/participants/"
    # The resume cookie was used, so it was replaced.
    assert _cookie(client, "resume") not in (None, old_resume)
    assert _events(session, "session_resumed")
    lock = client.get("/pin?next=/participants/")
    assert lock.status_code == 200 and 'name="pin"' in lock.get_data(as_text=True)
    # Locked: nothing with participant codes, to pages or to scripts.
    boosted = client.get(
        "/participants/",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/contacts?x=1"},
    )
    assert boosted.status_code == 204 and not boosted.data
    assert boosted.headers["HX-Redirect"] == "/pin?next=/contacts?x%3D1"
    assert client.get("/participants/", headers=JSON).get_json() == {"status": "locked"}
    assert _path(client.get("/contacts")) == "/pin"
    # The outbox keeps sending while locked (its records are sealed).
    config = client.get("/sync/config", headers=JSON)
    assert config.status_code == 200
    record = _sealed_contact(app, world.places["Rinkeby torg"].id)
    sent = client.post(
        "/sync/records",
        json=record,
        headers={**JSON, "X-CSRFToken": config.get_json()["csrf_token"]},
    )
    assert sent.status_code in (200, 201), sent.get_json()
    session.expire_all()
    assert session.exec(select(Contact).where(Contact.client_uuid == record["client_uuid"])).one()
    wrong = client.post("/pin?next=/participants/", data={"pin": "9753"})
    assert wrong.status_code == 422 and "4" in wrong.get_data(as_text=True)
    assert _path(client.get("/participants/")) == "/pin"


def test_the_right_pin_opens_and_rotates_the_cookie(client, login_as, session, clock):
    user = _with_pin(client, login_as)
    _restart(client)
    client.get("/")
    resumed = _cookie(client, "resume")
    clock.now += timedelta(seconds=1)
    opened = client.post("/pin?next=/participants/", data={"pin": PIN})
    assert opened.status_code == 302 and opened.headers["Location"] == "/participants/"
    assert _cookie(client, "resume") != resumed
    assert _cookie(client, "pin_until")
    assert client.get("/participants/").status_code == 200
    device = _device(session, user)
    assert device.locked_at is None and device.pin_failures == 0
    assert _events(session, "pin_unlocked")


def test_idle_locks_and_the_outbox_does_not_count_as_use(client, login_as, session):
    user = _with_pin(client, login_as)
    device = _device(session, user)
    device.last_active_at = datetime.now(UTC) - timedelta(minutes=9)
    session.add(device)
    session.commit()
    # The phone sending by itself: the person's idle time runs on.
    assert client.get("/sync/config", headers=JSON).status_code == 200
    assert _device(session, user).last_active_at < datetime.now(UTC) - timedelta(minutes=8)
    device = _device(session, user)
    device.last_active_at = datetime.now(UTC) - timedelta(minutes=11)
    session.add(device)
    session.commit()
    assert _path(client.get("/participants/")) == "/pin"
    assert _device(session, user).locked_at is not None
    # The page's own cookie says so too: locked, the unlocked time is taken away.
    assert _cookie(client, "pin_until") is None


def test_five_wrong_pins_end_the_session_and_wipe_the_phone(client, login_as, session, clock):
    user = _with_pin(client, login_as)
    resume = _cookie(client, "resume")
    _restart(client)
    client.get("/")
    resume = _cookie(client, "resume")
    answers = []
    for attempt in range(4):
        answers.append(client.post("/pin", data={"pin": "9753"}).status_code)
        if attempt:
            # From the second wrong PIN on, the next try waits: one too soon is refused
            # without being checked, even the right one.
            early = client.post("/pin", data={"pin": PIN})
            assert early.status_code == 429 and "Retry" not in early.headers
        clock.now += timedelta(seconds=61)
    assert answers == [422, 422, 422, 422]
    assert _device(session, user).pin_failures == 4
    last = client.post("/pin", data={"pin": "9753"})
    assert last.status_code == 302 and last.headers["Location"] == "/login?wipe=1"
    assert last.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert _cookie(client, "resume") is None and _cookie(client, "pin") is None
    device = _device(session, user)
    assert device.revoked_reason == "pin_lockout"
    assert [e.detail for e in _events(session, "pin_failed")][-1] == {"failures": 5}
    assert _events(session, "pin_lockout")
    login_page = client.get("/login?wipe=1").get_data(as_text=True)
    assert "data-wipe" in login_page
    # A copy of the cookie taken before is worth nothing, and tells its phone to wipe.
    thief = client.application.test_client()
    thief.set_cookie("resume", resume or "")
    answer = thief.get("/sync/config", headers=JSON)
    assert answer.status_code == 401 and answer.get_json() == {"status": "revoked"}
    assert answer.headers["Clear-Site-Data"] == '"cache", "storage"'


def test_after_the_fifth_wrong_pin_the_right_one_opens_nothing(
    client, login_as, session, actor_for
):
    """The service as the lock screen calls it: the fifth wrong PIN ends the session, and the
    right PIN after it opens nothing."""
    user = _with_pin(client, login_as)
    device = _device(session, user)
    actor = dataclasses.replace(actor_for(user), device_session_id=device.id)
    device.locked_at = datetime.now(UTC)
    session.add(device)
    session.commit()
    start = datetime.now(UTC)
    for failures in range(5):
        result = pin.unlock(
            session=session, actor=actor, pin="0000", now=start + timedelta(minutes=failures * 2)
        )
        session.commit()
    assert result.outcome == "locked_out"
    after = pin.unlock(session=session, actor=actor, pin=PIN, now=start + timedelta(hours=1))
    assert after.outcome == "locked_out" and after.resume_token is None
    session.expire_all()
    device = session.get(DeviceSession, actor.device_session_id)
    assert device.revoked_reason == "pin_lockout" and device.locked_at is not None


def test_forgetting_the_pin_signs_in_again_and_keeps_the_outbox(client, login_as, session):
    user = _with_pin(client, login_as)
    _restart(client)
    client.get("/")
    answer = client.post("/pin/forgot")
    assert answer.headers["Location"] == "/login?pin_forgotten=1"
    # Only the HTTP cache; the phone's outbox (IndexedDB) and its pages are left to the page.
    assert answer.headers["Clear-Site-Data"] == '"cache"'
    assert _device(session, user).revoked_reason == "pin_forgotten"
    assert _cookie(client, "resume") is None
    page = client.get("/login?pin_forgotten=1").get_data(as_text=True)
    assert "data-wipe-pages" in page and "data-wipe " not in page
    again = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert _path(again) == "/pin/new"


@pytest.mark.parametrize("how", ["logout", "password", "deactivated", "revoked"])
def test_every_way_of_ending_a_session_ends_its_resume_cookie(
    app, client, login_as, session, world, actor_for, how
):
    from interrupters.auth import services

    user = _with_pin(client, login_as)
    resume = _cookie(client, "resume")
    if how == "logout":
        response = client.post("/logout")
        assert _cookie(client, "resume") is None and _cookie(client, "pin") is None
        assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    else:
        admin = actor_for(factories.create_user(session, world, "admin"))
        session.commit()
        other = app.test_client()
        other.post("/login", data={"email": user.email, "password": factories.PASSWORD})
        if how == "password":
            other.post(
                "/profile/password",
                data={
                    "current": factories.PASSWORD,
                    "password": "Ny lång lösenfras för natten 7",
                    "confirm": "Ny lång lösenfras för natten 7",
                },
            )
        elif how == "deactivated":
            services.set_user_active(session=session, actor=admin, user_id=user.id, active=False)
        else:
            first = session.exec(
                select(DeviceSession.id)
                .where(DeviceSession.user_id == user.id)
                .order_by(col(DeviceSession.id))
            ).first()
            services.revoke_device(
                session=session, actor=actor_for(user), device_session_id=first or 0
            )
        session.commit()
    phone = app.test_client()
    phone.set_cookie("resume", resume or "")
    assert _path(phone.get("/participants/")) == "/login"


# The resume cookie itself (pin.resume) -----------------------------------------------------


SECRET = "test-secret-key-that-is-long-enough-0123456789"


def _pinned_device(session, world, actor_for) -> tuple[Any, str]:
    user = factories.create_user(session, world, "interrupter")
    from interrupters.auth import services

    token = services.start_device_session(session=session, user=user, device_label="phone")
    session.flush()
    actor = services.principal_for_token(session=session, token=token)
    assert actor is not None
    resume = pin.set_pin(session=session, actor=actor, pin=PIN)
    session.commit()
    return user, resume


def test_a_restart_gives_every_request_the_same_new_cookies(session, world, actor_for):
    """The page and the service worker arrive together with the old cookie after a restart."""
    user, resume = _pinned_device(session, world, actor_for)
    now = datetime.now(UTC)
    first = pin.resume(session=session, token=resume, secret=SECRET, now=now)
    session.commit()
    second = pin.resume(session=session, token=resume, secret=SECRET, now=now + timedelta(hours=1))
    session.commit()
    assert first is not None and first == second
    device = _device(session, user)
    assert device.locked_at is not None and device.revoked_at is None
    assert pin.resume(session=session, token="made-up", secret=SECRET, now=now) is None


def test_an_old_cookie_after_the_new_one_came_back_signs_the_device_out(session, world, actor_for):
    user, resume = _pinned_device(session, world, actor_for)
    now = datetime.now(UTC)
    resumed = pin.resume(session=session, token=resume, secret=SECRET, now=now)
    assert resumed is not None
    device_token, newer = resumed
    device = _device(session, user)
    pin.confirm_resume(device, newer)
    session.add(device)
    session.commit()
    # Within the grace (requests already under way): still the same answer.
    assert pin.resume(
        session=session, token=resume, secret=SECRET, now=now + timedelta(seconds=30)
    ) == (device_token, newer)
    # Later: a copy of the cookie is in use somewhere else.
    late = now + pin.RESUME_GRACE + timedelta(seconds=1)
    assert pin.resume(session=session, token=resume, secret=SECRET, now=late) is None
    session.commit()
    assert _device(session, user).revoked_reason == "resume_reused"
    assert _events(session, "session_resume_reused")
    assert pin.resume(session=session, token=newer, secret=SECRET, now=late) is None


def test_the_cookie_ends_with_the_session_limits(session, world, actor_for):
    user, resume = _pinned_device(session, world, actor_for)
    device = _device(session, user)
    # 12 hours idle: the session is over, whatever the cookie says.
    late = device.last_seen_at + timedelta(hours=12, minutes=1)
    assert pin.resume(session=session, token=resume, secret=SECRET, now=late) is None
    # 7 days at most.
    assert (
        pin.resume(
            session=session,
            token=resume,
            secret=SECRET,
            now=device.expires_at + timedelta(seconds=1),
        )
        is None
    )
    assert device.expires_at - device.created_at == timedelta(days=7)


def test_set_pin_refuses_an_office_device(session, world):
    from interrupters.auth import services
    from interrupters.errors import NotAllowed

    user = factories.create_user(session, world, "supervisor")
    token = services.start_device_session(session=session, user=user, device_label="laptop")
    session.flush()
    actor = services.principal_for_token(session=session, token=token)
    with pytest.raises(NotAllowed):
        pin.set_pin(session=session, actor=actor, pin=PIN)
    assert pin.pin_problem("2468") is None
    with pytest.raises(InvalidInput):
        field_user = factories.create_user(session, world, "interrupter")
        field_token = services.start_device_session(
            session=session, user=field_user, device_label="phone"
        )
        session.flush()
        field_actor = services.principal_for_token(session=session, token=field_token)
        pin.set_pin(session=session, actor=field_actor, pin="0000")


def test_an_unlock_whose_answer_was_lost_does_not_strand_the_phone(session, world, actor_for):
    """The unlock replaced the cookie but its answer never arrived: the browser still holds the
    one before, and the next restart must still bring the session back (locked)."""
    from interrupters.auth import services

    user, resume = _pinned_device(session, world, actor_for)
    now = datetime.now(UTC)
    resumed = pin.resume(session=session, token=resume, secret=SECRET, now=now)
    assert resumed is not None
    device_token, kept = resumed
    session.commit()
    actor = services.principal_for_token(session=session, token=device_token, now=now)
    assert actor is not None and actor.locked
    opened = pin.unlock(session=session, actor=actor, pin=PIN, now=now + timedelta(seconds=5))
    assert opened.outcome == "ok" and opened.resume_token not in (None, kept)
    session.commit()
    # Lost on the way: the browser restarts later with `kept`.
    later = now + timedelta(hours=2)
    again = pin.resume(session=session, token=kept, secret=SECRET, now=later)
    session.commit()
    assert again is not None and again != resumed
    assert _device(session, user).revoked_at is None and _device(session, user).locked_at
    # The unlock's own cookie, had it arrived, is now the one before: refused, nothing more.
    assert (
        pin.resume(session=session, token=opened.resume_token or "", secret=SECRET, now=later)
        is None
    )


def test_the_lock_screen_speaks_swedish(client, login_as):
    _with_pin(client, login_as)
    _restart(client)
    page = client.get("/pin").get_data(as_text=True)
    assert "Ange din pinkod" in page and "Glömt pinkoden?" in page
    assert "Enter your PIN" not in page


@pytest.fixture
def csrf_app(app, database_url):
    """The same database, served by an app that checks CSRF tokens as production does."""
    from interrupters import create_app

    from .conftest import _test_config
    from .test_security import CsrfClient

    checked = create_app(_test_config(database_url, WTF_CSRF_ENABLED=True))
    checked.test_client_class = CsrfClient
    yield checked
    checked.extensions["db_engine"].dispose()


def test_every_pin_form_needs_its_csrf_token(csrf_app, session, world):
    from .test_security import csrf_login, token_from

    user = factories.create_user(session, world, "interrupter")
    session.commit()
    client = csrf_app.test_client()
    csrf_login(client, user)
    assert client.post("/pin/new", data={"pin": PIN, "confirm": PIN}).status_code == 400
    assert client.post("/pin/skip").status_code == 400
    token = token_from(client.get("/pin/new"))
    done = client.post("/pin/new", data={"pin": PIN, "confirm": PIN, "csrf_token": token})
    assert done.status_code == 302
    _restart(client)
    token = token_from(client.get("/pin"))
    # Without the token: refused before the PIN is read, and nothing is counted or ended.
    assert client.post("/pin", data={"pin": "9753"}).status_code == 400
    assert client.post("/pin/forgot").status_code == 400
    device = _device(session, user)
    assert device.pin_failures == 0 and device.revoked_at is None and device.locked_at
    assert client.post("/pin", data={"pin": PIN, "csrf_token": token}).status_code == 302
    assert _device(session, user).locked_at is None
    # Passkey sign-in and new recovery codes too.
    anonymous = csrf_app.test_client()
    anonymous.get("/login")
    assert anonymous.post("/login/passkey/start", headers=JSON).status_code == 400
    assert anonymous.post("/login/passkey/finish", data="{}", headers=JSON).status_code == 400
    assert client.post("/profile/recovery-codes", data={"password": "x"}).status_code == 400
