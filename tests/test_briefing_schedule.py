"""A scheduled briefing's life as the scheduler runs it (issue 5): published exactly once at
its time, pushed once to every member of the target associations and the programme (and to
nobody else), and expired by itself at the end of its window, kept on the server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from interrupters import scheduler
from interrupters.briefings import services
from interrupters.briefings.models import Briefing
from interrupters.db import utcnow
from interrupters.push import jobs as push_jobs
from interrupters.push.models import Notification
from interrupters.scheduler import periodic_jobs, run_job

from . import factories
from .pushservice import PushService
from .test_push import subscribe


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {
        "PUSH_SERVICE_HOSTS": ("127.0.0.1",),
        "PUSH_ALLOW_HTTP": True,
        "VAPID_SUBJECT": "mailto:ops@example.org",
    }


@pytest.fixture
def push_service(app):
    from interrupters.push.webpush import application_server_key

    with PushService(application_server_key=application_server_key(app)) as service:
        yield service
    assert service.failures == []


def test_the_scheduler_publishes_once_pushes_each_member_once_and_expires_it(
    app, session, world, push_service, monkeypatch
):
    factories.serve(session, world, "association")
    factories.serve(session, world, "municipal")
    author = factories.create_user(session, world, "briefing_author")
    members = [
        factories.create_user(session, world, "night_walker"),
        factories.create_user(session, world, "night_walker"),
        factories.create_user(session, world, "association_lead"),
        factories.create_user(session, world, "interrupter"),
        factories.create_user(session, world, "supervisor"),
    ]
    # Not members of a target: another programme (serving no district of the briefing), a
    # researcher of the programme, and the author's own unit.
    others = [
        factories.create_user(session, world, "interrupter", organisation="other_programme"),
        factories.create_user(session, world, "researcher"),
        author,
    ]
    phones = {user.id: push_service.subscriber() for user in members + others}
    for user in members + others:
        subscribe(session, user, phones[user.id])
    now = utcnow()
    briefing = factories.create_briefing(
        session, world, author, valid_from=now, valid_to=now + timedelta(hours=40)
    )
    services.schedule_briefing(
        session=session,
        actor=factories.principal(session, author),
        briefing_id=briefing.id or 0,
        publish_at=now + timedelta(hours=2),
    )
    session.commit()
    jobs = {job.id: job for job in periodic_jobs(app)}

    def run(job_id: str, at: Any) -> Any:
        # The scheduler's clock, and delivery's: what a job notifies is due at once.
        monkeypatch.setattr(scheduler, "utcnow", lambda: at)
        monkeypatch.setattr(push_jobs, "utcnow", lambda: at)
        return run_job(app, jobs[job_id])

    # Before its time nothing happens; at its time one run publishes, the next finds it done.
    assert run("briefings.publish_due", now + timedelta(hours=1)) == 0
    assert run("briefings.publish_due", now + timedelta(hours=2, seconds=5)) == 1
    assert run("briefings.publish_due", now + timedelta(hours=2, seconds=35)) == 0
    session.expire_all()
    assert session.get(Briefing, briefing.id).state == "published"

    # The publishing run itself pushed: one message a member, none to anyone else.
    for user in members:
        messages = push_service.messages_for(phones[user.id])
        assert len(messages) == 1, user.email
        assert messages[0].payload["url"] == "/briefings/current"
    for user in others:
        assert push_service.messages_for(phones[user.id]) == [], user.email
    # Delivery runs afterwards send nothing again.
    run("push.deliver_due", now + timedelta(hours=3))
    assert sum(len(push_service.messages_for(p)) for p in phones.values()) == len(members)
    rows = session.exec(
        select(Notification).where(Notification.subject == f"briefing:{briefing.id}")
    ).all()
    assert sorted(r.recipient_id for r in rows) == sorted(u.id for u in members)

    # At the end of its window it expires by itself, and stays on the server.
    assert run("briefings.expire_due", now + timedelta(hours=39)) == 0
    assert run("briefings.expire_due", now + timedelta(hours=40, seconds=30)) == 1
    session.expire_all()
    kept = session.get(Briefing, briefing.id)
    assert kept is not None and kept.state == "expired" and kept.expired_at is not None
    assert run("briefings.expire_due", now + timedelta(hours=41)) == 0
