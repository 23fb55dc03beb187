"""The engine, one session per request on `g`, and the helpers every domain shares."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import DateTime, MetaData, TypeDecorator, case, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, SQLModel, create_engine

# Explicit constraint names, so migrations can find and alter them on every backend.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside one writer; FULL makes a commit durable before we answer.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_savepoint(connection: Any, _name: str) -> None:
    """Open the transaction before a first SAVEPOINT, so the savepoint nests inside it.

    The driver begins a transaction only before a write: a SAVEPOINT issued first would begin
    the transaction itself, and its RELEASE would commit everything so far. BEGIN IMMEDIATE
    takes the write lock at once, waiting for another writer (busy_timeout) rather than
    failing halfway through a batch.
    """
    raw = connection.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        raw.execute("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, durable commits, foreign keys and nested savepoints.

    Statement parameters (a note, a code, an address) are hidden from SQLAlchemy's errors and
    log lines: an error's text ends up in logs and reports (interrupters/logs.py)."""
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "savepoint", _sqlite_savepoint)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def init_app(app: Flask) -> None:
    app.extensions["db_engine"] = make_engine(app.config["DATABASE_URL"])
    # Per request, not only per app context: a test (or a CLI command) may keep one app
    # context open across many requests, and a session must never outlive its request.
    app.teardown_request(_close_session)
    app.teardown_appcontext(_close_session)


def get_engine() -> Engine:
    engine: Engine = current_app.extensions["db_engine"]
    return engine


def get_session() -> Session:
    """Return this request's (or job's) session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = Session(get_engine(), expire_on_commit=False)
    session: Session = g.db_session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        # Whatever the view did not commit is rolled back: one commit per request.
        session.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session for a CLI command or job: the caller commits; anything else rolls back."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


def is_postgresql(session: Session) -> bool:
    bind = session.get_bind()
    return bind.dialect.name == "postgresql"


def gather_statistics(*, session: Session, now: datetime | None = None) -> None:
    """SQLite's statistics for its query planner (the nightly job, and after each upgrade).

    SQLite plans by what ANALYZE wrote in sqlite_stat1 and never gathers it by itself: a
    million contacts planned with an index that has no statistics beside ones that have
    them took the wrong one (the review queue 3.4 s instead of 18 ms, bench/growth.py).
    PostgreSQL's autovacuum keeps its own."""
    if not is_postgresql(session):
        session.execute(text("ANALYZE"))
        session.commit()


def period_index(column: Any, ends: Sequence[datetime]) -> ColumnElement[int]:
    """Which of consecutive periods a timestamp column falls in: 0 before `ends[0]`, 1 before
    `ends[1]`, ..., -1 after the last; SQL both databases run, for a GROUP BY over periods
    (months, weeks) whose bounds Python worked out in local time. The caller filters to the
    first period's start."""
    return case(*((column < end, index) for index, end in enumerate(ends)), else_=-1)


def upsert(session: Session, model: Any) -> Any:
    """INSERT for the session's dialect, with ON CONFLICT (SQLite and PostgreSQL alike)."""
    return pg_insert(model) if is_postgresql(session) else sqlite_insert(model)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on SQLite and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use timezone-aware UTC")
        value = value.astimezone(UTC)
        # SQLite has no time zones: store naive UTC, add the zone back on the way out.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
