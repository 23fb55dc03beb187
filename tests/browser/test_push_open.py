"""Tapping a push opens its item, also after the session has ended (issue 10, item 4).

The push is handed to the service worker through the DevTools protocol (PITFALLS.md), and
the tap is a `notificationclick` dispatched inside the worker on the notification it shows:
the worker's own handler runs (only its `waitUntil` is the test's, as a test-made event is not
trusted). With the session ended on the server, the window lands on the login page, which
keeps the item as `next`; signing in lands on the item.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, col, select

from interrupters.auth.models import DeviceSession, User
from interrupters.db import utcnow
from interrupters.walks.models import Walk

from .live import PASSWORDS, PHONE, LiveServer, sign_in

pytestmark = pytest.mark.browser

WALKER = "walker3@example.org"
PERMISSIONS = ["background-sync", "notifications"]
T = TypeVar("T")

NOTIFICATIONS = """
async () => (await (await navigator.serviceWorker.ready).getNotifications()).map(
  (n) => ({ title: n.title, data: n.data })
)
"""
# The tap, inside the service worker, on the notification it shows.
TAP = """
async () => {
  const [notification] = await self.registration.getNotifications();
  const event = new NotificationEvent("notificationclick", { notification });
  const waits = [];
  Object.defineProperty(event, "waitUntil", { value: (promise) => waits.push(promise) });
  self.dispatchEvent(event);
  await Promise.all(waits);
  return notification.data;
}
"""


def _eventually(
    probe: Callable[[], T], done: Callable[[T], bool], what: str, seconds: float = 10
) -> T:
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r} after {seconds:g} s")
        time.sleep(0.05)


@pytest.fixture
def phone(browser: Browser, live: LiveServer) -> Iterator[Page]:
    context = browser.new_context(**PHONE, base_url=live.url, permissions=PERMISSIONS)
    try:
        yield context.new_page()
    finally:
        context.close()


def _registration_id(page: Page, origin: str) -> tuple[Any, str]:
    cdp = page.context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")

    def found() -> list[dict[str, Any]]:
        page.wait_for_timeout(50)  # the sync API delivers events only while it waits
        return [r for r in registrations if r["scopeURL"] == f"{origin}/" and not r["isDeleted"]]

    return cdp, _eventually(found, bool, "the app's service worker registration")[-1][
        "registrationId"
    ]


def _push(page: Page, live: LiveServer, url: str) -> None:
    cdp, registration_id = _registration_id(page, live.url)
    payload = {
        "title": "Ny vandringsinformation",
        "body": "Öppna appen.",
        "url": url,
        "tag": f"walk:{time.time_ns()}",
        "ack": False,
    }
    message = {"origin": live.url, "registrationId": registration_id, "data": json.dumps(payload)}
    cdp.send("ServiceWorker.deliverPushMessage", message)
    try:
        _eventually(lambda: page.evaluate(NOTIFICATIONS), bool, "the notification", seconds=5)
    except AssertionError:
        # Under a loaded CI machine DevTools once handed the push to no worker (a full run in
        # December 2026; never alone). Sent again: the same tag, so still one notification,
        # and a worker that shows none fails here all the same.
        cdp.send("ServiceWorker.deliverPushMessage", message)
        _eventually(lambda: page.evaluate(NOTIFICATIONS), bool, "the notification")


def _tap(page: Page) -> Any:
    (worker,) = _eventually(lambda: page.context.service_workers, bool, "the service worker")
    return worker.evaluate(TAP)


def _controlled(page: Page, path: str) -> None:
    page.goto(path)
    _eventually(
        lambda: page.evaluate("navigator.serviceWorker.ready.then((r) => r.active.state)"),
        lambda state: state == "activated",
        "the service worker activated",
    )
    page.reload()
    assert page.evaluate("Boolean(navigator.serviceWorker.controller)")


def _walk_id(live: LiveServer) -> int:
    with Session(live.app.extensions["db_engine"]) as session:
        walk = session.exec(select(Walk).order_by(col(Walk.planned_start).desc())).first()
        assert walk is not None and walk.id is not None
        return walk.id


def _end_sessions(live: LiveServer, email: str) -> None:
    """The walker's sessions end as by their time limit (not a revocation: no wipe)."""
    with Session(live.app.extensions["db_engine"]) as session:
        user = session.exec(select(User).where(User.email == email)).one()
        for device in session.exec(select(DeviceSession).where(DeviceSession.user_id == user.id)):
            device.expires_at = utcnow() - timedelta(minutes=1)
            session.add(device)
        session.commit()


def test_a_tap_opens_the_item_in_the_signed_in_app(phone: Page, live: LiveServer) -> None:
    sign_in(phone, live.url, WALKER)
    _controlled(phone, "/more")
    item = f"/walks/{_walk_id(live)}"
    _push(phone, live, item)
    assert _tap(phone) == {"url": item}
    phone.wait_for_url(f"{live.url}{item}")
    expect(phone.locator("main h1")).to_be_visible()


def test_after_the_session_ended_a_tap_opens_the_item_after_sign_in(
    phone: Page, live: LiveServer
) -> None:
    sign_in(phone, live.url, WALKER)
    _controlled(phone, "/more")
    item = f"/walks/{_walk_id(live)}"
    _push(phone, live, item)
    _end_sessions(live, WALKER)

    _tap(phone)
    phone.wait_for_url("**/login?**")
    assert parse_qs(urlsplit(phone.url).query)["next"] == [item]
    phone.locator("input[name=email]").fill(WALKER)
    phone.locator("input[name=password]").fill(PASSWORDS[WALKER])
    with phone.expect_navigation():
        phone.locator("form:has(input[name=password]) button[type=submit]").click()
    # A field phone is offered a PIN first (issue 9); declined, the item opens.
    assert urlsplit(phone.url).path == "/pin/new"
    assert parse_qs(urlsplit(phone.url).query)["next"] == [item]
    with phone.expect_navigation(url=f"{live.url}{item}"):
        phone.locator("form[action*='/pin/skip'] button[type=submit]").click()
    expect(phone.locator("main h1")).to_be_visible()
    expect(phone.locator("form.logout")).to_have_count(1)


def test_a_push_for_another_site_opens_the_start_page(phone: Page, live: LiveServer) -> None:
    sign_in(phone, live.url, WALKER)
    _controlled(phone, "/more")
    _push(phone, live, "https://evil.example/walks/1")
    assert _tap(phone) == {"url": "/"}
    phone.wait_for_url(f"{live.url}/")
