"""Notifications as rows with a unique key, acknowledgements, and the browsers' subscriptions.

The API other domains call (the conflicts, the briefings):

- `notify(...)` inserts one notification per recipient for an event, once: the key
  (recipient, kind, subject) is unique, so a replayed request, a second web worker or a retry
  adds nothing and returns no rows. The caller commits as usual. The push leaves at once after
  that: after a request, a hook hands the request's new notifications to a background thread
  (views.py); after a scheduled job, the scheduler delivers them; a script calls
  `jobs.deliver_created(session=session)` after its commit. The scheduler's `deliver_due` job
  is the safety net (retries, and a process that died before sending).
- `acknowledge(...)`, `acknowledge_subject(...)`, `unacknowledged(...)`, `acknowledgements(...)`
  and `cancel_repeats(...)` for alerts that must be acknowledged.

Texts are generic: a lock screen is public. They are lazy strings (`lazy_gettext` as `_l`)
stored as message ids with their variables and rendered in each recipient's language when sent.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Collection, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from flask import has_app_context
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, event, update
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from interrupters.audit.services import record_event
from interrupters.auth.models import DeviceSession
from interrupters.auth.principal import Principal
from interrupters.db import upsert, utcnow
from interrupters.errors import InvalidInput, NotVisible
from interrupters.i18n import Text, message_of, render_message
from interrupters.identifying import find_identifier
from interrupters.paging import Cursor, Page, after, fetch_page
from interrupters.push.models import Notification, PushSubscription

logger = logging.getLogger(__name__)

# How long a push service keeps a message for a phone that is offline (and how long delivery
# is retried): an alert is stale after an hour; a briefing may pass a day.
DEFAULT_TTL = timedelta(hours=1)
# A subscription the device has not confirmed for this long is dropped (PITFALLS.md: Safari
# may answer 200 for an endpoint that has expired).
SUBSCRIPTION_LIFETIME = timedelta(days=60)
REPEAT_SUFFIX = ":repeat"
PAGE_SIZE = 30  # the in-app list, a page at a time
# session.info key: ids of the notifications this session created and has not handed on.
CREATED = "push.created_notifications"


@event.listens_for(OrmSession, "after_rollback")
def _forget_created(session: OrmSession) -> None:
    """Rolled back: those notifications never existed."""
    session.info.pop(CREATED, None)


MAX_KIND = 48 - len(REPEAT_SUFFIX)
MAX_SUBJECT = 120
MAX_URL = 300


# Messages -----------------------------------------------------------------------------------


def _strings(message: Mapping[str, Any]) -> Iterator[str]:
    """Every piece of free text in a stored message: a plain text and the variables."""
    if "text" in message:
        yield str(message["text"])
    for value in (message.get("vars") or {}).values():
        if isinstance(value, dict):
            yield from _strings(value)
        elif isinstance(value, str):
            yield value


def check_identifies_no_one(*messages: Mapping[str, Any]) -> None:
    """Refuse a push text that holds a participant code or an identity number: lock screens
    are public and a push leaves the programme (issue 9, item 6)."""
    for message in messages:
        for text in _strings(message):
            if find_identifier(text) is not None:
                raise ValueError("a notification's text must identify no one")


# Notifying ----------------------------------------------------------------------------------


def remind_follow_up(
    *, session: Session, owner_id: int, subject: str, url: str, now: datetime
) -> int:
    """Tell one owner that a follow-up is due (generic text: a lock screen is public).

    `subject` names the follow-up and its date ("referral:7:2026-12-01"), so each due date
    reminds once; the caller marks it. Returns how many notifications were made (0 or 1).
    """
    return len(
        notify(
            session=session,
            recipient_ids=[owner_id],
            kind="follow_up_due",
            subject=subject,
            title=_l("A follow-up is due"),
            body=_l("Open the app to see which one."),
            url=url,
            now=now,
        )
    )


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if not url.startswith("/") or url.startswith("//") or parts.scheme or parts.netloc:
        raise ValueError("a notification's url is a path in this app")
    if len(url) > MAX_URL:
        raise ValueError("a notification's url is too long")
    return url


def notify(
    *,
    session: Session,
    recipient_ids: Collection[int],
    kind: str,
    subject: str,
    title: Text,
    body: Text,
    url: str,
    now: datetime | None = None,
    requires_ack: bool = False,
    repeat_after: timedelta | None = None,
    repeat_to: Collection[int] | None = None,
    deliver_at: datetime | None = None,
    ttl: timedelta = DEFAULT_TTL,
) -> list[Notification]:
    """Notify each recipient of an event once; return only the rows this call created.

    - `kind` names the sort of event ("conflict_escalated", "briefing_published") and
      `subject` the event itself ("conflict-event:17"): together with the recipient they are
      the unique key, so calling again for the same event (a replayed request, a second
      worker) creates nothing and returns []. A new event needs a new subject.
    - `title` and `body` are generic lazy strings (`_l("Conflict in %(district)s raised to
      level %(level)d", district=..., level=4)`): they are rendered in each recipient's
      language when sent and listed. A lock screen is public: no names, no details.
    - `url` is a path in this app (`/conflicts/17`); details open there after sign-in.
    - `requires_ack`: the notification page asks the recipient to acknowledge it, and the
      push stays on the screen until touched.
    - `repeat_after` with `repeat_to` (needs `requires_ack`): unless one of the recipients has
      acknowledged the event by then, it is repeated once, `repeat_after` after it was due, to
      `repeat_to` as kind "<kind>:repeat" (the job `repeat_unacknowledged`; unique as well, so
      however many workers run it, each of `repeat_to` gets it once).
    - `deliver_at` schedules the notification for later (default: now); `ttl` is how long a
      push service keeps it for a phone that is offline, and how long delivery is retried.

    Flushes (the rows are visible to the caller's transaction); the caller commits, and the
    push is sent at once after the request or job (see the module's docstring). Race-safe on
    SQLite and PostgreSQL (INSERT ... ON CONFLICT DO NOTHING).
    """
    now = now or utcnow()
    if not 0 < len(kind) <= MAX_KIND or not 0 < len(subject) <= MAX_SUBJECT:
        raise ValueError("kind and subject must be short, non-empty keys")
    if repeat_after is not None and repeat_to and not requires_ack:
        raise ValueError("only a notification that requires acknowledgement is repeated")
    due = deliver_at or now
    repeat_targets = sorted(set(repeat_to or ()))
    stored_title, stored_body = message_of(title), message_of(body)
    check_identifies_no_one(stored_title, stored_body)
    if has_app_context():
        # A wrong variable fails here, in the request that made it, not later in the job.
        render_message(stored_title)
        render_message(stored_body)
    return insert_notifications(
        session=session,
        recipient_ids=recipient_ids,
        kind=kind,
        subject=subject,
        title=stored_title,
        body=stored_body,
        url=_check_url(url),
        now=now,
        requires_ack=requires_ack,
        deliver_at=due,
        ttl=ttl,
        repeat_at=due + repeat_after if repeat_after is not None and repeat_targets else None,
        repeat_to=repeat_targets,
    )


def insert_notifications(
    *,
    session: Session,
    recipient_ids: Collection[int],
    kind: str,
    subject: str,
    title: dict[str, Any],
    body: dict[str, Any],
    url: str,
    now: datetime,
    requires_ack: bool,
    deliver_at: datetime,
    ttl: timedelta,
    repeat_at: datetime | None = None,
    repeat_to: Collection[int] = (),
) -> list[Notification]:
    """Insert the rows that do not exist yet (ON CONFLICT DO NOTHING); return those."""
    recipients = sorted(set(recipient_ids))
    if not recipients:
        return []
    rows = [
        {
            "recipient_id": recipient_id,
            "kind": kind,
            "subject": subject,
            "title": title,
            "body": body,
            "url": url,
            "requires_ack": requires_ack,
            "created_at": now,
            "deliver_at": deliver_at,
            "ttl_seconds": int(ttl.total_seconds()),
            "next_attempt_at": deliver_at,
            "attempts": 0,
            "pushed_to": [],
            "repeat_at": repeat_at,
            "repeat_to": sorted(set(repeat_to)) if repeat_at else [],
        }
        for recipient_id in recipients
    ]
    statement = (
        upsert(session, Notification)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["recipient_id", "kind", "subject"])
        .returning(col(Notification.id))
    )
    created_ids = [row_id for (row_id,) in session.exec(statement)]
    logger.info("notify %s: %d new of %d recipients", kind, len(created_ids), len(recipients))
    # For jobs.deliver_created(session=...), after the caller's commit.
    session.info.setdefault(CREATED, []).extend(created_ids)
    if not created_ids:
        return []
    found = session.exec(
        select(Notification)
        .where(col(Notification.id).in_(created_ids))
        .order_by(col(Notification.id))
    )
    return list(found)


def _visible(now: datetime) -> Any:
    return col(Notification.deliver_at) <= now


def base_kind(kind: str) -> str:
    """The event's kind: a repeat ("<kind>:repeat") is the same alert again (issue 10)."""
    return kind.removesuffix(REPEAT_SUFFIX)


def _shadowed_repeat() -> Any:
    """A repeat its recipient also has the original of: the same alert, listed and counted once
    (the original stands for it; the repeat is part of its history)."""
    original = aliased(Notification)
    base = func.substr(
        col(Notification.kind), 1, func.length(col(Notification.kind)) - len(REPEAT_SUFFIX)
    )
    has_original = (
        select(original.id)
        .where(original.recipient_id == Notification.recipient_id)
        .where(original.subject == Notification.subject)
        .where(original.kind == base)
        .exists()
    )
    return col(Notification.kind).endswith(REPEAT_SUFFIX) & has_original


def list_notifications(
    *,
    session: Session,
    actor: Principal,
    now: datetime | None = None,
    cursor: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> Page[Notification]:
    """One page of the actor's notifications that are due, newest first (the in-app list),
    older than `cursor`."""
    now = now or utcnow()
    query = after(
        select(Notification)
        .where(Notification.recipient_id == actor.user_id)
        .where(_visible(now))
        .where(~_shadowed_repeat()),
        cursor=cursor,
        sort=col(Notification.deliver_at),
        id_column=col(Notification.id),
    )
    return fetch_page(session, query, size=size, key=lambda n: Cursor(n.deliver_at, n.id))


def unread_count(*, session: Session, user_id: int, now: datetime | None = None) -> int:
    """Notifications not read yet; one that requires acknowledgement stays until acknowledged."""
    now = now or utcnow()
    count = session.exec(
        select(func.count())
        .select_from(Notification)
        .where(Notification.recipient_id == user_id)
        .where(col(Notification.read_at).is_(None))
        .where(_visible(now))
        .where(~_shadowed_repeat())
    ).one()
    return int(count)


def mark_all_read(*, session: Session, actor: Principal, now: datetime | None = None) -> int:
    """Mark the actor's notifications read, except those waiting for acknowledgement."""
    now = now or utcnow()
    result = session.exec(
        update(Notification)
        .where(col(Notification.recipient_id) == actor.user_id)
        .where(col(Notification.read_at).is_(None))
        .where(col(Notification.requires_ack).is_(False))
        .where(_visible(now))
        .values(read_at=now)
    )
    return int(result.rowcount or 0)


def _acknowledge_row(
    *, session: Session, actor: Principal, row: Notification, now: datetime
) -> None:
    if row.read_at is None:
        row.read_at = now
    if row.acknowledged_at is None:
        row.acknowledged_at = now
        record_event(
            session=session,
            event="notification_acknowledged",
            actor_id=actor.user_id,
            object_type="notification",
            object_id=row.id,
            detail={"kind": row.kind},
            now=now,
        )
    session.add(row)


def acknowledge(
    *, session: Session, actor: Principal, notification_id: int, now: datetime | None = None
) -> Notification:
    """Acknowledge (and read) one of the actor's own notifications; again is a no-op.

    An alert and its repeat are the same alert: acknowledging either settles both."""
    row = session.get(Notification, notification_id)
    if row is None or row.recipient_id != actor.user_id:
        raise NotVisible()
    now = now or utcnow()
    kind = base_kind(row.kind)
    for same in session.exec(
        select(Notification)
        .where(Notification.recipient_id == actor.user_id)
        .where(Notification.subject == row.subject)
        .where(col(Notification.kind).in_([kind, kind + REPEAT_SUFFIX]))
    ):
        _acknowledge_row(session=session, actor=actor, row=same, now=now)
    session.flush()
    return row


def acknowledge_subject(
    *, session: Session, actor: Principal, kind: str, subject: str, now: datetime | None = None
) -> int:
    """Acknowledge the actor's notifications of one event (e.g. from the conflict's page)."""
    now = now or utcnow()
    rows = session.exec(
        select(Notification)
        .where(Notification.recipient_id == actor.user_id)
        .where(col(Notification.kind).in_([kind, kind + REPEAT_SUFFIX]))
        .where(Notification.subject == subject)
    ).all()
    for row in rows:
        _acknowledge_row(session=session, actor=actor, row=row, now=now)
    session.flush()
    return len(rows)


def unacknowledged(
    *,
    session: Session,
    recipient_id: int | None = None,
    kind: str | None = None,
    subject: str | None = None,
    now: datetime | None = None,
) -> list[Notification]:
    """Notifications that require acknowledgement and have none, due by `now`, newest first.

    A repeat its recipient has the original of is not listed again: the original stands for
    the alert (`kind` may name either)."""
    now = now or utcnow()
    query = (
        select(Notification)
        .where(col(Notification.requires_ack).is_(True))
        .where(col(Notification.acknowledged_at).is_(None))
        .where(_visible(now))
        .where(~_shadowed_repeat())
    )
    if recipient_id is not None:
        query = query.where(Notification.recipient_id == recipient_id)
    if kind is not None:
        query = query.where(
            col(Notification.kind).in_([base_kind(kind), base_kind(kind) + REPEAT_SUFFIX])
        )
    if subject is not None:
        query = query.where(Notification.subject == subject)
    order = (col(Notification.deliver_at).desc(), col(Notification.id).desc())
    return list(session.exec(query.order_by(*order)))


def repeats_of(
    *, session: Session, rows: Collection[Notification], now: datetime | None = None
) -> dict[int, list[Notification]]:
    """Each listed alert's repeats to the same recipient (its history), by the alert's id."""
    now = now or utcnow()
    keyed = {
        (row.recipient_id, row.kind + REPEAT_SUFFIX, row.subject): row.id
        for row in rows
        if row.requires_ack and not row.kind.endswith(REPEAT_SUFFIX) and row.id is not None
    }
    if not keyed:
        return {}
    history: dict[int, list[Notification]] = {}
    for repeat in session.exec(
        select(Notification)
        .where(col(Notification.recipient_id).in_({key[0] for key in keyed}))
        .where(col(Notification.kind).in_({key[1] for key in keyed}))
        .where(col(Notification.subject).in_({key[2] for key in keyed}))
        .where(_visible(now))
        .order_by(col(Notification.deliver_at))
    ):
        original = keyed.get((repeat.recipient_id, repeat.kind, repeat.subject))
        if original is not None:
            history.setdefault(original, []).append(repeat)
    return history


def acknowledgements(*, session: Session, kind: str, subject: str) -> list[Notification]:
    """Who acknowledged an event (the event's and its repeat's rows), first first."""
    return list(
        session.exec(
            select(Notification)
            .where(col(Notification.kind).in_([kind, kind + REPEAT_SUFFIX]))
            .where(Notification.subject == subject)
            .where(col(Notification.acknowledged_at).is_not(None))
            .order_by(col(Notification.acknowledged_at))
        )
    )


def cancel_repeats(
    *, session: Session, kind: str, subject: str, now: datetime | None = None
) -> int:
    """Call off an event's pending repeat (e.g. the conflict was closed or lowered)."""
    result = session.exec(
        update(Notification)
        .where(col(Notification.kind) == kind)
        .where(col(Notification.subject) == subject)
        .where(col(Notification.repeat_at).is_not(None))
        .where(col(Notification.repeated_at).is_(None))
        .values(repeated_at=now or utcnow())
    )
    return int(result.rowcount or 0)


# Subscriptions ------------------------------------------------------------------------------


class SubscriptionInput(BaseModel):
    """A PushSubscription as the browser's `subscription.toJSON()` gives it."""

    endpoint: str
    p256dh: str
    auth: str


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _host_allowed(host: str, allowed_hosts: Collection[str]) -> bool:
    return any(host == allowed or host.endswith("." + allowed) for allowed in allowed_hosts)


def parse_subscription(
    data: Any, *, allowed_hosts: Collection[str], allow_http: bool = False
) -> SubscriptionInput:
    """Check a browser's subscription: a push service's https endpoint and usable keys.

    Only the push services' hosts are accepted: the server posts to whatever endpoint is
    stored, so anything else would let a user aim the server at an internal address.
    """
    keys = data.get("keys") if isinstance(data, dict) else None
    try:
        parsed = SubscriptionInput.model_validate(
            {
                "endpoint": data.get("endpoint") if isinstance(data, dict) else None,
                "p256dh": keys.get("p256dh") if isinstance(keys, dict) else None,
                "auth": keys.get("auth") if isinstance(keys, dict) else None,
            }
        )
    except ValidationError:
        raise InvalidInput({"subscription": _l("This is not a push subscription.")}) from None
    parts = urlsplit(parsed.endpoint)
    scheme_ok = parts.scheme == "https" or (allow_http and parts.scheme == "http")
    host = (parts.hostname or "").lower()
    if (
        len(parsed.endpoint) > 1024
        or not scheme_ok
        or parts.username
        or not _host_allowed(host, allowed_hosts)
    ):
        raise InvalidInput({"endpoint": _l("This browser's push service is not supported.")})
    try:
        point = _b64url(parsed.p256dh)
        secret = _b64url(parsed.auth)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except (ValueError, binascii.Error):
        raise InvalidInput({"keys": _l("This is not a push subscription.")}) from None
    if len(point) != 65 or len(secret) != 16:
        raise InvalidInput({"keys": _l("This is not a push subscription.")})
    return parsed


def subscribe(
    *,
    session: Session,
    actor: Principal,
    subscription: SubscriptionInput,
    now: datetime | None = None,
) -> tuple[PushSubscription, bool]:
    """Store this device's subscription (or renew it); return it and whether it is new.

    An endpoint belongs to one browser: sent again, from whoever is signed in there now, it
    moves to that person and device session.
    """
    now = now or utcnow()
    existed = (
        session.exec(
            select(PushSubscription.id).where(PushSubscription.endpoint == subscription.endpoint)
        ).first()
        is not None
    )
    values = {
        "p256dh": subscription.p256dh,
        "auth": subscription.auth,
        "user_id": actor.user_id,
        "device_session_id": actor.device_session_id,
        "last_used_at": now,
        "expires_at": now + SUBSCRIPTION_LIFETIME,
    }
    statement = (
        upsert(session, PushSubscription)
        .values(endpoint=subscription.endpoint, created_at=now, **values)
        .on_conflict_do_update(index_elements=["endpoint"], set_=values)
    )
    session.exec(statement)
    row = session.exec(
        select(PushSubscription)
        .where(PushSubscription.endpoint == subscription.endpoint)
        .execution_options(populate_existing=True)
    ).one()
    logger.info("push subscription %s", "renewed" if existed else "created")
    return row, not existed


def refresh_subscription(
    *, session: Session, actor: Principal, endpoint: str, now: datetime | None = None
) -> PushSubscription | None:
    """A device in use confirms its subscription; None if the server no longer has it."""
    now = now or utcnow()
    row = session.exec(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint)
    ).first()
    if row is None:
        return None
    row.user_id = actor.user_id
    row.device_session_id = actor.device_session_id
    row.last_used_at = now
    row.expires_at = now + SUBSCRIPTION_LIFETIME
    session.add(row)
    session.flush()
    return row


def remove_subscription(
    *,
    session: Session,
    actor: Principal,
    endpoint: str | None = None,
    subscription_id: int | None = None,
) -> bool:
    """Remove one of the actor's subscriptions, by endpoint or id; False if there was none."""
    query = select(PushSubscription).where(PushSubscription.user_id == actor.user_id)
    if endpoint is not None:
        query = query.where(PushSubscription.endpoint == endpoint)
    elif subscription_id is not None:
        query = query.where(PushSubscription.id == subscription_id)
    else:
        return False
    row = session.exec(query).first()
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def subscriptions_of(
    *, session: Session, actor: Principal, now: datetime | None = None
) -> list[tuple[PushSubscription, str]]:
    """The actor's subscriptions that are in force, with their device's label."""
    now = now or utcnow()
    rows = session.exec(
        select(PushSubscription, DeviceSession.device_label)
        .join(DeviceSession, col(DeviceSession.id) == PushSubscription.device_session_id)
        .where(PushSubscription.user_id == actor.user_id)
        .where(PushSubscription.expires_at > now)
        .order_by(col(PushSubscription.created_at).desc())
    )
    return [(subscription, label) for subscription, label in rows]


def forget_devices(*, session: Session, device_session_ids: Collection[int]) -> int:
    """Remove the subscriptions of device sessions that were signed out or revoked."""
    if not device_session_ids:
        return 0
    result = session.exec(
        delete(PushSubscription).where(
            col(PushSubscription.device_session_id).in_(set(device_session_ids))
        )
    )
    count = int(result.rowcount or 0)
    if count:
        logger.info("removed %d push subscriptions of signed-out devices", count)
    return count


def delivery_backlog(
    *, session: Session, now: datetime | None = None
) -> tuple[int, datetime | None]:
    """Notifications due and not delivered yet, and the oldest one's due time (admin's home)."""
    now = now or utcnow()
    count, oldest = session.exec(
        select(func.count(), func.min(Notification.deliver_at))
        .where(col(Notification.delivered_at).is_(None))
        .where(_visible(now))
    ).one()
    return int(count), oldest


def repeats_due(*, session: Session, now: datetime | None = None) -> int:
    """Repeats whose time has come and that the job has not made yet (jobs waiting)."""
    now = now or utcnow()
    count = session.exec(
        select(func.count())
        .select_from(Notification)
        .where(col(Notification.repeat_at) <= now)
        .where(col(Notification.repeated_at).is_(None))
    ).one()
    return int(count)
