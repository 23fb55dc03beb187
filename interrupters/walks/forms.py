"""Forms for scheduling walks, groups, the walk report and the season figures.

The phone's outbox sends the walk report form's own fields; interrupters/walks/records.py reads
them with the same form, so online and offline reports pass the same rules.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlmodel import Session
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from interrupters.auth.principal import Principal
from interrupters.forms import MultiCheckboxField, blank, options
from interrupters.places.models import District, Place
from interrupters.records import validated
from interrupters.valuelists import choices
from interrupters.walks import services
from interrupters.walks.services import STOCKHOLM
from interrupters.walks.values import (
    AgeImpression,
    Atmosphere,
    EnvironmentFault,
    Observation,
    WalkAction,
    YouthsMet,
)

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
WEEKDAYS = [
    (0, _l("Monday")),
    (1, _l("Tuesday")),
    (2, _l("Wednesday")),
    (3, _l("Thursday")),
    (4, _l("Friday")),
    (5, _l("Saturday")),
    (6, _l("Sunday")),
]


class ScheduleForm(FlaskForm):
    district_id = SelectField(_l("District"), validators=[DataRequired()])
    meeting_place_id = SelectField(_l("Meeting place"), validators=[Optional()])
    first_date = DateField(_l("Date (the first walk)"), validators=[DataRequired()])
    start_time = TimeField(_l("Starts"), default=time(20, 0), validators=[DataRequired()])
    end_time = TimeField(
        _l("Ends"),
        default=time(1, 0),
        validators=[DataRequired()],
        description=_l("An end before the start is the next morning."),
    )
    weekdays = MultiCheckboxField(
        _l("Every week on"),
        choices=options(WEEKDAYS),
        description=_l("Leave empty for a single walk."),
    )
    weeks = IntegerField(
        _l("For how many weeks"),
        default=8,
        validators=[Optional(), NumberRange(min=1, max=services.MAX_WEEKS)],
    )
    leader_id = SelectField(_l("Walk leader"), validators=[Optional()])


class WalkReportForm(FlaskForm):
    client_uuid = HiddenField(validators=[Optional(), Regexp(UUID_PATTERN)])
    held_id = HiddenField(validators=[Optional(), Regexp(r"^\d{1,9}$")])
    walk_id = SelectField(_l("Which walk"), validators=[DataRequired()])
    places_visited = MultiCheckboxField(_l("Places visited"), coerce=int, validate_choice=False)
    youths_met = RadioField(
        _l("Young people met"), choices=choices(YouthsMet), validators=[DataRequired()]
    )
    age_impression = MultiCheckboxField(_l("Their ages, roughly"), choices=choices(AgeImpression))
    atmosphere = RadioField(
        _l("Atmosphere"), choices=choices(Atmosphere), validators=[DataRequired()]
    )
    observations = MultiCheckboxField(_l("What you saw"), choices=choices(Observation))
    actions = MultiCheckboxField(_l("What you did"), choices=choices(WalkAction))
    environment_faults = MultiCheckboxField(
        _l("Faults in the environment"), choices=choices(EnvironmentFault)
    )
    fault_place_id = SelectField(_l("Where the fault is"), validators=[Optional()])
    debrief_held = BooleanField(_l("We held a debrief after the walk"))
    walker_injured = BooleanField(_l("A walker was injured"))
    note = TextAreaField(
        _l("Note"),
        validators=[Optional(), Length(max=280)],
        description=_l(
            "Never describe an individual: no names, looks, clothes or addresses. "
            "At most 280 characters."
        ),
    )
    urgent = BooleanField(
        _l("Urgent: alert the programme's supervisor on call now"),
    )


class WalkerForm(FlaskForm):
    """The lead signs a member up for a walk, or takes a walker off."""

    user_id = SelectField(_l("Member"), coerce=int, validators=[DataRequired()])


def prepare_walker(form: WalkerForm, *, people: dict[int, str]) -> WalkerForm:
    """Offer these people (user id -> display name), by name."""
    form.user_id.choices = sorted(people.items(), key=lambda item: (item[1], item[0]))
    return form


class SeasonForm(FlaskForm):
    class Meta:
        csrf = False  # a GET download changes nothing

    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])


class FiguresForm(SeasonForm):
    pass


def local(moment: datetime) -> datetime:
    return moment.astimezone(STOCKHOLM)


def walk_label(walk: Any, districts: dict[int, str]) -> str:
    starts = local(walk.planned_start)
    return f"{starts:%Y-%m-%d %H:%M} · {districts.get(walk.district_id, '')}"


def prepare_schedule(form: ScheduleForm, *, session: Session, actor: Principal) -> ScheduleForm:
    organisation_id = services.led_association(actor)
    districts = services.association_districts(session=session, organisation_id=organisation_id)
    form.district_id.choices = options((d.id, d.name) for d in districts)
    places: list[Any] = []
    for district in districts:
        assert district.id is not None
        places += options(
            (
                (p.id, p.name)
                for p in services.district_places(session=session, district_id=district.id)
            ),
            optgroup=district.name,
        )
    form.meeting_place_id.choices = blank(places)
    form.leader_id.choices = blank(
        options(
            (u.id, u.display_name)
            for u in services.association_members(session=session, organisation_id=organisation_id)
        )
    )
    return form


def schedule_input(form: ScheduleForm) -> services.WalkInput:
    weekdays = [int(day) for day in form.weekdays.data or []]
    return validated(
        services.WalkInput,
        {
            "district_id": int(form.district_id.data),
            "meeting_place_id": int(form.meeting_place_id.data)
            if form.meeting_place_id.data
            else None,
            "first_date": form.first_date.data,
            "start_time": form.start_time.data,
            "end_time": form.end_time.data,
            "weekdays": weekdays,
            "weeks": (form.weeks.data or 1) if weekdays else 1,
            "leader_id": int(form.leader_id.data) if form.leader_id.data else None,
        },
    )


def prepare_report(
    form: WalkReportForm, *, session: Session, actor: Principal, now: datetime | None = None
) -> WalkReportForm:
    """The actor's recent walks, and the places of their districts."""
    walks = services.reportable_walks(session=session, actor=actor, now=now)
    district_ids = sorted({w.district_id for w in walks})
    names = {d.id: d.name for d in (session.get(District, i) for i in district_ids) if d and d.id}
    form.walk_id.choices = [
        choice
        for w in walks
        for choice in options([(w.id, walk_label(w, names))], optgroup=names.get(w.district_id, ""))
    ]
    places: list[Place] = []
    for district_id in district_ids:
        places += services.district_places(session=session, district_id=district_id)
    form.places_visited.choices = options((p.id, p.name) for p in places)
    form.fault_place_id.choices = blank(options((p.id, p.name) for p in places))
    return form


def report_input(form: WalkReportForm) -> services.WalkReportInput:
    return validated(
        services.WalkReportInput,
        {
            "walk_id": int(form.walk_id.data or 0),
            "places_visited": form.places_visited.data or [],
            "youths_met": form.youths_met.data,
            "age_impression": form.age_impression.data or [],
            "atmosphere": form.atmosphere.data,
            "observations": form.observations.data or [],
            "actions": form.actions.data or [],
            "environment_faults": form.environment_faults.data or [],
            "fault_place_id": int(form.fault_place_id.data) if form.fault_place_id.data else None,
            "debrief_held": bool(form.debrief_held.data),
            "walker_injured": bool(form.walker_injured.data),
            "note": form.note.data or "",
            "urgent": bool(form.urgent.data),
        },
    )


def date_range(form: SeasonForm, today: date) -> tuple[date, date]:
    """The form's dates, by default this year."""
    since = form.since.data or date(today.year, 1, 1)
    until = form.until.data or date(today.year, 12, 31)
    return since, until


def errors_of(form: FlaskForm) -> dict[str, Any]:
    """A validated form's errors, one message per field."""
    return {name: " ".join(str(m) for m in messages) for name, messages in form.errors.items()}
