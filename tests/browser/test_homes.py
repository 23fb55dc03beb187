"""Every role's home on a phone at 360 x 740 (issue 10): the demo's items, the tab bar and its
badge inside the viewport, nothing off-screen, and the must-acknowledge banner until it is
acknowledged."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from interrupters.auth.models import User
from interrupters.db import session_scope
from interrupters.push import services as push

from .live import PHONE, LiveServer, sign_in

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = PHONE["viewport"]["width"], PHONE["viewport"]["height"]
# Demo accounts and what their home shows from the demo data.
HOMES = {
    "walker4@example.org": "Helgens lägesbild Järva",
    "lead@example.org": "Kommande vandringar",
    "author@example.org": "Utkast",
    "interrupter@example.org": "Registrera kontakt",
    "supervisor@example.org": "Granskningskö",
    "researcher@example.org": "Siffror",
    "admin@example.org": "Systemets hälsa",
}


@pytest.fixture
def phone(browser: Browser, live: LiveServer) -> Iterator[Page]:
    context = browser.new_context(**PHONE, base_url=live.url)
    try:
        yield context.new_page()
    finally:
        context.close()


def _inside(page: Page, selector: str) -> None:
    for index in range(page.locator(selector).count()):
        box = page.locator(selector).nth(index).bounding_box()
        assert box is not None, selector
        assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH + 0.5, (selector, box)
        assert box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT + 0.5, (selector, box)


@pytest.mark.parametrize("email", sorted(HOMES))
def test_each_home_at_phone_size(phone: Page, live: LiveServer, email: str) -> None:
    sign_in(phone, live.url, email)
    phone.goto("/")
    expect(phone.locator("main")).to_contain_text(HOMES[email])
    tabs = phone.locator("[data-tabbar] a")
    assert 3 <= tabs.count() <= 5
    _inside(phone, "[data-tabbar] a")
    _inside(phone, "[data-badge]")
    # Nothing off-screen sideways (a wide table scrolls inside its own box).
    assert phone.evaluate("document.documentElement.scrollWidth") <= WIDTH
    # The top menu is not shown on a phone; the tab bar is.
    expect(phone.locator("nav.topnav")).to_be_hidden()
    expect(phone.locator("[data-tabbar]")).to_be_visible()


def test_the_banner_stays_on_every_page_until_acknowledged(phone: Page, live: LiveServer) -> None:
    email = "interrupter2@example.org"
    with session_scope(live.app.extensions["db_engine"]) as session:
        user = session.exec(select(User).where(User.email == email)).one()
        push.notify(
            session=session,
            recipient_ids=[user.id or 0],
            kind="browser_banner",
            subject="browser-banner:1",
            title="Konflikt i Järva höjd till nivå 4",
            body="Öppna appen.",
            url="/conflicts/",
            requires_ack=True,
        )
        session.commit()
    sign_in(phone, live.url, email)
    for path in ("/", "/participants/", "/more"):
        phone.goto(path)
        banner = phone.locator("[data-ack-banner]")
        expect(banner).to_contain_text("Konflikt i Järva")
        _inside(phone, "[data-ack-banner] button")
    expect(phone.locator("[data-badge]")).to_be_visible()
    phone.locator("[data-ack-banner] button[type=submit]").click()
    phone.wait_for_url("**/more")
    expect(phone.locator("[data-ack-banner]")).to_have_count(0)
    phone.goto("/participants/")
    expect(phone.locator("[data-ack-banner]")).to_have_count(0)
