"""The partner's observation form, the interrupter's place signal, and the cycle's forms."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlmodel import Session
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FileField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from interrupters.auth.principal import Principal
from interrupters.forms import blank, options
from interrupters.picture import services
from interrupters.picture.services import (
    ActionInput,
    CloseInput,
    FollowUpInput,
    ObservationInput,
    SignalInput,
)
from interrupters.picture.values import (
    ActionKind,
    ActionStatus,
    ObservationKind,
    ObservationSource,
    Severity,
)
from interrupters.records import validated
from interrupters.valuelists import LABELS, choices

STOCKHOLM = ZoneInfo("Europe/Stockholm")
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
NO_PERSONS = _l("About the place only: never a name, a description of a person or a crime.")


class ObservationForm(FlaskForm):
    client_uuid = HiddenField(validators=[Optional(), Regexp(UUID_PATTERN)])
    held_id = HiddenField(validators=[Optional(), Regexp(r"^\d{1,9}$")])
    place_id = SelectField(_l("Place"), validators=[DataRequired()])
    observed_at = DateTimeLocalField(
        _l("When"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    kind = RadioField(_l("What"), choices=choices(ObservationKind), validators=[DataRequired()])
    severity = RadioField(
        _l("How serious"),
        choices=choices(Severity),
        default=Severity.noted.value,
        validators=[DataRequired()],
    )
    source = RadioField(_l("Seen by"), validators=[DataRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=140)], description=NO_PERSONS)


class SignalForm(FlaskForm):
    client_uuid = HiddenField(validators=[Optional(), Regexp(UUID_PATTERN)])
    held_id = HiddenField(validators=[Optional(), Regexp(r"^\d{1,9}$")])
    place_id = SelectField(_l("Place"), validators=[DataRequired()])
    kind = RadioField(
        _l("What is going on"),
        choices=[c for c in choices(ObservationKind) if c.value in services.SIGNAL_KINDS],
        default=ObservationKind.tension_between_groups.value,
        validators=[DataRequired()],
    )
    severity = RadioField(
        _l("How serious"),
        choices=choices(Severity),
        default=Severity.concerning.value,
        validators=[DataRequired()],
    )
    observed_at = DateTimeLocalField(
        _l("When"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )


class ActionForm(FlaskForm):
    place_id = SelectField(_l("Place"), validators=[DataRequired()])
    what = SelectField(_l("Action"), choices=choices(ActionKind))
    owner_organisation_id = SelectField(_l("Who does it"), validators=[DataRequired()])
    due_on = DateField(_l("Due"), validators=[DataRequired()])


class FollowUpForm(FlaskForm):
    status = RadioField(
        _l("How did it go"), choices=choices(ActionStatus), validators=[DataRequired()]
    )
    result_note = StringField(
        _l("What came of it"), validators=[Optional(), Length(max=140)], description=NO_PERSONS
    )


class CloseForm(FlaskForm):
    summary = TextAreaField(
        _l("Summary of the period"),
        validators=[Optional(), Length(max=1000)],
        description=NO_PERSONS,
    )
    confirm = BooleanField(
        _l("Close the period: the picture is kept as it stands now"),
        validators=[DataRequired()],
    )


class SettingsForm(FlaskForm):
    period_weeks = RadioField(
        _l("A period lasts"),
        choices=[SelectChoice("1", _l("One week")), SelectChoice("2", _l("Two weeks"))],
        validators=[DataRequired()],
    )


class SharingForm(FlaskForm):
    share_signals = BooleanField(
        _l("Share our place signals with the partners, as counts per place and period")
    )


class OutlineForm(FlaskForm):
    district_id = SelectField(_l("District"), validators=[Optional()])
    geojson = FileField(_l("GeoJSON file"))
    text = TextAreaField(_l("Or paste the GeoJSON"), validators=[Optional()])


class ExportForm(FlaskForm):
    class Meta:
        csrf = False

    month = StringField(_l("Month"), validators=[DataRequired(), Regexp(r"^\d{4}-\d{2}$")])


def place_choices(*, session: Session, organisation_id: int) -> list[SelectChoice]:
    """Places grouped by area ("Area · District" is what the outbox's pending list shows)."""
    grouped: list[SelectChoice] = []
    for place, area in services.observable_places(session=session, organisation_id=organisation_id):
        grouped += options([(place.id, place.name)], optgroup=area.name)
    return blank(grouped)


def prepare_observation_form(
    form: ObservationForm, *, session: Session, actor: Principal
) -> ObservationForm:
    organisation = services.observer_organisation(session=session, actor=actor)
    assert organisation.id is not None
    form.place_id.choices = place_choices(session=session, organisation_id=organisation.id)
    sources = services.sources_for(organisation)
    labels = LABELS[ObservationSource]
    form.source.choices = [SelectChoice(s.value, labels[s.value]) for s in sources]
    if not form.source.data:
        form.source.data = sources[0].value
    return form


def prepare_signal_form(form: SignalForm, *, session: Session, actor: Principal) -> SignalForm:
    organisation_id = services.signaller_organisation(session=session, actor=actor)
    form.place_id.choices = place_choices(session=session, organisation_id=organisation_id)
    return form


def local(moment: datetime) -> datetime:
    return moment.replace(tzinfo=STOCKHOLM)


def observation_input(form: ObservationForm) -> ObservationInput:
    return validated(
        ObservationInput,
        {
            "place_id": form.place_id.data,
            "observed_at": local(form.observed_at.data),
            "source": form.source.data,
            "kind": form.kind.data,
            "severity": form.severity.data,
            "note": form.note.data or "",
        },
    )


def signal_input(form: SignalForm) -> SignalInput:
    return validated(
        SignalInput,
        {
            "place_id": form.place_id.data,
            "observed_at": local(form.observed_at.data),
            "kind": form.kind.data,
            "severity": form.severity.data,
        },
    )


def action_input(form: ActionForm) -> ActionInput:
    return validated(
        ActionInput,
        {
            "place_id": form.place_id.data,
            "what": form.what.data,
            "owner_organisation_id": form.owner_organisation_id.data,
            "due_on": form.due_on.data,
        },
    )


def prepare_action_form(
    form: ActionForm, *, places: list[Any], organisations: list[Any]
) -> ActionForm:
    form.place_id.choices = blank(options((p.id, p.name) for p in places))
    form.owner_organisation_id.choices = blank(options((o.id, o.name) for o in organisations))
    return form


def close_input(
    data: MultiDict[str, str], *, place_ids: list[int], follow_up_ids: list[int]
) -> CloseInput:
    """The close form's repeated rows: a status a place (blank: not of concern), new actions,
    and a follow-up for each open action of earlier periods."""
    concerns = []
    for place_id in place_ids:
        status = data.get(f"status-{place_id}", "")
        if status:
            concerns.append(
                {"place_id": place_id, "status": status, "note": data.get(f"note-{place_id}", "")}
            )
    actions = []
    for index in range(services.ROWS_NEW_ACTIONS):
        row = {
            key: data.get(f"action-{index}-{key}", "").strip()
            for key in ("place_id", "what", "owner_organisation_id", "due_on")
        }
        if not any(row.values()):
            continue
        if not all(row.values()):
            raise services.InvalidInput(
                {"actions": _l("Give every new action a place, what, who and a due date.")}
            )
        actions.append(row)
    follow_ups = []
    for action_id in follow_up_ids:
        status = data.get(f"followup-{action_id}", "")
        if status and status != ActionStatus.planned.value:
            follow_ups.append(
                {
                    "action_id": action_id,
                    "status": status,
                    "result_note": data.get(f"result-{action_id}", ""),
                }
            )
    return validated(
        CloseInput,
        {
            "summary": data.get("summary", ""),
            "concerns": concerns,
            "actions": actions,
            "follow_ups": follow_ups,
        },
    )


def follow_up_input(form: FollowUpForm, action_id: int) -> FollowUpInput:
    return validated(
        FollowUpInput,
        {
            "action_id": action_id,
            "status": form.status.data,
            "result_note": form.result_note.data or "",
        },
    )


def form_errors(form: FlaskForm) -> dict[str, str]:
    return {name: " ".join(str(m) for m in messages) for name, messages in form.errors.items()}


def show_errors(form: FlaskForm, errors: dict[str, Any]) -> list[str]:
    """A service's reasons on the form's fields; the rest for the page."""
    others = []
    for name, message in errors.items():
        field = getattr(form, name, None)
        if field is None or field.type in ("HiddenField", "CSRFTokenField"):
            others.append(str(message))
        else:
            field.errors = [*list(field.errors or []), message]
    return others


def now_local() -> datetime:
    return datetime.now(STOCKHOLM).replace(second=0, microsecond=0, tzinfo=None)
