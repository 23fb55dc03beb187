"""Organisations, users, memberships, invitations and signed-in devices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint, true
from sqlmodel import Field, SQLModel

from interrupters.db import UTCDateTime, utcnow


class Organisation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    type: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OrganisationDistrict(SQLModel, table=True):
    __tablename__ = "organisation_district"

    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True)
    district_id: int = Field(foreign_key="district.id", primary_key=True)


class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    display_name: str = Field(max_length=80)
    password_hash: str | None = Field(default=None, max_length=255)
    locale: str = Field(default="sv", max_length=8)
    active: bool = True
    pledge_accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Membership(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("user_id", "organisation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    role: str = Field(max_length=32)


class Invitation(SQLModel, table=True):
    """A one-time link to set a password; only a hash of the token is stored."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeviceSession(SQLModel, table=True):
    """One signed-in browser: revoking the row ends that session on the next request."""

    __tablename__ = "device_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    device_label: str = Field(default="", max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    idle_minutes: int
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=32)
    # When this device passed the second factor; an office role's session counts as signed in
    # only after it (issue 9, item 1).
    second_factor_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A field phone's app PIN (issue 9, item 5): argon2, like passwords; the device stays signed
    # in through a browser restart (the resume cookie) and is locked after a restart or idle.
    pin_hash: str | None = Field(default=None, max_length=255)
    pin_set_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Wrong PINs since the last right one; the fifth ends the session and wipes the phone.
    pin_failures: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The person chose to sign in with the password each time on this device (a shared one).
    pin_declined_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set when the app must ask for the PIN (a restart, idle); cleared by the right PIN.
    locked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The person's last request (not the outbox's): the PIN's idle time counts from here.
    last_active_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The persistent cookie that restores the session after a restart: only hashes, rotated
    # on every use; the previous one is kept to tell a lost answer from a copied cookie.
    resume_hash: str | None = Field(default=None, max_length=64, unique=True)
    resume_prev_hash: str | None = Field(default=None, max_length=64, index=True)
    resume_rotated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Whether the browser has come back with the newest resume cookie.
    resume_confirmed: bool = Field(default=True, sa_column_kwargs={"server_default": true()})


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins of one account, in the database so every worker and a restart see them
    (issue 9, item 2). Keyed by a hash of the e-mail: unknown addresses are slowed alike."""

    __tablename__ = "login_throttle"

    account_hash: str = Field(max_length=64, primary_key=True)
    failures: int = 0
    last_failure_at: datetime = Field(sa_type=UTCDateTime, index=True)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TotpFactor(SQLModel, table=True):
    """A person's authenticator app: the secret encrypted, the last accepted step so a code
    works once (issue 9, item 1)."""

    __tablename__ = "totp_factor"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    secret_encrypted: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # None until the person has typed a code from the app: an unconfirmed secret signs no one in.
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_step: int | None = None


class RecoveryCode(SQLModel, table=True):
    """A one-time code for when the authenticator is lost; only a keyed hash is stored."""

    __tablename__ = "recovery_code"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Passkey(SQLModel, table=True):
    """A WebAuthn credential of a person (issue 9, item 1): the public key, never a secret."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    credential_id: str = Field(max_length=1400, unique=True)
    public_key: str = Field(max_length=2000)
    sign_count: int = 0
    transports: str = Field(default="", max_length=200)
    label: str = Field(default="", max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
