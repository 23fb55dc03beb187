"""Create-once for every record kind, and the records the server holds for correction.

`receive` is the one place that decides what a record sent from a phone becomes: stored,
the same one again (replayed), held for its author (needs correction), a conflict (its UUID
known with other content) or refused (the sender's role may not make it). The sync endpoint
carries the answers; the domains' services do the storing (DESIGN.md, guarantees 2 and 3).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum, StrEnum
from functools import cache
from typing import Any
from uuid import uuid4

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import CompoundSelect, bindparam, insert, literal, union_all, update
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    OperationalError,
    StatementError,
)
from sqlmodel import Session, col, func, select

from interrupters.audit.services import record_event
from interrupters.auth.models import Membership, User
from interrupters.auth.principal import Principal
from interrupters.auth.values import Role
from interrupters.db import utcnow
from interrupters.errors import DuplicateRecord, InvalidInput, NotAllowed, NotVisible
from interrupters.i18n import message_of, render_message
from interrupters.records import (
    KINDS,
    RecordKind,
    batch_scope,
    forget_new,
    known_new,
    payload_hash,
)
from interrupters.records.models import CodeCounter, HeldRecord
from interrupters.records.signals import escalation_held

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    stored = "stored"  # created now
    replayed = "replayed"  # the same record again: already stored
    needs_correction = "needs_correction"  # held for its author, with the reason
    conflict = "conflict"  # the UUID is known with other content
    forbidden = "forbidden"  # the sender's role may not make this kind: nothing kept
    malformed = "malformed"  # not a record at all (unknown kind, a payload of the wrong shape)
    busy = "busy"  # a concurrent send of the same record did not settle: send again


@dataclass(frozen=True)
class Incoming:
    kind: str
    client_uuid: str
    payload: Any  # the decrypted content: checked here before any service sees it


@dataclass(frozen=True)
class Received:
    outcome: Outcome
    record_id: int | str | None = None
    errors: dict[str, str] | None = None  # in the sender's language, for the answer


# The shape of a payload: the form's own fields, each a value or a list of values.
MAX_FIELDS = 64
MAX_LIST = 64
MAX_TEXT = 4000
_KEEP = {"\n", "\t"}
# The control characters (Unicode category Cc: U+0000-001F and U+007F-009F, a set Unicode
# keeps fixed) but the newline and the tab: one regular expression, not a look-up a character.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_payload(kind: RecordKind, payload: Any) -> dict[str, Any]:
    """The payload as the services may read it, or InvalidInput / ValueError for the sender.

    Field by field: free-text fields (the kind's `free_text`, e.g. a note) have control
    characters removed (a NUL byte from a broken keyboard app must not lose the note);
    any other field holding one is refused, since no choice, id or date contains one.
    A payload of the wrong shape (not an object, nested values, huge) is a ValueError:
    malformed, nothing to correct.
    """
    if not isinstance(payload, dict) or len(payload) > MAX_FIELDS:
        raise ValueError("a payload is an object of at most 64 fields")
    cleaned: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for name, value in payload.items():
        if not isinstance(name, str) or len(name) > 64 or _CONTROLS.search(name):
            raise ValueError("field names are short text")
        values = value if isinstance(value, list) else [value]
        if len(values) > MAX_LIST:
            raise ValueError("too many values in one field")
        out: list[Any] = []
        for item in values:
            if item is None or isinstance(item, bool | int | float):
                out.append(item)
                continue
            if not isinstance(item, str):
                raise ValueError("a field holds text, numbers or a list of them")
            if len(item) > MAX_TEXT:
                errors[name] = _l("The text is too long.")
            if _CONTROLS.search(item):
                if name not in kind.free_text:
                    errors[name] = _l("It holds characters a form cannot hold.")
                item = _CONTROLS.sub("", item)
            out.append(item[:MAX_TEXT])
        cleaned[name] = out if isinstance(value, list) else out[0]
    if errors:
        # Held with the cleaned content: the author sees what arrived and why.
        raise _Unacceptable(cleaned, errors)
    return cleaned


class _Unacceptable(InvalidInput):
    def __init__(self, cleaned: dict[str, Any], errors: dict[str, Any]) -> None:
        super().__init__(errors)
        self.cleaned = cleaned


def _stored_errors(errors: dict[str, Any]) -> dict[str, Any]:
    """Errors as they are kept: a message id and its variables, shown in the reader's language."""
    stored: dict[str, Any] = {}
    for key, value in errors.items():
        if isinstance(value, list):
            value = " ".join(map(str, value))
        stored[str(key)] = message_of(value if isinstance(value, LazyString) else str(value))
    return stored


def shown_errors(errors: dict[str, Any]) -> dict[str, str]:
    """Kept errors as text in the current language (older rows kept plain text)."""
    return {
        key: render_message(value) if isinstance(value, dict) else str(value)
        for key, value in errors.items()
    }


def _held_id(payload: dict[str, Any]) -> int | None:
    """The held record a correction replaces, when the payload says so."""
    value = payload.get("held_id")
    text = str(value) if isinstance(value, int | str) else ""
    return int(text) if text.isdigit() and len(text) < 10 else None


def receive(
    *,
    session: Session,
    actor: Principal,
    records: Sequence[Incoming],
    now: datetime | None = None,
) -> list[Received]:
    """Store each record once, whatever how often it arrives; the caller commits once.

    Authorisation comes first: a kind the actor's role may not send is refused before its
    content is read, and nothing of it is kept. Then one look-up finds every UUID of the batch
    among the held records and each kind's table. Each record is stored in its own savepoint,
    so a record that fails (a value out of range, a concurrent send of its UUID) gets its own
    answer and never its neighbours'.
    """
    now = now or utcnow()
    results: list[Received | None] = [None] * len(records)
    todo: list[tuple[int, RecordKind]] = []
    for index, record in enumerate(records):
        kind = KINDS.get(record.kind)
        if kind is None:
            results[index] = Received(Outcome.malformed)
        elif not actor.has_role(*kind.roles):
            results[index] = Received(Outcome.forbidden)
        else:
            todo.append((index, kind))
    if todo:
        uuids = {records[index].client_uuid for index, _kind in todo}
        held, stored = _known(session, [(records[i].client_uuid, k) for i, k in todo])
        with batch_scope(), known_new(uuids - set(held) - set(stored)) as new:
            todo = _insert_at_once(session, actor, records, todo, new=new, into=results, now=now)
            for index, kind in todo:
                record = records[index]
                results[index] = _receive_one(
                    session, actor, kind, record, held=held, stored=stored, now=now
                )
                new.discard(record.client_uuid)
    return [result or Received(Outcome.malformed) for result in results]


def _insert_at_once(
    session: Session,
    actor: Principal,
    records: Sequence[Incoming],
    todo: list[tuple[int, RecordKind]],
    *,
    new: set[str],
    into: list[Received | None],
    now: datetime,
) -> list[tuple[int, RecordKind]]:
    """Store the batch's new records of kinds that allow it with one insert a kind.

    A record goes this way only when its UUID is new and once in the batch, it is no
    correction, and its kind's `prepare` accepts it: the valid records of a batch, which is
    what a phone mostly sends. All of them are inserted in one savepoint, one executemany a
    kind (the driver sends the rows together: psycopg pipelines them); should the database
    refuse anything there (a concurrent send of one UUID, a value it cannot hold), the
    savepoint is rolled back and every record is stored one by one, each with its own answer.
    Returns the records left to store one by one, in order.
    """
    counts = Counter(records[index].client_uuid for index, _kind in todo)
    rest: list[tuple[int, RecordKind]] = []
    candidates: list[tuple[int, RecordKind, dict[str, Any]]] = []
    for index, kind in todo:
        uuid = records[index].client_uuid
        if kind.prepare is None or counts[uuid] > 1 or uuid not in new:
            rest.append((index, kind))
            continue
        try:
            payload = clean_payload(kind, records[index].payload)
        except ValueError:
            rest.append((index, kind))  # held or malformed: answered one by one
            continue
        if _held_id(payload) is not None:
            rest.append((index, kind))
        else:
            candidates.append((index, kind, payload))
    if len(candidates) < 2:
        return todo
    rows: dict[str, list[tuple[int, Any]]] = {}
    inserted: dict[int, int] = {}
    sqlite = session.get_bind().dialect.name == "sqlite"
    try:
        # PostgreSQL aborts a transaction on any failed statement: its checks' reads (a value
        # it cannot hold) and the inserts share one savepoint, two round trips a request.
        # On SQLite the first savepoint takes the database's one write lock (BEGIN IMMEDIATE,
        # see interrupters.db), which every other request then waits for: the checks (forms,
        # references) run before it, where a failed statement fails only itself.
        with nullcontext() if sqlite else session.begin_nested():
            for index, kind, payload in candidates:
                assert kind.prepare is not None
                try:
                    row = kind.prepare(
                        session=session,
                        actor=actor,
                        payload=payload,
                        client_uuid=records[index].client_uuid,
                        now=now,
                    )
                except (InvalidInput, DuplicateRecord, NotAllowed, NotVisible, OverflowError):
                    rest.append((index, kind))  # its own answer, from `store`
                    continue
                rows.setdefault(kind.name, []).append((index, row))
            with session.begin_nested() if sqlite else nullcontext():
                for name, prepared in rows.items():
                    kind = KINDS[name]
                    ids = _insert_rows(session, kind.model, [row for _i, row in prepared])
                    if kind.inserted is not None:
                        kind.inserted(session=session, rows=[row for _i, row in prepared])
                    for index, _row in prepared:
                        inserted[index] = ids[records[index].client_uuid]
    except (DBAPIError, StatementError) as error:
        logger.info("a batch failed in the database (%s): one by one", type(error).__name__)
        return todo
    for index, record_id in inserted.items():
        into[index] = Received(Outcome.stored, record_id=record_id)
        new.discard(records[index].client_uuid)
    return sorted(rest, key=lambda pair: pair[0])


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _insert_rows(session: Session, model: type[Any], rows: list[Any]) -> dict[str, int]:
    """Insert prepared rows of one model with one executemany; {client_uuid: id}."""
    table = model.__table__
    keys = [column.key for column in table.columns if not column.primary_key]
    # Every column named (a KeyError is a `prepare` that forgot one); enum members as their
    # values, as the row `store` makes holds them.
    values = [{key: _plain(row[key]) for key in keys} for row in rows]
    column = table.c.client_uuid
    if session.get_bind().dialect.name == "sqlite":
        # SQLite returns the ids from the insert itself (a multi-row VALUES ... RETURNING),
        # cheaper than reading them back (issue 8).
        inserted = session.execute(insert(table).returning(column, table.c.id), values)
        return {uuid: int(record_id) for uuid, record_id in inserted}
    # Without RETURNING the drivers run it as their own executemany (psycopg pipelines it, a
    # statement parsed once); a multi-row VALUES of 100 rows costs psycopg more to parse
    # (twice the time of this insert and the look-up after it, December 2026).
    session.execute(insert(table), values)
    found = session.execute(
        select(column, table.c.id).where(column.in_([value["client_uuid"] for value in values]))
    )
    return {uuid: int(record_id) for uuid, record_id in found}


def _known(
    session: Session, pairs: list[tuple[str, RecordKind]]
) -> tuple[dict[str, HeldRecord], dict[str, tuple[str, int]]]:
    """The batch's UUIDs already known: held ({uuid: held record}) and stored ({uuid: (kind,
    author id)}). One query for both, a UNION of the held records and each kind's table
    (issue 8: a query less a request); the held rows themselves are read only if any is."""
    by_kind: dict[str, list[str]] = {}
    for uuid, kind in pairs:
        by_kind.setdefault(kind.name, []).append(uuid)
    params: dict[str, list[str]] = {"held": [uuid for uuid, _kind in pairs]}
    for index, uuids in enumerate(by_kind.values()):
        params[f"uuids_{index}"] = uuids
    held_uuids: list[str] = []
    stored: dict[str, tuple[str, int]] = {}
    for name, uuid, author_id in session.execute(_known_query(tuple(by_kind)), params):
        if name:
            stored[uuid] = (name, author_id)
        else:
            held_uuids.append(uuid)
    held: dict[str, HeldRecord] = {}
    if held_uuids:
        held = {
            row.client_uuid: row
            for row in session.exec(
                select(HeldRecord).where(col(HeldRecord.client_uuid).in_(held_uuids))
            )
        }
    return held, stored


@cache
def _known_query(names: tuple[str, ...]) -> CompoundSelect:
    """`_known`'s UNION for these kinds, built once a process: building it cost more than
    running it. The UUIDs are its parameters: "held", and "uuids_<i>" for the i-th kind."""
    held_uuid = col(HeldRecord.client_uuid)
    # "": a held record (no kind has an empty name).
    parts = [
        select(literal(""), held_uuid, col(HeldRecord.author_id)).where(
            held_uuid.in_(bindparam("held", expanding=True))
        )
    ]
    for index, name in enumerate(names):
        kind = KINDS[name]
        column = col(kind.model.client_uuid)
        parts.append(
            select(literal(name), column, getattr(kind.model, kind.author)).where(
                column.in_(bindparam(f"uuids_{index}", expanding=True))
            )
        )
    return union_all(*parts)


def _stored_authors(
    session: Session, pairs: list[tuple[str, RecordKind]]
) -> dict[str, tuple[str, int]]:
    """{uuid: (kind, author id)} of the batch's UUIDs already stored: one query a kind."""
    by_kind: dict[str, list[str]] = {}
    for uuid, kind in pairs:
        by_kind.setdefault(kind.name, []).append(uuid)
    found: dict[str, tuple[str, int]] = {}
    for name, uuids in by_kind.items():
        kind = KINDS[name]
        column = kind.model.client_uuid
        author = getattr(kind.model, kind.author)
        for uuid, author_id in session.exec(
            select(column, author).where(col(column).in_(uuids))
        ).all():
            found[uuid] = (name, author_id)
    return found


def _receive_one(
    session: Session,
    actor: Principal,
    kind: RecordKind,
    record: Incoming,
    *,
    held: dict[str, HeldRecord],
    stored: dict[str, tuple[str, int]],
    now: datetime,
) -> Received:
    uuid = record.client_uuid
    try:
        payload = clean_payload(kind, record.payload)
    except _Unacceptable as refused:
        payload, errors = refused.cleaned, _stored_errors(refused.errors)
        return _hold(session, actor, kind, uuid, payload, errors, held=held, now=now)
    except ValueError:
        return Received(Outcome.malformed)
    earlier = held.get(uuid)
    if earlier is not None:
        if (
            earlier.author_id != actor.user_id
            or earlier.kind != kind.name
            or earlier.payload_hash != payload_hash(payload)
        ):
            return Received(Outcome.conflict)
        return Received(Outcome.needs_correction, errors=shown_errors(earlier.errors))
    for attempt in (1, 2):
        try:
            record_id, created = _store_settled(session, actor, kind, uuid, payload, now=now)
            return Received(Outcome.stored if created else Outcome.replayed, record_id=record_id)
        except DuplicateRecord:
            return Received(Outcome.conflict)
        except NotAllowed:
            return Received(Outcome.forbidden)
        except (InvalidInput, NotVisible) as error:
            if isinstance(error, NotVisible):
                # A record about something the sender may not see: a denial, audited; held
                # with the same words whether it exists or not.
                record_event(
                    session=session,
                    event="access_denied",
                    actor_id=actor.user_id,
                    object_type=kind.name,
                    detail={"status": 404},
                    now=now,
                )
            errors = _stored_errors(
                error.errors
                if isinstance(error, InvalidInput)
                else {"__all__": _l("It is no longer available to you.")}
            )
            break
        except IntegrityError:
            # A concurrent send of this UUID committed first: look again, it is a replay now.
            forget_new(uuid)
            stored_now = _stored_authors(session, [(uuid, kind)])
            if uuid in stored_now:
                stored[uuid] = stored_now[uuid]
            elif attempt == 2:
                # Not a concurrent send: the record names something the database refuses
                # (a row removed meanwhile). Held, so it is never retried for ever.
                logger.info("a %s record broke a constraint twice", kind.name)
                errors = _stored_errors({"__all__": _l("It names something that is gone.")})
                break
            if attempt == 2:
                logger.warning("a %s record did not settle after a concurrent send", kind.name)
                return Received(Outcome.busy)
        except OperationalError as error:
            # A deadlock, a lock wait that timed out, a busy SQLite file: the database's state,
            # not the record's fault. Never held: the phone keeps it and sends it again.
            logger.warning("a %s record met a busy database: %s", kind.name, type(error).__name__)
            forget_new(uuid)
            return Received(Outcome.busy)
        except (DBAPIError, StatementError, OverflowError) as error:
            if not input_fault(error):
                raise
            # A value the database cannot hold (an id out of range, a year 10000): the input's
            # fault, held with a plain reason. The savepoint kept the batch's other records.
            logger.info("a %s record failed in the database: %s", kind.name, type(error).__name__)
            errors = _stored_errors({"__all__": _l("A value is out of range.")})
            break
    already = stored.get(uuid)
    if already is not None:
        # A UUID already stored is never held: the rules changed since (a place removed), and
        # the phone never changes a sealed record: the same author's is the same record again.
        return Received(Outcome.replayed if already[1] == actor.user_id else Outcome.conflict)
    return _hold(session, actor, kind, uuid, payload, errors, held=held, now=now)


def _store_settled(
    session: Session,
    actor: Principal,
    kind: RecordKind,
    uuid: str,
    payload: dict[str, Any],
    *,
    now: datetime,
) -> tuple[int, bool]:
    """Store one record through its kind's `store`, in its own savepoint; the held record it
    corrects (its `held_id`) is settled with it. Returns (record id, created now)."""
    with session.begin_nested():
        record_id, created = kind.store(
            session=session, actor=actor, payload=payload, client_uuid=uuid, now=now
        )
        held_id = _held_id(payload)
        if created and held_id is not None:
            resolve_held(
                session=session,
                actor=actor,
                held_id=held_id,
                kind=kind,
                resolved_as=record_id,
                now=now,
            )
    return record_id, created


def _hold(
    session: Session,
    actor: Principal,
    kind: RecordKind,
    uuid: str,
    payload: dict[str, Any],
    errors: dict[str, Any],
    *,
    held: dict[str, HeldRecord],
    now: datetime,
) -> Received:
    """Keep a record the server cannot accept as it stands, for its author to correct."""
    row = HeldRecord(
        client_uuid=uuid,
        kind=kind.name,
        author_id=actor.user_id,
        payload=payload,
        payload_hash=payload_hash(payload),
        errors=errors,
        received_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # The same record held by a concurrent send: answer as it was answered.
        return Received(Outcome.needs_correction, errors=shown_errors(errors))
    held[uuid] = row
    record_event(
        session=session,
        event="record_held",
        actor_id=actor.user_id,
        object_type=kind.name,
        detail={"fields": sorted(errors)},
        now=now,
    )
    if kind.escalates is not None and _escalates(kind.escalates, payload):
        escalation_held.send(session, actor=actor, held=row, now=now)
    return Received(Outcome.needs_correction, errors=shown_errors(errors))


def _escalates(check: Callable[[dict[str, Any]], bool], payload: dict[str, Any]) -> bool:
    try:
        return bool(check(payload))
    except (TypeError, ValueError):
        return False


# The online forms ------------------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    """What a record from its online form became: stored now (`created`), the same record
    already stored, or not stored, with the reasons for the form's fields (`errors`)."""

    record_id: int | None = None
    created: bool = False
    errors: dict[str, str] | None = None


def submit(
    *,
    session: Session,
    actor: Principal,
    kind: RecordKind,
    payload: dict[str, Any],
    client_uuid: str | None,
    now: datetime | None = None,
) -> Submitted:
    """A record from its kind's online form (without JavaScript): what `receive` makes of a
    phone's record, but what cannot be stored goes back to the form with its reasons and is
    never held. The caller commits.

    The role first, before anything in the payload is read (NotAllowed); the payload cleaned
    and checked as a phone's; a UUID held for correction answered as it was; then the kind's
    `store`, whose create-once check gives the same record again as already stored (created
    False) and raises DuplicateRecord (409) for other content under a known UUID; the held
    record it corrects (`held_id`) is settled with it. No UUID (no JavaScript): a new one.
    """
    if not actor.has_role(*kind.roles):
        raise NotAllowed()
    now = now or utcnow()
    uuid = (client_uuid or str(uuid4())).lower()
    try:
        cleaned = clean_payload(kind, payload)
    except _Unacceptable as refused:
        return Submitted(errors=_form_errors(refused.errors))
    except ValueError:
        return Submitted(errors=_form_errors({"__all__": _l("A value is out of range.")}))
    earlier = session.exec(select(HeldRecord).where(HeldRecord.client_uuid == uuid)).first()
    if earlier is not None:
        if (
            earlier.author_id != actor.user_id
            or earlier.kind != kind.name
            or earlier.payload_hash != payload_hash(cleaned)
        ):
            raise DuplicateRecord()
        return Submitted(errors=shown_errors(earlier.errors))
    for attempt in (1, 2):
        try:
            record_id, created = _store_settled(session, actor, kind, uuid, cleaned, now=now)
            return Submitted(record_id=record_id, created=created)
        except InvalidInput as error:
            return Submitted(errors=_form_errors(error.errors))
        except IntegrityError:
            # A concurrent send of this UUID committed first: once more, it is a replay now.
            if attempt == 2:
                raise
        except (DBAPIError, StatementError, OverflowError) as error:
            if not input_fault(error):
                raise
            return Submitted(errors=_form_errors({"__all__": _l("A value is out of range.")}))
    raise AssertionError("unreachable")


def input_fault(error: Exception) -> bool:
    """Whether a database error is the record's own (a value the column cannot hold: the
    driver's DataError, or Python's overflow while binding one) rather than the server's (a
    missing table, a lost connection, a deadlock), which must stay a 5xx or a retry."""
    if isinstance(error, DBAPIError):
        return isinstance(error, DataError)
    return True


def _form_errors(errors: dict[str, Any]) -> dict[str, str]:
    """A refusal's reasons as text for the form, in the reader's language, one per field."""
    return shown_errors(_stored_errors(errors))


# The held records ------------------------------------------------------------------------


def held_records(
    *, session: Session, actor: Principal, kind: str | None = None
) -> list[HeldRecord]:
    """The actor's records that still need correction (of one kind, or all), oldest first."""
    query = (
        select(HeldRecord)
        .where(HeldRecord.author_id == actor.user_id)
        .where(col(HeldRecord.resolved_at).is_(None))
        .order_by(col(HeldRecord.received_at))
    )
    if kind is not None:
        query = query.where(HeldRecord.kind == kind)
    return list(session.exec(query))


def held_count(*, session: Session, actor: Principal) -> int:
    """How many of the actor's records wait for correction."""
    return int(
        session.exec(
            select(func.count())
            .select_from(HeldRecord)
            .where(HeldRecord.author_id == actor.user_id)
            .where(col(HeldRecord.resolved_at).is_(None))
        ).one()
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
    kind: RecordKind,
    resolved_as: int | str,
    now: datetime | None = None,
) -> None:
    """Mark a held record as corrected into a stored record of `kind`: one of its own kind,
    or of a kind stored alike (an acknowledgement is also a read). A record naming another
    kind's held record leaves it waiting: a held level-4 flag is never settled by a contact."""
    held = get_held(session=session, actor=actor, held_id=held_id)
    if held is None or held.resolved_at is not None:
        return
    earlier = KINDS.get(held.kind)
    if earlier is None or earlier.model is not kind.model:
        return
    held.resolved_at = now or utcnow()
    held.resolved_as = str(resolved_as)
    # Its content lives on in the corrected record; the hash still answers a replay.
    held.payload = {}
    session.add(held)


DISCARDED = "discarded"


def discard_held(
    *, session: Session, actor: Principal, held_id: int, now: datetime | None = None
) -> HeldRecord:
    """The author gives a held record up: it is kept as discarded, and the audit log says so."""
    held = get_held(session=session, actor=actor, held_id=held_id)
    if held is None:
        raise NotVisible()
    if held.resolved_at is None:
        held.resolved_at = now or utcnow()
        held.resolved_as = DISCARDED
        # Nothing of a discarded record is kept but its kind and when (the hash answers a
        # replay of it).
        held.payload = {}
        session.add(held)
        record_event(
            session=session,
            event="held_record_discarded",
            actor_id=actor.user_id,
            object_type=held.kind,
            object_id=held.id,
            now=now,
        )
    return held


@dataclass(frozen=True)
class WaitingAuthor:
    user_id: int
    display_name: str
    count: int
    oldest: datetime


def team_waiting(*, session: Session, actor: Principal) -> list[WaitingAuthor]:
    """Who in the supervisor's organisations has records waiting for correction, oldest first."""
    organisations = actor.organisations(Role.supervisor)
    if not organisations:
        raise NotAllowed()
    members = select(Membership.user_id).where(col(Membership.organisation_id).in_(organisations))
    rows = session.exec(
        select(
            HeldRecord.author_id,
            User.display_name,
            func.count(),
            func.min(HeldRecord.received_at),
        )
        .join(User, col(User.id) == HeldRecord.author_id)
        .where(col(HeldRecord.resolved_at).is_(None))
        .where(col(HeldRecord.author_id).in_(members))
        .group_by(col(HeldRecord.author_id), col(User.display_name))
        .order_by(func.min(HeldRecord.received_at))
    ).all()
    return [
        WaitingAuthor(user_id=u, display_name=n, count=int(c), oldest=_aware(o))
        for u, n, c, o in rows
    ]


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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


# Codes -------------------------------------------------------------------------------------


def next_number(*, session: Session, name: str, floor: Callable[[], int]) -> int:
    """The next number of a code sequence (conflicts: C-0001, ...), unique under concurrency.

    One UPDATE ... RETURNING takes the counter row's lock until the transaction ends: a second
    flag at the same moment waits for it and gets the next number. `floor` gives the highest
    number in use, read only when the counter row is missing (a new or emptied database).
    """
    for _attempt in range(3):
        value = session.execute(
            update(CodeCounter)
            .where(col(CodeCounter.name) == name)
            .values(value=col(CodeCounter.value) + 1)
            .returning(col(CodeCounter.value))
        ).scalar()
        if value is not None:
            return int(value)
        try:
            with session.begin_nested():
                session.add(CodeCounter(name=name, value=floor()))
                session.flush()
        except IntegrityError:
            pass  # another request made the row first: take a number from it
    raise RuntimeError(f"no number for the {name} sequence")
