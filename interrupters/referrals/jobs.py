"""A referral's follow-up reminds its owner when it is due (issue 11, item 5).

Selects the open referrals whose follow-up is due and not yet reminded of, notifies, marks and
commits once; the notification's unique key (recipient, kind, subject) makes a second run, or a
second scheduler, harmless. A new follow-up date reminds again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from interrupters.db import utcnow
from interrupters.push.services import remind_follow_up
from interrupters.referrals.services import due_referrals

logger = logging.getLogger(__name__)
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def remind_referral_follow_ups(*, session: Session, now: datetime | None = None) -> int:
    """Remind each owner of the referrals to follow up today or earlier; return how many."""
    now = now or utcnow()
    today = now.astimezone(STOCKHOLM).date()
    sent = 0
    for referral, owner_id in due_referrals(session=session, today=today):
        # Lock screens are public: a generic text; the referral opens in the app.
        sent += remind_follow_up(
            session=session,
            owner_id=owner_id,
            subject=f"referral:{referral.id}:{referral.follow_up_on}",
            url=f"/referrals/{referral.id}",
            now=now,
        )
        referral.reminded_for = referral.follow_up_on
        session.add(referral)
    session.commit()
    if sent:
        logger.info("referral follow-up reminders: %d", sent)
    return sent
