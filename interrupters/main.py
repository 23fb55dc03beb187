"""The start page: each role lands on what it needs first (DESIGN.md, "Every role's home")."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, g, render_template
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlmodel import Session
from werkzeug.wrappers import Response

from interrupters.admin import services as admin
from interrupters.audit.services import last_event_at
from interrupters.auth.principal import Principal
from interrupters.auth.values import Role
from interrupters.authz import PUBLIC, SIGNED_IN, guard, may_reach
from interrupters.briefings import services as briefings
from interrupters.briefings.values import BriefingState
from interrupters.conflicts import services as conflicts
from interrupters.conflicts.values import MediationOutcome
from interrupters.contacts import services as contacts
from interrupters.contacts.values import ReviewState
from interrupters.db import get_session, utcnow
from interrupters.health.views import host_report
from interrupters.participants import services as participants
from interrupters.places.services import area_names, district_names, place_names
from interrupters.push import services as push
from interrupters.pwa.views import KEEP_HEADER, home_kept
from interrupters.reports import services as figures
from interrupters.walks import services as walks

logger = logging.getLogger(__name__)

bp = Blueprint("main", __name__)
guard(bp, {"home": SIGNED_IN, "more": SIGNED_IN, "health": PUBLIC})

STOCKHOLM = ZoneInfo("Europe/Stockholm")
LEVELS = (1, 2, 3, 4)
SHOWN = 5  # items a home shows of a list; the list itself is one tap away


def _alerts(session: Session, actor: Principal, now: datetime) -> dict[str, Any]:
    return {"alerts": push.unacknowledged(session=session, recipient_id=actor.user_id, now=now)}


def _current_briefing(session: Session, actor: Principal, now: datetime) -> dict[str, Any]:
    current = briefings.current_briefings(session=session, actor=actor, now=now)
    briefing = current[0] if current else None
    if briefing is None or briefing.id is None:
        return {"briefing": None}
    return {
        "briefing": briefing,
        "statuses": briefings.place_statuses(session=session, briefing_id=briefing.id),
        "acknowledgement": briefings.acknowledgement_of(
            session=session, briefing_id=briefing.id, user_id=actor.user_id
        ),
    }


def _walks(session: Session, actor: Principal, now: datetime) -> dict[str, Any]:
    upcoming = walks.list_walks(session=session, actor=actor, now=now, upcoming=True)[:SHOWN]
    ids = [w.id for w in upcoming if w.id is not None]
    return {
        "walks": upcoming,
        "signups": walks.signups_of(session=session, walk_ids=ids),
        "districts": district_names(session=session),
        "places": place_names(session=session),
    }


def night_walker(session: Session, actor: Principal, now: datetime) -> dict[str, Any]:
    """Tonight: the briefing, the next walk, the report to file, what waits."""
    context = _alerts(session, actor, now) | _current_briefing(session, actor, now)
    context |= _walks(session, actor, now)
    context["reportable"] = walks.reportable_walks(session=session, actor=actor, now=now)
    return context


def association_lead(session: Session, actor: Principal, now: datetime) -> dict[str, Any]:
    """The coming walks with sign-ups and groups, reports to read, who acknowledged the briefing."""
    context = _alerts(session, actor, now) | _current_briefing(session, actor, now)
    context |= _walks(session, actor, now)
    briefing = context["briefing"]
    context["members"] = (
        briefings.member_receipts(
            session=session,
            briefing_id=briefing.id,
            organisation_ids=actor.organisations(Role.association_lead),
        )
        if briefing is not None
        else []
    )
    context["reports"] = walks.list_reports(session=session, actor=actor, size=SHOWN).items
    return context


def briefing_author(session: Session, actor: Principal, now: datetime) -> dict[str, Any]:
    """Drafts, scheduled, published with read and acknowledged counts, the next meeting."""
    own = briefings.writable_briefings(session=session, actor=actor)
    by_state: dict[str, list[Any]] = {state.value: [] for state in BriefingState}
    for briefing in own:
        by_state.setdefault(briefing.state, []).append(briefing)
    published = by_state[BriefingState.published.value][:SHOWN]
    meetings = sorted(
        (b.meeting_at, b.id or 0, b)
        for b in own
        if b.meeting_at is not None and b.meeting_at > now and b.state != "draft"
    )
    return {
        "drafts": by_state[BriefingState.draft.value][:SHOWN],
        "scheduled": by_state[BriefingState.scheduled.value][:SHOWN],
        "published": published,
        "counts": briefings.receipt_counts(
            session=session, briefing_ids=[b.id for b in published if b.id is not None]
        ),
        "meeting": meetings[0][2] if meetings else None,
    }


def interrupter(session: Session, actor: Principal, now: datetime) -> dict[str, Any]:
    """Alerts, follow-ups due today and overdue, the caseload."""
    today = now.astimezone(STOCKHOLM).date()
    rows = participants.caseload(session=session, actor=actor)
    due = [r for r in rows if r.next_follow_up is not None and r.next_follow_up <= today]
    return _alerts(session, actor, now) | {
        "today": today,
        "due": due,
        "caseload": rows,
        "returned": contacts.own_contacts(
            session=session, actor=actor, states=[ReviewState.returned], size=SHOWN
        ).items,
        # The heading counts them all, not the few shown.
        "returned_count": contacts.own_counts(
            session=session, actor=actor, states=[ReviewState.returned]
        ).get(ReviewState.returned.value, 0),
    }


WEEKS = contacts.DASHBOARD_WEEKS  # the dashboard's trends: this week and the eleven before


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), STOCKHOLM)


def week_starts(today: date, weeks: int = WEEKS) -> list[date]:
    """The Mondays of this week and the `weeks - 1` before, the oldest first."""
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]


def monday_of(moment: datetime) -> date:
    day = moment.astimezone(STOCKHOLM).date()
    return day - timedelta(days=day.weekday())


def supervisor(session: Session, actor: Principal, now: datetime) -> dict[str, Any]:
    """The dashboard: alerts waiting first, then the review backlog, conflicts, follow-ups,
    contacts per worker and week, this month's mediations and urgent walk reports."""
    today = now.astimezone(STOCKHOLM).date()
    weeks = week_starts(today)
    backlog, oldest = contacts.review_backlog(session=session, actor=actor)
    # Conflicts: now by area and level, and at the end of each week (this week: now).
    ends = [min(_midnight(monday + timedelta(weeks=1)), now) for monday in weeks]
    trend = conflicts.active_over_time(session=session, actor=actor, moments=ends)
    # Contacts per worker and week.
    worker_weeks = contacts.contacts_per_worker(
        session=session, actor=actor, weeks=weeks, today=today
    )
    per_worker = worker_weeks.counts
    workers = participants.organisation_workers(session=session, actor=actor)
    names = {u.id: u.display_name for u in workers if u.id is not None}
    month_start = today.replace(day=1)
    mediations = figures.outcome_shares(session=session, actor=actor, since=_midnight(month_start))
    urgent = walks.urgent_reports(
        session=session, actor=actor, since=_midnight(today - timedelta(days=7))
    )
    return _alerts(session, actor, now) | {
        "today": today,
        "backlog": backlog,
        "oldest": oldest,
        "backlog_days": (now - oldest).days if oldest is not None else 0,
        "by_area": conflicts.active_by_area_level(session=session, actor=actor),
        "areas": area_names(session=session),
        "levels": LEVELS,
        "outcomes": [o.value for o in MediationOutcome],
        "outcome_counts": [mediations.counts.get(o.value, 0) for o in MediationOutcome],
        "weeks": weeks,
        "week_labels": [gettext("w%(week)d", week=w.isocalendar()[1]) for w in weeks],
        "trend": trend,
        "overdue": participants.team_overdue(session=session, actor=actor, today=today),
        "per_worker": per_worker,
        "weeks_counted_at": worker_weeks.counted_at,
        "worker_names": names,
        "week_totals": [sum(c.get(w, 0) for c in per_worker.values()) for w in weeks],
        "month_start": month_start,
        "month_days": (today - month_start).days + 1,
        "mediations": mediations,
        "urgent": urgent,
        "urgent_acknowledged": {
            report.id: bool(
                push.acknowledgements(
                    session=session, kind="walk_report_urgent", subject=f"walk-report:{report.id}"
                )
            )
            for report in urgent
        },
    }


def researcher(session: Session, actor: Principal, now: datetime) -> dict[str, Any]:
    """Last month's and this month's key figures of the researcher's programmes, suppressed as
    on the figures page (no sums over months: they could give a hidden month away)."""
    today = now.astimezone(STOCKHOLM).date()
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    programmes = []
    for programme in figures.readable_programmes(session=session, actor=actor):
        rows = figures.area_month_figures(
            session=session, programme_id=programme.id, start=last_month, end=today, area_ids=[]
        )
        programmes.append((programme, [r for r in rows if r.is_total]))
    return {
        "programmes": programmes,
        "key_figures": ("contacts", "participants_active", "mediations", "referrals_made"),
    }


def admin_health(session: Session, actor: Principal, now: datetime) -> dict[str, Any]:
    """The readiness checks (interrupters/health, as /readyz and /health read them), push
    delivery's backlog, jobs waiting, users."""
    backlog, oldest = push.delivery_backlog(session=session, now=now)
    active, total = admin.user_counts(session=session)
    report = host_report(now)
    return {
        "status": report.status,
        "scheduler": next((c for c in report.checks if c.name == "scheduler"), None),
        "backlog": backlog,
        "backlog_age": (now - oldest) if oldest is not None else None,
        "repeats_due": push.repeats_due(session=session, now=now),
        "schedules_due": briefings.overdue_schedules(session=session, now=now),
        "active_users": active,
        "all_users": total,
        "last_backup": last_event_at(session=session, event="backup_made"),
    }


Section = Callable[[Session, Principal, datetime], dict[str, Any]]
# The order a person with several roles sees them in: what is most urgent first.
SECTIONS: tuple[tuple[Role, str, Section], ...] = (
    (Role.supervisor, "home/_supervisor.html", supervisor),
    (Role.interrupter, "home/_interrupter.html", interrupter),
    (Role.association_lead, "home/_association_lead.html", association_lead),
    (Role.night_walker, "home/_night_walker.html", night_walker),
    (Role.briefing_author, "home/_briefing_author.html", briefing_author),
    (Role.researcher, "home/_researcher.html", researcher),
    (Role.admin, "home/_admin.html", admin_health),
)


# Each role's places, the most used first: the tab bar shows the first two of a person's
# places beside Start, Notifications and More; the "more" page lists them all.
PLACES: dict[Role, tuple[tuple[str, Any], ...]] = {
    Role.supervisor: (
        ("contacts.review_queue", _l("Review")),
        ("conflicts.index", _l("Conflicts")),
        ("participants.follow_ups", _l("Follow-ups")),
        ("participants.caseload", _l("Caseload")),
        ("contacts.new", _l("Log contact")),
        ("contacts.mine", _l("My contacts")),
        ("briefings.index", _l("Briefings")),
        ("walks.index", _l("Walks")),
        ("walks.reports", _l("Walk reports")),
        ("walks.figures", _l("Walk figures")),
        ("reports.figures", _l("Figures")),
        ("reports.monthly", _l("Monthly report")),
        ("duty.index", _l("Duty")),
        ("research.index", _l("Research projects")),
        ("picture.index", _l("Situational picture")),
        ("picture.sharing", _l("Sharing place signals")),
    ),
    Role.interrupter: (
        ("contacts.new", _l("Log contact")),
        ("participants.caseload", _l("Caseload")),
        ("participants.follow_ups", _l("Follow-ups")),
        ("contacts.mine", _l("My contacts")),
        ("conflicts.index", _l("Conflicts")),
        ("briefings.current", _l("Briefing")),
        ("walks.index", _l("Walks")),
        ("duty.index", _l("Duty")),
        ("picture.signal", _l("Place signal")),
        ("picture.index", _l("Situational picture")),
    ),
    Role.association_lead: (
        ("walks.index", _l("Walks")),
        ("briefings.current", _l("Briefing")),
        ("walks.reports", _l("Walk reports")),
        ("walks.new", _l("Schedule walks")),
        ("picture.index", _l("Situational picture")),
    ),
    Role.night_walker: (
        ("briefings.current", _l("Briefing")),
        ("walks.index", _l("Walks")),
        ("walks.new_report", _l("File a walk report")),
        ("picture.index", _l("Situational picture")),
    ),
    Role.briefing_author: (
        ("briefings.index", _l("Briefings")),
        ("briefings.new", _l("New briefing")),
        ("picture.index", _l("Situational picture")),
        ("picture.new_observation", _l("File an observation")),
        ("walks.figures", _l("Walk figures")),
    ),
    Role.researcher: (
        ("reports.figures", _l("Figures")),
        # A researcher's projects are research projects: the short word fits a phone's tab.
        ("research.index", _l("Projects")),
        ("reports.monthly", _l("Monthly report")),
        ("walks.figures", _l("Walk figures")),
    ),
    Role.admin: (
        ("admin.users", _l("Users")),
        ("admin.organisations", _l("Organisations")),
        ("admin.places", _l("Places")),
        ("picture.outlines", _l("District outlines")),
        ("audit.events", _l("Audit log")),
    ),
}
TAB_PLACES = 2  # beside Start, Notifications and More: five tabs at most


def places_of(person: Any) -> list[tuple[str, Any]]:
    """The person's places in the order of their roles' urgency, each once, only reachable ones."""
    seen: dict[str, Any] = {}
    for role, _template, _build in SECTIONS:
        if person.has_role(role):
            for endpoint, text in PLACES[role]:
                if endpoint not in seen and may_reach(person, endpoint):
                    seen[endpoint] = text
    return list(seen.items())


@bp.app_context_processor
def _navigation() -> dict[str, Any]:
    def nav_places(all: bool = False) -> list[tuple[str, Any]]:
        """The signed-in person's places: the tab bar's few, or all of them (the more page)."""
        if not current_user.is_authenticated:
            return []
        places = places_of(current_user)
        return places if all else places[:TAB_PLACES]

    def must_acknowledge() -> list[Any]:
        """Alerts waiting for this person's acknowledgement: a banner on every page."""
        if not current_user.is_authenticated:
            return []
        if "must_acknowledge" not in g:
            g.must_acknowledge = push.unacknowledged(
                session=get_session(), recipient_id=current_user.user_id
            )
        return list(g.must_acknowledge)

    return {"nav_places": nav_places, "must_acknowledge": must_acknowledge}


@bp.get("/")
def home() -> Response:
    session = get_session()
    now = utcnow()
    sections = []
    for role, template, build in SECTIONS:
        if current_user.has_role(role):
            sections.append((template, build(session, current_user, now)))
    response = Response(
        render_template("home.html", sections=sections, now=now, timedelta=timedelta),
        mimetype="text/html",
    )
    # Kept on the phone only for the street's roles (pwa.HOME_KEPT_FOR); the service worker
    # drops a kept copy once the briefing it shows has expired, as it does the briefing's page.
    kept = home_kept(current_user)
    response.headers[KEEP_HEADER] = "1" if kept else "0"
    shown = [d["briefing"] for _t, d in sections if d.get("briefing") is not None]
    if kept and shown:
        response.headers["X-Expires-At"] = min(b.valid_to for b in shown).astimezone().isoformat()
    return response


@bp.get("/more")
def more() -> str:
    """Everything the tab bar has no room for, one tap away."""
    return render_template("more.html")


@bp.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}
