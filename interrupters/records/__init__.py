"""Every record a phone can send, declared once by its domain (DESIGN.md, guarantees 2 and 3).

A domain declares a kind with `declare(RecordKind(...))`: its name, who may send it, the
service that stores it, the table it lands in and the page where its author corrects a held
one. The sync endpoint, the "needs correction" list, the correction and the create-once check
all read these declarations; no domain imports the sync endpoint.

This module is shared: it imports no domain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import event
from sqlmodel import Session, select

from interrupters.auth.values import Role
from interrupters.errors import DuplicateRecord, InvalidInput

Row = TypeVar("Row")


class Store(Protocol):
    """Store one record through its domain's service; return (record id, created now).

    Raises InvalidInput for a record to hold for correction, DuplicateRecord for a UUID known
    with other content, NotAllowed or NotVisible where the actor may not make it.
    """

    def __call__(
        self,
        *,
        session: Session,
        actor: Any,
        payload: dict[str, Any],
        client_uuid: str,
        now: Any,
    ) -> tuple[int, bool]: ...


class Prepare(Protocol):
    """The columns (all but the primary key) of the row a record with a new UUID becomes,
    checked as `store` checks it, not stored: a receiving batch inserts the rows of its new
    records together. The row must be the one `store` would make (tests compare them).

    Raises whatever `store` would raise for the record; the batch then stores that record
    through `store` on its own, so it gets its own answer. Only for kinds whose `store` does
    nothing but add one row once checked (no alert, no audit event, no code to take), and
    what the kind's `inserted` does for the rows after.
    """

    def __call__(
        self,
        *,
        session: Session,
        actor: Any,
        payload: dict[str, Any],
        client_uuid: str,
        now: Any,
    ) -> Mapping[str, Any]: ...


class Inserted(Protocol):
    """What a kind's `store` does after adding its row, done for the rows a batch inserted at
    once (`prepare`): a contact moves its participant's latest contact forward."""

    def __call__(self, *, session: Session, rows: Sequence[Mapping[str, Any]]) -> None: ...


def _no_args(_payload: Mapping[str, Any]) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class RecordKind:
    """One kind of record a phone sends: everything the paths that carry it need to know."""

    name: str
    label: Any  # a lazy string: "Contact", "Conflict flag", ...
    roles: frozenset[Role]  # who may send it, checked before anything in it is read
    store: Store
    model: type[Any]  # where its records land, with `client_uuid`
    author: str  # the model's column naming who made it
    correct: str  # the endpoint whose form corrects a held one (?held=<id>)
    correct_args: Callable[[Mapping[str, Any]], dict[str, Any]] = _no_args
    # Free-text fields: control characters are removed. In every other field they are refused.
    free_text: frozenset[str] = field(default_factory=lambda: frozenset({"note"}))
    # A held record of this kind that must not wait unseen (a conflict raised to level 3-4).
    escalates: Callable[[Mapping[str, Any]], bool] | None = None
    # Kinds whose new records a batch may insert all at once (see Prepare), and what follows.
    prepare: Prepare | None = None
    inserted: Inserted | None = None


KINDS: dict[str, RecordKind] = {}


def declare(kind: RecordKind) -> RecordKind:
    """Register a record kind; a second declaration of one name is a programming error."""
    if kind.name in KINDS and KINDS[kind.name] is not kind:
        raise RuntimeError(f"record kind {kind.name} declared twice")
    KINDS[kind.name] = kind
    return kind


def payload_hash(data: BaseModel | Mapping[str, Any]) -> str:
    """Hash of a record's content, to tell a replay from other content under one UUID."""
    plain = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    canonical = json.dumps(plain, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# UUIDs the receiving batch looked up and found nowhere: their services need not look again.
_known_new: ContextVar[set[str] | None] = ContextVar("known_new", default=None)


@contextmanager
def known_new(uuids: set[str]) -> Iterator[set[str]]:
    """Within the block, `find_replay` answers "new" for these UUIDs without a query.

    The batch looked them all up at once; the caller removes a UUID once it is stored.
    """
    token = _known_new.set(uuids)
    try:
        yield uuids
    finally:
        _known_new.reset(token)


def forget_new(uuid: str) -> None:
    """A UUID the batch thought new may be stored now (a concurrent send): look it up again."""
    new = _known_new.get()
    if new is not None:
        new.discard(uuid)


def find_replay(
    *, session: Session, model: type[Row], client_uuid: str, digest: str, author: tuple[str, int]
) -> Row | None:
    """The stored record with this UUID if it is the same one again, else None.

    The same UUID with other content, or from another author, is a DuplicateRecord (409).
    """
    new = _known_new.get()
    if new is not None and client_uuid in new:
        return None
    column = getattr(model, "client_uuid")  # noqa: B009
    existing: Any = session.exec(select(model).where(column == client_uuid)).first()
    if existing is None:
        return None
    field_name, author_id = author
    if getattr(existing, field_name) != author_id or existing.payload_hash != digest:
        raise DuplicateRecord()
    return existing


def stored_row(*, session: Session, model: type[Row], client_uuid: str) -> Row | None:
    """The stored record under this UUID, if any (no query for a UUID known to be new)."""
    new = _known_new.get()
    if new is not None and client_uuid in new:
        return None
    column = getattr(model, "client_uuid")  # noqa: B009
    found: Row | None = session.exec(select(model).where(column == client_uuid)).first()
    return found


Model = TypeVar("Model", bound=BaseModel)


def validated(model: type[Model], data: dict[str, Any]) -> Model:
    """Build a service input, turning pydantic's errors into field errors (InvalidInput)."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidInput.from_validation(error) from None


# What a receiving batch keeps for its other records (None: no batch) --------------------

_batch: ContextVar[dict[Any, Any] | None] = ContextVar("records_batch", default=None)


_CLEANUP = object()  # the memo's key for what to undo when the batch ends


@contextmanager
def batch_scope() -> Iterator[None]:
    """Receive several records of one request: `batch_memo` keeps values until the block ends."""
    memo: dict[Any, Any] = {}
    token = _batch.set(memo)
    try:
        yield
    finally:
        _batch.reset(token)
        for undo in memo.get(_CLEANUP, ()):
            undo()


def in_batch() -> bool:
    """Whether records are being received as a batch (inside `batch_scope`)."""
    return _batch.get() is not None


def batch_memo(key: Any, make: Callable[[], Any]) -> Any:
    """`make()` once a batch (every call outside a batch): for what each record would re-read."""
    memo = _batch.get()
    if memo is None:
        return make()
    if key not in memo:
        memo[key] = make()
    return memo[key]


def batch_get(session: Session, model: type[Row], ident: int) -> Row | None:
    """`session.get(model, ident)`, remembered until the batch ends (outside a batch, the
    session's own). For the rows each record of a batch names again (its area, place and
    participant): a dictionary look-up, not the session's identity-map path (issue 8). A
    batch writes none of these rows, and an expired one reloads itself when read."""
    memo = _batch.get()
    if memo is None:
        return session.get(model, ident)
    rows: dict[int, Row | None] = memo.setdefault(("get", id(session), model), {})
    if ident not in rows:
        rows[ident] = session.get(model, ident)
    return rows[ident]


def batch_keep(key: Any, load: Callable[[], Any]) -> None:
    """Inside a batch only, `load()` once and keep its rows referenced until the batch ends.

    The session's identity map holds rows weakly: a row nobody references is read again by
    the next `session.get()`. Reference rows every record of a batch looks up (places, areas)
    are then found there without a query. Outside a batch this does nothing.
    """
    memo = _batch.get()
    if memo is not None and key not in memo:
        memo[key] = load()


def batch_keep_loaded(session: Session) -> None:
    """Inside a batch only: every row `session` loads from now until the batch ends stays
    referenced, so the batch's next `session.get()` of it needs no query.

    What `batch_keep` does for rows loaded up front, for the rows the records name (a place,
    an area, a participant): a batch of a hundred contacts at one place loads that place once.
    Outside a batch this does nothing.
    """
    memo = _batch.get()
    if memo is None or ("loaded", id(session)) in memo:
        return
    kept: list[Any] = []
    memo[("loaded", id(session))] = kept

    def keep(_session: Session, instance: Any) -> None:
        kept.append(instance)

    event.listen(session, "loaded_as_persistent", keep)
    memo.setdefault(_CLEANUP, []).append(
        lambda: event.remove(session, "loaded_as_persistent", keep)
    )
