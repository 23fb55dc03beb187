"""No layout shift (issue 13): the outbox's panel comes and goes over the page, never moving it.

Measured with the browser's own Layout Instability API: every 'layout-shift' entry of the page
(buffered from its start), summed; CLS would leave out those just after an input, this sum
counts them too. Lighthouse gave the night walker's briefing a CLS of 0.27 when the panel
appeared above the page as the read receipt was sent.
"""

from __future__ import annotations

from uuid import uuid4

import pytest
from playwright.sync_api import Page, expect

from .live import LiveServer, open_place, sign_in

pytestmark = pytest.mark.browser

# A walker whose tests count acknowledgements only (the read receipt here is not one).
WALKER = "walker4@example.org"
INTERRUPTER = "interrupter@example.org"
# Below what Lighthouse calls good (0.1) by a factor of ten: in effect, nothing moves.
MOST = 0.01

SHIFTS = """() => new Promise((resolve) => {
  const found = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) found.push(entry.value);
  }).observe({ type: "layout-shift", buffered: true });
  setTimeout(() => resolve(found), 200);
})"""


def _shift(page: Page) -> float:
    return float(sum(page.evaluate(SHIFTS)))


def _sent(page: Page) -> None:
    """The panel says the server has everything: the record was queued, shown and sent."""
    panel = page.locator("[data-outbox-status]")
    all_sent = panel.get_attribute("data-text-all-sent")
    assert all_sent
    expect(panel.locator("[data-outbox-heading]")).to_have_text(all_sent)
    expect(panel).to_have_attribute("data-count", "0")
    expect(panel).to_be_visible()


def test_the_briefing_stays_still_while_its_read_receipt_is_sent(
    page: Page, live: LiveServer, problems: list[str]
) -> None:
    sign_in(page, live.url, WALKER)
    page.goto("/briefings/current")
    expect(page.locator("[data-briefing-read]").first).to_be_visible()
    _sent(page)
    assert _shift(page) < MOST
    assert problems == []


def test_the_contact_form_stays_still_while_a_record_is_queued_and_sent(
    page: Page, live: LiveServer, problems: list[str]
) -> None:
    sign_in(page, live.url, INTERRUPTER)
    # A full load of the form (not a boosted swap), so the sum covers its whole life.
    page.goto("/contacts/new")
    form = page.locator("form[data-outbox=contact]")
    form.locator("label.chip:has(input[name=subject][value=person])").tap()
    form.locator("select[name=age_band]").select_option("18-20")
    form.locator("textarea[name=note]").fill(f"Lugnt vid torget ({uuid4().hex[:6]}).")
    form.locator("button[type=submit]").click()
    expect(form.locator("textarea[name=note]")).to_have_value("")
    _sent(page)
    assert _shift(page) < MOST
    # Then the next page, opened as a person does (boosted): still nothing moves there.
    open_place(page, "/participants/follow-ups")
    page.wait_for_url("**/participants/follow-ups")
    assert problems == []
