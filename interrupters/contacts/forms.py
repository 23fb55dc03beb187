from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlmodel import Session, col, select
from wtforms import (
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from interrupters.auth.principal import Principal
from interrupters.contacts.models import Contact
from interrupters.contacts.services import ContactInput
from interrupters.contacts.values import ContactKind, ContactPurpose, ContactSubject, Referral
from interrupters.db import utcnow
from interrupters.errors import InvalidInput
from interrupters.forms import (
    MultiCheckboxField,
    blank,
    location_choices,
    options,
    parse_location,
)
from interrupters.participants.services import participant_choices
from interrupters.participants.values import AgeBand, Gender
from interrupters.valuelists import choices

STOCKHOLM = ZoneInfo("Europe/Stockholm")

# Participants a worker met lately are offered beside their own caseload (a colleague's, met
# again in the street); bounded so the form stays the size of one worker's work.
RECENTLY_MET = timedelta(days=60)
MAX_RECENTLY_MET = 100

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class ContactForm(FlaskForm):
    client_uuid = HiddenField(validators=[Optional(), Regexp(UUID_PATTERN)])
    # Set when the form corrects a record the server held (see records.models.HeldRecord).
    held_id = HiddenField(validators=[Optional(), Regexp(r"^\d{1,9}$")])
    occurred_at = DateTimeLocalField(
        _l("When"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    # "place:<id>" or "area:<id>" (somewhere else in the area), grouped by area.
    location = SelectField(_l("Where"), validators=[DataRequired()])
    subject = RadioField(
        _l("Who"),
        choices=choices(ContactSubject),
        default="participant",
        validators=[DataRequired()],
    )
    # Offers the worker's own participants; any active one of the programme is accepted (the
    # service checks it), so the form does not list the whole programme.
    participant_id = SelectField(
        _l("Participant"),
        validate_choice=False,
        validators=[Optional(), Regexp(r"^\d{1,9}$", message=_l("Choose the participant."))],
    )
    age_band = SelectField(_l("Age band"), choices=blank(choices(AgeBand)), validators=[Optional()])
    gender = SelectField(
        _l("Gender (optional)"), choices=blank(choices(Gender)), validators=[Optional()]
    )
    group_size = IntegerField(
        _l("How many in the group"), validators=[Optional(), NumberRange(min=2, max=500)]
    )
    kind = RadioField(
        _l("Kind of contact"),
        choices=choices(ContactKind),
        default="street",
        validators=[DataRequired()],
    )
    purpose = RadioField(
        _l("Purpose"),
        choices=choices(ContactPurpose),
        default="check_in",
        validators=[DataRequired()],
    )
    referrals = MultiCheckboxField(_l("Referrals"), choices=choices(Referral))
    duration_minutes = IntegerField(
        _l("Minutes"), validators=[Optional(), NumberRange(min=0, max=1440)]
    )
    follow_up_on = DateField(_l("Follow up on"), validators=[Optional()])
    note = TextAreaField(
        _l("Note"),
        validators=[Optional(), Length(max=280)],
        description=_l("Never write a name, an address or a crime. At most 280 characters."),
    )


class ReviewForm(FlaskForm):
    # Verbs on the buttons; the stored decision is shown with its label (Approved, Returned).
    decision = RadioField(
        _l("Decision"),
        choices=options([("approved", _l("Approve")), ("returned", _l("Return to the worker"))]),
        validators=[DataRequired()],
    )
    comment = TextAreaField(_l("Comment to the worker"), validators=[Optional(), Length(max=500)])


class BulkApproveForm(FlaskForm):
    contact_ids = MultiCheckboxField(_l("Contacts"), coerce=int, validate_choice=False)


class QueueFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    worker_id = SelectField(_l("Worker"), validators=[Optional()])
    area_id = SelectField(_l("Area"), validators=[Optional()])
    day_from = DateField(_l("From"), validators=[Optional()])
    day_to = DateField(_l("To"), validators=[Optional()])


def prepare_contact_form(
    form: ContactForm, *, session: Session, actor: Principal, include: Iterable[int | None] = ()
) -> ContactForm:
    """Fill the choices that come from the database: places by area; the actor's caseload, the
    participants they met in the last RECENTLY_MET, and `include`."""
    form.location.choices = location_choices(session=session)
    since = utcnow() - RECENTLY_MET
    met = session.exec(
        select(Contact.participant_id)
        .where(Contact.worker_id == actor.user_id, col(Contact.occurred_at) >= since)
        .where(col(Contact.participant_id).is_not(None))
        .distinct()
        .limit(MAX_RECENTLY_MET)
    ).all()
    offered = participant_choices(session=session, actor=actor, include=[*met, *include])
    form.participant_id.choices = blank(options((p.id, p.code) for p in offered))
    return form


def contact_input(fields: Mapping[str, Any], *, session: Session) -> ContactInput:
    """Turn a validated form's data (`form.data`, or `PreparedForm.valid_data`) into the
    service's input; the local time becomes aware."""
    area_id, place_id = parse_location(fields["location"] or "", session=session)
    errors: dict[str, Any] = {}
    subject = ContactSubject(fields["subject"])
    if subject == ContactSubject.participant and not fields["participant_id"]:
        errors["participant_id"] = _l("Choose the participant.")
    if subject == ContactSubject.person and not fields["age_band"]:
        errors["age_band"] = _l("Choose an age band.")
    if errors:
        raise InvalidInput(errors)
    occurred: datetime = fields["occurred_at"]
    return ContactInput.model_validate(
        {
            "subject": subject,
            "participant_id": fields["participant_id"] or None,
            "age_band": fields["age_band"] or None,
            "gender": fields["gender"] or None,
            "group_size": fields["group_size"],
            # The form's time is the worker's wall clock in Stockholm.
            "occurred_at": occurred.replace(tzinfo=STOCKHOLM),
            "area_id": area_id,
            "place_id": place_id,
            "kind": fields["kind"],
            "purpose": fields["purpose"],
            "referrals": fields["referrals"] or [],
            "duration_minutes": fields["duration_minutes"],
            "follow_up_on": fields["follow_up_on"],
            "note": fields["note"] or "",
        }
    )


def form_errors(form: ContactForm) -> dict[str, str]:
    """A validated form's errors, one message per field."""
    return {name: " ".join(str(m) for m in messages) for name, messages in form.errors.items()}
