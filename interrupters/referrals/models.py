"""The directory of local services and referrals to them (DOMAIN.md, "Referrals").

Nothing of the other service's work is stored: a referral holds who was referred where, with
what consent, and how far it got, never what the service did or found.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from interrupters.db import UTCDateTime, utcnow


class Service(SQLModel, table=True):
    """A local service the programme refers to, kept by the admin; an office, never a person."""

    __tablename__ = "referral_service"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    kind: str = Field(max_length=32, index=True)
    # The districts it serves (district ids); empty: the whole city.
    district_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    phone: str = Field(default="", max_length=40)
    opening_hours: str = Field(default="", max_length=200)
    visiting_address: str = Field(default="", max_length=200)
    active: bool = True
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Referral(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # Made on the device when the form is submitted; the key for exactly-once sync.
    client_uuid: str = Field(max_length=36, unique=True)
    payload_hash: str = Field(max_length=64)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    service_id: int = Field(foreign_key="referral_service.id", index=True)
    made_by_id: int = Field(foreign_key="app_user.id", index=True)
    made_at: datetime = Field(sa_type=UTCDateTime)  # the phone's time
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    consent_given: bool = False
    consent_scope: str = Field(max_length=40)
    status: str = Field(default="made", max_length=16, index=True)
    status_changed_at: datetime = Field(sa_type=UTCDateTime)
    follow_up_on: date | None = Field(default=None, index=True)
    # The follow-up date its owner was last reminded of (a new date reminds again).
    reminded_for: date | None = None
    # The list of closed referrals pages on it (migration 7c2e5a9f1b64).
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


class ReferralUpdate(SQLModel, table=True):
    """One status change of a referral, as its author sent it (kept: the referral's history)."""

    __tablename__ = "referral_update"

    id: int | None = Field(default=None, primary_key=True)
    client_uuid: str = Field(max_length=36, unique=True)
    payload_hash: str = Field(max_length=64)
    referral_id: int = Field(foreign_key="referral.id", index=True)
    author_id: int = Field(foreign_key="app_user.id", index=True)
    status: str = Field(max_length=16)
    follow_up_on: date | None = None
    occurred_at: datetime = Field(sa_type=UTCDateTime)  # the phone's time
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
