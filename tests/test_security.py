"""DESIGN.md "Security": headers, templates, CSRF, GET without effects, sessions, login limits."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, SQLModel, col, select

from interrupters import create_app
from interrupters.audit.models import AuditEvent
from interrupters.auth import services as auth_services
from interrupters.auth.models import (
    DeviceSession,
    Invitation,
    Membership,
    Organisation,
    OrganisationDistrict,
    User,
)
from interrupters.contacts.models import Contact, ContactReview
from interrupters.db import utcnow
from interrupters.participants.models import Participant
from interrupters.places.models import Area, District, Place

from . import factories
from .conftest import _test_config
from .test_access_matrix import (
    EXPECTED,
    ROLES,
    SIGNED_OUT,
    Records,
    app_rules,
    contact_fields,
    make_records,
    methods_of,
    ordered,
    send,
    sign_in,
    url_of,
)

STATIC_MAX_AGE = 365 * 24 * 3600
COLUMNS = ("anonymous", *ROLES)
# Rows a GET must never add, remove or change (audit events and device sessions may move).
GUARDED_TABLES: tuple[type[SQLModel], ...] = (
    Contact,
    Participant,
    ContactReview,
    Membership,
    User,
    Organisation,
    OrganisationDistrict,
    Invitation,
    District,
    Area,
    Place,
)


@pytest.fixture
def signed_in(app, session, world, login_as):
    """A fresh client signed in as `column`, and the records the app's URLs need."""

    def _make(column: str) -> tuple[FlaskClient, Records]:
        client, user = sign_in(app, login_as, column)
        return client, make_records(session, world, column, user)

    return _make


def walk(app: Flask, client: FlaskClient, records: Records, column: str, *, get_only: bool):
    """Request every route once as the matrix does; yield (description, rule, response)."""
    for rule in ordered(app_rules(app), column):
        methods = methods_of(rule)
        if get_only and "GET" not in methods:
            continue
        method = "GET" if "GET" in methods else "POST"
        response = send(client, app, rule, records, method)
        yield f"{column}: {method} {url_of(app, rule, records, method)}", rule, response


def csp_directives(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def snapshot(engine: Any) -> dict[str, list[str]]:
    """Every row of the guarded tables, as text, in a stable order."""
    with Session(engine) as fresh:
        return {
            model.__tablename__: sorted(  # type: ignore[attr-defined]
                json.dumps(row.model_dump(), sort_keys=True, default=str)
                for row in fresh.exec(select(model))
            )
            for model in GUARDED_TABLES
        }


def token_from(response: Any) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True))
    assert found, "the page has no CSRF token field"
    return found.group(1)


def count(engine: Any, model: type[SQLModel], *where: Any) -> int:
    with Session(engine) as fresh:
        return len(fresh.exec(select(model).where(*where)).all())


# Headers -------------------------------------------------------------------------------------


def assert_strict_csp(where: str, header: str | None) -> None:
    assert header, f"{where}: no Content-Security-Policy"
    directives = csp_directives(header)
    for name, sources in directives.items():
        assert "'unsafe-inline'" not in sources, f"{where}: {name} allows 'unsafe-inline'"
        assert "'unsafe-eval'" not in sources, f"{where}: {name} allows 'unsafe-eval'"
    assert directives.get("object-src") == ["'none'"], f"{where}: {header}"
    assert directives.get("base-uri") == ["'none'"], f"{where}: {header}"
    assert "script-src" in directives or "default-src" in directives, f"{where}: {header}"


@pytest.mark.parametrize("column", COLUMNS)
def test_every_response_carries_the_security_headers(app, signed_in, column):
    """Every route as one person (one walk, to stay fast): a strict CSP on every HTML answer,
    and `no-store` on every page (HTML or JSON) a signed-in person is sent."""
    client, records = signed_in(column)
    html = stored = 0
    for where, rule, response in walk(app, client, records, column, get_only=False):
        assert response.headers.get("X-Content-Type-Options") == "nosniff", where
        if response.mimetype == "text/html":
            assert_strict_csp(where, response.headers.get("Content-Security-Policy"))
            html += 1
        personal = response.mimetype in ("text/html", "application/json")
        if personal and column != "anonymous" and EXPECTED[rule.endpoint][column] != SIGNED_OUT:
            # (The answer to a logout goes to nobody signed in any more.)
            cache = response.cache_control
            assert cache.no_store and not cache.public, f"{where}: Cache-Control {cache}"
            stored += 1
    # Pages, error pages, form errors and redirects: many HTML answers per person.
    assert html >= 20
    assert stored >= (0 if column == "anonymous" else 30)


def test_error_and_json_answers_carry_the_csp_too(app, client, login_as):
    login_as("night_walker")
    for response, kind in (
        (client.get("/participants/"), 403),
        (client.get("/no-such-page"), 404),
        (client.get("/healthz"), 200),
    ):
        assert response.status_code == kind
        assert_strict_csp(f"{kind}", response.headers.get("Content-Security-Policy"))
        assert response.cache_control.no_store


VERSIONED = re.compile(r"^/static/v/(?P<version>[^/]+)/(?P<filename>.+)$")


def test_versioned_static_files_are_cached_for_a_year(app, client, login_as):
    login_as("interrupter")
    page = client.get("/contacts/new")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.get_data(as_text=True))
    assert len(assets) >= 2, "the page links no static files"
    for url in assets:
        found = VERSIONED.match(urlsplit(url).path)
        assert found, f"{url} is not under a version: asset() should make every static URL"
        response = client.get(url)
        try:
            assert response.status_code == 200, url
            cache = response.cache_control
            assert cache.max_age == STATIC_MAX_AGE, f"{url}: {cache}"
            assert cache.immutable and cache.public, f"{url}: {cache}"
            assert not cache.no_cache and not cache.no_store, f"{url}: {cache}"
            assert "Cookie" not in response.vary, url
            assert "Set-Cookie" not in response.headers, url
            body = response.get_data()
        finally:
            response.close()
        # The same file unversioned, or under another release's version, is never kept.
        plain_url = f"/static/{found['filename']}"
        old_url = f"/static/v/0ld0ld0ld0ld/{found['filename']}"
        for other in (plain_url, old_url):
            response = client.get(other)
            try:
                assert response.status_code == 200, other
                assert response.get_data() == body, other
                assert not response.cache_control.immutable, other
                assert response.cache_control.max_age != STATIC_MAX_AGE, other
            finally:
                response.close()


# Templates -----------------------------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
TAG = re.compile(r"<[a-zA-Z][^>]*>", re.DOTALL)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
HX_ON = re.compile(r"\s(?:data-)?hx-on[:-]", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)
JS_URL = re.compile(r"""=\s*["']\s*javascript:""", re.IGNORECASE)


def inline_code(text: str) -> list[str]:
    """What in a template the CSP would block: inline scripts, handlers, styles."""
    problems = []
    for match in INLINE_SCRIPT.finditer(text):
        if match.group(2).strip():
            problems.append(f"inline <script> body: {match.group(0)[:60]!r}")
    for tag in TAG.findall(text):
        if HANDLER.search(tag):
            problems.append(f"event handler attribute: {tag[:80]!r}")
        if STYLE_ATTRIBUTE.search(tag):
            problems.append(f"style attribute: {tag[:80]!r}")
        if HX_ON.search(tag):
            problems.append(f"hx-on attribute (needs eval): {tag[:80]!r}")
    if STYLE_ELEMENT.search(text):
        problems.append("<style> element")
    if JS_URL.search(text):
        problems.append("javascript: URL")
    return problems


def test_the_template_scan_finds_inline_code():
    bad = [
        "<script>alert(1)</script>",
        '<button type="button" onclick="go()">',
        '<div class="x"\n     style="color: red">',
        '<a href="#" hx-on:click="go()">',
        "<style>p{}</style>",
        '<a href="javascript:go()">',
    ]
    for snippet in bad:
        assert inline_code(snippet), snippet
    good = '<script src="/static/js/app.js" defer></script><link rel="stylesheet" href="x.css">'
    assert inline_code(good) == []


def test_templates_hold_no_inline_script_handler_or_style(app):
    folder = Path(app.root_path, app.template_folder or "templates").resolve()
    templates = sorted(folder.rglob("*.html"))
    assert len(templates) >= 10, f"found only {len(templates)} templates in {folder}"
    problems = [
        f"{path.relative_to(folder)}: {problem}"
        for path in templates
        for problem in inline_code(path.read_text(encoding="utf-8"))
    ]
    assert not problems, "\n".join(problems)


# CSRF ----------------------------------------------------------------------------------------


class CsrfClient(FlaskClient):
    """A browser on this site: the test client speaks https, where Flask-WTF also checks the
    Referer, so a missing token is the only reason left for a refusal."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_REFERER"] = "https://localhost/"


@pytest.fixture
def csrf_app(app: Flask, database_url: str) -> Iterator[Flask]:
    """The same database, served by an app that checks CSRF tokens as production does."""
    checked = create_app(_test_config(database_url, WTF_CSRF_ENABLED=True))
    checked.test_client_class = CsrfClient
    yield checked
    checked.extensions["db_engine"].dispose()


def csrf_login(client: FlaskClient, user: User) -> None:
    token = token_from(client.get("/login"))
    response = client.post(
        "/login", data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.status_code


def test_csrf_login_without_token_is_refused(csrf_app, session, world):
    engine = csrf_app.extensions["db_engine"]
    user = factories.create_user(session, world, "interrupter")
    session.commit()
    client = csrf_app.test_client()
    client.get("/login")  # the session holds a token; the form below does not send it
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 400
    assert count(engine, DeviceSession, DeviceSession.user_id == user.id) == 0
    assert count(engine, AuditEvent, AuditEvent.event == "login") == 0
    assert client.get("/profile").status_code == 302
    # The same login with its token goes through.
    csrf_login(client, user)
    assert count(engine, DeviceSession, DeviceSession.user_id == user.id) == 1


def test_csrf_logout_without_token_is_refused(csrf_app, session, world):
    engine = csrf_app.extensions["db_engine"]
    user = factories.create_user(session, world, "interrupter")
    session.commit()
    client = csrf_app.test_client()
    csrf_login(client, user)
    response = client.post("/logout")
    assert response.status_code == 400
    assert "Clear-Site-Data" not in response.headers
    revoked = count(
        engine,
        DeviceSession,
        DeviceSession.user_id == user.id,
        col(DeviceSession.revoked_at).is_not(None),
    )
    assert revoked == 0
    assert client.get("/profile").status_code == 200
    token = token_from(client.get("/profile"))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/profile").status_code == 302


def test_csrf_new_contact_without_token_is_refused(csrf_app, session, world):
    engine = csrf_app.extensions["db_engine"]
    user = factories.create_user(session, world, "interrupter")
    session.commit()
    client = csrf_app.test_client()
    csrf_login(client, user)
    form = contact_fields(world.places["Rinkeby torg"].id or 0)
    response = client.post("/contacts/new", data=form)
    assert response.status_code == 400
    assert count(engine, Contact) == 0
    token = token_from(client.get("/contacts/new"))
    response = client.post("/contacts/new", data={**form, "csrf_token": token})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    assert count(engine, Contact, Contact.worker_id == user.id) == 1


# No state change on GET ----------------------------------------------------------------------


@pytest.mark.parametrize("column", COLUMNS)
def test_get_requests_change_nothing(app, signed_in, column):
    client, records = signed_in(column)
    engine = app.extensions["db_engine"]
    before = snapshot(engine)
    assert before["contact"] and before["participant"] and before["app_user"]
    statuses = set()
    for where, _rule, response in walk(app, client, records, column, get_only=True):
        statuses.add(response.status_code)
        after = snapshot(engine)
        changed = [table for table in before if before[table] != after[table]]
        assert not changed, f"{where} changed {changed}"
    assert statuses, "no GET route was requested"


# Sessions ------------------------------------------------------------------------------------


def login_redirect(response: Any) -> bool:
    target = urlsplit(response.headers.get("Location", ""))
    return response.status_code == 302 and target.path == "/login"


def test_logout_clears_site_data_and_the_old_cookie_stops_working(app, login_as):
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    client = app.test_client()
    login_as("interrupter", client=client)
    cookie = client.get_cookie(cookie_name)
    assert cookie is not None
    replay = app.test_client()
    replay.set_cookie(cookie_name, cookie.value)
    assert replay.get("/profile").status_code == 200  # the cookie is the session

    response = client.post("/logout")
    assert login_redirect(response)
    cleared = response.headers.get("Clear-Site-Data", "")
    assert '"cache"' in cleared and '"storage"' in cleared

    stolen = app.test_client()
    stolen.set_cookie(cookie_name, cookie.value)
    assert login_redirect(stolen.get("/profile"))
    assert login_redirect(stolen.get("/participants/"))
    assert login_redirect(client.get("/profile"))


def test_revoking_a_device_ends_its_session_at_once(app, session, login_as):
    phone, laptop = app.test_client(), app.test_client()
    user = login_as("interrupter", client=phone)
    response = laptop.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 302
    session.rollback()
    devices = session.exec(
        select(DeviceSession.id)
        .where(DeviceSession.user_id == user.id)
        .order_by(col(DeviceSession.id))
    ).all()
    assert len(devices) == 2
    phone_device = devices[0]
    assert phone.get("/profile").status_code == 200

    response = laptop.post(f"/profile/devices/{phone_device}/revoke")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/profile"

    response = phone.get("/profile")
    assert login_redirect(response)
    # DESIGN: remote revocation wipes the phone (a lost phone's caches and outbox).
    assert '"storage"' in response.headers.get("Clear-Site-Data", "")
    assert login_redirect(phone.get("/participants/"))
    assert laptop.get("/profile").status_code == 200
    session.rollback()
    events = session.exec(select(AuditEvent).where(AuditEvent.event == "device_revoked")).all()
    assert [(e.actor_id, e.object_id) for e in events] == [(user.id, str(phone_device))]


def test_deactivating_a_user_ends_their_session_at_once(app, session, world, login_as, actor_for):
    client = app.test_client()
    user = login_as("interrupter", client=client)
    assert client.get("/participants/").status_code == 200
    admin = actor_for(factories.create_user(session, world, "admin"))
    auth_services.set_user_active(session=session, actor=admin, user_id=user.id, active=False)
    session.commit()
    assert login_redirect(client.get("/participants/"))
    # Signing in again is refused too.
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 200
    assert login_redirect(client.get("/participants/"))


def test_an_idle_office_session_is_refused_after_30_minutes(session, world):
    user = factories.create_user(session, world, "supervisor")
    start = utcnow()
    token = auth_services.start_device_session(
        session=session, user=user, device_label="t", now=start
    )
    session.commit()
    later = start + timedelta(minutes=29)
    assert auth_services.principal_for_token(session=session, token=token, now=later) is not None
    session.commit()
    # Idle time counts from the last request, not from the sign-in.
    still = later + timedelta(minutes=29)
    assert auth_services.principal_for_token(session=session, token=token, now=still) is not None
    session.commit()
    idle = still + timedelta(minutes=31)
    assert auth_services.principal_for_token(session=session, token=token, now=idle) is None


@pytest.mark.parametrize(
    ("role", "idle", "absolute"),
    [
        # DESIGN: 30 minutes idle and 12 hours absolute for office roles.
        ("supervisor", timedelta(minutes=30), timedelta(hours=12)),
        ("admin", timedelta(minutes=30), timedelta(hours=12)),
        # Field roles: longer, a product decision kept in auth.services.
        ("interrupter", auth_services.FIELD_IDLE, auth_services.FIELD_ABSOLUTE),
    ],
)
def test_a_session_ends_at_its_absolute_limit_however_busy(session, world, role, idle, absolute):
    assert idle < absolute
    user = factories.create_user(session, world, role)
    start = utcnow()
    token = auth_services.start_device_session(
        session=session, user=user, device_label="t", now=start
    )
    session.commit()
    step = idle * 0.8
    now = start
    while now + step < start + absolute:
        now += step
        found = auth_services.principal_for_token(session=session, token=token, now=now)
        assert found is not None, f"refused after {now - start} though active"
        session.commit()
    past = start + absolute + timedelta(minutes=1)
    assert past - now < idle  # not idle: only the absolute limit can refuse it
    assert auth_services.principal_for_token(session=session, token=token, now=past) is None


def test_an_idle_session_is_refused_on_the_next_request(app, session, login_as):
    client = app.test_client()
    user = login_as("supervisor", client=client)
    assert client.get("/profile").status_code == 200
    session.rollback()
    for device in session.exec(select(DeviceSession).where(DeviceSession.user_id == user.id)):
        device.last_seen_at = utcnow() - timedelta(minutes=31)
        session.add(device)
    session.commit()
    assert login_redirect(client.get("/profile"))


# Login ---------------------------------------------------------------------------------------


@pytest.fixture
def limited_app(app: Flask, database_url: str) -> Iterator[Flask]:
    limited = create_app(
        _test_config(
            database_url,
            RATELIMIT_ENABLED=True,
            RATELIMIT_STORAGE_URI="memory://",
            RATELIMIT_ALLOW_MEMORY=True,
            # A stopped clock: the account's wait never runs out during the test.
            CLOCK=lambda frozen=datetime.now(UTC): frozen,
        )
    )
    yield limited
    limited.extensions["db_engine"].dispose()


def test_login_is_rate_limited_per_account(limited_app, session, world):
    target = factories.create_user(session, world, "interrupter")
    other = factories.create_user(session, world, "supervisor")
    session.commit()
    client = limited_app.test_client()
    for attempt in range(5):
        response = client.post("/login", data={"email": target.email, "password": "wrong-guess"})
        assert response.status_code == 200, f"attempt {attempt + 1}: {response.status_code}"
    # The 6th, even with the right password and the address in capitals, waits (the account's
    # failures are in the database: tests/test_login_throttle.py).
    response = client.post(
        "/login", data={"email": target.email.upper(), "password": factories.PASSWORD}
    )
    assert response.status_code == 429
    # Another account from the same address still gets through.
    response = client.post("/login", data={"email": other.email, "password": factories.PASSWORD})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/"


def test_a_failed_login_is_audited_without_the_email(client, session, world, caplog):
    caplog.set_level(logging.DEBUG)
    user = factories.create_user(session, world, "interrupter")
    session.commit()
    unknown = "nobody-7f3a@example.org"
    for email in (user.email, unknown):
        response = client.post("/login", data={"email": email, "password": "not-the-password"})
        assert response.status_code == 200
    session.rollback()
    events = session.exec(select(AuditEvent).where(AuditEvent.event == "login_failed")).all()
    assert len(events) == 2
    for event in events:
        stored = json.dumps(event.model_dump(), default=str).lower()
        for email in (user.email, unknown):
            local = email.split("@")[0].lower()
            assert email.lower() not in stored and local not in stored, stored
    for record in caplog.records:
        message = record.getMessage().lower()
        assert user.email.split("@")[0] not in message and "nobody-7f3a" not in message
