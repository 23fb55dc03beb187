"""The daily contact log and the supervisor's review decisions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, text
from sqlmodel import Field, SQLModel

from interrupters.db import UTCDateTime, utcnow

# The review queue's states, in SQL for the partial index (services.QUEUE_STATES in words).
QUEUE_STATES_SQL = text("review_state IN ('submitted', 'corrected')")


class Contact(SQLModel, table=True):
    # The figures (reports.services) read these columns for a programme and a range of months:
    # the index alone answers them (migration c4f1a8e2d7b3). The lists read a page from one of
    # the others, newest (or, for the queue, oldest) first, whatever the table's size (issue 13,
    # migration 636b1b2f3268).
    __table_args__ = (
        # A participant's history, and the latest contact of each participant (the caseload).
        Index(
            "ix_contact_participant_history", "participant_id", "occurred_at", "id", "follow_up_on"
        ),
        # A worker's contacts, all of them (the team's, of one worker) or of one state; with
        # the organisation, today's contacts per worker are counted from the index alone.
        Index("ix_contact_worker_history", "worker_id", "occurred_at", "id", "organisation_id"),
        Index("ix_contact_worker_state", "worker_id", "review_state", "occurred_at", "id"),
        # What waits for review: a few thousand rows at most, not every contact ever approved.
        Index(
            "ix_contact_review_queue",
            "organisation_id",
            "occurred_at",
            "id",
            sqlite_where=QUEUE_STATES_SQL,
            postgresql_where=QUEUE_STATES_SQL,
        ),
        Index(
            "ix_contact_figures",
            "organisation_id",
            "occurred_at",
            "area_id",
            "participant_id",
            "subject",
            "kind",
            "purpose",
            "duration_minutes",
            "worker_id",  # the dashboard's contacts per worker and week
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Made on the device when the form is submitted; the key for exactly-once sync.
    client_uuid: str = Field(max_length=36, unique=True)
    payload_hash: str = Field(max_length=64)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    worker_id: int = Field(foreign_key="app_user.id")
    subject: str = Field(max_length=16)
    participant_id: int | None = Field(default=None, foreign_key="participant.id")
    # Community contacts (no participant): an age band and gender, or a group's size.
    age_band: str | None = Field(default=None, max_length=8)
    gender: str | None = Field(default=None, max_length=16)
    group_size: int | None = None
    occurred_at: datetime = Field(sa_type=UTCDateTime, index=True)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    area_id: int = Field(foreign_key="area.id", index=True)
    place_id: int | None = Field(default=None, foreign_key="place.id")
    kind: str = Field(max_length=24)
    purpose: str = Field(max_length=24)
    referrals: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    duration_minutes: int | None = None
    follow_up_on: date | None = None
    note: str = Field(default="", max_length=280)
    review_state: str = Field(default="submitted", max_length=16, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ContactReview(SQLModel, table=True):
    """One supervisor decision; every decision is kept, the contact shows the latest."""

    __tablename__ = "contact_review"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    reviewer_id: int = Field(foreign_key="app_user.id")
    decision: str = Field(max_length=16)
    comment: str = Field(default="", max_length=500)
    decided_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
