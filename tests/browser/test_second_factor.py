"""The second factor in Chromium (issue 9, item 1): passkey enrolment and sign-in with the
DevTools protocol's virtual authenticator standing in for the phone's screen lock; an
authenticator app's computed code; a recovery code that works once.

WebAuthn refuses an IP address as the relying party: the pages are opened on localhost.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pyotp
import pytest
from playwright.sync_api import Page
from sqlmodel import Session, select

from interrupters.audit.models import AuditEvent
from interrupters.auth.models import Passkey, User

from .live import PASSWORDS, LiveServer, sign_out

pytestmark = pytest.mark.browser

RESEARCHER = "researcher@example.org"


def _password(page: Page, origin: str) -> None:
    page.goto(f"{origin}/login")
    page.locator("input[name=email]").fill(RESEARCHER)
    page.locator("input[name=password]").fill(PASSWORDS[RESEARCHER])
    with page.expect_navigation():
        page.locator("form:has(input[name=password]) button[type=submit]").click()


def test_a_passkey_is_enrolled_and_then_signs_in(
    page: Page, live: LiveServer, two_factors: str, problems: list[str]
) -> None:
    origin = two_factors
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )["authenticatorId"]

    # After the password, an office role without a second factor sets one up first.
    _password(page, origin)
    assert urlsplit(page.url).path == "/login/authenticator"
    register = page.locator("button[data-passkey=register]")
    register.wait_for(state="visible")
    with page.expect_navigation():
        register.click()
    assert not urlsplit(page.url).path.startswith("/login"), page.url
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(credentials["credentials"]) == 1

    # The next sign-in offers the passkey, and the screen lock (verified) lets the person in.
    sign_out(page)
    _password(page, origin)
    assert urlsplit(page.url).path == "/login/second-factor"
    use = page.locator("button[data-passkey=sign-in]")
    use.wait_for(state="visible")
    with page.expect_navigation():
        use.click()
    assert not urlsplit(page.url).path.startswith("/login"), page.url
    assert page.locator("form.logout").count() == 1

    with Session(live.app.extensions["db_engine"]) as session:
        user = session.exec(select(User).where(User.email == RESEARCHER)).one()
        stored = session.exec(select(Passkey).where(Passkey.user_id == user.id)).all()
        assert len(stored) == 1 and stored[0].sign_count >= 0
        passed = session.exec(
            select(AuditEvent)
            .where(AuditEvent.event == "second_factor_passed")
            .where(AuditEvent.actor_id == user.id)
        ).all()
        assert [event.detail["method"] for event in passed] == ["passkey", "passkey"]
    # Before the second factor the outbox's start asks /sync/config and is told to wait
    # (403 {"status": "second_factor"}), as before the pledge: expected, nothing else is.
    waiting = [p for p in problems if "/login/" in p and "/sync/config" in p and "403" in p]
    assert [p for p in problems if p not in waiting] == []


AUTHOR = "author@example.org"


def _sign_in_as(page: Page, origin: str, email: str) -> None:
    page.goto(f"{origin}/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORDS[email])
    with page.expect_navigation():
        page.locator("form:has(input[name=password]) button[type=submit]").click()


def _type_code(page: Page, code: str) -> None:
    page.locator("input[name=code]").fill(code)
    with page.expect_navigation():
        page.locator("form:has(input[name=code]) button[type=submit]").click()


def test_an_authenticator_app_and_a_recovery_code_that_works_once(
    page: Page, two_factors: str, problems: list[str]
) -> None:
    origin = two_factors
    _sign_in_as(page, origin, AUTHOR)
    assert urlsplit(page.url).path == "/login/authenticator"
    with page.expect_navigation():
        page.locator("form[action*='/login/authenticator/start'] button[type=submit]").click()
    assert page.locator("figure.qr svg").count() == 1
    secret = page.locator("code.secret").inner_text().strip()
    totp = pyotp.TOTP(secret)
    _type_code(page, totp.now())
    codes = [c.strip() for c in page.locator("ul.recovery-codes code").all_inner_texts()]
    assert len(codes) == 10
    page.locator("main a.button").click()
    page.wait_for_url(lambda url: not urlsplit(url).path.startswith("/login"))

    # A recovery code instead of the app's code: once.
    sign_out(page)
    _sign_in_as(page, origin, AUTHOR)
    assert urlsplit(page.url).path == "/login/second-factor"
    _type_code(page, codes[0])
    assert not urlsplit(page.url).path.startswith("/login"), page.url
    sign_out(page)
    _sign_in_as(page, origin, AUTHOR)
    _type_code(page, codes[0])
    assert urlsplit(page.url).path == "/login/second-factor"
    assert page.locator("input[name=code][aria-invalid=true]").count() == 1
    # The app's next code (the one the enrolment used is spent).
    _type_code(page, totp.at(time.time() + 30))
    assert not urlsplit(page.url).path.startswith("/login"), page.url
    waiting = [p for p in problems if "/login/" in p and "/sync/config" in p and "403" in p]
    # The refused recovery code's page is a 422, as every refused form's.
    waiting += [p for p in problems if "/login/second-factor" in p and "422" in p]
    assert [p for p in problems if p not in waiting] == []
