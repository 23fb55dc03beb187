"""A research project: what a researcher asked for, what a supervisor approved, until when.

The project's secret (the key of its pseudonyms) is kept sealed with the server's research key
(research/sealing.py) and is never shown: a pseudonym cannot be traced back without the server.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from interrupters.db import UTCDateTime, utcnow


class ProjectState(StrEnum):
    requested = "requested"
    approved = "approved"
    refused = "refused"
    # Approval withdrawn by a supervisor before the expiry (consent withdrawn, ethics lapsed).
    withdrawn = "withdrawn"


class EventFile(StrEnum):
    """The event-level files a project may be approved for, one by one."""

    contacts = "contacts"
    mediations = "mediations"
    level_changes = "level_changes"
    referrals = "referrals"


class ResearchProject(SQLModel, table=True):
    __tablename__ = "research_project"

    id: int | None = Field(default=None, primary_key=True)
    # The programme whose records the project studies; its supervisors review the request.
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    title: str = Field(max_length=200)
    institution: str = Field(max_length=200)
    # The Swedish Ethical Review Authority's reference (diarienummer), e.g. "Dnr 2026-01234-01".
    ethics_reference: str = Field(max_length=80)
    aim: str = Field(default="", max_length=1000)
    # The data the project covers (inclusive, local dates) and the day access ends.
    period_start: date
    period_end: date
    expires_on: date
    requested_files: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    approved_files: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state: str = Field(default=ProjectState.requested.value, max_length=16, index=True)
    requested_by_id: int = Field(foreign_key="app_user.id", index=True)
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    reviewed_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_note: str = Field(default="", max_length=500)
    # The pseudonym key, sealed (AES-GCM under the instance's research key), base64url; made
    # at the project's first download (services.project_secret), never shown.
    sealed_secret: str = Field(default="", max_length=200)
