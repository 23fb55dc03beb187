"""Night walks (a shift of an association's walkers) and the reports filed after them.

A walk report says what the walkers saw in bands and value lists, never anything about an
individual youth: a worry report goes to social services from the walker as a private person.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from interrupters.db import UTCDateTime, utcnow


class Walk(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    district_id: int = Field(foreign_key="district.id", index=True)
    meeting_place_id: int | None = Field(default=None, foreign_key="place.id")
    planned_start: datetime = Field(sa_type=UTCDateTime, index=True)
    planned_end: datetime = Field(sa_type=UTCDateTime)
    actual_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    actual_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    leader_id: int | None = Field(default=None, foreign_key="app_user.id")
    briefing_id: int | None = Field(default=None, foreign_key="briefing.id")
    state: str = Field(default="planned", max_length=16, index=True)
    # Walks scheduled together as a weekly series share this key, to be cancelled together.
    series: str | None = Field(default=None, max_length=36, index=True)
    created_by_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WalkSignup(SQLModel, table=True):
    """A walker signed up for a walk, and the group the lead put them in (1, 2, ...)."""

    __tablename__ = "walk_signup"
    __table_args__ = (UniqueConstraint("walk_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    walk_id: int = Field(foreign_key="walk.id", index=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    group_number: int | None = None
    signed_up_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WalkReport(SQLModel, table=True):
    __tablename__ = "walk_report"

    id: int | None = Field(default=None, primary_key=True)
    client_uuid: str = Field(max_length=36, unique=True)
    payload_hash: str = Field(max_length=64)
    walk_id: int = Field(foreign_key="walk.id", index=True)
    submitted_by_id: int = Field(foreign_key="app_user.id", index=True)
    # The list of reports pages on it (migration 7c2e5a9f1b64).
    submitted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    places_visited: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    youths_met: str = Field(max_length=8)
    age_impression: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    atmosphere: str = Field(max_length=16)
    observations: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    actions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    environment_faults: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # The place of the faults, for the city's fault report (a broken light on the stairs).
    fault_place_id: int | None = Field(default=None, foreign_key="place.id")
    debrief_held: bool = False
    walker_injured: bool = False
    note: str = Field(default="", max_length=280)
    urgent: bool = Field(default=False, index=True)
