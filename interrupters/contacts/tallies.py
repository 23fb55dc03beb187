"""Counts of contacts kept as they are written, so that the figures and the dashboard read a
few hundred rows for a period instead of every contact in it (issue 13).

- contact_month_tally: contacts and minutes per organisation, Stockholm calendar month, area,
  subject, kind and purpose (the figures' contact indicators).
- participant_month_tally: contacts per organisation, month and participant (the participants
  met in a month; their area is read from the participant, as before).
- worker_day_tally: contacts per organisation, worker and Stockholm day (the dashboard's
  contacts per worker and week).

Every contact written moves its counts in the same transaction: an INSERT of contacts however
it is run (an engine listener: the ORM, the records' batch insert for sync, the demo), an edit
or delete through the ORM (a flush listener: moved between months or areas, changed kind).
UPDATEs and DELETEs of contacts in bulk must call `forget_participants` or `rebuild` (retention's
anonymisation does the former; bench/growth.py's seeding with the driver's own COPY the latter).
The counts are raw: whoever shows them suppresses.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql.dml import Insert
from sqlmodel import Field, Session, SQLModel, col

from interrupters.contacts.models import Contact

STOCKHOLM = ZoneInfo("Europe/Stockholm")
CONTACT = Contact.__table__  # type: ignore[attr-defined]


class ContactMonthTally(SQLModel, table=True):
    __tablename__ = "contact_month_tally"

    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True)
    month: date = Field(primary_key=True)
    area_id: int = Field(foreign_key="area.id", primary_key=True)
    subject: str = Field(max_length=16, primary_key=True)
    kind: str = Field(max_length=24, primary_key=True)
    purpose: str = Field(max_length=24, primary_key=True)
    contacts: int = 0
    minutes: int = 0


class ParticipantMonthTally(SQLModel, table=True):
    __tablename__ = "participant_month_tally"

    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True)
    month: date = Field(primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", primary_key=True)
    contacts: int = 0


class WorkerDayTally(SQLModel, table=True):
    __tablename__ = "worker_day_tally"

    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True)
    day: date = Field(primary_key=True)
    worker_id: int = Field(foreign_key="app_user.id", primary_key=True)
    contacts: int = 0


TALLIED = (
    "organisation_id",
    "occurred_at",
    "area_id",
    "subject",
    "kind",
    "purpose",
    "duration_minutes",
    "participant_id",
    "worker_id",
)

# (table, key, contacts, minutes)
Deltas = dict[tuple[Any, tuple[Any, ...]], list[int]]


def local_day(moment: datetime) -> date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(STOCKHOLM).date()


def _count(deltas: Deltas, values: dict[str, Any], sign: int) -> None:
    day = local_day(values["occurred_at"])
    month = day.replace(day=1)
    organisation = values["organisation_id"]
    minutes = int(values["duration_minutes"] or 0)
    key = (
        organisation,
        month,
        values["area_id"],
        values["subject"],
        values["kind"],
        values["purpose"],
    )
    for table, row, add_minutes in (
        (ContactMonthTally, key, minutes),
        (WorkerDayTally, (organisation, day, values["worker_id"]), 0),
        (
            ParticipantMonthTally,
            (organisation, month, values["participant_id"]) if values["participant_id"] else None,
            0,
        ),
    ):
        if row is None:
            continue
        cell = deltas.setdefault((table, row), [0, 0])
        cell[0] += sign
        cell[1] += sign * add_minutes


def _keys(table: Any) -> list[str]:
    return [c.name for c in table.__table__.primary_key.columns]


def apply(connection: Connection, deltas: Deltas) -> None:
    """Add `deltas` to the counts (an upsert per changed row; rows that reach zero go)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    for (table, key), (contacts, minutes) in deltas.items():
        if contacts == 0 and minutes == 0:
            continue
        names = _keys(table)
        values: dict[str, Any] = dict(zip(names, key, strict=True)) | {"contacts": contacts}
        columns = table.__table__.c
        update: dict[str, Any] = {"contacts": columns.contacts + contacts}
        if "minutes" in columns:
            values["minutes"] = minutes
            update["minutes"] = columns.minutes + minutes
        statement = dialect.insert(table.__table__).values(**values)
        connection.execute(statement.on_conflict_do_update(index_elements=names, set_=update))
        if contacts < 0:
            where = [columns[name] == value for name, value in zip(names, key, strict=True)]
            connection.execute(delete(table.__table__).where(*where, columns.contacts <= 0))


def _values(contact: Contact) -> dict[str, Any]:
    return {name: getattr(contact, name) for name in TALLIED}


@event.listens_for(OrmSession, "before_flush")
def _remember(session: OrmSession, _context: Any, _instances: Any) -> None:
    """The stored values of contacts about to change, read before the flush writes them."""
    ids = [
        c.id
        for c in (*session.dirty, *session.deleted)
        if isinstance(c, Contact) and c.id is not None
    ]
    stored: dict[int, dict[str, Any]] = {}
    session.info["contact_tallies"] = stored  # never a failed flush's
    if not ids:
        return
    table = Contact.__table__  # type: ignore[attr-defined]
    rows = session.connection().execute(
        select(table.c.id, *(table.c[name] for name in TALLIED)).where(table.c.id.in_(ids))
    )
    for row in rows:
        stored[row.id] = {name: getattr(row, name) for name in TALLIED}


@event.listens_for(Engine, "after_execute")
def _inserted(
    connection: Connection,
    statement: Any,
    multiparams: list[dict[str, Any]],
    params: dict[str, Any],
    _options: Any,
    _result: Any,
) -> None:
    """Count the contacts every INSERT adds, whoever runs it: the ORM's flush, the records'
    batch insert (sync), the demo's history. Values must come as parameters (no insert of
    contacts in this code names them in the statement itself)."""
    if not isinstance(statement, Insert) or getattr(statement.table, "name", None) != CONTACT.name:
        return
    deltas: Deltas = {}
    for values in multiparams or [params]:
        if values:
            _count(deltas, {name: values.get(name) for name in TALLIED}, 1)
    if deltas:
        apply(connection, deltas)


@event.listens_for(OrmSession, "after_flush")
def _move(session: OrmSession, _context: Any) -> None:
    """Move the counts of every contact the flush changed or deleted (its inserts are counted
    as they are executed, above)."""
    stored: dict[int, dict[str, Any]] = session.info.pop("contact_tallies", {})
    deltas: Deltas = {}
    for contact in session.dirty:
        if isinstance(contact, Contact) and contact.id in stored:
            _count(deltas, stored[contact.id], -1)
            _count(deltas, _values(contact), 1)
    for contact in session.deleted:
        if isinstance(contact, Contact) and contact.id in stored:
            _count(deltas, stored[contact.id], -1)
    if deltas:
        apply(session.connection(), deltas)


def forget_participants(*, session: Session, contact_ids: Any) -> None:
    """Before a bulk update unlinks these contacts from their participants (retention's
    anonymisation): take them out of the participants' monthly counts."""
    deltas: Deltas = {}
    rows = session.execute(
        select(col(Contact.organisation_id), col(Contact.occurred_at), col(Contact.participant_id))
        .where(col(Contact.id).in_(contact_ids))
        .where(col(Contact.participant_id).is_not(None))
    ).all()
    for organisation, occurred_at, participant in rows:
        key = (organisation, local_day(occurred_at).replace(day=1), participant)
        deltas.setdefault((ParticipantMonthTally, key), [0, 0])[0] -= 1
    if deltas:
        apply(session.connection(), deltas)


def recount(session: Session) -> dict[Any, dict[tuple[Any, ...], tuple[int, int]]]:
    """Every count as the contacts give it now: table -> key -> (contacts, minutes)."""
    deltas: Deltas = {}
    columns = [getattr(Contact, name) for name in TALLIED]
    for row in session.execute(select(*columns)).yield_per(10_000):
        _count(deltas, dict(zip(TALLIED, row, strict=True)), 1)
    counted: dict[Any, dict[tuple[Any, ...], tuple[int, int]]] = {
        ContactMonthTally: {},
        ParticipantMonthTally: {},
        WorkerDayTally: {},
    }
    for (table, key), (contacts, minutes) in deltas.items():
        counted[table][key] = (contacts, minutes)
    return counted


def kept(session: Session) -> dict[Any, dict[tuple[Any, ...], tuple[int, int]]]:
    """Every count as kept, in `recount`'s shape."""
    found: dict[Any, dict[tuple[Any, ...], tuple[int, int]]] = {}
    tables: tuple[Any, ...] = (ContactMonthTally, ParticipantMonthTally, WorkerDayTally)
    for table in tables:
        names = _keys(table)
        found[table] = {}
        for row in session.scalars(select(table)).all():
            key = tuple(getattr(row, name) for name in names)
            found[table][key] = (row.contacts, getattr(row, "minutes", 0))
    return found


def rebuild(session: Session) -> None:
    """Count again from the contacts (after writes that bypassed the ORM, such as a bulk
    seeding): every kept count is replaced."""
    counted = recount(session)
    connection = session.connection()
    for table, rows in counted.items():
        connection.execute(delete(table.__table__))
        _insert(connection, table, rows.items())


def _insert(
    connection: Connection, table: Any, rows: Iterable[tuple[tuple[Any, ...], tuple[int, int]]]
) -> None:
    names = _keys(table)
    with_minutes = "minutes" in table.__table__.c
    batch: list[dict[str, Any]] = []
    for key, (contacts, minutes) in rows:
        values: dict[str, Any] = dict(zip(names, key, strict=True)) | {"contacts": contacts}
        if with_minutes:
            values["minutes"] = minutes
        batch.append(values)
        if len(batch) == 5_000:
            connection.execute(table.__table__.insert(), batch)
            batch = []
    if batch:
        connection.execute(table.__table__.insert(), batch)
