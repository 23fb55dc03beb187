"""The scheduler processes' heartbeats: one row a process, the running one and any standing by."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from interrupters.db import UTCDateTime, utcnow


class SchedulerHeartbeat(SQLModel, table=True):
    """A scheduler process: `running` (holds the lock) or `standby` (waits to take over)."""

    __tablename__ = "scheduler_heartbeat"

    # "host:pid": a restarted process is a new row; rows unheard of for a day are deleted.
    id: str = Field(primary_key=True, max_length=255)
    host: str = Field(max_length=255)
    pid: int
    state: str = Field(max_length=16)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    beat_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # The id of the VAPID key it signs pushes with: each web host compares its own (readiness).
    vapid_key_id: str | None = Field(default=None, max_length=16)
