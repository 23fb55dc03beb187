"""A field phone's app PIN and the session that outlives a browser restart (issue 9, item 5;
DESIGN.md "Security").

A field role (interrupter, night walker, association lead) keeps a long session on their own
phone: 12 hours idle, 7 days at most (services.FIELD_IDLE, FIELD_ABSOLUTE). The session cookie
has no expiry, so a browser the phone killed would sign them out; with a PIN set on the device,
a second, persistent *resume* cookie brings the session back after a restart, locked:

- The resume token is random; only its SHA-256 is stored. Each use (a restart, an unlock)
  replaces it. The new device and resume tokens after a restart are derived from the old
  resume token with the app's secret, so the page and the service worker that both arrive
  with the old cookie after a restart get the same new cookies, whichever answer the
  browser keeps. The old token's hash is kept until the browser has come back with the new
  one; an old token used after that (and a short grace for requests already on their way)
  is a copied cookie: the device is signed out.
- A restored session is locked, and so is one idle for `PIN_IDLE` (the person's requests
  count, the outbox's do not). Locked, the app asks for the PIN and answers nothing else but
  the outbox (which keeps sending: its records are sealed) and sign-out.
- The PIN is 4-6 digits, hashed with argon2 like a password, checked on the server. Wrong PINs
  are counted on the device row (an update only one request wins at a time), each later try
  waits a little longer, and the fifth ends the session with a reason that wipes the phone.
- Logout, "sign out this device", deactivation, a role change, a password change and an
  admin's reset revoke the device row, and with it the resume cookie.

What the phone shows offline while locked is decided on the phone (static/js/pin-gate.js):
pages that carry participant codes stay hidden until the PIN could be checked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlmodel import Session, col, select

from interrupters.audit.services import record_event
from interrupters.auth.models import DeviceSession, User
from interrupters.auth.principal import Principal
from interrupters.auth.signals import devices_signed_out
from interrupters.db import utcnow
from interrupters.errors import InvalidInput, NotAllowed

logger = logging.getLogger(__name__)

_hasher = PasswordHasher()
PIN_IDLE = timedelta(minutes=10)
MAX_PIN_FAILURES = 5
# Seconds the next try waits after the nth wrong PIN: the owner's slip costs nothing, a
# stranger's guesses slow down; the fifth ends the session anyway.
_PIN_WAITS = {1: 0, 2: 5, 3: 30, 4: 60}
# Requests already under way when a restart's first answer rotated the cookie.
RESUME_GRACE = timedelta(minutes=2)
# Ends that wipe the phone (services.WIPE_REASONS adds these).
LOCKOUT = "pin_lockout"
REUSED = "resume_reused"
# Ends that keep the outbox: the person chose to sign in with the password again.
FORGOTTEN = "pin_forgotten"
# Trivial PINs a finder tries first.
_TRIVIAL = {"1234", "12345", "123456", "4321", "54321", "654321", "1212", "2580", "0852"}


@dataclass(frozen=True)
class Unlock:
    """The answer to a PIN: "ok" (with the new resume token), "wrong", "wait" or "locked_out"."""

    outcome: str
    resume_token: str | None = None
    tries_left: int = 0
    wait: timedelta | None = None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _derive(secret: str, purpose: str, token: str) -> str:
    """A token derived from the old resume token: the same for every request carrying it."""
    digest = hmac.new(secret.encode(), f"resume-{purpose}:{token}".encode(), "sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def is_field_device(device: DeviceSession) -> bool:
    """Whether this session has the field roles' long lifetime (only they get a PIN)."""
    from interrupters.auth.services import OFFICE_IDLE

    return device.idle_minutes > int(OFFICE_IDLE.total_seconds() // 60)


def pin_problem(pin: str) -> str | None:
    """Why a new PIN is refused, or None."""
    if not (4 <= len(pin) <= 6) or not pin.isascii() or not pin.isdigit():
        return str(_l("Use 4 to 6 digits."))
    if len(set(pin)) == 1 or pin in _TRIVIAL or pin in "0123456789" or pin in "9876543210":
        return str(_l("This PIN is too easy to guess."))
    return None


def _verify(stored: str, pin: str) -> bool:
    try:
        return _hasher.verify(stored, pin)
    except (VerificationError, InvalidHashError):
        return False


def _device(session: Session, actor: Principal) -> DeviceSession:
    device = session.get(DeviceSession, actor.device_session_id)
    assert device is not None
    return device


def _new_resume_token(device: DeviceSession, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    device.resume_prev_hash = device.resume_hash
    device.resume_hash = _hash(token)
    device.resume_rotated_at = now
    device.resume_confirmed = False
    return token


def set_pin(
    *,
    session: Session,
    actor: Principal,
    pin: str,
    current: str | None = None,
    now: datetime | None = None,
) -> str:
    """Set (or, with the current PIN, change) this device's PIN; return the resume token for
    the persistent cookie. Only a field role's device has one."""
    device = _device(session, actor)
    if not is_field_device(device):
        raise NotAllowed()
    now = now or utcnow()
    changing = device.pin_hash is not None
    if changing and not _verify(device.pin_hash or "", current or ""):
        raise InvalidInput({"current": _l("The current PIN is wrong.")})
    problem = pin_problem(pin)
    if problem:
        raise InvalidInput({"pin": problem})
    device.pin_hash = _hasher.hash(pin)
    device.pin_set_at = now
    device.pin_failures = 0
    device.pin_declined_at = None
    device.locked_at = None
    device.last_active_at = now
    token = _new_resume_token(device, now)
    # A first token has nothing before it to guard.
    device.resume_confirmed = True
    session.add(device)
    record_event(
        session=session,
        event="pin_changed" if changing else "pin_set",
        actor_id=actor.user_id,
        object_type="device_session",
        object_id=device.id,
        now=now,
    )
    return token


def decline_pin(*, session: Session, actor: Principal, now: datetime | None = None) -> None:
    """The person signs in with the password each time on this device (not asked again)."""
    device = _device(session, actor)
    if device.pin_hash is None and device.pin_declined_at is None:
        device.pin_declined_at = now or utcnow()
        session.add(device)


def pin_wait(device: DeviceSession, now: datetime) -> timedelta | None:
    """Time left before the next PIN may be tried, or None."""
    seconds = _PIN_WAITS.get(device.pin_failures, 0)
    if not seconds or device.last_active_at is None:
        return None
    # A wrong PIN sets last_active_at (a locked device has no other activity).
    left = device.last_active_at + timedelta(seconds=seconds) - now
    return left if left > timedelta(0) else None


def unlock(*, session: Session, actor: Principal, pin: str, now: datetime | None = None) -> Unlock:
    """Check the PIN of a locked device. Right: unlocked, the resume cookie rotated. Wrong:
    counted and audited (never the PIN); the fifth ends the session for a wipe."""
    device = _device(session, actor)
    if device.pin_hash is None:
        return Unlock("ok")
    now = now or utcnow()
    wait = pin_wait(device, now)
    if wait is not None:
        return Unlock("wait", tries_left=MAX_PIN_FAILURES - device.pin_failures, wait=wait)
    if device.pin_failures < MAX_PIN_FAILURES and _verify(device.pin_hash, pin):
        device.pin_failures = 0
        device.locked_at = None
        device.last_active_at = now
        token = _new_resume_token(device, now)
        session.add(device)
        record_event(session=session, event="pin_unlocked", actor_id=actor.user_id, now=now)
        return Unlock("ok", resume_token=token)
    # Counted by an update: parallel guesses cannot share one count.
    failures = session.execute(
        update(DeviceSession)
        .where(col(DeviceSession.id) == device.id)
        .values(pin_failures=col(DeviceSession.pin_failures) + 1, last_active_at=now)
        .returning(col(DeviceSession.pin_failures))
    ).scalar_one()
    session.refresh(device)
    record_event(
        session=session,
        event="pin_failed",
        actor_id=actor.user_id,
        object_type="device_session",
        object_id=device.id,
        detail={"failures": failures},
        now=now,
    )
    if failures < MAX_PIN_FAILURES:
        return Unlock("wrong", tries_left=MAX_PIN_FAILURES - failures)
    _end(session, device, LOCKOUT, now)
    record_event(
        session=session,
        event="pin_lockout",
        actor_id=actor.user_id,
        object_type="device_session",
        object_id=device.id,
        now=now,
    )
    return Unlock("locked_out")


def forget_pin(*, session: Session, actor: Principal, now: datetime | None = None) -> None:
    """The person has forgotten the PIN: end this session (keeping the phone's outbox) so they
    sign in with the password and set a new one."""
    device = _device(session, actor)
    now = now or utcnow()
    _end(session, device, FORGOTTEN, now)
    record_event(
        session=session,
        event="pin_forgotten",
        actor_id=actor.user_id,
        object_type="device_session",
        object_id=device.id,
        now=now,
    )


def _end(session: Session, device: DeviceSession, reason: str, now: datetime) -> None:
    if device.revoked_at is None:
        device.revoked_at = now
        device.revoked_reason = reason
        session.add(device)
    assert device.id is not None
    devices_signed_out.send(session, device_session_ids=[device.id])


def lock_state(
    *, device: DeviceSession, now: datetime, active: bool, idle: timedelta = PIN_IDLE
) -> tuple[bool, datetime | None]:
    """Whether this device is locked (locking it when idle), and until when it stays unlocked
    without activity. Updates the row's activity when `active` (a person's request)."""
    if device.pin_hash is None:
        return False, None
    last = device.last_active_at or device.last_seen_at
    if device.locked_at is None and now - last > idle:
        device.locked_at = now
    if device.locked_at is not None:
        return True, None
    # Written at most once a minute, like last_seen_at.
    if active and now - last > timedelta(seconds=60):
        device.last_active_at = last = now
    return False, last + idle


def confirm_resume(device: DeviceSession, resume_token: str | None) -> None:
    """The browser came back with the newest resume cookie: the old one may now be refused."""
    if (
        not device.resume_confirmed
        and resume_token
        and device.resume_hash is not None
        and hmac.compare_digest(_hash(resume_token), device.resume_hash)
    ):
        device.resume_confirmed = True


def _usable(session: Session, device: DeviceSession, now: datetime) -> bool:
    if device.revoked_at is not None or device.expires_at <= now or device.pin_hash is None:
        return False
    if now - device.last_seen_at > timedelta(minutes=device.idle_minutes):
        return False
    user = session.get(User, device.user_id)
    return user is not None and user.active


def resume(
    *, session: Session, token: str, secret: str, now: datetime | None = None
) -> tuple[str, str] | None:
    """Bring back a device's session from its resume cookie after a restart, locked.

    Returns (device token, new resume token), or None when the cookie is spent, unknown or its
    session over. A cookie older than the newest the browser has shown signs the device out."""
    now = now or utcnow()
    hashed = _hash(token)
    device_token = _derive(secret, "device", token)
    next_token = _derive(secret, "resume", token)
    device = session.exec(select(DeviceSession).where(DeviceSession.resume_hash == hashed)).first()
    if device is None:
        device = session.exec(
            select(DeviceSession).where(DeviceSession.resume_prev_hash == hashed)
        ).first()
        if device is None or not _usable(session, device, now):
            return None
        same = device.token_hash == _hash(device_token) and device.resume_hash == _hash(next_token)
        if not device.resume_confirmed:
            # The browser never came back with the newer cookie (an answer lost on the way):
            # this one is still its own. The same restart gets the same tokens; after an
            # unlock whose answer was lost, it starts again from this one.
            if same:
                return device_token, next_token
        elif now - (device.resume_rotated_at or now) <= RESUME_GRACE:
            # Requests of the same restart, already on their way.
            return (device_token, next_token) if same else None
        else:
            _end(session, device, REUSED, now)
            record_event(
                session=session,
                event="session_resume_reused",
                actor_id=device.user_id,
                object_type="device_session",
                object_id=device.id,
                now=now,
            )
            return None
    elif not _usable(session, device, now):
        return None
    device.token_hash = _hash(device_token)
    device.resume_prev_hash = hashed
    device.resume_hash = _hash(next_token)
    device.resume_rotated_at = now
    device.resume_confirmed = False
    device.locked_at = device.locked_at or now
    device.last_seen_at = now
    session.add(device)
    record_event(
        session=session,
        event="session_resumed",
        actor_id=device.user_id,
        object_type="device_session",
        object_id=device.id,
        now=now,
    )
    return device_token, next_token


def resume_end_reason(*, session: Session, token: str) -> str | None:
    """Why the session of this resume cookie ended ("revoked", "pin_lockout", ...), or None."""
    hashed = _hash(token)
    device = session.exec(
        select(DeviceSession).where(
            (col(DeviceSession.resume_hash) == hashed)
            | (col(DeviceSession.resume_prev_hash) == hashed)
        )
    ).first()
    if device is None:
        return None
    if device.revoked_at is not None:
        return device.revoked_reason or "revoked"
    return "expired"
