"""The situational picture's screens: a district's picture (a list by concern, the map), the
cycle (actions, closing a period, the closed periods as they were), the partners' observation
form and the interrupter's place signal (both work offline), the programme's sharing switch,
the lägesbild export and the admin's outline import."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import col, select
from werkzeug.wrappers import Response

from interrupters.auth.values import Role
from interrupters.authz import guard
from interrupters.db import get_session, utcnow
from interrupters.errors import InvalidInput, InvalidState, NotAllowed
from interrupters.exports import csv_response
from interrupters.picture import forms, mapping, services
from interrupters.picture.records import (
    PLACE_OBSERVATION,
    PLACE_SIGNAL,
    bind_observation_form,
    bind_signal_form,
)
from interrupters.places.models import District
from interrupters.records.correction import fill_from_held, held_to_correct, submit_form
from interrupters.records.services import held_records
from interrupters.security import CSP

logger = logging.getLogger(__name__)

bp = Blueprint("picture", __name__, url_prefix=services.URL_PREFIX)

READ = set(services.READERS)
COORDINATE = set(services.COORDINATORS)
guard(
    bp,
    {
        "index": READ,
        "district": READ,
        "map_svg": READ,
        "period": READ,
        "add_action": COORDINATE,
        "follow_up": COORDINATE,
        "close": COORDINATE,
        "settings": COORDINATE,
        "new_observation": set(services.OBSERVERS),
        "signal": set(services.SIGNALLERS),
        "sharing": {Role.supervisor},
        "export": set(services.EXPORTERS),
        "outlines": {Role.admin},
    },
)


def _to_district(district_id: int, anchor: str | None = None) -> Response:
    return redirect(url_for("picture.district", district_id=district_id, _anchor=anchor), 303)


@bp.get("/")
def index() -> Any:
    session = get_session()
    districts = services.reader_districts(session=session, actor=current_user)
    if len(districts) == 1:
        # One district (the usual case): its picture at once, no redirect on a slow network.
        return district(districts[0].id or 0)
    return render_template("picture/index.html", districts=districts)


def _tile_url() -> str | None:
    return current_app.config.get("PICTURE_TILE_URL") or None


def _map(picture: services.Picture) -> mapping.Map | None:
    assert picture.district.id is not None
    return mapping.draw(
        outline=services.outline_of(session=get_session(), district_id=picture.district.id),
        places=picture.rows,
        tile_url=_tile_url(),
    )


def _with_tiles(response: Response) -> Response:
    """The map's tiles come from the deployment's own tile server, if it names one."""
    origin = mapping.tile_origin(_tile_url())
    if origin:
        response.headers["Content-Security-Policy"] = CSP.replace(
            "img-src 'self' data:", f"img-src 'self' data: {origin}"
        )
    return response


@bp.get("/district/<int:district_id>")
def district(district_id: int) -> Response:
    session = get_session()
    now = utcnow()
    picture = services.district_picture(
        session=session, actor=current_user, district_id=district_id, now=now
    )
    coordinator = services.may_coordinate(
        session=session, actor=current_user, district_id=district_id
    )
    places = services.district_places(session=session, district_id=district_id)
    partners = services.serving_organisations(session=session, district_id=district_id)
    action_form = forms.prepare_action_form(
        forms.ActionForm(), places=places, organisations=partners
    )
    settings_form = forms.SettingsForm(period_weeks=str(picture.weeks))
    viewer = services.Viewer.of(session=session, actor=current_user)
    body = render_template(
        "picture/district.html",
        picture=picture,
        rows=picture.by_concern(),
        drawn=_map(picture),
        coordinator=coordinator,
        action_form=action_form,
        follow_up_form=forms.FollowUpForm(),
        settings_form=settings_form,
        closed=services.closed_periods(session=session, district_id=district_id),
        in_programme=bool(viewer.programme_ids),
        exporter=current_user.has_role(*services.EXPORTERS),
        observer=current_user.has_role(*services.OBSERVERS),
        signaller=bool(viewer.programme_ids) and current_user.has_role(*services.SIGNALLERS),
        month=now.astimezone(services.STOCKHOLM).strftime("%Y-%m"),
        now=now,
        suppressed=services.suppressed,
    )
    return _with_tiles(Response(body, mimetype="text/html"))


@bp.get("/district/<int:district_id>/map.svg")
def map_svg(district_id: int) -> Response:
    """The district's map on its own, for printing or a slide (no network beyond the app)."""
    session = get_session()
    picture = services.district_picture(
        session=session, actor=current_user, district_id=district_id
    )
    # Without coordinates an empty map that says so (a printed picture keeps its place).
    drawn = _map(picture) or mapping.Map(width=mapping.WIDTH, height=80.0)
    body = render_template("picture/map.svg", drawn=drawn, picture=picture, standalone=True)
    return _with_tiles(Response(body, mimetype="image/svg+xml"))


@bp.post("/district/<int:district_id>/actions")
def add_action(district_id: int) -> Any:
    session = get_session()
    services.readable_district(session=session, actor=current_user, district_id=district_id)
    form = forms.prepare_action_form(
        forms.ActionForm(),
        places=services.district_places(session=session, district_id=district_id),
        organisations=services.serving_organisations(session=session, district_id=district_id),
    )
    if not form.validate_on_submit():
        flash(" ".join(forms.form_errors(form).values()), "error")
        return _to_district(district_id, "actions")
    try:
        services.add_action(
            session=session,
            actor=current_user,
            district_id=district_id,
            data=forms.action_input(form),
        )
    except InvalidInput as error:
        flash(" ".join(str(m) for m in error.errors.values()), "error")
        return _to_district(district_id, "actions")
    session.commit()
    flash(_("The action is added."), "success")
    return _to_district(district_id, "actions")


@bp.post("/actions/<int:action_id>")
def follow_up(action_id: int) -> Any:
    session = get_session()
    action = services.get_action(session=session, actor=current_user, action_id=action_id)
    district_id = services.action_district(session=session, action=action)
    form = forms.FollowUpForm()
    if not form.validate_on_submit():
        flash(" ".join(forms.form_errors(form).values()), "error")
        return _to_district(district_id, "actions")
    try:
        services.follow_up_action(
            session=session, actor=current_user, data=forms.follow_up_input(form, action_id)
        )
    except InvalidInput as error:
        flash(" ".join(str(m) for m in error.errors.values()), "error")
        return _to_district(district_id, "actions")
    session.commit()
    flash(_("The action is updated."), "success")
    return _to_district(district_id, "actions")


@bp.route("/district/<int:district_id>/close", methods=["GET", "POST"])
def close(district_id: int) -> Any:
    """Close the open period: places of concern, actions, the follow-up of earlier ones."""
    session = get_session()
    now = utcnow()
    picture = services.district_picture(
        session=session, actor=current_user, district_id=district_id, now=now
    )
    services.coordinator_organisation(session=session, actor=current_user, district_id=district_id)
    places = services.district_places(session=session, district_id=district_id)
    partners = services.serving_organisations(session=session, district_id=district_id)
    form = forms.CloseForm()
    others: list[str] = []
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                data = forms.close_input(
                    request.form,
                    place_ids=[p.id or 0 for p in places],
                    follow_up_ids=[a.id or 0 for a in picture.follow_ups],
                )
                period = services.close_period(
                    session=session, actor=current_user, district_id=district_id, data=data
                )
            except InvalidInput as error:
                others = forms.show_errors(form, error.errors)
            except InvalidState as error:
                session.rollback()
                flash(str(error.description), "error")
                return _to_district(district_id)
            else:
                session.commit()
                flash(_("The period is closed. A new one has begun."), "success")
                return redirect(url_for("picture.period", period_id=period.id), 303)
        status = 422
    # Suggested statuses: the last briefing's, "watch" where observations rise.
    suggested = {}
    for row in picture.rows:
        if request.method == "POST":
            suggested[row.place_id] = (
                request.form.get(f"status-{row.place_id}", ""),
                request.form.get(f"note-{row.place_id}", ""),
            )
        elif row.trend.value in ("rising", "new") and not row.status:
            suggested[row.place_id] = ("watch", "")
        else:
            suggested[row.place_id] = (row.status or "", "")
    today = now.astimezone(services.STOCKHOLM).date()
    new_actions = [
        {
            key: request.form.get(f"action-{i}-{key}", "")
            for key in ("place_id", "what", "owner_organisation_id", "due_on")
        }
        for i in range(services.ROWS_NEW_ACTIONS)
    ]
    return render_template(
        "picture/close.html",
        picture=picture,
        rows=picture.by_concern(),
        form=form,
        others=others,
        suggested=suggested,
        places=places,
        partners=partners,
        new_actions=new_actions,
        suppressed=services.suppressed,
        default_due=(today + timedelta(days=7)).isoformat(),
        min_due=today.isoformat(),
    ), status


@bp.post("/district/<int:district_id>/settings")
def settings(district_id: int) -> Any:
    session = get_session()
    services.readable_district(session=session, actor=current_user, district_id=district_id)
    form = forms.SettingsForm()
    if form.validate_on_submit():
        try:
            services.set_period_weeks(
                session=session,
                actor=current_user,
                district_id=district_id,
                weeks=int(form.period_weeks.data),
            )
        except InvalidInput as error:
            flash(" ".join(str(m) for m in error.errors.values()), "error")
        else:
            session.commit()
            flash(_("The setting is saved."), "success")
    return _to_district(district_id, "settings")


@bp.get("/periods/<int:period_id>")
def period(period_id: int) -> Any:
    """A closed period as it was closed (its snapshot; later observations change nothing)."""
    session = get_session()
    found = services.get_period(session=session, actor=current_user, period_id=period_id)
    if found.state != "closed":
        return _to_district(found.district_id)
    district_row = session.get(District, found.district_id)
    viewer = services.Viewer.of(session=session, actor=current_user)
    return render_template(
        "picture/period.html",
        period=found,
        district=district_row,
        snapshot=found.snapshot,
        concerns={c["place_id"]: c for c in found.snapshot.get("concerns", [])},
        places={r["place_id"]: r["name"] for r in found.snapshot.get("rows", [])},
        in_programme=bool(viewer.programme_ids),
        suppressed=services.suppressed,
    )


# The records a phone sends --------------------------------------------------------------


@bp.route("/observations/new", methods=["GET", "POST"])
def new_observation() -> Any:
    """A partner's observation of a place (field assistants, guards, the police liaison)."""
    session = get_session()
    form = forms.prepare_observation_form(
        forms.ObservationForm(), session=session, actor=current_user
    )
    status = 200
    if request.method == "GET":
        form.observed_at.data = forms.now_local()
        held = held_to_correct("place_observation")
        if held is not None:
            form = bind_observation_form(
                held.payload, session=session, actor=current_user, strict=False
            )
            fill_from_held(form, held)
    else:
        result = submit_form(PLACE_OBSERVATION, form)
        if result.errors is None:
            session.commit()
            flash(
                _("The observation is saved.")
                if result.created
                else _("The observation was already saved."),
                "success",
            )
            return redirect(url_for("picture.new_observation"), 303)
        status = 422
    return render_template(
        "picture/observation_form.html",
        form=form,
        mine=services.own_observations(session=session, actor=current_user, limit=10),
        held=held_records(session=session, actor=current_user, kind="place_observation"),
    ), status


@bp.route("/signal", methods=["GET", "POST"])
def signal() -> Any:
    """An interrupter's place signal: tension at this place, no persons, a few taps."""
    session = get_session()
    form = forms.prepare_signal_form(forms.SignalForm(), session=session, actor=current_user)
    status = 200
    if request.method == "GET":
        form.observed_at.data = forms.now_local()
        held = held_to_correct("place_signal")
        if held is not None:
            form = bind_signal_form(held.payload, session=session, actor=current_user, strict=False)
            fill_from_held(form, held)
    elif submit_form(PLACE_SIGNAL, form).errors is None:
        session.commit()
        flash(_("The signal is saved."), "success")
        return redirect(url_for("picture.signal"), 303)
    else:
        status = 422
    organisation_id = services.signaller_organisation(session=session, actor=current_user)
    return render_template(
        "picture/signal_form.html",
        form=form,
        mine=services.own_signals(session=session, actor=current_user, limit=10),
        shared=services.shares_signals(session=session, organisation_id=organisation_id),
    ), status


@bp.route("/sharing", methods=["GET", "POST"])
def sharing() -> Any:
    """The programme's supervisor decides whether partners see its signals (as counts)."""
    session = get_session()
    programmes = services.programme_organisations(
        session=session, organisation_ids=current_user.organisations(Role.supervisor)
    )
    if not programmes:
        raise NotAllowed()
    organisation_id = min(programmes)
    form = forms.SharingForm()
    if request.method == "POST" and form.validate_on_submit():
        services.set_signal_sharing(
            session=session, actor=current_user, share=bool(form.share_signals.data)
        )
        session.commit()
        flash(_("The setting is saved."), "success")
        return redirect(url_for("picture.sharing"), 303)
    form.share_signals.data = services.shares_signals(
        session=session, organisation_id=organisation_id
    )
    return render_template("picture/sharing.html", form=form)


@bp.get("/district/<int:district_id>/lagesbild.csv")
def export(district_id: int) -> Response:
    """The district's month for the municipality's lägesbild (Swedish Excel), audited."""
    session = get_session()
    form = forms.ExportForm(request.args)
    month = (
        form.month.data
        if form.validate()
        else utcnow().astimezone(services.STOCKHOLM).strftime("%Y-%m")
    )
    try:
        body = services.export_lagesbild(
            session=session, actor=current_user, district_id=district_id, month=month
        )
    except InvalidInput:
        return Response(_("Choose a month."), status=400, mimetype="text/plain")
    session.commit()
    name = session.get(District, district_id)
    slug = "".join(c if c.isalnum() else "-" for c in (name.name if name else "district"))
    return csv_response(body, filename=f"lagesbild-{slug}-{month}.csv")


@bp.route("/outlines", methods=["GET", "POST"])
def outlines() -> Any:
    """The admin imports district outlines (GeoJSON) for the picture's map."""
    session = get_session()
    districts = session.exec(select(District).order_by(col(District.name))).all()
    form = forms.OutlineForm()
    form.district_id.choices = forms.blank(
        forms.options((d.id, d.name) for d in districts), label=_("Match by the features' names")
    )
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            upload = request.files.get("geojson")
            text = (
                upload.read(services_max_bytes() + 1).decode("utf-8", "replace")
                if upload and upload.filename
                else (form.text.data or "")
            )
            try:
                if len(text) > services_max_bytes():
                    raise InvalidInput({"geojson": _("The file is too large.")})
                done = services.import_outlines(
                    session=session,
                    actor=current_user,
                    text=text,
                    district_id=int(form.district_id.data) if form.district_id.data else None,
                )
            except InvalidInput as error:
                forms.show_errors(form, {"text": " ".join(str(m) for m in error.errors.values())})
            else:
                session.commit()
                flash(
                    _("Outlines imported: %(names)s.", names=", ".join(d.name for d in done)),
                    "success",
                )
                return redirect(url_for("picture.outlines"), 303)
        status = 422
    having = {
        d.id: bool(services.outline_of(session=session, district_id=d.id or 0)) for d in districts
    }
    return render_template(
        "picture/outlines.html", form=form, districts=districts, having=having
    ), status


def services_max_bytes() -> int:
    """An outline upload's limit (a district's polygon is tens of kilobytes)."""
    return int(current_app.config.get("PICTURE_OUTLINE_MAX_BYTES", 2 * 1024 * 1024))
