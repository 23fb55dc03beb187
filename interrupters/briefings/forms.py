"""The briefing form, with its repeated rows (places, events, on-call contacts), and the
small forms of scheduling, acknowledging and attendance."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp

from interrupters.briefings import services
from interrupters.briefings.models import Briefing
from interrupters.forms import MultiCheckboxField, options
from interrupters.places.models import District
from interrupters.places.values import PlaceStatus
from interrupters.records import validated
from interrupters.valuelists import LABELS

STOCKHOLM = ZoneInfo("Europe/Stockholm")
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
LOCAL = "%Y-%m-%dT%H:%M"
NO_ONE = _l("Places and events only: never a name, a code, an address of a person or a crime.")


def to_utc(local: datetime | None) -> datetime | None:
    """A local (Europe/Stockholm) time from a form, as an aware time."""
    return None if local is None else local.replace(tzinfo=STOCKHOLM)


def to_local(moment: datetime | None) -> datetime | None:
    """An aware time as a naive local time for a datetime-local input."""
    return None if moment is None else moment.astimezone(STOCKHOLM).replace(tzinfo=None)


class BriefingForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)])
    valid_from = DateTimeLocalField(_l("Valid from"), format=LOCAL, validators=[DataRequired()])
    valid_to = DateTimeLocalField(_l("Valid to"), format=LOCAL, validators=[DataRequired()])
    district_ids = MultiCheckboxField(_l("Districts"), coerce=int, validate_choice=False)
    summary = TextAreaField(
        _l("Summary"), validators=[Optional(), Length(max=2000)], description=NO_ONE
    )
    safety_reminders = TextAreaField(
        _l("Safety reminders"), validators=[Optional(), Length(max=1000)]
    )
    meeting_at = DateTimeLocalField(
        _l("Briefing meeting at"), format=LOCAL, validators=[Optional()]
    )
    meeting_place = StringField(_l("Meeting place"), validators=[Optional(), Length(max=120)])
    identifies_no_one = BooleanField(
        _l("I confirm that this briefing identifies no one, directly or indirectly.")
    )


class ScheduleForm(FlaskForm):
    publish_at = DateTimeLocalField(_l("Publish at"), format=LOCAL, validators=[DataRequired()])


class AcknowledgeForm(FlaskForm):
    """Also the outbox's "briefing_ack" and "briefing_read" records (briefings/records.py)."""

    client_uuid = HiddenField(validators=[Optional(), Regexp(UUID_PATTERN)])
    briefing_id = HiddenField(validators=[DataRequired(), Regexp(r"^\d{1,9}$")])
    # The phone's local time when it was made (filled at submit; offline it may be hours ago).
    at = HiddenField(validators=[Optional()])
    # The held read or acknowledgement this one corrects (records/services.py settles it).
    held_id = HiddenField(validators=[Optional(), Regexp(r"^\d{1,9}$")])

    def moment(self) -> datetime | None:
        try:
            return datetime.strptime(self.at.data or "", LOCAL).replace(tzinfo=STOCKHOLM)
        except ValueError:
            return None


class AttendanceForm(FlaskForm):
    organisation_id = HiddenField(validators=[DataRequired(), Regexp(r"^\d{1,9}$")])
    attended = MultiCheckboxField(_l("Attended"), coerce=int, validate_choice=False)


def district_choices(districts: list[District]) -> list[Any]:
    return options((d.id, d.name) for d in districts)


def status_choices() -> list[tuple[str, str]]:
    return [
        ("", _("No status")),
        *((s.value, str(LABELS[PlaceStatus][s.value])) for s in PlaceStatus),
    ]


# Rows ---------------------------------------------------------------------------------------


def default_on_call(organisation_name: str) -> list[dict[str, str]]:
    """A new draft's on-call contacts: services, never persons (DOMAIN.md)."""
    return [
        {"who": _("Field assistants on duty, %(name)s", name=organisation_name), "phone": ""},
        {"who": _("Social services emergency (youth)"), "phone": "08-508 400 00"},
        {"who": _("Emergency"), "phone": "112"},
        {"who": _("Police, non-emergency"), "phone": "114 14"},
    ]


def padded(rows: list[dict[str, str]], count: int, keys: tuple[str, ...]) -> list[dict[str, str]]:
    """Fixed rows for the form: the given ones, then blanks."""
    rows = [dict(r) for r in rows][:count]
    return rows + [dict.fromkeys(keys, "") for _i in range(count - len(rows))]


def rows_from(
    formdata: MultiDict[str, str], prefix: str, keys: tuple[str, ...], count: int
) -> list[dict[str, str]]:
    """Fixed rows posted as <prefix>-<i>-<key>; blank rows are left out."""
    rows = []
    for index in range(count):
        row = {key: (formdata.get(f"{prefix}-{index}-{key}") or "").strip() for key in keys}
        if any(row.values()):
            rows.append(row)
    return rows


def statuses_from(formdata: MultiDict[str, str], place_ids: list[int]) -> list[dict[str, Any]]:
    """One row a place: "status-<id>" and "note-<id>"; a place without a status is left out."""
    rows = []
    for place_id in place_ids:
        status = formdata.get(f"status-{place_id}") or ""
        if status:
            note = (formdata.get(f"note-{place_id}") or "").strip()
            rows.append({"place_id": place_id, "status": status, "note": note})
    return rows


def briefing_input(
    form: BriefingForm, formdata: MultiDict[str, str], *, place_ids: list[int]
) -> services.BriefingInput:
    return validated(
        services.BriefingInput,
        {
            "title": form.title.data or "",
            "valid_from": to_utc(form.valid_from.data),
            "valid_to": to_utc(form.valid_to.data),
            "district_ids": form.district_ids.data or [],
            "summary": form.summary.data or "",
            "place_statuses": statuses_from(formdata, place_ids),
            "expected_events": [
                e
                for e in rows_from(
                    formdata, "event", ("what", "where", "when"), services.ROWS_EVENTS
                )
                if e["what"] or e["where"]
            ],
            "on_call": [
                c
                for c in rows_from(formdata, "oncall", ("who", "phone"), services.ROWS_ON_CALL)
                if c["who"]
            ],
            "safety_reminders": form.safety_reminders.data or "",
            "meeting_at": to_utc(form.meeting_at.data),
            "meeting_place": form.meeting_place.data or "",
            "identifies_no_one": bool(form.identifies_no_one.data),
        },
    )


def fill(form: BriefingForm, briefing: Briefing, district_ids: list[int]) -> None:
    """Put a stored briefing into the form (GET of the edit page)."""
    form.title.data = briefing.title
    form.valid_from.data = to_local(briefing.valid_from)
    form.valid_to.data = to_local(briefing.valid_to)
    form.district_ids.data = district_ids
    form.summary.data = briefing.summary
    form.safety_reminders.data = briefing.safety_reminders
    form.meeting_at.data = to_local(briefing.meeting_at)
    form.meeting_place.data = briefing.meeting_place
    form.identifies_no_one.data = briefing.identifies_no_one


def errors_of(form: FlaskForm) -> dict[str, Any]:
    return {name: " ".join(str(m) for m in messages) for name, messages in form.errors.items()}
