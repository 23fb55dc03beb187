"""A contact's whole review round in a phone browser: logged, returned, corrected, approved.

Elements are found by name, id, value and href, not by visible text: the pages are in Swedish
and the catalogue is still being translated.
"""

from __future__ import annotations

import re
from pathlib import Path
from uuid import uuid4

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlmodel import Session, col, select

from interrupters.contacts.models import Contact, ContactReview

from .live import PHONE, LiveServer, open_place, sign_in, sign_out

pytestmark = pytest.mark.browser

INTERRUPTER = "interrupter@example.org"
SUPERVISOR = "supervisor@example.org"
# WCAG 2.2 target size (enhanced) and Apple's guideline: 44 CSS px.
MIN_TAP_PX = 44
SCREENSHOT = Path("/tmp/contact-form.png")


def _contact(live: LiveServer, note: str) -> tuple[Contact, list[ContactReview]]:
    """The contact with `note` and its reviews, as stored on the server."""
    with Session(live.app.extensions["db_engine"]) as session:
        contact = session.exec(select(Contact).where(Contact.note == note)).one()
        reviews = session.exec(
            select(ContactReview)
            .where(ContactReview.contact_id == contact.id)
            .order_by(col(ContactReview.decided_at))
        ).all()
        return contact, list(reviews)


def _tap_chip(form: Locator, name: str, value: str) -> None:
    """Tap the chip (its label) of a radio or checkbox; the input itself is visually hidden."""
    form.locator(f"label.chip:has(input[name={name}][value='{value}'])").tap()
    expect(form.locator(f"input[name={name}][value='{value}']")).to_be_checked()


def _assert_fits(page: Page) -> None:
    """No horizontal scrolling at the phone's width."""
    width = PHONE["viewport"]["width"]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} scrolls sideways: {scroll_width} px > {width} px"


def _assert_tap_targets(form: Locator) -> None:
    targets = {
        "subject chips": form.locator("fieldset#subject label.chip"),
        "kind chips": form.locator("fieldset#kind label.chip"),
        "purpose chips": form.locator("fieldset#purpose label.chip"),
        "where": form.locator("select[name=location]"),
        "when": form.locator("input[name=occurred_at]"),
        "age band": form.locator("select[name=age_band]"),
        "minutes": form.locator("input[name=duration_minutes]"),
        "referrals": form.locator("details > summary"),
        "note": form.locator("textarea[name=note]"),
        "save": form.locator("button[type=submit]"),
    }
    for what, locator in targets.items():
        assert locator.count() > 0, f"no {what} on the form"
        for element in locator.all():
            box = element.bounding_box()
            assert box is not None, f"{what} is not displayed"
            assert box["height"] >= MIN_TAP_PX, (
                f"{what}: {box['height']} px high, below {MIN_TAP_PX}"
            )


def _open_from_queue(page: Page, contact_id: int, note: str) -> None:
    """As the supervisor, find the contact in the review queue and open it."""
    page.goto("/review")
    card = page.locator(f"#queue li.card:has(a[href='/contacts/{contact_id}'])")
    expect(card).to_contain_text(note)
    _assert_fits(page)
    card.locator(f"a[href='/contacts/{contact_id}']").click()
    page.wait_for_url(f"**/contacts/{contact_id}")
    _assert_fits(page)


def _decide(page: Page, contact_id: int, decision: str, comment: str = "") -> None:
    form = page.locator(f"form[action='/review/{contact_id}']")
    _tap_chip(form, "decision", decision)
    if comment:
        form.locator("textarea[name=comment]").fill(comment)
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/review")
    expect(page.locator("p.flash-success")).to_be_visible()
    expect(page.locator(f"#queue a[href='/contacts/{contact_id}']")).to_have_count(0)


def test_contact_is_logged_returned_corrected_and_approved(
    page: Page, live: LiveServer, problems: list[str]
) -> None:
    note = f"Pratade om helgen vid torget ({uuid4().hex[:6]})."
    comment = "Skriv hur länge ni pratade."
    corrected_note = note.replace("torget", "torget i 20 minuter")

    # The interrupter logs a contact with an unregistered young person.
    sign_in(page, live.url, INTERRUPTER)
    open_place(page, "/contacts/new")
    page.wait_for_url("**/contacts/new")
    form = page.locator("form.contact-form")
    _tap_chip(form, "subject", "person")
    form.locator("select[name=age_band]").select_option("15-17")
    form.locator("select[name=gender]").select_option("male")
    _tap_chip(form, "kind", "school")
    _tap_chip(form, "purpose", "relationship")
    form.locator("details > summary").tap()
    _tap_chip(form, "referrals", "education")
    form.locator("textarea[name=note]").fill(note)
    expect(page.locator("#note-left")).to_have_text(str(280 - len(note)))
    _assert_tap_targets(form)
    _assert_fits(page)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=SCREENSHOT)
    page.screenshot(path=SCREENSHOT.with_name("contact-form-full.png"), full_page=True)
    form.locator("button[type=submit]").click()
    # Saved to the phone's outbox, then sent: the panel says so only after the server's answer.
    # (The count is "0" before the record is saved too: wait for the "sent" heading, shown
    # only once the server has answered.)
    panel = page.locator("[data-outbox-status]")
    all_sent = panel.get_attribute("data-text-all-sent")
    assert all_sent
    expect(panel.locator("[data-outbox-heading]")).to_have_text(all_sent)
    expect(panel).to_have_attribute("data-count", "0")
    expect(form.locator("textarea[name=note]")).to_have_value("")
    open_place(page, "/contacts")
    page.wait_for_url(re.compile(r"/contacts$"))

    contact, reviews = _contact(live, note)
    assert (contact.review_state, contact.subject, contact.age_band) == (
        "submitted",
        "person",
        "15-17",
    )
    assert (contact.kind, contact.purpose, contact.referrals) == (
        "school",
        "relationship",
        ["education"],
    )
    assert reviews == []
    card = page.locator(f"a.card[href='/contacts/{contact.id}']")
    expect(card.locator(".badge")).to_have_class(re.compile(r"\bbadge-submitted\b"))
    _assert_fits(page)
    sign_out(page)

    # The supervisor returns it with a comment.
    sign_in(page, live.url, SUPERVISOR)
    assert contact.id is not None
    _open_from_queue(page, contact.id, note)
    _decide(page, contact.id, "returned", comment)
    assert _contact(live, note)[0].review_state == "returned"
    sign_out(page)

    # The interrupter sees it returned, with the comment, and corrects it.
    sign_in(page, live.url, INTERRUPTER)
    open_place(page, "/contacts")
    page.wait_for_url(re.compile(r"/contacts$"))
    card = page.locator(f"a.card[href='/contacts/{contact.id}']")
    expect(card.locator(".badge")).to_have_class(re.compile(r"\bbadge-returned\b"))
    expect(card.locator("p.notice")).to_have_text(comment)
    _assert_fits(page)
    card.click()
    page.wait_for_url(f"**/contacts/{contact.id}")
    page.locator(f"a[href='/contacts/{contact.id}/edit']").click()
    page.wait_for_url(f"**/contacts/{contact.id}/edit")
    expect(page.locator("main p.notice:not([data-offline-note])")).to_have_text(comment)
    form = page.locator("form.contact-form")
    expect(form.locator("input[name=subject][value=person]")).to_be_checked()
    expect(form.locator("textarea[name=note]")).to_have_value(note)
    form.locator("textarea[name=note]").fill(corrected_note)
    _assert_fits(page)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/contacts$"))
    card = page.locator(f"a.card[href='/contacts/{contact.id}']")
    expect(card.locator(".badge")).to_have_class(re.compile(r"\bbadge-corrected\b"))
    assert _contact(live, corrected_note)[0].review_state == "corrected"
    sign_out(page)

    # The supervisor approves the correction.
    sign_in(page, live.url, SUPERVISOR)
    _open_from_queue(page, contact.id, corrected_note)
    _decide(page, contact.id, "approved")
    sign_out(page)

    contact, reviews = _contact(live, corrected_note)
    assert contact.review_state == "approved"
    assert [(r.decision, r.comment) for r in reviews] == [("returned", comment), ("approved", "")]
    assert problems == []
