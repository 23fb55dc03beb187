"""A button that queues a record shows the record's state and never queues it twice (issue 10,
item 5): the briefing's "I have read" tapped offline, tapped again, the page reloaded from the
phone's copy, then sent; the server stores one acknowledgement.

Only the briefing acknowledgement is a one-time act queued through the outbox: walk sign-up
and withdrawal, and the alerts' "Acknowledge", are posted to the server (they need it), and
the other outbox forms make a new record at each filling (a contact, a walk report).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from interrupters.briefings.values import ReceiptKind

from .live import PHONE, LiveServer, sign_in
from .test_night_walk import CURRENT, _back_online, _kept, _receipts
from .test_offline import (
    PERMISSIONS,
    Problems,
    _eventually,
    _go_offline,
    _outbox,
    _panel_count,
    _user_id,
)

pytestmark = pytest.mark.browser

WALKER = "walker4@example.org"
FORM = "form[data-outbox=briefing_ack]"
# What a second tap does when the button is gone: the form submitted by a script (as a fast
# double tap would, before the first is handled).
SUBMIT_AGAIN = f"document.querySelector('{FORM}')?.requestSubmit()"


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


def _acks(page: Page) -> list[dict]:
    return [r for r in _outbox(page) if r["kind"] == "briefing_ack"]


def test_the_acknowledgement_shows_its_state_and_is_queued_once(
    phone: Page, live: LiveServer, problems: Problems
) -> None:
    page = phone
    walker = _user_id(live, WALKER)
    sign_in(page, live.url, WALKER)
    _kept(page, CURRENT)
    _panel_count(page, 0)  # the read receipt has gone
    assert _receipts(live, walker, ReceiptKind.acknowledged) == []

    _go_offline(page)
    page.reload()
    form = page.locator(FORM).first
    state = form.locator("[data-record-state]")
    expect(state).to_be_hidden()
    # A double tap: one record.
    form.locator("button[type=submit]").dblclick()
    expect(state).to_have_text("Sparad i telefonen, inte skickad än")
    expect(form).to_have_attribute("data-record-state", "pending")
    expect(form.locator("button[type=submit]")).to_be_hidden()
    page.evaluate(SUBMIT_AGAIN)
    _panel_count(page, 1)
    assert len(_acks(page)) == 1

    # The page again from the phone's copy (made before the tap): still queued, no button.
    page.reload()
    form = page.locator(FORM).first
    expect(form).to_have_attribute("data-record-state", "pending")
    expect(form.locator("button[type=submit]")).to_be_hidden()
    page.evaluate(SUBMIT_AGAIN)
    _panel_count(page, 1)
    assert len(_acks(page)) == 1

    # Network: sent, and the page says so.
    _back_online(page)
    expect(form).to_have_attribute("data-record-state", "sent")
    expect(form.locator("[data-record-state]")).to_have_text("Skickad: servern har din kvittering.")
    _eventually(
        lambda: len(_receipts(live, walker, ReceiptKind.acknowledged)),
        lambda n: n == 1,
        "the acknowledgement on the server",
    )

    # Offline once more, the old copy again: it is done, and cannot be queued again.
    _go_offline(page)
    page.reload()
    form = page.locator(FORM).first
    if form.count():
        expect(form).to_have_attribute("data-record-state", "sent")
        expect(form.locator("button[type=submit]")).to_be_hidden()
        page.evaluate(SUBMIT_AGAIN)
    _panel_count(page, 0)
    assert _acks(page) == []
    page.context.set_offline(False)
    assert len(_receipts(live, walker, ReceiptKind.acknowledged)) == 1
    assert problems == []
