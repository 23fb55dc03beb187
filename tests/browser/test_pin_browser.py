"""A field phone's PIN in Chromium (issue 9, item 5): the browser closed and reopened on the
same profile asks for the PIN, not the password; records queued before the restart are sent
while it is locked; offline after the restart the forms work and participant codes wait; five
wrong PINs end the session and wipe the phone.

The browser runs on a profile on disk (launch_persistent_context), closed and launched again as
a phone's browser is killed and restarted: cookies without an expiry are gone, the rest stays.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from uuid import uuid4

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, expect
from sqlmodel import Session, col, select

from interrupters.audit.models import AuditEvent
from interrupters.auth.models import DeviceSession

from .live import LiveServer, sign_in
from .test_offline import (
    READ_PUBLIC_KEY,
    Problems,
    _contacts,
    _eventually,
    _go_offline,
    _launch,
    _log_contact,
    _note,
    _outbox,
    _panel_count,
    _ready_for_the_street,
    _user_id,
)

pytestmark = pytest.mark.browser

WORKER = "interrupter@example.org"
PIN = "3917"
FOLLOW_UPS = "/participants/follow-ups"

# Everything the origin keeps, counted with the browser's own APIs.
STORAGE = """
async () => ({
  databases: (await indexedDB.databases()).map((d) => d.name),
  caches: await caches.keys(),
  workers: (await navigator.serviceWorker.getRegistrations()).length,
  local: localStorage.length,
})
"""
KEPT_PAGES = """
async () => (await (await caches.open("pages")).keys()).map((r) => new URL(r.url).pathname)
"""
CACHED_FOLLOW_UPS = f"""
async () => {{
  const copy = await (await caches.open("pages")).match("{FOLLOW_UPS}");
  return copy ? await copy.text() : null;
}}
"""


@pytest.fixture
def problems() -> Problems:
    return Problems()


class Clock:
    """The live server's clock, moved past the waits between wrong PINs (no sleeping)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def clock(live: LiveServer) -> Iterator[Clock]:
    clock = Clock()
    live.app.config["CLOCK"] = clock
    try:
        yield clock
    finally:
        live.app.config["CLOCK"] = None


@pytest.fixture(autouse=True)
def server_restored(live: LiveServer) -> Iterator[None]:
    yield
    live.faults.disarm()
    live.start()


def _path(page: Page) -> str:
    return urlsplit(page.url).path


def _restart(
    context: BrowserContext,
    playwright: Playwright,
    profile: Path,
    live: LiveServer,
    problems: Problems,
) -> tuple[BrowserContext, Page]:
    """Close the browser and start it again on the same profile."""
    context.close()
    context = _launch(playwright, profile, live)
    return context, problems.watch(context.pages[0])


def _cookies(context: BrowserContext) -> dict[str, dict]:
    return {cookie["name"]: dict(cookie) for cookie in context.cookies()}


def _device(live: LiveServer) -> DeviceSession:
    """The worker's newest device session."""
    with Session(live.app.extensions["db_engine"]) as session:
        row = session.exec(
            select(DeviceSession)
            .where(DeviceSession.user_id == _user_id(live, WORKER))
            .order_by(col(DeviceSession.id).desc())
        ).first()
        assert row is not None
        return row


def _enter_pin(page: Page, pin: str) -> None:
    page.locator("input[name=pin]").fill(pin)
    with page.expect_navigation():
        page.locator("form:has(input[name=pin]) button[type=submit]").click()


def test_a_restart_asks_for_the_pin_and_the_outbox_sends_while_locked(
    playwright: Playwright, live: LiveServer, tmp_path: Path, problems: Problems
) -> None:
    marker = f"pin-{uuid4().hex[:10]}"
    profile = tmp_path / "phone-profile"
    context = _launch(playwright, profile, live)
    page = problems.watch(context.pages[0])
    sign_in(page, live.url, WORKER, pin=PIN)
    cookies = _cookies(context)
    # The long session's cookies outlive the browser; the unlocked time does not.
    assert cookies["resume"]["httpOnly"] and cookies["resume"]["expires"] > 0
    assert not cookies["pin"]["httpOnly"] and cookies["pin"]["expires"] > 0
    assert cookies["pin_until"]["expires"] == -1 and cookies["session"]["expires"] == -1
    _ready_for_the_street(page)
    page.goto(FOLLOW_UPS)
    codes = page.locator("main td.code")
    expect(codes.first).to_be_visible()
    code = codes.first.inner_text().strip()
    assert re.fullmatch(r"[A-Z]-[A-Z0-9]{4}", code), code

    # Offline on the street: two contacts wait in the outbox when the phone kills the browser.
    _go_offline(page)
    page.goto("/contacts/new")
    _log_contact(page, _note(marker, 0), waiting=1)
    _log_contact(page, _note(marker, 1), waiting=2)
    assert _contacts(live, marker) == []

    # Restarted without network: the forms work, what shows participant codes waits. (The
    # server is stopped rather than the browser set offline: the browser's first moments, when
    # Background Sync already sends, come before any page could be set offline.)
    live.stop()
    context, page = _restart(context, playwright, profile, live, problems)
    page.goto("/contacts/new")
    expect(page.locator("html")).to_have_attribute("data-locked", "")
    expect(page.locator("[data-lock-note]")).to_be_visible()
    expect(page.locator("select[name=participant_id]")).to_be_hidden()
    _log_contact(page, _note(marker, 2), waiting=3)
    page.goto(FOLLOW_UPS)
    # The phone kept the page (its copy has the codes), and shows none of them.
    assert code in (page.evaluate(CACHED_FOLLOW_UPS) or "")
    expect(page.locator("[data-lock-note]")).to_be_visible()
    expect(page.locator("main")).to_be_hidden()
    assert code not in page.locator("body").inner_text()

    # Back online: the PIN, not the password; the outbox sends while the app is locked.
    live.start()
    page.goto("/")
    assert _path(page) == "/pin"
    expect(page.locator("input[name=pin]")).to_be_visible()
    expect(page.locator("input[name=password]")).to_have_count(0)
    stored = _eventually(
        lambda: _contacts(live, marker), lambda found: len(found) == 3, "records sent", 20
    )
    assert sorted(c.note for c in stored) == sorted(_note(marker, n) for n in range(3))
    assert _path(page) == "/pin"
    _panel_count(page, 0)
    assert _outbox(page) == []

    # A new release reaches the phone while it is locked: the new service worker refreshes the
    # kept pages, is sent to the PIN for each, and keeps the copies it has (not signed out).
    release = live.app.config["STATIC_VERSION"]
    live.app.config["STATIC_VERSION"] = f"{release}-next"
    try:
        page.evaluate(
            "async () => { await (await navigator.serviceWorker.getRegistration()).update(); }"
        )
        _eventually(
            lambda: page.evaluate("caches.keys()"),
            lambda keys: f"static-{release}-next" in keys and f"static-{release}" not in keys,
            "the new release's service worker active",
        )
        page.wait_for_timeout(500)  # its activation refreshes the kept pages (no event to wait on)
        kept = page.evaluate(KEPT_PAGES)
        assert {"/contacts/new", FOLLOW_UPS} <= set(kept), kept
    finally:
        live.app.config["STATIC_VERSION"] = release

    # The right PIN opens the app where it was going; the codes show again.
    _enter_pin(page, PIN)
    assert _path(page) == "/"
    page.goto(FOLLOW_UPS)
    expect(page.locator("html")).not_to_have_attribute("data-locked", "")
    expect(page.locator("main td.code").first).to_have_text(code)
    with Session(live.app.extensions["db_engine"]) as session:
        resumed = session.exec(
            select(AuditEvent).where(AuditEvent.event == "session_resumed")
        ).all()
    assert resumed
    context.close()
    assert problems == []


def test_five_wrong_pins_wipe_the_phone(
    playwright: Playwright, live: LiveServer, tmp_path: Path, problems: Problems, clock: Clock
) -> None:
    profile = tmp_path / "lost-phone"
    context = _launch(playwright, profile, live)
    page = problems.watch(context.pages[0])
    sign_in(page, live.url, WORKER, pin=PIN)
    _ready_for_the_street(page)
    device_id = _device(live).id

    # Found on the metro, the browser restarted: the finder is asked for the PIN.
    context, page = _restart(context, playwright, profile, live, problems)
    page.goto("/participants/")
    assert _path(page) == "/pin"
    assert page.evaluate(READ_PUBLIC_KEY)
    kept = page.evaluate(STORAGE)
    assert kept["databases"] and kept["caches"] and kept["workers"]
    for attempt in range(4):
        _enter_pin(page, f"97{attempt}1")
        assert _path(page) == "/pin"
        expect(page.locator(".error")).to_contain_text(str(4 - attempt))
        clock.offset += timedelta(seconds=61)
    _enter_pin(page, "9751")

    # The fifth: signed out, and the app's storage on the phone is gone.
    assert _path(page) == "/login"
    _eventually(
        lambda: page.evaluate(STORAGE),
        lambda found: found == {"databases": [], "caches": [], "workers": 0, "local": 0},
        "the phone wiped",
    )
    assert not {"resume", "pin", "pin_until"} & _cookies(context).keys()
    with Session(live.app.extensions["db_engine"]) as session:
        device = session.get(DeviceSession, device_id)
        assert device is not None and device.revoked_reason == "pin_lockout"
        lockouts = session.exec(
            select(AuditEvent)
            .where(AuditEvent.event == "pin_lockout")
            .where(AuditEvent.object_id == device_id)
        ).all()
    assert len(lockouts) == 1
    # Restarted once more, it knows nothing of the worker: the password is asked.
    context, page = _restart(context, playwright, profile, live, problems)
    page.goto("/participants/")
    assert _path(page) == "/login"
    context.close()
    assert problems == []
