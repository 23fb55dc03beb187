"""Exactly-once receipt of records from the phones' outboxes.

Transport only: each record kind registers a handler that calls its domain's service, the
same one the online form calls. This module decides what an answer means for the phone.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from interrupters.audit.services import record_event
from interrupters.auth.principal import Principal
from interrupters.db import utcnow
from interrupters.errors import DuplicateRecord, InvalidInput
from interrupters.sync.models import HeldRecord

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    stored = "stored"  # created now
    replayed = "replayed"  # the same record again: already stored
    needs_correction = "needs_correction"  # held for its author, with the reason
    conflict = "conflict"  # the UUID is known with other content


@dataclass(frozen=True)
class Received:
    outcome: Outcome
    record_id: int | str | None = None
    errors: dict[str, str] | None = None


# A handler stores one record through its domain's service and returns (id, created).
# It raises InvalidInput for a record to hold, DuplicateRecord for a conflict.
Handler = Callable[..., tuple[int | str, bool]]
HANDLERS: dict[str, Handler] = {}


# Where each kind's records are stored: (table model, its author column).
STORED: dict[str, tuple[type[Any], str]] = {}


def register(
    kind: str, *, stored: tuple[type[Any], str] | None = None
) -> Callable[[Handler], Handler]:
    """Register the handler of a record kind (contact, conflict flag, walk report, ...).

    `stored` names the table the kind's records land in and its author column: a record
    that no longer passes the rules (its place retired, its conflict closed) but whose UUID
    is stored already is the same record again, never a second one held for correction.
    """

    def decorate(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        if stored is not None:
            STORED[kind] = stored
        return handler

    return decorate


def _already_stored(session: Session, kind: str, client_uuid: str) -> Any:
    if kind not in STORED:
        return None
    model, _author = STORED[kind]
    return session.exec(select(model).where(model.client_uuid == client_uuid)).first()


# What a handler keeps for the other records of the batch being received (None: no batch).
_batch: ContextVar[dict[Any, Any] | None] = ContextVar("sync_batch", default=None)


@contextmanager
def batch_scope() -> Iterator[None]:
    """Receive several records of one request: `batch_memo` keeps values until the block ends."""
    token = _batch.set({})
    try:
        yield
    finally:
        _batch.reset(token)


def batch_memo(key: Any, make: Callable[[], Any]) -> Any:
    """`make()` once a batch (every call outside a batch): for what each record would re-read."""
    memo = _batch.get()
    if memo is None:
        return make()
    if key not in memo:
        memo[key] = make()
    return memo[key]


def batch_keep(key: Any, load: Callable[[], Any]) -> None:
    """Inside a batch only, `load()` once and keep its rows referenced until the batch ends.

    The session's identity map holds rows weakly: a row nobody references is read again by
    the next `session.get()`. Reference rows every record of a batch looks up (places, areas)
    are then found there without a query. Outside a batch this does nothing.
    """
    memo = _batch.get()
    if memo is not None and key not in memo:
        memo[key] = load()


def payload_hash(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _plain_errors(errors: dict[str, Any]) -> dict[str, str]:
    """Errors as stored text (lazy messages are rendered in the default language)."""
    return {
        key: " ".join(map(str, value)) if isinstance(value, list) else str(value)
        for key, value in errors.items()
    }


def receive(
    *,
    session: Session,
    actor: Principal,
    kind: str,
    client_uuid: str,
    payload: dict[str, Any],
    now: datetime | None = None,
) -> Received:
    """Store a record once, whatever how often it arrives; the caller commits, then answers."""
    now = now or utcnow()
    digest = payload_hash(payload)
    held = session.exec(select(HeldRecord).where(HeldRecord.client_uuid == client_uuid)).first()
    if held is not None:
        if held.author_id != actor.user_id or held.payload_hash != digest or held.kind != kind:
            return Received(Outcome.conflict)
        return Received(Outcome.needs_correction, errors=held.errors)
    handler = HANDLERS.get(kind)
    if handler is None:
        raise InvalidInput({"kind": "unknown record kind"})
    try:
        record_id, created = handler(
            session=session, actor=actor, payload=payload, client_uuid=client_uuid, now=now
        )
    except DuplicateRecord:
        return Received(Outcome.conflict)
    except InvalidInput as error:
        stored = _already_stored(session, kind, client_uuid)
        if stored is not None:
            # The phone never changes a sealed record: its own UUID again is a replay.
            same_author = getattr(stored, STORED[kind][1]) == actor.user_id
            return Received(Outcome.replayed if same_author else Outcome.conflict)
        errors = _plain_errors(error.errors)
        session.add(
            HeldRecord(
                client_uuid=client_uuid,
                kind=kind,
                author_id=actor.user_id,
                payload=payload,
                payload_hash=digest,
                errors=errors,
                received_at=now,
            )
        )
        session.flush()
        record_event(
            session=session,
            event="record_held",
            actor_id=actor.user_id,
            object_type=kind,
            detail={"fields": sorted(errors)},
            now=now,
        )
        return Received(Outcome.needs_correction, errors=errors)
    return Received(Outcome.stored if created else Outcome.replayed, record_id=record_id)


def held_records(*, session: Session, actor: Principal, kind: str) -> list[HeldRecord]:
    """The actor's records of a kind that still need correction, oldest first."""
    return list(
        session.exec(
            select(HeldRecord)
            .where(HeldRecord.author_id == actor.user_id)
            .where(HeldRecord.kind == kind)
            .where(col(HeldRecord.resolved_at).is_(None))
            .order_by(col(HeldRecord.received_at))
        )
    )


def get_held(*, session: Session, actor: Principal, held_id: int) -> HeldRecord | None:
    held = session.get(HeldRecord, held_id)
    if held is None or held.author_id != actor.user_id:
        return None
    return held


def open_held(
    *, session: Session, actor: Principal, held_id: int | None, kind: str
) -> HeldRecord | None:
    """The actor's own held record of `kind` that still needs correction, if that is it."""
    held = None if held_id is None else get_held(session=session, actor=actor, held_id=held_id)
    return held if held is not None and held.kind == kind and held.resolved_at is None else None


def resolve_held(
    *,
    session: Session,
    actor: Principal,
    held_id: int,
    resolved_as: int | str,
    now: datetime | None = None,
) -> None:
    """Mark a held record as corrected into a stored record (or dismissed)."""
    held = get_held(session=session, actor=actor, held_id=held_id)
    if held is None or held.resolved_at is not None:
        return
    held.resolved_at = now or utcnow()
    held.resolved_as = str(resolved_as)
    session.add(held)


def record_discarded(*, session: Session, actor: Principal, kinds: list[str]) -> None:
    """Write to the audit log that records were discarded unsent from a phone."""
    counts: dict[str, int] = {}
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    record_event(
        session=session,
        event="outbox_discarded",
        actor_id=actor.user_id,
        detail={"counts": counts, "total": len(kinds)},
    )
