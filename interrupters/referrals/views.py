"""Referrals (make one, follow it), the directory of services, and the admin's directory pages.

URLs and titles name a participant by id, never by code (browser history outlives a logout).
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from interrupters.auth.services import display_names
from interrupters.auth.values import Role
from interrupters.authz import guard
from interrupters.db import get_session
from interrupters.errors import InvalidInput
from interrupters.paging import Cursor, Page
from interrupters.records.correction import fill_from_held, held_to_correct, submit_form
from interrupters.records.services import held_records
from interrupters.referrals import forms, services
from interrupters.referrals.records import REFERRAL, REFERRAL_UPDATE, bind_referral_form

logger = logging.getLogger(__name__)

bp = Blueprint("referrals", __name__)

CASE = {Role.interrupter, Role.supervisor}
ADMIN = {Role.admin}
guard(
    bp,
    {
        "index": CASE,
        "new": CASE,
        "detail": CASE,
        "update": CASE,
        "directory": CASE,
        "admin_services": ADMIN,
        "new_service": ADMIN,
        "edit_service": ADMIN,
    },
)


def _now_local() -> datetime:
    return datetime.now(forms.STOCKHOLM).replace(second=0, microsecond=0, tzinfo=None)


@bp.get("/referrals")
def index() -> Any:
    session = get_session()
    # Open and closed referrals are paged each on its own: a later page shows that list alone.
    open_from = Cursor.decode(request.args.get("before"), expect=date)
    closed_from = (
        None if open_from else Cursor.decode(request.args.get("closed_before"), expect=datetime)
    )
    empty: Page[Any] = Page(items=[], next_cursor=None)
    open_page = (
        empty
        if closed_from
        else services.open_referrals(session=session, actor=current_user, cursor=open_from)
    )
    closed_page = (
        empty
        if open_from
        else services.closed_referrals(session=session, actor=current_user, cursor=closed_from)
    )
    return render_template(
        "referrals/index.html",
        open_page=open_page,
        closed_page=closed_page,
        open_later=open_from is not None,
        closed_later=closed_from is not None,
        codes=services.participant_codes(
            session=session, referrals=open_page.items + closed_page.items
        ),
        services=services.service_names(session=session),
        held=held_records(session=session, actor=current_user, kind="referral"),
        today=datetime.now(forms.STOCKHOLM).date(),
    )


def _render_form(form: forms.ReferralForm, status: int = 200) -> Any:
    return render_template("referrals/form.html", form=form), status


@bp.route("/referrals/new", methods=["GET", "POST"])
def new() -> Any:
    session = get_session()
    # The contact form's referral chips and a participant's page lead here with one chosen.
    preselect = request.args.get("participant", type=int)
    form = forms.prepare_referral_form(
        forms.ReferralForm(),
        session=session,
        actor=current_user,
        include=preselect if preselect is not None and 0 < preselect < 2**31 else None,
    )
    if request.method == "GET":
        form.made_at.data = _now_local()
        if preselect is not None:
            form.participant_id.data = str(preselect)
        held = held_to_correct("referral")
        if held is not None:
            form = bind_referral_form(
                held.payload, session=session, actor=current_user, strict=False
            )
            fill_from_held(form, held)
        return _render_form(form)
    result = submit_form(REFERRAL, form)
    if result.errors is not None:
        return _render_form(form, 422)
    session.commit()
    flash(
        _("The referral is saved.") if result.created else _("The referral was already saved."),
        "success",
    )
    return redirect(url_for("referrals.detail", referral_id=result.record_id), 303)


def _update_form(referral_id: int) -> forms.ReferralUpdateForm:
    form = forms.ReferralUpdateForm(referral_id=str(referral_id))
    form.occurred_at.data = _now_local()
    held = held_to_correct("referral_update")
    if held is not None and held.payload.get("referral_id") == str(referral_id):
        fill_from_held(form, held)
    return form


def _render_detail(
    referral_id: int, update_form: forms.ReferralUpdateForm, status: int = 200
) -> Any:
    session = get_session()
    referral = services.get_referral(session=session, actor=current_user, referral_id=referral_id)
    history = services.referral_history(session=session, referral_id=referral_id)
    return (
        render_template(
            "referrals/detail.html",
            referral=referral,
            service=services.get_service(session=session, service_id=referral.service_id),
            code=services.participant_codes(session=session, referrals=[referral]).get(
                referral.participant_id, ""
            ),
            history=history,
            names=display_names(
                session=session,
                user_ids=[referral.made_by_id, *(u.author_id for u in history)],
            ),
            update_form=update_form,
        ),
        status,
    )


@bp.get("/referrals/<int:referral_id>")
def detail(referral_id: int) -> Any:
    session = get_session()
    services.get_referral(session=session, actor=current_user, referral_id=referral_id, audit=True)
    # The view is audited: the event is committed even though nothing else changed.
    session.commit()
    return _render_detail(referral_id, _update_form(referral_id))


@bp.post("/referrals/<int:referral_id>/update")
def update(referral_id: int) -> Any:
    session = get_session()
    services.get_referral(session=session, actor=current_user, referral_id=referral_id)
    form = forms.ReferralUpdateForm()
    if submit_form(REFERRAL_UPDATE, form, referral_id=str(referral_id)).errors is not None:
        return _render_detail(referral_id, form, 422)
    session.commit()
    flash(_("The referral is updated."), "success")
    return redirect(url_for("referrals.detail", referral_id=referral_id), 303)


@bp.get("/services")
def directory() -> Any:
    """The directory of local services: kept on the phone for the street (no personal data)."""
    session = get_session()
    return render_template(
        "referrals/directory.html",
        services=services.directory(session=session),
        districts=_district_names(),
    )


def _district_names() -> dict[int, str]:
    return services.district_names(session=get_session())


# The admin's directory -----------------------------------------------------------------------


@bp.get("/admin/services")
def admin_services() -> Any:
    return render_template(
        "referrals/admin_services.html",
        services=services.directory(session=get_session(), active_only=False),
        districts=_district_names(),
    )


def _save_service(service_id: int | None) -> Any:
    session = get_session()
    existing = services.get_service(session=session, service_id=service_id) if service_id else None
    form = forms.ServiceForm(obj=existing) if request.method == "GET" else forms.ServiceForm()
    forms.prepare_service_form(form, session=session)
    if request.method == "POST" and form.validate_on_submit():
        try:
            services.save_service(
                session=session,
                actor=current_user,
                data=forms.service_input(form),
                service_id=service_id,
            )
        except InvalidInput as error:
            forms.show_errors(form, error.errors)
        else:
            session.commit()
            flash(_("The directory is saved."), "success")
            return redirect(url_for("referrals.admin_services"), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("referrals/service_form.html", form=form, service=existing), status


@bp.route("/admin/services/new", methods=["GET", "POST"])
def new_service() -> Any:
    return _save_service(None)


@bp.route("/admin/services/<int:service_id>/edit", methods=["GET", "POST"])
def edit_service(service_id: int) -> Any:
    return _save_service(service_id)
