"""Publish scheduled briefings when their time comes, and expire them when their window ends.

Each job selects what is due and not done, acts, marks and commits once. Publication changes
the state by a conditional UPDATE, so two schedulers racing publish (and push) a briefing once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, select

from interrupters.briefings.models import Briefing
from interrupters.briefings.services import expire_briefings, publish_briefing
from interrupters.briefings.values import BriefingState
from interrupters.db import utcnow

logger = logging.getLogger(__name__)


def publish_due(*, session: Session, now: datetime | None = None) -> int:
    """Publish the scheduled briefings whose time has come; return how many this run did."""
    now = now or utcnow()
    due = session.exec(
        select(Briefing.id)
        .where(Briefing.state == BriefingState.scheduled.value)
        .where(col(Briefing.publish_at) <= now)
        .order_by(col(Briefing.publish_at))
    ).all()
    published = 0
    for briefing_id in due:
        assert briefing_id is not None
        published += publish_briefing(session=session, briefing_id=briefing_id, now=now)
    session.commit()
    if published:
        logger.info("briefings published: %d", published)
    return published


def expire_due(*, session: Session, now: datetime | None = None) -> int:
    """Expire the published briefings whose validity has ended; return how many."""
    now = now or utcnow()
    expired = expire_briefings(session=session, now=now)
    session.commit()
    if expired:
        logger.info("briefings expired: %d", expired)
    return expired
