"""A level-4 flag from a phone whose clock runs fast, in a real phone browser (issue 8).

The flag is made without network and sent later; the server holds it (its time lies in the
future), the supervisors are told an unconfirmed escalation waits, and its author finds it
from the outbox's notice, sees why, corrects the time on the form filled from what was sent,
and the corrected flag is stored once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select

from interrupters.audit.models import AuditEvent
from interrupters.auth.models import Membership, Organisation, OrganisationDistrict, User
from interrupters.auth.services import hash_password
from interrupters.auth.values import OrganisationType, Role
from interrupters.briefings.models import BriefingReceipt
from interrupters.conflicts.models import Conflict
from interrupters.places.models import District
from interrupters.push.models import Notification
from interrupters.records.models import HeldRecord

from . import test_offline
from .live import PASSWORDS, LiveServer, sign_in
from .test_offline import (
    READ_PUBLIC_KEY,
    Problems,
    _eventually,
    _go_offline,
    _outbox,
    _panel_count,
    _send_now,
)

pytestmark = pytest.mark.browser

WORKER = "interrupter@example.org"
STOCKHOLM = ZoneInfo("Europe/Stockholm")

# The offline tests' phone (a fresh profile at a phone's size) and what it reports.
phone = test_offline.phone
problems = test_offline.problems


def _shown(moment: datetime) -> str:
    """A time as the phone's panel writes it (Stockholm's, a 24-hour clock)."""
    return moment.astimezone(STOCKHOLM).strftime("%H:%M")


def _ready(phone: Page, path: str) -> None:
    """Open `path` with network as a page the service worker controls, the key on the phone."""
    phone.goto(path)
    phone.evaluate("async () => { await navigator.serviceWorker.ready; }")
    phone.reload()
    phone.wait_for_function("navigator.serviceWorker.controller !== null")
    _eventually(lambda: phone.evaluate(READ_PUBLIC_KEY), bool, "the server's key on the phone")


def _held(live: LiveServer, client_uuid: str) -> HeldRecord | None:
    with Session(live.app.extensions["db_engine"]) as session:
        return session.exec(select(HeldRecord).where(HeldRecord.client_uuid == client_uuid)).first()


def _flags_since(live: LiveServer, after_id: int) -> list[Conflict]:
    with Session(live.app.extensions["db_engine"]) as session:
        return list(session.exec(select(Conflict).where(col(Conflict.id) > after_id)))


def _last_conflict_id(live: LiveServer) -> int:
    with Session(live.app.extensions["db_engine"]) as session:
        ids = session.exec(select(Conflict.id)).all()
    return max((i for i in ids if i is not None), default=0)


def _held_alerts(live: LiveServer, held_id: int) -> int:
    with Session(live.app.extensions["db_engine"]) as session:
        return len(
            session.exec(
                select(Notification)
                .where(Notification.kind == "escalation_held")
                .where(Notification.subject == f"held:{held_id}")
            ).all()
        )


def test_a_flag_from_a_fast_clock_is_held_shown_corrected_and_stored_once(
    phone: Page, live: LiveServer, problems: Problems
) -> None:
    sign_in(phone, live.url, WORKER)
    _ready(phone, "/conflicts/new")
    before = _last_conflict_id(live)

    # The phone's clock runs 40 minutes fast: the form's time is the phone's "now".
    phone.clock.set_fixed_time(datetime.now() + timedelta(minutes=40))
    _go_offline(phone)
    phone.goto("/conflicts/new")
    form = phone.locator("form[data-outbox=conflict]")
    form.locator("label.chip:has(input[name=risk_level][value='4'])").tap()
    form.locator("select[name=location]").select_option(index=1)
    sent_time = form.locator("input[name=occurred_at]").input_value()
    form.locator("button[type=submit]").click()
    _panel_count(phone, 1)
    (queued,) = _outbox(phone)
    assert queued["kind"] == "conflict"

    phone.context.set_offline(False)
    _send_now(phone)
    # Answered "needs correction": it leaves the phone, and the panel says where it went.
    _panel_count(phone, 0)
    held = _eventually(lambda: _held(live, queued["client_uuid"]), bool, "the held flag")
    assert held is not None and held.id is not None
    assert _flags_since(live, before) == []
    assert _held_alerts(live, held.id) >= 1  # the supervisors know it waits
    notice = phone.locator("[data-outbox-notice] a")
    expect(notice).to_be_visible()
    # The panel also says why: the phone's clock, beside the server's.
    clock = phone.locator("[data-outbox-clock]")
    expect(clock).to_contain_text("Telefonens klocka går fel")
    expect(clock).to_contain_text(_shown(datetime.now() + timedelta(minutes=40)))
    expect(clock).to_contain_text(_shown(datetime.now()))

    # The author sets the phone's clock right, follows the notice, sees why, and opens the
    # form filled from what was sent (not with the page's new "now").
    phone.clock.set_fixed_time(datetime.now())
    notice.click()
    phone.wait_for_url("**/records/held")
    expect(clock).to_be_hidden()  # measured again, with the clock set right
    card = phone.locator(".card", has_text="Konfliktflaggning")
    expect(card).to_contain_text("Tiden ligger i framtiden.")
    card.locator("a.button.primary").click()
    phone.wait_for_url(f"**held={held.id}")
    form = phone.locator("form[data-outbox=conflict]")
    # Bound to the outbox (a boosted page binds a moment after it is shown), which starts a
    # new record's form from the phone's "now" but leaves a correction's time as it was.
    expect(form).to_have_attribute("data-outbox-bound", "1")
    time_input = form.locator("input[name=occurred_at]")
    expect(time_input).to_have_value(sent_time)  # what was sent, not the page's "now"
    expect(phone.locator("#occurred_at-error")).to_have_text("Tiden ligger i framtiden.")
    expect(form.locator("label.chip:has(input[name=risk_level][value='4']) input")).to_be_checked()

    # The right time, typed by hand; the corrected flag goes through the outbox too.
    right = (datetime.now() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    time_input.fill(right)
    mark = len(live.requests)
    form.locator("button[type=submit]").click()
    _send_now(phone)
    _panel_count(phone, 0)
    stored = _eventually(lambda: _flags_since(live, before), bool, "the corrected flag")
    assert len(stored) == 1
    assert "/sync/records" in live.requests[mark:]
    assert stored[0].risk_level == 4
    settled = _held(live, queued["client_uuid"])
    assert settled is not None and settled.resolved_at is not None

    # Sending everything again changes nothing: the same flag, once.
    _send_now(phone)
    phone.goto("/records/held")
    expect(phone.locator("main")).to_contain_text("Inget behöver rättas.")
    assert len(_flags_since(live, before)) == 1
    assert problems == []


# --- an acknowledgement the server holds -------------------------------------------------

READER = "held-ack-walker@example.org"
READER_PASSWORD = "held-ack-Järva-2026-natt"
DEMO_BRIEFING = "Helgens lägesbild Järva"


@pytest.fixture
def reader(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, int, int]]:
    """A night walker of an association of its own that serves Järva: (user, organisation,
    district), so that this test may stop it serving without touching anyone else's."""
    monkeypatch.setitem(PASSWORDS, READER, READER_PASSWORD)
    with Session(live.app.extensions["db_engine"], expire_on_commit=False) as session:
        järva = session.exec(select(District).where(District.name == "Järva")).one()
        association = Organisation(
            name="Nattvandrarna i test", type=OrganisationType.night_walk_association
        )
        user = User(
            email=READER,
            display_name="Walker in a test",
            password_hash=hash_password(READER_PASSWORD),
            pledge_accepted_at=datetime.now(UTC),
        )
        session.add_all([association, user])
        session.flush()
        assert association.id and user.id and järva.id
        session.add(
            Membership(user_id=user.id, organisation_id=association.id, role=Role.night_walker)
        )
        session.add(OrganisationDistrict(organisation_id=association.id, district_id=järva.id))
        session.commit()
        yield user.id, association.id, järva.id


def _serves(live: LiveServer, organisation_id: int, district_id: int, serving: bool) -> None:
    with Session(live.app.extensions["db_engine"]) as session:
        link = session.get(OrganisationDistrict, (organisation_id, district_id))
        if serving and link is None:
            session.add(
                OrganisationDistrict(organisation_id=organisation_id, district_id=district_id)
            )
        elif not serving and link is not None:
            session.delete(link)
        session.commit()


def _acknowledged(live: LiveServer, user_id: int) -> list[BriefingReceipt]:
    with Session(live.app.extensions["db_engine"]) as session:
        return list(
            session.exec(
                select(BriefingReceipt)
                .where(BriefingReceipt.user_id == user_id)
                .where(BriefingReceipt.kind == "acknowledged")
            )
        )


def test_an_acknowledgement_the_server_held_is_offered_again_and_corrected(
    phone: Page, live: LiveServer, problems: Problems, reader: tuple[int, int, int]
) -> None:
    """The association stops serving Järva while a walker's acknowledgement waits on the
    phone: the server holds it. The phone must not go on saying it was sent: once Järva is
    served again the button is there, and the correction from the held list stores it once."""
    user_id, association_id, district_id = reader
    sign_in(phone, live.url, READER)
    _ready(phone, "/briefings/current")
    expect(phone.locator("article.briefing h2").first).to_have_text(DEMO_BRIEFING)
    _panel_count(phone, 0)  # the read receipt has gone

    _go_offline(phone)
    phone.reload()
    form = phone.locator("form[data-outbox=briefing_ack]")
    form.locator("button[type=submit]").click()
    _panel_count(phone, 1)
    (queued,) = _outbox(phone)
    expect(form.locator("[data-record-state]")).to_be_visible()  # "saved on this phone"

    _serves(live, association_id, district_id, False)
    try:
        phone.context.set_offline(False)
        _send_now(phone)
        _panel_count(phone, 0)
        held = _eventually(lambda: _held(live, queued["client_uuid"]), bool, "the held ack")
        assert held is not None and held.kind == "briefing_ack"
        assert _acknowledged(live, user_id) == []
    finally:
        _serves(live, association_id, district_id, True)

    # Not "sent": the briefing offers the acknowledgement again.
    phone.reload()
    form = phone.locator("form[data-outbox=briefing_ack]").first
    expect(form).to_have_attribute("data-record-state", "")  # the phone's state, drawn
    expect(form.locator("button[type=submit]")).to_be_visible()
    expect(form.locator("[data-record-state]")).to_be_hidden()

    # Corrected from the held list: the briefing, with the reason, acknowledged there.
    phone.goto("/records/held")
    card = phone.locator(".card", has_text="Lägesbild bekräftad")
    card.locator("a.button.primary").click()
    phone.wait_for_url(f"**held={held.id}")
    expect(phone.locator(".notice[role=status] li").first).to_be_visible()
    form = phone.locator("form[data-outbox=briefing_ack]")
    expect(form.locator("input[name=held_id]")).to_have_value(str(held.id))
    form.locator("button[type=submit]").click()
    _send_now(phone)
    _panel_count(phone, 0)
    stored = _eventually(lambda: _acknowledged(live, user_id), bool, "the acknowledgement")
    assert len(stored) == 1
    settled = _held(live, queued["client_uuid"])
    assert settled is not None and settled.resolved_at is not None
    phone.goto("/briefings/current")
    expect(phone.locator("form[data-outbox=briefing_ack]")).to_have_count(0)  # done
    assert len(_acknowledged(live, user_id)) == 1
    assert problems == []


def test_the_phones_notice_goes_once_the_list_is_seen_and_a_discard_is_audited(
    phone: Page, live: LiveServer, problems: Problems
) -> None:
    """The phone's notice of held records is for what its person has not seen yet: it goes
    when the list is open however it was reached, and does not outlive a discard."""
    sign_in(phone, live.url, WORKER)
    _ready(phone, "/contacts/new")
    phone.clock.set_fixed_time(datetime.now() + timedelta(hours=3))
    phone.goto("/contacts/new")
    form = phone.locator("form[data-outbox=contact]")
    form.locator("label.chip:has(input[name=subject][value=person])").tap()
    form.locator("select[name=age_band]").select_option("18-20")
    form.locator("button[type=submit]").click()
    expect(phone.locator("[data-outbox-notice]")).to_be_visible()  # sent, and held
    phone.clock.set_fixed_time(datetime.now())

    # Reached from the home page's line, not the phone's notice.
    phone.goto("/")
    expect(phone.locator("[data-outbox-notice]")).to_be_visible()
    phone.locator("main p.notice[role=status] a[href='/records/held']").click()
    phone.wait_for_url("**/records/held")
    _panel_count(phone, 0)  # the new page's panel is drawn
    expect(phone.locator("[data-outbox-notice]")).to_be_hidden()

    with Session(live.app.extensions["db_engine"]) as session:
        before = len(session.exec(select(AuditEvent)).all())
    phone.locator("a", has_text="Detaljer eller kasta").first.click()
    phone.once("dialog", lambda dialog: dialog.accept())
    phone.locator("button", has_text="Kasta den").click()
    expect(phone.locator("main")).to_contain_text("Inget behöver rättas.")
    _panel_count(phone, 0)
    expect(phone.locator("[data-outbox-notice]")).to_be_hidden()
    with Session(live.app.extensions["db_engine"]) as session:
        events = session.exec(select(AuditEvent).offset(before)).all()
    assert [event.event for event in events] == ["held_record_discarded"]
    phone.goto("/contacts/")
    _panel_count(phone, 0)
    expect(phone.locator("[data-outbox-notice]")).to_be_hidden()
    assert problems == []
