"""Write and verify the hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from interrupters.audit.models import AuditEvent
from interrupters.db import is_postgresql, utcnow

logger = logging.getLogger(__name__)

# Any constant: one PostgreSQL advisory lock serialises appends to the chain.
_CHAIN_LOCK = 0x1A7D17


def _digest(event: AuditEvent) -> str:
    body = {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor_id": event.actor_id,
        "event": event.event,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "organisation_id": event.organisation_id,
        "detail": event.detail,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_event(
    *,
    session: Session,
    event: str,
    actor_id: int | None = None,
    object_type: str | None = None,
    object_id: int | str | None = None,
    organisation_id: int | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    """Append an event to the chain; the caller commits it with the work it describes."""
    if is_postgresql(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})
    row = AuditEvent(
        at=now or utcnow(),
        actor_id=actor_id,
        event=event,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        organisation_id=organisation_id,
        detail=detail or {},
    )
    session.add(row)
    # The insert takes SQLite's write lock (PostgreSQL: the advisory lock above), so the
    # previous row read next cannot change before this transaction commits.
    session.flush()
    previous = session.exec(
        select(AuditEvent.hash)
        .where(col(AuditEvent.id) < row.id)
        .order_by(col(AuditEvent.id).desc())
        .limit(1)
    ).first()
    row.prev_hash = previous
    row.hash = _digest(row)
    session.flush()
    logger.info("audit %s %s:%s", event, object_type or "-", object_id or "-")
    return row


def verify_chain(*, session: Session) -> int:
    """Check every link of the chain; return how many events were checked."""
    previous: str | None = None
    count = 0
    for row in session.exec(select(AuditEvent).order_by(col(AuditEvent.id))):
        if row.prev_hash != previous or row.hash != _digest(row):
            raise ValueError(f"audit chain broken at event {row.id}")
        previous = row.hash
        count += 1
    return count
