"""The situational picture on real phones (issue 12): the field assistant files observations
on a 360x740 phone without network, they arrive once; the coordinator sees them in the
picture and on the map (no request leaves the app), closes the period with an action, drafts
the weekend briefing from it and publishes it; a night walker reads it offline.

This test publishes a briefing for Järva, which would become every other test's "current"
briefing: it runs on a live server of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request, expect
from sqlmodel import Session, select

from interrupters.briefings.models import Briefing
from interrupters.db import utcnow
from interrupters.picture.models import PictureAction, PicturePeriod, PlaceObservation
from interrupters.places.models import District

from .live import PHONE, LiveServer, live_server, sign_in
from .test_offline import (
    PERMISSIONS,
    READ_PUBLIC_KEY,
    Problems,
    _eventually,
    _go_offline,
    _panel_count,
    _send_now,
)

pytestmark = pytest.mark.browser

AUTHOR = "author@example.org"  # Fältassistenterna Järva: observes and coordinates
WALKER = "walker4@example.org"
TITLE = "Helgens lägesbild från EST"


@pytest.fixture(scope="module")
def own_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(Path(tmp_path_factory.mktemp("picture"))) as server:
        yield server


@pytest.fixture
def problems() -> Problems:
    return Problems()


def _phone(browser: Browser, live: LiveServer, problems: Problems) -> Page:
    context = browser.new_context(**PHONE, base_url=live.url, permissions=PERMISSIONS)
    page = problems.watch(context.new_page())
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def _kept(page: Page, path: str) -> None:
    """Open `path` as a controlled page, so the service worker keeps it and the outbox has
    the server's key."""
    page.goto(path)
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")


def _back_online(page: Page) -> None:
    """Network again: the outbox sends by itself (the online event); "send now" is what a
    person presses when it has not after a few seconds."""
    page.context.set_offline(False)
    page.wait_for_function("navigator.onLine")
    try:
        expect(page.locator("[data-outbox-status]")).to_have_attribute(
            "data-count", "0", timeout=3000
        )
    except AssertionError:
        _send_now(page)
        _panel_count(page, 0)


def _observations(live: LiveServer) -> int:
    with Session(live.app.extensions["db_engine"]) as session:
        return len(session.exec(select(PlaceObservation.id)).all())


def _jarva(live: LiveServer) -> int:
    with Session(live.app.extensions["db_engine"]) as session:
        return session.exec(select(District.id).where(District.name == "Järva")).one() or 0


def _file(page: Page, place: str, kind: str, severity: str) -> None:
    form = page.locator("form[data-outbox=place_observation]")
    form.locator("select[name=place_id]").select_option(label=place)
    form.locator(f"input[name=kind][value={kind}]").check()
    form.locator(f"input[name=severity][value='{severity}']").check()
    form.locator("button[type=submit]").click()


def test_observations_to_a_published_briefing_read_offline(
    browser: Browser, own_live: LiveServer, problems: Problems
) -> None:
    live = own_live
    district_id = _jarva(live)

    # The field assistant on the street, no network.
    phone = _phone(browser, live, problems)
    sign_in(phone, live.url, AUTHOR)
    _kept(phone, "/picture/observations/new")
    _eventually(lambda: phone.evaluate(READ_PUBLIC_KEY), bool, "the server's key on the phone")
    before = _observations(live)
    _go_offline(phone)
    phone.goto("/picture/observations/new")
    _file(phone, "Rinkeby torg", "tension_between_groups", "3")
    _panel_count(phone, 1)
    _file(phone, "Rinkeby torg", "gathering", "2")
    _panel_count(phone, 2)
    assert _observations(live) == before
    _back_online(phone)
    assert _observations(live) == before + 2

    # The coordinator's picture and map: nothing is fetched from outside the app.
    outside: list[str] = []

    def _note(request: Request) -> None:
        if not request.url.startswith((live.url, "data:", "blob:")):
            outside.append(request.url)

    phone.on("request", _note)
    phone.goto(f"/picture/district/{district_id}")
    first = phone.locator("ol.list > li.picture-place").first
    expect(first).to_contain_text("Rinkeby torg")
    expect(first).to_contain_text("Spänning mellan grupper")
    expect(phone.locator("svg.picture-map circle")).to_have_count(5)
    # The list fits the phone: nothing wider than its screen.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert outside == []

    # Close the period with an action at the square.
    phone.goto(f"/picture/district/{district_id}/close")
    phone.locator("select[name^=status-]").first.wait_for()
    torg = phone.locator("label", has_text="Rinkeby torg").first.get_attribute("for")
    phone.locator(f"select#{torg}").select_option("tense")
    phone.locator(f"input#{torg.replace('status', 'note')}").fill("Samlingar efter matchen")
    phone.locator("select[name=action-0-place_id]").select_option(label="Rinkeby torg")
    phone.locator("select[name=action-0-what]").select_option("field_assistant_presence")
    phone.locator("select[name=action-0-owner_organisation_id]").select_option(
        label="Fältassistenterna Järva"
    )
    due = (utcnow() + timedelta(days=3)).date().isoformat()
    phone.locator("input[name=action-0-due_on]").fill(due)
    phone.locator("input[name=confirm]").check()
    with phone.expect_navigation(url="**/picture/periods/*"):
        phone.locator("form.record-form button[type=submit]").click()
    expect(phone.locator("h1")).to_contain_text("Stängd period")
    with Session(live.app.extensions["db_engine"]) as session:
        closed = session.exec(
            select(PicturePeriod)
            .where(PicturePeriod.state == "closed")
            .order_by(
                PicturePeriod.id.desc()  # type: ignore[union-attr]
            )
        ).first()
        assert closed is not None
        assert session.exec(select(PictureAction).where(PictureAction.period_id == closed.id)).all()

    # The weekend briefing starts from the picture, and is published.
    phone.goto(f"/picture/district/{district_id}")
    with phone.expect_navigation(url="**/briefings/new*"):
        phone.locator("a", has_text="Skriv helgens lägesbild härifrån").click()
    expect(phone.locator(f"select#{torg}")).to_have_value("tense")
    expect(phone.locator("textarea[name=summary]")).to_contain_text("Fältassistenter på plats")
    phone.locator("input[name=title]").fill(TITLE)
    phone.locator("input[name=identifies_no_one]").check()
    with phone.expect_navigation(url="**/briefings/*"):
        phone.locator("form.record-form button[type=submit]").click()
    with phone.expect_navigation():
        phone.locator("form", has=phone.locator("button", has_text="Publicera nu")).locator(
            "button"
        ).click()
    expect(phone.locator(".flash-success")).to_contain_text("publicerad")
    with Session(live.app.extensions["db_engine"]) as session:
        briefing = session.exec(select(Briefing).where(Briefing.title == TITLE)).one()
        assert briefing.state == "published"
    phone.context.close()

    # A night walker reads it on the street, offline.
    walker = _phone(browser, live, problems)
    sign_in(walker, live.url, WALKER)
    _kept(walker, "/briefings/current")
    expect(walker.locator("body")).to_contain_text(TITLE)
    _go_offline(walker)
    walker.reload()
    expect(walker.locator("body")).to_contain_text(TITLE)
    expect(walker.locator("body")).to_contain_text("Samlingar efter matchen")
    walker.context.close()
    assert problems == []
