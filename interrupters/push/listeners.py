"""What push does when other parts of the app announce something (their signals)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, select

from interrupters.auth.models import Membership
from interrupters.auth.principal import Principal
from interrupters.auth.signals import devices_signed_out
from interrupters.enums import Role
from interrupters.push.services import forget_devices, notify
from interrupters.records.models import HeldRecord
from interrupters.records.signals import escalation_held


@escalation_held.connect
def _alert_held_escalation(
    session: Session, *, actor: Principal, held: HeldRecord, now: datetime, **_: Any
) -> None:
    """A conflict flag or raise to level 3-4 that the server held: the supervisors must know
    an unconfirmed escalation waits. Generic text: it names no place, party or person."""
    organisations = actor.organisations(Role.interrupter, Role.supervisor)
    supervisors = set(
        session.exec(
            select(Membership.user_id)
            .where(col(Membership.organisation_id).in_(organisations))
            .where(Membership.role == Role.supervisor.value)
        )
    )
    notify(
        session=session,
        recipient_ids=sorted(supervisors - {actor.user_id}) or sorted(supervisors),
        kind="escalation_held",
        subject=f"held:{held.id}",
        title=_l("An unconfirmed escalation waits for correction"),
        body=_l("A raised conflict sent from a phone could not be saved. Open the app."),
        url="/records/held/team",
        requires_ack=True,
        now=now,
    )


@devices_signed_out.connect
def _forget_devices(session: Session, *, device_session_ids: list[int], **_: Any) -> None:
    """A signed-out phone gets no more pushes (its browser is wiped too)."""
    forget_devices(session=session, device_session_ids=device_session_ids)
