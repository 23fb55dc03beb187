"""A referral made on the street without network (issue 11, item 5), in a real phone browser.

The referral form and the directory of services are kept by the service worker; the referral
is sealed into the outbox like every other record and arrives once when the network is back.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from interrupters.participants.models import Participant
from interrupters.referrals.models import Referral

from .live import PHONE, LiveServer, sign_in
from .test_offline import (
    PERMISSIONS,
    READ_PUBLIC_KEY,
    Problems,
    _eventually,
    _go_offline,
    _outbox,
    _panel_count,
    _send_now,
)

pytestmark = pytest.mark.browser

WORKER = "interrupter2@example.org"
PARTICIPANT_CODE = "P-2M9D"  # the second interrupter's participant in the demo data


@pytest.fixture
def problems() -> Problems:
    return Problems()


@pytest.fixture
def phone(browser: Browser, live: LiveServer, problems: Problems) -> Iterator[Page]:
    context = browser.new_context(**PHONE, base_url=live.url, permissions=PERMISSIONS)
    try:
        yield problems.watch(context.new_page())
    finally:
        context.close()


def _referrals(live: LiveServer) -> list[tuple[str, str]]:
    with Session(live.app.extensions["db_engine"]) as session:
        rows = session.exec(
            select(Participant.code, Referral.client_uuid).join(
                Participant, Participant.id == Referral.participant_id
            )
        ).all()
    return [(code, uuid) for code, uuid in rows if code == PARTICIPANT_CODE]


def test_a_referral_made_offline_arrives_once(
    phone: Page, live: LiveServer, problems: Problems
) -> None:
    sign_in(phone, live.url, WORKER)
    phone.goto("/referrals/new")
    phone.evaluate("async () => { await navigator.serviceWorker.ready; }")
    phone.reload()
    phone.wait_for_function("navigator.serviceWorker.controller !== null")
    _eventually(lambda: phone.evaluate(READ_PUBLIC_KEY), bool, "the server's key on the phone")
    before = _referrals(live)

    _go_offline(phone)
    # The directory is readable without network.
    phone.goto("/services")
    expect(phone.locator("h2", has_text="Medling vid brott")).to_have_count(1)
    phone.goto("/referrals/new")
    form = phone.locator("form[data-outbox=referral]")
    form.locator("select[name=participant_id]").select_option(label=PARTICIPANT_CODE)
    option = form.locator("select[name=service_id] option", has_text="Medling vid brott")
    form.locator("select[name=service_id]").select_option(option.get_attribute("value"))
    form.locator("input[name=consent_given]").check()
    form.locator("button[type=submit]").click()
    _panel_count(phone, 1)
    (queued,) = _outbox(phone)
    assert queued["kind"] == "referral"
    assert _referrals(live) == before

    phone.context.set_offline(False)
    _send_now(phone)
    _panel_count(phone, 0)
    after = _referrals(live)
    assert len(after) == len(before) + 1
    assert queued["client_uuid"] in {uuid for _code, uuid in after}
    assert problems == []
