"""The caseload: pseudonymous participants, who may see them, and their contact history."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, Field
from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from interrupters.audit.services import record_event
from interrupters.auth.models import Membership, User
from interrupters.auth.principal import Principal
from interrupters.auth.values import Role
from interrupters.db import utcnow
from interrupters.errors import InvalidInput, InvalidState, NotAllowed, NotVisible
from interrupters.paging import Cursor, Page, after, fetch_page
from interrupters.participants.models import Participant
from interrupters.participants.values import (
    AgeBand,
    ExitReason,
    Gender,
    Goal,
    ParticipantStatus,
    RiskTier,
)
from interrupters.places.models import Area

logger = logging.getLogger(__name__)

# No 0/O, 1/I/L: codes are read aloud and typed on phones at night.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CASE_ROLES = (Role.interrupter, Role.supervisor)


class ParticipantInput(BaseModel):
    """What a worker enters; never a name."""

    area_id: int
    age_band: AgeBand
    gender: Gender | None = None
    nickname: str | None = Field(default=None, max_length=40)
    status: ParticipantStatus = ParticipantStatus.prospect
    eligibility_confirmed: bool = False
    risk_tier: RiskTier
    reassess_on: date | None = None
    goals: list[Goal] = Field(default_factory=list)
    consent_scope: str | None = Field(default=None, max_length=120)
    consent_given_on: date | None = None
    consent_withdrawn_on: date | None = None
    worker_id: int | None = None


@dataclass(frozen=True)
class CaseloadRow:
    participant: Participant
    last_contact_at: datetime | None
    next_follow_up: date | None


def new_code(*, session: Session) -> str:
    """Return an unused participant code such as P-7K3Q."""
    for _attempt in range(50):
        code = "P-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(4))
        if session.exec(select(Participant.id).where(Participant.code == code)).first() is None:
            return code
    raise RuntimeError("no free participant code")  # 31^4 codes: only a full table gets here


def can_edit(actor: Principal, participant: Participant) -> bool:
    role = actor.role_in(participant.organisation_id)
    return role == Role.supervisor or (
        role == Role.interrupter and participant.worker_id == actor.user_id
    )


def shows_nickname(actor: Principal, participant: Participant) -> bool:
    """The nickname is for the assigned worker and supervisors, not the whole team."""
    return can_edit(actor, participant)


def _case_organisation(actor: Principal) -> int:
    organisations = actor.organisations(*CASE_ROLES)
    if not organisations:
        raise NotAllowed()
    return organisations[0]


def _check_worker(*, session: Session, organisation_id: int, worker_id: int) -> None:
    member = session.exec(
        select(Membership)
        .where(Membership.user_id == worker_id)
        .where(Membership.organisation_id == organisation_id)
        .where(col(Membership.role).in_([Role.interrupter.value, Role.supervisor.value]))
    ).first()
    if member is None:
        raise InvalidInput({"worker_id": _l("Choose a worker of the organisation.")})


def get_participant(
    *, session: Session, actor: Principal, participant_id: int, audit: bool = True
) -> Participant:
    """Return a participant the actor may see (404 otherwise); a view is an audited read."""
    participant = session.get(Participant, participant_id)
    if participant is None or actor.role_in(participant.organisation_id) not in CASE_ROLES:
        raise NotVisible()
    if audit:
        record_event(
            session=session,
            event="participant_viewed",
            actor_id=actor.user_id,
            object_type="participant",
            object_id=participant.id,
            organisation_id=participant.organisation_id,
        )
    return participant


def create_participant(
    *, session: Session, actor: Principal, data: ParticipantInput, now: datetime | None = None
) -> Participant:
    """Register a participant under a new code, in the actor's caseload unless assigned."""
    organisation_id = _case_organisation(actor)
    worker_id = actor.user_id
    if data.worker_id is not None and data.worker_id != actor.user_id:
        if actor.role_in(organisation_id) != Role.supervisor:
            raise NotAllowed()
        _check_worker(session=session, organisation_id=organisation_id, worker_id=data.worker_id)
        worker_id = data.worker_id
    if session.get(Area, data.area_id) is None:
        raise InvalidInput({"area_id": _l("Choose an area from the list.")})
    for attempt in range(5):
        participant = Participant.model_validate(
            data.model_dump(exclude={"worker_id"}),
            update={
                "code": new_code(session=session),
                "organisation_id": organisation_id,
                "worker_id": worker_id,
                "created_at": now or utcnow(),
            },
        )
        try:
            # Two registrations at the same moment may draw the same free code: the unique
            # constraint refuses the second, which draws again (its savepoint keeps the rest).
            with session.begin_nested():
                session.add(participant)
                session.flush()
            break
        except IntegrityError:
            if attempt == 4:
                raise
    record_event(
        session=session,
        event="participant_created",
        actor_id=actor.user_id,
        object_type="participant",
        object_id=participant.id,
        organisation_id=organisation_id,
    )
    return participant


def update_participant(
    *, session: Session, actor: Principal, participant_id: int, data: ParticipantInput
) -> Participant:
    participant = get_participant(
        session=session, actor=actor, participant_id=participant_id, audit=False
    )
    if not can_edit(actor, participant):
        raise NotAllowed()
    if participant.status == ParticipantStatus.exited:
        raise InvalidState()
    values = data.model_dump(exclude={"worker_id"})
    if data.status == ParticipantStatus.exited:
        raise InvalidInput({"status": _l("Close the participant with an exit reason.")})
    if data.worker_id is not None and data.worker_id != participant.worker_id:
        if actor.role_in(participant.organisation_id) != Role.supervisor:
            raise NotAllowed()
        _check_worker(
            session=session, organisation_id=participant.organisation_id, worker_id=data.worker_id
        )
        participant.worker_id = data.worker_id
    for key, value in values.items():
        setattr(participant, key, value)
    session.add(participant)
    record_event(
        session=session,
        event="participant_updated",
        actor_id=actor.user_id,
        object_type="participant",
        object_id=participant.id,
        organisation_id=participant.organisation_id,
    )
    return participant


def close_participant(
    *,
    session: Session,
    actor: Principal,
    participant_id: int,
    exit_reason: ExitReason,
    now: datetime | None = None,
) -> Participant:
    """Close a participant's case with an exit reason; the history is kept."""
    participant = get_participant(
        session=session, actor=actor, participant_id=participant_id, audit=False
    )
    if not can_edit(actor, participant):
        raise NotAllowed()
    if participant.status == ParticipantStatus.exited:
        raise InvalidState()
    participant.status = ParticipantStatus.exited.value
    participant.exit_reason = exit_reason.value
    participant.exited_at = now or utcnow()
    session.add(participant)
    record_event(
        session=session,
        event="participant_closed",
        actor_id=actor.user_id,
        object_type="participant",
        object_id=participant.id,
        organisation_id=participant.organisation_id,
        detail={"exit_reason": exit_reason.value},
    )
    return participant


def _rows(*, participants: Sequence[Participant]) -> list[CaseloadRow]:
    """Each participant with its last contact and the follow-up that contact set (kept on the
    participant by the contacts' services, so no contact is read)."""
    return [
        CaseloadRow(
            participant=participant,
            last_contact_at=participant.last_contact_at,
            next_follow_up=participant.next_follow_up,
        )
        for participant in participants
    ]


def caseload(
    *, session: Session, actor: Principal, include_exited: bool = False
) -> list[CaseloadRow]:
    """The actor's own participants, the most urgent follow-up first."""
    query = (
        select(Participant)
        .where(Participant.worker_id == actor.user_id)
        .where(col(Participant.organisation_id).in_(actor.organisations(*CASE_ROLES)))
    )
    if not include_exited:
        query = query.where(Participant.status != ParticipantStatus.exited.value)
    rows = _rows(participants=list(session.exec(query.order_by(col(Participant.code)))))
    return sorted(
        rows,
        key=lambda r: (r.next_follow_up is None, r.next_follow_up or date.max, r.participant.code),
    )


def participant_choices(
    *, session: Session, actor: Principal, include: Iterable[int | None] = ()
) -> list[Participant]:
    """The participants the contact form offers: the actor's own caseload and `include` (those
    met lately, or the colleague's participant whose page the form was opened from).

    Any active participant of the actor's programme may be chosen (the contact's service checks
    that); the list is one worker's work, not the whole programme's, so the form a phone keeps
    stays small at any size.
    """
    organisations = actor.organisations(*CASE_ROLES)
    wanted = [pid for pid in include if pid is not None]
    mine = col(Participant.worker_id) == actor.user_id
    participants = session.exec(
        select(Participant)
        .where(col(Participant.organisation_id).in_(organisations))
        .where(Participant.status != ParticipantStatus.exited.value)
        .where(or_(mine, col(Participant.id).in_(wanted)) if wanted else mine)
        .order_by(col(Participant.code))
    ).all()
    return sorted(participants, key=lambda p: (p.worker_id != actor.user_id, p.code))


def organisation_workers(*, session: Session, actor: Principal) -> list[User]:
    """Interrupters and supervisors of the actor's organisations, for assigning and filtering."""
    return list(
        session.exec(
            select(User)
            .join(Membership, col(Membership.user_id) == User.id)
            .where(col(Membership.organisation_id).in_(actor.organisations(*CASE_ROLES)))
            .where(col(Membership.role).in_([Role.interrupter.value, Role.supervisor.value]))
            .order_by(col(User.display_name))
        ).unique()
    )


TEAM_PAGE = 50  # participants a page of the team's list: within the first HTML's budget


def team_participants(
    *,
    session: Session,
    actor: Principal,
    worker_id: int | None = None,
    cursor: Cursor | None = None,
    size: int = TEAM_PAGE,
) -> Page[tuple[CaseloadRow, str]]:
    """A page of the participants of the actor's organisations (not exited) by code, with the
    worker's name (read only); of one worker's caseload with `worker_id`."""
    query = (
        select(Participant, User.display_name)
        .join(User, col(User.id) == Participant.worker_id)
        .where(col(Participant.organisation_id).in_(actor.organisations(*CASE_ROLES)))
        .where(Participant.status != ParticipantStatus.exited.value)
    )
    if worker_id is not None:
        query = query.where(Participant.worker_id == worker_id)
    query = after(
        query,
        cursor=cursor,
        sort=col(Participant.code),
        id_column=col(Participant.id),
        descending=False,
    )
    page = fetch_page(session, query, size=size, key=lambda row: Cursor(row[0].code, row[0].id))
    rows = _rows(participants=[p for p, _name in page.items])
    items = [(row, name) for row, (_p, name) in zip(rows, page.items, strict=True)]
    return Page(items=items, next_cursor=page.next_cursor)


OVERDUE_SHOWN = 10  # the oldest overdue follow-ups the dashboard lists


@dataclass(frozen=True)
class Overdue:
    """The team's follow-ups past their day: how many, and the oldest few."""

    count: int
    oldest: list[tuple[CaseloadRow, str]]  # (row, worker's name), the oldest first


def team_overdue(
    *, session: Session, actor: Principal, today: date, shown: int = OVERDUE_SHOWN
) -> Overdue:
    """The team's follow-ups that are past their day (the follow-up each participant's latest
    contact set): their number and the `shown` oldest, with the worker's name. From the
    participants alone (ix_participant_follow_up), whatever the number of contacts, and only
    the rows shown are read: a city's team may have hundreds overdue."""
    where = (
        col(Participant.organisation_id).in_(actor.organisations(*CASE_ROLES)),
        Participant.status != ParticipantStatus.exited.value,
        col(Participant.next_follow_up) < today,
    )
    count = session.exec(select(func.count()).select_from(Participant).where(*where)).one()
    found = session.exec(
        select(Participant, User.display_name)
        .join(User, col(User.id) == Participant.worker_id)
        .where(*where)
        .order_by(col(Participant.next_follow_up), col(User.display_name), col(Participant.id))
        .limit(shown)
    ).all()
    rows = _rows(participants=[participant for participant, _name in found])
    return Overdue(
        count=int(count),
        oldest=[(row, name) for row, (_participant, name) in zip(rows, found, strict=True)],
    )
