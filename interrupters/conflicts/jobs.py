"""Reminders of follow-ups that are due: mediations' and participants' (issue 4, item 5).

Each job selects what is due and not done, notifies, marks and commits once; a notification's
unique key (recipient, kind, subject) makes a second run, or a second scheduler, harmless.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from interrupters.conflicts.models import Mediation
from interrupters.db import utcnow
from interrupters.participants.models import Participant
from interrupters.participants.values import ParticipantStatus
from interrupters.push.services import remind_follow_up

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
        sent += remind_follow_up(
            session=session,
            owner_id=mediation.author_id,
            subject=f"mediation:{mediation.id}:{mediation.follow_up_on}",
            url=f"/conflicts/{mediation.conflict_id}",
            now=now,
        )
        mediation.follow_up_reminded_at = now
        session.add(mediation)
    # Participants: the follow-up date of their latest contact, to the assigned worker.
    for participant_id, worker_id, due in _participant_follow_ups(session=session, today=today):
        sent += remind_follow_up(
            session=session,
            owner_id=worker_id,
            subject=f"participant:{participant_id}:{due}",
            url=f"/participants/{participant_id}",
            now=now,
        )
    session.commit()
    if sent:
        logger.info("follow-up reminders: %d", sent)
    return sent


def _participant_follow_ups(*, session: Session, today: date) -> list[tuple[int, int, date]]:
    """(participant, worker, due date) for active participants whose next follow-up is due:
    the follow-up of the participant's latest contact, kept on the participant."""
    rows = session.exec(
        select(col(Participant.id), col(Participant.worker_id), col(Participant.next_follow_up))
        .where(Participant.status != ParticipantStatus.exited.value)
        .where(col(Participant.next_follow_up) <= today)
    ).all()
    return [
        (participant_id, worker_id, due)
        for participant_id, worker_id, due in rows
        if participant_id is not None and due is not None
    ]
