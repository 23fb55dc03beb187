"""Web Push end to end against a push service of our own (tests/pushservice.py), both backends.

The service checks every request's VAPID signature and decrypts every message with the
subscription's private key, which only the test (the "browser") holds.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from interrupters.auth import services as auth_services
from interrupters.auth.models import User
from interrupters.config import Settings
from interrupters.db import utcnow
from interrupters.push import jobs
from interrupters.push import services as push
from interrupters.push.models import Notification, PushSubscription
from interrupters.push.webpush import KEY_FILE, SendResult, application_server_key, sender_for
from interrupters.scheduler import (
    PeriodicJob,
    SchedulerLock,
    build_scheduler,
    periodic_jobs,
    run_job,
)

from . import factories
from .pushservice import PushService, Subscriber

ROLES = (
    "admin",
    "supervisor",
    "interrupter",
    "briefing_author",
    "association_lead",
    "night_walker",
    "researcher",
)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {
        "PUSH_SERVICE_HOSTS": ("127.0.0.1",),
        "PUSH_ALLOW_HTTP": True,
        "VAPID_SUBJECT": "mailto:ops@example.org",
    }


@pytest.fixture
def push_service(app: Flask) -> Any:
    with PushService(application_server_key=application_server_key(app)) as service:
        yield service
    assert service.failures == []


def subscribe(session: Session, user: User, subscriber: Subscriber) -> PushSubscription:
    """Subscribe a browser of `user` (a device session of its own), as the opt-in does."""
    actor = factories.principal(session, user)
    data = push.parse_subscription(
        subscriber.subscription_json(), allowed_hosts=["127.0.0.1"], allow_http=True
    )
    row, created = push.subscribe(session=session, actor=actor, subscription=data)
    session.commit()
    assert created
    return row


def alert(session: Session, recipients: list[int], **overrides: Any) -> list[Notification]:
    values: dict[str, Any] = {
        "recipient_ids": recipients,
        "kind": "test_alert",
        "subject": "event:1",
        "title": _l("Welcome, %(name)s", name="Järva"),
        "body": _l("Violence interrupter"),
        "url": "/notifications",
    } | overrides
    return push.notify(session=session, **values)


def deliver(app: Flask, session: Session, **kwargs: Any) -> jobs.DeliveryReport:
    with app.app_context():
        return jobs.deliver_due(session=session, **kwargs)


# Keys -----------------------------------------------------------------------------------------


def test_vapid_key_is_made_once_in_the_instance_folder_and_kept_private(app):
    path = Path(app.instance_path) / KEY_FILE
    assert not path.exists()
    key = application_server_key(app)
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = push._b64url(key)
    assert len(raw) == 65 and raw[0] == 4  # the uncompressed P-256 point PushManager wants
    # Another process (a fresh app on the same folder) reads the same key.
    app.extensions.pop("vapid_key")
    assert application_server_key(app) == key
    # Never committed: the instance folder is ignored.
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "instance/vapid_private_key.pem"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0


# Delivery -------------------------------------------------------------------------------------


def test_a_push_arrives_signed_and_readable_in_the_recipients_language(
    app, session, world, push_service
):
    swedish = factories.create_user(session, world, "supervisor", locale="sv")
    english = factories.create_user(session, world, "interrupter", locale="en")
    browsers = {swedish.id: push_service.subscriber(), english.id: push_service.subscriber()}
    for user in (swedish, english):
        subscribe(session, user, browsers[user.id])
    rows = alert(session, [swedish.id, english.id], requires_ack=True)
    session.commit()

    report = deliver(app, session)

    assert (report.claimed, report.pushed, report.finished) == (2, 2, 2)
    sv = push_service.messages_for(browsers[swedish.id])
    en = push_service.messages_for(browsers[english.id])
    assert len(sv) == len(en) == 1
    assert sv[0].payload == {
        "title": "Välkommen, Järva",
        "body": "Våldsavbrytare",
        "url": "/notifications",
        "tag": "event:1",
        "ack": True,
    }
    assert en[0].payload["title"] == "Welcome, Järva"
    assert en[0].payload["body"] == "Violence interrupter"
    message = sv[0]
    assert message.claims["aud"] == push_service.url
    assert message.claims["sub"] == "mailto:ops@example.org"
    assert 3500 < int(message.headers["ttl"]) <= 3600
    assert message.headers["urgency"] == "high"  # an alert to acknowledge
    session.expire_all()
    for row in rows:
        stored = session.get(Notification, row.id)
        assert stored is not None and stored.delivered_at is not None
        assert stored.delivery == "sent" and stored.claim_token is None
    for subscription in session.exec(select(PushSubscription)):
        assert subscription.last_success_at is not None


def test_a_long_text_arrives_intact(app, session, world, push_service):
    user = factories.create_user(session, world, "night_walker")
    browser = push_service.subscriber()
    subscribe(session, user, browser)
    # A plain string is sent as it is; 3,000 bytes of UTF-8 fill most of a 4 KB push.
    body = ("Järva åäö ✓ " * 300)[:1500]
    push.notify(
        session=session,
        recipient_ids=[user.id],
        kind="briefing_published",
        subject="briefing:9",
        title="Ny helgbriefing",
        body=body,
        url="/",
        ttl=timedelta(hours=30),
    )
    session.commit()
    deliver(app, session)
    (message,) = push_service.messages_for(browser)
    assert message.payload["body"] == body
    assert message.payload["title"] == "Ny helgbriefing"
    assert message.payload["ack"] is False
    assert message.headers["urgency"] == "normal"
    assert int(message.headers["ttl"]) > 29 * 3600


def test_every_push_service_gets_its_own_audience(app, session, world, push_service):
    """pywebpush writes `aud` into the claims it is given: each call needs a fresh dict."""
    with PushService(application_server_key=application_server_key(app)) as other:
        user = factories.create_user(session, world, "supervisor")
        here, there = push_service.subscriber(), other.subscriber()
        subscribe(session, user, here)
        subscribe(session, user, there)
        alert(session, [user.id])
        alert(session, [user.id], subject="event:2")
        session.commit()
        deliver(app, session)
        assert [m.claims["aud"] for m in push_service.messages_for(here)] == [push_service.url] * 2
        assert [m.claims["aud"] for m in other.messages_for(there)] == [other.url] * 2
        assert other.failures == []


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_is_removed(app, session, world, push_service, status):
    user = factories.create_user(session, world, "interrupter")
    gone, alive = push_service.subscriber(), push_service.subscriber()
    gone_id = subscribe(session, user, gone).id
    alive_id = subscribe(session, user, alive).id
    push_service.answer(gone, status)
    (row,) = alert(session, [user.id])
    session.commit()

    report = deliver(app, session)

    assert report.removed == 1
    session.expire_all()
    assert session.get(PushSubscription, gone_id) is None
    assert session.get(PushSubscription, alive_id) is not None
    assert len(push_service.messages_for(alive)) == 1
    stored = session.get(Notification, row.id)
    assert stored is not None and stored.delivery == "sent"
    # The next notification goes to the live subscription only.
    alert(session, [user.id], subject="event:2")
    session.commit()
    deliver(app, session)
    assert [token for token, _status in push_service.requests].count(gone.token) == 1


def test_a_server_error_is_retried_with_back_off_to_that_subscription_only(
    app, session, world, push_service
):
    user = factories.create_user(session, world, "supervisor")
    flaky, fine = push_service.subscriber(), push_service.subscriber()
    subscribe(session, user, flaky)
    subscribe(session, user, fine)
    push_service.answer(flaky, 503, 500)
    now = utcnow()
    (row,) = alert(session, [user.id], now=now)
    session.commit()

    first = deliver(app, session, now=now)
    assert (first.pushed, first.retrying, first.finished) == (1, 1, 0)
    session.refresh(row)
    assert row.delivered_at is None and row.attempts == 1
    assert row.next_attempt_at == now + timedelta(seconds=30)
    # Not due again before the back-off.
    assert deliver(app, session, now=now + timedelta(seconds=10)).claimed == 0
    second = deliver(app, session, now=now + timedelta(seconds=31))
    assert (second.pushed, second.retrying) == (0, 1)
    session.refresh(row)
    assert row.next_attempt_at == now + timedelta(seconds=31 + 60)
    third = deliver(app, session, now=now + timedelta(seconds=92))
    assert (third.pushed, third.finished) == (1, 1)
    # The healthy browser got it once, the flaky one once, after two failures.
    assert len(push_service.messages_for(fine)) == 1
    assert len(push_service.messages_for(flaky)) == 1
    session.refresh(row)
    assert row.delivery == "sent" and row.attempts == 2


def test_one_run_delivers_batch_after_batch(app, session, world, push_service):
    """A briefing to many people: a run goes on past one batch (each committed on its own)."""
    users = [factories.create_user(session, world, "night_walker") for _ in range(5)]
    for user in users:
        subscribe(session, user, push_service.subscriber())
    alert(session, [u.id for u in users], subject="briefing:1")
    session.commit()
    report = deliver(app, session, limit=2)
    assert (report.claimed, report.pushed, report.finished) == (5, 5, 5)
    assert len(push_service.received) == 5


class CountingSender:
    """The app's own sender, counting how many of its sends are in flight at once."""

    def __init__(self, app: Flask) -> None:
        self.inner = sender_for(app)
        self.lock = threading.Lock()
        self.in_flight = self.peak = 0

    def send(self, **kwargs: Any) -> SendResult:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            return self.inner.send(**kwargs)
        finally:
            with self.lock:
                self.in_flight -= 1

    def close(self) -> None:
        self.inner.close()


def test_a_slow_push_service_is_sent_several_messages_at_once(app, session, world, push_service):
    """A briefing to many members: a push service that takes its time is not asked one by one,
    and every message still arrives once, each row marked by the job."""
    users = [factories.create_user(session, world, "night_walker") for _ in range(6)]
    for user in users:
        subscribe(session, user, push_service.subscriber())
    rows = alert(session, [u.id for u in users], subject="briefing:2")
    session.commit()
    push_service.delay = 0.2
    with app.app_context():
        sender = CountingSender(app)
        report = jobs.deliver_due(session=session, sender=sender)
        sender.close()
    assert sender.peak > 1
    assert (report.claimed, report.pushed, report.finished) == (6, 6, 6)
    assert len(push_service.received) == 6
    for row in rows:
        session.refresh(row)
        assert row.delivery == "sent" and row.claim_token is None


def test_a_silent_push_service_does_not_hold_delivery(app, session, world, push_service):
    app.config["PUSH_TIMEOUT_SECONDS"] = 0.5
    user = factories.create_user(session, world, "supervisor")
    subscribe(session, user, push_service.subscriber())
    (row,) = alert(session, [user.id])
    session.commit()
    push_service.delay = 3
    started = time.monotonic()
    report = deliver(app, session)
    assert time.monotonic() - started < 2.5
    assert report.retrying == 1
    session.refresh(row)
    assert row.delivered_at is None and row.attempts == 1


def test_delivery_gives_up_when_the_ttl_has_passed(app, session, world, push_service):
    user = factories.create_user(session, world, "supervisor")
    subscribe(session, user, push_service.subscriber())
    now = utcnow()
    (row,) = alert(session, [user.id], now=now - timedelta(hours=2))
    session.commit()
    deliver(app, session, now=now)
    session.refresh(row)
    assert row.delivery == "expired"
    assert push_service.requests == []


def test_a_notification_without_a_subscription_is_listed_only(app, session, world):
    user = factories.create_user(session, world, "night_walker")
    (row,) = alert(session, [user.id])
    session.commit()
    report = deliver(app, session)
    assert report.finished == 1
    session.refresh(row)
    assert row.delivery == "no_device"
    actor = factories.principal(session, user)
    assert [n.id for n in push.list_notifications(session=session, actor=actor).items] == [row.id]


def test_a_replayed_notify_never_notifies_twice(app, session, world, push_service):
    user = factories.create_user(session, world, "interrupter")
    browser = push_service.subscriber()
    subscribe(session, user, browser)
    assert len(alert(session, [user.id])) == 1
    session.commit()
    deliver(app, session)
    # The same request again (a retried sync, a double tap), now and after delivery.
    assert alert(session, [user.id]) == []
    session.commit()
    deliver(app, session)
    assert len(push_service.messages_for(browser)) == 1
    assert len(session.exec(select(Notification)).all()) == 1


def test_simultaneous_notifies_of_one_event_make_one_row(app, session, world):
    users = [factories.create_user(session, world, "supervisor") for _ in range(3)]
    session.commit()
    engine = app.extensions["db_engine"]
    barrier = threading.Barrier(4)

    def worker() -> int:
        with Session(engine, expire_on_commit=False) as own, app.app_context():
            barrier.wait()
            created = alert(own, [u.id for u in users])
            own.commit()
            return len(created)

    with ThreadPoolExecutor(4) as pool:
        created = [f.result() for f in [pool.submit(worker) for _ in range(4)]]
    assert sum(created) == 3
    assert len(session.exec(select(Notification)).all()) == 3


def test_deliver_soon_reaches_the_push_service_without_the_scheduler(
    app, session, world, push_service
):
    """No scheduler runs in the tests: the push arrives because deliver_soon sent it. How soon
    is a figure of bench/push_latency.py, not a limit here (a loaded CI machine took 1.08 s)."""
    user = factories.create_user(session, world, "supervisor")
    subscribe(session, user, push_service.subscriber())
    rows = alert(session, [user.id], requires_ack=True)
    session.commit()
    thread = jobs.deliver_soon(notification_ids=[r.id for r in rows], app=app)
    assert thread is not None
    assert len(push_service.wait_for(1, timeout=10)) == 1
    jobs.join_deliveries(app)
    session.refresh(rows[0])
    assert rows[0].delivered_at is not None


def test_deliver_created_sends_what_the_request_notified(app, session, world, push_service):
    """A view calls deliver_created after its commit, without knowing what was notified."""
    user = factories.create_user(session, world, "interrupter")
    subscribe(session, user, push_service.subscriber())
    with app.test_request_context():
        alert(session, [user.id])
        alert(session, [user.id])  # a replay inside the same request: nothing more
        session.commit()
        thread = jobs.deliver_created(session=session)
        assert thread is not None
        assert jobs.deliver_created(session=session) is None  # handed on once
    assert len(push_service.wait_for(1, timeout=5)) == 1
    jobs.join_deliveries(app)
    assert len(push_service.received) == 1


def test_what_a_request_notifies_is_pushed_right_after_it(app, session, world, push_service):
    """Any view (a form, the sync endpoint) that notifies and commits: the push leaves at once."""
    user = factories.create_user(session, world, "supervisor")
    subscribe(session, user, push_service.subscriber())
    recipient = user.id

    def raise_level() -> tuple[str, int]:
        from interrupters.db import get_session

        db = get_session()
        alert(db, [recipient], requires_ack=True)
        db.commit()
        return "", 204

    def notify_then_fail() -> tuple[str, int]:
        from interrupters.db import get_session

        db = get_session()
        alert(db, [recipient], subject="event:never")
        db.rollback()
        return "", 422

    app.add_url_rule("/test/raise", "test_raise", raise_level, methods=["POST"])
    app.add_url_rule("/test/fail", "test_fail", notify_then_fail, methods=["POST"])
    client = app.test_client()
    assert client.post("/test/raise").status_code == 204
    # No scheduler runs in the tests (in service it delivers every 30 s): what arrives was sent
    # by the request itself. No time limit here: a loaded machine takes longer (bench/).
    (_message,) = push_service.wait_for(1, timeout=10)
    assert client.post("/test/fail").status_code == 422
    jobs.join_deliveries(app)
    assert len(push_service.received) == 1
    assert session.exec(select(Notification.subject)).all() == ["event:1"]


def test_a_rolled_back_notify_is_forgotten(app, session, world):
    user = factories.create_user(session, world, "supervisor")
    session.commit()
    alert(session, [user.id])
    assert session.info[push.CREATED]
    session.rollback()
    assert push.CREATED not in session.info
    assert jobs.deliver_created(session=session) is None


def test_notify_checks_its_arguments(app, session, world):
    user = factories.create_user(session, world, "supervisor")
    with pytest.raises(ValueError, match="path"):
        alert(session, [user.id], url="https://example.org/x")
    with pytest.raises(ValueError, match="acknowledgement"):
        alert(session, [user.id], repeat_after=timedelta(minutes=15), repeat_to=[user.id])
    with pytest.raises(TypeError):
        alert(session, [user.id], title=_l("Welcome, %(name)s", name=object()))
    with app.app_context(), pytest.raises(KeyError):
        alert(session, [user.id], title=_l("Welcome, %(name)s", who="x"))
    assert alert(session, []) == []


def test_a_scheduled_notification_waits_for_its_time(app, session, world, push_service):
    user = factories.create_user(session, world, "night_walker")
    subscribe(session, user, push_service.subscriber())
    now = utcnow()
    alert(session, [user.id], deliver_at=now + timedelta(hours=1), now=now)
    session.commit()
    actor = factories.principal(session, user)
    assert push.list_notifications(session=session, actor=actor, now=now).items == []
    assert deliver(app, session, now=now).claimed == 0
    assert deliver(app, session, now=now + timedelta(hours=1)).pushed == 1


# Acknowledgement and the 15-minute repeat ------------------------------------------------------


def escalation(session: Session, world: factories.World, now: Any) -> tuple[User, User, int]:
    """An alert to an interrupter and a supervisor, repeated to the supervisor after 15 min."""
    supervisor = factories.create_user(session, world, "supervisor")
    interrupter = factories.create_user(session, world, "interrupter")
    rows = alert(
        session,
        [supervisor.id, interrupter.id],
        requires_ack=True,
        repeat_after=timedelta(minutes=15),
        repeat_to=[supervisor.id],
        now=now,
    )
    session.commit()
    assert len(rows) == 2
    return supervisor, interrupter, rows[0].id or 0


def test_an_unacknowledged_alert_is_repeated_once_after_15_minutes(
    app, session, world, push_service
):
    now = utcnow()
    supervisor, interrupter, _ = escalation(session, world, now)
    browser = push_service.subscriber()
    subscribe(session, supervisor, browser)
    deliver(app, session, now=now)

    with app.app_context():
        assert jobs.repeat_unacknowledged(session=session, now=now + timedelta(minutes=14)) == 0
        assert jobs.repeat_unacknowledged(session=session, now=now + timedelta(minutes=15)) == 1
        assert jobs.repeat_unacknowledged(session=session, now=now + timedelta(minutes=16)) == 0
    deliver(app, session, now=now + timedelta(minutes=16))
    deliver(app, session, now=now + timedelta(minutes=17))

    messages = push_service.messages_for(browser)
    assert [m.payload["title"] for m in messages] == [
        "Välkommen, Järva",
        "Inte kvitterad: Välkommen, Järva",
    ]
    assert messages[1].payload["tag"] == "event:1"  # replaces the first on the phone
    repeats = session.exec(
        select(Notification).where(Notification.kind == "test_alert:repeat")
    ).all()
    assert [(r.recipient_id, r.requires_ack) for r in repeats] == [(supervisor.id, True)]
    # The repeat is the same alert again (issue 10): it waits once, as the original; the
    # interrupter had no repeat.
    later = now + timedelta(minutes=20)
    assert [
        n.kind for n in push.unacknowledged(session=session, recipient_id=supervisor.id, now=later)
    ] == ["test_alert"]
    assert len(push.unacknowledged(session=session, recipient_id=interrupter.id, now=later)) == 1


def test_the_scheduler_pushes_a_repeat_as_soon_as_it_makes_it(app, session, world, push_service):
    supervisor, _interrupter, _ = escalation(session, world, utcnow() - timedelta(minutes=16))
    browser = push_service.subscriber()
    subscribe(session, supervisor, browser)
    jobs_by_id = {job.id: job for job in periodic_jobs(app)}
    assert run_job(app, jobs_by_id["push.repeat_unacknowledged"]) == 1
    # No deliver_due run in between: the repeat job itself sent it.
    titles = [m.payload["title"] for m in push_service.messages_for(browser)]
    assert titles == ["Inte kvitterad: Välkommen, Järva"]


def test_an_acknowledged_alert_is_not_repeated(app, session, world):
    now = utcnow()
    _supervisor, interrupter, _ = escalation(session, world, now)
    actor = factories.principal(session, interrupter)
    (row,) = push.unacknowledged(session=session, recipient_id=interrupter.id)
    push.acknowledge(session=session, actor=actor, notification_id=row.id or 0)
    session.commit()
    with app.app_context():
        assert jobs.repeat_unacknowledged(session=session, now=now + timedelta(minutes=20)) == 0
    assert [
        n.recipient_id
        for n in push.acknowledgements(session=session, kind="test_alert", subject="event:1")
    ] == [interrupter.id]
    # Acknowledging is once: the audit log has one event however often it is posted.
    push.acknowledge(session=session, actor=actor, notification_id=row.id or 0)
    session.commit()
    from interrupters.audit.models import AuditEvent

    events = session.exec(
        select(AuditEvent).where(AuditEvent.event == "notification_acknowledged")
    ).all()
    assert len(events) == 1 and events[0].detail == {"kind": "test_alert"}


def test_a_cancelled_repeat_does_not_fire(app, session, world):
    now = utcnow()
    escalation(session, world, now)
    assert push.cancel_repeats(session=session, kind="test_alert", subject="event:1") == 2
    session.commit()
    with app.app_context():
        assert jobs.repeat_unacknowledged(session=session, now=now + timedelta(minutes=20)) == 0


def test_two_web_workers_and_one_scheduler_send_the_repeat_exactly_once(
    app, session, world, push_service
):
    """Each caller has its own session (its own connection), as separate processes would."""
    engine = app.extensions["db_engine"]
    push_service.delay = 0.15  # sends overlap with the other callers' claims
    rounds = 3
    supervisors = []
    for number in range(rounds):
        # Due for its repeat since five minutes: every caller finds it due at once.
        now = utcnow() - timedelta(minutes=20)
        supervisor = factories.create_user(session, world, "supervisor")
        interrupter = factories.create_user(session, world, "interrupter")
        alert(
            session,
            [supervisor.id, interrupter.id],
            subject=f"event:{number}",
            requires_ack=True,
            repeat_after=timedelta(minutes=15),
            repeat_to=[supervisor.id],
            now=now,
        )
        browser = push_service.subscriber()
        subscribe(session, supervisor, browser)
        supervisors.append((supervisor, browser))
    session.commit()
    jobs_by_id = {job.id: job for job in periodic_jobs(app)}
    barrier = threading.Barrier(3)

    def web_worker() -> None:
        # What a request does after its commit: deliver at once (and the repeat check a
        # worker might run); its own session, as another process would have.
        barrier.wait()
        for _ in range(3):
            with Session(engine, expire_on_commit=False) as own, app.app_context():
                jobs.repeat_unacknowledged(session=own)
                jobs.deliver_due(session=own)

    def scheduler() -> None:
        barrier.wait()
        for _ in range(3):
            run_job(app, jobs_by_id["push.repeat_unacknowledged"])
            run_job(app, jobs_by_id["push.deliver_due"])

    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(web_worker), pool.submit(web_worker), pool.submit(scheduler)]
        for future in futures:
            future.result()

    for supervisor, browser in supervisors:
        titles = [m.payload["title"] for m in push_service.messages_for(browser)]
        assert titles.count("Inte kvitterad: Välkommen, Järva") == 1, titles
        assert titles.count("Välkommen, Järva") == 1, titles
        repeats = session.exec(
            select(Notification)
            .where(Notification.recipient_id == supervisor.id)
            .where(Notification.kind == "test_alert:repeat")
        ).all()
        assert len(repeats) == 1 and repeats[0].delivery == "sent"
    assert len(push_service.received) == 2 * rounds


# Subscriptions --------------------------------------------------------------------------------


def test_signing_a_device_out_removes_its_subscription(app, session, world, push_service):
    user = factories.create_user(session, world, "interrupter")
    rows = [subscribe(session, user, push_service.subscriber()) for _ in range(4)]
    devices = [row.device_session_id for row in rows]
    actor = factories.principal(session, user)
    # "Sign out this device" on the profile.
    auth_services.revoke_device(session=session, actor=actor, device_session_id=devices[0])
    session.commit()
    remaining = {s.device_session_id for s in session.exec(select(PushSubscription))}
    assert remaining == set(devices[1:])
    # Logging out on the phone itself.
    phone = auth_services.principal_for_token(
        session=session,
        token=auth_services.start_device_session(session=session, user=user, device_label="x"),
    )
    assert phone is not None
    subscription = push.parse_subscription(
        push_service.subscriber().subscription_json(), allowed_hosts=["127.0.0.1"], allow_http=True
    )
    push.subscribe(session=session, actor=phone, subscription=subscription)
    auth_services.end_device_session(session=session, actor=phone)
    session.commit()
    assert {s.device_session_id for s in session.exec(select(PushSubscription))} == set(devices[1:])
    # Deactivating the person signs out (and unsubscribes) every device.
    admin = factories.principal(session, factories.create_user(session, world, "admin"))
    auth_services.set_user_active(session=session, actor=admin, user_id=user.id, active=False)
    session.commit()
    assert session.exec(select(PushSubscription)).all() == []


def test_unused_subscriptions_expire(app, session, world, push_service):
    user = factories.create_user(session, world, "interrupter")
    old = subscribe(session, user, push_service.subscriber())
    fresh = subscribe(session, user, push_service.subscriber())
    now = utcnow()
    old.expires_at = now - timedelta(seconds=1)
    session.add(old)
    session.commit()
    # A device confirms its subscription once a day while it is used.
    actor = factories.principal(session, user)
    renewed = push.refresh_subscription(session=session, actor=actor, endpoint=fresh.endpoint)
    assert renewed is not None and renewed.expires_at > now + timedelta(days=59)
    session.commit()
    with app.app_context():
        assert jobs.expire_subscriptions(session=session, now=now) == 1
    assert [s.id for s in session.exec(select(PushSubscription))] == [fresh.id]


def test_only_push_services_are_accepted_as_endpoints(app):
    """The server posts to a stored endpoint: only push services' https URLs (no SSRF)."""
    keys = _browser_keys()
    good = {"endpoint": "https://fcm.googleapis.com/fcm/send/abc", "keys": keys}
    hosts = ("fcm.googleapis.com", "push.apple.com")
    assert push.parse_subscription(good, allowed_hosts=hosts).endpoint == good["endpoint"]
    apple = {**good, "endpoint": "https://web.push.apple.com/QGuQ"}
    assert push.parse_subscription(apple, allowed_hosts=hosts)
    refused = [
        {**good, "endpoint": "https://127.0.0.1:6379/"},  # not a push service
        {**good, "endpoint": "http://fcm.googleapis.com/fcm/send/abc"},  # not https
        {**good, "endpoint": "https://evil.example/fcm.googleapis.com"},
        {**good, "endpoint": "https://fcm.googleapis.com.evil.example/x"},
        {**good, "endpoint": "https://user@fcm.googleapis.com/x"},
        {**good, "endpoint": "https://fcm.googleapis.com/" + "x" * 1100},
        {**good, "keys": {"p256dh": "AAAA", "auth": keys["auth"]}},
        {**good, "keys": {"p256dh": keys["p256dh"][:-4] + "AAAA", "auth": keys["auth"]}},
        {**good, "keys": {"p256dh": keys["p256dh"], "auth": "AAAA"}},
        {"endpoint": "https://fcm.googleapis.com/x"},
        ["not", "an", "object"],
    ]
    for data in refused:
        with pytest.raises(push.InvalidInput):
            push.parse_subscription(data, allowed_hosts=hosts)
    # Production's list: the browsers' push services only.
    assert "127.0.0.1" not in Settings().push_service_hosts


def _browser_keys() -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from .pushservice import b64url

    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {"p256dh": b64url(point), "auth": b64url(os.urandom(16))}


# Routes, for every role -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_role_manages_its_own_subscription(app, session, login_as, push_service, role):
    client = app.test_client()
    user = login_as(role, client=client)
    browser = push_service.subscriber()
    json_headers = {"Accept": "application/json"}

    response = client.post(
        "/push/subscriptions", json=browser.subscription_json(), headers=json_headers
    )
    assert response.status_code == 201, response.get_json()
    assert (
        client.post(
            "/push/subscriptions", json=browser.subscription_json(), headers=json_headers
        ).status_code
        == 200
    )
    renewed = client.post(
        "/push/subscriptions",
        json={"refresh": True, "endpoint": browser.endpoint},
        headers=json_headers,
    )
    assert renewed.status_code == 200
    (row,) = session.exec(select(PushSubscription)).all()
    assert row.user_id == user.id

    profile = client.get("/profile").get_data(as_text=True)
    assert "data-push-optin" in profile
    assert application_server_key(app) in profile
    assert f'name="subscription_id" value="{row.id}"' in profile

    invalid = client.post(
        "/push/subscriptions",
        json={**browser.subscription_json(), "endpoint": "https://internal.example/x"},
        headers=json_headers,
    )
    assert invalid.status_code == 422
    assert invalid.get_json()["status"] == "invalid"

    removed = client.post(
        "/push/subscriptions/remove", json={"endpoint": browser.endpoint}, headers=json_headers
    )
    assert removed.status_code == 200
    session.expire_all()
    assert session.exec(select(PushSubscription)).all() == []
    unknown = client.post(
        "/push/subscriptions",
        json={"refresh": True, "endpoint": browser.endpoint},
        headers=json_headers,
    )
    assert unknown.status_code == 404 and unknown.get_json() == {"status": "unknown"}


def test_a_device_listed_on_the_profile_can_be_turned_off_without_javascript(
    app, session, world, login_as, push_service
):
    client = app.test_client()
    user = login_as("night_walker", client=client)
    other = factories.create_user(session, world, "night_walker")
    mine = subscribe(session, user, push_service.subscriber())
    theirs = subscribe(session, other, push_service.subscriber())
    # Another person's subscription is not touched (and not told apart from a missing one).
    response = client.post("/push/subscriptions/remove", data={"subscription_id": theirs.id})
    assert response.status_code == 303
    response = client.post("/push/subscriptions/remove", data={"subscription_id": mine.id})
    assert response.status_code == 303 and response.headers["Location"].endswith("/profile")
    session.expire_all()
    assert [s.id for s in session.exec(select(PushSubscription))] == [theirs.id]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_and_acknowledges_its_own_notifications(
    app, session, world, login_as, role
):
    client = app.test_client()
    user = login_as(role, client=client)
    other = factories.create_user(session, world, "supervisor")
    now = utcnow()
    (mine,) = alert(session, [user.id], requires_ack=True, now=now - timedelta(minutes=2))
    (info,) = alert(
        session, [user.id], subject="event:2", body="Läs briefingen", now=now - timedelta(minutes=1)
    )
    (theirs,) = alert(session, [other.id], subject="event:3", body="Someone else's")
    alert(session, [user.id], subject="later", body="Not yet", deliver_at=now + timedelta(hours=1))
    session.commit()

    page = client.get("/notifications").get_data(as_text=True)
    assert "Someone else" not in page and "Not yet" not in page
    assert page.index("Läs briefingen") < page.index("Våldsavbrytare")  # newest first
    assert f"/notifications/{mine.id}/acknowledge" in page
    assert f"/notifications/{info.id}/acknowledge" not in page
    # The nav counts both unread; Swedish by default.
    assert '2<span class="visually-hidden"> olästa</span>' in page

    response = client.post(f"/notifications/{theirs.id}/acknowledge")
    assert response.status_code == 404
    response = client.post(f"/notifications/{mine.id}/acknowledge", headers={"HX-Request": "true"})
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert fragment.lstrip().startswith("<li") and "<html" not in fragment
    assert f"/notifications/{mine.id}/acknowledge" not in fragment  # done: no button
    assert "HX-Request" in response.headers["Vary"]
    assert client.post("/notifications/read").status_code == 303
    session.expire_all()
    assert session.get(Notification, mine.id).acknowledged_at is not None
    assert session.get(Notification, info.id).read_at is not None
    assert session.get(Notification, theirs.id).acknowledged_at is None
    page = client.get("/notifications").get_data(as_text=True)
    assert 'visually-hidden"> olästa' not in page


def test_signed_out_people_reach_no_notification_route(app, session, world):
    client = app.test_client()
    user = factories.create_user(session, world, "supervisor")
    (row,) = alert(session, [user.id], requires_ack=True)
    session.commit()
    assert client.get("/notifications").headers["Location"].startswith("/login?next=")
    response = client.post(
        "/push/subscriptions", json={"refresh": True}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 401
    response = client.post(f"/notifications/{row.id}/acknowledge")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    session.refresh(row)
    assert row.acknowledged_at is None


# The scheduler --------------------------------------------------------------------------------


def test_the_scheduler_has_the_push_jobs_and_create_app_starts_none(app):
    assert not [t for t in threading.enumerate() if "APScheduler" in t.name]
    with SchedulerLock(app) as lock:
        scheduler = build_scheduler(app, lock)
        jobs_by_id = {job.id: job for job in scheduler.get_jobs()}
    # Other domains add theirs (tests/test_conflicts.py checks its own).
    assert set(jobs_by_id) >= {
        "push.deliver_due",
        "push.repeat_unacknowledged",
        "push.expire_subscriptions",
        "scheduler.lock",
    }
    assert jobs_by_id["push.deliver_due"].trigger.interval == timedelta(seconds=30)
    assert jobs_by_id["push.repeat_unacknowledged"].trigger.interval == timedelta(minutes=1)
    assert "hour='3'" in str(jobs_by_id["push.expire_subscriptions"].trigger)


def test_a_second_scheduler_cannot_start_while_one_holds_the_lock(app, database_url):
    """One scheduler process runs; a second (the CLI here) is refused while it lives."""
    script = textwrap.dedent(
        f"""
        from interrupters import create_app
        from interrupters.cli import run_scheduler
        app = create_app({{
            "SECRET_KEY": "x" * 40, "DATABASE_URL": {database_url!r},
            "INSTANCE_PATH": {app.instance_path!r}, "PUSH_DELIVER_EVERY_SECONDS": 3600,
            "RATELIMIT_ALLOW_MEMORY": True,  # a scheduler process serves no sign-ins
        }})
        run_scheduler(app, wait=False, once=False)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-u", "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    started = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Scheduler started"):
                started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert started.wait(60), "".join(lines)
        result = app.test_cli_runner().invoke(args=["scheduler"])
        assert result.exit_code == 1
        assert "Another scheduler is running" in result.output
        assert not SchedulerLock(app).acquire()
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError("the scheduler did not stop on SIGTERM:\n" + "".join(lines))
        reader.join(timeout=5)
    # SIGTERM stops it cleanly and frees the lock.
    assert process.returncode == 0, "".join(lines)
    assert "Scheduler stopped." in "".join(lines)
    with SchedulerLock(app):
        pass


def test_scheduler_once_runs_every_job_and_reports_failures(app, monkeypatch):
    result = app.test_cli_runner().invoke(args=["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    assert "Every job ran once." in result.output

    def broken(**_kwargs: Any) -> None:
        raise RuntimeError("a broken job")

    push_jobs = [job for job in periodic_jobs(app) if job.id.startswith("push.")]
    monkeypatch.setattr(
        "interrupters.scheduler.periodic_jobs",
        lambda _app: [PeriodicJob("broken", broken, "interval", {"seconds": 60}), *push_jobs],
    )
    result = app.test_cli_runner().invoke(args=["scheduler", "--once"])
    assert result.exit_code == 1
    assert "These jobs failed: broken." in result.output


def test_the_lock_is_one_per_database(app):
    first, second = SchedulerLock(app), SchedulerLock(app)
    assert first.acquire()
    try:
        assert not second.acquire()
        assert "lock" in second.holder() or "PostgreSQL" in second.holder()
    finally:
        first.release()
    assert second.acquire()
    second.release()


def test_make_run_starts_the_scheduler_beside_the_web_server():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    # honcho runs the Procfile: the web server and the scheduler, each a process of its own.
    assert "honcho start" in recipe
    processes = dict(
        line.split(":", 1)
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert set(processes) == {"web", "scheduler"}
    assert "gunicorn" in processes["web"]
    assert "flask --app app scheduler --wait" in processes["scheduler"]


def test_payload_is_json_with_generic_fields_only(app, session, world):
    user = factories.create_user(session, world, "supervisor")
    (row,) = alert(session, [user.id])
    with app.app_context():
        payload = json.loads(jobs._payload(row, "en"))
    assert set(payload) == {"title", "body", "url", "tag", "ack"}
