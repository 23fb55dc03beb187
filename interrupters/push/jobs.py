"""Delivering notifications, repeating unacknowledged alerts, expiring subscriptions.

Each job selects what is due and not done, acts, marks and commits; the scheduler runs them
(interrupters/scheduler.py), and `deliver_soon` runs delivery at once after a request.

Delivery claims its rows first (a lease, committed before any network call) so that any number
of web workers and the scheduler may call `deliver_due` at once and each notification is sent
by one of them: holding a transaction open across HTTP calls instead would stop every write on
SQLite for as long as a push service takes to answer.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from interrupters.auth.models import DeviceSession, User
from interrupters.db import get_engine, session_scope, utcnow
from interrupters.i18n import message_of, render_for
from interrupters.push.models import Notification, PushSubscription
from interrupters.push.services import CREATED, REPEAT_SUFFIX, insert_notifications
from interrupters.push.webpush import Outcome, Sender, SendResult, sender_for

logger = logging.getLogger(__name__)

# A sender owns its claimed rows this long; it stops sending well before the lease ends.
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(minutes=15)
MAX_ATTEMPTS = 8
BATCH = 50
# Sends in flight at once: a real push service takes tens of milliseconds to answer, and one
# at a time a briefing to 200 members took 11 s at 50 ms an answer; 8 took 1.9 s. More threads
# were slower again, contending for the interpreter over the messages' encryption
# (bench/push_latency.py --push-delay 0.05).
SENDERS = 8
# One run of deliver_due takes batch after batch for this long; the next run goes on.
RUN_SECONDS = 20.0
REPEAT_TITLE = _l("Not acknowledged: %(title)s")


@dataclass
class DeliveryReport:
    """What one run did: rows claimed and finished, messages accepted, subscriptions removed."""

    claimed: int = 0
    finished: int = 0
    retrying: int = 0
    pushed: int = 0
    removed: int = 0


def _backoff(attempts: int) -> timedelta:
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def _claim(
    *, session: Session, now: datetime, notification_ids: Collection[int] | None, limit: int
) -> list[Notification]:
    """Take the lease on due rows nobody holds, and commit it; return the rows taken."""
    token = secrets.token_hex(16)
    free = or_(col(Notification.claimed_until).is_(None), col(Notification.claimed_until) <= now)
    due = (
        select(Notification.id)
        .where(col(Notification.delivered_at).is_(None))
        .where(col(Notification.next_attempt_at) <= now)
        .where(free)
    )
    if notification_ids is not None:
        due = due.where(col(Notification.id).in_(list(notification_ids)))
    due = due.order_by(col(Notification.next_attempt_at), col(Notification.id)).limit(limit)
    # The conditions are checked again on the row itself: on PostgreSQL a second claimer
    # waits for the first to commit and then finds the row taken.
    session.exec(
        update(Notification)
        .where(col(Notification.id).in_(due.scalar_subquery()))
        .where(col(Notification.delivered_at).is_(None))
        .where(free)
        .values(claim_token=token, claimed_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return list(
        session.exec(
            select(Notification)
            .where(Notification.claim_token == token)
            .order_by(col(Notification.next_attempt_at), col(Notification.id))
            .execution_options(populate_existing=True)
        )
    )


def _payload(row: Notification, locale: str) -> str:
    """What the service worker shows: generic texts only (a lock screen is public)."""
    return json.dumps(
        {
            "title": render_for(row.title, locale),
            "body": render_for(row.body, locale),
            "url": row.url,
            "tag": row.subject,
            "ack": row.requires_ack,
        },
        ensure_ascii=False,
    )


def deliver_due(
    *,
    session: Session,
    now: datetime | None = None,
    sender: Sender | None = None,
    notification_ids: Collection[int] | None = None,
    limit: int = BATCH,
    max_seconds: float = RUN_SECONDS,
) -> DeliveryReport:
    """Push due notifications to every subscription of their recipients; commit each batch.

    404/410 remove a subscription; a network error, timeout, 429 or 5xx keeps the notification
    for a retry with back-off (to the subscriptions that did not accept it) until its TTL or
    MAX_ATTEMPTS runs out. Batches of `limit` follow each other for up to `max_seconds` (a
    briefing to every night walker). Needs an app context (the VAPID key, the catalogs).
    """
    now = now or utcnow()
    report = DeliveryReport()
    own_sender = sender is None
    active = sender or sender_for(current_app)
    started = time.monotonic()
    try:
        while True:
            claimed = _deliver_batch(
                session=session,
                now=now,
                sender=active,
                notification_ids=notification_ids,
                limit=limit,
                report=report,
            )
            # A full batch: more may be due. Go on while this run has time.
            if claimed < limit or time.monotonic() - started > max_seconds:
                break
    finally:
        if own_sender:
            active.close()
    if report.claimed:
        logger.info(
            "push delivery: %d claimed, %d finished, %d to retry, %d pushed, %d removed",
            report.claimed,
            report.finished,
            report.retrying,
            report.pushed,
            report.removed,
        )
    return report


def _deliver_batch(
    *,
    session: Session,
    now: datetime,
    sender: Sender,
    notification_ids: Collection[int] | None,
    limit: int,
    report: DeliveryReport,
) -> int:
    """Claim a batch, send it, mark it and commit; return how many rows were claimed."""
    rows = _claim(session=session, now=now, notification_ids=notification_ids, limit=limit)
    report.claimed += len(rows)
    if not rows:
        return 0
    recipients = {row.recipient_id for row in rows}
    locales = dict(
        session.exec(select(User.id, User.locale).where(col(User.id).in_(recipients))).all()
    )
    by_user: dict[int, list[PushSubscription]] = defaultdict(list)
    for subscription in session.exec(
        select(PushSubscription)
        .join(DeviceSession, col(DeviceSession.id) == PushSubscription.device_session_id)
        .where(col(PushSubscription.user_id).in_(recipients))
        .where(PushSubscription.expires_at > now)
        .where(col(DeviceSession.revoked_at).is_(None))
        .order_by(col(PushSubscription.id))
    ):
        by_user[subscription.user_id].append(subscription)
    gone: set[int] = set()
    accepted: set[int] = set()
    plans = [
        _plan(row, by_user[row.recipient_id], locales.get(row.recipient_id) or "sv", now)
        for row in rows
    ]
    # The sends run in a pool; the rows are marked here, in the job's thread and session. Every
    # send has its timeout, so the batch ends well within the lease.
    sends = [(plan, subscription) for plan in plans for subscription in plan.subscriptions]
    workers = int(current_app.config.get("PUSH_SENDERS", SENDERS))

    def _send(item: tuple[_Plan, PushSubscription]) -> SendResult:
        plan, subscription = item
        return sender.send(
            endpoint=subscription.endpoint,
            p256dh=subscription.p256dh,
            auth=subscription.auth,
            data=plan.payload,
            ttl=plan.remaining,
            urgency=plan.urgency,
        )

    if len(sends) > 1 and workers > 1:
        with ThreadPoolExecutor(min(workers, len(sends)), thread_name_prefix="push") as pool:
            results = list(pool.map(_send, sends))
    else:
        results = [_send(item) for item in sends]
    for (plan, subscription), result in zip(sends, results, strict=True):
        plan.results.append((subscription, result))
    for plan in plans:
        _mark(plan, now=now, gone=gone, accepted=accepted, report=report)
        session.add(plan.row)
    # Statements, not ORM changes: another sender may have removed the same gone subscription.
    if gone:
        session.exec(
            delete(PushSubscription)
            .where(col(PushSubscription.id).in_(gone))
            .execution_options(synchronize_session=False)
        )
    if accepted - gone:
        session.exec(
            update(PushSubscription)
            .where(col(PushSubscription.id).in_(accepted - gone))
            .values(last_success_at=now)
            .execution_options(synchronize_session=False)
        )
    report.removed += len(gone)
    session.commit()
    return len(rows)


@dataclass
class _Plan:
    """One claimed notification: what to send, to which subscriptions, and what came back."""

    row: Notification
    payload: str
    remaining: int
    urgency: str
    subscriptions: list[PushSubscription]
    results: list[tuple[PushSubscription, SendResult]]


def _plan(
    row: Notification, subscriptions: list[PushSubscription], locale: str, now: datetime
) -> _Plan:
    """The sends one notification needs: the subscriptions that have not had it yet."""
    expires = row.deliver_at + timedelta(seconds=row.ttl_seconds)
    remaining = int((expires - now).total_seconds())
    return _Plan(
        row=row,
        payload=_payload(row, locale) if remaining > 0 else "",
        remaining=remaining,
        urgency="high" if row.requires_ack else "normal",
        subscriptions=[s for s in subscriptions if s.id not in row.pushed_to]
        if remaining > 0
        else [],
        results=[],
    )


def _mark(
    plan: _Plan,
    *,
    now: datetime,
    gone: set[int],
    accepted: set[int],
    report: DeliveryReport,
) -> None:
    """Mark a notification from its sends' results: sent, to retry, failed or expired."""
    row = plan.row
    retry = rejected = False
    for subscription, result in plan.results:
        assert subscription.id is not None
        if result.outcome == Outcome.sent:
            row.pushed_to = [*row.pushed_to, subscription.id]
            accepted.add(subscription.id)
            report.pushed += 1
        elif result.outcome == Outcome.gone:
            gone.add(subscription.id)
        elif result.outcome == Outcome.retry:
            retry = True
        else:
            rejected = True
    row.claim_token = row.claimed_until = None
    expires = row.deliver_at + timedelta(seconds=row.ttl_seconds)
    if plan.remaining <= 0:
        _finish(row, "expired", now)
    elif retry:
        row.attempts += 1
        delay = _backoff(row.attempts)
        if row.attempts >= MAX_ATTEMPTS or now + delay >= expires:
            _finish(row, "sent" if row.pushed_to else "failed", now)
        else:
            row.next_attempt_at = now + delay
            report.retrying += 1
    else:
        _finish(row, "sent" if row.pushed_to else ("failed" if rejected else "no_device"), now)
    if row.delivered_at is not None:
        report.finished += 1


def _finish(row: Notification, delivery: str, now: datetime) -> None:
    row.delivered_at = now
    row.delivery = delivery


def repeat_unacknowledged(*, session: Session, now: datetime | None = None) -> int:
    """Repeat each unacknowledged alert whose time has come to its `repeat_to`, once; commit.

    Returns how many repeat notifications were created. The repeat is a notification of kind
    "<kind>:repeat" with the event's subject: unique per person, so however many callers run
    this at once, each person gets one. Delivery follows (`deliver_due`).
    """
    now = now or utcnow()
    due = session.exec(
        select(Notification)
        .where(col(Notification.repeat_at).is_not(None))
        .where(col(Notification.repeat_at) <= now)
        .where(col(Notification.repeated_at).is_(None))
        .order_by(col(Notification.id))
        .limit(500)
    ).all()
    events: dict[tuple[str, str], list[Notification]] = defaultdict(list)
    for row in due:
        events[(row.kind, row.subject)].append(row)
    created = 0
    for (kind, subject), rows in events.items():
        acknowledged = session.exec(
            select(Notification.id)
            .where(Notification.kind == kind)
            .where(Notification.subject == subject)
            .where(col(Notification.acknowledged_at).is_not(None))
            .limit(1)
        ).first()
        if acknowledged is None:
            first = rows[0]
            targets = {target for row in rows for target in row.repeat_to}
            created += len(
                insert_notifications(
                    session=session,
                    recipient_ids=targets,
                    kind=kind + REPEAT_SUFFIX,
                    subject=subject,
                    title={**message_of(REPEAT_TITLE), "vars": {"title": first.title}},
                    body=first.body,
                    url=first.url,
                    now=now,
                    requires_ack=True,
                    deliver_at=now,
                    ttl=timedelta(seconds=first.ttl_seconds),
                )
            )
        for row in rows:
            row.repeated_at = now
            session.add(row)
    session.commit()
    if events:
        logger.info("repeat: %d events due, %d repeats created", len(events), created)
    return created


def expire_subscriptions(*, session: Session, now: datetime | None = None) -> int:
    """Remove subscriptions unconfirmed for 60 days, and any left by signed-out devices; commit."""
    now = now or utcnow()
    signed_out = select(DeviceSession.id).where(col(DeviceSession.revoked_at).is_not(None))
    result = session.exec(
        delete(PushSubscription)
        .where(
            or_(
                col(PushSubscription.expires_at) <= now,
                col(PushSubscription.device_session_id).in_(signed_out.scalar_subquery()),
            )
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    count = int(result.rowcount or 0)
    logger.info("expired %d push subscriptions", count)
    return count


# At once, after the request ---------------------------------------------------------------

_THREADS: weakref.WeakKeyDictionary[Flask, weakref.WeakSet[threading.Thread]] = (
    weakref.WeakKeyDictionary()
)
_THREADS_LOCK = threading.Lock()


def deliver_soon(
    *, notification_ids: Collection[int | None], app: Flask | None = None
) -> threading.Thread | None:
    """Deliver these notifications now, in a background thread with its own session.

    Call it after the request's commit (the thread must see the rows). It returns at once;
    a failure is logged and left to the scheduler's `deliver_due`, which retries. The thread is
    not a daemon: a worker that is stopped (gunicorn's graceful shutdown) finishes marking what
    it sent instead of leaving claimed rows that the scheduler would send a second time.
    """
    ids = [row_id for row_id in notification_ids if row_id is not None]
    if not ids:
        return None
    flask_app: Any = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if not flask_app.config.get("PUSH_DELIVER_SOON", True):
        return None
    thread = threading.Thread(
        target=_deliver_in_background, args=(flask_app, ids), name="push-deliver", daemon=False
    )
    with _THREADS_LOCK:
        _THREADS.setdefault(flask_app, weakref.WeakSet()).add(thread)
    thread.start()
    return thread


def deliver_created(*, session: Session, app: Flask | None = None) -> threading.Thread | None:
    """Deliver now the notifications `notify` made in this session; call after its commit.

    A view (or the sync endpoint) that may have notified, deep inside a service, calls this
    right after `session.commit()`; it needs no ids and does nothing when nothing was made.
    """
    created: list[int] = session.info.pop(CREATED, [])
    return deliver_soon(notification_ids=created, app=app)


def deliver_created_now(*, session: Session) -> DeliveryReport | None:
    """In a job, after its commit: deliver what it notified, in this thread and session."""
    created: list[int] = session.info.pop(CREATED, [])
    if not created:
        return None
    return deliver_due(session=session, notification_ids=created)


def _deliver_in_background(app: Flask, notification_ids: list[int]) -> None:
    try:
        with app.app_context(), session_scope(get_engine()) as session:
            deliver_due(session=session, notification_ids=notification_ids)
    except Exception:
        logger.exception("immediate push delivery failed; the scheduler will retry")


def join_deliveries(app: Flask, timeout: float = 10.0) -> None:
    """Wait for this app's background deliveries (tests, benchmarks, shutdown)."""
    with _THREADS_LOCK:
        threads = list(_THREADS.get(app, ()))
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
