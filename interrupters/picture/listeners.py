"""The weekend briefing's draft starts from the current picture (briefings announce a new
draft; the picture answers with its statuses and open actions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from interrupters.briefings.signals import briefing_drafting
from interrupters.picture import services


@briefing_drafting.connect
def start_from_picture(
    session: Session, *, district_ids: list[int], now: datetime, **_: Any
) -> dict[str, Any] | None:
    start = services.briefing_start(session=session, district_ids=district_ids, now=now)
    if not start.statuses and not start.lines:
        return None
    return {
        "statuses": start.statuses,
        "lines": start.lines,
        "period_ends_at": start.period.ends_at if start.period else None,
    }
