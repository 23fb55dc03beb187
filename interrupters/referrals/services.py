"""Make referrals, follow them until they close, and keep the directory of services."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, Field, field_validator
from sqlmodel import Session, col, func, or_, select

from interrupters.audit.services import record_event
from interrupters.auth.principal import Principal
from interrupters.auth.values import Role
from interrupters.db import utcnow
from interrupters.errors import InvalidInput, NotAllowed, NotVisible
from interrupters.paging import Cursor, Page, after, fetch_page
from interrupters.participants.models import Participant
from interrupters.participants.values import ParticipantStatus
from interrupters.places.models import District
from interrupters.records import find_replay, payload_hash
from interrupters.referrals.models import Referral, ReferralUpdate, Service
from interrupters.referrals.values import ConsentScope, ReferralStatus, ServiceKind

logger = logging.getLogger(__name__)

REFERRAL_ROLES = (Role.interrupter, Role.supervisor)
OPEN = frozenset({ReferralStatus.made, ReferralStatus.contact_made, ReferralStatus.started})
CLOSED = frozenset(ReferralStatus) - OPEN
# A phone's clock may be off; a referral "tomorrow" is still refused.
FUTURE_TOLERANCE = timedelta(minutes=10)
PAGE_SIZE = 40  # each list of the referrals page, a page at a time


# The directory of services (the admin's) ------------------------------------------------


class ServiceInput(BaseModel):
    """A service as the admin enters it: an office's details, never a person's."""

    name: str = Field(min_length=1, max_length=120)
    kind: ServiceKind
    district_ids: list[int] = Field(default_factory=list)
    phone: str = Field(default="", max_length=40)
    opening_hours: str = Field(default="", max_length=200)
    visiting_address: str = Field(default="", max_length=200)
    active: bool = True

    @field_validator("name", "phone", "opening_hours", "visiting_address")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


def _admin(actor: Principal) -> None:
    if not actor.has_role(Role.admin):
        raise NotAllowed()


def save_service(
    *,
    session: Session,
    actor: Principal,
    data: ServiceInput,
    service_id: int | None = None,
    now: datetime | None = None,
) -> Service:
    """Add a service to the directory, or change one (the admin)."""
    _admin(actor)
    known = set(session.exec(select(District.id)).all())
    if not set(data.district_ids) <= known:
        raise InvalidInput({"district_ids": _l("Choose districts from the list.")})
    if service_id is None:
        service = Service.model_validate(data.model_dump(), update={"updated_at": now or utcnow()})
    else:
        found = session.get(Service, service_id)
        if found is None:
            raise NotVisible()
        service = found
        for key, value in data.model_dump().items():
            setattr(service, key, value)
        service.updated_at = now or utcnow()
    service.district_ids = sorted(set(data.district_ids))
    session.add(service)
    session.flush()
    record_event(
        session=session,
        event="service_saved",
        actor_id=actor.user_id,
        object_type="referral_service",
        object_id=service.id,
    )
    return service


def directory(*, session: Session, active_only: bool = True) -> list[Service]:
    """The services, by kind and name (the directory's order)."""
    query = select(Service)
    if active_only:
        query = query.where(col(Service.active).is_(True))
    return list(session.exec(query.order_by(col(Service.kind), col(Service.name))))


def service_names(*, session: Session) -> dict[int, str]:
    return {s.id: s.name for s in session.exec(select(Service)) if s.id is not None}


def district_names(*, session: Session) -> dict[int, str]:
    return {d.id: d.name for d in session.exec(select(District)) if d.id is not None}


def get_service(*, session: Session, service_id: int) -> Service:
    service = session.get(Service, service_id)
    if service is None:
        raise NotVisible()
    return service


# Referrals ---------------------------------------------------------------------------------


class ReferralInput(BaseModel):
    """One referral as the form or the sync endpoint hands it over; nothing of the service's
    own work."""

    participant_id: int
    service_id: int
    made_at: datetime
    consent_given: bool
    consent_scope: ConsentScope
    follow_up_on: date | None = None

    def payload_hash(self) -> str:
        return payload_hash(self)


class ReferralUpdateInput(BaseModel):
    """A status change: where the referral got to, and when to follow it up next."""

    status: ReferralStatus
    occurred_at: datetime
    follow_up_on: date | None = None

    def payload_hash(self) -> str:
        return payload_hash(self)


def referral_participants(
    *, session: Session, actor: Principal, include: int | None = None
) -> list[Participant]:
    """Whom the referral form offers: the actor's own caseload, and `include` when the actor
    may refer them (a supervisor starting from a participant's page).

    A supervisor may refer any participant of the programme (make_referral checks it); the form
    does not list the whole programme, which at 2,000 participants is 17 KB a page.
    """
    supervised = actor.organisations(Role.supervisor)
    own = actor.organisations(Role.interrupter, Role.supervisor)
    if not supervised and not own:
        return []
    conditions: list[Any] = [
        col(Participant.organisation_id).in_(own) & (Participant.worker_id == actor.user_id)
    ]
    if supervised and include is not None:
        conditions.append(
            col(Participant.organisation_id).in_(supervised) & (Participant.id == include)
        )
    return list(
        session.exec(
            select(Participant)
            .where(or_(*conditions))
            .where(Participant.status != ParticipantStatus.exited.value)
            .order_by(col(Participant.code))
        )
    )


def _may_see(actor: Principal, *, organisation_id: int, worker_id: int, made_by_id: int) -> bool:
    role = actor.role_in(organisation_id)
    if role == Role.supervisor:
        return True
    return role == Role.interrupter and actor.user_id in (worker_id, made_by_id)


def make_referral(
    *,
    session: Session,
    actor: Principal,
    data: ReferralInput,
    client_uuid: str,
    now: datetime | None = None,
) -> tuple[Referral, bool]:
    """Store a referral once per UUID; return it and whether it was created now."""
    now = now or utcnow()
    if not actor.has_role(*REFERRAL_ROLES):
        raise NotAllowed()
    digest = data.payload_hash()
    existing = find_replay(
        session=session,
        model=Referral,
        client_uuid=client_uuid,
        digest=digest,
        author=("made_by_id", actor.user_id),
    )
    if existing is not None:
        return existing, False
    errors: dict[str, object] = {}
    participant = session.get(Participant, data.participant_id)
    if (
        participant is None
        or participant.status == ParticipantStatus.exited
        or not _may_see(
            actor,
            organisation_id=participant.organisation_id,
            worker_id=participant.worker_id,
            made_by_id=-1,
        )
    ):
        errors["participant_id"] = _l("Choose a participant of your caseload.")
    service = session.get(Service, data.service_id)
    if service is None or not service.active:
        errors["service_id"] = _l("Choose a service from the directory.")
    if data.made_at.tzinfo is None:
        errors["made_at"] = _l("Give the time with its time zone.")
    elif data.made_at > now + FUTURE_TOLERANCE:
        errors["made_at"] = _l("The time is in the future.")
    if not data.consent_given:
        errors["consent_given"] = _l("A referral needs the participant's consent.")
    if (
        data.follow_up_on is not None
        and data.made_at.tzinfo
        and data.follow_up_on < (data.made_at.date())
    ):
        errors["follow_up_on"] = _l("The follow-up is before the referral.")
    if errors:
        raise InvalidInput(errors)
    assert participant is not None
    referral = Referral.model_validate(
        data.model_dump(),
        update={
            "client_uuid": client_uuid,
            "payload_hash": digest,
            "organisation_id": participant.organisation_id,
            "made_by_id": actor.user_id,
            "received_at": now,
            "status": ReferralStatus.made.value,
            "status_changed_at": data.made_at,
        },
    )
    session.add(referral)
    session.flush()
    return referral, True


def get_referral(
    *, session: Session, actor: Principal, referral_id: int, audit: bool = False
) -> Referral:
    """A referral the actor may see: own participants' (or own), or the organisation's.

    With `audit`, the read is written to the audit log (a person-level page, like the
    participant's)."""
    referral = session.get(Referral, referral_id)
    if referral is None:
        raise NotVisible()
    participant = session.get(Participant, referral.participant_id)
    if participant is None or not _may_see(
        actor,
        organisation_id=referral.organisation_id,
        worker_id=participant.worker_id,
        made_by_id=referral.made_by_id,
    ):
        raise NotVisible()
    if audit:
        record_event(
            session=session,
            event="referral_viewed",
            actor_id=actor.user_id,
            object_type="referral",
            object_id=referral.id,
            organisation_id=referral.organisation_id,
        )
    return referral


def update_referral(
    *,
    session: Session,
    actor: Principal,
    referral_id: int,
    data: ReferralUpdateInput,
    client_uuid: str,
    now: datetime | None = None,
) -> tuple[ReferralUpdate, bool]:
    """Record a status change once per UUID; the referral shows the newest one.

    Updates sent offline may arrive out of order: an older one is kept in the history but does
    not overwrite a newer status. A closed referral takes no newer change.
    """
    now = now or utcnow()
    digest = data.payload_hash()
    existing = find_replay(
        session=session,
        model=ReferralUpdate,
        client_uuid=client_uuid,
        digest=digest,
        author=("author_id", actor.user_id),
    )
    if existing is not None:
        return existing, False
    referral = get_referral(session=session, actor=actor, referral_id=referral_id)
    errors: dict[str, object] = {}
    if data.status == ReferralStatus.made:
        errors["status"] = _l("Choose where the referral got to.")
    if data.occurred_at.tzinfo is None:
        errors["occurred_at"] = _l("Give the time with its time zone.")
    elif data.occurred_at > now + FUTURE_TOLERANCE:
        errors["occurred_at"] = _l("The time is in the future.")
    elif data.occurred_at < referral.made_at:
        errors["occurred_at"] = _l("The time is before the referral was made.")
    newer = data.occurred_at.tzinfo is not None and data.occurred_at >= referral.status_changed_at
    if newer and referral.closed_at is not None:
        errors["status"] = _l("The referral is closed already.")
    if errors:
        raise InvalidInput(errors)
    closes = data.status in CLOSED
    update = ReferralUpdate.model_validate(
        data.model_dump(),
        update={
            "client_uuid": client_uuid,
            "payload_hash": digest,
            "referral_id": referral.id,
            "author_id": actor.user_id,
            "follow_up_on": None if closes else data.follow_up_on,
            "received_at": now,
        },
    )
    session.add(update)
    if newer:
        referral.status = data.status.value
        referral.status_changed_at = data.occurred_at
        referral.follow_up_on = None if closes else data.follow_up_on
        referral.closed_at = data.occurred_at if closes else None
        session.add(referral)
    session.flush()
    return update, True


def referral_history(*, session: Session, referral_id: int) -> list[ReferralUpdate]:
    """A referral's status changes, oldest first (the caller checked visibility)."""
    return list(
        session.exec(
            select(ReferralUpdate)
            .where(ReferralUpdate.referral_id == referral_id)
            .order_by(col(ReferralUpdate.occurred_at), col(ReferralUpdate.id))
        )
    )


def _visible_query(actor: Principal) -> Any:
    """Referrals the actor may see: the supervisor's organisation's, the interrupter's own
    participants' and those the interrupter made."""
    supervised = actor.organisations(Role.supervisor)
    own = actor.organisations(Role.interrupter)
    if not supervised and not own:
        raise NotAllowed()
    conditions: list[Any] = []
    if supervised:
        conditions.append(col(Referral.organisation_id).in_(supervised))
    if own:
        conditions.append(
            col(Referral.organisation_id).in_(own)
            & ((Participant.worker_id == actor.user_id) | (Referral.made_by_id == actor.user_id))
        )
    return (
        select(Referral)
        .join(Participant, col(Participant.id) == Referral.participant_id)
        .where(or_(*conditions))
    )


def visible_referrals(
    *,
    session: Session,
    actor: Principal,
    participant_id: int | None = None,
    open_only: bool = False,
) -> list[Referral]:
    """Referrals the actor may see: open ones first, the soonest follow-up first."""
    query = _visible_query(actor)
    if participant_id is not None:
        query = query.where(Referral.participant_id == participant_id)
    if open_only:
        query = query.where(col(Referral.closed_at).is_(None))
    found = list(session.exec(query.order_by(col(Referral.made_at).desc())))
    return sorted(
        found,
        key=lambda r: (r.closed_at is not None, r.follow_up_on is None, r.follow_up_on or date.max),
    )


# A referral without a follow-up date sorts after every dated one.
_NO_FOLLOW_UP = date(9999, 12, 31)


def open_referrals(
    *, session: Session, actor: Principal, cursor: Cursor | None = None, size: int = PAGE_SIZE
) -> Page[Referral]:
    """One page of the open referrals the actor may see, the soonest follow-up first (those
    without one last), after `cursor`."""
    query = after(
        _visible_query(actor).where(col(Referral.closed_at).is_(None)),
        cursor=cursor,
        sort=func.coalesce(col(Referral.follow_up_on), _NO_FOLLOW_UP),
        id_column=col(Referral.id),
        descending=False,
    )
    return fetch_page(
        session, query, size=size, key=lambda r: Cursor(r.follow_up_on or _NO_FOLLOW_UP, r.id)
    )


def closed_referrals(
    *, session: Session, actor: Principal, cursor: Cursor | None = None, size: int = PAGE_SIZE
) -> Page[Referral]:
    """One page of the closed referrals the actor may see, the latest closed first."""
    query = after(
        _visible_query(actor).where(col(Referral.closed_at).is_not(None)),
        cursor=cursor,
        sort=col(Referral.closed_at),
        id_column=col(Referral.id),
    )
    return fetch_page(session, query, size=size, key=lambda r: Cursor(r.closed_at, r.id))


def participant_codes(*, session: Session, referrals: list[Referral]) -> dict[int, str]:
    """Participant codes by id for the referrals shown on a page (one query)."""
    ids = {r.participant_id for r in referrals}
    if not ids:
        return {}
    rows = session.exec(
        select(Participant.id, Participant.code).where(col(Participant.id).in_(ids))
    )
    return {pid: code for pid, code in rows if pid is not None}


def due_referrals(*, session: Session, today: date) -> list[tuple[Referral, int]]:
    """Open referrals whose follow-up is due and not yet reminded of, with the owner to remind.

    The owner is the participant's assigned worker (who follows the case), or whoever made it.
    A participant whose case is closed is not followed up any more.
    """
    rows = session.exec(
        select(Referral, Participant.worker_id)
        .join(Participant, col(Participant.id) == Referral.participant_id)
        .where(Participant.status != ParticipantStatus.exited.value)
        .where(col(Referral.closed_at).is_(None))
        .where(col(Referral.follow_up_on).is_not(None))
        .where(col(Referral.follow_up_on) <= today)
    ).all()
    return [
        (referral, worker_id or referral.made_by_id)
        for referral, worker_id in rows
        if referral.reminded_for != referral.follow_up_on
    ]


def own_referral_follow_ups(*, session: Session, actor: Principal) -> list[tuple[str, date, int]]:
    """(participant code, follow-up date, referral id) of the open referrals of the actor's own
    caseload, soonest first: codes and dates only, for the page kept on the phone."""
    rows = session.exec(
        select(col(Participant.code), col(Referral.follow_up_on), col(Referral.id))
        .select_from(Referral)
        .join(Participant, col(Participant.id) == Referral.participant_id)
        .where(Participant.worker_id == actor.user_id)
        .where(col(Referral.organisation_id).in_(actor.organisations(*REFERRAL_ROLES)))
        .where(col(Referral.closed_at).is_(None))
        .where(col(Referral.follow_up_on).is_not(None))
        .order_by(col(Referral.follow_up_on), col(Participant.code))
    ).all()
    return [(code, due, rid) for code, due, rid in rows if due is not None and rid is not None]
