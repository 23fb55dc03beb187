"""Web Push in the phone's browser: opting in on the profile, and the service worker showing a push.

Headless Chromium has no push service (PushManager.subscribe() fails, PITFALLS.md), so:

- the opt-in test replaces only PushManager's subscribe/getSubscription with a subscription to
  our own push service on 127.0.0.1 (tests/pushservice.py), with keys the test holds; the
  component, its permission request, CSRF header and POST, and the server are the real ones;
- the server then notifies and delivers for real: the push service checks the VAPID signature
  and decrypts the message with the subscription's private key;
- that decrypted message is handed to the service worker through the DevTools protocol
  (ServiceWorker.deliverPushMessage), and the notification it shows is read back with
  `registration.getNotifications()`: title, body, tag and the link it opens.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, expect
from sqlmodel import Session, select

from interrupters.auth.models import User
from interrupters.push import jobs
from interrupters.push import services as push
from interrupters.push.models import PushSubscription
from interrupters.push.webpush import application_server_key

from ..pushservice import PushService, Subscriber
from .live import PHONE, LiveServer, sign_in

pytestmark = pytest.mark.browser

SUPERVISOR = "supervisor@example.org"
# PITFALLS.md: grant_permissions denies whatever is not listed.
PERMISSIONS = ["background-sync", "notifications"]
T = TypeVar("T")

# PushManager as a phone with a push service has it, but subscribed to our own service.
FAKE_PUSH_MANAGER = """
(subscription) => {
  // Kept across pages, as the browser keeps a real one.
  const KEY = "test-push-subscription";
  const made = (key) => ({
    endpoint: subscription.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true, applicationServerKey: new Uint8Array(key).buffer },
    toJSON() {
      return { endpoint: subscription.endpoint, expirationTime: null, keys: subscription.keys };
    },
    async unsubscribe() { sessionStorage.removeItem(KEY); return true; },
  });
  PushManager.prototype.getSubscription = async function () {
    const key = sessionStorage.getItem(KEY);
    return key ? made(JSON.parse(key)) : null;
  };
  PushManager.prototype.subscribe = async function (options) {
    const key = Array.from(new Uint8Array(options.applicationServerKey));
    sessionStorage.setItem(KEY, JSON.stringify(key));
    window.__subscribedWith = key;
    return made(key);
  };
}
"""

NOTIFICATIONS = """
async () => (await (await navigator.serviceWorker.ready).getNotifications()).map(
  (n) => ({
    title: n.title, body: n.body, tag: n.tag, data: n.data,
    requireInteraction: n.requireInteraction,
  })
)
"""


def _eventually(
    probe: Callable[[], T], done: Callable[[T], bool], what: str, timeout: float = 10
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value) or time.monotonic() > deadline:
            assert done(value), f"{what}: still {value!r} after {timeout} s"
            return value
        time.sleep(0.1)


@pytest.fixture
def push_live(live: LiveServer) -> Iterator[LiveServer]:
    """The live server, accepting subscriptions to a push service on 127.0.0.1 (http)."""
    saved = {key: live.app.config[key] for key in ("PUSH_SERVICE_HOSTS", "PUSH_ALLOW_HTTP")}
    live.app.config.update(PUSH_SERVICE_HOSTS=("127.0.0.1",), PUSH_ALLOW_HTTP=True)
    try:
        yield live
    finally:
        live.app.config.update(saved)


@pytest.fixture
def push_service(push_live: LiveServer) -> Iterator[PushService]:
    with PushService(application_server_key=application_server_key(push_live.app)) as service:
        yield service
    assert service.failures == []


@pytest.fixture
def phone(browser: Browser, push_live: LiveServer) -> Iterator[tuple[Page, list[str]]]:
    """A fresh phone that allows notifications, and the errors its pages report."""
    context = browser.new_context(**PHONE, base_url=push_live.url, permissions=PERMISSIONS)
    page = context.new_page()
    problems: list[str] = []

    def _console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console error on {page.url}: {message.text}")

    def _page_error(error: Error) -> None:
        problems.append(f"uncaught exception on {page.url}: {error.message}")

    page.on("console", _console)
    page.on("pageerror", _page_error)
    try:
        yield page, problems
    finally:
        context.close()


def _registration_id(page: Page, origin: str) -> tuple[Any, str]:
    """A DevTools session on the page and the id of the app's service worker registration."""
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


def _subscriptions(live: LiveServer, email: str) -> list[PushSubscription]:
    with Session(live.app.extensions["db_engine"]) as session:
        user = session.exec(select(User).where(User.email == email)).one()
        return list(
            session.exec(select(PushSubscription).where(PushSubscription.user_id == user.id))
        )


def test_opt_in_then_a_push_is_shown_with_its_link(phone, push_live, push_service):
    page, problems = phone
    browser_side: Subscriber = push_service.subscriber()
    page.add_init_script(
        script=f"({FAKE_PUSH_MANAGER})({json.dumps(browser_side.subscription_json())})"
    )
    sign_in(page, push_live.url, SUPERVISOR)
    page.goto("/profile")
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    panel = page.locator("[data-push-optin]")
    # Not subscribed yet: the explanation, and the button to turn it on.
    expect(panel).to_have_attribute("data-push-state", "off")
    expect(panel.locator("[data-push-disable]")).to_be_hidden()
    panel.locator("[data-push-enable]").click()
    expect(panel).to_have_attribute("data-push-state", "on")
    expect(panel.locator("[data-push-disable]")).to_be_visible()

    # The browser subscribed with the server's VAPID key, and the server has the subscription.
    key = push._b64url(application_server_key(push_live.app))
    assert page.evaluate("window.__subscribedWith") == list(key)
    (stored,) = _subscriptions(push_live, SUPERVISOR)
    assert stored.endpoint == browser_side.endpoint
    assert (stored.p256dh, stored.auth) == (browser_side.p256dh, browser_side.auth)

    # An alert for the supervisor, notified and delivered by the server for real.
    with Session(push_live.app.extensions["db_engine"], expire_on_commit=False) as session:
        user = session.exec(select(User).where(User.email == SUPERVISOR)).one()
        rows = push.notify(
            session=session,
            recipient_ids=[user.id or 0],
            kind="browser_test",
            subject=f"browser:{time.time_ns()}",
            title="Konflikt i Järva höjd till nivå 4",
            body="Öppna appen för att se och kvittera.",
            url="/notifications",
            requires_ack=True,
        )
        session.commit()
    jobs.deliver_soon(notification_ids=[r.id for r in rows], app=push_live.app)
    (message,) = push_service.wait_for(1, timeout=10)
    jobs.join_deliveries(push_live.app)

    # The decrypted message, as the push service hands it to the browser.
    cdp, registration_id = _registration_id(page, push_live.url)
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": push_live.url,
            "registrationId": registration_id,
            "data": message.plaintext.decode(),
        },
    )
    shown = _eventually(lambda: page.evaluate(NOTIFICATIONS), bool, "the notification")
    assert shown == [
        {
            "title": "Konflikt i Järva höjd till nivå 4",
            "body": "Öppna appen för att se och kvittera.",
            "tag": rows[0].subject,
            "data": {"url": "/notifications"},
            "requireInteraction": True,
        }
    ]
    # The link opens the notification list, where the alert waits to be acknowledged.
    page.goto(shown[0]["data"]["url"])
    item = page.locator(f"#notification-{rows[0].id}")
    expect(item).to_contain_text("Konflikt i Järva höjd till nivå 4")
    item.locator("button[type=submit]").click()
    expect(item.locator("button[type=submit]")).to_have_count(0)

    # Turning it off removes the subscription on the server too.
    page.goto("/profile")
    panel = page.locator("[data-push-optin]")
    expect(panel).to_have_attribute("data-push-state", "on")
    panel.locator("[data-push-disable]").click()
    expect(panel).to_have_attribute("data-push-state", "off")
    _eventually(lambda: _subscriptions(push_live, SUPERVISOR), lambda rows: rows == [], "removal")
    assert problems == []


def test_a_push_from_outside_the_app_opens_only_the_app(phone, push_live):
    """A message whose url is not a path of this app opens the start page, not that address."""
    page, problems = phone
    sign_in(page, push_live.url, SUPERVISOR)
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    cdp, registration_id = _registration_id(page, push_live.url)
    payload = {"title": "Hej", "body": "", "url": "https://evil.example/", "tag": "x", "ack": False}
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": push_live.url, "registrationId": registration_id, "data": json.dumps(payload)},
    )
    shown = _eventually(lambda: page.evaluate(NOTIFICATIONS), bool, "the notification")
    assert [(n["title"], n["data"], n["requireInteraction"]) for n in shown] == [
        ("Hej", {"url": "/"}, False)
    ]
    assert problems == []


def test_without_a_push_service_the_opt_in_says_so(phone, push_live):
    """Headless Chromium cannot subscribe: the profile says it failed, nothing is stored."""
    page, problems = phone
    sign_in(page, push_live.url, "lead@example.org")
    page.goto("/profile")
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    panel = page.locator("[data-push-optin]")
    expect(panel).to_have_attribute("data-push-state", "off")
    panel.locator("[data-push-enable]").click()
    expect(panel).to_have_attribute("data-push-state", "failed", timeout=15000)
    expect(panel.locator("[data-push-enable]")).to_be_visible()
    assert _subscriptions(push_live, "lead@example.org") == []
    # Chromium's own explanation (a browser context is incognito), not an error of ours.
    assert [p for p in problems if "does not support the Push API in incognito" not in p] == []
