"""Caseload screens: own participants, the team's (read), one participant's history."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from interrupters.auth.values import Role
from interrupters.authz import deny, guard
from interrupters.contacts import services as contacts
from interrupters.db import get_session
from interrupters.errors import InvalidInput
from interrupters.forms import options
from interrupters.paging import Cursor
from interrupters.participants import services
from interrupters.participants.forms import CloseForm, ParticipantForm
from interrupters.participants.values import ExitReason
from interrupters.places.services import areas_with_places
from interrupters.referrals import services as referrals

bp = Blueprint("participants", __name__, url_prefix="/participants")

CASE = {Role.interrupter, Role.supervisor}
guard(
    bp,
    {
        "caseload": CASE,
        "team": CASE,
        "follow_ups": CASE,
        "new": CASE,
        "detail": CASE,
        "edit": CASE,
        "close": CASE,
    },
)


def _form(form: ParticipantForm) -> ParticipantForm:
    session = get_session()
    form.area_id.choices = options(
        (g.area.id, f"{g.area.name} ({g.district.name})")
        for g in areas_with_places(session=session)
    )
    if current_user.has_role(Role.supervisor):
        form.worker_id.choices = options(
            (u.id, u.display_name)
            for u in services.organisation_workers(session=session, actor=current_user)
        )
    else:
        del form.worker_id
    return form


def _input(form: ParticipantForm) -> services.ParticipantInput:
    data = {k: v for k, v in form.data.items() if k not in ("csrf_token",)}
    data["worker_id"] = int(data["worker_id"]) if data.get("worker_id") else None
    data["gender"] = data.get("gender") or None
    data["nickname"] = (data.get("nickname") or "").strip() or None
    data["consent_scope"] = (data.get("consent_scope") or "").strip() or None
    return services.ParticipantInput.model_validate(data)


@bp.get("/")
def caseload() -> str:
    rows = services.caseload(session=get_session(), actor=current_user)
    return render_template("participants/caseload.html", rows=rows)


@bp.get("/follow-ups")
def follow_ups() -> str:
    """Own follow-ups due: codes and dates only, so the page may be kept on the phone."""
    rows = [
        row
        for row in services.caseload(session=get_session(), actor=current_user)
        if row.next_follow_up is not None
    ]
    return render_template(
        "participants/follow_ups.html",
        rows=rows,
        referral_rows=referrals.own_referral_follow_ups(session=get_session(), actor=current_user),
    )


@bp.get("/team")
def team() -> str:
    """The team's participants by code, a page at a time (`before`: the cursor of the last
    code shown), of every worker or of the one `worker` names."""
    session = get_session()
    workers = services.organisation_workers(session=session, actor=current_user)
    raw = request.args.get("worker", "")
    worker_id = next((u.id for u in workers if raw.isdigit() and u.id == int(raw)), None)
    page = services.team_participants(
        session=session,
        actor=current_user,
        worker_id=worker_id,
        cursor=Cursor.decode(request.args.get("before"), expect=str),
    )
    return render_template(
        "participants/team.html",
        page=page,
        rows=page.items,
        workers=workers,
        worker_id=worker_id,
        paged=bool(request.args.get("before")),
    )


@bp.route("/new", methods=["GET", "POST"])
def new() -> str | Response | tuple[str, int]:
    form = _form(ParticipantForm())
    if form.validate_on_submit():
        session = get_session()
        try:
            participant = services.create_participant(
                session=session, actor=current_user, data=_input(form)
            )
        except InvalidInput as error:
            form.area_id.errors = list(error.errors.values())
        else:
            session.commit()
            flash(_("Participant %(code)s is registered.", code=participant.code), "success")
            return redirect(url_for("participants.detail", participant_id=participant.id), 303)
    status = 422 if form.errors else 200
    return render_template("participants/form.html", form=form, participant=None), status


@bp.get("/<int:participant_id>")
def detail(participant_id: int) -> str:
    session = get_session()
    participant = services.get_participant(
        session=session, actor=current_user, participant_id=participant_id
    )
    cursor = contacts.read_cursor(request.args.get("before"))
    history = contacts.participant_contacts(
        session=session, participant_id=participant_id, cursor=cursor
    )
    # The view is audited: the event is committed even though nothing else changed.
    session.commit()
    return render_template(
        "participants/detail.html",
        participant=participant,
        history=history,
        more_url=url_for(
            "participants.detail", participant_id=participant_id, before=history.next_cursor
        )
        if history.has_more
        else None,
        first_url=url_for("participants.detail", participant_id=participant_id) if cursor else None,
        can_edit=services.can_edit(current_user, participant),
        show_nickname=services.shows_nickname(current_user, participant),
        close_form=CloseForm(),
        # The referrals the reader may see (own participants', or the organisation's).
        referrals=referrals.visible_referrals(
            session=session, actor=current_user, participant_id=participant_id
        ),
        service_names=referrals.service_names(session=session),
    )


@bp.route("/<int:participant_id>/edit", methods=["GET", "POST"])
def edit(participant_id: int) -> str | Response | tuple[str, int]:
    session = get_session()
    participant = services.get_participant(
        session=session, actor=current_user, participant_id=participant_id, audit=False
    )
    if not services.can_edit(current_user, participant):
        deny(403)
    form = _form(ParticipantForm(obj=participant))
    if request.method == "GET":
        form.area_id.data = str(participant.area_id)
        if form.worker_id:
            form.worker_id.data = str(participant.worker_id)
    if form.validate_on_submit():
        try:
            services.update_participant(
                session=session,
                actor=current_user,
                participant_id=participant_id,
                data=_input(form),
            )
        except InvalidInput as error:
            form.status.errors = list(error.errors.values())
        else:
            session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("participants.detail", participant_id=participant_id), 303)
    status = 422 if form.errors else 200
    return render_template("participants/form.html", form=form, participant=participant), status


@bp.post("/<int:participant_id>/close")
def close(participant_id: int) -> Response | tuple[str, int]:
    session = get_session()
    participant = services.get_participant(
        session=session, actor=current_user, participant_id=participant_id, audit=False
    )
    if not services.can_edit(current_user, participant):
        deny(403)
    form = CloseForm()
    if not form.validate_on_submit():
        flash(_("Choose an exit reason."), "error")
        return redirect(url_for("participants.detail", participant_id=participant_id), 303)
    services.close_participant(
        session=session,
        actor=current_user,
        participant_id=participant_id,
        exit_reason=ExitReason(form.exit_reason.data),
    )
    session.commit()
    flash(_("The case is closed."), "success")
    return redirect(url_for("participants.caseload"), 303)
