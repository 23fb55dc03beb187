"""Districts (stadsdelsområden), the areas inside them and the places (hotspots) in an area."""

from __future__ import annotations

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class District(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    # The city's older documents use the pre-2023 names, so they stay searchable.
    legacy_names: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Area(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("district_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    district_id: int = Field(foreign_key="district.id", index=True)
    name: str = Field(max_length=80)


class Place(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("area_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    area_id: int = Field(foreign_key="area.id", index=True)
    name: str = Field(max_length=120)
    type: str = Field(max_length=32)
    meeting_point: bool = False
    # Set from the latest published briefing; null until one names the place.
    status: str | None = Field(default=None, max_length=16)
    # Places are retired, never deleted: old contacts still point at them.
    active: bool = True
    # WGS84, for the situational picture's map (issue 12); a place, never a person's home.
    latitude: float | None = None
    longitude: float | None = None
