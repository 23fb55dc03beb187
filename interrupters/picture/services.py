"""Place observations, the picture per district, and its cycle of periods and actions.

Who sees what (DESIGN.md, "Who may see what"): every partner organisation serving a district
sees its picture; a contribution shows its organisation, never its author. The programme's
place signals stay inside the programme unless its supervisor shares them, and then leave it
only as a count per place and period (counts under 5 suppressed), with no source and no time.
Walk reports are read where they are (walks.models), never copied.

Nothing here reads participants, contacts, conflicts or referrals (.importlinter).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from interrupters.audit.services import record_event
from interrupters.auth.models import Organisation, OrganisationDistrict
from interrupters.auth.organisations import served_districts
from interrupters.auth.principal import Principal
from interrupters.auth.values import OrganisationType, Role
from interrupters.db import utcnow
from interrupters.errors import InvalidInput, InvalidState, NotAllowed, NotVisible
from interrupters.identifying import identifying_problem
from interrupters.picture.models import (
    PeriodPlace,
    PictureAction,
    PictureDistrict,
    PicturePeriod,
    PlaceObservation,
    SignalSharing,
)
from interrupters.picture.values import (
    ActionKind,
    ActionStatus,
    ObservationKind,
    ObservationSource,
    PeriodState,
    Severity,
    Trend,
)
from interrupters.places.models import Area, District, Place
from interrupters.places.values import PlaceStatus
from interrupters.records import find_replay, payload_hash
from interrupters.reports.suppression import HIDDEN, Relation, small, suppress
from interrupters.walks.models import Walk, WalkReport

logger = logging.getLogger(__name__)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
URL_PREFIX = "/picture"

# Who reads the picture of the districts their organisations serve (DESIGN.md).
READERS = (
    Role.supervisor,
    Role.interrupter,
    Role.briefing_author,
    Role.association_lead,
    Role.night_walker,
)
# Partners' observations and the cycle: the briefing authors (police liaison, field
# assistants, guards, the safety coordinator), as the visibility table has it.
OBSERVERS = (Role.briefing_author,)
COORDINATORS = (Role.briefing_author,)
# The programme's explicit place signal: tension at a place, no persons. The interrupters'
# own (DESIGN.md's table); the supervisor reads them in the picture and decides on sharing.
SIGNALLERS = (Role.interrupter,)
# The lägesbild for the municipality: partners' aggregates, and the researchers'.
EXPORTERS = (Role.briefing_author, Role.researcher)

# What a partner may name as its source, by its organisation's type.
SOURCES_BY_TYPE: dict[str, tuple[ObservationSource, ...]] = {
    OrganisationType.municipal_unit.value: (
        ObservationSource.field_assistants,
        ObservationSource.guards,
        ObservationSource.residents_meeting,
        ObservationSource.other,
    ),
    OrganisationType.police_partner.value: (
        ObservationSource.police_liaison,
        ObservationSource.residents_meeting,
        ObservationSource.other,
    ),
    OrganisationType.other.value: (
        ObservationSource.guards,
        ObservationSource.residents_meeting,
        ObservationSource.other,
    ),
}
# A signal is a few taps about the place's mood: no fault reports, no free text.
SIGNAL_KINDS = (
    ObservationKind.tension_between_groups,
    ObservationKind.gathering,
    ObservationKind.threats,
    ObservationKind.weapon_seen,
    ObservationKind.fight,
    ObservationKind.calm_evening,
)
# What a walk report's value lists mean for the picture. Alcohol, cannabis smell, an injured
# person and a vulnerable youth are about the walkers' care for individuals, not the place:
# they stay in the walk report.
WALK_KINDS: dict[str, tuple[ObservationKind, int]] = {
    "large_gathering": (ObservationKind.gathering, 1),
    "fight": (ObservationKind.fight, 3),
    "threats": (ObservationKind.threats, 2),
    "weapon_seen": (ObservationKind.weapon_seen, 3),
    "vandalism": (ObservationKind.vandalism, 1),
    "fire": (ObservationKind.fire, 3),
}
BASELINE_WEEKS = 8
PERIOD_WEEKS = (1, 2)
DEFAULT_PERIOD_WEEKS = 2
# A phone's clock may be off; an observation "tomorrow" is refused, one from last month is
# an old phone's outbox and still counts where it belongs.
FUTURE_TOLERANCE = timedelta(minutes=10)
OLDEST = timedelta(days=60)
STATUS_RANK = {"calm": 0, "watch": 1, "tense": 2, "avoid": 3}
ROWS_NEW_ACTIONS = 3


def suppressed(count: int) -> str:
    """A count that stands alone where it leaves its organisation (a place's shared signals):
    1 to 4 shown as "<5", a true zero as 0, by the reports package's rule. Tables with totals
    go through `reports.suppression.suppress` as a whole (`_suppressed_cells`)."""
    return HIDDEN if small(count) else str(count)


def _no_identifier(errors: dict[str, Any], name: str, text: str) -> None:
    problem = identifying_problem(text)
    if problem is not None and name not in errors:
        errors[name] = problem


# Inputs --------------------------------------------------------------------------------------


class ObservationInput(BaseModel):
    """A partner's observation of a place: what, where, when, how serious; never who."""

    place_id: int
    observed_at: datetime
    source: ObservationSource
    kind: ObservationKind
    severity: Severity
    note: str = Field(default="", max_length=140)

    @field_validator("note")
    @classmethod
    def _strip(cls, text: str) -> str:
        return text.strip()

    def payload_hash(self) -> str:
        return payload_hash(self)


class SignalInput(BaseModel):
    """An interrupter's place signal: a place, a kind, how serious, when. No persons, no text."""

    place_id: int
    observed_at: datetime
    kind: ObservationKind
    severity: Severity

    def payload_hash(self) -> str:
        return payload_hash(self)


class ActionInput(BaseModel):
    place_id: int
    what: ActionKind
    owner_organisation_id: int
    due_on: date


class FollowUpInput(BaseModel):
    action_id: int
    status: ActionStatus
    result_note: str = Field(default="", max_length=140)

    @field_validator("result_note")
    @classmethod
    def _strip(cls, text: str) -> str:
        return text.strip()


class ConcernInput(BaseModel):
    place_id: int
    status: PlaceStatus
    note: str = Field(default="", max_length=140)

    @field_validator("note")
    @classmethod
    def _strip(cls, text: str) -> str:
        return text.strip()


class CloseInput(BaseModel):
    """What the coordinator decides when closing a period."""

    summary: str = Field(default="", max_length=1000)
    concerns: list[ConcernInput] = Field(default_factory=list)
    actions: list[ActionInput] = Field(default_factory=list)
    follow_ups: list[FollowUpInput] = Field(default_factory=list)

    @field_validator("summary")
    @classmethod
    def _strip(cls, text: str) -> str:
        return text.strip()


# Districts, organisations, who may do what -------------------------------------------------


def serving_organisations(*, session: Session, district_id: int) -> list[Organisation]:
    """The partner organisations of a district, by name."""
    return list(
        session.exec(
            select(Organisation)
            .join(
                OrganisationDistrict,
                col(OrganisationDistrict.organisation_id) == Organisation.id,
            )
            .where(OrganisationDistrict.district_id == district_id)
            .order_by(col(Organisation.name))
        )
    )


def _serves(session: Session, organisation_id: int, district_id: int) -> bool:
    return session.get(OrganisationDistrict, (organisation_id, district_id)) is not None


def reader_districts(*, session: Session, actor: Principal) -> list[District]:
    ids = served_districts(session=session, organisation_ids=actor.organisations(*READERS))
    if not ids:
        return []
    return list(
        session.exec(select(District).where(col(District.id).in_(ids)).order_by(District.name))
    )


def readable_district(*, session: Session, actor: Principal, district_id: int) -> District:
    """A district whose picture the actor reads (404 otherwise)."""
    district = session.get(District, district_id)
    organisations = actor.organisations(*READERS)
    if district is None or not any(_serves(session, o, district_id) for o in organisations):
        raise NotVisible()
    return district


def coordinator_organisation(*, session: Session, actor: Principal, district_id: int) -> int:
    """The actor's organisation that runs the cycle in this district (403 otherwise)."""
    for organisation_id in actor.organisations(*COORDINATORS):
        if _serves(session, organisation_id, district_id):
            return organisation_id
    raise NotAllowed()


def may_coordinate(*, session: Session, actor: Principal, district_id: int) -> bool:
    try:
        coordinator_organisation(session=session, actor=actor, district_id=district_id)
    except NotAllowed:
        return False
    return True


def programme_organisations(*, session: Session, organisation_ids: Collection[int]) -> set[int]:
    """Which of the organisations are violence interruption programmes."""
    if not organisation_ids:
        return set()
    found = session.exec(
        select(Organisation.id)
        .where(col(Organisation.id).in_(list(organisation_ids)))
        .where(Organisation.type == OrganisationType.cv_programme.value)
    )
    return {organisation_id for organisation_id in found if organisation_id is not None}


def district_places(*, session: Session, district_id: int, active_only: bool = True) -> list[Place]:
    query = (
        select(Place)
        .join(Area, col(Area.id) == Place.area_id)
        .where(Area.district_id == district_id)
        .order_by(col(Area.name), col(Place.name))
    )
    if active_only:
        query = query.where(col(Place.active).is_(True))
    return list(session.exec(query))


def _place_district(session: Session, place_id: int) -> tuple[Place, int] | None:
    row = session.exec(
        select(Place, Area.district_id)
        .join(Area, col(Area.id) == Place.area_id)
        .where(Place.id == place_id)
    ).first()
    if row is None:
        return None
    place, district_id = row
    return place, district_id


# Observations and signals ------------------------------------------------------------------


def observer_organisation(*, session: Session, actor: Principal) -> Organisation:
    """The partner organisation the actor files observations for (403 without one)."""
    for organisation_id in actor.organisations(*OBSERVERS):
        organisation = session.get(Organisation, organisation_id)
        if organisation is not None and organisation.type in SOURCES_BY_TYPE:
            return organisation
    raise NotAllowed()


def sources_for(organisation: Organisation) -> tuple[ObservationSource, ...]:
    return SOURCES_BY_TYPE.get(organisation.type, ())


def signaller_organisation(*, session: Session, actor: Principal) -> int:
    """The programme the actor signals for (403 without one)."""
    for organisation_id in actor.organisations(*SIGNALLERS):
        organisation = session.get(Organisation, organisation_id)
        if organisation is not None and organisation.type == OrganisationType.cv_programme.value:
            return organisation_id
    raise NotAllowed()


def observable_places(*, session: Session, organisation_id: int) -> list[tuple[Place, Area]]:
    """Active places of the organisation's districts, by area and name (the form's choices)."""
    districts = served_districts(session=session, organisation_ids=[organisation_id])
    if not districts:
        return []
    return list(
        session.exec(
            select(Place, Area)
            .join(Area, col(Area.id) == Place.area_id)
            .where(col(Area.district_id).in_(districts))
            .where(col(Place.active).is_(True))
            .order_by(col(Area.name), col(Place.name))
        ).all()
    )


def _check_place_and_time(
    session: Session,
    errors: dict[str, Any],
    *,
    organisation_id: int,
    place_id: int,
    observed_at: datetime,
    now: datetime,
) -> int | None:
    found = _place_district(session, place_id)
    district_id = None
    if found is None or not found[0].active or not _serves(session, organisation_id, found[1]):
        errors["place_id"] = _l("Choose a place in your districts.")
    else:
        district_id = found[1]
    if observed_at > now + FUTURE_TOLERANCE:
        errors["observed_at"] = _l("This time is in the future.")
    elif observed_at < now - OLDEST:
        errors["observed_at"] = _l("This is too long ago for the picture.")
    return district_id


def file_observation(
    *,
    session: Session,
    actor: Principal,
    data: ObservationInput,
    client_uuid: str,
    now: datetime | None = None,
) -> tuple[PlaceObservation, bool]:
    """Store a partner's observation once per UUID; return it and whether it was made now."""
    now = now or utcnow()
    organisation = observer_organisation(session=session, actor=actor)
    existing = find_replay(
        session=session,
        model=PlaceObservation,
        client_uuid=client_uuid,
        digest=data.payload_hash(),
        author=("author_id", actor.user_id),
    )
    if existing is not None:
        return existing, False
    errors: dict[str, Any] = {}
    assert organisation.id is not None
    district_id = _check_place_and_time(
        session,
        errors,
        organisation_id=organisation.id,
        place_id=data.place_id,
        observed_at=data.observed_at,
        now=now,
    )
    if data.source not in sources_for(organisation):
        errors["source"] = _l("Choose a source your organisation speaks for.")
    _no_identifier(errors, "note", data.note)
    if errors or district_id is None:
        raise InvalidInput(errors)
    observation = PlaceObservation(
        client_uuid=client_uuid,
        payload_hash=data.payload_hash(),
        organisation_id=organisation.id,
        author_id=actor.user_id,
        place_id=data.place_id,
        district_id=district_id,
        observed_at=data.observed_at,
        received_at=now,
        source=data.source.value,
        kind=data.kind.value,
        severity=int(data.severity.value),
        note=data.note,
    )
    session.add(observation)
    session.flush()
    logger.info("place observation %s filed", observation.id)
    return observation, True


def send_place_signal(
    *,
    session: Session,
    actor: Principal,
    data: SignalInput,
    client_uuid: str,
    now: datetime | None = None,
) -> tuple[PlaceObservation, bool]:
    """Store an interrupter's place signal once per UUID (the programme's own record)."""
    now = now or utcnow()
    organisation_id = signaller_organisation(session=session, actor=actor)
    existing = find_replay(
        session=session,
        model=PlaceObservation,
        client_uuid=client_uuid,
        digest=data.payload_hash(),
        author=("author_id", actor.user_id),
    )
    if existing is not None:
        return existing, False
    errors: dict[str, Any] = {}
    district_id = _check_place_and_time(
        session,
        errors,
        organisation_id=organisation_id,
        place_id=data.place_id,
        observed_at=data.observed_at,
        now=now,
    )
    if data.kind not in SIGNAL_KINDS:
        errors["kind"] = _l("Choose one of the signals.")
    if errors or district_id is None:
        raise InvalidInput(errors)
    signal = PlaceObservation(
        client_uuid=client_uuid,
        payload_hash=data.payload_hash(),
        organisation_id=organisation_id,
        author_id=actor.user_id,
        place_id=data.place_id,
        district_id=district_id,
        observed_at=data.observed_at,
        received_at=now,
        source=ObservationSource.interrupter_signal.value,
        kind=data.kind.value,
        severity=int(data.severity.value),
    )
    session.add(signal)
    session.flush()
    return signal, True


def own_signals(*, session: Session, actor: Principal, limit: int = 30) -> list[PlaceObservation]:
    """The actor's own recent place signals (the interrupter's "own signals")."""
    return list(
        session.exec(
            select(PlaceObservation)
            .where(PlaceObservation.author_id == actor.user_id)
            .where(PlaceObservation.source == ObservationSource.interrupter_signal.value)
            .order_by(col(PlaceObservation.observed_at).desc())
            .limit(limit)
        )
    )


def own_observations(
    *, session: Session, actor: Principal, limit: int = 30
) -> list[PlaceObservation]:
    """The actor's own recent observations (a partner's list after filing)."""
    return list(
        session.exec(
            select(PlaceObservation)
            .where(PlaceObservation.author_id == actor.user_id)
            .where(PlaceObservation.source != ObservationSource.interrupter_signal.value)
            .order_by(col(PlaceObservation.observed_at).desc())
            .limit(limit)
        )
    )


def shares_signals(*, session: Session, organisation_id: int) -> bool:
    row = session.get(SignalSharing, organisation_id)
    return bool(row and row.share_signals)


def set_signal_sharing(
    *, session: Session, actor: Principal, share: bool, now: datetime | None = None
) -> SignalSharing:
    """The programme's supervisor shares its place signals with the partners, or stops."""
    now = now or utcnow()
    organisation_id = next(
        (
            o
            for o in actor.organisations(Role.supervisor)
            if o in programme_organisations(session=session, organisation_ids=[o])
        ),
        None,
    )
    if organisation_id is None:
        raise NotAllowed()
    row = session.get(SignalSharing, organisation_id) or SignalSharing(
        organisation_id=organisation_id
    )
    row.share_signals = share
    row.changed_by_id = actor.user_id
    row.changed_at = now
    session.add(row)
    session.flush()
    record_event(
        session=session,
        event="picture_signal_sharing",
        actor_id=actor.user_id,
        object_type="organisation",
        object_id=organisation_id,
        organisation_id=organisation_id,
        detail={"share": share},
        now=now,
    )
    return row


# Reading observations: the partners', the walk reports', the programme's signals ----------


@dataclass(frozen=True)
class Seen:
    """One observation as the picture counts it (a walk report's are read, not stored)."""

    place_id: int
    at: datetime
    kind: str
    severity: int
    source: str
    organisation_id: int
    note: str = ""
    observation_id: int | None = None


def _stored(session: Session, district_id: int, since: datetime, until: datetime) -> list[Seen]:
    rows = session.exec(
        select(PlaceObservation)
        .where(PlaceObservation.district_id == district_id)
        .where(PlaceObservation.observed_at >= since)
        .where(PlaceObservation.observed_at < until)
    )
    return [
        Seen(
            place_id=o.place_id,
            at=o.observed_at,
            kind=o.kind,
            severity=o.severity,
            source=o.source,
            organisation_id=o.organisation_id,
            note=o.note,
            observation_id=o.id,
        )
        for o in rows
    ]


def _from_walk_reports(
    session: Session, district_id: int, since: datetime, until: datetime
) -> list[Seen]:
    """The walk reports' observations at the places they visited, on the walk's evening.

    Counts only: a walk report's note stays in the walk report.
    """
    rows = session.exec(
        select(Walk, WalkReport)
        .join(Walk, col(Walk.id) == WalkReport.walk_id)
        .where(Walk.district_id == district_id)
        .where(Walk.planned_start >= since)
        .where(Walk.planned_start < until)
    ).all()
    seen: list[Seen] = []
    for walk, report in rows:
        organisation_id, at = walk.organisation_id, walk.planned_start
        places, observations = report.places_visited, report.observations
        faults, fault_place = report.environment_faults, report.fault_place_id
        atmosphere = report.atmosphere
        kinds = [WALK_KINDS[o] for o in sorted(set(observations)) if o in WALK_KINDS]
        for place_id in places:
            for kind, severity in kinds:
                seen.append(
                    Seen(place_id, at, kind.value, severity, "walk_report", organisation_id)
                )
            if not observations and atmosphere == "calm":
                seen.append(Seen(place_id, at, "calm_evening", 1, "walk_report", organisation_id))
        if faults and fault_place is not None:
            seen.append(
                Seen(fault_place, at, "environment_fault", 1, "walk_report", organisation_id)
            )
    return seen


@dataclass(frozen=True)
class Viewer:
    """Whose eyes the picture is read with: the programme sees its own signals in full;
    every other partner sees them only as shared counts, if at all."""

    organisation_ids: frozenset[int]
    programme_ids: frozenset[int]

    @classmethod
    def of(cls, *, session: Session, actor: Principal) -> Viewer:
        organisations = frozenset(o for o, _role in actor.memberships)
        return cls(
            organisations,
            frozenset(programme_organisations(session=session, organisation_ids=organisations)),
        )

    @classmethod
    def partner(cls, organisation_id: int | None = None) -> Viewer:
        """Any partner outside the programme (the snapshot, the export)."""
        ids = frozenset({organisation_id}) if organisation_id is not None else frozenset()
        return cls(ids, frozenset())


def observations_between(
    *, session: Session, district_id: int, since: datetime, until: datetime, viewer: Viewer
) -> tuple[list[Seen], list[Seen]]:
    """What the viewer sees of a district's observations in [since, until), and the
    programme signals shared with them (to be counted per place and period, nothing more)."""
    shown: list[Seen] = []
    shared: list[Seen] = []
    stored = _stored(session, district_id, since, until)
    signalling = {s.organisation_id for s in stored if s.source == "interrupter_signal"}
    sharing = {o for o in signalling if shares_signals(session=session, organisation_id=o)}
    for seen in stored:
        if seen.source != "interrupter_signal" or seen.organisation_id in viewer.programme_ids:
            shown.append(seen)
        elif seen.organisation_id in sharing:
            shared.append(seen)
    shown += _from_walk_reports(session, district_id, since, until)
    return shown, shared


# The picture ------------------------------------------------------------------------------


def period_weeks(*, session: Session, district_id: int) -> int:
    row = session.get(PictureDistrict, district_id)
    return row.period_weeks if row else DEFAULT_PERIOD_WEEKS


def set_period_weeks(
    *, session: Session, actor: Principal, district_id: int, weeks: int
) -> PictureDistrict:
    """The district's cycle: a period every one or two weeks (the coordinator's setting)."""
    coordinator_organisation(session=session, actor=actor, district_id=district_id)
    if weeks not in PERIOD_WEEKS:
        raise InvalidInput({"period_weeks": _l("Choose one or two weeks.")})
    row = session.get(PictureDistrict, district_id) or PictureDistrict(district_id=district_id)
    row.period_weeks = weeks
    session.add(row)
    session.flush()
    return row


def _monday(moment: datetime) -> datetime:
    local = moment.astimezone(STOCKHOLM)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday, time(), tzinfo=STOCKHOLM).astimezone(ZoneInfo("UTC"))


def last_closed(*, session: Session, district_id: int) -> PicturePeriod | None:
    return session.exec(
        select(PicturePeriod)
        .where(PicturePeriod.district_id == district_id)
        .where(PicturePeriod.state == PeriodState.closed.value)
        .order_by(col(PicturePeriod.ends_at).desc())
    ).first()


def open_period(
    *, session: Session, district_id: int, now: datetime, create: bool = False
) -> PicturePeriod:
    """The district's open period. Until something is written to it, it is not stored (a
    page view changes nothing): it starts where the last closed one ended, or on this
    week's Monday (one-week cycle) or last week's (two weeks)."""
    existing = session.exec(
        select(PicturePeriod)
        .where(PicturePeriod.district_id == district_id)
        .where(PicturePeriod.state == PeriodState.open.value)
    ).first()
    if existing is not None:
        return existing
    previous = last_closed(session=session, district_id=district_id)
    weeks = period_weeks(session=session, district_id=district_id)
    starts = (
        previous.ends_at
        if previous is not None and previous.ends_at is not None
        else _monday(now) - timedelta(weeks=weeks - 1)
    )
    period = PicturePeriod(district_id=district_id, starts_at=starts, created_at=now)
    if not create:
        return period
    try:
        with session.begin_nested():
            session.add(period)
            session.flush()
    except IntegrityError:
        # Another request opened it at the same moment: use theirs.
        found = session.exec(
            select(PicturePeriod)
            .where(PicturePeriod.district_id == district_id)
            .where(PicturePeriod.starts_at == starts)
        ).first()
        assert found is not None
        return found
    return period


def due_at(period: PicturePeriod, weeks: int) -> datetime:
    """When the period is due to close (the coordinator may close it earlier or later)."""
    return _monday(period.starts_at) + timedelta(weeks=weeks)


@dataclass
class PlaceRow:
    """One place in the picture: this period against its own previous eight weeks."""

    place_id: int
    name: str
    area: str
    type: str
    latitude: float | None
    longitude: float | None
    status: str | None  # from the last briefing
    current: int = 0  # observations this period (calm evenings apart)
    baseline: int = 0  # the same in the eight weeks before the period
    expected: float = 0.0  # the baseline's rate over this period's length so far
    weighted: int = 0  # the current observations' severities summed
    calm: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    by_organisation: Counter[str] = field(default_factory=Counter)
    signals: int | None = None  # shared programme signals (a count, shown suppressed)
    items: list[Seen] = field(default_factory=list)
    open_actions: list[PictureAction] = field(default_factory=list)

    @property
    def trend(self) -> Trend:
        return trend_of(self.current, self.expected, self.baseline)

    @property
    def concern(self) -> float:
        """The sort order of the phone's list: what was seen, how it moves, the status."""
        rising = 3 if self.trend in (Trend.rising, Trend.new) else 0
        return (
            self.weighted
            + rising
            + 2 * STATUS_RANK.get(self.status or "", 0)
            + len(self.open_actions)
        )

    def as_snapshot(self) -> dict[str, Any]:
        return {
            "place_id": self.place_id,
            "name": self.name,
            "area": self.area,
            "type": self.type,
            "status": self.status,
            "current": self.current,
            "baseline": self.baseline,
            "expected": round(self.expected, 2),
            "trend": self.trend.value,
            "weighted": self.weighted,
            "calm": self.calm,
            "by_kind": dict(self.by_kind),
            "by_organisation": dict(self.by_organisation),
            "signals": self.signals,
        }


def trend_of(current: int, expected: float, baseline: int) -> Trend:
    """Rising at half as much again as usual (and at least two more), falling at half."""
    if current == 0 and baseline == 0:
        return Trend.quiet
    if baseline == 0:
        return Trend.new
    if current >= 1.5 * expected and current - expected >= 2:
        return Trend.rising
    if current <= 0.5 * expected and expected - current >= 2:
        return Trend.falling
    return Trend.steady


@dataclass
class Picture:
    district: District
    period: PicturePeriod
    until: datetime
    weeks: int
    rows: list[PlaceRow]
    follow_ups: list[PictureAction]  # open actions decided in earlier periods
    previous: PicturePeriod | None
    organisation_names: dict[int, str]
    signals_shared: bool

    @property
    def due(self) -> datetime:
        return due_at(self.period, self.weeks)

    def by_concern(self) -> list[PlaceRow]:
        return sorted(self.rows, key=lambda r: (-r.concern, r.name))


def build_picture(
    *,
    session: Session,
    district: District,
    viewer: Viewer,
    now: datetime,
    period: PicturePeriod | None = None,
) -> Picture:
    """Each place's observations of the period against its own previous eight weeks."""
    assert district.id is not None
    period = period or open_period(session=session, district_id=district.id, now=now)
    until = period.ends_at or now
    since = period.starts_at
    baseline_since = since - timedelta(weeks=BASELINE_WEEKS)
    places = district_places(session=session, district_id=district.id, active_only=False)
    areas = {
        a.id: a.name for a in session.exec(select(Area).where(Area.district_id == district.id))
    }
    organisations = {o.id: o.name for o in session.exec(select(Organisation)) if o.id is not None}
    rows = {
        p.id: PlaceRow(
            place_id=p.id,
            name=p.name,
            area=areas.get(p.area_id, ""),
            type=p.type,
            latitude=p.latitude,
            longitude=p.longitude,
            status=p.status,
        )
        for p in places
        if p.id is not None and p.active
    }
    seen, shared = observations_between(
        session=session, district_id=district.id, since=baseline_since, until=until, viewer=viewer
    )
    for item in seen:
        row = rows.get(item.place_id)
        if row is None:
            continue
        if item.at < since:
            if item.kind != ObservationKind.calm_evening.value:
                row.baseline += 1
            continue
        # A walk report reaches other organisations only as counts (DESIGN.md: briefing
        # authors see aggregate counts of walk reports); its association sees the items.
        if item.source != "walk_report" or item.organisation_id in viewer.organisation_ids:
            row.items.append(item)
        row.by_organisation[organisations.get(item.organisation_id, "")] += 1
        if item.kind == ObservationKind.calm_evening.value:
            row.calm += 1
            continue
        row.current += 1
        row.weighted += item.severity
        row.by_kind[item.kind] += 1
    # Shared signals: this period's count only (no earlier periods, so no trend, no time).
    current_shared = Counter(s.place_id for s in shared if s.at >= since)
    for place_id, count in current_shared.items():
        if place_id in rows:
            rows[place_id].signals = count
    elapsed = max((until - since).total_seconds(), 86400.0)
    baseline_span = timedelta(weeks=BASELINE_WEEKS).total_seconds()
    for row in rows.values():
        row.expected = row.baseline * elapsed / baseline_span
        row.items.sort(key=lambda s: s.at, reverse=True)
    actions = session.exec(
        select(PictureAction)
        .where(col(PictureAction.place_id).in_(list(rows)))
        .where(PictureAction.status == ActionStatus.planned.value)
        .order_by(col(PictureAction.due_on))
    ).all()
    follow_ups = []
    for action in actions:
        rows[action.place_id].open_actions.append(action)
        if action.period_id != period.id:
            follow_ups.append(action)
    weeks = period_weeks(session=session, district_id=district.id)
    return Picture(
        district=district,
        period=period,
        until=until,
        weeks=weeks,
        rows=list(rows.values()),
        follow_ups=follow_ups,
        previous=last_closed(session=session, district_id=district.id),
        organisation_names=organisations,
        signals_shared=bool(current_shared),
    )


def district_picture(
    *, session: Session, actor: Principal, district_id: int, now: datetime | None = None
) -> Picture:
    """The open period's picture of a district, as the actor may see it."""
    now = now or utcnow()
    district = readable_district(session=session, actor=actor, district_id=district_id)
    return build_picture(
        session=session, district=district, viewer=Viewer.of(session=session, actor=actor), now=now
    )


# The cycle --------------------------------------------------------------------------------


def _check_action(
    session: Session, errors: dict[str, Any], district_id: int, data: ActionInput, today: date
) -> None:
    places = {p.id for p in district_places(session=session, district_id=district_id)}
    if data.place_id not in places:
        errors["actions"] = _l("An action's place is not in this district.")
    elif not _serves(session, data.owner_organisation_id, district_id):
        errors["actions"] = _l("An action's owner must be a partner in this district.")
    elif data.due_on < today:
        errors["actions"] = _l("An action's due date has passed.")


def add_action(
    *,
    session: Session,
    actor: Principal,
    district_id: int,
    data: ActionInput,
    now: datetime | None = None,
) -> PictureAction:
    """An action for a place in the open period (decided between meetings)."""
    now = now or utcnow()
    coordinator_organisation(session=session, actor=actor, district_id=district_id)
    errors: dict[str, Any] = {}
    _check_action(session, errors, district_id, data, now.astimezone(STOCKHOLM).date())
    if errors:
        raise InvalidInput(errors)
    period = open_period(session=session, district_id=district_id, now=now, create=True)
    assert period.id is not None
    action = PictureAction(
        period_id=period.id,
        place_id=data.place_id,
        what=data.what.value,
        owner_organisation_id=data.owner_organisation_id,
        due_on=data.due_on,
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(action)
    session.flush()
    return action


def action_district(*, session: Session, action: PictureAction) -> int:
    period = session.get(PicturePeriod, action.period_id)
    assert period is not None
    return period.district_id


def get_action(*, session: Session, actor: Principal, action_id: int) -> PictureAction:
    action = session.get(PictureAction, action_id)
    if action is None:
        raise NotVisible()
    readable_district(
        session=session, actor=actor, district_id=action_district(session=session, action=action)
    )
    return action


def follow_up_action(
    *,
    session: Session,
    actor: Principal,
    data: FollowUpInput,
    now: datetime | None = None,
    settled_in: int | None = None,
) -> PictureAction:
    """Mark an action done or dropped (with what came of it), by the district's coordinator."""
    now = now or utcnow()
    action = get_action(session=session, actor=actor, action_id=data.action_id)
    coordinator_organisation(
        session=session, actor=actor, district_id=action_district(session=session, action=action)
    )
    errors: dict[str, Any] = {}
    _no_identifier(errors, "follow_ups", data.result_note)
    if errors:
        raise InvalidInput(errors)
    action.status = data.status.value
    action.result_note = data.result_note
    action.updated_at = now
    if data.status != ActionStatus.planned:
        action.settled_in_period_id = settled_in or action.settled_in_period_id
    session.add(action)
    session.flush()
    return action


def close_period(
    *,
    session: Session,
    actor: Principal,
    district_id: int,
    data: CloseInput,
    now: datetime | None = None,
) -> PicturePeriod:
    """Close the open period: places of concern with a status, new actions, the follow-up of
    earlier ones; the picture is kept as it stood (a snapshot later observations never
    change). The next period starts now."""
    now = now or utcnow()
    organisation_id = coordinator_organisation(
        session=session, actor=actor, district_id=district_id
    )
    district = session.get(District, district_id)
    if district is None:
        raise NotVisible()
    errors: dict[str, Any] = {}
    _no_identifier(errors, "summary", data.summary)
    places = {p.id for p in district_places(session=session, district_id=district_id)}
    for concern in data.concerns:
        if concern.place_id not in places:
            errors["concerns"] = _l("A place is not in this district, or was removed.")
        _no_identifier(errors, "concerns", concern.note)
    today = now.astimezone(STOCKHOLM).date()
    for action in data.actions:
        _check_action(session, errors, district_id, action, today)
    open_ids = {
        a.id
        for a in session.exec(
            select(PictureAction)
            .where(col(PictureAction.place_id).in_(list(places)))
            .where(PictureAction.status == ActionStatus.planned.value)
        )
    }
    for follow_up in data.follow_ups:
        if follow_up.action_id not in open_ids:
            errors["follow_ups"] = _l("An action to follow up is not open in this district.")
        _no_identifier(errors, "follow_ups", follow_up.result_note)
    if errors:
        raise InvalidInput(errors)

    period = open_period(session=session, district_id=district_id, now=now, create=True)
    assert period.id is not None
    # Two coordinators closing at once: the second waits for the first, then finds it closed.
    locked = session.exec(
        select(PicturePeriod).where(PicturePeriod.id == period.id).with_for_update()
    ).one()
    session.refresh(locked)
    if locked.state != PeriodState.open.value:
        raise InvalidState(_l("This period was closed a moment ago."))
    period.ends_at = now
    picture = build_picture(
        session=session,
        district=district,
        viewer=Viewer.partner(organisation_id),
        now=now,
        period=period,
    )
    for follow_up in data.follow_ups:
        follow_up_action(
            session=session, actor=actor, data=follow_up, now=now, settled_in=period.id
        )
    for concern in data.concerns:
        session.add(
            PeriodPlace(
                period_id=period.id,
                place_id=concern.place_id,
                status=concern.status.value,
                note=concern.note,
            )
        )
    for action in data.actions:
        session.add(
            PictureAction(
                period_id=period.id,
                place_id=action.place_id,
                what=action.what.value,
                owner_organisation_id=action.owner_organisation_id,
                due_on=action.due_on,
                created_by_id=actor.user_id,
                created_at=now,
                updated_at=now,
            )
        )
    session.flush()
    names = picture.organisation_names
    period_actions = session.exec(
        select(PictureAction).where(PictureAction.period_id == period.id)
    ).all()
    settled = session.exec(
        select(PictureAction).where(PictureAction.settled_in_period_id == period.id)
    ).all()
    period.snapshot = {
        "weeks": picture.weeks,
        "rows": [r.as_snapshot() for r in picture.by_concern()],
        "concerns": [c.model_dump(mode="json") for c in data.concerns],
        "actions": [_action_snapshot(a, names) for a in period_actions],
        "follow_ups": [_action_snapshot(a, names) for a in settled],
        "closed_by": names.get(organisation_id, ""),
    }
    period.summary = data.summary
    period.state = PeriodState.closed.value
    period.closed_by_id = actor.user_id
    period.closed_by_organisation_id = organisation_id
    session.add(period)
    session.flush()
    record_event(
        session=session,
        event="picture_period_closed",
        actor_id=actor.user_id,
        object_type="picture_period",
        object_id=period.id,
        organisation_id=organisation_id,
        detail={"district_id": district_id, "actions": len(period_actions)},
        now=now,
    )
    return period


def _action_snapshot(action: PictureAction, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": action.id,
        "place_id": action.place_id,
        "what": action.what,
        "owner": names.get(action.owner_organisation_id, ""),
        "due_on": action.due_on.isoformat(),
        "status": action.status,
        "result_note": action.result_note,
    }


def get_period(*, session: Session, actor: Principal, period_id: int) -> PicturePeriod:
    """A period of a district the actor reads (404 otherwise)."""
    period = session.get(PicturePeriod, period_id)
    if period is None:
        raise NotVisible()
    readable_district(session=session, actor=actor, district_id=period.district_id)
    return period


def closed_periods(*, session: Session, district_id: int, limit: int = 12) -> list[PicturePeriod]:
    return list(
        session.exec(
            select(PicturePeriod)
            .where(PicturePeriod.district_id == district_id)
            .where(PicturePeriod.state == PeriodState.closed.value)
            .order_by(col(PicturePeriod.ends_at).desc())
            .limit(limit)
        )
    )


def period_actions(*, session: Session, period_id: int) -> list[PictureAction]:
    return list(
        session.exec(
            select(PictureAction)
            .where(PictureAction.period_id == period_id)
            .order_by(col(PictureAction.due_on))
        )
    )


def organisation_names(*, session: Session) -> dict[int, str]:
    return {o.id: o.name for o in session.exec(select(Organisation)) if o.id is not None}


# The weekend briefing starts from the picture -----------------------------------------------


@dataclass
class DraftStart:
    """What a new briefing draft takes from the picture: statuses with notes, and lines for
    the summary (the open actions). Places and organisations only."""

    statuses: dict[int, tuple[str, str]]
    lines: list[str]
    period: PicturePeriod | None


def briefing_start(
    *, session: Session, district_ids: Iterable[int], now: datetime | None = None
) -> DraftStart:
    """The statuses of the last closed periods' places of concern, a "watch" for a place
    rising since, and the open actions, for the districts of a new draft."""
    from interrupters.valuelists import label

    now = now or utcnow()
    statuses: dict[int, tuple[str, str]] = {}
    lines: list[str] = []
    newest: PicturePeriod | None = None
    names = organisation_names(session=session)
    for district_id in district_ids:
        district = session.get(District, district_id)
        if district is None:
            continue
        closed = last_closed(session=session, district_id=district_id)
        if closed is not None and closed.id is not None:
            newest = (
                closed
                if newest is None or (closed.ends_at or now) > (newest.ends_at or now)
                else newest
            )
            for row in session.exec(select(PeriodPlace).where(PeriodPlace.period_id == closed.id)):
                statuses[row.place_id] = (row.status, row.note)
        picture = build_picture(
            session=session, district=district, viewer=Viewer.partner(), now=now
        )
        for place in picture.by_concern():
            if place.place_id not in statuses and place.trend in (Trend.rising, Trend.new):
                statuses[place.place_id] = (
                    PlaceStatus.watch.value,
                    str(_l("More observations than usual")),
                )
            for action in place.open_actions:
                lines.append(
                    str(
                        _l(
                            "%(place)s: %(what)s (%(owner)s, by %(due)s)",
                            place=place.name,
                            what=label(action.what, "ActionKind"),
                            owner=names.get(action.owner_organisation_id, ""),
                            due=action.due_on.strftime("%Y-%m-%d"),
                        )
                    )
                )
    return DraftStart(statuses=statuses, lines=lines, period=newest)


# The map's outlines (the admin's) ----------------------------------------------------------


def import_outlines(
    *,
    session: Session,
    actor: Principal,
    text: str,
    district_id: int | None = None,
    now: datetime | None = None,
) -> list[District]:
    """Import district outlines from GeoJSON: every polygon into the chosen district, or each
    feature into the district its name (or a legacy name) matches."""
    from interrupters.picture.mapping import as_stored, parse_outlines
    from interrupters.places.services import find_district

    now = now or utcnow()
    if not actor.has_role(Role.admin):
        raise NotAllowed()
    features = parse_outlines(text)
    targets: dict[int, tuple[District, list[Any]]] = {}
    if district_id is not None:
        district = session.get(District, district_id)
        if district is None:
            raise InvalidInput({"district_id": _l("Choose a district from the list.")})
        targets[district_id] = (district, [p for _n, ps in features for p in ps])
    else:
        for name, polygons in features:
            found = find_district(session=session, name=name) if name else None
            if found is None or found.id is None:
                continue
            targets.setdefault(found.id, (found, []))[1].extend(polygons)
        if not targets:
            raise InvalidInput(
                {"district_id": _l("No feature is named like a district: choose the district.")}
            )
    for target_id, (_district, polygons) in targets.items():
        row = session.get(PictureDistrict, target_id) or PictureDistrict(district_id=target_id)
        row.outline = as_stored(polygons)
        row.outline_updated_at = now
        session.add(row)
    session.flush()
    record_event(
        session=session,
        event="district_outline_imported",
        actor_id=actor.user_id,
        object_type="district",
        detail={"districts": sorted(targets)},
        now=now,
    )
    return [district for district, _p in targets.values()]


def outline_of(*, session: Session, district_id: int) -> list[Any]:
    row = session.get(PictureDistrict, district_id)
    return list(row.outline) if row else []


# The municipality's lägesbild: a district's month, for Swedish Excel -------------------------


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[the first of the month, the first of the next) in local time, as UTC."""
    try:
        year, number = (int(part) for part in month.split("-"))
        start = date(year, number, 1)
    except ValueError:
        raise InvalidInput({"month": _l("Choose a month.")}) from None
    end = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
    utc = ZoneInfo("UTC")
    return (
        datetime.combine(start, time(), tzinfo=STOCKHOLM).astimezone(utc),
        datetime.combine(end, time(), tzinfo=STOCKHOLM).astimezone(utc),
    )


def exportable_district(*, session: Session, actor: Principal, district_id: int) -> District:
    """A district whose lägesbild the actor may take: a partner's own, any for a researcher."""
    district = session.get(District, district_id)
    if district is None:
        raise NotVisible()
    if actor.has_role(Role.researcher):
        return district
    if any(_serves(session, o, district_id) for o in actor.organisations(Role.briefing_author)):
        return district
    raise NotAllowed()


REPORTED_KINDS = [k for k in ObservationKind if k != ObservationKind.calm_evening]


def lagesbild_table(
    *, session: Session, district: District, month: str, now: datetime | None = None
) -> tuple[list[Any], list[list[Any]]]:
    """One row a place and one a place type: observations by kind (counts under 5
    suppressed), the eight weeks before, the trend, the statuses given and the actions."""
    from interrupters.valuelists import label

    now = now or utcnow()
    assert district.id is not None
    start, end = month_bounds(month)
    period = PicturePeriod(district_id=district.id, starts_at=start, ends_at=min(end, now))
    picture = build_picture(
        session=session, district=district, viewer=Viewer.partner(), now=now, period=period
    )
    names = picture.organisation_names
    statuses: dict[int, list[str]] = {}
    for place_id, status in session.exec(
        select(PeriodPlace.place_id, PeriodPlace.status)
        .join(PicturePeriod, col(PicturePeriod.id) == PeriodPlace.period_id)
        .where(PicturePeriod.district_id == district.id)
        .where(col(PicturePeriod.ends_at) >= start)
        .where(col(PicturePeriod.ends_at) < end)
        .order_by(col(PicturePeriod.ends_at))
    ):
        statuses.setdefault(place_id, []).append(label(status, "PlaceStatus"))
    actions: dict[int, list[PictureAction]] = {}
    for action in session.exec(
        select(PictureAction)
        .where(col(PictureAction.place_id).in_([r.place_id for r in picture.rows] or [0]))
        .where(
            ((col(PictureAction.created_at) >= start) & (col(PictureAction.created_at) < end))
            | (
                (col(PictureAction.due_on) >= start.date())
                & (col(PictureAction.due_on) < end.date())
            )
        )
        .order_by(col(PictureAction.due_on))
    ):
        actions.setdefault(action.place_id, []).append(action)
    header: list[Any] = [
        _l("Month"),
        _l("District"),
        _l("Place"),
        _l("Type of place"),
        _l("Observations"),
        *(label(k.value, "ObservationKind") for k in REPORTED_KINDS),
        _l("Calm evenings"),
        _l("The eight weeks before"),
        _l("Trend"),
        _l("Place signals (shared)"),
        _l("Status given"),
        _l("Actions done"),
        _l("Actions"),
    ]
    rows = sorted(picture.rows, key=lambda r: (r.area, r.name))
    shown = _suppressed_cells(rows)
    table: list[list[Any]] = []
    for row in rows:
        mine = actions.get(row.place_id, [])
        table.append(
            [
                month,
                district.name,
                row.name,
                label(row.type, "PlaceType"),
                *shown(("place", row.place_id)),
                label(row.trend.value, "Trend"),
                suppressed(row.signals) if row.signals is not None else "",
                ", ".join(statuses.get(row.place_id, [])),
                sum(1 for a in mine if a.status == ActionStatus.done.value),
                "; ".join(
                    f"{label(a.what, 'ActionKind')} ({names.get(a.owner_organisation_id, '')}, "
                    f"{a.due_on.isoformat()}, {label(a.status, 'ActionStatus')})"
                    for a in mine
                ),
            ]
        )
    for place_type in sorted({row.type for row in rows}):
        of_type = [row for row in rows if row.type == place_type]
        trend = trend_of(
            sum(r.current for r in of_type),
            sum(r.expected for r in of_type),
            sum(r.baseline for r in of_type),
        )
        table.append(
            [
                month,
                district.name,
                str(_l("All places of this type")),
                label(place_type, "PlaceType"),
                *shown(("type", place_type)),
                label(trend.value, "Trend"),
                "",
                "",
                "",
                "",
            ]
        )
    return header, table


# The export's counted columns: the observations, by kind, the calm evenings, the weeks before.
_COUNTED = ("current", *(k.value for k in REPORTED_KINDS), "calm", "baseline")


def _suppressed_cells(rows: list[PlaceRow]) -> Callable[[tuple[str, Any]], list[str]]:
    """The export's counts as they may leave the organisation, through the reports package's
    suppression: the small ones hidden, and enough others that no hidden count follows from
    a place type's total or a place's sum of kinds."""
    values: dict[tuple[tuple[str, Any], str], int] = {}
    for row in rows:
        key = ("place", row.place_id)
        values[(key, "current")] = row.current
        for kind in REPORTED_KINDS:
            values[(key, kind.value)] = row.by_kind[kind.value]
        values[(key, "calm")] = row.calm
        values[(key, "baseline")] = row.baseline
        total = ("type", row.type)
        for column in _COUNTED:
            values[(total, column)] = values.get((total, column), 0) + values[(key, column)]
    relations = [
        Relation(
            parts=tuple((("place", r.place_id), column) for r in rows if r.type == place_type),
            total=(("type", place_type), column),
        )
        for place_type in {r.type for r in rows}
        for column in _COUNTED
    ]
    # The kinds add up to the observations of a place or a type (calm evenings apart).
    for key in {k for k, _column in values}:
        relations.append(
            Relation(
                parts=tuple((key, kind.value) for kind in REPORTED_KINDS), total=(key, "current")
            )
        )
    hidden = suppress(values, relations)

    def shown(key: tuple[str, Any]) -> list[str]:
        return [
            HIDDEN if (key, column) in hidden else str(values[(key, column)]) for column in _COUNTED
        ]

    return shown


def export_lagesbild(
    *,
    session: Session,
    actor: Principal,
    district_id: int,
    month: str,
    now: datetime | None = None,
) -> bytes:
    """The district's month as a CSV Swedish Excel opens by a double-click; audited."""
    from interrupters.exports import csv_bytes

    now = now or utcnow()
    district = exportable_district(session=session, actor=actor, district_id=district_id)
    header, table = lagesbild_table(session=session, district=district, month=month, now=now)
    record_event(
        session=session,
        event="export",
        actor_id=actor.user_id,
        object_type="picture_lagesbild",
        object_id=district_id,
        detail={"month": month, "rows": len(table)},
        now=now,
    )
    return csv_bytes([str(h) for h in header], table)
