"""The append-only, hash-chained audit log. It names records by id, never a person's details."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from interrupters.db import UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    # The log is read newest first (by id) for one kind or one actor: these indexes give a
    # page without reading every older event of it (migration 7c2e5a9f1b64).
    __table_args__ = (
        Index("ix_audit_event_event_id", "event", "id"),
        Index("ix_audit_event_actor_id_id", "actor_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_id: int | None = Field(default=None, foreign_key="app_user.id")
    event: str = Field(max_length=48)
    object_type: str | None = Field(default=None, max_length=32)
    object_id: str | None = Field(default=None, max_length=64)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str | None = Field(default=None, max_length=64)
    # Filled once, right after the insert, while the write lock is held (see services).
    hash: str | None = Field(default=None, max_length=64)


class DenialTally(SQLModel, table=True):
    """One actor's denials in one time window, counted outside the chain (see record_denial)."""

    __tablename__ = "audit_denial_tally"
    __table_args__ = (UniqueConstraint("actor_key", "window_start"),)

    id: int | None = Field(default=None, primary_key=True)
    # The user's id, or 0 for a denial nobody was signed in for (a NULL would not be unique).
    actor_key: int
    window_start: datetime = Field(sa_type=UTCDateTime, index=True)
    # Every denial in the window; the first `written` of them are access_denied events.
    denials: int = 0
    written: int = 0
