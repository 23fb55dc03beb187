"""Write and verify the hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from interrupters.audit.models import AuditEvent
from interrupters.db import is_postgresql, utcnow

logger = logging.getLogger(__name__)

# Any constant: one PostgreSQL advisory lock serialises appends to the chain.
_CHAIN_LOCK = 0x1A7D17


_CHAINED_COLUMNS = (
    "id",
    "at",
    "actor_id",
    "event",
    "object_type",
    "object_id",
    "organisation_id",
    "detail",
    "prev_hash",
    "hash",
)


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


@dataclass(frozen=True)
class BrokenLink:
    """The first event whose link does not hold: its id, its time and what is wrong."""

    event_id: int
    at: datetime
    reason: str  # "prev_hash": it does not point at the event before; "hash": its content changed


def verify_chain(*, session: Session, batch: int = 1000) -> BrokenLink | None:
    """Check every link of the chain in id order; return the first broken one, or None.

    An event is broken when its `prev_hash` is not the hash of the event before it (one was
    inserted, deleted or reordered) or its own `hash` is not the digest of its content (it was
    changed). Read in batches of `batch` rows so a long log does not sit in memory at once.
    """
    previous: str | None = None
    last_id = 0
    columns = [getattr(AuditEvent, name) for name in _CHAINED_COLUMNS]
    while True:
        # Plain rows, not entities: a long log must not fill the caller's session.
        rows = session.exec(
            select(*columns)
            .where(col(AuditEvent.id) > last_id)
            .order_by(col(AuditEvent.id))
            .limit(batch)
        ).all()
        if not rows:
            return None
        for values in rows:
            row = AuditEvent(**dict(zip(_CHAINED_COLUMNS, values, strict=True)))
            assert row.id is not None
            if row.prev_hash != previous:
                return BrokenLink(event_id=row.id, at=row.at, reason="prev_hash")
            if row.hash != _digest(row):
                return BrokenLink(event_id=row.id, at=row.at, reason="hash")
            previous = row.hash
            last_id = row.id
