"""The weekend briefing (helgens lägesbild): what its author says about places and the weekend,
who it reaches, and who read it, acknowledged it and came to the meeting.

A briefing is written by its author from their own situational picture. Nothing in it comes from
the programme's records (participants, contacts, conflicts): those never leave the programme.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from interrupters.db import UTCDateTime, utcnow


class Briefing(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    author_id: int = Field(foreign_key="app_user.id")
    title: str = Field(max_length=120)
    # The archive pages on it (migration 7c2e5a9f1b64).
    valid_from: datetime = Field(sa_type=UTCDateTime, index=True)
    valid_to: datetime = Field(sa_type=UTCDateTime, index=True)
    summary: str = Field(default="", max_length=2000)
    # [{"what": ..., "where": ..., "when": ...}]: events, never people.
    expected_events: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # [{"who": "Fältassistenterna Järva", "phone": "08-508 ..."}]: services on call, not persons.
    on_call: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    safety_reminders: str = Field(default="", max_length=1000)
    meeting_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    meeting_place: str = Field(default="", max_length=120)
    # The author's confirmation that the text identifies no one, directly or indirectly.
    identifies_no_one: bool = False
    state: str = Field(default="draft", max_length=16, index=True)
    publish_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class BriefingDistrict(SQLModel, table=True):
    __tablename__ = "briefing_district"

    briefing_id: int = Field(foreign_key="briefing.id", primary_key=True)
    district_id: int = Field(foreign_key="district.id", primary_key=True)


class BriefingPlaceStatus(SQLModel, table=True):
    """A place's status for the weekend, with a short note about the place (never a person)."""

    __tablename__ = "briefing_place_status"

    briefing_id: int = Field(foreign_key="briefing.id", primary_key=True)
    place_id: int = Field(foreign_key="place.id", primary_key=True)
    status: str = Field(max_length=16)
    note: str = Field(default="", max_length=200)


class Acknowledgement(SQLModel, table=True):
    """One reader of one briefing: when the phone opened it, acknowledged it, and attendance."""

    __table_args__ = (UniqueConstraint("briefing_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    briefing_id: int = Field(foreign_key="briefing.id", index=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attended: bool = False
    attendance_marked_by_id: int | None = Field(default=None, foreign_key="app_user.id")


class BriefingReceipt(SQLModel, table=True):
    """A read or an acknowledgement as it came from a phone's outbox, for exactly-once receipt."""

    __tablename__ = "briefing_receipt"

    id: int | None = Field(default=None, primary_key=True)
    client_uuid: str = Field(max_length=36, unique=True)
    payload_hash: str = Field(max_length=64)
    briefing_id: int = Field(foreign_key="briefing.id", index=True)
    user_id: int = Field(foreign_key="app_user.id")
    kind: str = Field(max_length=16)  # "read" or "acknowledged"
    at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
