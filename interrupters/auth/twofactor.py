"""The second factor of the office roles (issue 9, item 1; DESIGN.md "Security").

An authenticator app (TOTP, RFC 6238) with ten one-time recovery codes as the fallback, and
passkeys (see passkeys.py). After the password, a device of an office role counts as signed in
only once it has passed a second factor (`DeviceSession.second_factor_at`); a person who has
none yet sets one up first.

- The TOTP secret is stored encrypted with a key derived from the app's SECRET_KEY (Fernet) and
  never written to a log or the audit log. Changing SECRET_KEY makes the secrets unreadable:
  everyone with an authenticator app then needs an admin's reset.
- A code is accepted once: the last accepted 30-second step is kept, and a code of that step or
  an earlier one is refused (no replay within its window).
- Recovery codes are stored as HMAC-SHA256 keyed with SECRET_KEY; each is spent by an update
  that only one request can win.
- Wrong codes are counted per account in the login throttle's table (throttle.py), in a bucket
  of their own, with the same growing delay.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from interrupters.audit.services import record_event
from interrupters.auth import throttle
from interrupters.auth.models import DeviceSession, Passkey, RecoveryCode, TotpFactor, User
from interrupters.auth.principal import OFFICE_ROLES, Principal
from interrupters.auth.signals import devices_signed_out, second_factors_reset
from interrupters.auth.values import Role
from interrupters.db import utcnow
from interrupters.errors import InvalidInput, NotAllowed, NotVisible

logger = logging.getLogger(__name__)

ISSUER = "Interrupters"
RECOVERY_CODES = 10
# 12 characters of 32 (60 bits), shown as two groups of six; no 0/o, 1/l/i.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 12
ENROL = "enrol"
# Checks the password before new recovery codes (the same argon2 parameters as services.py).
_password_hasher = PasswordHasher()
VERIFY = "verify"


# Keys and hashes ----------------------------------------------------------------------------


def _fernet(secret: str) -> Fernet:
    key = hashlib.sha256(f"totp-secret:{secret}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _encrypt(secret: str, value: str) -> str:
    return _fernet(secret).encrypt(value.encode()).decode()


def _decrypt(secret: str, token: str) -> str | None:
    try:
        return _fernet(secret).decrypt(token.encode()).decode()
    except InvalidToken:
        logger.warning("an authenticator secret cannot be decrypted (was SECRET_KEY changed?)")
        return None


def _recovery_hash(secret: str, code: str) -> str:
    normalised = "".join(char for char in code.lower() if char.isalnum())
    return hmac.new(f"recovery:{secret}".encode(), normalised.encode(), "sha256").hexdigest()


def bucket(user_id: int) -> str:
    return hashlib.sha256(f"second-factor:{user_id}".encode()).hexdigest()


# What a device still needs -------------------------------------------------------------------


def needs_second_factor(roles: frozenset[Role] | set[Role]) -> bool:
    """Whether these roles must pass a second factor (the office roles)."""
    return bool(set(roles) & OFFICE_ROLES)


def has_second_factor(*, session: Session, user_id: int) -> bool:
    """Whether the person has a confirmed authenticator app or a passkey."""
    totp = session.get(TotpFactor, user_id)
    if totp is not None and totp.confirmed_at is not None:
        return True
    return session.exec(select(Passkey.id).where(Passkey.user_id == user_id)).first() is not None


def pending_step(
    *, session: Session, device: DeviceSession, roles: frozenset[Role] | set[Role]
) -> str | None:
    """What this device must do before it counts as signed in: ENROL, VERIFY or nothing."""
    if device.second_factor_at is not None or not needs_second_factor(roles):
        return None
    return VERIFY if has_second_factor(session=session, user_id=device.user_id) else ENROL


def has_totp(*, session: Session, user_id: int) -> bool:
    totp = session.get(TotpFactor, user_id)
    return totp is not None and totp.confirmed_at is not None


def pass_device(*, session: Session, actor: Principal, method: str, now: datetime) -> None:
    device = session.get(DeviceSession, actor.device_session_id)
    assert device is not None
    device.second_factor_at = now
    session.add(device)
    record_event(
        session=session,
        event="second_factor_passed",
        actor_id=actor.user_id,
        detail={"method": method},
        now=now,
    )


# Enrolment ---------------------------------------------------------------------------------


def start_totp(
    *, session: Session, actor: Principal, secret: str, now: datetime | None = None
) -> None:
    """Make a new, unconfirmed authenticator secret for the actor (replacing an unconfirmed one).

    Refused while a confirmed one exists: replacing it needs an admin's reset."""
    now = now or utcnow()
    existing = session.get(TotpFactor, actor.user_id)
    if existing is not None and existing.confirmed_at is not None:
        raise InvalidInput({"code": _l("You already have an authenticator app.")})
    if existing is None:
        existing = TotpFactor(user_id=actor.user_id, secret_encrypted="")
    existing.secret_encrypted = _encrypt(secret, pyotp.random_base32())
    existing.created_at = now
    session.add(existing)


def pending_totp_secret(*, session: Session, actor: Principal, secret: str) -> str | None:
    """The unconfirmed secret the actor is setting up (to show it once more), or None."""
    factor = session.get(TotpFactor, actor.user_id)
    if factor is None or factor.confirmed_at is not None:
        return None
    return _decrypt(secret, factor.secret_encrypted)


def provisioning_uri(*, email: str, totp_secret: str) -> str:
    return pyotp.TOTP(totp_secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code of `uri` as inline SVG, drawn here: the secret never leaves the app."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#000", light="#fff"))


def _matching_step(totp_secret: str, code: str, now: datetime) -> int | None:
    """The 30-second step (this one, the one before or after) whose code this is, or None."""
    code = "".join(char for char in code if not char.isspace())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(totp_secret)
    step = totp.timecode(now)
    found = None
    for candidate in (step - 1, step, step + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            found = candidate
    return found


def _new_recovery_codes(*, session: Session, user_id: int, secret: str, now: datetime) -> list[str]:
    session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        code = f"{raw[:6]}-{raw[6:]}"
        codes.append(code)
        session.add(
            RecoveryCode(user_id=user_id, code_hash=_recovery_hash(secret, code), created_at=now)
        )
    return codes


def confirm_totp(
    *, session: Session, actor: Principal, code: str, secret: str, now: datetime | None = None
) -> list[str]:
    """Confirm the authenticator with a code from it; return ten new recovery codes (shown once).

    This device has then passed its second factor."""
    now = now or utcnow()
    factor = session.get(TotpFactor, actor.user_id)
    if factor is None or factor.confirmed_at is not None:
        raise InvalidInput({"code": _l("Start again: scan the new QR code.")})
    totp_secret = _decrypt(secret, factor.secret_encrypted)
    step = _matching_step(totp_secret, code, now) if totp_secret else None
    if step is None:
        raise InvalidInput({"code": _l("The code is wrong. Check the time on your phone.")})
    factor.confirmed_at = now
    factor.last_step = step
    session.add(factor)
    codes = _new_recovery_codes(session=session, user_id=actor.user_id, secret=secret, now=now)
    record_event(
        session=session,
        event="second_factor_enrolled",
        actor_id=actor.user_id,
        detail={"method": "totp"},
        now=now,
    )
    pass_device(session=session, actor=actor, method="totp", now=now)
    return codes


# Sign-in ------------------------------------------------------------------------------------


def second_factor_wait(
    *, session: Session, actor: Principal, now: datetime | None = None
) -> timedelta | None:
    """The time left before the actor may type another code, or None: now."""
    return throttle.login_wait(session=session, bucket=bucket(actor.user_id), now=now or utcnow())


def verify_code(
    *, session: Session, actor: Principal, code: str, secret: str, now: datetime | None = None
) -> bool:
    """Check a code from the authenticator app or a recovery code; on success this device has
    passed its second factor. A wrong code is counted (and audited, never the code)."""
    now = now or utcnow()
    if second_factor_wait(session=session, actor=actor, now=now) is not None:
        record_event(
            session=session, event="second_factor_throttled", actor_id=actor.user_id, now=now
        )
        return False
    method = _check_totp(session=session, user_id=actor.user_id, code=code, secret=secret, now=now)
    if method is None and _spend_recovery_code(
        session=session, user_id=actor.user_id, code=code, secret=secret, now=now
    ):
        method = "recovery_code"
    if method is None:
        count_wrong_factor(session=session, actor=actor, now=now)
        return False
    throttle.clear_failed_logins(session=session, bucket=bucket(actor.user_id))
    pass_device(session=session, actor=actor, method=method, now=now)
    return True


def count_wrong_factor(*, session: Session, actor: Principal, now: datetime) -> None:
    """Count a wrong code or passkey answer and audit it (never what was typed)."""
    failures = throttle.count_failure(session=session, bucket=bucket(actor.user_id), now=now)
    record_event(
        session=session,
        event="second_factor_failed",
        actor_id=actor.user_id,
        detail={"failures": failures},
        now=now,
    )


def _check_totp(
    *, session: Session, user_id: int, code: str, secret: str, now: datetime
) -> str | None:
    factor = session.get(TotpFactor, user_id)
    if factor is None or factor.confirmed_at is None:
        return None
    totp_secret = _decrypt(secret, factor.secret_encrypted)
    step = _matching_step(totp_secret, code, now) if totp_secret else None
    if step is None:
        return None
    # Only a later step than the last accepted one: an update only one request can win.
    won = session.execute(
        update(TotpFactor)
        .where(col(TotpFactor.user_id) == user_id)
        .where((col(TotpFactor.last_step).is_(None)) | (col(TotpFactor.last_step) < step))
        .values(last_step=step)
    )
    return "totp" if won.rowcount == 1 else None  # type: ignore[attr-defined]


def _spend_recovery_code(
    *, session: Session, user_id: int, code: str, secret: str, now: datetime
) -> bool:
    spent = session.execute(
        update(RecoveryCode)
        .where(col(RecoveryCode.user_id) == user_id)
        .where(col(RecoveryCode.code_hash) == _recovery_hash(secret, code))
        .where(col(RecoveryCode.used_at).is_(None))
        .values(used_at=now)
    )
    return spent.rowcount == 1  # type: ignore[attr-defined]


def renew_recovery_codes(
    *,
    session: Session,
    actor: Principal,
    password: str,
    secret: str,
    now: datetime | None = None,
) -> list[str]:
    """Make ten new recovery codes (shown once); the old ones stop working at once.

    Asks for the password again: an unlocked, unattended computer must not hand out codes
    that pass the second factor later. Audited, never the codes."""
    now = now or utcnow()
    user = session.get(User, actor.user_id)
    assert user is not None
    try:
        _password_hasher.verify(user.password_hash or "", password)
    except (VerificationError, InvalidHashError):
        raise InvalidInput({"password": _l("The password is wrong.")}) from None
    if actor.second_factor or not has_second_factor(session=session, user_id=actor.user_id):
        raise InvalidInput({"password": _l("Set up a second factor first.")})
    codes = _new_recovery_codes(session=session, user_id=actor.user_id, secret=secret, now=now)
    record_event(
        session=session,
        event="recovery_codes_renewed",
        actor_id=actor.user_id,
        object_type="user",
        object_id=actor.user_id,
        now=now,
    )
    return codes


def recovery_codes_left(*, session: Session, user_id: int) -> int:
    return len(
        session.exec(
            select(RecoveryCode.id)
            .where(RecoveryCode.user_id == user_id)
            .where(col(RecoveryCode.used_at).is_(None))
        ).all()
    )


# The admin's reset --------------------------------------------------------------------------


def reset_second_factors(
    *, session: Session, actor: Principal, user_id: int, now: datetime | None = None
) -> None:
    """Remove a person's authenticator, recovery codes and passkeys (a lost phone).

    Their devices are signed out, so the next sign-in sets up a new factor; they are told in
    the app with a generic text (push listens to `second_factors_reset`); the reset is audited
    (never a secret)."""
    if not actor.has_role(Role.admin):
        raise NotAllowed()
    user = session.get(User, user_id)
    if user is None:
        raise NotVisible()
    now = now or utcnow()
    session.execute(delete(TotpFactor).where(col(TotpFactor.user_id) == user_id))
    session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))
    passkeys = session.execute(delete(Passkey).where(col(Passkey.user_id) == user_id))
    ended = []
    for device in session.exec(
        select(DeviceSession)
        .where(DeviceSession.user_id == user_id)
        .where(col(DeviceSession.revoked_at).is_(None))
    ):
        device.revoked_at = now
        device.revoked_reason = "factors_reset"
        session.add(device)
        ended.append(device.id)
    devices_signed_out.send(session, device_session_ids=[i for i in ended if i is not None])
    event = record_event(
        session=session,
        event="second_factors_reset",
        actor_id=actor.user_id,
        object_type="user",
        object_id=user_id,
        detail={"passkeys": int(passkeys.rowcount or 0)},  # type: ignore[attr-defined]
        now=now,
    )
    assert event.id is not None
    second_factors_reset.send(session, user_id=user_id, event_id=event.id, now=now)
