"""The event-level files of a research project, each column defined once.

The files and the codebook are both made from COLUMNS and DATASETS below: a column that is not
defined here cannot be written, and every column written is described. What never leaves: free
text (notes, group labels, the timeline's words, consent scopes, service names), participant
and conflict codes, nicknames, database ids, and any date finer than an ISO week.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlmodel import Session, col, select

from interrupters.conflicts.models import Conflict, ConflictEvent, Mediation
from interrupters.conflicts.values import (
    Catalyst,
    ConflictType,
    MediationOutcome,
    Strategy,
    TimelineKind,
    Weapon,
)
from interrupters.contacts.models import Contact
from interrupters.contacts.values import (
    ContactKind,
    ContactPurpose,
    ContactSubject,
    ReviewState,
)
from interrupters.contacts.values import (
    Referral as ReferralNeed,
)
from interrupters.participants.models import Participant
from interrupters.participants.values import AgeBand, Gender
from interrupters.places.models import Area, District
from interrupters.referrals.models import Referral, Service
from interrupters.referrals.values import ReferralStatus, ServiceKind
from interrupters.research.anonymity import (
    SUPPRESSED,
    UNIT,
    Hierarchy,
    Level,
    Outcome,
    Row,
    anonymise,
)
from interrupters.research.models import EventFile, ResearchProject
from interrupters.research.sealing import Pseudonymiser
from interrupters.valuelists import label

STOCKHOLM = ZoneInfo("Europe/Stockholm")
LIST_SEPARATOR = "|"  # inside one cell; the CSV itself is separated by semicolons
ALL = "all"
ANY = "any"
UNKNOWN = "unknown"


def iso_week(moment: datetime | date | None) -> str:
    """The ISO week of a moment in Stockholm time, e.g. "2026-W14" (the finest date shown)."""
    if moment is None:
        return ""
    day = moment.astimezone(STOCKHOLM).date() if isinstance(moment, datetime) else moment
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


# Columns --------------------------------------------------------------------------------------


class Kind(StrEnum):
    """A column's type, as the codebook names it."""

    pseudonym = "pseudonym"
    iso_week = "iso_week"
    code = "code"
    code_list = "code_list"
    integer = "integer"
    flag = "flag"


KIND_TEXT: dict[Kind, LazyString] = {
    Kind.pseudonym: _l(
        "Pseudonym: 21 characters, a letter and 20 hexadecimal digits; the same person, worker "
        "or conflict has the same pseudonym in every file of this project and another one in "
        "every other project."
    ),
    Kind.iso_week: _l("ISO 8601 week in Stockholm time, YYYY-Www (e.g. 2026-W14)."),
    Kind.code: _l("Code (text) from the list of allowed values."),
    Kind.code_list: _l("Codes from the list of allowed values, separated by |; empty: none."),
    Kind.integer: _l("Whole number; empty: not recorded."),
    Kind.flag: _l("1 yes, 0 no."),
}


@dataclass(frozen=True)
class Column:
    name: str
    meaning: LazyString
    kind: Kind
    # The enumeration whose codes the column holds, or a text for other values.
    codes: type[StrEnum] | None = None
    values: LazyString | None = None
    # A quasi-identifier: generalised and suppressed for k-anonymity (see anonymity.py).
    quasi: bool = False
    treatment: LazyString | None = None


PSEUDONYM_TREATMENT = _l("Keyed hash (HMAC-SHA256) with this project's secret key.")
WEEK_TREATMENT = _l("Coarsened from the date and time to the week.")

COLUMNS: dict[str, Column] = {
    c.name: c
    for c in (
        Column(
            "participant",
            _l(
                "The participant, as a pseudonym; empty for a contact with a person or group "
                "who is not a participant."
            ),
            Kind.pseudonym,
            treatment=PSEUDONYM_TREATMENT,
        ),
        Column(
            "worker",
            _l("The programme's worker who recorded the event, as a pseudonym."),
            Kind.pseudonym,
            treatment=PSEUDONYM_TREATMENT,
        ),
        Column(
            "conflict",
            _l("The conflict, as a pseudonym (joins mediations and level changes)."),
            Kind.pseudonym,
            treatment=PSEUDONYM_TREATMENT,
        ),
        Column(
            "week", _l("The week the event took place."), Kind.iso_week, treatment=WEEK_TREATMENT
        ),
        Column(
            "area",
            _l(
                'Where: the area (neighbourhood), or its district, or "all" for the whole '
                "programme, as generalised for this file."
            ),
            Kind.code,
            quasi=True,
        ),
        Column(
            "age_band",
            _l("The participant's age band (for a community contact, the person's)."),
            Kind.code,
            quasi=True,
        ),
        Column(
            "gender",
            _l(
                "The participant's gender (for a community contact, the person's); \"unknown\" "
                "when not recorded."
            ),
            Kind.code,
            quasi=True,
        ),
        Column("subject", _l("Whom the contact was with."), Kind.code, ContactSubject),
        Column("kind", _l("The kind of contact."), Kind.code, ContactKind),
        Column("purpose", _l("The purpose of the contact."), Kind.code, ContactPurpose),
        Column(
            "referral_needs",
            _l("Needs the worker noted for a referral during the contact."),
            Kind.code_list,
            ReferralNeed,
        ),
        Column(
            "duration_minutes",
            _l("The contact's length in minutes."),
            Kind.integer,
            values=_l("1 to 600"),
        ),
        Column(
            "group_size",
            _l("The number of people in a group contact."),
            Kind.integer,
            values=_l("2 or more; empty for one person"),
        ),
        Column(
            "follow_up_set",
            _l("Whether a follow-up was planned."),
            Kind.flag,
            values=_l("1, 0"),
            treatment=_l("The follow-up date itself is not given."),
        ),
        Column(
            "review_state",
            _l("The supervisor's review of the contact."),
            Kind.code,
            ReviewState,
        ),
        Column("conflict_type", _l("Who the conflict is between."), Kind.code, ConflictType),
        Column("catalyst", _l("What set the conflict off."), Kind.code, Catalyst),
        Column(
            "weapon",
            _l("What was known of weapons in the conflict (not of a person)."),
            Kind.code,
            Weapon,
        ),
        Column("strategies", _l("The mediation's strategies."), Kind.code_list, Strategy),
        Column("outcome", _l("The mediation's outcome."), Kind.code, MediationOutcome),
        Column(
            "mediators",
            _l("The number of the programme's workers who mediated."),
            Kind.integer,
            values=_l("1 or more"),
        ),
        Column(
            "event",
            _l(
                '"detected": the conflict was flagged at its first level; "level_changed": '
                "its risk level changed."
            ),
            Kind.code,
            values=_l("detected, level_changed"),
        ),
        Column(
            "from_level",
            _l("The risk level before (empty when detected)."),
            Kind.integer,
            values=_l("1 tension, 2 threats, 3 high, 4 imminent"),
        ),
        Column(
            "to_level",
            _l("The risk level after."),
            Kind.integer,
            values=_l("1 tension, 2 threats, 3 high, 4 imminent"),
        ),
        Column(
            "direction",
            _l("Whether the level rose, fell or was set first."),
            Kind.code,
            values=_l("initial, escalation, de_escalation"),
        ),
        Column(
            "service_kind",
            _l("The kind of service referred to (never its name)."),
            Kind.code,
            ServiceKind,
        ),
        Column(
            "consent_given",
            _l("Whether the participant agreed to the referral."),
            Kind.flag,
            values=_l("1, 0"),
        ),
        Column("status", _l("How far the referral has got."), Kind.code, ReferralStatus),
        Column(
            "status_week",
            _l("The week the referral reached its status."),
            Kind.iso_week,
            treatment=WEEK_TREATMENT,
        ),
        Column(
            "closed_week",
            _l("The week the referral closed; empty while it is open."),
            Kind.iso_week,
            treatment=WEEK_TREATMENT,
        ),
    )
}


# Generalisation hierarchies ------------------------------------------------------------------

WIDE_AGE = {"<15": "<18", "15-17": "<18", "18-20": "18-24", "21-24": "18-24", "25+": "25+"}
AGE_LEVELS = {
    "band": _l("the recorded band (<15, 15-17, 18-20, 21-24, 25+)"),
    "wide": _l("wider bands (<18, 18-24, 25+)"),
    ANY: _l('one value, "any"'),
}
GENDER_LEVELS = {
    "recorded": _l("as recorded (female, male, other, unknown)"),
    ANY: _l('one value, "any"'),
}
AREA_LEVELS = {
    "area": _l("the area (neighbourhood)"),
    "district": _l("the district (stadsdelsområde)"),
    "programme": _l('one value for the whole programme, "all"'),
}


@dataclass(frozen=True)
class Places:
    """Area ids to their names and their districts' names."""

    areas: dict[int, str]
    districts: dict[int, str]

    @classmethod
    def load(cls, session: Session) -> Places:
        districts = {d.id: d.name for d in session.exec(select(District))}
        areas: dict[int, str] = {}
        area_districts: dict[int, str] = {}
        for area in session.exec(select(Area)):
            assert area.id is not None
            areas[area.id] = area.name
            area_districts[area.id] = districts.get(area.district_id, "")
        return cls(areas=areas, districts=area_districts)


def area_hierarchy(places: Places) -> Hierarchy:
    return Hierarchy(
        "area",
        (
            Level("area", lambda area_id: places.areas.get(area_id, UNKNOWN)),
            Level("district", lambda area_id: places.districts.get(area_id, UNKNOWN)),
            Level("programme", lambda _area_id: ALL),
        ),
        cost=3,
    )


PERSON_HIERARCHIES_REST = (
    Hierarchy(
        "age_band",
        (
            Level("band", lambda band: band or UNKNOWN),
            Level("wide", lambda band: WIDE_AGE.get(band or "", UNKNOWN)),
            Level(ANY, lambda _band: ANY),
        ),
        cost=2,
    ),
    Hierarchy(
        "gender",
        (
            Level("recorded", lambda gender: gender or UNKNOWN),
            Level(ANY, lambda _gender: ANY),
        ),
        cost=1,
    ),
)


# The files ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    name: str
    title: LazyString
    row: LazyString  # what one row is
    selection: LazyString  # which records are in it
    columns: tuple[str, ...]
    # "person": k-anonymity over participants (area, age band, gender); "conflict": over
    # conflicts (area).
    group: str


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            EventFile.contacts.value,
            _l("Contacts"),
            _l("One contact of the daily log."),
            _l(
                "Contacts of the project's period, except those returned to their author for "
                "correction."
            ),
            (
                "participant",
                "worker",
                "week",
                "area",
                "age_band",
                "gender",
                "subject",
                "kind",
                "purpose",
                "referral_needs",
                "duration_minutes",
                "group_size",
                "follow_up_set",
                "review_state",
            ),
            "person",
        ),
        Dataset(
            EventFile.mediations.value,
            _l("Mediations"),
            _l("One mediation of a conflict."),
            _l("Mediations of the project's period."),
            (
                "conflict",
                "week",
                "area",
                "conflict_type",
                "catalyst",
                "strategies",
                "outcome",
                "mediators",
                "follow_up_set",
            ),
            "conflict",
        ),
        Dataset(
            EventFile.level_changes.value,
            _l("Conflicts' level changes"),
            _l("A conflict's first risk level, or a change of it."),
            _l("Conflicts flagged and risk levels changed in the project's period."),
            (
                "conflict",
                "worker",
                "week",
                "area",
                "event",
                "from_level",
                "to_level",
                "direction",
                "conflict_type",
                "catalyst",
                "weapon",
            ),
            "conflict",
        ),
        Dataset(
            EventFile.referrals.value,
            _l("Referrals"),
            _l("One referral of a participant to a service."),
            _l("Referrals made in the project's period, with the status they have now."),
            (
                "participant",
                "worker",
                "week",
                "area",
                "age_band",
                "gender",
                "service_kind",
                "consent_given",
                "status",
                "status_week",
                "closed_week",
            ),
            "person",
        ),
    )
}
assert all(name in COLUMNS for d in DATASETS.values() for name in d.columns)


@dataclass(frozen=True)
class Period:
    """The project's period as UTC bounds: from its first day's start to its last day's end
    (or to now, for a period that has not ended)."""

    start: datetime
    end: datetime

    @classmethod
    def of(cls, project: ResearchProject, *, now: datetime) -> Period:
        start = datetime.combine(project.period_start, time.min, tzinfo=STOCKHOLM)
        end = datetime.combine(project.period_end + timedelta(days=1), time.min, tzinfo=STOCKHOLM)
        return cls(start=start, end=min(end, now))


def _codes(values: Iterable[str]) -> str:
    return LIST_SEPARATOR.join(sorted(set(values)))


def _flag(value: object) -> int:
    return 1 if value else 0


def _contact_rows(
    session: Session, project: ResearchProject, period: Period, pseudonym: Pseudonymiser
) -> list[Row]:
    participants = {
        p.id: p
        for p in session.exec(
            select(Participant).where(Participant.organisation_id == project.organisation_id)
        )
    }
    contacts = session.exec(
        select(Contact)
        .where(Contact.organisation_id == project.organisation_id)
        .where(col(Contact.occurred_at) >= period.start, col(Contact.occurred_at) < period.end)
        .where(Contact.review_state != ReviewState.returned.value)
        .order_by(col(Contact.occurred_at))
    ).all()
    rows = []
    for contact in contacts:
        participant = participants.get(contact.participant_id)
        rows.append(
            {
                UNIT: ("participant", participant.id) if participant else ("contact", contact.id),
                "participant": pseudonym("participant", participant.id if participant else None),
                "worker": pseudonym("worker", contact.worker_id),
                "week": iso_week(contact.occurred_at),
                "area": contact.area_id,
                "age_band": participant.age_band if participant else contact.age_band,
                "gender": participant.gender if participant else contact.gender,
                "subject": contact.subject,
                "kind": contact.kind,
                "purpose": contact.purpose,
                "referral_needs": _codes(contact.referrals),
                "duration_minutes": contact.duration_minutes,
                "group_size": contact.group_size,
                "follow_up_set": _flag(contact.follow_up_on),
                "review_state": contact.review_state,
            }
        )
    return rows


def _referral_rows(
    session: Session, project: ResearchProject, period: Period, pseudonym: Pseudonymiser
) -> list[Row]:
    kinds = {s.id: s.kind for s in session.exec(select(Service))}
    found = session.exec(
        select(Referral, Participant)
        .join(Participant, col(Participant.id) == Referral.participant_id)
        .where(Referral.organisation_id == project.organisation_id)
        .where(col(Referral.made_at) >= period.start, col(Referral.made_at) < period.end)
        .order_by(col(Referral.made_at))
    ).all()
    return [
        {
            UNIT: ("participant", participant.id),
            "participant": pseudonym("participant", participant.id),
            "worker": pseudonym("worker", referral.made_by_id),
            "week": iso_week(referral.made_at),
            "area": participant.area_id,
            "age_band": participant.age_band,
            "gender": participant.gender,
            "service_kind": kinds.get(referral.service_id, ServiceKind.other.value),
            "consent_given": _flag(referral.consent_given),
            "status": referral.status,
            "status_week": iso_week(referral.status_changed_at),
            "closed_week": iso_week(referral.closed_at),
        }
        for referral, participant in found
    ]


def _conflicts(session: Session, project: ResearchProject) -> dict[int | None, Conflict]:
    return {
        c.id: c
        for c in session.exec(
            select(Conflict).where(Conflict.organisation_id == project.organisation_id)
        )
    }


def _mediation_rows(
    session: Session, project: ResearchProject, period: Period, pseudonym: Pseudonymiser
) -> list[Row]:
    conflicts = _conflicts(session, project)
    mediations = session.exec(
        select(Mediation)
        .where(col(Mediation.conflict_id).in_([i for i in conflicts if i is not None]))
        .where(col(Mediation.occurred_at) >= period.start, col(Mediation.occurred_at) < period.end)
        .order_by(col(Mediation.occurred_at))
    ).all()
    rows = []
    for mediation in mediations:
        conflict = conflicts[mediation.conflict_id]
        rows.append(
            {
                UNIT: ("conflict", conflict.id),
                "conflict": pseudonym("conflict", conflict.id),
                "week": iso_week(mediation.occurred_at),
                "area": conflict.area_id,
                "conflict_type": conflict.type,
                "catalyst": conflict.catalyst,
                "strategies": _codes(mediation.strategies),
                "outcome": mediation.outcome,
                "mediators": len(set(mediation.mediator_ids)) or None,
                "follow_up_set": _flag(mediation.follow_up_on),
            }
        )
    return rows


def _direction(event: ConflictEvent) -> str:
    if event.from_level is None:
        return "initial"
    return "escalation" if (event.to_level or 0) > event.from_level else "de_escalation"


def _level_rows(
    session: Session, project: ResearchProject, period: Period, pseudonym: Pseudonymiser
) -> list[Row]:
    conflicts = _conflicts(session, project)
    events = session.exec(
        select(ConflictEvent)
        .where(col(ConflictEvent.conflict_id).in_([i for i in conflicts if i is not None]))
        .where(
            col(ConflictEvent.kind).in_(
                [TimelineKind.detected.value, TimelineKind.level_changed.value]
            )
        )
        .where(
            col(ConflictEvent.occurred_at) >= period.start,
            col(ConflictEvent.occurred_at) < period.end,
        )
        .order_by(col(ConflictEvent.occurred_at))
    ).all()
    rows = []
    for event in events:
        conflict = conflicts[event.conflict_id]
        rows.append(
            {
                UNIT: ("conflict", conflict.id),
                "conflict": pseudonym("conflict", conflict.id),
                "worker": pseudonym("worker", event.author_id),
                "week": iso_week(event.occurred_at),
                "area": conflict.area_id,
                "event": event.kind,
                "from_level": event.from_level if event.kind != "detected" else None,
                "to_level": event.to_level,
                "direction": _direction(event) if event.kind != "detected" else "initial",
                "conflict_type": conflict.type,
                "catalyst": conflict.catalyst,
                "weapon": conflict.weapon,
            }
        )
    return rows


BUILDERS: dict[str, Callable[[Session, ResearchProject, Period, Pseudonymiser], list[Row]]] = {
    EventFile.contacts.value: _contact_rows,
    EventFile.mediations.value: _mediation_rows,
    EventFile.level_changes.value: _level_rows,
    EventFile.referrals.value: _referral_rows,
}


@dataclass
class EventFiles:
    """A project's approved event-level files, anonymised together by group."""

    rows: dict[str, list[Row]]
    outcomes: dict[str, Outcome]  # file name -> the outcome of its group

    def table(self, name: str) -> tuple[tuple[str, ...], list[list[Any]]]:
        columns = DATASETS[name].columns
        return columns, [[row.get(c) for c in columns] for row in self.rows[name]]


def _sort_key(row: Row) -> tuple[str, ...]:
    # By week and then by value: the order of the database (and of suppression) is not kept.
    return tuple(
        "" if v is None else f"{v:>12}" if isinstance(v, int) else str(v) for v in row.values()
    )


def build_event_files(
    *, session: Session, project: ResearchProject, secret: bytes, now: datetime
) -> EventFiles:
    """Every approved event-level file of `project`, anonymised (k=5) per group."""
    period = Period.of(project, now=now)
    pseudonym = Pseudonymiser(secret)
    places = Places.load(session)
    approved = [name for name in DATASETS if name in project.approved_files]
    hierarchies = {
        "person": (area_hierarchy(places), *PERSON_HIERARCHIES_REST),
        "conflict": (area_hierarchy(places),),
    }
    rows: dict[str, list[Row]] = {}
    outcomes: dict[str, Outcome] = {}
    for group, group_hierarchies in hierarchies.items():
        names = [n for n in approved if DATASETS[n].group == group]
        if not names:
            continue
        raw = {name: BUILDERS[name](session, project, period, pseudonym) for name in names}
        outcome = anonymise(raw, group_hierarchies)
        for name in names:
            rows[name] = sorted(outcome.files[name], key=lambda r: (r["week"], *_sort_key(r)))
            outcomes[name] = outcome
    return EventFiles(rows=rows, outcomes=outcomes)


# The codebook ------------------------------------------------------------------------------


def allowed_values(
    column: Column, dataset: Dataset, outcome: Outcome | None, places: Places
) -> str:
    """The values a column may hold, with their labels where the app has them."""
    if column.codes is not None:
        return "; ".join(
            f"{member.value} ({label(member.value, column.codes.__name__)})"
            for member in column.codes
        )
    if column.kind == Kind.pseudonym:
        return f"^{column.name[0]}[0-9a-f]{{20}}$"
    if column.kind == Kind.iso_week:
        return "YYYY-Www"
    level = outcome.levels.get(column.name) if outcome else None
    if column.name == "area":
        if level == "programme":
            values = [ALL]
        elif level == "district":
            values = sorted(set(places.districts.values()))
        else:
            values = sorted(set(places.areas.values()))
        return "; ".join([*values, SUPPRESSED])
    if column.name == "age_band":
        bands = {"band": [b.value for b in AgeBand], "wide": ["<18", "18-24", "25+"]}
        return "; ".join([*bands.get(level or "band", [ANY]), UNKNOWN, SUPPRESSED])
    if column.name == "gender":
        genders = [g.value for g in Gender] + [UNKNOWN] if level != ANY else [ANY]
        return "; ".join([*genders, SUPPRESSED])
    return str(column.values or "")


def treatment(column: Column, dataset: Dataset, outcome: Outcome | None) -> str:
    """What was done to the column before it left: pseudonymised, coarsened, generalised."""
    if not column.quasi:
        return str(column.treatment or _l("None: given as recorded."))
    levels = {"area": AREA_LEVELS, "age_band": AGE_LEVELS, "gender": GENDER_LEVELS}[column.name]
    level = outcome.levels.get(column.name) if outcome else None
    steps = " → ".join(str(text) for text in levels.values())
    chosen = str(levels[level]) if level else ""
    return str(
        _l(
            "Quasi-identifier (k-anonymity, k=5). Generalisation steps: %(steps)s. In this "
            "file: %(chosen)s. Rows of people who would still be fewer than 5 in their "
            'combination show "suppressed".',
            steps=steps,
            chosen=chosen,
        )
    )
