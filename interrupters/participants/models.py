"""Pseudonymous participants: a code made by the app, never a name."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from interrupters.db import UTCDateTime, utcnow


class Participant(SQLModel, table=True):
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
