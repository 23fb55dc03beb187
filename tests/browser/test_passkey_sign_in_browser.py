"""Signing in with a passkey alone in Chromium (issue 9): the DevTools protocol's virtual
authenticator holds a discoverable passkey; the login page's button signs in with it, no
password and no code, and the passkey counts as both factors.

WebAuthn refuses an IP address as the relying party: the pages are opened on localhost.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page
from sqlmodel import Session, select

from interrupters.audit.models import AuditEvent
from interrupters.auth.models import User

from .live import PASSWORDS, LiveServer, sign_out

pytestmark = pytest.mark.browser

ADMIN = "admin@example.org"


def test_a_passkey_alone_signs_in(
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

    # The password once, and a passkey as the second factor it sets up.
    page.goto(f"{origin}/login")
    page.locator("input[name=email]").fill(ADMIN)
    page.locator("input[name=password]").fill(PASSWORDS[ADMIN])
    with page.expect_navigation():
        page.locator("form:has(input[name=password]) button[type=submit]").click()
    assert urlsplit(page.url).path == "/login/authenticator"
    register = page.locator("button[data-passkey=register]")
    register.wait_for(state="visible")
    with page.expect_navigation():
        register.click()
    (credential,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})[
        "credentials"
    ]
    assert credential["isResidentCredential"]
    sign_out(page)

    # Next time: no e-mail, no password, no code.
    page.goto(f"{origin}/login?next=/profile")
    button = page.locator("button[data-passkey=sign-in]")
    button.wait_for(state="visible")
    with page.expect_navigation():
        button.click()
    assert urlsplit(page.url).path == "/profile", page.url
    assert page.locator("form.logout").count() == 1

    with Session(live.app.extensions["db_engine"]) as session:
        user = session.exec(select(User).where(User.email == ADMIN)).one()
        methods = [
            event.detail["method"]
            for event in session.exec(
                select(AuditEvent)
                .where(AuditEvent.event == "second_factor_passed")
                .where(AuditEvent.actor_id == user.id)
            )
        ]
    assert methods[-1] == "passkey_sign_in"
    waiting = [p for p in problems if "/login/" in p and "/sync/config" in p and "403" in p]
    assert [p for p in problems if p not in waiting] == []
