"""What makes the app a PWA: versioned static files, the service worker, the manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from interrupters import security
from interrupters.auth.values import Role
from interrupters.authz import PUBLIC, guard, may_reach
from interrupters.db import utcnow

bp = Blueprint("pwa", __name__)
guard(bp, {"asset": PUBLIC, "service_worker": PUBLIC, "manifest": PUBLIC, "offline": PUBLIC})

# Pages the service worker keeps a copy of, for the street without network (DESIGN.md,
# guarantee 7): the forms and the worker's own follow-ups (codes and dates only).
OFFLINE_PAGES = (
    "contacts.new",
    "participants.follow_ups",
    "conflicts.new",
    "conflicts.levels",
    "conflicts.new_incident",
    # A referral made on the street, and the directory of services (no personal data).
    "referrals.new",
    "referrals.directory",
    "walks.new_report",
    # The situational picture's records: a partner's observation, an interrupter's signal.
    "picture.new_observation",
    "picture.signal",
    # The weekend briefing, until it expires (sw-main.js drops it after X-Expires-At).
    "briefings.current",
    # The start page, only for the roles of HOME_KEPT_FOR (the view says so per answer).
    "main.home",
)
# The service worker keeps a copy of a page only when its answer carries this header with
# "1": the server decides per answer, so a page that is kept for one role (the start page of
# a night walker) is never kept for another (a supervisor's dashboard).
KEEP_HEADER = "X-Keep-Offline"
# Whose start page the phone may keep: the roles that work in the street, and only when every
# role the person has is one of them. Their start pages show what DESIGN.md's guarantee 7
# allows: the briefing's summary and place statuses, walks with sign-up counts, generic alert
# titles; an interrupter's own follow-ups due (codes and dates only), returned contacts (a
# date, no content) and the caseload's size; an association lead's own members' names with
# whether they read the briefing (volunteers of the lead's association, never participants).
# Never kept: the supervisor's dashboard (the team's overdue participants, each worker's
# figures), the briefing author's, the researcher's and the admin's start pages (office roles,
# no need on the street).
HOME_KEPT_FOR = frozenset({Role.night_walker, Role.association_lead, Role.interrupter})


def home_kept(person: Any) -> bool:
    """Whether `person`'s start page may be kept on their phone for reading offline."""
    roles = frozenset(person.roles) if person.is_authenticated else frozenset()
    return bool(roles) and roles <= HOME_KEPT_FOR


# What the offline page offers, each to those who may use it (a night walker is never offered
# "Log contact"): the kept pages, the most used first.
OFFLINE_ACTIONS = (
    ("main.home", _l("Start")),
    ("walks.new_report", _l("File a walk report")),
    ("briefings.current", _l("Weekend briefing")),
    ("contacts.new", _l("Log contact")),
    ("participants.follow_ups", _l("My follow-ups")),
    ("conflicts.new", _l("Flag a conflict")),
    ("conflicts.levels", _l("Conflict levels")),
    ("conflicts.new_incident", _l("Record an incident")),
    ("referrals.new", _l("Start a referral")),
    ("referrals.directory", _l("Directory of services")),
    ("picture.new_observation", _l("File an observation")),
    ("picture.signal", _l("Place signal")),
)


@bp.after_app_request
def _mark_kept(response: Response) -> Response:
    """Say which answers the service worker may keep: a page of OFFLINE_PAGES, answered in
    full, unless its view said otherwise (the start page of an office role)."""
    if (
        request.method == "GET"
        and request.endpoint in OFFLINE_PAGES
        and response.status_code == 200
        and KEEP_HEADER not in response.headers
    ):
        response.headers[KEEP_HEADER] = "1"
    return response


@bp.app_context_processor
def _kept_copy() -> dict[str, Any]:
    # When the page was made: a copy the phone shows offline says how old it is.
    return {"rendered_at": utcnow()}


@bp.get("/static/v/<version>/<path:filename>")
def asset(version: str, filename: str) -> Response:
    """A static file under a release version: immutable for a year when the version is current."""
    assert current_app.static_folder is not None
    response = send_from_directory(current_app.static_folder, filename)
    if version == current_app.config["STATIC_VERSION"]:
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = security.STATIC_MAX_AGE
        response.cache_control.immutable = True
    else:
        # An old page asks for an old version: serve today's file, but do not keep it.
        response.cache_control.no_cache = True
    return response


def _precached_files() -> list[str]:
    """The app shell: styles, scripts and the icon (the PNG icons are for installing only)."""
    assert current_app.static_folder is not None
    root = Path(current_app.static_folder)
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and (p.suffix in {".js", ".css"} or p.name == "icon.svg")
    )


@bp.get("/sw.js")
def service_worker() -> Response:
    """The service worker, at the root so its scope is the whole app."""
    config = {
        "version": current_app.config["STATIC_VERSION"],
        "precache": [security.asset(name) for name in _precached_files()],
        "pages": [url_for(endpoint) for endpoint in OFFLINE_PAGES],
        "offline": url_for("pwa.offline"),
        "icon": security.asset("icons/icon-192.png"),
    }
    body = (
        f'import {{ startServiceWorker }} from "{security.asset("js/sw-main.js")}";\n'
        f"startServiceWorker({json.dumps(config)});\n"
    )
    response = Response(body, mimetype="text/javascript")
    # Checked on every navigation: a new release reaches the phones at once.
    response.cache_control.no_cache = True
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    body = {
        "name": "Interrupters",
        "short_name": "Interrupters",
        "description": _("Contacts, conflicts and the weekend briefing, also without network."),
        "lang": "sv",
        "start_url": url_for("main.home"),
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#101418",
        "theme_color": "#101418",
        "icons": [
            {"src": security.asset("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": security.asset("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": security.asset("icons/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
            {"src": security.asset("icons/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    response = Response(json.dumps(body), mimetype="application/manifest+json")
    response.cache_control.max_age = 3600
    return response


@bp.get("/offline")
def offline() -> str:
    """Shown for a page that is not kept on the phone when there is no network.

    The service worker keeps the copy it fetched when the signed-in person installed it (a
    sign-out unregisters it), so the page offers what that person's roles may use."""
    actions = [
        (url_for(endpoint), label)
        for endpoint, label in OFFLINE_ACTIONS
        if may_reach(current_user, endpoint)
        and (endpoint != "main.home" or home_kept(current_user))
    ]
    return render_template("pwa/offline.html", actions=actions)
