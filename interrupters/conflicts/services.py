"""Flag, follow and mediate conflicts; incidents and community responses; who is on duty.

Every write takes the record's client UUID, so the online form and the phone's outbox call
the same function and a replay changes nothing (DESIGN.md, guarantee 2).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, Field, field_validator
from sqlmodel import Session, col, func, select

from interrupters.audit.services import record_event
from interrupters.auth.models import Membership
from interrupters.auth.principal import Principal
from interrupters.auth.values import Role
from interrupters.conflicts.models import (
    CommunityResponse,
    Conflict,
    ConflictEvent,
    ConflictParticipant,
    Incident,
    Mediation,
)
from interrupters.conflicts.signals import conflict_escalated
from interrupters.conflicts.values import (
    Catalyst,
    CommunityResponseKind,
    ConflictStatus,
    ConflictType,
    DetectedVia,
    IncidentResponse,
    IncidentType,
    MediationOutcome,
    Strategy,
    TimelineKind,
    Weapon,
)
from interrupters.db import utcnow
from interrupters.duty import services as duty
from interrupters.errors import DuplicateRecord, InvalidInput, NotAllowed, NotVisible
from interrupters.paging import Cursor, Page, after, fetch_page
from interrupters.participants.models import Participant
from interrupters.places.models import Area, District, Place
from interrupters.records import find_replay, payload_hash
from interrupters.records.services import next_number

logger = logging.getLogger(__name__)

CASE_ROLES = (Role.interrupter, Role.supervisor)
ACTIVE = (ConflictStatus.open.value, ConflictStatus.mediating.value, ConflictStatus.cooling.value)
CLOSING = {ConflictStatus.resolved, ConflictStatus.turned_violent, ConflictStatus.closed_unresolved}
ESCALATION_LEVEL = 3  # high and imminent alert at once (DESIGN.md, Notifications)
REPEAT_LEVEL = 4  # an unacknowledged imminent alert is repeated to the supervisors
REPEAT_AFTER = timedelta(minutes=15)
FUTURE_TOLERANCE = timedelta(minutes=10)
PAGE_SIZE = 30  # incidents and community responses, a page at a time
# The path of a conflict's page, for notifications made outside a request.
URL_PREFIX = "/conflicts"
# A label that looks like a personal identity number is refused: labels describe groups.
_IDENTITY_NUMBER = re.compile(r"\d{6,8}[-+ ]?\d{4}")


def _clean(text: str) -> str:
    return " ".join(text.split())


class ConflictInput(BaseModel):
    """A conflict as flagged on a phone: groups described by count and label, never by name."""

    area_id: int
    place_id: int | None = None
    detected_via: DetectedVia
    catalyst: Catalyst
    type: ConflictType
    parties_count: int = Field(ge=2, le=50)
    supporters_count: int | None = Field(default=None, ge=0, le=1000)
    party_labels: list[str] = Field(default_factory=list, max_length=6)
    youth_involved: bool = False
    weapon: Weapon = Weapon.none_known
    retaliation_related: bool = False
    risk_level: int = Field(ge=1, le=4)
    occurred_at: datetime
    note: str = Field(default="", max_length=280)

    @field_validator("party_labels")
    @classmethod
    def _labels(cls, labels: list[str]) -> list[str]:
        cleaned = [_clean(label) for label in labels if label.strip()]
        for label in cleaned:
            if len(label) > 40:
                raise ValueError(_l("A group label has at most 40 characters."))
            if _IDENTITY_NUMBER.search(label):
                raise ValueError(_l("A group label must not hold an identity number."))
        return cleaned

    @field_validator("note")
    @classmethod
    def _note(cls, note: str) -> str:
        return note.strip()


class ConflictUpdateInput(BaseModel):
    """New information, a level or status change (with why), a follow-up."""

    kind: TimelineKind = TimelineKind.info
    risk_level: int | None = Field(default=None, ge=1, le=4)
    status: ConflictStatus | None = None
    text: str = Field(default="", max_length=280)
    occurred_at: datetime

    @field_validator("kind")
    @classmethod
    def _kind(cls, kind: TimelineKind) -> TimelineKind:
        if kind not in (TimelineKind.info, TimelineKind.follow_up):
            raise ValueError(_l("An update is new information or a follow-up."))
        return kind


class MediationInput(BaseModel):
    mediator_ids: list[int] = Field(default_factory=list)
    occurred_at: datetime
    place_id: int | None = None
    strategies: list[Strategy] = Field(default_factory=list)
    outcome: MediationOutcome
    follow_up_on: date | None = None
    note: str = Field(default="", max_length=280)


class IncidentInput(BaseModel):
    type: IncidentType
    area_id: int
    place_id: int | None = None
    conflict_id: int | None = None
    occurred_at: datetime
    injured_count: int = Field(default=0, ge=0, le=500)
    response: IncidentResponse = IncidentResponse.none
    note: str = Field(default="", max_length=280)


class CommunityResponseInput(BaseModel):
    kind: CommunityResponseKind
    area_id: int
    incident_id: int | None = None
    occurred_at: datetime
    participants_estimate: int | None = Field(default=None, ge=0, le=100_000)
    note: str = Field(default="", max_length=280)


# Visibility ---------------------------------------------------------------------------------


def _case_organisations(actor: Principal) -> list[int]:
    organisations = actor.organisations(*CASE_ROLES)
    if not organisations:
        raise NotAllowed()
    return organisations


def get_conflict(
    *, session: Session, actor: Principal, conflict_id: int, audit: bool = True
) -> Conflict:
    """A conflict of the actor's organisation (404 otherwise); a view is an audited read."""
    conflict = session.get(Conflict, conflict_id)
    if conflict is None or actor.role_in(conflict.organisation_id) not in CASE_ROLES:
        raise NotVisible()
    if audit:
        record_event(
            session=session,
            event="conflict_viewed",
            actor_id=actor.user_id,
            object_type="conflict",
            object_id=conflict.id,
            organisation_id=conflict.organisation_id,
        )
    return conflict


def list_conflicts(
    *,
    session: Session,
    actor: Principal,
    area_id: int | None = None,
    min_level: int | None = None,
    active_only: bool = True,
) -> list[Conflict]:
    """The organisation's conflicts, the most dangerous first."""
    query = select(Conflict).where(col(Conflict.organisation_id).in_(_case_organisations(actor)))
    if active_only:
        query = query.where(col(Conflict.status).in_(ACTIVE))
    if area_id is not None:
        query = query.where(Conflict.area_id == area_id)
    if min_level is not None:
        query = query.where(Conflict.risk_level >= min_level)
    return list(
        session.exec(
            query.order_by(col(Conflict.risk_level).desc(), col(Conflict.updated_at).desc())
        )
    )


def timeline(*, session: Session, conflict_id: int) -> list[ConflictEvent]:
    """A conflict's timeline, oldest first (the caller checked visibility)."""
    return list(
        session.exec(
            select(ConflictEvent)
            .where(ConflictEvent.conflict_id == conflict_id)
            .order_by(col(ConflictEvent.occurred_at), col(ConflictEvent.id))
        )
    )


def mediations_of(*, session: Session, conflict_id: int) -> list[Mediation]:
    return list(
        session.exec(
            select(Mediation)
            .where(Mediation.conflict_id == conflict_id)
            .order_by(col(Mediation.occurred_at))
        )
    )


def linked_participants(
    *, session: Session, actor: Principal, conflict: Conflict
) -> list[Participant]:
    """Participants linked to a conflict: shown to supervisors only."""
    if actor.role_in(conflict.organisation_id) != Role.supervisor:
        return []
    return list(
        session.exec(
            select(Participant)
            .join(ConflictParticipant, col(ConflictParticipant.participant_id) == Participant.id)
            .where(ConflictParticipant.conflict_id == conflict.id)
            .order_by(col(Participant.code))
        )
    )


# Writes -------------------------------------------------------------------------------------


def _check_place(*, session: Session, area_id: int, place_id: int | None) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    if session.get(Area, area_id) is None:
        errors["area_id"] = _l("Choose an area from the list.")
    if place_id is not None:
        place = session.get(Place, place_id)
        if place is None or not place.active or place.area_id != area_id:
            errors["place_id"] = _l("The place is not in the area, or it was removed.")
    return errors


def _check_time(occurred_at: datetime, now: datetime) -> dict[str, Any]:
    if occurred_at.tzinfo is None or occurred_at > now + FUTURE_TOLERANCE:
        return {"occurred_at": _l("The time is in the future.")}
    return {}


def _highest_code(session: Session) -> int:
    codes = session.exec(select(Conflict.code)).all()
    return max((int(code[2:]) for code in codes if code[2:].isdigit()), default=0)


def _next_code(session: Session) -> str:
    """The next conflict code: C-0001, C-0002, ... (unique across the installation, also for
    two conflicts flagged at the same moment)."""
    number = next_number(session=session, name="conflict", floor=lambda: _highest_code(session))
    return f"C-{number:04d}"


def flag_conflict(
    *,
    session: Session,
    actor: Principal,
    data: ConflictInput,
    client_uuid: str,
    now: datetime | None = None,
) -> tuple[Conflict, bool]:
    """Flag a conflict once per UUID; level 3 or 4 alerts at once. Returns (conflict, created)."""
    now = now or utcnow()
    digest = payload_hash(data)
    existing = find_replay(
        session=session,
        model=Conflict,
        client_uuid=client_uuid,
        digest=digest,
        author=("flagged_by_id", actor.user_id),
    )
    if existing is not None:
        return existing, False
    organisation_id = _case_organisations(actor)[0]
    errors = _check_place(session=session, area_id=data.area_id, place_id=data.place_id)
    errors |= _check_time(data.occurred_at, now)
    if errors:
        raise InvalidInput(errors)
    conflict = Conflict.model_validate(
        data.model_dump(exclude={"occurred_at", "note"}),
        update={
            "client_uuid": client_uuid,
            "payload_hash": digest,
            "code": _next_code(session),
            "organisation_id": organisation_id,
            "flagged_by_id": actor.user_id,
            "status": ConflictStatus.open.value,
            "created_at": now,
            "updated_at": now,
        },
    )
    session.add(conflict)
    session.flush()
    assert conflict.id is not None
    event = ConflictEvent(
        conflict_id=conflict.id,
        kind=TimelineKind.detected.value,
        occurred_at=data.occurred_at,
        recorded_at=now,
        author_id=actor.user_id,
        to_level=data.risk_level,
        to_status=ConflictStatus.open.value,
        text=data.note,
    )
    session.add(event)
    session.flush()
    _announce_escalation(
        session=session, actor=actor, conflict=conflict, event=event, from_level=0, now=now
    )
    return conflict, True


def update_conflict(
    *,
    session: Session,
    actor: Principal,
    conflict_id: int,
    data: ConflictUpdateInput,
    client_uuid: str,
    now: datetime | None = None,
) -> tuple[list[ConflictEvent], bool]:
    """Add to the timeline: new information or a follow-up, a level change (with the reason),
    a status change. One UUID is one update, however often it arrives."""
    now = now or utcnow()
    digest = payload_hash(data)
    replayed = session.exec(
        select(ConflictEvent).where(ConflictEvent.client_uuid == client_uuid)
    ).first()
    if replayed is not None:
        if replayed.author_id != actor.user_id or replayed.payload_hash != digest:
            raise DuplicateRecord()
        return [replayed], False
    conflict = get_conflict(session=session, actor=actor, conflict_id=conflict_id, audit=False)
    errors = _check_time(data.occurred_at, now)
    level_changes = data.risk_level is not None and data.risk_level != conflict.risk_level
    status_changes = data.status is not None and data.status != conflict.status
    if level_changes and not data.text.strip():
        errors["text"] = _l("Say why the risk level changed.")
    if not (level_changes or status_changes or data.text.strip()):
        errors["text"] = _l("Write what is new.")
    if conflict.status not in ACTIVE and not status_changes:
        errors["status"] = _l("The conflict is closed: reopen it to add to it.")
    if errors:
        raise InvalidInput(errors)
    events: list[ConflictEvent] = []

    def add(kind: TimelineKind, **values: Any) -> ConflictEvent:
        # Only the first entry carries the UUID: the update as a whole is the record.
        event = ConflictEvent(
            conflict_id=conflict_id,
            client_uuid=None if events else client_uuid,
            payload_hash=None if events else digest,
            kind=kind.value,
            occurred_at=data.occurred_at,
            recorded_at=now,
            author_id=actor.user_id,
            text=data.text.strip(),
            **values,
        )
        session.add(event)
        events.append(event)
        return event

    from_level = conflict.risk_level
    if level_changes:
        assert data.risk_level is not None
        add(TimelineKind.level_changed, from_level=from_level, to_level=data.risk_level)
        conflict.risk_level = data.risk_level
    if status_changes:
        assert data.status is not None
        kind = TimelineKind.closed if data.status in CLOSING else TimelineKind.status_changed
        add(kind, from_status=conflict.status, to_status=data.status.value)
        conflict.status = data.status.value
    if not events:
        add(data.kind)
    conflict.updated_at = now
    session.add(conflict)
    session.flush()
    if level_changes:
        _announce_escalation(
            session=session,
            actor=actor,
            conflict=conflict,
            event=events[0],
            from_level=from_level,
            now=now,
        )
    return events, True


def record_mediation(
    *,
    session: Session,
    actor: Principal,
    conflict_id: int,
    data: MediationInput,
    client_uuid: str,
    now: datetime | None = None,
) -> tuple[Mediation, bool]:
    """Record a mediation in a conflict; it joins the timeline and may set a follow-up."""
    now = now or utcnow()
    digest = payload_hash(data)
    existing = find_replay(
        session=session,
        model=Mediation,
        client_uuid=client_uuid,
        digest=digest,
        author=("author_id", actor.user_id),
    )
    if existing is not None:
        return existing, False
    conflict = get_conflict(session=session, actor=actor, conflict_id=conflict_id, audit=False)
    errors = _check_time(data.occurred_at, now)
    if data.place_id is not None:
        place = session.get(Place, data.place_id)
        if place is None or not place.active:
            errors["place_id"] = _l("The place was removed.")
    mediators = set(data.mediator_ids) | {actor.user_id}
    staff = set(
        session.exec(
            select(Membership.user_id)
            .where(Membership.organisation_id == conflict.organisation_id)
            .where(col(Membership.role).in_([r.value for r in CASE_ROLES]))
        )
    )
    if not mediators <= staff:
        errors["mediator_ids"] = _l("Mediators are the programme's workers.")
    if errors:
        raise InvalidInput(errors)
    mediation = Mediation.model_validate(
        data.model_dump(),
        update={
            "client_uuid": client_uuid,
            "payload_hash": digest,
            "conflict_id": conflict_id,
            "author_id": actor.user_id,
            "received_at": now,
            "mediator_ids": sorted(mediators),
            "strategies": sorted({s.value for s in data.strategies}),
        },
    )
    session.add(mediation)
    session.flush()
    session.add(
        ConflictEvent(
            conflict_id=conflict_id,
            kind=TimelineKind.mediation.value,
            occurred_at=data.occurred_at,
            recorded_at=now,
            author_id=actor.user_id,
            mediation_id=mediation.id,
            text=data.note,
        )
    )
    if conflict.status == ConflictStatus.open:
        conflict.status = ConflictStatus.mediating.value
    conflict.updated_at = now
    session.add(conflict)
    return mediation, True


def record_incident(
    *,
    session: Session,
    actor: Principal,
    data: IncidentInput,
    client_uuid: str,
    now: datetime | None = None,
) -> tuple[Incident, bool]:
    """Record an incident (no identities); one linked to a conflict joins its timeline."""
    now = now or utcnow()
    digest = payload_hash(data)
    existing = find_replay(
        session=session,
        model=Incident,
        client_uuid=client_uuid,
        digest=digest,
        author=("author_id", actor.user_id),
    )
    if existing is not None:
        return existing, False
    organisation_id = _case_organisations(actor)[0]
    errors = _check_place(session=session, area_id=data.area_id, place_id=data.place_id)
    errors |= _check_time(data.occurred_at, now)
    conflict = None
    if data.conflict_id is not None:
        conflict = session.get(Conflict, data.conflict_id)
        if conflict is None or conflict.organisation_id != organisation_id:
            errors["conflict_id"] = _l("Choose a conflict from the list.")
    if errors:
        raise InvalidInput(errors)
    incident = Incident.model_validate(
        data.model_dump(),
        update={
            "client_uuid": client_uuid,
            "payload_hash": digest,
            "organisation_id": organisation_id,
            "author_id": actor.user_id,
            "received_at": now,
        },
    )
    session.add(incident)
    session.flush()
    if conflict is not None and conflict.id is not None:
        session.add(
            ConflictEvent(
                conflict_id=conflict.id,
                kind=TimelineKind.incident.value,
                occurred_at=data.occurred_at,
                recorded_at=now,
                author_id=actor.user_id,
                incident_id=incident.id,
                text=data.note,
            )
        )
        conflict.updated_at = now
        session.add(conflict)
    return incident, True


def record_community_response(
    *,
    session: Session,
    actor: Principal,
    data: CommunityResponseInput,
    client_uuid: str,
    now: datetime | None = None,
) -> tuple[CommunityResponse, bool]:
    """Record how the community answered (a vigil, a meeting, a campaign)."""
    now = now or utcnow()
    digest = payload_hash(data)
    existing = find_replay(
        session=session,
        model=CommunityResponse,
        client_uuid=client_uuid,
        digest=digest,
        author=("author_id", actor.user_id),
    )
    if existing is not None:
        return existing, False
    organisation_id = _case_organisations(actor)[0]
    errors = _check_place(session=session, area_id=data.area_id, place_id=None)
    errors |= _check_time(data.occurred_at, now)
    if data.incident_id is not None:
        incident = session.get(Incident, data.incident_id)
        if incident is None or incident.organisation_id != organisation_id:
            errors["incident_id"] = _l("Choose an incident from the list.")
    if errors:
        raise InvalidInput(errors)
    response = CommunityResponse.model_validate(
        data.model_dump(),
        update={
            "client_uuid": client_uuid,
            "payload_hash": digest,
            "organisation_id": organisation_id,
            "author_id": actor.user_id,
            "received_at": now,
        },
    )
    session.add(response)
    session.flush()
    return response, True


def link_participant(
    *,
    session: Session,
    actor: Principal,
    conflict_id: int,
    participant_code: str,
    now: datetime | None = None,
) -> Participant:
    """Link a participant to a conflict by code: supervisors only (DOMAIN.md)."""
    conflict = get_conflict(session=session, actor=actor, conflict_id=conflict_id, audit=False)
    if actor.role_in(conflict.organisation_id) != Role.supervisor:
        raise NotAllowed()
    participant = session.exec(
        select(Participant).where(Participant.code == participant_code.strip().upper())
    ).first()
    if participant is None or participant.organisation_id != conflict.organisation_id:
        raise InvalidInput({"participant_code": _l("No participant with that code.")})
    assert participant.id is not None and conflict.id is not None
    if session.get(ConflictParticipant, (conflict.id, participant.id)) is None:
        now = now or utcnow()
        session.add(
            ConflictParticipant(
                conflict_id=conflict.id,
                participant_id=participant.id,
                linked_by_id=actor.user_id,
                linked_at=now,
            )
        )
        # The timeline says a link was made, not to whom: the team reads the timeline.
        session.add(
            ConflictEvent(
                conflict_id=conflict.id,
                kind=TimelineKind.participant_linked.value,
                occurred_at=now,
                recorded_at=now,
                author_id=actor.user_id,
            )
        )
        record_event(
            session=session,
            event="participant_linked",
            actor_id=actor.user_id,
            object_type="conflict",
            object_id=conflict.id,
            organisation_id=conflict.organisation_id,
            detail={"participant_id": participant.id},
        )
    return participant


def unlink_participant(
    *, session: Session, actor: Principal, conflict_id: int, participant_id: int
) -> None:
    conflict = get_conflict(session=session, actor=actor, conflict_id=conflict_id, audit=False)
    if actor.role_in(conflict.organisation_id) != Role.supervisor:
        raise NotAllowed()
    link = session.get(ConflictParticipant, (conflict_id, participant_id))
    if link is not None:
        session.delete(link)
        record_event(
            session=session,
            event="participant_unlinked",
            actor_id=actor.user_id,
            object_type="conflict",
            object_id=conflict_id,
            organisation_id=conflict.organisation_id,
            detail={"participant_id": participant_id},
        )


def recent_incidents(
    *, session: Session, actor: Principal, cursor: Cursor | None = None, size: int = PAGE_SIZE
) -> Page[Incident]:
    """One page of the organisations' incidents, the latest first, older than `cursor`."""
    query = after(
        select(Incident).where(col(Incident.organisation_id).in_(_case_organisations(actor))),
        cursor=cursor,
        sort=col(Incident.occurred_at),
        id_column=col(Incident.id),
    )
    return fetch_page(session, query, size=size, key=lambda i: Cursor(i.occurred_at, i.id))


def recent_community_responses(
    *, session: Session, actor: Principal, cursor: Cursor | None = None, size: int = PAGE_SIZE
) -> Page[CommunityResponse]:
    """One page of the organisations' community responses, the latest first."""
    query = after(
        select(CommunityResponse).where(
            col(CommunityResponse.organisation_id).in_(_case_organisations(actor))
        ),
        cursor=cursor,
        sort=col(CommunityResponse.occurred_at),
        id_column=col(CommunityResponse.id),
    )
    return fetch_page(session, query, size=size, key=lambda r: Cursor(r.occurred_at, r.id))


# Duty and escalation ------------------------------------------------------------------------


def escalation_recipients(
    *, session: Session, conflict: Conflict, now: datetime
) -> tuple[list[int], list[int]]:
    """(supervisors of the organisation, interrupters on duty in the conflict's area now)."""
    supervisors = sorted(
        set(
            session.exec(
                select(Membership.user_id)
                .where(Membership.organisation_id == conflict.organisation_id)
                .where(Membership.role == Role.supervisor.value)
            )
        )
    )
    interrupters = set(
        session.exec(
            select(Membership.user_id)
            .where(Membership.organisation_id == conflict.organisation_id)
            .where(Membership.role == Role.interrupter.value)
        )
    )
    on_duty = duty.on_duty(
        session=session, user_ids=interrupters, area_id=conflict.area_id, now=now
    )
    return supervisors, sorted(on_duty)


def district_name(*, session: Session, area_id: int) -> str:
    area = session.get(Area, area_id)
    district = session.get(District, area.district_id) if area else None
    return district.name if district else ""


def _announce_escalation(
    *,
    session: Session,
    actor: Principal,
    conflict: Conflict,
    event: ConflictEvent,
    from_level: int,
    now: datetime,
) -> None:
    """Announce a rise to level 3 or 4 (not a fall to it): push alerts at once."""
    to_level = event.to_level or 0
    if to_level < ESCALATION_LEVEL or to_level <= from_level:
        return
    conflict_escalated.send(
        session, actor=actor, conflict=conflict, event=event, from_level=from_level, now=now
    )
    logger.info("conflict %s escalated to %s", conflict.id, to_level)


# The supervisor's dashboard (issue 10) ---------------------------------------------------------


def active_by_area_level(*, session: Session, actor: Principal) -> dict[int, dict[int, int]]:
    """Active conflicts of the supervisor's organisations: area -> level -> count."""
    rows = session.exec(
        select(Conflict.area_id, Conflict.risk_level, func.count())
        .where(col(Conflict.organisation_id).in_(actor.organisations(Role.supervisor)))
        .where(col(Conflict.status).in_(ACTIVE))
        .group_by(col(Conflict.area_id), col(Conflict.risk_level))
    ).all()
    table: dict[int, dict[int, int]] = {}
    for area_id, level, count in rows:
        table.setdefault(area_id, {})[level] = int(count)
    return table


@dataclass(frozen=True)
class ActiveAt:
    """How many conflicts were active at a moment, and how many of them at level 3 or 4."""

    at: datetime
    active: int
    high: int


def active_over_time(
    *, session: Session, actor: Principal, moments: list[datetime]
) -> list[ActiveAt]:
    """Active conflicts (and those at level 3-4) at each moment, from their timelines.

    A conflict's status and level at a moment are those of the last timeline event before it
    (a reopened conflict counts again)."""
    organisations = actor.organisations(Role.supervisor)
    conflicts = session.exec(
        select(Conflict.id, Conflict.created_at).where(
            col(Conflict.organisation_id).in_(organisations)
        )
    ).all()
    history: dict[int, list[tuple[datetime, str | None, int | None]]] = {
        conflict_id: [] for conflict_id, _created in conflicts if conflict_id is not None
    }
    for conflict_id, occurred_at, to_status, to_level in session.exec(
        select(
            ConflictEvent.conflict_id,
            ConflictEvent.occurred_at,
            ConflictEvent.to_status,
            ConflictEvent.to_level,
        )
        .join(Conflict, col(Conflict.id) == ConflictEvent.conflict_id)
        .where(col(Conflict.organisation_id).in_(organisations))
        .where(col(ConflictEvent.to_status).is_not(None) | col(ConflictEvent.to_level).is_not(None))
        .order_by(col(ConflictEvent.occurred_at), col(ConflictEvent.id))
    ):
        history[conflict_id].append((occurred_at, to_status, to_level))
    created = dict(conflicts)
    points = []
    for moment in moments:
        active = high = 0
        for conflict_id, events in history.items():
            # From its first timeline event (the flag, dated when it happened); a conflict
            # without one from when it was stored.
            status: str | None = None
            level = 0
            if not events and created[conflict_id] <= moment:
                status = ConflictStatus.open.value
            for occurred_at, to_status, to_level in events:
                if occurred_at > moment:
                    break
                status = to_status or status
                level = to_level if to_level is not None else level
            if status in ACTIVE:
                active += 1
                high += level >= ESCALATION_LEVEL
        points.append(ActiveAt(at=moment, active=active, high=high))
    return points
