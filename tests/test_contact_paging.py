"""The long lists a page at a time (issue 13, item 2): a participant's history, the review
queue, my contacts and the team's contacts. The next page (the `before` cursor) holds the older
rows with no repeats and no gaps; a garbled cursor is the first page, never an error."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlmodel import Session, col, select

from interrupters.contacts import services
from interrupters.contacts.models import Contact
from interrupters.contacts.values import ReviewDecision, ReviewState
from interrupters.paging import Cursor

from . import factories

# The app speaks Swedish unless a person chose otherwise: the texts below are its Swedish.
CARD = re.compile(r'href="/contacts/(\d+)"')
TICK = re.compile(r'name="contact_ids" value="(\d+)"')
MORE = re.compile(r'<p class="paging-more" id="paging-more">(.*?)</p>', re.S)


def _ids(html: str, pattern: re.Pattern[str] = CARD) -> list[int]:
    return [int(found) for found in pattern.findall(html)]


def _more(html: str) -> str | None:
    """The "show more" link's address, if the page has one."""
    step = MORE.search(html)
    assert step is not None, "every paged list renders its paging step"
    link = re.search(r'<a href="([^"]+)" hx-get=', step.group(1))
    return link.group(1).replace("&amp;", "&") if link else None


def _walk(client, url: str, pattern: re.Pattern[str] = CARD, **kwargs) -> list[list[int]]:
    """Follow the "show more" links from `url` to the end; the ids of each page."""
    pages = []
    next_url: str | None = url
    while next_url is not None:
        response = client.get(next_url, **kwargs)
        assert response.status_code == 200, next_url
        html = response.get_data(as_text=True)
        pages.append(_ids(html, pattern))
        next_url = _more(html)
        assert len(pages) < 10
    return pages


def _expected(session: Session, *where, newest_first: bool = True) -> list[int]:
    order = (
        (col(Contact.occurred_at).desc(), col(Contact.id).desc())
        if newest_first
        else (col(Contact.occurred_at), col(Contact.id))
    )
    return list(session.exec(select(Contact.id).where(*where).order_by(*order)))


def _log_many(session, world, worker, count: int, start: datetime, **overrides) -> None:
    # Pairs share a moment: the id settles their order, and a page may end inside a pair.
    for index in range(count):
        factories.create_contact(
            session, world, worker, occurred_at=start - timedelta(minutes=index // 2), **overrides
        )
    session.commit()


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def test_a_participants_history_pages_to_its_first_contact(client, session, world, login_as, now):
    worker = login_as("interrupter")
    participant = factories.create_participant_for(session, world, worker)
    _log_many(session, world, worker, 61, now, subject="participant", participant_id=participant.id)
    url = f"/participants/{participant.id}"
    pages = _walk(client, url)
    assert [len(page) for page in pages] == [25, 25, 11]
    shown = [contact_id for page in pages for contact_id in page]
    assert shown == _expected(session, Contact.participant_id == participant.id)
    last = client.get(_more(client.get(url).get_data(as_text=True)) or "").get_data(as_text=True)
    assert f'href="{url}">' in last  # back to the newest, without script


def test_the_review_queue_pages_oldest_first_and_keeps_its_filters(
    client, session, world, login_as, now
):
    worker = factories.create_user(session, world, "interrupter")
    other = factories.create_user(session, world, "interrupter")
    _log_many(session, world, worker, 30, now)
    _log_many(session, world, other, 3, now)
    login_as("supervisor")
    first = client.get("/review").get_data(as_text=True)
    assert "33 kontakter väntar." in first
    url = f"/review?worker_id={worker.id}"
    pages = _walk(client, url, TICK)
    assert [len(page) for page in pages] == [25, 5]
    shown = [contact_id for page in pages for contact_id in page]
    assert shown == _expected(session, Contact.worker_id == worker.id, newest_first=False)
    # htmx asks for the next page: the queue's block with its rows and the next step.
    html = client.get(url).get_data(as_text=True)
    assert "30 kontakter väntar." in html
    fragment = client.get(_more(html) or "", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)
    assert _ids(fragment.get_data(as_text=True), TICK) == pages[1]
    assert 'id="paging-more"' in fragment.get_data(as_text=True)
    # Approving what the second page shows approves just those.
    response = client.post("/review/approve", data={"contact_ids": [str(i) for i in pages[1]]})
    assert response.status_code == 303
    approved = _expected(session, col(Contact.review_state) == ReviewState.approved.value)
    assert sorted(approved) == sorted(pages[1])


def test_my_contacts_page_through_the_states_in_order(
    client, session, world, login_as, actor_for, now
):
    worker = login_as("interrupter")
    boss = actor_for(factories.create_user(session, world, "supervisor"))
    _log_many(session, world, worker, 60, now)
    oldest = _expected(session, Contact.worker_id == worker.id)
    for contact_id in oldest[-2:]:
        services.review_contact(
            session=session,
            actor=boss,
            contact_id=contact_id,
            decision=ReviewDecision.returned,
            comment="Which area?",
        )
    for contact_id in oldest[:5]:
        services.review_contact(
            session=session, actor=boss, contact_id=contact_id, decision=ReviewDecision.approved
        )
    session.commit()
    html = client.get("/contacts").get_data(as_text=True)
    assert "Skickade tillbaka till dig: rätta dessa (2)" in html
    assert "Väntar på granskning (53)" in html
    pages = _walk(client, "/contacts")
    assert [len(page) for page in pages] == [50, 10]
    shown = [contact_id for page in pages for contact_id in page]
    by_state = [
        _expected(session, Contact.worker_id == worker.id, Contact.review_state == state.value)
        for state in services.MINE_ORDER
    ]
    assert shown == [contact_id for ids in by_state for contact_id in ids]
    # htmx appends the next page: the state it continues has its heading already.
    fragment = client.get(_more(html) or "", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "<h2>Väntar på granskning" not in text and "<h2>Godkända kontakter" in text
    assert "<h2>Väntar på granskning" in client.get(_more(html) or "").get_data(as_text=True)


def test_the_teams_contacts_page_newest_first(client, session, world, login_as, now):
    worker = factories.create_user(session, world, "interrupter")
    _log_many(session, world, worker, 55, now)
    login_as("supervisor")
    pages = _walk(client, f"/contacts/team?worker_id={worker.id}")
    assert [len(page) for page in pages] == [50, 5]
    shown = [contact_id for page in pages for contact_id in page]
    assert shown == _expected(session, Contact.worker_id == worker.id)


def test_the_homes_heading_counts_every_returned_contact(
    client, session, world, login_as, actor_for, now
):
    worker = login_as("interrupter")
    boss = actor_for(factories.create_user(session, world, "supervisor"))
    _log_many(session, world, worker, 7, now)
    for contact in session.exec(select(Contact).where(Contact.worker_id == worker.id)):
        assert contact.id is not None
        services.review_contact(
            session=session,
            actor=boss,
            contact_id=contact.id,
            decision=ReviewDecision.returned,
            comment="Which area?",
        )
    session.commit()
    html = client.get("/").get_data(as_text=True)
    assert "7 kontakter har skickats tillbaka till dig" in html
    assert html.count('href="/contacts/') - html.count('href="/contacts/new') == 5


GARBLED = [
    "!!!",
    "x" * 500,
    "WyJ0Iiwibm90IGEgZGF0ZSIsMV0",  # ["t","not a date",1]
    Cursor(datetime(2026, 1, 1), 5).encode(),  # a time without a zone
    # Past the year 9999 once in UTC.
    Cursor(datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-14))), 5).encode(),
    Cursor(42, 5).encode(),
    Cursor("2026-01-01", 5).encode(),
]


@pytest.mark.parametrize("token", GARBLED)
def test_a_garbled_cursor_is_the_first_page(client, session, world, login_as, now, token):
    supervisor = login_as("supervisor")
    participant = factories.create_participant_for(session, world, supervisor)
    worker = factories.create_user(session, world, "interrupter")
    _log_many(session, world, worker, 3, now, subject="participant", participant_id=participant.id)
    _log_many(session, world, supervisor, 2, now)
    for url in (
        f"/participants/{participant.id}",
        "/review",
        "/contacts",
        "/contacts/team",
    ):
        first = client.get(url)
        for state in ("", "&state=approved", "&state=nonsense"):
            response = client.get(f"{url}?before={token}{state}")
            assert response.status_code == 200, (url, token)
            assert _ids(response.get_data(as_text=True)) == _ids(first.get_data(as_text=True))
