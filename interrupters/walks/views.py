"""Walk screens: upcoming walks and sign-up, scheduling, groups, start and end, walk reports,
the season figures for the municipality and the aggregate figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlmodel import col, select
from werkzeug.exceptions import Conflict
from werkzeug.wrappers import Response

from interrupters.auth.services import display_names
from interrupters.auth.values import Role
from interrupters.authz import guard
from interrupters.db import get_session
from interrupters.errors import InvalidInput
from interrupters.exports import csv_response
from interrupters.paging import Cursor
from interrupters.places.models import District
from interrupters.places.services import place_names
from interrupters.records.correction import fill_from_held, held_to_correct, submit_form
from interrupters.records.services import held_records
from interrupters.reports import services as figure_services
from interrupters.reports.indicators import WALK_INDICATORS
from interrupters.walks import forms, services
from interrupters.walks.models import Walk
from interrupters.walks.records import WALK_REPORT

bp = Blueprint("walks", __name__, url_prefix=services.URL_PREFIX)

ASSOCIATION = {Role.association_lead, Role.night_walker}
READERS = ASSOCIATION | {Role.interrupter, Role.supervisor}
LEAD = {Role.association_lead}
AGGREGATES = {Role.briefing_author, Role.supervisor, Role.researcher}
guard(
    bp,
    {
        "index": READERS,
        "new": LEAD,
        "detail": READERS,
        "signup": ASSOCIATION,
        "withdraw": ASSOCIATION,
        # The association's lead signs members up and takes them off (the service checks whose).
        "add_walker": LEAD,
        "remove_walker": LEAD,
        # The lead, or a night walker who leads the walk (the service checks which).
        "groups": ASSOCIATION,
        "auto_groups": ASSOCIATION,
        "start": ASSOCIATION,
        "complete": ASSOCIATION,
        "cancel": LEAD,
        "reports": READERS,
        "new_report": ASSOCIATION,
        "report": READERS,
        "season": LEAD,
        "figures": AGGREGATES,
    },
)


def _now() -> datetime:
    return datetime.now(services.STOCKHOLM)


def _districts() -> dict[int, str]:
    session = get_session()
    return {d.id: d.name for d in session.exec(select(District)) if d.id is not None}


def _back(walk_id: int) -> Response:
    return redirect(url_for("walks.detail", walk_id=walk_id), 303)


def _flash_refusal(error: Exception) -> None:
    if isinstance(error, InvalidInput):
        flash(" ".join(str(m) for m in error.errors.values()), "error")
    elif isinstance(error, Conflict):
        flash(str(error.description), "error")


@bp.get("/")
def index() -> str:
    session = get_session()
    cursor = Cursor.decode(request.args.get("before"), expect=datetime)
    # A later page of the walks that are over is that list alone (the coming walks stay put).
    upcoming = (
        [] if cursor else services.list_walks(session=session, actor=current_user, upcoming=True)
    )
    past = services.past_walks(session=session, actor=current_user, cursor=cursor)
    walk_ids = [w.id for w in upcoming + past.items if w.id]
    signups = services.signups_of(session=session, walk_ids=walk_ids)
    return render_template(
        "walks/index.html",
        upcoming=upcoming,
        past=past,
        later_page=cursor is not None,
        signups=signups,
        districts=_districts(),
        places=place_names(session=session),
        season_form=forms.SeasonForm(formdata=None),
        leads=bool(current_user.organisations(Role.association_lead)),
    )


@bp.route("/new", methods=["GET", "POST"])
def new() -> Any:
    session = get_session()
    form = forms.prepare_schedule(forms.ScheduleForm(), session=session, actor=current_user)
    if request.method == "GET":
        form.first_date.data = _now().date()
        return render_template("walks/new.html", form=form)
    if form.validate_on_submit():
        try:
            walks = services.schedule_walks(
                session=session, actor=current_user, data=forms.schedule_input(form)
            )
        except InvalidInput as error:
            for name, message in error.errors.items():
                target = getattr(form, name, None) or form.first_date
                target.errors = [*list(target.errors), str(message)]
        else:
            session.commit()
            flash(
                ngettext("%(num)d walk is scheduled.", "%(num)d walks are scheduled.", len(walks)),
                "success",
            )
            return redirect(url_for("walks.index"), 303)
    return render_template("walks/new.html", form=form), 422


@bp.get("/<int:walk_id>")
def detail(walk_id: int) -> str:
    session = get_session()
    walk = services.get_walk(session=session, actor=current_user, walk_id=walk_id)
    signups = services.signups_of(session=session, walk_ids=[walk_id])[walk_id]
    member = services.is_member(current_user, walk)
    # The programme reads the walk, not who the volunteers are.
    names = display_names(session=session, user_ids=[s.user_id for s in signups]) if member else {}
    leads = current_user.role_in(walk.organisation_id) == Role.association_lead
    walker_form = None
    if leads and walk.state != "cancelled":
        signed = {s.user_id for s in signups}
        members = services.association_members(
            session=session, organisation_id=walk.organisation_id
        )
        others = {u.id: u.display_name for u in members if u.id and u.id not in signed}
        walker_form = forms.prepare_walker(forms.WalkerForm(formdata=None), people=others)
    return render_template(
        "walks/detail.html",
        walk=walk,
        signups=signups,
        groups=sorted({s.group_number for s in signups if s.group_number is not None}),
        member=member,
        manages=services.can_manage(current_user, walk),
        leads=leads,
        walker_form=walker_form,
        signed_up=any(s.user_id == current_user.user_id for s in signups),
        warnings=services.group_warnings(signups) if member else [],
        names=names,
        leader=display_names(session=session, user_ids=[walk.leader_id]).get(walk.leader_id)
        if walk.leader_id and member
        else None,
        districts=_districts(),
        places=place_names(session=session),
        now=_now(),
    )


def _act(walk_id: int, action: Any, done: str, **kwargs: Any) -> Response:
    session = get_session()
    try:
        action(session=session, actor=current_user, walk_id=walk_id, **kwargs)
    except (InvalidInput, Conflict) as error:
        session.rollback()
        _flash_refusal(error)
    else:
        session.commit()
        flash(done, "success")
    return _back(walk_id)


@bp.post("/<int:walk_id>/signup")
def signup(walk_id: int) -> Response:
    return _act(walk_id, services.sign_up, _("You are signed up."))


@bp.post("/<int:walk_id>/withdraw")
def withdraw(walk_id: int) -> Response:
    return _act(walk_id, services.withdraw, _("You are no longer signed up."))


def _walker_change(walk_id: int, action: Any, done: str, *, adding: bool) -> Response:
    """Sign a member up or take a walker off: the lead's forms on the walk's page."""
    session = get_session()
    walk = services.get_walk(session=session, actor=current_user, walk_id=walk_id)
    if adding:
        members = services.association_members(
            session=session, organisation_id=walk.organisation_id
        )
        people = {u.id: u.display_name for u in members if u.id is not None}
    else:
        # Whoever is signed up, also one who has left the association since.
        signups = services.signups_of(session=session, walk_ids=[walk_id])[walk_id]
        people = display_names(session=session, user_ids=[s.user_id for s in signups])
    form = forms.prepare_walker(forms.WalkerForm(), people=people)
    if not form.validate_on_submit():
        flash(" ".join(forms.errors_of(form).values()), "error")
        return _back(walk_id)
    return _act(walk_id, action, done, user_id=form.user_id.data)


@bp.post("/<int:walk_id>/walkers")
def add_walker(walk_id: int) -> Response:
    done = _("The walker is signed up.")
    return _walker_change(walk_id, services.sign_up_walker, done, adding=True)


@bp.post("/<int:walk_id>/walkers/remove")
def remove_walker(walk_id: int) -> Response:
    done = _("The walker is taken off the walk.")
    return _walker_change(walk_id, services.take_off_walker, done, adding=False)


def _warn(warnings: list[Any]) -> None:
    for warning in warnings:
        flash(str(warning), "warning")


@bp.post("/<int:walk_id>/groups")
def groups(walk_id: int) -> Response:
    session = get_session()
    numbers: dict[int, int | None] = {}
    for key, value in request.form.items():
        user_id = key.removeprefix("group_")
        if key.startswith("group_") and user_id.isdigit():
            numbers[int(user_id)] = int(value) if value.strip().isdigit() else None
    try:
        warnings = services.set_groups(
            session=session, actor=current_user, walk_id=walk_id, groups=numbers
        )
    except (InvalidInput, Conflict) as error:
        session.rollback()
        _flash_refusal(error)
    else:
        session.commit()
        flash(_("The groups are saved."), "success")
        _warn(warnings)
    return _back(walk_id)


@bp.post("/<int:walk_id>/groups/auto")
def auto_groups(walk_id: int) -> Response:
    session = get_session()
    try:
        warnings = services.auto_groups(session=session, actor=current_user, walk_id=walk_id)
    except (InvalidInput, Conflict) as error:
        session.rollback()
        _flash_refusal(error)
    else:
        session.commit()
        flash(_("Groups of three are formed."), "success")
        _warn(warnings)
    return _back(walk_id)


@bp.post("/<int:walk_id>/start")
def start(walk_id: int) -> Response:
    return _act(walk_id, services.start_walk, _("The walk is under way. Take care of each other."))


@bp.post("/<int:walk_id>/complete")
def complete(walk_id: int) -> Response:
    return _act(walk_id, services.complete_walk, _("The walk is completed. File the report."))


@bp.post("/<int:walk_id>/cancel")
def cancel(walk_id: int) -> Response:
    rest = request.form.get("rest") == "1"
    return _act(walk_id, services.cancel_walk, _("Cancelled."), rest_of_series=rest)


# Walk reports -------------------------------------------------------------------------------


def _render_report_form(form: forms.WalkReportForm, status: int = 200) -> Any:
    return render_template("walks/new_report.html", form=form), status


@bp.route("/reports/new", methods=["GET", "POST"])
def new_report() -> Any:
    session = get_session()
    form = forms.prepare_report(forms.WalkReportForm(), session=session, actor=current_user)
    if request.method == "GET":
        held = held_to_correct("walk_report")
        if held is not None:
            # Correcting a report the server held: its content, its reasons, a new UUID.
            fill_from_held(form, held)
        return _render_report_form(form)
    result = submit_form(WALK_REPORT, form)
    if result.errors is not None:
        return _render_report_form(form, 422)
    session.commit()
    flash(
        _("The walk report is filed. Thank you.")
        if result.created
        else _("The report was already filed."),
        "success",
    )
    return redirect(url_for("walks.reports"), 303)


@bp.get("/reports")
def reports() -> str:
    session = get_session()
    cursor = Cursor.decode(request.args.get("before"), expect=datetime)
    found = services.list_reports(session=session, actor=current_user, cursor=cursor)
    walk_ids = {r.walk_id for r in found.items}
    walks = {w.id: w for w in session.exec(select(Walk).where(col(Walk.id).in_(walk_ids)))}
    return render_template(
        "walks/reports.html",
        page=found,
        later_page=cursor is not None,
        walks=walks,
        held=held_records(session=session, actor=current_user, kind="walk_report"),
        districts=_districts(),
    )


@bp.get("/reports/<int:walk_report_id>")
def report(walk_report_id: int) -> str:
    session = get_session()
    found = services.get_report(session=session, actor=current_user, report_id=walk_report_id)
    walk = session.get(Walk, found.walk_id)
    return render_template(
        "walks/report.html",
        report=found,
        walk=walk,
        districts=_districts(),
        places=place_names(session=session),
    )


# Figures ------------------------------------------------------------------------------------


@bp.get("/season.csv")
def season() -> Response:
    """The association's season figures for the municipality: counts by month, no names."""
    session = get_session()
    form = forms.SeasonForm(request.args)
    if not form.validate():
        flash(" ".join(forms.errors_of(form).values()), "error")
        return redirect(url_for("walks.index"), 303)
    since, until = forms.date_range(form, _now().date())
    try:
        body = services.export_season_figures(
            session=session, actor=current_user, since=since, until=until
        )
    except InvalidInput as error:
        _flash_refusal(error)
        return redirect(url_for("walks.index"), 303)
    session.commit()  # the audited export
    return csv_response(body, filename=f"walks-{since:%Y%m%d}-{until:%Y%m%d}.csv")


@bp.get("/figures")
def figures() -> Any:
    """Walks, walker-evenings, reports and atmosphere per district and month, suppressed (the
    reports package's figures)."""
    session = get_session()
    form = forms.FiguresForm(request.args)
    valid = form.validate()
    since, until = forms.date_range(form, _now().date())
    if not form.since.data:
        form.since.data = since
    if not form.until.data:
        form.until.data = until
    try:
        rows = figure_services.district_month_walk_figures(session=session, start=since, end=until)
    except InvalidInput as error:
        form.until.errors = [*form.until.errors, *(str(m) for m in error.errors.values())]
        valid = False
    if not valid:
        return render_template("walks/figures.html", form=form, rows=[], indicators=[]), 400
    # Newest month first; within it the districts, then all districts together.
    rows = sorted(rows, key=lambda r: r.month, reverse=True)
    return render_template(
        "walks/figures.html",
        form=form,
        rows=[
            r
            for r in rows
            if r.values.get("walks_held") or r.values.get("walk_reports") or r.suppressed
        ],
        indicators=WALK_INDICATORS,
    )
