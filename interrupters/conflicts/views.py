"""Conflict screens: the list by area and level, flagging, the timeline, mediations,
incidents and community responses, duty, and the outcome report."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from interrupters.auth.services import display_names
from interrupters.auth.values import Role
from interrupters.authz import guard
from interrupters.conflicts import forms, services
from interrupters.conflicts.records import (
    COMMUNITY_RESPONSE,
    CONFLICT,
    CONFLICT_UPDATE,
    INCIDENT,
    MEDIATION,
)
from interrupters.db import get_session
from interrupters.duty import services as duty
from interrupters.errors import InvalidInput
from interrupters.forms import blank, options
from interrupters.htmx import render_page_or_block
from interrupters.paging import Cursor, Page
from interrupters.places.services import area_names, areas_with_places, place_names
from interrupters.records import RecordKind
from interrupters.records.correction import fill_from_held, held_to_correct, submit_form
from interrupters.reports import services as figure_services

bp = Blueprint("conflicts", __name__, url_prefix=services.URL_PREFIX)

CASE = {Role.interrupter, Role.supervisor}
guard(
    bp,
    {
        "index": CASE,
        "levels": CASE,
        "new": CASE,
        "detail": CASE,
        "update": CASE,
        "mediation": CASE,
        "link": {Role.supervisor},
        "unlink": {Role.supervisor},
        "incidents": CASE,
        "new_incident": CASE,
        "new_community_response": CASE,
        "report": {Role.supervisor},
    },
)


def _now_local() -> datetime:
    return datetime.now(forms.STOCKHOLM).replace(second=0, microsecond=0, tzinfo=None)


@bp.get("/")
def index() -> Any:
    session = get_session()
    filters = forms.ConflictFilterForm(request.args)
    filters.area_id.choices = blank(
        options((g.area.id, g.area.name) for g in areas_with_places(session=session)),
        _("All areas"),
    )
    filters.min_level.choices = blank(
        options([(3, _("3 or 4")), (4, _("Only 4"))]), _("All levels")
    )
    filters.validate()
    # A filter that is not one of its choices (a hand-made URL) filters nothing.
    area_id, min_level = (
        int(field.data) if field.data and not field.errors else None
        for field in (filters.area_id, filters.min_level)
    )
    conflicts = services.list_conflicts(
        session=session, actor=current_user, area_id=area_id, min_level=min_level
    )
    return render_page_or_block(
        "conflicts/index.html",
        "list",
        filters=filters,
        conflicts=conflicts,
        areas=area_names(session=session),
        places=place_names(session=session),
        duty=duty.current_duty(session=session, actor=current_user),
    )


@bp.get("/levels")
def levels() -> str:
    """Active conflicts' codes, areas and levels only: kept on the phone for the street."""
    session = get_session()
    return render_template(
        "conflicts/levels.html",
        conflicts=services.list_conflicts(session=session, actor=current_user),
        areas=area_names(session=session),
    )


@bp.route("/new", methods=["GET", "POST"])
def new() -> Any:
    session = get_session()
    form = forms.prepare(forms.ConflictForm(), session=session, actor=current_user)
    if request.method == "GET":
        form.occurred_at.data = _now_local()
        held = held_to_correct("conflict")
        if held is not None:
            fill_from_held(form, held)
        return render_template("conflicts/new.html", form=form)
    result = submit_form(CONFLICT, form)
    if result.errors is not None or result.record_id is None:
        return render_template("conflicts/new.html", form=form), 422
    conflict = services.get_conflict(
        session=session, actor=current_user, conflict_id=result.record_id, audit=False
    )
    session.commit()
    flash(_("Conflict %(code)s is flagged.", code=conflict.code), "success")
    return redirect(url_for("conflicts.detail", conflict_id=conflict.id), 303)


def _detail_forms(conflict_id: int) -> dict[str, Any]:
    session = get_session()
    update = forms.ConflictUpdateForm(conflict_id=str(conflict_id))
    mediation = forms.prepare(
        forms.MediationForm(conflict_id=str(conflict_id)), session=session, actor=current_user
    )
    update.occurred_at.data = mediation.occurred_at.data = _now_local()
    # Correcting an update or a mediation the server held: that form, filled from it.
    for kind, form in (("conflict_update", update), ("mediation", mediation)):
        held = held_to_correct(kind)
        if held is not None and held.payload.get("conflict_id") == str(conflict_id):
            fill_from_held(form, held)
    return {
        "update_form": update,
        "mediation_form": mediation,
        "link_form": forms.LinkParticipantForm(),
    }


@bp.get("/<int:conflict_id>")
def detail(conflict_id: int) -> str:
    session = get_session()
    conflict = services.get_conflict(session=session, actor=current_user, conflict_id=conflict_id)
    events = services.timeline(session=session, conflict_id=conflict_id)
    mediations = services.mediations_of(session=session, conflict_id=conflict_id)
    authors = {e.author_id for e in events} | {m for x in mediations for m in x.mediator_ids}
    page = render_template(
        "conflicts/detail.html",
        conflict=conflict,
        events=events,
        mediations={m.id: m for m in mediations},
        linked=services.linked_participants(session=session, actor=current_user, conflict=conflict),
        names=display_names(session=session, user_ids=list(authors)),
        areas=area_names(session=session),
        places=place_names(session=session),
        **_detail_forms(conflict_id),
    )
    session.commit()  # the audited read
    return page


def _back(conflict_id: int) -> Response:
    return redirect(url_for("conflicts.detail", conflict_id=conflict_id), 303)


@bp.post("/<int:conflict_id>/updates")
def update(conflict_id: int) -> Any:
    session = get_session()
    services.get_conflict(session=session, actor=current_user, conflict_id=conflict_id, audit=False)
    _record_on_timeline(
        CONFLICT_UPDATE, forms.ConflictUpdateForm(), conflict_id, _("Added to the timeline.")
    )
    return _back(conflict_id)


@bp.post("/<int:conflict_id>/mediations")
def mediation(conflict_id: int) -> Any:
    session = get_session()
    services.get_conflict(session=session, actor=current_user, conflict_id=conflict_id, audit=False)
    form = forms.prepare(forms.MediationForm(), session=session, actor=current_user)
    _record_on_timeline(MEDIATION, form, conflict_id, _("The mediation is recorded."))
    return _back(conflict_id)


def _record_on_timeline(kind: RecordKind, form: FlaskForm, conflict_id: int, done: str) -> None:
    """An update or a mediation of the conflict in the URL, through its kind's declaration."""
    result = submit_form(kind, form, conflict_id=str(conflict_id))
    if result.errors is not None:
        flash(" ".join(result.errors.values()), "error")
        return
    get_session().commit()
    flash(done, "success")


@bp.post("/<int:conflict_id>/participants")
def link(conflict_id: int) -> Response:
    session = get_session()
    form = forms.LinkParticipantForm()
    if form.validate_on_submit():
        try:
            services.link_participant(
                session=session,
                actor=current_user,
                conflict_id=conflict_id,
                participant_code=form.participant_code.data or "",
            )
        except InvalidInput as error:
            flash(" ".join(str(m) for m in error.errors.values()), "error")
        else:
            session.commit()
    return _back(conflict_id)


@bp.post("/<int:conflict_id>/participants/<int:participant_id>/remove")
def unlink(conflict_id: int, participant_id: int) -> Response:
    session = get_session()
    services.unlink_participant(
        session=session, actor=current_user, conflict_id=conflict_id, participant_id=participant_id
    )
    session.commit()
    return _back(conflict_id)


@bp.get("/incidents")
def incidents() -> str:
    session = get_session()
    # Each list is paged on its own: a later page of one shows that list alone.
    incidents_from = Cursor.decode(request.args.get("before"), expect=datetime)
    responses_from = (
        None
        if incidents_from
        else Cursor.decode(request.args.get("responses_before"), expect=datetime)
    )
    empty: Page[Any] = Page(items=[], next_cursor=None)
    return render_template(
        "conflicts/incidents.html",
        incidents=empty
        if responses_from
        else services.recent_incidents(session=session, actor=current_user, cursor=incidents_from),
        responses=empty
        if incidents_from
        else services.recent_community_responses(
            session=session, actor=current_user, cursor=responses_from
        ),
        incidents_later=incidents_from is not None,
        responses_later=responses_from is not None,
        areas=area_names(session=session),
        places=place_names(session=session),
    )


def _record_page(form: FlaskForm, kind: RecordKind, template: str, done: str) -> Any:
    if request.method == "GET":
        form.occurred_at.data = _now_local()
        held = held_to_correct(kind.name)
        if held is not None:
            fill_from_held(form, held)
        return render_template(template, form=form)
    if submit_form(kind, form).errors is not None:
        return render_template(template, form=form), 422
    get_session().commit()
    flash(done, "success")
    return redirect(url_for("conflicts.incidents"), 303)


@bp.route("/incidents/new", methods=["GET", "POST"])
def new_incident() -> Any:
    session = get_session()
    form = forms.prepare(forms.IncidentForm(), session=session, actor=current_user)
    if request.method == "GET" and request.args.get("conflict", "").isdigit():
        form.conflict_id.data = request.args["conflict"]
    return _record_page(
        form, INCIDENT, "conflicts/incident_form.html", _("The incident is recorded.")
    )


@bp.route("/community-responses/new", methods=["GET", "POST"])
def new_community_response() -> Any:
    session = get_session()
    form = forms.prepare(forms.CommunityResponseForm(), session=session, actor=current_user)
    return _record_page(
        form,
        COMMUNITY_RESPONSE,
        "conflicts/community_response_form.html",
        _("The community response is recorded."),
    )


@bp.get("/report")
def report() -> str:
    session = get_session()
    days = request.args.get("days", default=365, type=int)
    since = datetime.now(forms.STOCKHOLM) - timedelta(days=max(1, min(days, 3650)))
    shares = figure_services.outcome_shares(session=session, actor=current_user, since=since)
    return render_template("conflicts/report.html", shares=shares, days=days)
