"""Pseudonymous participants: a code made by the app, never a name."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from interrupters.db import UTCDateTime, utcnow


class Participant(SQLModel, table=True):
    # The team's overdue follow-ups: the programme's participants by their next follow-up.
    __table_args__ = (Index("ix_participant_follow_up", "organisation_id", "next_follow_up"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=16, unique=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    worker_id: int = Field(foreign_key="app_user.id", index=True)
    area_id: int = Field(foreign_key="area.id")
    # A street name the worker uses; sensitive, shown only to the worker and supervisors.
    nickname: str | None = Field(default=None, max_length=40)
    age_band: str = Field(max_length=8)
    gender: str | None = Field(default=None, max_length=16)
    status: str = Field(default="prospect", max_length=16)
    eligibility_confirmed: bool = False
    risk_tier: str = Field(max_length=8)
    reassess_on: date | None = None
    goals: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    consent_scope: str | None = Field(default=None, max_length=120)
    consent_given_on: date | None = None
    consent_withdrawn_on: date | None = None
    exit_reason: str | None = Field(default=None, max_length=24)
    exited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The participant's latest contact (by occurred_at, then id) and the follow-up it set,
    # kept by every path that stores, corrects or anonymises a contact
    # (contacts.services.note_contacts, refresh_latest): the caseload, the team and the
    # dashboard read them here instead of seeking each participant's contacts (issue 13).
    last_contact_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_follow_up: date | None = None
