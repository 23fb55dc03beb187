"""The offline page offers each role only what that role can do (issue 10)."""

from __future__ import annotations

import html
import json
import re

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


# The service worker and the pages' scripts: each role's phone fetches what it uses (issue 13).

MODULES_FOR = {
    # What app.js imports for an element of the page (static/js/app.js, BEHAVIOURS).
    "data-outbox=": "js/components/outbox-form.js",
    "data-briefing-read=": "js/components/briefing-read.js",
    "data-outbox-once=": "js/components/briefing-read.js",
    "data-counter=": "js/components/counter.js",
    "data-confirm=": "js/components/confirm.js",
    "data-outbox-status": "js/components/outbox-status.js",
    "data-logout-guard": "js/components/logout-guard.js",
}
NEVER_PRECACHED = ("passkey.js", "push-optin.js", "presentation.js", "print.js", "sw-main.js")


def worker_url(client) -> str:
    """The service worker's URL as a signed-in page registers it (base.html)."""
    page = client.get("/more").get_data(as_text=True)
    found = re.search(r'data-service-worker="([^"]+)"', page)
    return html.unescape(found.group(1)) if found else "/sw.js"


def _worker_config(client) -> dict:
    text = client.get(worker_url(client)).get_data(as_text=True)
    return json.loads(text.split("startServiceWorker(", 1)[1].rsplit(");", 1)[0])


def _static_names(urls: list[str]) -> set[str]:
    return {url.split("/static/v/", 1)[1].split("/", 1)[1] for url in urls if "/static/v/" in url}


@pytest.mark.parametrize("role", sorted(OFFERED))
def test_the_service_worker_keeps_what_the_role_opens_and_runs(app, client, login_as, role):
    login_as(role)
    config = _worker_config(client)
    precached = _static_names(config["precache"])
    # Every page it keeps opens for this person (none answers 403 to be thrown away).
    for path in config["pages"]:
        assert client.get(path).status_code == 200, path
    with app.test_request_context():
        offered = {url_for(endpoint) for endpoint in OFFERED[role]}
    assert offered <= set(config["pages"])
    # Each kept page's behaviours, and the offline page's, are in the cache for the street,
    # with what they import.
    for path in [*config["pages"], config["offline"]]:
        page = client.get(path).get_data(as_text=True)
        for marker, module in MODULES_FOR.items():
            if marker in page:
                assert module in precached, (path, module)
    if MODULES_FOR["data-outbox="] in precached:
        assert {"js/lib/enqueue.js", "js/lib/seal.js", "js/lib/outbox.js"} <= precached
    assert {"js/app.js", "js/lib/store.js", "js/vendor/idb-8.0.4.js", "css/app.css"} <= precached
    assert not [name for name in precached if name.endswith(NEVER_PRECACHED)]


def test_a_night_walker_keeps_no_contact_form_and_no_outbox_form_of_others(client, login_as):
    login_as("night_walker")
    config = _worker_config(client)
    assert "/contacts/new" not in config["pages"]
    assert "/briefings/current" in config["pages"]


def test_the_service_worker_before_sign_in_keeps_nothing(client):
    config = _worker_config(client)
    assert config["pages"] == [] and config["precache"] == []
    # Unknown roles in its URL make nothing either.
    text = client.get("/sw.js?roles=root,admin2").get_data(as_text=True)
    assert '"pages": []' in text


def test_the_service_worker_is_the_same_for_the_same_roles(client, login_as, app):
    login_as("night_walker")
    url = worker_url(client)
    assert "roles=night_walker" in url
    # Fetched as the browser fetches a module worker: without cookies.
    anonymous = app.test_client()
    assert anonymous.get(url).get_data() == client.get(url).get_data()
    assert '"/briefings/current"' in anonymous.get(url).get_data(as_text=True)


def test_login_loads_one_small_module_and_no_htmx(client):
    page = client.get("/login").get_data(as_text=True)
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page)
    assert len(scripts) == 1 and scripts[0].endswith("/js/app.js")
    assert "modulepreload" not in page
    assert "data-outbox-status" not in page


def test_a_page_preloads_its_module_chain(client, login_as):
    login_as("interrupter")
    page = client.get("/contacts/new").get_data(as_text=True)
    preloaded = _static_names(re.findall(r'<link rel="modulepreload" href="([^"]+)"', page))
    # The form's chain (form -> enqueue -> seal, outbox -> store -> idb) and the panel's.
    assert {
        "js/components/outbox-status.js",
        "js/components/outbox-form.js",
        "js/lib/enqueue.js",
        "js/lib/seal.js",
        "js/lib/outbox.js",
        "js/lib/store.js",
        "js/vendor/idb-8.0.4.js",
    } == preloaded
    # The follow-ups list saves nothing: no form's code, no encryption.
    listing = client.get("/participants/follow-ups").get_data(as_text=True)
    assert "seal.js" not in listing and "outbox-form.js" not in listing
    assert "outbox-status.js" in listing
    # The page carries the outbox's key: the phone need not ask /sync/config for it.
    key = client.get("/sync/config").get_json()["public_key"]
    assert f'data-public-key="{key}"' in page
