"""What the admin's screens read: users with their memberships, districts with areas and places.

The writes live in their domains (`auth.services`, `auth.organisations`, `places.services`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from interrupters.auth.models import DeviceSession, Invitation, Membership, Organisation, User
from interrupters.auth.principal import Principal
from interrupters.auth.values import Role
from interrupters.db import utcnow
from interrupters.errors import NotAllowed, NotVisible
from interrupters.paging import Cursor, Page, after, fetch_page
from interrupters.places.models import District, Place
from interrupters.places.services import AreaPlaces, areas_with_places

logger = logging.getLogger(__name__)

USERS_PAGE = 50  # the admin's list of users, a page at a time


@dataclass(frozen=True)
class MembershipRow:
    organisation_id: int
    organisation_name: str
    role: str


@dataclass(frozen=True)
class UserSummary:
    """A user as the admin sees them: never the password hash."""

    id: int
    display_name: str
    email: str
    active: bool
    has_password: bool
    memberships: list[MembershipRow]


@dataclass(frozen=True)
class UserDetail:
    user: UserSummary
    locale: str
    pledge_accepted_at: datetime | None
    created_at: datetime
    invitation_expires_at: datetime | None
    devices_signed_in: int


@dataclass(frozen=True)
class DistrictPlaces:
    district: District
    areas: list[AreaPlaces]


def _admin_check(actor: Principal) -> None:
    if not actor.has_role(Role.admin):
        raise NotAllowed()


def _memberships(*, session: Session, user_ids: list[int]) -> dict[int, list[MembershipRow]]:
    rows = session.exec(
        select(Membership.user_id, Membership.organisation_id, Organisation.name, Membership.role)
        .join(Organisation, col(Organisation.id) == col(Membership.organisation_id))
        .where(col(Membership.user_id).in_(user_ids))
        .order_by(col(Organisation.name))
    )
    result: dict[int, list[MembershipRow]] = {}
    for user_id, organisation_id, name, role in rows:
        result.setdefault(user_id, []).append(MembershipRow(organisation_id, name, role))
    return result


def _summary(user: User, memberships: list[MembershipRow]) -> UserSummary:
    assert user.id is not None
    return UserSummary(
        id=user.id,
        display_name=user.display_name,
        email=user.email,
        active=user.active,
        has_password=user.password_hash is not None,
        memberships=memberships,
    )


def list_users(
    *, session: Session, actor: Principal, organisation_id: int | None = None
) -> list[UserSummary]:
    """Every user by name (or the members of one organisation) with their memberships."""
    _admin_check(actor)
    query = _users(organisation_id).order_by(col(User.display_name), col(User.id))
    return _summaries(session, session.exec(query).all())


def users_page(
    *,
    session: Session,
    actor: Principal,
    organisation_id: int | None = None,
    cursor: Cursor | None = None,
    size: int = USERS_PAGE,
) -> Page[UserSummary]:
    """One page of the users by name (or of one organisation's members), after `cursor`."""
    _admin_check(actor)
    query = after(
        _users(organisation_id),
        cursor=cursor,
        sort=col(User.display_name),
        id_column=col(User.id),
        descending=False,
    )
    page = fetch_page(session, query, size=size, key=lambda u: Cursor(u.display_name, u.id))
    return Page(items=_summaries(session, page.items), next_cursor=page.next_cursor)


def _users(organisation_id: int | None) -> Any:
    query = select(User)
    if organisation_id is not None:
        members = select(Membership.user_id).where(Membership.organisation_id == organisation_id)
        query = query.where(col(User.id).in_(members))
    return query


def _summaries(session: Session, users: Sequence[User]) -> list[UserSummary]:
    memberships = _memberships(session=session, user_ids=[u.id for u in users if u.id is not None])
    return [_summary(user, memberships.get(user.id or 0, [])) for user in users]


def get_user_detail(
    *, session: Session, actor: Principal, user_id: int, now: datetime | None = None
) -> UserDetail:
    """One user with memberships, the pending invitation and how many devices are signed in."""
    _admin_check(actor)
    user = session.get(User, user_id)
    if user is None:
        raise NotVisible()
    now = now or utcnow()
    invitation = session.exec(
        select(Invitation)
        .where(Invitation.user_id == user_id)
        .where(col(Invitation.used_at).is_(None))
        .where(Invitation.expires_at > now)
        .order_by(col(Invitation.expires_at).desc())
    ).first()
    devices = session.exec(
        select(DeviceSession)
        .where(DeviceSession.user_id == user_id)
        .where(col(DeviceSession.revoked_at).is_(None))
        .where(DeviceSession.expires_at > now)
    ).all()
    # Same rule as `auth.services.list_devices`: an idle session is over.
    signed_in = [d for d in devices if now - d.last_seen_at <= timedelta(minutes=d.idle_minutes)]
    memberships = _memberships(session=session, user_ids=[user_id]).get(user_id, [])
    return UserDetail(
        user=_summary(user, memberships),
        locale=user.locale,
        pledge_accepted_at=user.pledge_accepted_at,
        created_at=user.created_at,
        invitation_expires_at=invitation.expires_at if invitation else None,
        devices_signed_in=len(signed_in),
    )


def list_districts(*, session: Session) -> list[District]:
    """Every district by name."""
    return list(session.exec(select(District).order_by(col(District.name))).all())


def places_overview(*, session: Session, actor: Principal) -> list[DistrictPlaces]:
    """Every district with its areas and their places, retired places included."""
    _admin_check(actor)
    by_district: dict[int, list[AreaPlaces]] = {}
    for group in areas_with_places(session=session, active_only=False):
        by_district.setdefault(group.area.district_id, []).append(group)
    return [
        DistrictPlaces(district=district, areas=by_district.get(district.id or 0, []))
        for district in list_districts(session=session)
    ]


def get_place(*, session: Session, actor: Principal, place_id: int) -> Place:
    """One place, retired or not, for its edit form."""
    _admin_check(actor)
    place = session.get(Place, place_id)
    if place is None:
        raise NotVisible()
    return place


def user_counts(*, session: Session) -> tuple[int, int]:
    """(active, all) users: the admin's home."""
    total = int(session.exec(select(func.count()).select_from(User)).one())
    active = int(
        session.exec(select(func.count()).select_from(User).where(col(User.active).is_(True))).one()
    )
    return active, total
