"""Reminders of follow-ups that are due: mediations' and participants' (issue 4, item 5).

Each job selects what is due and not done, notifies, marks and commits once; a notification's
unique key (recipient, kind, subject) makes a second run, or a second scheduler, harmless.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, select

from interrupters.conflicts.models import Mediation
from interrupters.contacts.models import Contact
from interrupters.db import utcnow
from interrupters.enums import ParticipantStatus
from interrupters.participants.models import Participant
from interrupters.push.services import notify

logger = logging.getLogger(__name__)
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def remind_follow_ups(*, session: Session, now: datetime | None = None) -> int:
    """Remind each owner of the follow-ups due today or earlier; return how many were sent."""
    now = now or utcnow()
    today = now.astimezone(STOCKHOLM).date()
    sent = 0
    # Mediations: the follow-up the mediation set, to the worker who recorded it.
    for mediation in session.exec(
        select(Mediation)
        .where(col(Mediation.follow_up_on).is_not(None))
        .where(col(Mediation.follow_up_on) <= today)
        .where(col(Mediation.follow_up_reminded_at).is_(None))
    ):
        sent += len(
            notify(
                session=session,
                recipient_ids=[mediation.author_id],
                kind="follow_up_due",
                subject=f"mediation:{mediation.id}:{mediation.follow_up_on}",
                title=_l("A follow-up is due"),
                body=_l("Open the app to see which one."),
                url=f"/conflicts/{mediation.conflict_id}",
                now=now,
            )
        )
        mediation.follow_up_reminded_at = now
        session.add(mediation)
    # Participants: the follow-up date of their latest contact, to the assigned worker.
    for participant_id, worker_id, due in _participant_follow_ups(session=session, today=today):
        sent += len(
            notify(
                session=session,
                recipient_ids=[worker_id],
                kind="follow_up_due",
                subject=f"participant:{participant_id}:{due}",
                title=_l("A follow-up is due"),
                body=_l("Open the app to see which one."),
                url=f"/participants/{participant_id}",
                now=now,
            )
        )
    session.commit()
    if sent:
        logger.info("follow-up reminders: %d", sent)
    return sent


def _participant_follow_ups(*, session: Session, today: date) -> list[tuple[int, int, date]]:
    """(participant, worker, due date) for active participants whose next follow-up is due."""
    rows = session.exec(
        select(
            col(Participant.id),
            col(Participant.worker_id),
            col(Contact.follow_up_on),
            col(Contact.occurred_at),
        )
        .join(Contact, col(Contact.participant_id) == Participant.id)
        .where(Participant.status != ParticipantStatus.exited.value)
        .order_by(col(Contact.occurred_at))
    ).all()
    latest: dict[int, tuple[int, date | None]] = {}
    for participant_id, worker_id, follow_up_on, _occurred in rows:
        if participant_id is not None:
            latest[participant_id] = (worker_id, follow_up_on)
    return [
        (participant_id, worker_id, due)
        for participant_id, (worker_id, due) in latest.items()
        if due is not None and due <= today
    ]
