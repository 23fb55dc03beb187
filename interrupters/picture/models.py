"""Place observations, the picture's periods with their places of concern and actions, and the
per-district and per-programme settings (DOMAIN.md, "The shared situational picture")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from interrupters.db import UTCDateTime, utcnow


class PlaceObservation(SQLModel, table=True):
    """What a partner saw at a place: what, where, when, how serious; never who.

    The author is kept for the record's own path (sync, correction); outside the author's
    organisation it is shown as the organisation. Walk reports' observations are not copied
    here: the picture reads them where they are.
    """

    __tablename__ = "place_observation"
    __table_args__ = (
        Index("ix_place_observation_district_observed", "district_id", "observed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    client_uuid: str = Field(max_length=36, unique=True)
    payload_hash: str = Field(max_length=64)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    author_id: int = Field(foreign_key="app_user.id", index=True)
    place_id: int = Field(foreign_key="place.id", index=True)
    # The place's district when it was observed: the picture is read per district.
    district_id: int = Field(foreign_key="district.id")
    observed_at: datetime = Field(sa_type=UTCDateTime)  # the phone's time
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    source: str = Field(max_length=24, index=True)
    kind: str = Field(max_length=32)
    severity: int = 1
    note: str = Field(default="", max_length=140)


class PictureDistrict(SQLModel, table=True):
    """A district's picture settings: the period's length and the outline for the map."""

    __tablename__ = "picture_district"

    district_id: int = Field(foreign_key="district.id", primary_key=True)
    period_weeks: int = Field(default=2, sa_column_kwargs={"server_default": "2"})
    # Polygons as lists of rings of [longitude, latitude], from the admin's GeoJSON import.
    outline: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    outline_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PicturePeriod(SQLModel, table=True):
    """One cycle of a district's picture; once closed it is kept as it was (`snapshot`)."""

    __tablename__ = "picture_period"
    __table_args__ = (UniqueConstraint("district_id", "starts_at"),)

    id: int | None = Field(default=None, primary_key=True)
    district_id: int = Field(foreign_key="district.id", index=True)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    # Set when the coordinator closes it; the next period starts then.
    ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    state: str = Field(default="open", max_length=8, index=True)
    closed_by_organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    closed_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    summary: str = Field(default="", max_length=1000)
    # The picture as it stood at the close: rows per place, counts, trends, follow-ups.
    snapshot: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PeriodPlace(SQLModel, table=True):
    """A place of concern of a closed period, with the status the coordinator gave it."""

    __tablename__ = "picture_period_place"

    period_id: int = Field(foreign_key="picture_period.id", primary_key=True)
    place_id: int = Field(foreign_key="place.id", primary_key=True)
    status: str = Field(max_length=16)
    note: str = Field(default="", max_length=140)


class PictureAction(SQLModel, table=True):
    """Who does what at a place until when, decided in a period and followed up in the next."""

    __tablename__ = "picture_action"

    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="picture_period.id", index=True)
    place_id: int = Field(foreign_key="place.id", index=True)
    what: str = Field(max_length=32)
    owner_organisation_id: int = Field(foreign_key="organisation.id", index=True)
    due_on: date
    status: str = Field(default="planned", max_length=8, index=True)
    result_note: str = Field(default="", max_length=140)
    created_by_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The period whose close settled it (done or dropped), for the follow-up's record.
    settled_in_period_id: int | None = Field(default=None, foreign_key="picture_period.id")


class SignalSharing(SQLModel, table=True):
    """Whether a programme shares its place signals with the partners (off by default),
    and then only as counts per place and period."""

    __tablename__ = "picture_sharing"

    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True)
    share_signals: bool = False
    changed_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
