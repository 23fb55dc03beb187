"""Going on and off duty, and who is on duty in an area or a district now."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, select

from interrupters.auth.principal import Principal
from interrupters.auth.values import Role
from interrupters.db import utcnow
from interrupters.duty.models import Duty
from interrupters.errors import InvalidInput, NotAllowed
from interrupters.places.models import Area

DUTY_ROLES = (Role.interrupter, Role.supervisor)


def start_duty(
    *,
    session: Session,
    actor: Principal,
    area_ids: list[int],
    hours: int,
    now: datetime | None = None,
) -> list[Duty]:
    """Go on duty in some areas for a shift: escalations there reach this worker at once."""
    if not actor.has_role(*DUTY_ROLES):
        raise NotAllowed()
    if not area_ids or not 1 <= hours <= 16:
        raise InvalidInput({"area_ids": _l("Choose at least one area and 1 to 16 hours.")})
    now = now or utcnow()
    end_duty(session=session, actor=actor, now=now)
    duties = []
    for area_id in sorted(set(area_ids)):
        if session.get(Area, area_id) is None:
            raise InvalidInput({"area_ids": _l("Choose an area from the list.")})
        duty = Duty(
            user_id=actor.user_id,
            area_id=area_id,
            starts_at=now,
            ends_at=now + timedelta(hours=hours),
        )
        session.add(duty)
        duties.append(duty)
    session.flush()
    return duties


def end_duty(*, session: Session, actor: Principal, now: datetime | None = None) -> None:
    now = now or utcnow()
    for duty in current_duty(session=session, actor=actor, now=now):
        duty.ends_at = now
        session.add(duty)


def current_duty(*, session: Session, actor: Principal, now: datetime | None = None) -> list[Duty]:
    now = now or utcnow()
    return list(
        session.exec(
            select(Duty)
            .where(Duty.user_id == actor.user_id)
            .where(Duty.starts_at <= now)
            .where(Duty.ends_at > now)
        )
    )


def on_duty(
    *,
    session: Session,
    user_ids: Collection[int],
    now: datetime,
    area_id: int | None = None,
    district_id: int | None = None,
) -> set[int]:
    """Which of these people are on duty now in the area (or anywhere in the district)."""
    query = (
        select(Duty.user_id)
        .where(col(Duty.user_id).in_(list(user_ids)))
        .where(Duty.starts_at <= now)
        .where(Duty.ends_at > now)
    )
    if area_id is not None:
        query = query.where(Duty.area_id == area_id)
    if district_id is not None:
        query = query.join(Area, col(Area.id) == Duty.area_id).where(
            Area.district_id == district_id
        )
    return set(session.exec(query))
