"""The referral form, the status change form and the admin's service form."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlmodel import Session, col, select
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp

from interrupters.auth.principal import Principal
from interrupters.forms import MultiCheckboxField, blank, options
from interrupters.places.models import District
from interrupters.records import validated
from interrupters.referrals import services
from interrupters.referrals.services import ReferralInput, ReferralUpdateInput, ServiceInput
from interrupters.referrals.values import ConsentScope, ReferralStatus, ServiceKind
from interrupters.valuelists import choices, label

STOCKHOLM = ZoneInfo("Europe/Stockholm")
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# Where a referral may go next: every status but "made".
NEXT_STATUSES = [s for s in ReferralStatus if s != ReferralStatus.made]


class ReferralForm(FlaskForm):
    client_uuid = HiddenField(validators=[Optional(), Regexp(UUID_PATTERN)])
    # Set when the form corrects a record the server held (see records.models.HeldRecord).
    held_id = HiddenField(validators=[Optional(), Regexp(r"^\d{1,9}$")])
    # Offers the actor's own caseload (and the participant whose page it was opened from); the
    # service decides whom the actor may refer, so the form never lists the whole programme.
    participant_id = SelectField(
        _l("Participant"),
        validate_choice=False,
        validators=[
            DataRequired(),
            Regexp(r"^\d{1,9}$", message=_l("Choose a participant of your caseload.")),
        ],
    )
    service_id = SelectField(_l("Service"), validators=[DataRequired()])
    made_at = DateTimeLocalField(_l("When"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    consent_given = BooleanField(_l("The participant agrees to the referral"))
    consent_scope = RadioField(
        _l("What the participant agreed to"),
        choices=choices(ConsentScope),
        default=ConsentScope.worker_contacts_service.value,
        validators=[DataRequired()],
    )
    follow_up_on = DateField(_l("Follow up on"), validators=[Optional()])


class ReferralUpdateForm(FlaskForm):
    client_uuid = HiddenField(validators=[Optional(), Regexp(UUID_PATTERN)])
    held_id = HiddenField(validators=[Optional(), Regexp(r"^\d{1,9}$")])
    referral_id = HiddenField(validators=[DataRequired(), Regexp(r"^\d{1,9}$")])
    status = RadioField(
        _l("Where the referral got to"),
        choices=[c for c in choices(ReferralStatus) if c.value != "made"],
        validators=[DataRequired()],
    )
    occurred_at = DateTimeLocalField(
        _l("When"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    follow_up_on = DateField(_l("Next follow-up"), validators=[Optional()])


class ServiceForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    kind = SelectField(_l("Kind of service"), choices=choices(ServiceKind))
    district_ids = MultiCheckboxField(_l("Districts served (none: the whole city)"), coerce=int)
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    opening_hours = StringField(_l("Opening hours"), validators=[Optional(), Length(max=200)])
    visiting_address = StringField(
        _l("Visiting address"),
        validators=[Optional(), Length(max=200)],
        description=_l("An office's address, never a person's."),
    )
    active = BooleanField(_l("In the directory"), default=True)


def prepare_referral_form(
    form: ReferralForm, *, session: Session, actor: Principal, include: int | None = None
) -> ReferralForm:
    """Fill the choices from the database: the actor's participants, the directory."""
    offered = services.referral_participants(session=session, actor=actor, include=include)
    form.participant_id.choices = blank(options((p.id, p.code) for p in offered))
    form.service_id.choices = blank(
        options(
            (s.id, f"{s.name} · {label(s.kind, 'ServiceKind')}")
            for s in services.directory(session=session)
        )
    )
    return form


def prepare_service_form(form: ServiceForm, *, session: Session) -> ServiceForm:
    districts = session.exec(select(District).order_by(col(District.name))).all()
    form.district_ids.choices = options((d.id, d.name) for d in districts)
    return form


def referral_input(form: ReferralForm) -> ReferralInput:
    """A validated form as the service's input; the local time becomes aware."""
    made: datetime = form.made_at.data
    return _validated(
        ReferralInput,
        {
            "participant_id": form.participant_id.data,
            "service_id": form.service_id.data,
            "made_at": made.replace(tzinfo=STOCKHOLM),
            "consent_given": bool(form.consent_given.data),
            "consent_scope": form.consent_scope.data,
            "follow_up_on": form.follow_up_on.data,
        },
    )


def update_input(form: ReferralUpdateForm) -> ReferralUpdateInput:
    occurred: datetime = form.occurred_at.data
    return _validated(
        ReferralUpdateInput,
        {
            "status": form.status.data,
            "occurred_at": occurred.replace(tzinfo=STOCKHOLM),
            "follow_up_on": form.follow_up_on.data,
        },
    )


def service_input(form: ServiceForm) -> ServiceInput:
    return _validated(
        ServiceInput,
        {
            "name": form.name.data or "",
            "kind": form.kind.data,
            "district_ids": form.district_ids.data or [],
            "phone": form.phone.data or "",
            "opening_hours": form.opening_hours.data or "",
            "visiting_address": form.visiting_address.data or "",
            "active": bool(form.active.data),
        },
    )


def _validated(model: Any, data: dict[str, Any]) -> Any:
    return validated(model, data)


def form_errors(form: FlaskForm) -> dict[str, str]:
    """A validated form's errors, one message per field."""
    return {name: " ".join(str(m) for m in messages) for name, messages in form.errors.items()}


def show_errors(form: FlaskForm, errors: dict[str, Any]) -> None:
    """A service's reasons on the form's fields (the first field for one without its own)."""
    for name, message in errors.items():
        field = getattr(form, name, None)
        if field is None or field.type in ("HiddenField", "CSRFTokenField"):
            field = next(f for f in form if f.type not in ("HiddenField", "CSRFTokenField"))
        field.errors = [*list(field.errors or []), message]
