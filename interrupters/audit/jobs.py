"""The audit log's periodic job: summing up repeated denials once their window has closed."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlmodel import Session

from interrupters.audit import services


def summarise_denials(*, session: Session, now: datetime) -> int:
    """Write the summaries of closed denial windows (idempotent; commits once)."""
    written = services.summarise_denials(
        session=session, now=now, window=services.denial_window(current_app.config)
    )
    session.commit()
    return written
