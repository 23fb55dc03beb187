"""Briefing screens: the list, drafting and editing, preview, publishing and scheduling, the
current briefing for the street, receipts and attendance, and the projector's presentation."""

from __future__ import annotations

import collections
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import col, select
from werkzeug.wrappers import Response

from interrupters.auth.models import Organisation
from interrupters.auth.values import Role
from interrupters.authz import guard
from interrupters.briefings import forms, services
from interrupters.briefings.models import Briefing
from interrupters.briefings.records import BRIEFING_ACK, BRIEFING_READ
from interrupters.briefings.signals import briefing_drafting
from interrupters.db import get_session, utcnow
from interrupters.errors import InvalidInput, InvalidState
from interrupters.paging import Cursor
from interrupters.places.models import District
from interrupters.records.correction import held_to_correct, submit_form
from interrupters.records.models import HeldRecord
from interrupters.records.services import shown_errors

bp = Blueprint("briefings", __name__, url_prefix=services.URL_PREFIX)

WRITE = {Role.supervisor, Role.briefing_author}
READ = {Role.supervisor, Role.interrupter, Role.association_lead, Role.night_walker}
ALL = WRITE | READ
guard(
    bp,
    {
        "index": ALL,
        "current": ALL,
        "new": WRITE,
        "detail": ALL,
        "edit": WRITE,
        "preview": WRITE,
        "publish": WRITE,
        "schedule": WRITE,
        "unschedule": WRITE,
        "acknowledge": READ,
        "receipts": WRITE,
        "present": WRITE,
        "attendance": WRITE,
    },
)


def _messages(errors: dict[str, Any]) -> str:
    return " ".join(str(m) for m in errors.values())


def _to_detail(briefing_id: int) -> Response:
    return redirect(url_for("briefings.detail", briefing_id=briefing_id), 303)


def _content(briefing: Briefing) -> dict[str, Any]:
    """What the reader's view of a briefing shows."""
    session = get_session()
    assert briefing.id is not None
    districts = services.districts_of(session=session, briefing_id=briefing.id)
    return {
        "briefing": briefing,
        "districts": services.district_names(session=session, district_ids=districts),
        "statuses": services.place_statuses(session=session, briefing_id=briefing.id),
    }


@bp.get("/")
def index() -> str:
    session = get_session()
    cursor = Cursor.decode(request.args.get("before"), expect=datetime)
    page = services.list_briefings(session=session, actor=current_user, cursor=cursor)
    briefings = page.items
    return render_template(
        "briefings/index.html",
        page=page,
        later_page=cursor is not None,
        briefings=briefings,
        writer=current_user.has_role(*WRITE),
        can_write={b.id: services.can_write(current_user, b) for b in briefings},
    )


@bp.get("/current")
def current() -> Response:
    """The briefing for the street, kept on the phone until it expires (pwa OFFLINE_PAGES)."""
    session = get_session()
    now = utcnow()
    briefings = services.current_briefings(session=session, actor=current_user, now=now)
    shown = []
    for briefing in briefings:
        assert briefing.id is not None
        acknowledgement = services.acknowledgement_of(
            session=session, briefing_id=briefing.id, user_id=current_user.user_id
        )
        shown.append(
            _content(briefing)
            | {"acknowledgement": acknowledgement, "ack_form": _ack_form(briefing.id)}
        )
    # text/html: werkzeug's Response alone would send the page as text/plain.
    response = Response(
        render_template("briefings/current.html", shown=shown, reader=current_user.has_role(*READ)),
        mimetype="text/html",
    )
    if briefings:
        # The service worker deletes its copy once this time has passed (static/js/sw-main.js).
        expires = min(b.valid_to for b in briefings)
        response.headers["X-Expires-At"] = expires.astimezone().isoformat()
    return response


def _held_receipt(briefing_id: int) -> HeldRecord | None:
    """The signed-in reader's held read or acknowledgement of this briefing named by ?held=:
    acknowledging here corrects it (an acknowledgement is also a read)."""
    for kind in (BRIEFING_ACK, BRIEFING_READ):
        held = held_to_correct(kind.name)
        if held is not None and str(held.payload.get("briefing_id")) == str(briefing_id):
            return held
    return None


def _ack_form(briefing_id: int) -> forms.AcknowledgeForm:
    return forms.AcknowledgeForm(briefing_id=str(briefing_id), formdata=None)


def _district_choices(form: forms.BriefingForm) -> None:
    districts = get_session().exec(select(District).order_by(col(District.name))).all()
    form.district_ids.choices = forms.district_choices(list(districts))


def _rows_context(
    *,
    district_ids: list[int],
    statuses: dict[int, tuple[str, str]],
    events: list[dict[str, str]],
    on_call: list[dict[str, str]],
    since: datetime | None,
) -> dict[str, Any]:
    """The form's repeated rows: a status row a place (with the walks' observations since the
    last briefing), fixed rows for events and on-call contacts."""
    session = get_session()
    places = services.places_of_districts(session=session, district_ids=district_ids)
    observations: dict[int, collections.Counter[str]] = {}
    if since is not None and district_ids:
        observations = services.observations_since(
            session=session, district_ids=district_ids, since=since, until=utcnow()
        )
    return {
        "places": places,
        "statuses": statuses,
        "observations": observations,
        "since": since,
        "status_choices": forms.status_choices(),
        "events": forms.padded(events, services.ROWS_EVENTS, ("what", "where", "when")),
        "on_call": forms.padded(on_call, services.ROWS_ON_CALL, ("who", "phone")),
    }


def _posted_rows(form: forms.BriefingForm) -> dict[str, Any]:
    data = request.form
    place_ids = [
        p.id or 0
        for p in services.places_of_districts(
            session=get_session(), district_ids=form.district_ids.data or []
        )
    ]
    return {
        "place_ids": place_ids,
        "statuses": {
            r["place_id"]: (r["status"], r["note"]) for r in forms.statuses_from(data, place_ids)
        },
        "events": forms.rows_from(data, "event", ("what", "where", "when"), services.ROWS_EVENTS),
        "on_call": forms.rows_from(data, "oncall", ("who", "phone"), services.ROWS_ON_CALL),
    }


def _show(form: forms.BriefingForm, errors: dict[str, Any]) -> list[str]:
    """Field errors on the form's fields; the rows' errors are returned for the page."""
    others = []
    for name, message in errors.items():
        field = getattr(form, name, None)
        if field is None:
            others.append(str(message))
        else:
            field.errors = [*list(field.errors), str(message)]
    return others


def _save(form: forms.BriefingForm, briefing_id: int | None) -> tuple[Briefing | None, list[str]]:
    session = get_session()
    if not form.validate_on_submit():
        return None, []
    rows = _posted_rows(form)
    try:
        data = forms.briefing_input(form, request.form, place_ids=rows["place_ids"])
        if briefing_id is None:
            briefing = services.draft_briefing(session=session, actor=current_user, data=data)
        else:
            briefing = services.update_briefing(
                session=session, actor=current_user, briefing_id=briefing_id, data=data
            )
    except InvalidInput as error:
        return None, _show(form, error.errors)
    session.commit()
    return briefing, []


@bp.route("/new", methods=["GET", "POST"])
def new() -> Any:
    """A new draft, starting from the organisation's last published briefing (the loop)."""
    session = get_session()
    form = forms.BriefingForm()
    _district_choices(form)
    organisation_id = services.writer_organisation(current_user)
    if request.method == "POST":
        briefing, others = _save(form, None)
        if briefing is not None:
            flash(_("The draft is saved."), "success")
            return _to_detail(briefing.id or 0)
        rows = _posted_rows(form)
        context = _rows_context(
            district_ids=form.district_ids.data or [],
            statuses=rows["statuses"],
            events=rows["events"],
            on_call=rows["on_call"],
            since=None,
        )
        return render_template(
            "briefings/form.html", form=form, others=others, briefing=None, **context
        ), 422
    requested = [int(d) for d in request.args.getlist("district_ids") if d.isdigit()]
    district_ids = requested or services.default_districts(session=session, actor=current_user)
    last = services.last_published(
        session=session, organisation_id=organisation_id, district_ids=district_ids
    )
    organisation = session.get(Organisation, organisation_id)
    on_call = forms.default_on_call(organisation.name if organisation else "")
    statuses: dict[int, tuple[str, str]] = {}
    if last is not None and last.id is not None:
        on_call = list(last.on_call) or on_call
        statuses = {
            row.place_id: (row.status, row.note)
            for _place, row in services.place_statuses(session=session, briefing_id=last.id)
        }
    # The situational picture (or whoever listens) may give the draft its starting point.
    picture: dict[str, Any] | None = None
    for _receiver, start in briefing_drafting.send(
        session, district_ids=district_ids, now=utcnow()
    ):
        if start:
            picture = start
            statuses.update(start["statuses"])
    now = datetime.now(forms.STOCKHOLM).replace(second=0, microsecond=0, tzinfo=None)
    friday = now + timedelta(days=(4 - now.weekday()) % 7)
    form.valid_from.data = friday.replace(hour=18, minute=0)
    form.valid_to.data = (friday + timedelta(days=2)).replace(hour=6, minute=0)
    form.district_ids.data = district_ids
    if last is not None:
        form.safety_reminders.data = last.safety_reminders
        form.meeting_place.data = last.meeting_place
    if picture is not None and picture["lines"]:
        form.summary.data = _("Actions for the places:") + "\n" + "\n".join(picture["lines"])
    context = _rows_context(
        district_ids=district_ids,
        statuses=statuses,
        events=[],
        on_call=on_call,
        since=last.published_at if last else None,
    )
    return render_template(
        "briefings/form.html",
        form=form,
        others=[],
        briefing=None,
        last=last,
        picture=picture,
        **context,
    )


@bp.get("/<int:briefing_id>")
def detail(briefing_id: int) -> str:
    session = get_session()
    briefing = services.get_briefing(session=session, actor=current_user, briefing_id=briefing_id)
    acknowledgement = services.acknowledgement_of(
        session=session, briefing_id=briefing_id, user_id=current_user.user_id
    )
    ack_form = _ack_form(briefing_id)
    held = _held_receipt(briefing_id)
    if held is not None:
        ack_form.held_id.data = str(held.id)
    return render_template(
        "briefings/detail.html",
        writable=services.can_write(current_user, briefing),
        following=services.can_follow(session, current_user, briefing),
        readable=services.can_read(session, current_user, briefing, utcnow()),
        acknowledgement=acknowledgement,
        ack_form=ack_form,
        held=held,
        held_reasons=list(shown_errors(held.errors).values()) if held else [],
        schedule_form=forms.ScheduleForm(),
        **_content(briefing),
    )


@bp.route("/<int:briefing_id>/edit", methods=["GET", "POST"])
def edit(briefing_id: int) -> Any:
    session = get_session()
    briefing = services.writable_briefing(
        session=session, actor=current_user, briefing_id=briefing_id
    )
    if briefing.state not in services.EDITABLE:
        flash(_("A published briefing cannot be changed."), "error")
        return _to_detail(briefing_id)
    form = forms.BriefingForm()
    _district_choices(form)
    if request.method == "POST":
        saved, others = _save(form, briefing_id)
        if saved is not None:
            flash(_("The briefing is saved."), "success")
            return _to_detail(briefing_id)
        rows = _posted_rows(form)
        context = _rows_context(
            district_ids=form.district_ids.data or [],
            statuses=rows["statuses"],
            events=rows["events"],
            on_call=rows["on_call"],
            since=None,
        )
        return render_template(
            "briefings/form.html", form=form, others=others, briefing=briefing, **context
        ), 422
    district_ids = services.districts_of(session=session, briefing_id=briefing_id)
    forms.fill(form, briefing, district_ids)
    context = _rows_context(
        district_ids=district_ids,
        statuses={
            row.place_id: (row.status, row.note)
            for _place, row in services.place_statuses(session=session, briefing_id=briefing_id)
        },
        events=list(briefing.expected_events),
        on_call=list(briefing.on_call),
        since=None,
    )
    return render_template(
        "briefings/form.html", form=form, others=[], briefing=briefing, **context
    )


@bp.get("/<int:briefing_id>/preview")
def preview(briefing_id: int) -> str:
    """The briefing as its readers will see it."""
    briefing = services.followed_briefing(
        session=get_session(), actor=current_user, briefing_id=briefing_id
    )
    return render_template("briefings/preview.html", **_content(briefing))


@bp.post("/<int:briefing_id>/publish")
def publish(briefing_id: int) -> Response:
    session = get_session()
    try:
        published = services.publish_briefing(
            session=session, actor=current_user, briefing_id=briefing_id
        )
    except InvalidInput as error:
        flash(_messages(error.errors), "error")
        return _to_detail(briefing_id)
    session.commit()
    if published:
        flash(_("The briefing is published."), "success")
    else:
        flash(_("The briefing is published already."), "error")
    return _to_detail(briefing_id)


@bp.post("/<int:briefing_id>/schedule")
def schedule(briefing_id: int) -> Response:
    session = get_session()
    services.writable_briefing(session=session, actor=current_user, briefing_id=briefing_id)
    form = forms.ScheduleForm()
    if not form.validate_on_submit():
        flash(_messages(forms.errors_of(form)), "error")
        return _to_detail(briefing_id)
    try:
        services.schedule_briefing(
            session=session,
            actor=current_user,
            briefing_id=briefing_id,
            publish_at=forms.to_utc(form.publish_at.data) or utcnow(),
        )
    except InvalidInput as error:
        flash(_messages(error.errors), "error")
    except InvalidState as error:
        flash(str(error.description), "error")
    else:
        session.commit()
        flash(_("The briefing is scheduled."), "success")
    return _to_detail(briefing_id)


@bp.post("/<int:briefing_id>/unschedule")
def unschedule(briefing_id: int) -> Response:
    session = get_session()
    try:
        services.unschedule_briefing(session=session, actor=current_user, briefing_id=briefing_id)
    except InvalidState as error:
        flash(str(error.description), "error")
    else:
        session.commit()
        flash(_("The briefing is a draft again."), "success")
    return _to_detail(briefing_id)


@bp.post("/<int:briefing_id>/acknowledge")
def acknowledge(briefing_id: int) -> Response:
    """The acknowledge button without JavaScript (with it, the outbox sends "briefing_ack"):
    the same record, through its kind's declaration."""
    form = forms.AcknowledgeForm()
    # Without JavaScript the form carries no time: the server's, in the phone's zone.
    fixed = {"briefing_id": str(briefing_id)}
    if form.moment() is None:
        fixed["at"] = utcnow().astimezone(forms.STOCKHOLM).strftime(forms.LOCAL)
    if submit_form(BRIEFING_ACK, form, **fixed).errors is None:
        get_session().commit()
        flash(_("Thank you: your acknowledgement is recorded."), "success")
    else:
        services.get_briefing(session=get_session(), actor=current_user, briefing_id=briefing_id)
        flash(_("The acknowledgement could not be read. Try again."), "error")
    return redirect(url_for("briefings.current"), 303)


@bp.get("/<int:briefing_id>/receipts")
def receipts(briefing_id: int) -> str:
    """Who read and acknowledged it, per association and member (an audited read)."""
    session = get_session()
    organisations = services.receipts(session=session, actor=current_user, briefing_id=briefing_id)
    briefing = services.get_briefing(session=session, actor=current_user, briefing_id=briefing_id)
    page = render_template(
        "briefings/receipts.html",
        briefing=briefing,
        organisations=organisations,
        attendance_form=forms.AttendanceForm(),
    )
    session.commit()  # the audited read
    return page


@bp.get("/<int:briefing_id>/present")
def present(briefing_id: int) -> str:
    """Presentation mode for the meeting's projector: one section at a time with JavaScript."""
    briefing = services.followed_briefing(
        session=get_session(), actor=current_user, briefing_id=briefing_id
    )
    return render_template("briefings/present.html", **_content(briefing))


@bp.post("/<int:briefing_id>/attendance")
def attendance(briefing_id: int) -> Response:
    session = get_session()
    form = forms.AttendanceForm()
    if not form.validate_on_submit():
        services.get_briefing(session=session, actor=current_user, briefing_id=briefing_id)
        flash(_messages(forms.errors_of(form)), "error")
    else:
        try:
            count = services.set_attendance(
                session=session,
                actor=current_user,
                briefing_id=briefing_id,
                organisation_id=int(form.organisation_id.data),
                attended_user_ids=form.attended.data or [],
            )
        except InvalidInput as error:
            flash(_messages(error.errors), "error")
        else:
            session.commit()
            flash(_("Attendance is saved: %(count)d came.", count=count), "success")
    return redirect(url_for("briefings.receipts", briefing_id=briefing_id), 303)
