"""The offline page offers each role only what that role can do (issue 10)."""

from __future__ import annotations

import pytest
from flask import url_for

ACTIONS = {
    "walks.new_report": "Skriv vandringsrapport",
    "briefings.current": "Helgens lägesbild",
    "contacts.new": "Registrera kontakt",
    "participants.follow_ups": "Mina uppföljningar",
    "conflicts.new": "Flagga en konflikt",
    "conflicts.levels": "Konfliktnivåer",
    "conflicts.new_incident": "Registrera en händelse",
}
FIELD = ("contacts.new", "participants.follow_ups", "conflicts.new", "conflicts.levels")
OFFERED = {
    "night_walker": {"walks.new_report", "briefings.current"},
    "association_lead": {"walks.new_report", "briefings.current"},
    "interrupter": {"briefings.current", "conflicts.new_incident", *FIELD},
    "supervisor": {"briefings.current", "conflicts.new_incident", *FIELD},
    "briefing_author": {"briefings.current"},
    "researcher": set(),
    "admin": set(),
}


@pytest.mark.parametrize("role", sorted(OFFERED))
def test_offline_page_offers_only_what_the_role_can_do(app, client, login_as, role):
    login_as(role)
    page = client.get("/offline").get_data(as_text=True)
    with app.test_request_context():
        links = {endpoint: url_for(endpoint) for endpoint in ACTIONS}
    offered = {endpoint for endpoint, link in links.items() if f'href="{link}"' in page}
    assert offered == OFFERED[role]
    for endpoint in set(ACTIONS) - OFFERED[role]:
        assert ACTIONS[endpoint] not in page.split("<main")[-1]
    # What it offers, it may open.
    for endpoint in offered:
        assert client.get(links[endpoint]).status_code == 200, endpoint


def test_offline_page_offers_nothing_before_sign_in(client):
    page = client.get("/offline").get_data(as_text=True)
    assert 'class="list offline-actions"' not in page
