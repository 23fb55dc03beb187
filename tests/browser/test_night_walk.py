"""The night walker's phone (issue 5): the weekend briefing offline and acknowledged exactly
once, a walk report filed offline that arrives once and alerts the supervisor, and a briefing
that is gone from the phone once it expires.

Debian's Chromium against the live server on the demo data (tests/browser/live.py), the network
cut with `context.set_offline`, the server's database read directly (never through the page).
Each test signs in as a walker no other test here uses, so their records stay apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from uuid import uuid4

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, col, select

from interrupters.auth.models import Organisation
from interrupters.briefings.models import (
    Acknowledgement,
    Briefing,
    BriefingDistrict,
    BriefingReceipt,
)
from interrupters.briefings.values import BriefingState, ReceiptKind
from interrupters.db import utcnow
from interrupters.demo import ASSOCIATION, FIELD_ASSISTANTS
from interrupters.places.models import District, Place
from interrupters.push.models import Notification
from interrupters.walks.models import Walk, WalkReport, WalkSignup
from interrupters.walks.values import WalkState

from .live import PHONE, LiveServer, sign_in
from .test_offline import (
    PERMISSIONS,
    Problems,
    _eventually,
    _go_offline,
    _outbox,
    _panel_count,
    _send_now,
    _user_id,
)

pytestmark = pytest.mark.browser

CURRENT = "/briefings/current"
NEW_REPORT = "/walks/reports/new"
RECORDS = "/sync/records"
DEMO_BRIEFING = "Helgens lägesbild Järva"


@pytest.fixture
def problems() -> Problems:
    return Problems()


@pytest.fixture
def phone(browser: Browser, live: LiveServer, problems: Problems) -> Iterator[Page]:
    """A fresh phone (its own profile in memory) with one page."""
    context = browser.new_context(**PHONE, base_url=live.url, permissions=PERMISSIONS)
    try:
        yield problems.watch(context.new_page())
    finally:
        context.close()


@pytest.fixture(autouse=True)
def server_restored(live: LiveServer) -> Iterator[None]:
    yield
    live.faults.disarm()
    live.start()


# --- the phone ---------------------------------------------------------------------------


def _kept(page: Page, path: str) -> None:
    """Open `path` with network as a controlled page, so the service worker keeps its copy."""
    page.goto(path)
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    _eventually(lambda: _cached_expiry(page, path), lambda found: found != "missing", "kept")


def _cached_expiry(page: Page, path: str) -> str | None:
    """The kept copy's X-Expires-At (None without one, "missing" when there is no copy)."""
    return page.evaluate(
        """async (path) => {
          const copy = await (await caches.open("pages")).match(path);
          return copy ? copy.headers.get("X-Expires-At") : "missing";
        }""",
        path,
    )


def _back_online(page: Page) -> None:
    """Network again: the outbox sends by itself (the online event, Background Sync); "send
    now" is what a person presses when it has not after a few seconds."""
    page.context.set_offline(False)
    page.wait_for_function("navigator.onLine")
    panel = page.locator("[data-outbox-status]")
    try:
        expect(panel).to_have_attribute("data-count", "0", timeout=3000)
    except AssertionError:
        _send_now(page)
        _panel_count(page, 0)


def _send_again(page: Page) -> None:
    """Ask the service worker to send the outbox (the button is hidden when it is empty)."""
    page.evaluate(
        "async () => { (await navigator.serviceWorker.ready).active.postMessage({type: 'send'}); }"
    )


# --- the server --------------------------------------------------------------------------


def _session(live: LiveServer) -> Session:
    return Session(live.app.extensions["db_engine"], expire_on_commit=False)


def _receipts(live: LiveServer, user_id: int, kind: ReceiptKind) -> list[BriefingReceipt]:
    with _session(live) as session:
        return list(
            session.exec(
                select(BriefingReceipt)
                .where(BriefingReceipt.user_id == user_id)
                .where(BriefingReceipt.kind == kind.value)
            )
        )


def _acknowledgements(live: LiveServer, user_id: int) -> list[Acknowledgement]:
    with _session(live) as session:
        return list(session.exec(select(Acknowledgement).where(Acknowledgement.user_id == user_id)))


def _jarva(session: Session) -> District:
    return session.exec(select(District).where(District.name == "Järva")).one()


def _walk_under_way(live: LiveServer, email: str) -> int:
    """A walk of the walker's association that began two hours ago, the walker signed up:
    one the report form offers (walks of the last days). Made in the server's database, as
    the services refuse to sign anyone up for a walk that has begun."""
    now = utcnow()
    walker = _user_id(live, email)
    with _session(live) as session:
        association = session.exec(
            select(Organisation).where(Organisation.name == ASSOCIATION)
        ).one()
        meeting = session.exec(select(Place).where(Place.name == "Husby gård")).one()
        walk = Walk(
            organisation_id=association.id or 0,
            district_id=_jarva(session).id or 0,
            meeting_place_id=meeting.id,
            planned_start=now - timedelta(hours=2),
            planned_end=now + timedelta(hours=2, minutes=30),
            actual_start=now - timedelta(hours=2),
            state=WalkState.in_progress.value,
            created_by_id=walker,
            created_at=now - timedelta(days=3),
        )
        session.add(walk)
        session.flush()
        assert walk.id is not None
        session.add(
            WalkSignup(
                walk_id=walk.id,
                user_id=walker,
                group_number=1,
                signed_up_at=now - timedelta(days=2),
            )
        )
        session.commit()
        return walk.id


def _reports(live: LiveServer, marker: str) -> list[WalkReport]:
    with _session(live) as session:
        return list(session.exec(select(WalkReport).where(col(WalkReport.note).contains(marker))))


def _urgent_notifications(live: LiveServer, report_id: int) -> list[Notification]:
    with _session(live) as session:
        return list(
            session.exec(
                select(Notification)
                .where(Notification.kind == "walk_report_urgent")
                .where(Notification.subject == f"walk-report:{report_id}")
            )
        )


def _short_briefing(live: LiveServer, seconds: float) -> tuple[int, str]:
    """A published briefing for Järva that expires in `seconds`: the newest, so it is the
    one the current page shows for the district until then."""
    now = utcnow()
    title = f"Kort lägesbild {uuid4().hex[:8]}"
    with _session(live) as session:
        author = session.exec(
            select(Organisation).where(Organisation.name == FIELD_ASSISTANTS)
        ).one()
        demo = session.exec(select(Briefing).where(Briefing.title == DEMO_BRIEFING)).one()
        briefing = Briefing(
            organisation_id=author.id or 0,
            author_id=demo.author_id,
            title=title,
            valid_from=now - timedelta(hours=1),
            valid_to=now + timedelta(seconds=seconds),
            summary="Lugnt.",
            safety_reminders="Gå minst tre i varje grupp.",
            meeting_place="Husby gård",
            identifies_no_one=True,
            state=BriefingState.published.value,
            published_at=now,
            created_at=now,
            updated_at=now,
        )
        session.add(briefing)
        session.flush()
        assert briefing.id is not None
        session.add(BriefingDistrict(briefing_id=briefing.id, district_id=_jarva(session).id or 0))
        session.commit()
        return briefing.id, title


# --- the tests ---------------------------------------------------------------------------


def test_briefing_offline_acknowledged_once(
    phone: Page, live: LiveServer, problems: Problems
) -> None:
    """The briefing reopened from the phone's cache offline and acknowledged there reaches the
    server exactly once when the network returns."""
    page = phone
    email = "walker@example.org"
    walker = _user_id(live, email)
    sign_in(page, live.url, email)
    _kept(page, CURRENT)
    expect(page.locator("article.briefing h2").first).to_have_text(DEMO_BRIEFING)
    # The first showing sends a read receipt through the outbox; it has gone before the street.
    _panel_count(page, 0)
    _eventually(
        lambda: len(_receipts(live, walker, ReceiptKind.read)), lambda n: n == 1, "read receipt"
    )
    assert _receipts(live, walker, ReceiptKind.acknowledged) == []

    _go_offline(page)
    page.reload()  # from the service worker's copy
    expect(page.locator("article.briefing h2").first).to_have_text(DEMO_BRIEFING)
    form = page.locator("form[data-outbox=briefing_ack]")
    expect(form).to_be_visible()
    form.locator("button[type=submit]").click()
    _panel_count(page, 1)
    (queued,) = _outbox(page)
    assert queued["kind"] == "briefing_ack"
    assert queued["state"] == "pending"
    uuid = queued["client_uuid"]
    assert _receipts(live, walker, ReceiptKind.acknowledged) == []

    # The server stores it, and its answer is lost on the way (a proxy failing after the
    # commit): the phone keeps the record and sends it again.
    seen = len(live.faults.record_outcomes)
    live.faults.arm(RECORDS, "lose")
    page.context.set_offline(False)
    page.wait_for_function("navigator.onLine")
    first = _eventually(
        lambda: live.faults.record_outcomes[seen:],
        lambda outcomes: len(outcomes) >= 1,
        "the acknowledgement sent",
    )
    assert first[0] == (uuid, "stored", False)
    _back_online(page)
    # The phone sent it again (by itself or by the button), and the server knew it.
    again = live.faults.record_outcomes[seen + 1 :]
    assert again and {o[:2] for o in again} == {(uuid, "replayed")}
    assert again[-1][2] is True
    _eventually(
        lambda: len(_receipts(live, walker, ReceiptKind.acknowledged)),
        lambda n: n == 1,
        "the acknowledgement on the server",
    )
    (receipt,) = _receipts(live, walker, ReceiptKind.acknowledged)
    assert receipt.client_uuid == uuid
    (acknowledgement,) = _acknowledgements(live, walker)
    assert acknowledgement.acknowledged_at is not None
    assert acknowledgement.read_at is not None
    assert _outbox(page) == []

    # Sending again and reloading change nothing: the page says it is done.
    _send_again(page)
    page.reload()
    _panel_count(page, 0)
    expect(form).to_have_count(0)
    expect(page.locator("article.briefing .notice")).to_be_visible()
    receipts = _receipts(live, walker, ReceiptKind.acknowledged)
    assert [r.id for r in receipts] == [receipt.id]
    assert [a.acknowledged_at for a in _acknowledgements(live, walker)] == [
        acknowledgement.acknowledged_at
    ]
    # Stored once; every other time the server answered that it had it.
    outcomes = [o[1] for o in live.faults.record_outcomes if o[0] == uuid]
    assert outcomes.count("stored") == 1 and set(outcomes) == {"stored", "replayed"}
    assert problems == []


def test_urgent_walk_report_offline_arrives_once(
    phone: Page, browser: Browser, live: LiveServer, problems: Problems
) -> None:
    """A walk report filed offline with the urgent flag arrives once, and the on-call
    supervisor is notified once."""
    page = phone
    email = "walker2@example.org"
    marker = f"brak-{uuid4().hex[:10]}"
    walk_id = _walk_under_way(live, email)
    sign_in(page, live.url, email)
    _kept(page, NEW_REPORT)

    _go_offline(page)
    page.reload()
    form = page.locator("form[data-outbox=walk_report]")
    form.locator("select[name=walk_id]").select_option(str(walk_id))
    for name, value in (
        ("youths_met", "26-50"),
        ("atmosphere", "tense"),
        ("observations", "fight"),
        ("actions", "called_112"),
    ):
        form.locator(f"label.chip:has(input[name={name}][value='{value}'])").click()
    form.locator("label.chip:has(input[name=places_visited])").first.click()
    form.locator("input[name=urgent]").check()
    form.locator("textarea[name=note]").fill(f"Slagsmål vid torget, vi ringde 112 ({marker}).")
    form.locator("button[type=submit]").click()
    expect(form.locator("textarea[name=note]")).to_have_value("")
    _panel_count(page, 1)
    (queued,) = _outbox(page)
    assert queued["kind"] == "walk_report"
    uuid = queued["client_uuid"]
    assert _reports(live, marker) == []

    _back_online(page)
    (report,) = _eventually(lambda: _reports(live, marker), lambda r: len(r) == 1, "the report")
    assert report.client_uuid == uuid
    assert report.walk_id == walk_id
    assert report.urgent
    assert report.youths_met == "26-50" and report.observations == ["fight"]
    (alert,) = _urgent_notifications(live, report.id or 0)
    assert alert.recipient_id == _user_id(live, "supervisor@example.org")
    assert alert.url == f"/walks/reports/{report.id}"

    # The supervisor's phone lists it, needing acknowledgement, and the page still fits the
    # screen with the unread badge in the menu.
    supervisor = problems.watch(browser.new_context(**PHONE, base_url=live.url).new_page())
    try:
        sign_in(supervisor, live.url, "supervisor@example.org")
        supervisor.goto("/notifications")
        expect(supervisor.locator(f"main a[href='/walks/reports/{report.id}']")).to_have_count(1)
        width = supervisor.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["viewport"]["width"], f"the page scrolls sideways: {width} px"
    finally:
        supervisor.context.close()

    # Again: nothing new on the server.
    _send_again(page)
    page.reload()
    _panel_count(page, 0)
    assert [r.id for r in _reports(live, marker)] == [report.id]
    assert [n.id for n in _urgent_notifications(live, report.id or 0)] == [alert.id]
    assert [o for o in live.faults.record_outcomes if o[0] == uuid] == [(uuid, "stored", True)]
    assert problems == []


def test_expired_briefing_is_not_served_from_the_cache(
    phone: Page, live: LiveServer, problems: Problems
) -> None:
    """Once its X-Expires-At has passed, the kept briefing is gone: offline, the phone shows
    the offline page instead, and the copy is deleted."""
    page = phone
    sign_in(page, live.url, "walker3@example.org")
    answer = page.request.get("/offline")
    assert answer.ok
    found = re.search(r"<h1>(.*?)</h1>", answer.text(), re.S)
    assert found
    fallback = found.group(1).strip()
    briefing_id, title = _short_briefing(live, seconds=6)
    with _session(live) as session:
        briefing = session.get(Briefing, briefing_id)
        assert briefing is not None
        valid_to = briefing.valid_to
    _kept(page, CURRENT)
    expect(page.locator("article.briefing h2").first).to_have_text(title)
    expires = _cached_expiry(page, CURRENT)
    assert expires not in (None, "missing")
    # The browser reads the header as the same moment as the briefing's end.
    parsed = page.evaluate("(value) => Date.parse(value)", expires)
    assert parsed == pytest.approx(valid_to.timestamp() * 1000, abs=1)

    # Before it expires, the copy is served offline.
    _go_offline(page)
    page.reload()
    expect(page.locator("article.briefing h2").first).to_have_text(title)

    # After: not the briefing but the offline page, at the briefing's address; the copy is gone.
    _eventually(utcnow, lambda now: now > valid_to, "the briefing's end", timeout=15)
    page.reload()
    expect(page.locator("main h1")).to_have_text(fallback)
    expect(page.locator("main")).not_to_contain_text(title)
    assert page.url == f"{live.url}{CURRENT}"
    assert _cached_expiry(page, CURRENT) == "missing"

    # Back online, the page is the server's again, without the expired briefing.
    page.context.set_offline(False)
    page.wait_for_function("navigator.onLine")
    page.reload()
    expect(page.locator("main h1")).not_to_have_text(fallback)
    expect(page.locator("article.briefing h2").first).to_have_text(DEMO_BRIEFING)
    expect(page.locator("main")).not_to_contain_text(title)
    assert problems == []
