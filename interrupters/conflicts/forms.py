"""Forms for conflicts, their updates and mediations, incidents, community responses and duty.

The phone's outbox sends these forms' own fields; interrupters/conflicts/records.py reads them
with the same forms, so online and offline records pass the same rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlmodel import Session
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from interrupters.auth.principal import Principal
from interrupters.conflicts import services
from interrupters.conflicts.values import (
    Catalyst,
    CommunityResponseKind,
    ConflictStatus,
    ConflictType,
    DetectedVia,
    IncidentResponse,
    IncidentType,
    MediationOutcome,
    RiskLevel,
    Strategy,
    Weapon,
)
from interrupters.forms import (
    MultiCheckboxField,
    blank,
    location_choices,
    options,
    parse_location,
)
from interrupters.participants.services import organisation_workers
from interrupters.records import validated
from interrupters.valuelists import choices

STOCKHOLM = ZoneInfo("Europe/Stockholm")
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
NO_NAMES = _l("Never write a name, an address or a crime. At most 280 characters.")


class _RecordForm(FlaskForm):
    """A record that can be made offline: its UUID is made on the phone at submit."""

    client_uuid = HiddenField(validators=[Optional(), Regexp(UUID_PATTERN)])
    # Set when the form corrects a record the server held (see records.models.HeldRecord).
    held_id = HiddenField(validators=[Optional(), Regexp(r"^\d{1,9}$")])
    occurred_at = DateTimeLocalField(
        _l("When"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )

    def local_time(self) -> datetime:
        occurred: datetime = self.occurred_at.data
        return occurred.replace(tzinfo=STOCKHOLM)


class ConflictForm(_RecordForm):
    location = SelectField(_l("Where"), validators=[DataRequired()])
    risk_level = RadioField(
        _l("Risk level"), choices=choices(RiskLevel), validators=[DataRequired()]
    )
    type = RadioField(
        _l("Who against whom"),
        choices=choices(ConflictType),
        default="group_vs_group",
        validators=[DataRequired()],
    )
    parties_count = IntegerField(
        _l("Parties"), default=2, validators=[DataRequired(), NumberRange(min=2, max=50)]
    )
    supporters_count = IntegerField(
        _l("Supporters around them"), validators=[Optional(), NumberRange(min=0, max=1000)]
    )
    party_labels = StringField(
        _l("Group labels"),
        validators=[Optional(), Length(max=250)],
        description=_l(
            "How you tell the groups apart, separated by commas, e.g. “the older group from "
            "the square”. Never names."
        ),
    )
    detected_via = SelectField(
        _l("How it was detected"), choices=choices(DetectedVia), default="street"
    )
    catalyst = SelectField(_l("What set it off"), choices=choices(Catalyst))
    weapon = RadioField(_l("Weapons"), choices=choices(Weapon), default="none_known")
    youth_involved = BooleanField(_l("Young people are involved"))
    retaliation_related = BooleanField(_l("It is about retaliation"))
    note = TextAreaField(
        _l("What is going on"), validators=[Optional(), Length(max=280)], description=NO_NAMES
    )


class ConflictUpdateForm(_RecordForm):
    conflict_id = HiddenField(validators=[DataRequired(), Regexp(r"^\d{1,9}$")])
    kind = RadioField(
        _l("What it is"),
        choices=options([("info", _l("New information")), ("follow_up", _l("Follow-up"))]),
        default="info",
    )
    risk_level = RadioField(
        _l("Risk level now"), choices=choices(RiskLevel), validators=[Optional()]
    )
    status = SelectField(_l("Status"), choices=choices(ConflictStatus), validators=[Optional()])
    text = TextAreaField(
        _l("What is new, or why the level changed"),
        validators=[Optional(), Length(max=280)],
        description=NO_NAMES,
    )


class MediationForm(_RecordForm):
    conflict_id = HiddenField(validators=[DataRequired(), Regexp(r"^\d{1,9}$")])
    mediator_ids = MultiCheckboxField(_l("Mediators"), coerce=int, validate_choice=False)
    location = SelectField(_l("Where"), validators=[Optional()])
    strategies = MultiCheckboxField(_l("Strategies"), choices=choices(Strategy))
    outcome = RadioField(
        _l("Outcome"), choices=choices(MediationOutcome), validators=[DataRequired()]
    )
    follow_up_on = DateField(_l("Follow up on"), validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=280)], description=NO_NAMES)


class IncidentForm(_RecordForm):
    type = RadioField(
        _l("What happened"), choices=choices(IncidentType), validators=[DataRequired()]
    )
    location = SelectField(_l("Where"), validators=[DataRequired()])
    conflict_id = SelectField(_l("Part of a conflict"), validators=[Optional()])
    injured_count = IntegerField(
        _l("Injured"), default=0, validators=[Optional(), NumberRange(min=0, max=500)]
    )
    response = RadioField(_l("Response"), choices=choices(IncidentResponse), default="none")
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=280)], description=NO_NAMES)


class CommunityResponseForm(_RecordForm):
    kind = RadioField(
        _l("Response"), choices=choices(CommunityResponseKind), validators=[DataRequired()]
    )
    location = SelectField(_l("Where"), validators=[DataRequired()])
    incident_id = SelectField(_l("After an incident"), validators=[Optional()])
    participants_estimate = IntegerField(
        _l("About how many took part"), validators=[Optional(), NumberRange(min=0, max=100000)]
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=280)], description=NO_NAMES)


class LinkParticipantForm(FlaskForm):
    participant_code = StringField(
        _l("Participant code"), validators=[DataRequired(), Length(max=16)]
    )


class ConflictFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    area_id = SelectField(_l("Area"), validators=[Optional()])
    min_level = SelectField(_l("Lowest level"), validators=[Optional()])


# Choices from the database, and the forms' content for the services --------------------


def prepare(form: FlaskForm, *, session: Session, actor: Principal) -> FlaskForm:
    """Fill a form's database choices (places, workers, conflicts, incidents)."""
    if hasattr(form, "location"):
        form.location.choices = location_choices(session=session)
        if isinstance(form, MediationForm):
            form.location.choices = blank(form.location.choices)
    if isinstance(form, MediationForm):
        form.mediator_ids.choices = options(
            (u.id, u.display_name) for u in organisation_workers(session=session, actor=actor)
        )
    if isinstance(form, IncidentForm):
        form.conflict_id.choices = blank(
            options(
                (c.id, f"{c.code} · {c.risk_level}")
                for c in services.list_conflicts(session=session, actor=actor)
            )
        )
    if isinstance(form, CommunityResponseForm):
        form.incident_id.choices = blank(
            options(
                (i.id, f"{i.occurred_at:%Y-%m-%d} · {i.type}")
                for i in services.recent_incidents(session=session, actor=actor, size=50).items
            )
        )
    return form


def labels_of(text: str | None) -> list[str]:
    return [part for part in (text or "").split(",") if part.strip()]


def conflict_input(form: ConflictForm, *, session: Session) -> services.ConflictInput:
    area_id, place_id = parse_location(form.location.data or "", session=session)
    return validated(
        services.ConflictInput,
        {
            "area_id": area_id,
            "place_id": place_id,
            "detected_via": form.detected_via.data,
            "catalyst": form.catalyst.data,
            "type": form.type.data,
            "parties_count": form.parties_count.data,
            "supporters_count": form.supporters_count.data,
            "party_labels": labels_of(form.party_labels.data),
            "youth_involved": bool(form.youth_involved.data),
            "weapon": form.weapon.data,
            "retaliation_related": bool(form.retaliation_related.data),
            "risk_level": int(form.risk_level.data or 0),
            "occurred_at": form.local_time(),
            "note": form.note.data or "",
        },
    )


def update_input(form: ConflictUpdateForm) -> services.ConflictUpdateInput:
    return validated(
        services.ConflictUpdateInput,
        {
            "kind": form.kind.data or "info",
            "risk_level": int(form.risk_level.data) if form.risk_level.data else None,
            "status": form.status.data or None,
            "text": form.text.data or "",
            "occurred_at": form.local_time(),
        },
    )


def mediation_input(form: MediationForm, *, session: Session) -> services.MediationInput:
    place_id = None
    if form.location.data:
        _area_id, place_id = parse_location(form.location.data, session=session)
    return validated(
        services.MediationInput,
        {
            "mediator_ids": form.mediator_ids.data or [],
            "occurred_at": form.local_time(),
            "place_id": place_id,
            "strategies": form.strategies.data or [],
            "outcome": form.outcome.data,
            "follow_up_on": form.follow_up_on.data,
            "note": form.note.data or "",
        },
    )


def incident_input(form: IncidentForm, *, session: Session) -> services.IncidentInput:
    area_id, place_id = parse_location(form.location.data or "", session=session)
    return validated(
        services.IncidentInput,
        {
            "type": form.type.data,
            "area_id": area_id,
            "place_id": place_id,
            "conflict_id": int(form.conflict_id.data) if form.conflict_id.data else None,
            "occurred_at": form.local_time(),
            "injured_count": form.injured_count.data or 0,
            "response": form.response.data or "none",
            "note": form.note.data or "",
        },
    )


def community_response_input(
    form: CommunityResponseForm, *, session: Session
) -> services.CommunityResponseInput:
    area_id, _place_id = parse_location(form.location.data or "", session=session)
    return validated(
        services.CommunityResponseInput,
        {
            "kind": form.kind.data,
            "area_id": area_id,
            "incident_id": int(form.incident_id.data) if form.incident_id.data else None,
            "occurred_at": form.local_time(),
            "participants_estimate": form.participants_estimate.data,
            "note": form.note.data or "",
        },
    )


def errors_of(form: FlaskForm) -> dict[str, Any]:
    """A validated form's errors, one message per field."""
    return {name: " ".join(str(m) for m in messages) for name, messages in form.errors.items()}
