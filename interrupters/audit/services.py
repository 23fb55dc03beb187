"""Write and verify the hash-chained audit log."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, text, update
from sqlmodel import Session, col, select

from interrupters.audit.models import AuditEvent, DenialTally
from interrupters.auth.models import User
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


# Repeated denials -----------------------------------------------------------------------------

ACCESS_DENIED = "access_denied"
ACCESS_DENIED_REPEATED = "access_denied_repeated"
# How many denials of one actor in one window are written in full (config AUDIT_DENIALS_IN_FULL),
# and the window (AUDIT_DENIAL_WINDOW_MINUTES).
DENIALS_IN_FULL = 20
DENIAL_WINDOW = timedelta(hours=1)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def denial_window(config: Mapping[str, Any]) -> timedelta:
    """The window from the app's config (AUDIT_DENIAL_WINDOW_MINUTES), or the default hour."""
    minutes = config.get("AUDIT_DENIAL_WINDOW_MINUTES")
    return timedelta(minutes=int(minutes)) if minutes else DENIAL_WINDOW


def window_start(moment: datetime, window: timedelta = DENIAL_WINDOW) -> datetime:
    """The start of the fixed window (counted from 2000-01-01 UTC) that `moment` falls in."""
    return _EPOCH + ((moment - _EPOCH) // window) * window


def record_denial(
    *,
    session: Session,
    actor_id: int | None,
    endpoint: str | None,
    method: str,
    status: int,
    now: datetime | None = None,
    in_full: int = DENIALS_IN_FULL,
    window: timedelta = DENIAL_WINDOW,
) -> AuditEvent | None:
    """Audit a denial; past `in_full` denials of one actor in one window, only count it.

    DESIGN.md wants every denial audited, but a script probing a thousand URLs would bury the
    log. So each actor's denials are counted per fixed window (an hour by default) in
    `audit_denial_tally`: the first `in_full` become `access_denied` events in the chain, as
    before; the rest only raise the tally's count. When the window has closed,
    `summarise_denials` (a scheduler job) appends one chained `access_denied_repeated` event
    with the counts and deletes the tally.

    Chained rows are never updated (the triggers refuse it and the hashes would break), so the
    running count lives outside the chain until its window closes; from then on it is in the
    chain like everything else. Until then the tally can be read on the audit page. The caller
    commits. Returns the event written, or None when the denial was only counted.
    """
    when = now or utcnow()
    start = window_start(when, window)
    key = actor_id or 0
    if is_postgresql(session):
        # The chain's lock also serialises the count: two denials at once never both insert.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})
    # An UPDATE first: on SQLite it takes the write lock before the count is read.
    counted = session.execute(
        update(DenialTally)
        .where(col(DenialTally.actor_key) == key)
        .where(col(DenialTally.window_start) == start)
        .values(denials=col(DenialTally.denials) + 1)
    )
    if counted.rowcount == 0:  # type: ignore[attr-defined]
        session.add(DenialTally(actor_key=key, window_start=start, denials=1))
        session.flush()
    tally = session.exec(
        select(DenialTally)
        .where(DenialTally.actor_key == key)
        .where(DenialTally.window_start == start)
        .execution_options(populate_existing=True)
    ).one()
    if tally.written >= in_full:
        return None
    tally.written += 1
    return record_event(
        session=session,
        event=ACCESS_DENIED,
        actor_id=actor_id,
        detail={"endpoint": endpoint, "method": method, "status": status},
        now=when,
    )


def summarise_denials(*, session: Session, now: datetime, window: timedelta = DENIAL_WINDOW) -> int:
    """Close the tallies of windows that have ended: one chained summary where denials were
    only counted, then the tally goes. Idempotent; the caller commits (a failed commit leaves
    the tallies for the next run). Returns the summaries written."""
    current = window_start(now, window)
    closed = session.exec(
        select(DenialTally)
        .where(col(DenialTally.window_start) < current)
        .order_by(col(DenialTally.window_start), col(DenialTally.id))
    ).all()
    written = 0
    for tally in closed:
        if tally.denials > tally.written:
            record_event(
                session=session,
                event=ACCESS_DENIED_REPEATED,
                actor_id=tally.actor_key or None,
                detail={
                    "window_start": tally.window_start.isoformat(),
                    "window_end": (tally.window_start + window).isoformat(),
                    "denials": tally.denials,
                    "written": tally.written,
                    "counted_only": tally.denials - tally.written,
                },
                now=now,
            )
            written += 1
    if closed:
        session.execute(delete(DenialTally).where(col(DenialTally.id).in_([t.id for t in closed])))
    session.flush()
    if written:
        logger.info("summarised repeated denials of %d windows", written)
    return written


def open_denial_tallies(*, session: Session) -> list[DenialTally]:
    """Windows not yet summarised in which some denials were only counted (for the audit page)."""
    return list(
        session.exec(
            select(DenialTally)
            .where(col(DenialTally.denials) > col(DenialTally.written))
            .order_by(col(DenialTally.window_start).desc(), col(DenialTally.actor_key))
            .limit(50)
        )
    )


# The audit log on screen and as CSV ------------------------------------------------------------

STOCKHOLM = ZoneInfo("Europe/Stockholm")
PAGE_SIZE = 50
# An export is one file in memory: past this many events, narrow the dates.
EXPORT_LIMIT = 50_000


@dataclass(frozen=True)
class AuditFilter:
    """What the admin asked for; dates are local (Stockholm) days, both included."""

    event: str | None = None
    actor_id: int | None = None
    since: date | None = None
    until: date | None = None

    def as_detail(self) -> dict[str, Any]:
        """The filter for an export's own audit event (kinds, ids and dates: no personal data)."""
        return {
            "event": self.event,
            "actor_id": self.actor_id,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }


@dataclass
class AuditPage:
    events: list[AuditEvent]
    actors: dict[int, str]
    # The keyset of the next (older) page: its events have ids below this one.
    next_before: int | None


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=STOCKHOLM).astimezone(UTC)


def _filtered(query: Any, filters: AuditFilter) -> Any:
    if filters.event:
        query = query.where(AuditEvent.event == filters.event)
    if filters.actor_id is not None:
        query = query.where(AuditEvent.actor_id == filters.actor_id)
    if filters.since:
        query = query.where(col(AuditEvent.at) >= _local_midnight(filters.since))
    if filters.until:
        query = query.where(col(AuditEvent.at) < _local_midnight(filters.until + timedelta(days=1)))
    return query


# One index seek a kind (ix_audit_event_event_id), where SELECT DISTINCT reads every event:
# 190 ms at 500,000 events on PostgreSQL, a few ms this way.
_EVENT_KINDS = text(
    """
    WITH RECURSIVE kinds(event) AS (
        SELECT min(event) FROM audit_event
        UNION ALL
        SELECT (SELECT min(e.event) FROM audit_event e WHERE e.event > kinds.event)
        FROM kinds WHERE kinds.event IS NOT NULL
    )
    SELECT event FROM kinds WHERE event IS NOT NULL
    """
)


def event_kinds(*, session: Session) -> list[str]:
    """The kinds of event the log holds, for the filter."""
    return sorted(str(kind) for (kind,) in session.connection().execute(_EVENT_KINDS))


def list_events(
    *, session: Session, filters: AuditFilter, before: int | None = None, limit: int = PAGE_SIZE
) -> AuditPage:
    """One page of events, newest first, older than the event `before` (keyset paging)."""
    limit = max(1, min(limit, 200))
    query = _filtered(select(AuditEvent), filters)
    if before is not None:
        query = query.where(col(AuditEvent.id) < before)
    rows = list(session.exec(query.order_by(col(AuditEvent.id).desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    actor_ids = {row.actor_id for row in rows if row.actor_id is not None}
    names = (
        session.exec(select(User.id, User.display_name).where(col(User.id).in_(actor_ids))).all()
        if actor_ids
        else []
    )
    actors = {user_id: name for user_id, name in names if user_id is not None}
    return AuditPage(events=rows, actors=actors, next_before=rows[-1].id if more else None)


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    text_value = "" if value is None else str(value)
    if text_value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text_value
    return text_value


def export_events(
    *,
    session: Session,
    actor_id: int,
    filters: AuditFilter,
    headers: list[str],
    now: datetime | None = None,
) -> tuple[str, int]:
    """The filtered log as CSV for Swedish Excel (UTF-8 with BOM, semicolons); audited.

    Returns the text and how many events it holds (at most EXPORT_LIMIT, the newest). The
    export's own event is written after the rows are read, so it is in the next export."""
    rows = session.exec(
        _filtered(select(AuditEvent), filters)
        .order_by(col(AuditEvent.id).desc())
        .limit(EXPORT_LIMIT)
    ).all()
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in headers])
    for row in rows:
        writer.writerow(
            [
                row.id,
                safe_cell(row.at.astimezone(STOCKHOLM).isoformat(timespec="seconds")),
                safe_cell(row.actor_id),
                safe_cell(row.event),
                safe_cell(row.object_type),
                safe_cell(row.object_id),
                safe_cell(row.organisation_id),
                safe_cell(json.dumps(row.detail, sort_keys=True, ensure_ascii=False)),
                safe_cell(row.prev_hash),
                safe_cell(row.hash),
            ]
        )
    record_event(
        session=session,
        event="export",
        actor_id=actor_id,
        object_type="audit_log",
        detail={
            **filters.as_detail(),
            "rows": len(rows),
            "truncated": len(rows) == EXPORT_LIMIT,
        },
        now=now,
    )
    return buffer.getvalue(), len(rows)


def last_event_at(*, session: Session, event: str) -> datetime | None:
    """When `event` was last recorded (e.g. "backup_made" for the admin's home)."""
    return session.exec(
        select(AuditEvent.at).where(AuditEvent.event == event).order_by(col(AuditEvent.at).desc())
    ).first()
