"""Conflicts between people or groups, their append-only timeline, mediations and incidents.

Parties are described by count and group labels only: no names, no offences of a person.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from interrupters.db import UTCDateTime, utcnow


class Conflict(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    client_uuid: str = Field(max_length=36, unique=True)
    payload_hash: str = Field(max_length=64)
    code: str = Field(max_length=12, unique=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    area_id: int = Field(foreign_key="area.id", index=True)
    place_id: int | None = Field(default=None, foreign_key="place.id")
    detected_via: str = Field(max_length=24)
    catalyst: str = Field(max_length=24)
    type: str = Field(max_length=24)
    parties_count: int
    supporters_count: int | None = None
    # Short group labels ("the older group from the square"), never names.
    party_labels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    youth_involved: bool = False
    weapon: str = Field(default="none_known", max_length=16)
    retaliation_related: bool = False
    risk_level: int = Field(index=True)
    status: str = Field(default="open", max_length=24, index=True)
    flagged_by_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConflictEvent(SQLModel, table=True):
    """One entry of a conflict's timeline; entries are added, never changed."""

    __tablename__ = "conflict_event"

    id: int | None = Field(default=None, primary_key=True)
    conflict_id: int = Field(foreign_key="conflict.id", index=True)
    # Set when the entry came from a phone's outbox (an update), for exactly-once receipt.
    client_uuid: str | None = Field(default=None, max_length=36, unique=True)
    payload_hash: str | None = Field(default=None, max_length=64)
    kind: str = Field(max_length=24)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    author_id: int = Field(foreign_key="app_user.id")
    from_level: int | None = None
    to_level: int | None = None
    from_status: str | None = Field(default=None, max_length=24)
    to_status: str | None = Field(default=None, max_length=24)
    text: str = Field(default="", max_length=280)
    mediation_id: int | None = Field(default=None, foreign_key="mediation.id")
    incident_id: int | None = Field(default=None, foreign_key="incident.id")


class ConflictParticipant(SQLModel, table=True):
    """A participant linked to a conflict; only supervisors see and make these links."""

    __tablename__ = "conflict_participant"

    conflict_id: int = Field(foreign_key="conflict.id", primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", primary_key=True)
    linked_by_id: int = Field(foreign_key="app_user.id")
    linked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Mediation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    client_uuid: str = Field(max_length=36, unique=True)
    payload_hash: str = Field(max_length=64)
    conflict_id: int = Field(foreign_key="conflict.id", index=True)
    author_id: int = Field(foreign_key="app_user.id")
    # Staff user ids: the mediators are the programme's workers, never the parties.
    mediator_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    # The server's time of receipt, beside the phone's own (occurred_at).
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    place_id: int | None = Field(default=None, foreign_key="place.id")
    strategies: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    outcome: str = Field(max_length=24, index=True)
    follow_up_on: date | None = None
    follow_up_reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    note: str = Field(default="", max_length=280)


class Incident(SQLModel, table=True):
    """Something that happened, with no identities: what, where, when, how many injured."""

    id: int | None = Field(default=None, primary_key=True)
    client_uuid: str = Field(max_length=36, unique=True)
    payload_hash: str = Field(max_length=64)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    conflict_id: int | None = Field(default=None, foreign_key="conflict.id", index=True)
    type: str = Field(max_length=24)
    area_id: int = Field(foreign_key="area.id")
    place_id: int | None = Field(default=None, foreign_key="place.id")
    occurred_at: datetime = Field(sa_type=UTCDateTime, index=True)
    # The server's time of receipt, beside the phone's own (occurred_at).
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    injured_count: int = 0
    response: str = Field(default="none", max_length=24)
    note: str = Field(default="", max_length=280)
    author_id: int = Field(foreign_key="app_user.id")


class CommunityResponse(SQLModel, table=True):
    """The community answering violence (the programme's third prong)."""

    __tablename__ = "community_response"

    id: int | None = Field(default=None, primary_key=True)
    client_uuid: str = Field(max_length=36, unique=True)
    payload_hash: str = Field(max_length=64)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    incident_id: int | None = Field(default=None, foreign_key="incident.id")
    kind: str = Field(max_length=24)
    area_id: int = Field(foreign_key="area.id")
    # The list of responses pages on it (migration 7c2e5a9f1b64).
    occurred_at: datetime = Field(sa_type=UTCDateTime, index=True)
    # The server's time of receipt, beside the phone's own (occurred_at).
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    participants_estimate: int | None = None
    note: str = Field(default="", max_length=280)
    author_id: int = Field(foreign_key="app_user.id")
