"""Who is on duty where: a worker's shift in some areas, so escalations there reach them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from interrupters.db import UTCDateTime


class Duty(SQLModel, table=True):
    """A worker on duty in an area for a shift: escalations there reach them at once."""

    __table_args__ = (UniqueConstraint("user_id", "area_id", "starts_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    area_id: int = Field(foreign_key="area.id", index=True)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime, index=True)
