"""The admin's screens: users and memberships, organisations, districts, areas and places."""

from __future__ import annotations

import logging
from typing import Any, cast

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from interrupters.admin import services as admin_services
from interrupters.admin.forms import (
    AreaForm,
    InviteForm,
    MembershipForm,
    OrganisationForm,
    PlaceForm,
    RetentionForm,
    UserFilterForm,
    apply_errors,
    coordinate,
)
from interrupters.auth import organisations as organisation_services
from interrupters.auth import services as auth_services
from interrupters.auth import twofactor
from interrupters.auth.models import Organisation
from interrupters.auth.principal import Principal
from interrupters.auth.values import OrganisationType, Role
from interrupters.authz import guard
from interrupters.db import get_session
from interrupters.errors import InvalidInput
from interrupters.paging import Cursor
from interrupters.places import services as place_services
from interrupters.places.values import PlaceType
from interrupters.records import validated
from interrupters.retention import services as retention_services
from interrupters.valuelists import choices

logger = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")

ADMIN = {Role.admin}
guard(
    bp,
    {
        "users": ADMIN,
        "invite": ADMIN,
        "user": ADMIN,
        "set_membership": ADMIN,
        "remove_membership": ADMIN,
        "deactivate_user": ADMIN,
        "activate_user": ADMIN,
        "new_invitation": ADMIN,
        "reset_second_factors": ADMIN,
        "organisations": ADMIN,
        "new_organisation": ADMIN,
        "edit_organisation": ADMIN,
        "organisation_retention": ADMIN,
        "places": ADMIN,
        "create_districts": ADMIN,
        "new_area": ADMIN,
        "new_place": ADMIN,
        "edit_place": ADMIN,
    },
)

Page = str | Response | tuple[str, int]


def _actor() -> Principal:
    return cast(Principal, current_user._get_current_object())


def _see_other(endpoint: str, **values: Any) -> Response:
    return redirect(url_for(endpoint, **values), code=303)


def _organisation_choices() -> list[SelectChoice]:
    return [
        SelectChoice(value=str(row.organisation.id), label=row.organisation.name)
        for row in organisation_services.list_organisations(session=get_session())
    ]


# Users ----------------------------------------------------------------------------------------


@bp.get("/users")
def users() -> str:
    form = UserFilterForm(request.args)
    form.organisation.choices = [
        SelectChoice(value="", label=_("All organisations")),
        *_organisation_choices(),
    ]
    organisation_id = form.organisation.data if form.validate() else None
    cursor = Cursor.decode(request.args.get("before"), expect=str)
    page = admin_services.users_page(
        session=get_session(), actor=_actor(), organisation_id=organisation_id, cursor=cursor
    )
    return render_template(
        "admin/users.html",
        page=page,
        users=page.items,
        later_page=cursor is not None,
        filter_form=form,
        organisation_id=organisation_id,
    )


def _invitation_hours() -> int:
    return int(current_app.config.get("INVITATION_HOURS", 72))


def _invitation_page(*, user_id: int, display_name: str, token: str, new_user: bool) -> str:
    """Show the one-time link: only its hash is stored, so this page is the only time it exists."""
    link = url_for("auth.invitation", token=token, _external=True)
    return render_template(
        "admin/invitation_link.html",
        link=link,
        user_id=user_id,
        display_name=display_name,
        new_user=new_user,
        hours=_invitation_hours(),
    )


@bp.route("/users/invite", methods=["GET", "POST"])
def invite() -> Page:
    form = InviteForm()
    form.organisation_id.choices = _organisation_choices()
    if request.method == "GET" and request.args.get("organisation", "").isdigit():
        form.organisation_id.data = int(request.args["organisation"])
    if form.validate_on_submit():
        db = get_session()
        try:
            user, token = auth_services.invite_user(
                session=db,
                actor=_actor(),
                email=form.email.data or "",
                display_name=form.display_name.data or "",
                organisation_id=form.organisation_id.data,
                role=Role(form.role.data),
                hours=_invitation_hours(),
            )
        except InvalidInput as error:
            apply_errors(form, error.errors)
        else:
            db.commit()
            assert user.id is not None
            # Rendered, not redirected: the token must not travel through a cookie or a URL.
            return _invitation_page(
                user_id=user.id, display_name=user.display_name, token=token, new_user=True
            )
    status = 422 if request.method == "POST" else 200
    return render_template("admin/invite.html", form=form), status


def _user_page(
    user_id: int,
    *,
    membership_form: MembershipForm | None = None,
    account_errors: list[str] | None = None,
) -> str:
    db = get_session()
    detail = admin_services.get_user_detail(session=db, actor=_actor(), user_id=user_id)
    form = membership_form or MembershipForm()
    form.organisation_id.choices = _organisation_choices()
    return render_template(
        "admin/user.html",
        detail=detail,
        membership_form=form,
        role_choices=choices(Role),
        is_self=user_id == _actor().user_id,
        account_errors=account_errors or [],
        has_second_factor=twofactor.has_second_factor(session=db, user_id=user_id),
    )


@bp.get("/users/<int:user_id>")
def user(user_id: int) -> str:
    return _user_page(user_id)


@bp.post("/users/<int:user_id>/memberships")
def set_membership(user_id: int) -> Page:
    form = MembershipForm()
    form.organisation_id.choices = _organisation_choices()
    if not form.validate_on_submit():
        return _user_page(user_id, membership_form=form), 422
    db = get_session()
    auth_services.set_membership(
        session=db,
        actor=_actor(),
        user_id=user_id,
        organisation_id=form.organisation_id.data,
        role=Role(form.role.data),
    )
    db.commit()
    flash(_("The role is saved. The person's devices are signed out."), "success")
    return _see_other("admin.user", user_id=user_id)


@bp.post("/users/<int:user_id>/memberships/<int:organisation_id>/remove")
def remove_membership(user_id: int, organisation_id: int) -> Response:
    db = get_session()
    auth_services.set_membership(
        session=db, actor=_actor(), user_id=user_id, organisation_id=organisation_id, role=None
    )
    db.commit()
    flash(_("The membership is removed. The person's devices are signed out."), "success")
    return _see_other("admin.user", user_id=user_id)


def _set_active(user_id: int, *, active: bool) -> Page:
    db = get_session()
    try:
        auth_services.set_user_active(session=db, actor=_actor(), user_id=user_id, active=active)
    except InvalidInput as error:
        return _user_page(user_id, account_errors=list(error.errors.values())), 422
    db.commit()
    if active:
        flash(_("The account is active again."), "success")
    else:
        flash(_("The account is deactivated and every device signed out."), "success")
    return _see_other("admin.user", user_id=user_id)


@bp.post("/users/<int:user_id>/deactivate")
def deactivate_user(user_id: int) -> Page:
    return _set_active(user_id, active=False)


@bp.post("/users/<int:user_id>/activate")
def activate_user(user_id: int) -> Page:
    return _set_active(user_id, active=True)


@bp.post("/users/<int:user_id>/invitation")
def new_invitation(user_id: int) -> str:
    db = get_session()
    token = auth_services.issue_invitation(
        session=db, actor=_actor(), user_id=user_id, hours=_invitation_hours()
    )
    detail = admin_services.get_user_detail(session=db, actor=_actor(), user_id=user_id)
    db.commit()
    return _invitation_page(
        user_id=user_id, display_name=detail.user.display_name, token=token, new_user=False
    )


@bp.post("/users/<int:user_id>/second-factors/reset")
def reset_second_factors(user_id: int) -> Response:
    db = get_session()
    twofactor.reset_second_factors(session=db, actor=_actor(), user_id=user_id)
    db.commit()
    flash(
        _(
            "The second factor is reset and the person's devices are signed out. They set up "
            "a new one at their next sign-in."
        ),
        "success",
    )
    return _see_other("admin.user", user_id=user_id)


# Organisations --------------------------------------------------------------------------------


@bp.get("/organisations")
def organisations() -> str:
    rows = organisation_services.list_organisations(session=get_session())
    return render_template("admin/organisations.html", organisations=rows)


def _organisation_form(form: OrganisationForm) -> OrganisationForm:
    form.district_ids.choices = [
        SelectChoice(value=str(d.id), label=d.name)
        for d in admin_services.list_districts(session=get_session())
    ]
    return form


@bp.route("/organisations/new", methods=["GET", "POST"])
def new_organisation() -> Page:
    form = _organisation_form(OrganisationForm())
    if form.validate_on_submit():
        db = get_session()
        try:
            organisation_services.create_organisation(
                session=db,
                actor=_actor(),
                name=form.name.data or "",
                type=OrganisationType(form.type.data),
                district_ids=form.district_ids.data or [],
            )
        except InvalidInput as error:
            apply_errors(form, error.errors)
        else:
            db.commit()
            flash(_("The organisation is created."), "success")
            return _see_other("admin.organisations")
    status = 422 if request.method == "POST" else 200
    return render_template("admin/organisation_form.html", form=form, organisation=None), status


@bp.route("/organisations/<int:organisation_id>/edit", methods=["GET", "POST"])
def edit_organisation(organisation_id: int) -> Page:
    db = get_session()
    current = organisation_services.get_organisation(session=db, organisation_id=organisation_id)
    if request.method == "GET":
        form = _organisation_form(
            OrganisationForm(
                data={
                    "name": current.organisation.name,
                    "type": current.organisation.type,
                    "district_ids": current.district_ids,
                }
            )
        )
    else:
        form = _organisation_form(OrganisationForm())
    if form.validate_on_submit():
        try:
            organisation_services.update_organisation(
                session=db,
                actor=_actor(),
                organisation_id=organisation_id,
                name=form.name.data or "",
                type=OrganisationType(form.type.data),
                district_ids=form.district_ids.data or [],
            )
        except InvalidInput as error:
            apply_errors(form, error.errors)
        else:
            db.commit()
            flash(_("The organisation is saved."), "success")
            return _see_other("admin.organisations")
    status = 422 if request.method == "POST" else 200
    return _organisation_page(current.organisation, form=form, status=status)


def _organisation_page(
    organisation: Organisation,
    *,
    form: OrganisationForm | None = None,
    retention_form: RetentionForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    assert organisation.id is not None
    if form is None:
        form = _organisation_form(OrganisationForm(formdata=None, obj=organisation))
        form.district_ids.data = organisation_services.get_organisation(
            session=get_session(), organisation_id=organisation.id
        ).district_ids
    if retention_form is None:
        policy = retention_services.policy_for(
            session=get_session(), organisation_id=organisation.id
        )
        retention_form = RetentionForm(formdata=None, obj=policy)
    return render_template(
        "admin/organisation_form.html",
        form=form,
        organisation=organisation,
        retention_form=retention_form,
    ), status


@bp.post("/organisations/<int:organisation_id>/retention")
def organisation_retention(organisation_id: int) -> Page:
    """Save how long the organisation keeps notes, contacts, conflicts and walk reports' text."""
    db = get_session()
    current = organisation_services.get_organisation(session=db, organisation_id=organisation_id)
    form = RetentionForm()
    if not form.validate_on_submit():
        return _organisation_page(current.organisation, retention_form=form, status=422)
    retention_services.set_policy(
        session=db,
        actor=_actor(),
        organisation_id=organisation_id,
        contact_note_months=form.contact_note_months.data or 0,
        contact_months=form.contact_months.data or 0,
        conflict_months=form.conflict_months.data or 0,
        walk_report_text_months=form.walk_report_text_months.data or 0,
    )
    db.commit()
    flash(_("The retention periods are saved."), "success")
    return _see_other("admin.edit_organisation", organisation_id=organisation_id)


# Districts, areas and places ------------------------------------------------------------------


def _places_page(*, area_forms: dict[int, AreaForm] | None = None) -> str:
    overview = admin_services.places_overview(session=get_session(), actor=_actor())
    forms = area_forms or {}
    for group in overview:
        district_id = group.district.id or 0
        # A prefix per district keeps the many small forms' element ids apart.
        forms.setdefault(district_id, AreaForm(prefix=f"district-{district_id}", formdata=None))
    return render_template(
        "admin/places.html",
        overview=overview,
        area_forms=forms,
        expected_districts=len(place_services.STOCKHOLM_DISTRICTS),
    )


@bp.get("/places")
def places() -> str:
    return _places_page()


@bp.post("/districts")
def create_districts() -> Response:
    db = get_session()
    place_services.ensure_stockholm_districts(session=db)
    db.commit()
    flash(_("Stockholm's districts are in place."), "success")
    return _see_other("admin.places")


@bp.post("/districts/<int:district_id>/areas")
def new_area(district_id: int) -> Page:
    form = AreaForm(prefix=f"district-{district_id}")
    if form.validate_on_submit():
        db = get_session()
        try:
            place_services.create_area(
                session=db, actor=_actor(), district_id=district_id, name=form.name.data or ""
            )
        except InvalidInput as error:
            apply_errors(form, error.errors)
        else:
            db.commit()
            flash(_("The area is added."), "success")
            return _see_other("admin.places", _anchor=f"district-{district_id}")
    return _places_page(area_forms={district_id: form}), 422


def _place_form(form: PlaceForm) -> PlaceForm:
    # One <optgroup> per district.
    form.area_id.choices = [
        SelectChoice(value=str(group.area.id), label=group.area.name, optgroup=group.district.name)
        for group in place_services.areas_with_places(session=get_session())
    ]
    return form


def _save_place(form: PlaceForm, place_id: int | None) -> Response | None:
    """Save the place from a validated form; None when the service refused it (errors are set)."""
    db = get_session()
    try:
        # Through `validated`: a coordinate out of range is the field's error, not a 500.
        data = validated(
            place_services.PlaceInput,
            {
                "area_id": form.area_id.data,
                "name": form.name.data or "",
                "type": PlaceType(form.type.data),
                "meeting_point": bool(form.meeting_point.data),
                "active": bool(form.active.data),
                "latitude": coordinate(form.latitude.data),
                "longitude": coordinate(form.longitude.data),
            },
        )
        place_services.save_place(session=db, actor=_actor(), data=data, place_id=place_id)
    except InvalidInput as error:
        apply_errors(form, error.errors)
        return None
    db.commit()
    flash(_("The place is saved."), "success")
    return _see_other("admin.places", _anchor=f"area-{data.area_id}")


@bp.route("/places/new", methods=["GET", "POST"])
def new_place() -> Page:
    form = _place_form(PlaceForm())
    if request.method == "GET" and request.args.get("area", "").isdigit():
        form.area_id.data = int(request.args["area"])
    if form.validate_on_submit():
        saved = _save_place(form, None)
        if saved is not None:
            return saved
    status = 422 if request.method == "POST" else 200
    return render_template("admin/place_form.html", form=form, place=None), status


@bp.route("/places/<int:place_id>/edit", methods=["GET", "POST"])
def edit_place(place_id: int) -> Page:
    place = admin_services.get_place(session=get_session(), actor=_actor(), place_id=place_id)
    form = _place_form(PlaceForm(obj=place) if request.method == "GET" else PlaceForm())
    if form.validate_on_submit():
        saved = _save_place(form, place_id)
        if saved is not None:
            return saved
    status = 422 if request.method == "POST" else 200
    return render_template("admin/place_form.html", form=form, place=place), status
