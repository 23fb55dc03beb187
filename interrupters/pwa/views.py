"""What makes the app a PWA: versioned static files, the service worker, the manifest."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
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


# A module's static imports (`import ... from "./x.js";`), not its dynamic `import("./x.js")`:
# what the browser must fetch before the module runs.
STATIC_IMPORT = re.compile(r'^import\s[^;]*?\sfrom\s+"([^"]+)";', re.MULTILINE)

# What every signed-in page runs (base.html, static/js/app.js): the outbox's panel and sender,
# and the guard that comes with the first press on "Sign out".
SIGNED_IN_MODULES = ("js/components/outbox-status.js",)
# What app.js imports for a kept page's elements, beyond the signed-in page's: a form saved to
# the outbox (data-outbox) and the briefing's read receipt (data-briefing-read). A page of
# OFFLINE_PAGES not named here has none of them (tests/test_pwa.py checks each page).
OUTBOX_FORM = "js/components/outbox-form.js"
KEPT_PAGE_MODULES: dict[str, tuple[str, ...]] = {
    "contacts.new": (OUTBOX_FORM,),
    "conflicts.new": (OUTBOX_FORM,),
    "conflicts.new_incident": (OUTBOX_FORM,),
    "referrals.new": (OUTBOX_FORM,),
    "walks.new_report": (OUTBOX_FORM,),
    "picture.new_observation": (OUTBOX_FORM,),
    "picture.signal": (OUTBOX_FORM,),
    "briefings.current": (OUTBOX_FORM, "js/components/briefing-read.js"),
}
# What any kept page may import: the outbox's sender (once something is due), a counted text,
# a button to confirm, the logout guard. Offline a page has them from the cache.
KEPT_SHELL_MODULES = (
    "js/lib/sender.js",
    "js/components/logout-guard.js",
    "js/components/counter.js",
    "js/components/confirm.js",
)


def _imports_of(name: str) -> tuple[str, ...]:
    """The static files `name` (a path under static/, "js/app.js") imports statically."""
    cache: dict[str, tuple[str, ...]] = current_app.extensions.setdefault("module_imports", {})
    if name in cache and not current_app.debug:
        return cache[name]
    assert current_app.static_folder is not None
    text = (Path(current_app.static_folder) / name).read_text(encoding="utf-8")
    folder = Path(name).parent
    found = tuple(
        (folder / target).as_posix() if not target.startswith("/") else target.lstrip("/")
        for target in STATIC_IMPORT.findall(text)
    )
    # "js/components/../lib/outbox.js" -> "js/lib/outbox.js"
    cache[name] = tuple(_normal(path) for path in found)
    return cache[name]


def _normal(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def module_chain(names: Iterable[str]) -> list[str]:
    """The modules `names` and every module they import statically, each once, each before
    what imports it: what a page preloads, or the service worker keeps, to run them."""
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        ordered.append(name)
        for imported in _imports_of(name):
            visit(imported)

    for name in names:
        visit(name)
    return ordered


@bp.app_context_processor
def _module_preloads() -> dict[str, Any]:
    def module_preloads(*groups: Iterable[str]) -> list[str]:
        """URLs for <link rel="modulepreload">: the modules and their static imports."""
        return [security.asset(name) for name in module_chain(n for g in groups for n in g)]

    return {"module_preloads": module_preloads, "signed_in_modules": SIGNED_IN_MODULES}


def kept_pages(person: Any) -> list[str]:
    """The endpoints of OFFLINE_PAGES the service worker keeps for `person`: those they may
    open (a night walker is refused the contact form) and their start page if it is kept."""
    return [
        endpoint
        for endpoint in OFFLINE_PAGES
        if may_reach(person, endpoint) and (endpoint != "main.home" or home_kept(person))
    ]


# What the worker fetches as soon as it starts: what DESIGN.md's guarantees 1 and 7 name for
# the street (the contact and conflict forms, the walk report, the briefing, own follow-ups,
# the conflicts' levels). The other kept pages (the start page, the directory, an incident, a
# referral, the picture's forms) follow at the next page the worker serves (sw-main.js), so a
# phone's cold first load stays within its budget (issue 13) and they are on the phone long
# before its first walk into the metro.
WARM_PAGES = frozenset(
    {
        "contacts.new",
        "conflicts.new",
        "walks.new_report",
        "briefings.current",
        "participants.follow_ups",
        "conflicts.levels",
    }
)


def precached_files(person: Any, pages: Iterable[str]) -> list[str]:
    """The app shell for `person`'s kept pages and the offline page, under static/: styles,
    the icon, htmx, the modules those pages run (and what they import), the PIN gate on a
    field phone. Not the modules of pages never kept (push, passkeys, presentation, print),
    nor the service worker's own (the browser keeps a worker's imports itself)."""
    if person is None or not person.is_authenticated:
        return []
    modules = ["js/app.js", *SIGNED_IN_MODULES, *KEPT_SHELL_MODULES]
    for endpoint in pages:
        modules.extend(KEPT_PAGE_MODULES.get(endpoint, ()))
    files = ["css/app.css", "icons/icon.svg", HTMX, *module_chain(modules)]
    if getattr(person, "field", False):
        files.append("js/pin-gate.js")
    return files


# htmx, vendored (base.html loads it on signed-in pages).
HTMX = "js/vendor/htmx-2.0.11.min.js"


@dataclass(frozen=True)
class WorkerPlan:
    """Whom a service worker is made for: their roles, and whether the phone is a field phone
    (it then runs the PIN gate). A module worker's script is fetched without cookies, so the
    signed-in page names these in the worker's URL (base.html, service_worker_url)."""

    roles: frozenset[Role]
    field: bool = False
    is_authenticated: bool = True
    restricted: bool = False

    def has_role(self, *roles: Role) -> bool:
        return any(role in self.roles for role in roles)

    @classmethod
    def of(cls, person: Any) -> WorkerPlan | None:
        if not person.is_authenticated:
            return None
        return cls(roles=frozenset(person.roles), field=bool(getattr(person, "field", False)))

    @classmethod
    def from_args(cls, args: Any) -> WorkerPlan | None:
        known = {role.value: role for role in Role}
        roles = frozenset(known[name] for name in args.get("roles", "").split(",") if name in known)
        if not roles:
            return None
        return cls(roles=roles, field=args.get("field") == "1")

    def args(self) -> dict[str, str]:
        return {"roles": ",".join(sorted(self.roles)), **({"field": "1"} if self.field else {})}


def service_worker_url(person: Any) -> str:
    """The worker's URL for `person`: the same for as long as their roles stay the same (a
    change of roles installs a new worker with their new pages)."""
    plan = WorkerPlan.of(person)
    args: dict[str, Any] = plan.args() if plan else {}
    return url_for("pwa.service_worker", **args)


@bp.app_context_processor
def _worker_url() -> dict[str, Any]:
    return {"service_worker_url": lambda: service_worker_url(current_user)}


@bp.get("/sw.js")
def service_worker() -> Response:
    """The service worker, at the root so its scope is the whole app, made for the roles its
    URL names: it keeps the pages they may open offline and the files those pages run, no more
    (a night walker's phone does not fetch five forms only to be refused them). What a page
    may be kept, the server still decides per answer (X-Keep-Offline)."""
    plan = WorkerPlan.from_args(request.args)
    pages = kept_pages(plan) if plan else []
    config = {
        "version": current_app.config["STATIC_VERSION"],
        "precache": [security.asset(name) for name in precached_files(plan, pages)],
        "pages": [url_for(endpoint) for endpoint in pages],
        "warm": [url_for(endpoint) for endpoint in pages if endpoint in WARM_PAGES],
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
    kept = set(kept_pages(current_user))
    actions = [
        (url_for(endpoint), label) for endpoint, label in OFFLINE_ACTIONS if endpoint in kept
    ]
    return render_template("pwa/offline.html", actions=actions)
