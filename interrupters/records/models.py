"""Records the server received but could not accept as they stood, and the code counters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from interrupters.db import UTCDateTime, utcnow


class HeldRecord(SQLModel, table=True):
    """A record that needs correction (a field invalid, a place since removed).

    It is never dropped: the author sees it with the reason and corrects it into a new
    record; a replay of the original answers "needs correction" again (DESIGN.md, guarantee 3).
    """

    __tablename__ = "held_record"

    id: int | None = Field(default=None, primary_key=True)
    client_uuid: str = Field(max_length=36, unique=True)
    kind: str = Field(max_length=24)
    author_id: int = Field(foreign_key="app_user.id", index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    payload_hash: str = Field(max_length=64)
    errors: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_as: str | None = Field(default=None, max_length=64)


class CodeCounter(SQLModel, table=True):
    """The last number given out for a human-readable code (C-0012): one row a sequence.

    Incremented by one UPDATE ... RETURNING, which takes the row's lock: two conflicts flagged
    at the same moment get two numbers, on SQLite and on PostgreSQL alike.
    """

    __tablename__ = "code_counter"

    name: str = Field(primary_key=True, max_length=24)
    value: int = Field(default=0)
