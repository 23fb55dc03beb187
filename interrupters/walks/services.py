"""Schedule night walks, sign up and form groups, start and complete them, file walk reports.

A walk report is filed once per client UUID: the online form and the phone's outbox call
`file_walk_report` alike, and a replay neither stores nor notifies twice (DESIGN.md, guarantee
2). Aggregates that leave the association suppress counts under 5.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from pydantic import BaseModel, Field, field_validator
from sqlmodel import Session, col, func, select

from interrupters.audit.services import record_event
from interrupters.auth.models import Membership, Organisation, OrganisationDistrict, User
from interrupters.auth.principal import Principal
from interrupters.auth.values import OrganisationType, Role
from interrupters.briefings.models import Briefing, BriefingDistrict
from interrupters.briefings.values import BriefingState
from interrupters.db import utcnow
from interrupters.duty import services as duty
from interrupters.errors import InvalidInput, InvalidState, NotAllowed, NotVisible
from interrupters.exports import csv_bytes
from interrupters.identifying import identifying_problem
from interrupters.paging import Cursor, Page, after, fetch_page
from interrupters.places.models import Area, District, Place
from interrupters.records import find_replay, payload_hash
from interrupters.valuelists import label
from interrupters.walks.models import Walk, WalkReport, WalkSignup
from interrupters.walks.signals import urgent_report_filed
from interrupters.walks.values import (
    AgeImpression,
    Atmosphere,
    EnvironmentFault,
    Observation,
    WalkAction,
    WalkState,
    YouthsMet,
)

logger = logging.getLogger(__name__)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
# The path of a report's page, for notifications.
URL_PREFIX = "/walks"
ASSOCIATION = (Role.association_lead, Role.night_walker)
# Interrupters read walks and reports; supervisors read all (DESIGN.md, who may see what).
PROGRAMME = (Role.interrupter, Role.supervisor)
MAX_WEEKS = 26
PAST_PAGE = 12  # the walks that are over, a page at a time
REPORTS_PAGE = 30
GROUP_SIZE = 3  # three walkers a group is the associations' rule; two is the least
# A report is filed for one of the walker's walks of the last days.
REPORT_DAYS = 4
# An urgent report nobody acknowledges is repeated to every supervisor serving the district,
# as a level-4 conflict is (DESIGN.md, Notifications).
URGENT_REPEAT_AFTER = timedelta(minutes=15)


# Inputs -------------------------------------------------------------------------------------


class WalkInput(BaseModel):
    """A walk, or a weekly series of them, in local time (Europe/Stockholm)."""

    district_id: int
    meeting_place_id: int | None = None
    first_date: date
    start_time: time
    end_time: time
    # Weekdays (0 Monday ... 6 Sunday) for a weekly series; empty for one walk.
    weekdays: list[int] = Field(default_factory=list)
    weeks: int = Field(default=1, ge=1, le=MAX_WEEKS)
    leader_id: int | None = None

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, weekdays: list[int]) -> list[int]:
        if any(not 0 <= day <= 6 for day in weekdays):
            raise ValueError(_l("Choose weekdays from the list."))
        return sorted(set(weekdays))


class WalkReportInput(BaseModel):
    """What the walkers saw, in bands and value lists; nothing about an individual youth."""

    walk_id: int
    places_visited: list[int] = Field(default_factory=list)
    youths_met: YouthsMet
    age_impression: list[AgeImpression] = Field(default_factory=list)
    atmosphere: Atmosphere
    observations: list[Observation] = Field(default_factory=list)
    actions: list[WalkAction] = Field(default_factory=list)
    environment_faults: list[EnvironmentFault] = Field(default_factory=list)
    fault_place_id: int | None = None
    debrief_held: bool = False
    walker_injured: bool = False
    note: str = Field(default="", max_length=280)
    urgent: bool = False

    @field_validator("note")
    @classmethod
    def _note(cls, note: str) -> str:
        return note.strip()


# Visibility ---------------------------------------------------------------------------------


def is_member(actor: Principal, walk: Walk) -> bool:
    return actor.role_in(walk.organisation_id) in ASSOCIATION


def can_manage(actor: Principal, walk: Walk) -> bool:
    """The association's lead, or the walk's leader."""
    return actor.role_in(walk.organisation_id) == Role.association_lead or (
        walk.leader_id is not None and walk.leader_id == actor.user_id
    )


def reads_all(actor: Principal) -> bool:
    return actor.has_role(*PROGRAMME)


def get_walk(*, session: Session, actor: Principal, walk_id: int) -> Walk:
    """A walk of the actor's association, or any walk for the programme (404 otherwise)."""
    walk = session.get(Walk, walk_id)
    if walk is None or not (is_member(actor, walk) or reads_all(actor)):
        raise NotVisible()
    return walk


def _managed(*, session: Session, actor: Principal, walk_id: int) -> Walk:
    walk = get_walk(session=session, actor=actor, walk_id=walk_id)
    if not can_manage(actor, walk):
        raise NotAllowed()
    return walk


def _visible_walks(actor: Principal) -> Any:
    query = select(Walk)
    if not reads_all(actor):
        query = query.where(col(Walk.organisation_id).in_(actor.organisations(*ASSOCIATION)))
    return query


def list_walks(
    *, session: Session, actor: Principal, now: datetime | None = None, upcoming: bool = True
) -> list[Walk]:
    """Upcoming walks (soonest first) or past ones (latest first) the actor may see."""
    now = now or utcnow()
    query = _visible_walks(actor)
    if upcoming:
        query = query.where(Walk.planned_end > now).order_by(col(Walk.planned_start))
    else:
        query = query.where(Walk.planned_end <= now).order_by(col(Walk.planned_start).desc())
    return list(session.exec(query.limit(60)))


def past_walks(
    *,
    session: Session,
    actor: Principal,
    cursor: Cursor | None = None,
    now: datetime | None = None,
    size: int = PAST_PAGE,
) -> Page[Walk]:
    """One page of the walks that are over, the latest first, older than `cursor`."""
    now = now or utcnow()
    query = after(
        _visible_walks(actor).where(Walk.planned_end <= now),
        cursor=cursor,
        sort=col(Walk.planned_start),
        id_column=col(Walk.id),
    )
    return fetch_page(session, query, size=size, key=lambda w: Cursor(w.planned_start, w.id))


def signups_of(*, session: Session, walk_ids: Collection[int]) -> dict[int, list[WalkSignup]]:
    """Each walk's sign-ups, in the order they came."""
    found: dict[int, list[WalkSignup]] = {walk_id: [] for walk_id in walk_ids}
    if not walk_ids:
        return found
    rows = session.exec(
        select(WalkSignup)
        .where(col(WalkSignup.walk_id).in_(list(walk_ids)))
        .order_by(col(WalkSignup.signed_up_at), col(WalkSignup.id))
    )
    for row in rows:
        found[row.walk_id].append(row)
    return found


def association_districts(*, session: Session, organisation_id: int) -> list[District]:
    return list(
        session.exec(
            select(District)
            .join(OrganisationDistrict, col(OrganisationDistrict.district_id) == District.id)
            .where(OrganisationDistrict.organisation_id == organisation_id)
            .order_by(col(District.name))
        )
    )


def district_places(*, session: Session, district_id: int) -> list[Place]:
    """The active places of a district, by name."""
    return list(
        session.exec(
            select(Place)
            .join(Area, col(Area.id) == Place.area_id)
            .where(Area.district_id == district_id)
            .where(col(Place.active).is_(True))
            .order_by(col(Place.name))
        )
    )


def association_members(
    *, session: Session, organisation_id: int, roles: Iterable[Role] = ASSOCIATION
) -> list[User]:
    return list(
        session.exec(
            select(User)
            .join(Membership, col(Membership.user_id) == User.id)
            .where(Membership.organisation_id == organisation_id)
            .where(col(Membership.role).in_([role.value for role in roles]))
            .where(col(User.active).is_(True))
            .order_by(col(User.display_name))
        ).unique()
    )


def led_association(actor: Principal) -> int:
    """The association the actor leads."""
    organisations = actor.organisations(Role.association_lead)
    if not organisations:
        raise NotAllowed()
    return organisations[0]


# Scheduling ---------------------------------------------------------------------------------


def walk_dates(data: WalkInput) -> list[date]:
    """The dates a walk or a weekly series falls on."""
    if not data.weekdays:
        return [data.first_date]
    days = (data.first_date + timedelta(days=offset) for offset in range(data.weeks * 7))
    return [day for day in days if day.weekday() in data.weekdays]


def local_span(day: date, start: time, end: time) -> tuple[datetime, datetime]:
    """A walk's start and end in UTC; an end at or before the start is the next morning.

    Each end is made from its own local date, so a walk across the DST change still ends at
    01:00 on the wall clock (it is then four or six hours long, not five).
    """
    starts = datetime.combine(day, start, tzinfo=STOCKHOLM)
    end_day = day if end > start else day + timedelta(days=1)
    ends = datetime.combine(end_day, end, tzinfo=STOCKHOLM)
    return starts.astimezone(ZoneInfo("UTC")), ends.astimezone(ZoneInfo("UTC"))


def schedule_walks(
    *, session: Session, actor: Principal, data: WalkInput, now: datetime | None = None
) -> list[Walk]:
    """Schedule a walk, or a weekly series sharing a series key, for the lead's association."""
    now = now or utcnow()
    organisation_id = led_association(actor)
    errors: dict[str, Any] = {}
    districts = {
        d.id for d in association_districts(session=session, organisation_id=organisation_id)
    }
    if data.district_id not in districts:
        errors["district_id"] = _l("Choose one of the association's districts.")
    if data.meeting_place_id is not None:
        places = {p.id for p in district_places(session=session, district_id=data.district_id)}
        if data.meeting_place_id not in places:
            errors["meeting_place_id"] = _l("Choose a meeting place in the district.")
    if data.leader_id is not None:
        members = {
            u.id for u in association_members(session=session, organisation_id=organisation_id)
        }
        if data.leader_id not in members:
            errors["leader_id"] = _l("The walk leader is a member of the association.")
    if data.start_time == data.end_time:
        errors["end_time"] = _l("The walk ends after it starts.")
    spans = [local_span(day, data.start_time, data.end_time) for day in walk_dates(data)]
    spans = [span for span in spans if span[0] > now]
    if not spans and "end_time" not in errors:
        errors["first_date"] = _l("The walk is in the past.")
    if errors:
        raise InvalidInput(errors)
    series = str(uuid.uuid4()) if len(spans) > 1 else None
    walks = []
    for starts, ends in spans:
        walk = Walk(
            organisation_id=organisation_id,
            district_id=data.district_id,
            meeting_place_id=data.meeting_place_id,
            planned_start=starts,
            planned_end=ends,
            leader_id=data.leader_id,
            state=WalkState.planned.value,
            series=series,
            created_by_id=actor.user_id,
            created_at=now,
        )
        session.add(walk)
        walks.append(walk)
    session.flush()
    return walks


def cancel_walk(
    *,
    session: Session,
    actor: Principal,
    walk_id: int,
    rest_of_series: bool = False,
    now: datetime | None = None,
) -> list[Walk]:
    """Cancel a planned walk, or it and the rest of its series."""
    walk = get_walk(session=session, actor=actor, walk_id=walk_id)
    if actor.role_in(walk.organisation_id) != Role.association_lead:
        raise NotAllowed()
    if walk.state != WalkState.planned:
        raise InvalidState(_l("Only a planned walk can be cancelled."))
    walks = [walk]
    if rest_of_series and walk.series:
        walks = list(
            session.exec(
                select(Walk)
                .where(Walk.series == walk.series)
                .where(Walk.planned_start >= walk.planned_start)
                .where(Walk.state == WalkState.planned.value)
            )
        )
    for each in walks:
        each.state = WalkState.cancelled.value
        session.add(each)
    session.flush()
    return walks


# Sign-up and groups -------------------------------------------------------------------------


def _signup_of(session: Session, walk_id: int, user_id: int) -> WalkSignup | None:
    return session.exec(
        select(WalkSignup).where(WalkSignup.walk_id == walk_id).where(WalkSignup.user_id == user_id)
    ).first()


def sign_up(
    *, session: Session, actor: Principal, walk_id: int, now: datetime | None = None
) -> WalkSignup:
    """Sign the actor up for a planned walk of their association (once)."""
    now = now or utcnow()
    walk = get_walk(session=session, actor=actor, walk_id=walk_id)
    if not is_member(actor, walk):
        raise NotAllowed()
    existing = _signup_of(session, walk_id, actor.user_id)
    if existing is not None:
        return existing
    if walk.state != WalkState.planned or walk.planned_start <= now:
        raise InvalidState(_l("Sign-up closes when the walk starts."))
    signup = WalkSignup(walk_id=walk_id, user_id=actor.user_id, signed_up_at=now)
    session.add(signup)
    session.flush()
    return signup


def withdraw(
    *, session: Session, actor: Principal, walk_id: int, now: datetime | None = None
) -> None:
    """Withdraw the actor's sign-up before the walk starts."""
    now = now or utcnow()
    walk = get_walk(session=session, actor=actor, walk_id=walk_id)
    if not is_member(actor, walk):
        raise NotAllowed()
    signup = _signup_of(session, walk_id, actor.user_id)
    if signup is None:
        return
    if walk.state != WalkState.planned or walk.planned_start <= now:
        raise InvalidState(_l("The walk has started: tell the walk leader instead."))
    session.delete(signup)
    session.flush()


def _led_walk(*, session: Session, actor: Principal, walk_id: int) -> Walk:
    """A walk of the association the actor leads, not cancelled."""
    walk = get_walk(session=session, actor=actor, walk_id=walk_id)
    if actor.role_in(walk.organisation_id) != Role.association_lead:
        raise NotAllowed()
    if walk.state == WalkState.cancelled:
        raise InvalidState(_l("The walk is cancelled."))
    return walk


def sign_up_walker(
    *,
    session: Session,
    actor: Principal,
    walk_id: int,
    user_id: int,
    now: datetime | None = None,
) -> WalkSignup:
    """The lead signs a member of the association up for a walk (once), also one under way
    or held: the lead keeps the list of who walked, which the season's figures count."""
    now = now or utcnow()
    walk = _led_walk(session=session, actor=actor, walk_id=walk_id)
    members = {
        u.id for u in association_members(session=session, organisation_id=walk.organisation_id)
    }
    if user_id not in members:
        raise InvalidInput({"user_id": _l("Choose a member of the association.")})
    existing = _signup_of(session, walk_id, user_id)
    if existing is not None:
        return existing
    signup = WalkSignup(walk_id=walk_id, user_id=user_id, signed_up_at=now)
    session.add(signup)
    session.flush()
    _audit_signup(session=session, actor=actor, walk=walk, user_id=user_id, change="added", now=now)
    return signup


def take_off_walker(
    *,
    session: Session,
    actor: Principal,
    walk_id: int,
    user_id: int,
    now: datetime | None = None,
) -> None:
    """The lead takes a walker off a walk (who cannot come, or did not come)."""
    walk = _led_walk(session=session, actor=actor, walk_id=walk_id)
    signup = _signup_of(session, walk_id, user_id)
    if signup is None:
        raise InvalidInput({"user_id": _l("The walker is not signed up for this walk.")})
    session.delete(signup)
    session.flush()
    _audit_signup(
        session=session, actor=actor, walk=walk, user_id=user_id, change="removed", now=now
    )


def _audit_signup(
    *,
    session: Session,
    actor: Principal,
    walk: Walk,
    user_id: int,
    change: str,
    now: datetime | None,
) -> None:
    # Someone else's sign-up changed: the walker may ask who did it (ids only, no names).
    record_event(
        session=session,
        event="walk_signup_changed",
        actor_id=actor.user_id,
        object_type="walk",
        object_id=walk.id,
        organisation_id=walk.organisation_id,
        detail={"user_id": user_id, "change": change},
        now=now,
    )


def group_sizes(count: int) -> list[int]:
    """Sizes of groups of three for `count` walkers, never one alone: 4 -> 2+2, 7 -> 3+2+2."""
    if count < 2:
        return []
    groups = -(-count // GROUP_SIZE)
    return [count // groups + (1 if index < count % groups else 0) for index in range(groups)]


def group_warnings(signups: Iterable[WalkSignup]) -> list[Any]:
    """What the lead should know about the groups: unassigned walkers, groups not of three."""
    sizes: Counter[int] = Counter()
    unassigned = 0
    for signup in signups:
        if signup.group_number is None:
            unassigned += 1
        else:
            sizes[signup.group_number] += 1
    warnings: list[Any] = []
    if unassigned:
        warnings.append(
            lazy_ngettext(
                "%(num)d walker has no group yet.", "%(num)d walkers have no group yet.", unassigned
            )
        )
    for number, size in sorted(sizes.items()):
        if size != GROUP_SIZE:
            warnings.append(
                _l("Group %(number)d has %(size)d walkers, not three.", number=number, size=size)
            )
    return warnings


def set_groups(
    *, session: Session, actor: Principal, walk_id: int, groups: dict[int, int | None]
) -> list[Any]:
    """Put signed-up walkers in groups (user id -> group number); return the warnings."""
    walk = _managed(session=session, actor=actor, walk_id=walk_id)
    if walk.state not in (WalkState.planned, WalkState.in_progress):
        raise InvalidState(_l("The walk is over."))
    signups = signups_of(session=session, walk_ids=[walk_id])[walk_id]
    by_user = {s.user_id: s for s in signups}
    if set(groups) - set(by_user):
        raise InvalidInput({"groups": _l("Only walkers who signed up can be put in a group.")})
    proposed = {s.user_id: groups.get(s.user_id, s.group_number) for s in signups}
    if any(number is not None and not 1 <= number <= 50 for number in proposed.values()):
        raise InvalidInput({"groups": _l("A group number is 1 to 50.")})
    sizes = Counter(number for number in proposed.values() if number is not None)
    alone = sorted(number for number, size in sizes.items() if size < 2)
    if alone:
        raise InvalidInput(
            {"groups": _l("Nobody walks alone: group %(number)d has one walker.", number=alone[0])}
        )
    for user_id, number in proposed.items():
        by_user[user_id].group_number = number
        session.add(by_user[user_id])
    session.flush()
    return group_warnings(signups)


def auto_groups(*, session: Session, actor: Principal, walk_id: int) -> list[Any]:
    """Form groups of three from the sign-ups in their order (two where it does not divide)."""
    walk = _managed(session=session, actor=actor, walk_id=walk_id)
    if walk.state not in (WalkState.planned, WalkState.in_progress):
        raise InvalidState(_l("The walk is over."))
    signups = signups_of(session=session, walk_ids=[walk_id])[walk_id]
    sizes = group_sizes(len(signups))
    if not sizes:
        raise InvalidInput({"groups": _l("At least two walkers must sign up to form a group.")})
    queue = iter(signups)
    for number, size in enumerate(sizes, start=1):
        for _ in range(size):
            signup = next(queue)
            signup.group_number = number
            session.add(signup)
    session.flush()
    return group_warnings(signups)


# Start and complete -------------------------------------------------------------------------


def current_briefing_id(*, session: Session, district_id: int, at: datetime) -> int | None:
    """The published briefing valid at `at` that covers the district (the latest published)."""
    return session.exec(
        select(Briefing.id)
        .join(BriefingDistrict, col(BriefingDistrict.briefing_id) == Briefing.id)
        .where(BriefingDistrict.district_id == district_id)
        .where(Briefing.state == BriefingState.published.value)
        .where(Briefing.valid_from <= at)
        .where(Briefing.valid_to > at)
        .order_by(col(Briefing.published_at).desc(), col(Briefing.id).desc())
    ).first()


def start_walk(
    *, session: Session, actor: Principal, walk_id: int, now: datetime | None = None
) -> Walk:
    """Start a planned walk: it follows the briefing published for its district now."""
    now = now or utcnow()
    walk = _managed(session=session, actor=actor, walk_id=walk_id)
    if walk.state != WalkState.planned:
        raise InvalidState(_l("Only a planned walk can be started."))
    walk.state = WalkState.in_progress.value
    walk.actual_start = now
    walk.briefing_id = current_briefing_id(session=session, district_id=walk.district_id, at=now)
    session.add(walk)
    session.flush()
    return walk


def complete_walk(
    *, session: Session, actor: Principal, walk_id: int, now: datetime | None = None
) -> Walk:
    """End a walk under way."""
    now = now or utcnow()
    walk = _managed(session=session, actor=actor, walk_id=walk_id)
    if walk.state != WalkState.in_progress:
        raise InvalidState(_l("Only a walk under way can be completed."))
    walk.state = WalkState.completed.value
    walk.actual_end = now
    session.add(walk)
    session.flush()
    return walk


# Walk reports -------------------------------------------------------------------------------


def reportable_walks(
    *, session: Session, actor: Principal, now: datetime | None = None
) -> list[Walk]:
    """The actor's walks of the last days (signed up or leader) that have begun, latest first.

    A walk has begun at its planned start, or earlier when its lead started it (in progress):
    a walk started at 19:40 for 20:00 can be reported on at once (issue 10)."""
    now = now or utcnow()
    signed_up = select(WalkSignup.walk_id).where(WalkSignup.user_id == actor.user_id)
    begun = (Walk.planned_start <= now) | (Walk.state == WalkState.in_progress.value)
    return list(
        session.exec(
            select(Walk)
            .where(col(Walk.organisation_id).in_(actor.organisations(*ASSOCIATION)))
            .where((col(Walk.id).in_(signed_up)) | (Walk.leader_id == actor.user_id))
            .where(Walk.state != WalkState.cancelled.value)
            .where(begun)
            .where(Walk.planned_start >= now - timedelta(days=REPORT_DAYS))
            .order_by(col(Walk.planned_start).desc())
        )
    )


def file_walk_report(
    *,
    session: Session,
    actor: Principal,
    data: WalkReportInput,
    client_uuid: str,
    now: datetime | None = None,
) -> tuple[WalkReport, bool]:
    """File a walk report once per UUID; an urgent one alerts the on-call supervisor at once."""
    now = now or utcnow()
    digest = payload_hash(data)
    existing = find_replay(
        session=session,
        model=WalkReport,
        client_uuid=client_uuid,
        digest=digest,
        author=("submitted_by_id", actor.user_id),
    )
    if existing is not None:
        return existing, False
    if not actor.has_role(*ASSOCIATION):
        raise NotAllowed()
    walks = {w.id: w for w in reportable_walks(session=session, actor=actor, now=now)}
    walk = walks.get(data.walk_id)
    errors: dict[str, Any] = {}
    if walk is None:
        errors["walk_id"] = _l("Choose one of your walks of the last days.")
    else:
        places = {p.id for p in district_places(session=session, district_id=walk.district_id)}
        if set(data.places_visited) - places:
            errors["places_visited"] = _l("A place is not in the walk's district, or was removed.")
        if data.fault_place_id is not None and data.fault_place_id not in places:
            errors["fault_place_id"] = _l("The place is not in the walk's district.")
    if data.fault_place_id is not None and not data.environment_faults:
        errors["environment_faults"] = _l("Say what the fault is.")
    # Walk reports are the associations' and feed the next briefing: the note names no one
    # (issue 9, item 6).
    if (problem := identifying_problem(data.note)) is not None:
        errors["note"] = problem
    if errors:
        raise InvalidInput(errors)
    report = WalkReport.model_validate(
        data.model_dump(mode="json"),
        update={
            "client_uuid": client_uuid,
            "payload_hash": digest,
            "submitted_by_id": actor.user_id,
            "submitted_at": now,
            "places_visited": sorted(set(data.places_visited)),
            "age_impression": sorted({a.value for a in data.age_impression}),
            "observations": sorted({o.value for o in data.observations}),
            "actions": sorted({a.value for a in data.actions}),
            "environment_faults": sorted({f.value for f in data.environment_faults}),
        },
    )
    session.add(report)
    session.flush()
    if report.urgent and walk is not None:
        urgent_report_filed.send(session, report=report, walk=walk, now=now)
    return report, True


def on_call_supervisors(*, session: Session, district_id: int, now: datetime) -> list[int]:
    """Supervisors of the programmes serving the district: those on duty there now, else all."""
    supervisors = set(serving_supervisors(session=session, district_id=district_id))
    if not supervisors:
        return []
    on_duty = duty.on_duty(session=session, user_ids=supervisors, district_id=district_id, now=now)
    return sorted(on_duty or supervisors)


def serving_supervisors(*, session: Session, district_id: int) -> list[int]:
    """Every supervisor of the programmes serving the district (an urgent report's repeat)."""
    supervisors = set(
        session.exec(
            select(Membership.user_id)
            .join(Organisation, col(Organisation.id) == Membership.organisation_id)
            .join(
                OrganisationDistrict,
                col(OrganisationDistrict.organisation_id) == Organisation.id,
            )
            .where(Organisation.type == OrganisationType.cv_programme.value)
            .where(OrganisationDistrict.district_id == district_id)
            .where(Membership.role == Role.supervisor.value)
        )
    )
    return sorted(supervisors)


def get_report(*, session: Session, actor: Principal, report_id: int) -> WalkReport:
    """A report of the actor's association, or any for the programme (404 otherwise)."""
    report = session.get(WalkReport, report_id)
    if report is None:
        raise NotVisible()
    get_walk(session=session, actor=actor, walk_id=report.walk_id)
    return report


def list_reports(
    *, session: Session, actor: Principal, cursor: Cursor | None = None, size: int = REPORTS_PAGE
) -> Page[WalkReport]:
    """One page of the reports the actor may read, the latest filed first, older than `cursor`."""
    query = select(WalkReport).join(Walk, col(Walk.id) == WalkReport.walk_id)
    if not reads_all(actor):
        query = query.where(col(Walk.organisation_id).in_(actor.organisations(*ASSOCIATION)))
    query = after(
        query, cursor=cursor, sort=col(WalkReport.submitted_at), id_column=col(WalkReport.id)
    )
    return fetch_page(session, query, size=size, key=lambda r: Cursor(r.submitted_at, r.id))


# Figures ------------------------------------------------------------------------------------


def observations_by_place(
    *, session: Session, district_ids: Collection[int], since: datetime, until: datetime
) -> dict[int, Counter[str]]:
    """Observations per place visited, from reports submitted in [since, until) on walks in
    the districts: each observation of a report counts once for each place it visited."""
    counts: dict[int, Counter[str]] = {}
    if not district_ids:
        return counts
    rows = session.exec(
        select(WalkReport.places_visited, WalkReport.observations)
        .join(Walk, col(Walk.id) == WalkReport.walk_id)
        .where(col(Walk.district_id).in_(list(district_ids)))
        .where(WalkReport.submitted_at >= since)
        .where(WalkReport.submitted_at < until)
    )
    for places, observations in rows:
        for place_id in places:
            counts.setdefault(place_id, Counter()).update(observations)
    return counts


def month_of(moment: datetime) -> str:
    return moment.astimezone(STOCKHOLM).strftime("%Y-%m")


def months_between(since: date, until: date) -> list[str]:
    months = []
    year, month = since.year, since.month
    while (year, month) <= (until.year, until.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _utc_bounds(since: date, until: date) -> tuple[datetime, datetime]:
    """[since 00:00, the day after until 00:00) in local time, as UTC."""
    start = datetime.combine(since, time(), tzinfo=STOCKHOLM)
    end = datetime.combine(until + timedelta(days=1), time(), tzinfo=STOCKHOLM)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


@dataclass
class MonthFigures:
    """One month of an association's season, as the municipality asks for it."""

    month: str
    walks_held: int = 0
    walker_evenings: int = 0
    reports_filed: int = 0
    urgent_reports: int = 0
    # Reports by the band of youths met; reports naming each observation and each fault.
    youths_met: Counter[str] = field(default_factory=Counter)
    observations: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)


def season_figures(
    *, session: Session, organisation_id: int, since: date, until: date
) -> list[MonthFigures]:
    """An association's walks held (completed) and walker-evenings by the month the walk was
    planned in; its reports, youths met, observations, faults and urgent reports by the month
    they were filed in."""
    start, end = _utc_bounds(since, until)
    figures = {month: MonthFigures(month) for month in months_between(since, until)}
    walks = session.exec(
        select(Walk.id, Walk.planned_start)
        .where(Walk.organisation_id == organisation_id)
        .where(Walk.state == WalkState.completed.value)
        .where(Walk.planned_start >= start)
        .where(Walk.planned_start < end)
    ).all()
    month_by_walk = {walk_id: month_of(starts) for walk_id, starts in walks}
    for month in month_by_walk.values():
        figures[month].walks_held += 1
    if month_by_walk:
        signups = session.exec(
            select(WalkSignup.walk_id, func.count())
            .where(col(WalkSignup.walk_id).in_(list(month_by_walk)))
            .group_by(col(WalkSignup.walk_id))
        ).all()
        for walk_id, count in signups:
            figures[month_by_walk[walk_id]].walker_evenings += count
    reports = session.exec(
        select(WalkReport)
        .join(Walk, col(Walk.id) == WalkReport.walk_id)
        .where(Walk.organisation_id == organisation_id)
        .where(WalkReport.submitted_at >= start)
        .where(WalkReport.submitted_at < end)
    ).all()
    for report in reports:
        row = figures.get(month_of(report.submitted_at))
        if row is None:
            continue
        row.reports_filed += 1
        row.urgent_reports += 1 if report.urgent else 0
        row.youths_met[report.youths_met] += 1
        # A report names each kind once (file_walk_report stores them as a set).
        row.observations.update(set(report.observations))
        row.faults.update(set(report.environment_faults))
    return list(figures.values())


def season_table(rows: Iterable[MonthFigures]) -> tuple[list[Any], list[list[Any]]]:
    """The season's header (translated when written) and rows: one column per band and kind."""
    bands = [band.value for band in YouthsMet]
    kinds = [kind.value for kind in Observation]
    faults = [fault.value for fault in EnvironmentFault]
    header: list[Any] = [
        _l("Month"),
        _l("Walks held"),
        _l("Walker-evenings"),
        _l("Reports filed"),
        *(_l("Young people met: %(band)s", band=label(band, "YouthsMet")) for band in bands),
        *(_l("Observed: %(kind)s", kind=label(kind, "Observation")) for kind in kinds),
        *(_l("Fault reported: %(kind)s", kind=label(kind, "EnvironmentFault")) for kind in faults),
        _l("Urgent reports"),
    ]
    table = [
        [
            row.month,
            row.walks_held,
            row.walker_evenings,
            row.reports_filed,
            *(row.youths_met[band] for band in bands),
            *(row.observations[kind] for kind in kinds),
            *(row.faults[kind] for kind in faults),
            row.urgent_reports,
        ]
        for row in rows
    ]
    return header, table


def export_season_figures(
    *,
    session: Session,
    actor: Principal,
    since: date,
    until: date,
    now: datetime | None = None,
) -> bytes:
    """The lead's association's season figures for the municipality, as a CSV Swedish Excel
    opens by a double-click; audited, counts only, no names."""
    organisation_id = led_association(actor)
    if until < since:
        raise InvalidInput({"until": _l("The end is before the start.")})
    rows = season_figures(
        session=session, organisation_id=organisation_id, since=since, until=until
    )
    header, table = season_table(rows)
    record_event(
        session=session,
        event="export",
        actor_id=actor.user_id,
        object_type="walk_season_figures",
        organisation_id=organisation_id,
        detail={"since": since.isoformat(), "until": until.isoformat(), "rows": len(rows)},
        now=now,
    )
    return csv_bytes(header, table)


def urgent_reports(*, session: Session, actor: Principal, since: datetime) -> list[WalkReport]:
    """Urgent walk reports the actor may read since `since`, the latest first."""
    query = (
        select(WalkReport)
        .join(Walk, col(Walk.id) == WalkReport.walk_id)
        .where(col(WalkReport.urgent).is_(True))
        .where(col(WalkReport.submitted_at) >= since)
    )
    if not reads_all(actor):
        query = query.where(col(Walk.organisation_id).in_(actor.organisations(*ASSOCIATION)))
    return list(session.exec(query.order_by(col(WalkReport.submitted_at).desc())))
