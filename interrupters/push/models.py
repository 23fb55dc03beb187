"""Web Push subscriptions (one per browser) and notifications (one row per recipient and event)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from interrupters.db import UTCDateTime, utcnow


class PushSubscription(SQLModel, table=True):
    """A browser's push endpoint and keys, as PushManager.subscribe() made them.

    It belongs to the device session that registered it: signing that device out removes it.
    """

    __tablename__ = "push_subscription"

    id: int | None = Field(default=None, primary_key=True)
    # Push services' endpoints are a few hundred characters; the browser makes them unique.
    endpoint: str = Field(max_length=1024, unique=True)
    # The browser's ECDH P-256 public key (65 bytes) and auth secret (16 bytes), base64url.
    p256dh: str = Field(max_length=128)
    auth: str = Field(max_length=64)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    device_session_id: int = Field(foreign_key="device_session.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # When the device last confirmed the subscription (it does so once a day while in use);
    # Safari may answer 200 for an expired endpoint, so a long silence ends it (expires_at).
    last_used_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Notification(SQLModel, table=True):
    """One notification for one person; the unique key makes a replayed event notify once.

    Title and body are stored as message ids with their variables (see services.Message) and
    rendered in the recipient's language when they are sent or listed.
    """

    __table_args__ = (
        UniqueConstraint("recipient_id", "kind", "subject"),
        # The in-app list pages on it, newest first (migration 7c2e5a9f1b64).
        Index("ix_notification_recipient_deliver", "recipient_id", "deliver_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Indexed by the unique key, which starts with it.
    recipient_id: int = Field(foreign_key="app_user.id")
    kind: str = Field(max_length=48)
    # What the event is about, e.g. "conflict-event:17"; also the tag that replaces an
    # earlier notification about the same thing on the phone.
    subject: str = Field(max_length=120)
    title: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    body: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # A path in this app; details open there after sign-in.
    url: str = Field(default="/", max_length=300)
    requires_ack: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Due from this time (a scheduled repeat is due later); shown in the list from then on.
    deliver_at: datetime = Field(sa_type=UTCDateTime)
    # Seconds a push service keeps the message for a phone that is offline; also how long
    # delivery is retried.
    ttl_seconds: int = Field(default=3600, sa_column_kwargs={"server_default": "3600"})
    # Delivery: the next attempt, how many were made, and a lease so one sender owns the row.
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, index=True)
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    claim_token: str | None = Field(default=None, max_length=32)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Subscriptions that accepted it, so a retry goes only to the others.
    pushed_to: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Set when delivery is finished: "sent", "no_device", "failed" or "expired".
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivery: str | None = Field(default=None, max_length=16)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Escalation: unless someone acknowledged the event by repeat_at, it is repeated once to
    # repeat_to (as a notification of kind "<kind>:repeat"); repeated_at marks it done.
    repeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    repeat_to: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    repeated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
