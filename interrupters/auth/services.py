"""Passwords, device sessions, invitations, the pledge and memberships."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import bindparam, event, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select
from zxcvbn import zxcvbn

from interrupters.audit.services import record_event
from interrupters.auth import pin
from interrupters.auth.models import DeviceSession, Invitation, Membership, Organisation, User
from interrupters.auth.principal import OFFICE_ROLES, Principal
from interrupters.auth.signals import devices_signed_out
from interrupters.auth.twofactor import pending_step
from interrupters.auth.values import Role
from interrupters.db import utcnow
from interrupters.errors import InvalidInput, NotAllowed, NotVisible

logger = logging.getLogger(__name__)

# Argon2id, memory-hard; the library's defaults follow RFC 9106's second recommendation.
_hasher = PasswordHasher()
# Verified when the e-mail is unknown, so a failed login takes as long either way.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

MIN_PASSWORD_LENGTH = 12
# zxcvbn's lists are English; these are what Swedish users (and this app's users) reach for:
# months, weekdays, seasons and holidays, places, clubs and common words (issue 9, item 8).
_SWEDISH_WORDS = """
januari februari mars april maj juni juli augusti september oktober november december
måndag tisdag onsdag torsdag fredag lördag söndag helg helgen
vår våren sommar sommaren höst hösten vinter vintern
jul julen julafton nyår nyårsafton påsk påsken midsommar midsommarafton valborg lucia
sverige svenska stockholm göteborg malmö uppsala söder södermalm
lösenord hemlig hemligt välkommen hejsan hejhej kärlek älskling sötnos
mamma pappa familj katt hund fotboll hammarby djurgården aik bajen
järva rinkeby tensta husby kista akalla spånga
nattvandrare nattvandrarna fredsbyggare interrupters
"""
_FOLD = str.maketrans("åäöé", "aaoe")


def _local_words() -> list[str]:
    words: list[str] = []
    for word in _SWEDISH_WORDS.split():
        words.append(word)
        if word.translate(_FOLD) != word:
            words.append(word.translate(_FOLD))
    return words


LOCAL_WORDS = _local_words()
# A known word with a few digits or symbols around it ("Sommar2026!!", "Fotboll12345") is what
# people choose and what guessers try first; zxcvbn scores it 3 (its year pattern ends in 2019).
_DECORATION_MAX = 6
_WORD_GUESSES = 10_000
OFFICE_IDLE = timedelta(minutes=30)
OFFICE_ABSOLUTE = timedelta(hours=12)
FIELD_IDLE = timedelta(hours=12)
FIELD_ABSOLUTE = timedelta(days=7)
# Writing last_seen on every request would turn every read into a write.
_TOUCH_EVERY = timedelta(seconds=60)
_TOUCH_COLUMNS = ("last_seen_at", "last_active_at")


def _defer_device_write(session: Session, device: DeviceSession) -> None:
    """Keep the sign-in loader's once-a-minute touch (last seen, last active) for the request's
    commit instead of letting the next query flush it.

    A flush here would make a request's first statement a write: on SQLite that takes the
    database's write lock before the request has read anything, so a sync request decrypting
    and checking 100 records would hold it all along and its neighbours would wait past the
    busy timeout ("database is locked"). The values stay on the object as committed state and
    one UPDATE goes out just before the request's commit (`_write_deferred_devices`). Rarer
    changes (the PIN's lock, the resume cookie) are flushed as usual. For a page,
    `create_app`'s after_request commits when the flag is set.
    """
    state = sa_inspect(device)
    assert state is not None
    touch = {
        key: getattr(device, key)
        for key in _TOUCH_COLUMNS
        if state.attrs[key].history.has_changes()
    }
    for key, value in touch.items():
        set_committed_value(device, key, value)
    if touch:
        session.info.setdefault("device_writes", {}).setdefault(device.id, {}).update(touch)
    if touch or session.is_modified(device):
        session.add(device)
        session.info["touched"] = True


@event.listens_for(OrmSession, "before_commit")
def _write_deferred_devices(session: OrmSession) -> None:
    for device_id, changes in session.info.pop("device_writes", {}).items():
        session.execute(
            update(DeviceSession).where(col(DeviceSession.id) == device_id).values(**changes)
        )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_problems(*, password: str, user_inputs: list[str]) -> list[LazyString]:
    """Return why a password is refused (empty when it is good enough)."""
    problems: list[LazyString] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(_l("Use at least %(count)d characters.", count=MIN_PASSWORD_LENGTH))
        return problems
    # zxcvbn knows the common-password lists and patterns built from the user's own details.
    words = [*user_inputs, *LOCAL_WORDS]
    strength = zxcvbn(password[:100], user_inputs=words)
    if strength["score"] < 3 or _decorated_word(password[:100], words):
        problems.append(_l("This password is too common or too easy to guess."))
    return problems


def _decorated_word(password: str, words: list[str]) -> bool:
    """Whether the password is one guessable word with at most a few digits or symbols around
    it: "Sommar2026!!", "2026Vinter!", "Stockholm123!"."""
    letters = [i for i, char in enumerate(password) if char.isalpha()]
    if not letters:
        return False
    core = password[letters[0] : letters[-1] + 1]
    if len(password) - len(core) > _DECORATION_MAX:
        return False
    found = zxcvbn(core, user_inputs=words)
    return float(found["guesses"]) < _WORD_GUESSES or (
        len(found["sequence"]) == 1 and found["sequence"][0]["pattern"] == "dictionary"
    )


def authenticate(*, session: Session, email: str, password: str) -> User | None:
    """Return the active user whose password this is, or None."""
    user = session.exec(select(User).where(User.email == normalise_email(email))).first()
    stored = user.password_hash if user and user.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active or user.password_hash is None:
        return None
    if _hasher.check_needs_rehash(stored):
        user.password_hash = hash_password(password)
    return user


def memberships_of(*, session: Session, user_id: int) -> tuple[tuple[int, Role], ...]:
    rows = session.exec(
        select(Membership.organisation_id, Membership.role)
        .where(Membership.user_id == user_id)
        .order_by(col(Membership.id))
    ).all()
    return tuple((org, Role(role)) for org, role in rows)


def display_names(*, session: Session, user_ids: list[int]) -> dict[int, str]:
    """Staff display names by id (users are staff, never participants)."""
    rows = session.exec(select(User.id, User.display_name).where(col(User.id).in_(set(user_ids))))
    return {uid: name for uid, name in rows if uid is not None}


def session_limits(roles: frozenset[Role] | set[Role]) -> tuple[timedelta, timedelta]:
    """Return (idle, absolute) lifetimes: the stricter office limits win for mixed roles."""
    if not roles or roles & OFFICE_ROLES:
        return OFFICE_IDLE, OFFICE_ABSOLUTE
    return FIELD_IDLE, FIELD_ABSOLUTE


def start_device_session(
    *, session: Session, user: User, device_label: str, now: datetime | None = None
) -> str:
    """Open a session for one device and return its token (only its hash is stored)."""
    assert user.id is not None
    now = now or utcnow()
    roles = {role for _org, role in memberships_of(session=session, user_id=user.id)}
    idle, absolute = session_limits(roles)
    token = secrets.token_urlsafe(32)
    session.add(
        DeviceSession(
            user_id=user.id,
            token_hash=_token_hash(token),
            device_label=device_label[:120],
            created_at=now,
            last_seen_at=now,
            idle_minutes=int(idle.total_seconds() // 60),
            expires_at=now + absolute,
        )
    )
    record_event(session=session, event="login", actor_id=user.id, now=now)
    return token


# Built once: building the statement cost more than running it (issue 8).
_SIGN_IN = (
    select(DeviceSession, User, Membership.organisation_id, Membership.role)
    .join(User, col(User.id) == DeviceSession.user_id)
    .outerjoin(Membership, col(Membership.user_id) == DeviceSession.user_id)
    .where(col(DeviceSession.token_hash) == bindparam("token_hash"))
    .order_by(col(Membership.id))
)


def principal_for_token(
    *,
    session: Session,
    token: str,
    now: datetime | None = None,
    two_factor_required: bool = False,
    active: bool = True,
    resume_token: str | None = None,
    pin_idle: timedelta = pin.PIN_IDLE,
) -> Principal | None:
    """Return who holds this token, or None if its session is revoked, idle or expired.

    With `two_factor_required` an office role's device that has not passed its second factor
    is marked (`Principal.second_factor`): the guard lets it reach only that step. A field
    device with a PIN is marked `locked` after a restart or `pin_idle` without the person's
    requests (`active` is False for the outbox's); `resume_token` is the browser's resume
    cookie, to learn that it has the newest one."""
    now = now or utcnow()
    # One query for the device, its person and their memberships (a row a membership): every
    # request signs in this way, a phone's sync requests most of all (issue 8).
    rows = session.exec(_SIGN_IN, params={"token_hash": _token_hash(token)}).all()
    if not rows:
        return None
    device, user = rows[0][0], rows[0][1]
    if device.revoked_at is not None or device.expires_at <= now:
        return None
    if now - device.last_seen_at > timedelta(minutes=device.idle_minutes):
        return None
    if not user.active:
        return None
    if now - device.last_seen_at > _TOUCH_EVERY:
        device.last_seen_at = now
    assert user.id is not None and device.id is not None
    locked, unlocked_until = pin.lock_state(device=device, now=now, active=active, idle=pin_idle)
    pin.confirm_resume(device, resume_token)
    _defer_device_write(session, device)
    memberships = tuple((org, Role(role)) for _device, _user, org, role in rows if org is not None)
    step = None
    if two_factor_required:
        roles = {role for _org, role in memberships}
        step = pending_step(session=session, device=device, roles=roles)
    return Principal(
        user_id=user.id,
        display_name=user.display_name,
        email=user.email,
        locale=user.locale,
        device_session_id=device.id,
        token=token,
        memberships=memberships,
        pledge_accepted=user.pledge_accepted_at is not None,
        second_factor=step,
        pin=device.pin_hash is not None,
        field=pin.is_field_device(device),
        locked=locked,
        unlocked_until=unlocked_until,
        offer_pin=(
            device.pin_hash is None
            and device.pin_declined_at is None
            and pin.is_field_device(device)
        ),
    )


# Sessions ended for these reasons wipe the phone when it next calls; an idle or expired
# session (or a role change) only asks for a new sign-in and keeps the outbox.
WIPE_REASONS = frozenset({"logout", "revoked", "deactivated", pin.LOCKOUT, pin.REUSED})


def session_end_reason(*, session: Session, token: str) -> str | None:
    """Why the session of this token ended ("revoked", "expired", ...), None if unknown."""
    device = session.exec(
        select(DeviceSession).where(DeviceSession.token_hash == _token_hash(token))
    ).first()
    if device is None:
        return None
    if device.revoked_at is not None:
        return device.revoked_reason or "revoked"
    return "expired"


def end_device_session(
    *, session: Session, actor: Principal, reason: str = "logout", now: datetime | None = None
) -> None:
    """End the actor's current session (logout)."""
    device = session.get(DeviceSession, actor.device_session_id)
    if device is not None and device.revoked_at is None:
        device.revoked_at = now or utcnow()
        device.revoked_reason = reason
        session.add(device)
    # A signed-out phone gets no more pushes (its browser is wiped too).
    devices_signed_out.send(session, device_session_ids=[actor.device_session_id])
    record_event(session=session, event="logout", actor_id=actor.user_id, now=now)


def list_devices(
    *, session: Session, actor: Principal, now: datetime | None = None
) -> list[DeviceSession]:
    """Return the actor's devices that are still signed in, newest first."""
    now = now or utcnow()
    rows = session.exec(
        select(DeviceSession)
        .where(DeviceSession.user_id == actor.user_id)
        .where(col(DeviceSession.revoked_at).is_(None))
        .where(DeviceSession.expires_at > now)
        .order_by(col(DeviceSession.last_seen_at).desc())
    ).all()
    return [d for d in rows if now - d.last_seen_at <= timedelta(minutes=d.idle_minutes)]


def revoke_device(
    *, session: Session, actor: Principal, device_session_id: int, now: datetime | None = None
) -> None:
    """Sign out one of the actor's own devices at once."""
    device = session.get(DeviceSession, device_session_id)
    if device is None or device.user_id != actor.user_id:
        raise NotVisible()
    now = now or utcnow()
    if device.revoked_at is None:
        device.revoked_at = now
        device.revoked_reason = "revoked"
        session.add(device)
    devices_signed_out.send(session, device_session_ids=[device_session_id])
    record_event(
        session=session,
        event="device_revoked",
        actor_id=actor.user_id,
        object_type="device_session",
        object_id=device_session_id,
        now=now,
    )


def _revoke_all(*, session: Session, user_id: int, reason: str, now: datetime) -> None:
    ended = []
    for device in session.exec(
        select(DeviceSession)
        .where(DeviceSession.user_id == user_id)
        .where(col(DeviceSession.revoked_at).is_(None))
    ):
        device.revoked_at = now
        device.revoked_reason = reason
        session.add(device)
        ended.append(device.id)
    devices_signed_out.send(session, device_session_ids=[i for i in ended if i is not None])


def accept_pledge(*, session: Session, actor: Principal, now: datetime | None = None) -> None:
    user = session.get(User, actor.user_id)
    assert user is not None
    if user.pledge_accepted_at is None:
        user.pledge_accepted_at = now or utcnow()
        session.add(user)
        record_event(session=session, event="pledge_accepted", actor_id=actor.user_id, now=now)


def set_locale(*, session: Session, actor: Principal, locale: str) -> None:
    user = session.get(User, actor.user_id)
    assert user is not None
    user.locale = locale
    session.add(user)


def change_password(
    *, session: Session, actor: Principal, current: str, new: str, now: datetime | None = None
) -> None:
    """Change the actor's password and sign out every other device."""
    user = session.get(User, actor.user_id)
    assert user is not None and user.password_hash is not None
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise InvalidInput({"current": _l("The current password is wrong.")}) from None
    problems = password_problems(password=new, user_inputs=[user.email, user.display_name])
    if problems:
        raise InvalidInput({"new": problems[0]})
    now = now or utcnow()
    user.password_hash = hash_password(new)
    session.add(user)
    ended = []
    for device in session.exec(
        select(DeviceSession)
        .where(DeviceSession.user_id == user.id)
        .where(DeviceSession.id != actor.device_session_id)
        .where(col(DeviceSession.revoked_at).is_(None))
    ):
        device.revoked_at = now
        device.revoked_reason = "password_changed"
        session.add(device)
        ended.append(device.id)
    devices_signed_out.send(session, device_session_ids=[i for i in ended if i is not None])
    record_event(session=session, event="password_changed", actor_id=actor.user_id, now=now)


# Invitations and user administration ------------------------------------------------------


def _admin_check(actor: Principal) -> None:
    if not actor.has_role(Role.admin):
        raise NotAllowed()


def invite_user(
    *,
    session: Session,
    actor: Principal,
    email: str,
    display_name: str,
    organisation_id: int,
    role: Role,
    hours: int = 72,
    now: datetime | None = None,
) -> tuple[User, str]:
    """Create a user with a membership and return the one-time token for the invitation link."""
    _admin_check(actor)
    email = normalise_email(email)
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise InvalidInput({"email": _l("A user with this e-mail address exists.")})
    if session.get(Organisation, organisation_id) is None:
        raise InvalidInput({"organisation_id": _l("Choose an organisation.")})
    user = User(email=email, display_name=display_name.strip())
    session.add(user)
    session.flush()
    assert user.id is not None
    session.add(Membership(user_id=user.id, organisation_id=organisation_id, role=role.value))
    token = issue_invitation(session=session, actor=actor, user_id=user.id, hours=hours, now=now)
    record_event(
        session=session,
        event="user_invited",
        actor_id=actor.user_id,
        object_type="user",
        object_id=user.id,
        organisation_id=organisation_id,
        detail={"role": role.value},
        now=now,
    )
    return user, token


def issue_invitation(
    *,
    session: Session,
    actor: Principal,
    user_id: int,
    hours: int = 72,
    now: datetime | None = None,
) -> str:
    """Make a new one-time link for a user (also to reset a forgotten password)."""
    _admin_check(actor)
    if session.get(User, user_id) is None:
        raise NotVisible()
    now = now or utcnow()
    # Earlier links stop working: only the newest may be used.
    for old in session.exec(
        select(Invitation)
        .where(Invitation.user_id == user_id)
        .where(col(Invitation.used_at).is_(None))
    ):
        old.used_at = now
        session.add(old)
    token = secrets.token_urlsafe(32)
    session.add(
        Invitation(
            user_id=user_id,
            token_hash=_token_hash(token),
            created_by_id=actor.user_id,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    return token


def find_invitation(
    *, session: Session, token: str, now: datetime | None = None
) -> Invitation | None:
    """Return the unused, unexpired invitation for this token, or None."""
    now = now or utcnow()
    invitation = session.exec(
        select(Invitation).where(Invitation.token_hash == _token_hash(token))
    ).first()
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
        return None
    return invitation


def accept_invitation(
    *, session: Session, token: str, password: str, now: datetime | None = None
) -> User:
    """Set the password through a one-time link; the link is spent and other devices signed out."""
    now = now or utcnow()
    invitation = find_invitation(session=session, token=token, now=now)
    if invitation is None:
        raise NotVisible()
    user = session.get(User, invitation.user_id)
    assert user is not None
    if not user.active:
        raise NotVisible()
    problems = password_problems(password=password, user_inputs=[user.email, user.display_name])
    if problems:
        raise InvalidInput({"password": problems[0]})
    user.password_hash = hash_password(password)
    invitation.used_at = now
    session.add_all([user, invitation])
    _revoke_all(session=session, user_id=invitation.user_id, reason="password_set", now=now)
    record_event(session=session, event="password_set", actor_id=user.id, now=now)
    return user


def set_user_active(
    *, session: Session, actor: Principal, user_id: int, active: bool, now: datetime | None = None
) -> None:
    """Activate or deactivate a user; deactivation ends every session at once."""
    _admin_check(actor)
    if user_id == actor.user_id and not active:
        raise InvalidInput({"active": _l("You cannot deactivate yourself.")})
    user = session.get(User, user_id)
    if user is None:
        raise NotVisible()
    now = now or utcnow()
    user.active = active
    session.add(user)
    if not active:
        _revoke_all(session=session, user_id=user_id, reason="deactivated", now=now)
    record_event(
        session=session,
        event="user_activated" if active else "user_deactivated",
        actor_id=actor.user_id,
        object_type="user",
        object_id=user_id,
        now=now,
    )


def _keep_an_admin(*, session: Session, losing_user_id: int) -> None:
    """Refuse a change that would leave no active administrator to undo it."""
    others = session.exec(
        select(Membership.id)
        .join(User, col(User.id) == Membership.user_id)
        .where(Membership.role == Role.admin.value)
        .where(Membership.user_id != losing_user_id)
        .where(col(User.active).is_(True))
    ).first()
    if others is None:
        raise InvalidInput(
            {"role": _l("This is the last administrator. Make someone else one first.")}
        )


def set_membership(
    *,
    session: Session,
    actor: Principal,
    user_id: int,
    organisation_id: int,
    role: Role | None,
    now: datetime | None = None,
) -> None:
    """Give a user a role in an organisation, change it, or (role None) remove the membership."""
    _admin_check(actor)
    if session.get(User, user_id) is None or session.get(Organisation, organisation_id) is None:
        raise NotVisible()
    now = now or utcnow()
    membership = session.exec(
        select(Membership)
        .where(Membership.user_id == user_id)
        .where(Membership.organisation_id == organisation_id)
    ).first()
    before = membership.role if membership else None
    if before == Role.admin and role != Role.admin:
        _keep_an_admin(session=session, losing_user_id=user_id)
    if role is None:
        if membership is not None:
            session.delete(membership)
    elif membership is None:
        session.add(Membership(user_id=user_id, organisation_id=organisation_id, role=role.value))
    else:
        membership.role = role.value
        session.add(membership)
    # A role change takes effect at once: the sessions' lifetimes depend on the roles.
    _revoke_all(session=session, user_id=user_id, reason="role_changed", now=now)
    record_event(
        session=session,
        event="role_changed",
        actor_id=actor.user_id,
        object_type="user",
        object_id=user_id,
        organisation_id=organisation_id,
        detail={"from": before, "to": role.value if role else None},
        now=now,
    )


def create_user_with_password(
    *,
    session: Session,
    email: str,
    display_name: str,
    password: str,
    memberships: list[tuple[int, Role]],
    locale: str = "sv",
    pledge_accepted_at: datetime | None = None,
) -> User:
    """Create a ready user (for the demo data and the bootstrap admin, not the web)."""
    user = User(
        email=normalise_email(email),
        display_name=display_name,
        password_hash=hash_password(password),
        locale=locale,
        pledge_accepted_at=pledge_accepted_at,
    )
    session.add(user)
    session.flush()
    assert user.id is not None
    for organisation_id, role in memberships:
        session.add(Membership(user_id=user.id, organisation_id=organisation_id, role=role.value))
    session.flush()
    return user
