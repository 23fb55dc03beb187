"""No participant code in a page's title or in any URL: browser history outlives a logout
(DESIGN.md, Security; issue 9, item 7)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

from werkzeug.routing import IntegerConverter

from interrupters.conflicts import services as conflicts
from interrupters.participants.models import Participant

from . import factories

URL_ATTRIBUTES = {"href", "action", "formaction", "src", "hx-get", "hx-post", "hx-push-url"}


class _Page(HTMLParser):
    """The page's title and every URL it links to, posts to or loads."""

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.urls: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_title = tag == "title"
        self.urls += [v for k, v in attrs if v and (k in URL_ATTRIBUTES or k.endswith("-url"))]

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def _check(response, code: str) -> _Page:
    assert response.status_code == 200, response.request.path
    page = _Page()
    page.feed(response.get_data(as_text=True))
    assert page.title.strip(), response.request.path
    assert code not in page.title, (response.request.path, page.title)
    assert code[2:] not in page.title
    for url in [*page.urls, response.request.full_path, response.headers.get("Location", "")]:
        assert code not in url and code[2:] not in url, (response.request.path, url)
    return page


def test_no_participant_page_carries_the_code_in_its_title_or_urls(
    client, session, world, login_as
):
    worker = login_as("interrupter")
    supervisor = factories.create_user(session, world, "supervisor")
    participant = factories.create_participant_for(session, world, worker)
    code = participant.code
    contact = factories.create_contact(
        session,
        world,
        worker,
        participant_id=participant.id,
        follow_up_on=date.today() + timedelta(days=2),
    )
    actor = factories.principal(session, supervisor)
    conflict, _created = conflicts.flag_conflict(
        session=session,
        actor=actor,
        data=conflicts.ConflictInput.model_validate(
            {
                "area_id": world.areas["Rinkeby"].id,
                "detected_via": "social_media",
                "catalyst": "online_provocation",
                "type": "group_vs_group",
                "parties_count": 2,
                "risk_level": 1,
                "occurred_at": datetime.now(UTC) - timedelta(hours=1),
            }
        ),
        client_uuid="00000000-0000-4000-8000-000000000001",
    )
    conflicts.link_participant(
        session=session, actor=actor, conflict_id=conflict.id or 0, participant_code=code
    )
    session.commit()

    pages = [
        "/participants/",
        "/participants/team",
        "/participants/follow-ups",
        f"/participants/{participant.id}",
        f"/participants/{participant.id}/edit",
        f"/contacts/new?participant={participant.id}",
        f"/contacts/{contact.id}",
        f"/contacts/{contact.id}/edit",
        "/contacts",
        f"/conflicts/{conflict.id}",
    ]
    seen_code = False
    for path in pages:
        response = client.get(path)
        _check(response, code)
        # The code is on the page (it is what workers use), just not in its title or URLs.
        seen_code |= code in response.get_data(as_text=True)
    assert seen_code

    # A new participant: the redirect goes to a number, and the next page's title has no code.
    response = client.post(
        "/participants/new",
        data={"area_id": world.areas["Rinkeby"].id, "age_band": "15-17", "risk_tier": "high"},
    )
    assert response.status_code == 303
    location = response.headers["Location"]
    new_id = location.rstrip("/").rsplit("/", 1)[-1]
    assert new_id.isdigit()
    created = session.get(Participant, int(new_id))
    assert created is not None and created.code not in location
    _check(client.get(location), created.code)


def test_no_route_takes_a_participant_code(app):
    """Routes name participants by their number; a code shape can never be part of a URL."""
    for rule in app.url_map.iter_rules():
        for name, converter in rule._converters.items():
            if "participant" in name or "code" in name:
                assert isinstance(converter, IntegerConverter), (rule.rule, name)
