"""Phone navigation and the must-acknowledge banner (issue 10, item 3)."""

from __future__ import annotations

import re

import pytest

from interrupters.push import services as push_services

ROLES = (
    "admin",
    "supervisor",
    "interrupter",
    "briefing_author",
    "association_lead",
    "night_walker",
    "researcher",
)


def _tabs(page: str) -> list[str]:
    bar = page.split("data-tabbar>", 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a href="([^"]+)"', bar)


@pytest.mark.parametrize("role", ROLES)
def test_at_most_five_tabs_and_the_rest_on_the_more_page(client, login_as, role):
    login_as(role)
    tabs = _tabs(client.get("/").get_data(as_text=True))
    assert 3 <= len(tabs) <= 5
    assert tabs[0] == "/" and tabs[-1] == "/more" and "/notifications" in tabs
    more = client.get("/more").get_data(as_text=True)
    listed = re.findall(r'<a href="([^"]+)"', more.split('class="list more-list"', 1)[1])
    # Every tab's place is also on the more page, and every place there can be opened.
    assert set(tabs[1:-2]) <= set(listed)
    for href in listed:
        assert client.get(href).status_code == 200, href


def test_the_badge_counts_what_waits(client, session, login_as):
    worker = login_as("interrupter")
    for number in range(2):
        push_services.notify(
            session=session,
            recipient_ids=[worker.id],
            kind="badge_test",
            subject=f"badge:{number}",
            title="Generic",
            body="Generic",
            url="/",
            requires_ack=number == 0,
        )
    session.commit()
    page = client.get("/participants/").get_data(as_text=True)
    assert re.search(r'data-badge>2<span class="visually-hidden">', page)


def test_a_must_acknowledge_alert_is_a_banner_on_every_page_until_acknowledged(
    client, session, login_as
):
    worker = login_as("interrupter")
    (alert,) = push_services.notify(
        session=session,
        recipient_ids=[worker.id],
        kind="banner_test",
        subject="banner:1",
        title="Konflikt i Järva höjd till nivå 4",
        body="Öppna appen.",
        url="/conflicts/",
        requires_ack=True,
    )
    session.commit()
    for path in ("/", "/participants/", "/contacts", "/profile", "/more"):
        page = client.get(path).get_data(as_text=True)
        assert "data-ack-banner" in page and "Konflikt i Järva" in page, path
    response = client.post(
        f"/notifications/{alert.id}/acknowledge",
        data={"csrf_token": "", "next": "/participants/"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/participants/")
    assert "data-ack-banner" not in client.get("/participants/").get_data(as_text=True)


def test_the_banner_sends_back_only_to_this_app(client, session, login_as):
    worker = login_as("interrupter")
    (alert,) = push_services.notify(
        session=session,
        recipient_ids=[worker.id],
        kind="banner_test",
        subject="banner:2",
        title="Generic",
        body="Generic",
        url="/",
        requires_ack=True,
    )
    session.commit()
    response = client.post(
        f"/notifications/{alert.id}/acknowledge", data={"next": "//evil.example/x"}
    )
    assert response.headers["Location"].endswith("/notifications")
