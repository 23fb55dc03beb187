"""The nightly retention run."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from interrupters.retention.services import RetentionReport, apply_retention


def apply_nightly(*, session: Session, now: datetime) -> RetentionReport:
    """Blank and anonymise what is past every organisation's periods; commit once."""
    report = apply_retention(session=session, now=now)
    session.commit()
    return report
