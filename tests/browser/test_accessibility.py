"""axe-core on every role's home, the supervisor's dashboard, the "more" page and the
must-acknowledge banner, at 360 x 740 in Swedish (issue 10): no serious or critical violation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from interrupters.auth.models import User
from interrupters.db import session_scope
from interrupters.push import services as push

from .axe import assert_accessible, axe_version, report, violations
from .live import PHONE, LiveServer, sign_in

pytestmark = pytest.mark.browser

# One demo account per role; the supervisor's home is the dashboard.
ROLES = {
    "night_walker": "walker4@example.org",
    "association_lead": "lead@example.org",
    "briefing_author": "author@example.org",
    "interrupter": "interrupter@example.org",
    "supervisor": "supervisor@example.org",
    "researcher": "researcher@example.org",
    "admin": "admin@example.org",
}


@pytest.fixture
def phone(browser: Browser, live: LiveServer) -> Iterator[Page]:
    context = browser.new_context(**PHONE, base_url=live.url)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_axe_comes_from_the_registry_package(phone: Page, live: LiveServer) -> None:
    phone.goto("/login")
    major, minor = (int(part) for part in axe_version(phone).split(".")[:2])
    assert (major, minor) >= (4, 10)


def test_the_check_fails_on_a_page_with_violations(phone: Page, live: LiveServer) -> None:
    """The helper can fail: an image without a name and a nameless button are found."""
    phone.goto("/login")
    phone.evaluate(
        """() => {
          const main = document.querySelector('main');
          main.insertAdjacentHTML('beforeend', '<img src="/static/x.png"><button></button>');
        }"""
    )
    found = violations(phone)
    assert {"image-alt", "button-name"} <= {v["id"] for v in found}
    text = report(found, "the login page")
    assert "image-alt (critical)" in text and "button-name (critical)" in text


@pytest.mark.parametrize("role", sorted(ROLES))
def test_home_and_more_page(phone: Page, live: LiveServer, role: str) -> None:
    sign_in(phone, live.url, ROLES[role])
    for path in ("/", "/more"):
        phone.goto(path)
        expect(phone.locator("main h1")).to_be_visible()
        assert_accessible(phone, f"{path} as {role}")


def test_login_and_offline_pages(phone: Page, live: LiveServer) -> None:
    for path in ("/login", "/offline"):
        phone.goto(path)
        assert_accessible(phone, path)


def test_the_must_acknowledge_banner(phone: Page, live: LiveServer) -> None:
    email = "walker2@example.org"
    with session_scope(live.app.extensions["db_engine"]) as session:
        user = session.exec(select(User).where(User.email == email)).one()
        for number in (1, 2):
            push.notify(
                session=session,
                recipient_ids=[user.id or 0],
                kind="axe_banner",
                subject=f"axe-banner:{number}",
                title="Konflikt i Järva höjd till nivå 4",
                body="Öppna appen.",
                url="/conflicts/",
                requires_ack=True,
            )
        session.commit()
    sign_in(phone, live.url, email)
    for path in ("/", "/more", "/notifications"):
        phone.goto(path)
        expect(phone.locator("[data-ack-banner]")).to_be_visible()
        assert_accessible(phone, f"{path} with the banner")
    # Settle both, so the shared demo data is as it was.
    for _ in range(2):
        with phone.expect_navigation():
            phone.locator("[data-ack-banner] button[type=submit]").click()
    expect(phone.locator("[data-ack-banner]")).to_have_count(0)
