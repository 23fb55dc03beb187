"""Lists that grow are paged with a keyset cursor (`before`): following "Show more" from the
first page reaches every row once, newest first, and a garbled cursor is the first page."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlmodel import Session

from interrupters.admin import services as admin_services
from interrupters.briefings import services as briefings
from interrupters.conflicts import services as conflicts
from interrupters.conflicts.models import CommunityResponse, Incident
from interrupters.push import services as push
from interrupters.push.models import Notification
from interrupters.referrals import services as referrals
from interrupters.walks import services as walks
from interrupters.walks.models import Walk, WalkReport

from . import factories

GARBLED = ["x", "!!!", "a" * 500, "WyJ0Iiwibm90IGEgZGF0ZSIsMV0", "W10"]


def pages(client: FlaskClient, url: str, row: str, *, step: str = "paging-more") -> list[list[int]]:
    """The ids `row` (a pattern with one group) finds on each page, following "Show more"."""
    more = re.compile(rf'<p class="paging-more" id="{step}">(.*?)</p>', re.S)
    found: list[list[int]] = []
    for _turn in range(50):
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
        found.append([int(i) for i in re.findall(row, text)])
        shown = more.search(text)
        link = shown and re.search(r'<a href="([^"]*before=[^"]*)"', shown.group(1))
        if not link:
            return found
        url = html.unescape(link.group(1))
    raise AssertionError("too many pages")


def assert_pages(found: list[list[int]], expected: list[int], size: int) -> None:
    """Every row once, in the expected order, in full pages but the last."""
    assert [i for page in found for i in page] == expected
    assert all(len(page) == size for page in found[:-1])
    assert len(found) == -(-len(expected) // size)


def assert_garbled_is_first(client: FlaskClient, url: str, row: str, arg: str = "before") -> None:
    first = re.findall(row, client.get(url).get_data(as_text=True))
    assert first
    joiner = "&" if "?" in url else "?"
    for token in GARBLED:
        response = client.get(f"{url}{joiner}{arg}={token}")
        assert response.status_code == 200
        assert re.findall(row, response.get_data(as_text=True)) == first


# Walks that are over and walk reports -----------------------------------------------------


def _past_walks(session: Session, world: Any, lead: Any, count: int) -> list[Walk]:
    start = datetime.now(UTC) - timedelta(days=2)
    # Pairs share a start: the id settles their order.
    made = [
        factories.create_walk(
            session, world, lead, planned_start=start - timedelta(days=7 * (i // 2)), state="done"
        )
        for i in range(count)
    ]
    session.commit()
    return made


def test_past_walks_page_through_every_walk_once(client, session, world, login_as):
    lead = login_as("association_lead")
    made = _past_walks(session, world, lead, 29)
    upcoming = factories.create_walk(session, world, lead)
    session.commit()
    expected = [w.id for w in sorted(made, key=lambda w: (w.planned_start, w.id), reverse=True)]
    row = r'href="/walks/(\d+)"'
    found = pages(client, "/walks/", row)
    # The coming walk is on the first page only, above the ones that are over.
    assert found[0][0] == upcoming.id
    found[0] = found[0][1:]
    assert_pages(found, expected, walks.PAST_PAGE)
    assert_garbled_is_first(client, "/walks/", row)


def test_walk_reports_page_through_every_report_once(client, session, world, login_as):
    lead = login_as("association_lead")
    walk = _past_walks(session, world, lead, 1)[0]
    now = datetime.now(UTC)
    reports = []
    for i in range(walks.REPORTS_PAGE * 2 + 3):
        report = WalkReport(
            client_uuid=str(uuid.uuid4()),
            payload_hash="0" * 64,
            walk_id=walk.id,
            submitted_by_id=lead.id,
            submitted_at=now - timedelta(minutes=i // 3),
            youths_met="1-10",
            atmosphere="calm",
        )
        session.add(report)
        reports.append(report)
    session.commit()
    expected = [r.id for r in sorted(reports, key=lambda r: (r.submitted_at, r.id), reverse=True)]
    row = r'href="/walks/reports/(\d+)"'
    assert_pages(pages(client, "/walks/reports", row), expected, walks.REPORTS_PAGE)
    assert_garbled_is_first(client, "/walks/reports", row)


# Incidents and community responses --------------------------------------------------------


def test_incidents_and_responses_page_each_on_their_own(client, session, world, login_as):
    worker = login_as("interrupter")
    organisation_id = world.organisations["programme"].id
    area_id = world.places["Tensta centrum"].area_id
    now = datetime.now(UTC)
    incidents, responses = [], []
    for i in range(conflicts.PAGE_SIZE * 2 + 1):
        common = {
            "client_uuid": str(uuid.uuid4()),
            "payload_hash": "0" * 64,
            "organisation_id": organisation_id,
            "area_id": area_id,
            "occurred_at": now - timedelta(hours=i // 2),
            "author_id": worker.id,
        }
        incident = Incident(type="shooting", note=f"incident-{i}", **common)
        common["client_uuid"] = str(uuid.uuid4())
        response = CommunityResponse(kind="vigil", note=f"response-{i}", **common)
        session.add_all([incident, response])
        incidents.append(incident)
        responses.append(response)
    session.commit()
    lists = ((incidents, "incident", "before"), (responses, "response", "responses_before"))
    for rows, word, arg in lists:
        expected = [
            int(r.note.split("-")[1])
            for r in sorted(rows, key=lambda r: (r.occurred_at, r.id), reverse=True)
        ]
        row = rf"<p>{word}-(\d+)</p>"
        found = pages(client, "/conflicts/incidents", row, step=f"{word}s-more")
        # The first page holds both lists; a later page only the list it continues.
        assert_pages(found, expected, conflicts.PAGE_SIZE)
        assert_garbled_is_first(client, "/conflicts/incidents", row, arg)


# Notifications ----------------------------------------------------------------------------


def test_notifications_page_through_every_one_once(client, session, world, login_as):
    user = login_as("interrupter")
    now = datetime.now(UTC)
    rows = [
        Notification(
            recipient_id=user.id,
            kind="test",
            subject=f"test:{i}",
            title={"text": "Test"},
            body={"text": "Body"},
            deliver_at=now - timedelta(minutes=1 + i // 2),
            next_attempt_at=now,
            delivered_at=now,
            delivery="sent",
        )
        for i in range(push.PAGE_SIZE * 2 + 5)
    ]
    # One not yet due: never listed.
    rows.append(
        Notification(
            recipient_id=user.id,
            kind="test",
            subject="test:later",
            deliver_at=now + timedelta(hours=1),
            next_attempt_at=now + timedelta(hours=1),
        )
    )
    session.add_all(rows)
    session.commit()
    due = [r for r in rows if r.deliver_at <= now]
    expected = [r.id for r in sorted(due, key=lambda r: (r.deliver_at, r.id), reverse=True)]
    row = r'id="notification-(\d+)"'
    assert_pages(pages(client, "/notifications", row), expected, push.PAGE_SIZE)
    assert_garbled_is_first(client, "/notifications", row)


# Referrals: the open ones by follow-up, the closed ones by closing ---------------------------


def test_open_and_closed_referrals_page_each_on_their_own(client, session, world, login_as):
    login_as("supervisor")
    worker = factories.create_user(session, world, "interrupter")
    participant = factories.create_participant_for(session, world, worker)
    service = factories.create_service(session, world)
    session.commit()
    today = datetime.now(UTC).date()
    now = datetime.now(UTC)
    open_rows, closed_rows = [], []
    for i in range(referrals.PAGE_SIZE * 2 + 3):
        made = factories.create_referral(session, worker, participant, service)
        # Pairs share a follow-up date; every fifth has none (listed last).
        made.follow_up_on = None if i % 5 == 0 else today + timedelta(days=i // 2)
        open_rows.append(made)
        gone = factories.create_referral(session, worker, participant, service)
        gone.status = "completed"
        gone.closed_at = now - timedelta(days=i // 2)
        closed_rows.append(gone)
    session.add_all(open_rows + closed_rows)
    session.commit()
    row = r'href="/referrals/(\d+)"'
    no_date = datetime.max.date()
    open_expected = [
        r.id for r in sorted(open_rows, key=lambda r: (r.follow_up_on or no_date, r.id))
    ]
    closed_expected = [
        r.id for r in sorted(closed_rows, key=lambda r: (r.closed_at, r.id), reverse=True)
    ]
    found = pages(client, "/referrals", row, step="open-more")
    # The first page also holds the first closed ones.
    found[0] = found[0][: referrals.PAGE_SIZE]
    assert_pages(found, open_expected, referrals.PAGE_SIZE)
    found = pages(client, "/referrals", row, step="closed-more")
    found[0] = found[0][referrals.PAGE_SIZE :]
    assert_pages(found, closed_expected, referrals.PAGE_SIZE)
    assert_garbled_is_first(client, "/referrals", row)
    assert_garbled_is_first(client, "/referrals", row, "closed_before")


# Briefings --------------------------------------------------------------------------------


def test_briefings_page_through_every_one_once(client, session, world, login_as):
    factories.serve(session, world, "municipal")
    author = login_as("briefing_author")
    now = datetime.now(UTC)
    made = []
    for i in range(briefings.PAGE_SIZE * 2 + 1):
        briefing = factories.create_briefing(session, world, author, publish=i % 3 == 0)
        # Pairs share a start, a week apart: the archive of five years in small.
        briefing.valid_from = now - timedelta(days=7 * (i // 2))
        briefing.valid_to = briefing.valid_from + timedelta(days=2)
        made.append(briefing)
    session.add_all(made)
    session.commit()
    expected = [b.id for b in sorted(made, key=lambda b: (b.valid_from, b.id), reverse=True)]
    row = r'href="/briefings/(\d+)"'
    assert_pages(pages(client, "/briefings/", row), expected, briefings.PAGE_SIZE)
    assert_garbled_is_first(client, "/briefings/", row)


# The admin's users ------------------------------------------------------------------------


def test_users_page_by_name_with_the_organisation_filter(client, session, world, login_as):
    admin = login_as("admin")
    made = [
        # Pairs share a name: the id settles their order.
        factories.create_user(session, world, "night_walker", display_name=f"Walker {i // 2:03d}")
        for i in range(admin_services.USERS_PAGE * 2 + 3)
    ]
    factories.create_user(session, world, "interrupter", display_name="Aaa Other")
    session.commit()
    expected = [u.id for u in sorted(made, key=lambda u: (u.display_name, u.id))]
    association = world.organisations["association"].id
    url = f"/admin/users?organisation={association}"
    row = r'href="/admin/users/(\d+)"'
    assert_pages(pages(client, url, row), expected, admin_services.USERS_PAGE)
    assert_garbled_is_first(client, url, row)
    everyone = [i for page in pages(client, "/admin/users", row) for i in page]
    assert len(everyone) == len(set(everyone)) == len(made) + 2 and admin.id in everyone
