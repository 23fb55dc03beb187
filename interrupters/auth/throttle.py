"""Failed sign-ins per account, in the database: every worker and a restart see the same count
(issue 9, item 2; Flask-Limiter's memory storage is per process, PITFALLS.md).

After `FREE_FAILURES` wrong passwords each further attempt must wait 2^(n - FREE_FAILURES)
seconds after the last failure, capped at `MAX_WAIT`: a stranger can slow an account down but
never lock its owner out for longer than that. An attempt made while waiting is refused without
checking the password and does not add to the count. Per-address limits stay in Flask-Limiter.

A browser that has signed in to the account before carries a signed "known device" cookie and
is counted on its own (OWASP's device cookies): a stranger who keeps the account waiting does
not keep its owner out on the owner's own phone or computer.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete
from sqlmodel import Session, col, select

from interrupters.audit.services import record_event
from interrupters.auth.models import LoginThrottle, User
from interrupters.db import upsert

logger = logging.getLogger(__name__)

FREE_FAILURES = 5
MAX_WAIT = timedelta(minutes=5)
# A quiet day starts the count again.
FORGET_AFTER = timedelta(hours=24)
KNOWN_DEVICE_AGE = timedelta(days=180)
_KNOWN_DEVICE_SALT = "known-device"


def account_bucket(email: str) -> str:
    """The account's count. A hash, not the address: unknown (mistyped) addresses count too."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def known_device_token(*, secret: str, email: str) -> str:
    """The cookie a browser gets when it signs in: its own count for this account from now on."""
    serializer = URLSafeTimedSerializer(secret, salt=_KNOWN_DEVICE_SALT)
    return serializer.dumps({"a": account_bucket(email), "n": secrets.token_urlsafe(16)})


def known_device_bucket(*, secret: str, token: str | None, email: str) -> str | None:
    """The device's own count, if the token is a valid known-device cookie for this account."""
    if not token:
        return None
    serializer = URLSafeTimedSerializer(secret, salt=_KNOWN_DEVICE_SALT)
    try:
        data = serializer.loads(token, max_age=int(KNOWN_DEVICE_AGE.total_seconds()))
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("a") != account_bucket(email):
        return None
    return hashlib.sha256(f"device:{data.get('n')}".encode()).hexdigest()


def wait_for(failures: int) -> timedelta:
    """How long after the last failure the next attempt must wait."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    # 2 ** 9 s is already past the cap; a larger exponent only overflows.
    return min(timedelta(seconds=2 ** min(failures - FREE_FAILURES, 9)), MAX_WAIT)


def login_wait(*, session: Session, bucket: str, now: datetime) -> timedelta | None:
    """The time left before this account (or device) may try again, or None: try now."""
    row = session.get(LoginThrottle, bucket)
    if row is None or row.locked_until is None or row.locked_until <= now:
        return None
    return row.locked_until - now


def _account_id(session: Session, email: str) -> int | None:
    return session.exec(select(User.id).where(User.email == email.strip().lower())).first()


def record_failed_login(*, session: Session, bucket: str, email: str, now: datetime) -> int:
    """Count a wrong password in the bucket (race-safe across workers) and audit it with the
    account's id, never the address or the password. Returns the failures so far."""
    failures = count_failure(session=session, bucket=bucket, now=now)
    account = _account_id(session, email)
    record_event(
        session=session,
        event="login_failed",
        object_type="user" if account else None,
        object_id=account,
        detail={"failures": failures},
        now=now,
    )
    return failures


def count_failure(*, session: Session, bucket: str, now: datetime) -> int:
    """Count one failure in the bucket (race-safe across workers); return the failures so far.
    The second factor's wrong codes are counted here too, in buckets of their own."""
    # Counts from a quiet day ago are forgotten: typed addresses are not kept (their hashes).
    session.execute(
        delete(LoginThrottle).where(col(LoginThrottle.last_failure_at) < now - FORGET_AFTER)
    )
    # Takes the row's lock (PostgreSQL) or the database's write lock (SQLite) before the read.
    session.execute(
        upsert(session, LoginThrottle)
        .values(account_hash=bucket, failures=0, last_failure_at=now)
        .on_conflict_do_nothing()
    )
    row = session.exec(
        select(LoginThrottle)
        .where(LoginThrottle.account_hash == bucket)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    row.failures += 1
    row.last_failure_at = now
    wait = wait_for(row.failures)
    row.locked_until = now + wait if wait else None
    session.add(row)
    return row.failures


def record_throttled_login(*, session: Session, email: str, now: datetime) -> None:
    """Audit an attempt refused because the account must wait (its password is not read)."""
    account = _account_id(session, email)
    record_event(
        session=session,
        event="login_throttled",
        object_type="user" if account else None,
        object_id=account,
        now=now,
    )


def clear_failed_logins(*, session: Session, bucket: str) -> None:
    """The right password: the account (or the device) starts again from zero."""
    session.execute(delete(LoginThrottle).where(col(LoginThrottle.account_hash) == bucket))
