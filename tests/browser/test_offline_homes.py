"""Every street role's start page read offline (issue 10, item 1; DESIGN.md guarantee 7).

A night walker, an association lead and an interrupter visit their start page online, lose
the network, and reload or tap Start: the page is there, with a note saying it is offline and
how old it is. What the phone keeps is read back with the browser's own Cache API: only the
pages that role may keep, no participant but the interrupter's own (codes only, no nickname),
and a supervisor's dashboard never.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from interrupters.auth.models import User
from interrupters.participants.models import Participant

from .axe import assert_accessible
from .live import PHONE, LiveServer, sign_in

pytestmark = pytest.mark.browser

PERMISSIONS = ["background-sync", "notifications"]
T = TypeVar("T")

# What each role's phone may keep, path by path (interrupters/pwa/views.py OFFLINE_PAGES,
# HOME_KEPT_FOR), and a text its start page shows from the demo data.
STREET = {
    "walker@example.org": (
        {"/", "/briefings/current", "/walks/reports/new"},
        "Helgens lägesbild Järva",
    ),
    "lead@example.org": (
        {"/", "/briefings/current", "/walks/reports/new"},
        "Kommande vandringar",
    ),
    "interrupter@example.org": (
        {
            "/",
            "/briefings/current",
            "/contacts/new",
            "/participants/follow-ups",
            "/conflicts/new",
            "/conflicts/levels",
            "/conflicts/incidents/new",
            "/referrals/new",
            "/picture/signal",
            "/services",
            "/walks/reports/new",
        },
        "uppföljning",
    ),
}

KEPT = """
async () => {
  const kept = {};
  for (const name of await caches.keys()) {
    if (name.startsWith("static-")) continue;
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      kept[new URL(request.url).pathname] = await response.text();
    }
  }
  return kept;
}
"""


def _eventually(probe: Callable[[], T], done: Callable[[T], bool], what: str) -> T:
    deadline = time.monotonic() + 10
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r} after 10 s")
        time.sleep(0.05)


@pytest.fixture
def phone(browser: Browser, live: LiveServer) -> Iterator[Page]:
    context = browser.new_context(**PHONE, base_url=live.url, permissions=PERMISSIONS)
    try:
        yield context.new_page()
    finally:
        context.close()


def _online_visit(page: Page, live: LiveServer, email: str) -> dict[str, str]:
    """Sign in, let the service worker take over and keep its pages; what it kept."""
    sign_in(page, live.url, email)
    page.goto("/")
    page.evaluate("navigator.serviceWorker.ready")
    _eventually(
        lambda: page.evaluate("navigator.serviceWorker.ready.then((r) => r.active.state)"),
        lambda state: state == "activated",
        "the service worker activated",
    )
    # A visit under the worker's control, as every visit after the first.
    page.reload()
    assert page.evaluate("Boolean(navigator.serviceWorker.controller)")
    expect(page.locator("[data-offline-note]")).to_be_hidden()
    # Online, the buttons that need the network are there and their offline lines are not.
    for needs_network in page.locator("main [data-needs-network]").all():
        expect(needs_network).to_be_visible()
    for offline_only in page.locator("main [data-offline-only]").all():
        expect(offline_only).to_be_hidden()
    return dict(page.evaluate(KEPT))


def _codes(live: LiveServer, email: str) -> tuple[set[str], set[str], set[str]]:
    """Every participant code, the person's own codes, and every nickname, from the server."""
    with Session(live.app.extensions["db_engine"]) as session:
        user = session.exec(select(User).where(User.email == email)).one()
        everyone = list(session.exec(select(Participant)))
    return (
        {p.code for p in everyone},
        {p.code for p in everyone if p.worker_id == user.id},
        {p.nickname for p in everyone if p.nickname},
    )


def _codes_in(pages: dict[str, str], codes: set[str]) -> set[tuple[str, str]]:
    """(path, code) for every participant code a kept page holds."""
    return {
        (path, code)
        for path, body in pages.items()
        for code in codes
        if re.search(rf"\b{re.escape(code)}\b", body)
    }


@pytest.mark.parametrize("email", sorted(STREET))
def test_a_street_roles_home_reads_offline(phone: Page, live: LiveServer, email: str) -> None:
    allowed, shown = STREET[email]
    _online_visit(phone, live, email)
    kept = _eventually(lambda: dict(phone.evaluate(KEPT)), lambda k: "/" in k, "the kept home")
    # Only what this role may keep. A walker's and a lead's phone holds no participant code at
    # all; an interrupter's start page only codes of their own caseload, and no nickname. (The
    # forms an interrupter keeps list the codes the form offers: the contacts domain's choice.)
    assert set(kept) <= allowed, sorted(set(kept) - allowed)
    every_code, own_codes, nicknames = _codes(live, email)
    searched = kept if email != "interrupter@example.org" else {"/": kept["/"]}
    found = _codes_in(searched, every_code)
    assert {code for _path, code in found} <= own_codes, sorted(found)
    if email != "interrupter@example.org":
        assert found == set()
    assert not [n for n in nicknames for body in kept.values() if n in body]

    phone.context.set_offline(True)
    phone.wait_for_function("!navigator.onLine")
    phone.reload()
    main = phone.locator("main")
    expect(main.locator("h1")).to_contain_text("Välkommen")
    expect(main).to_contain_text(shown)
    note = phone.locator("[data-offline-note]")
    expect(note).to_be_visible()
    expect(note).to_contain_text(re.compile(r"Offline.*\d\d:\d\d"))
    # What needs the network is not offered on the copy; a line says why.
    for needs_network in phone.locator("main [data-needs-network]").all():
        expect(needs_network).to_be_hidden()
    assert_accessible(phone, f"the kept start page of {email}, offline")
    if email == "walker@example.org":
        assert phone.locator("main [data-needs-network]").count() >= 1
        expect(main.get_by_text("Anmälan och avanmälan kräver nät.").first).to_be_visible()

    # Elsewhere and back by the Start tab: the kept home again.
    phone.goto("/more")
    expect(phone.locator("main h1")).to_have_text("Inget nät")
    # The offline page offers the start page these roles keep.
    expect(phone.locator(".offline-actions a[href='/']")).to_have_count(1)
    phone.locator("[data-tabbar] a[href='/']").click()
    phone.wait_for_url(f"{live.url}/")
    expect(phone.locator("main")).to_contain_text(shown)
    expect(phone.locator("[data-offline-note]")).to_be_visible()


def test_the_dashboard_is_never_kept(phone: Page, live: LiveServer) -> None:
    kept = _online_visit(phone, live, "supervisor@example.org")
    assert "/" not in kept
    # The supervisor's own follow-ups are kept as any worker's are: their own codes only.
    every_code, own_codes, _nicknames = _codes(live, "supervisor@example.org")
    found = _codes_in(
        {p: b for p, b in kept.items() if p == "/participants/follow-ups"}, every_code
    )
    assert {code for _path, code in found} <= own_codes, sorted(found)
    phone.context.set_offline(True)
    phone.wait_for_function("!navigator.onLine")
    phone.reload()
    expect(phone.locator("main h1")).to_have_text("Inget nät")
    # The offline page does not offer the start page it cannot show.
    expect(phone.locator(".offline-actions a[href='/']")).to_have_count(0)
    phone.context.set_offline(False)


def test_the_server_says_whose_start_page_may_be_kept(phone: Page, live: LiveServer) -> None:
    """The header the service worker obeys: "1" for a street role (until the briefing it
    shows expires), "0" for an office role."""
    sign_in(phone, live.url, "walker@example.org")
    answer: Any = phone.request.get("/")
    assert answer.headers["x-keep-offline"] == "1"
    assert "x-expires-at" in answer.headers
    phone.context.clear_cookies()
    sign_in(phone, live.url, "researcher@example.org")
    answer = phone.request.get("/")
    assert answer.headers["x-keep-offline"] == "0"
