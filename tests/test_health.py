"""Health (issue 14, item 2): liveness stays cheap; readiness checks the database, migrations,
Redis, the scheduler's heartbeat and push delivery; a draining host answers 503; the detail is
for admins and local probes only, and never carries personal data."""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from sqlalchemy import text
from sqlmodel import select

from interrupters import gunicorn_conf
from interrupters.db import session_scope, utcnow
from interrupters.health import drain
from interrupters.health import services as health
from interrupters.health.models import SchedulerHeartbeat
from interrupters.scheduler import SchedulerLock, build_scheduler, write_heartbeat

from . import factories
from .test_push import alert

ROOT = Path(__file__).resolve().parent.parent
FROM_THE_PROXY = {"X-Forwarded-For": "203.0.113.9"}


def _ready(client, **headers):
    response = client.get("/readyz", headers=headers)
    return response.status_code, response.get_json()


def _beat(app, state=health.RUNNING, ago=timedelta(0)):
    with app.app_context(), session_scope(app.extensions["db_engine"]) as session:
        health.beat(session=session, state=state, now=utcnow() - ago)


def test_liveness_touches_nothing(client, app):
    app.extensions["db_engine"].dispose()
    app.config["DATABASE_URL"] = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_ready_once_the_scheduler_beats(client, app):
    status, body = _ready(client)
    # No scheduler yet: the host serves (200), the service is degraded.
    assert status == 200 and body["status"] == "degraded"
    assert body["checks"]["scheduler"]["ok"] is False
    assert body["checks"]["database"]["ok"] and body["checks"]["migrations"]["ok"]
    _beat(app)
    status, body = _ready(client)
    assert status == 200 and body["status"] == "ready", body
    assert body["checks"]["scheduler"]["running"] == 1
    # A heartbeat older than three intervals is stale.
    _beat(app, ago=timedelta(seconds=3 * 15 + 5))
    assert _ready(client)[1]["status"] == "degraded"


def test_the_world_sees_the_status_only(client, app, session, world, login_as):
    _beat(app)
    status, body = _ready(client, **FROM_THE_PROXY)
    assert (status, body) == (200, {"status": "ready"})
    login_as("supervisor")
    assert _ready(client, **FROM_THE_PROXY)[1] == {"status": "ready"}
    admin_client = app.test_client()
    admin = login_as("admin", client=admin_client)
    status, body = _ready(admin_client, **FROM_THE_PROXY)
    assert set(body["checks"]) >= {"database", "migrations", "scheduler", "push"}
    # Counts, ages, revisions and host names: nothing about a person.
    rendered = json.dumps(body)
    for user in session.exec(select(factories.User)).all():
        assert user.email not in rendered and user.display_name not in rendered
    assert admin.email not in rendered


def test_push_backlog_and_its_age(client, app, session, world):
    _beat(app)
    user = factories.create_user(session, world, "interrupter")
    session.commit()
    alert(session, [user.id], deliver_at=utcnow() - timedelta(minutes=10))
    session.commit()
    status, body = _ready(client)
    assert status == 200 and body["status"] == "degraded"
    assert body["checks"]["push"]["backlog"] == 1
    assert body["checks"]["push"]["oldest_seconds"] >= 600
    assert body["checks"]["push"]["ok"] is False


def test_migrations_behind_the_code_make_the_host_unready(client, app):
    engine = app.extensions["db_engine"]
    with engine.begin() as connection:
        head = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        connection.execute(text("UPDATE alembic_version SET version_num = '09b9264c79fa'"))
    try:
        status, body = _ready(client)
        assert status == 503 and body["status"] == "unready"
        assert body["checks"]["migrations"]["ok"] is False
        assert body["checks"]["migrations"]["database"] == ["09b9264c79fa"]
    finally:
        # The PostgreSQL database is shared by the session's tests.
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})


def test_redis_unreachable_makes_the_host_unready(client, app):
    app.config["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:1"
    status, body = _ready(client)
    assert status == 503 and body["checks"]["redis"]["ok"] is False
    app.config["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:6379"
    try:
        socket.create_connection(("127.0.0.1", 6379), 1).close()
    except OSError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    assert _ready(client)[1]["checks"]["redis"]["ok"] is True


def test_a_draining_host_is_taken_out(client, app):
    _beat(app)
    drain.start_draining()
    try:
        status, body = _ready(client)
        assert status == 503 and body["status"] == "draining"
        # It still serves what comes in meanwhile.
        assert client.get("/healthz").status_code == 200
    finally:
        drain.stop_draining()
    assert _ready(client)[0] == 200


def test_the_scheduler_writes_its_heartbeat_and_forgets_it(app, session):
    lock = SchedulerLock(app)
    assert lock.acquire()
    try:
        scheduler = build_scheduler(app, lock)
        assert "scheduler.heartbeat" in {job.id for job in scheduler.get_jobs()}
    finally:
        lock.release()
    write_heartbeat(app, health.STANDBY)
    write_heartbeat(app, health.RUNNING)
    (row,) = session.exec(select(SchedulerHeartbeat)).all()
    assert row.state == "running" and row.pid == os.getpid()
    # A process unheard of for a day is forgotten by the next beat.
    session.add(
        SchedulerHeartbeat(
            id="gone:1",
            host="gone",
            pid=1,
            state="running",
            started_at=utcnow() - timedelta(days=3),
            beat_at=utcnow() - timedelta(days=2),
        )
    )
    session.commit()
    write_heartbeat(app, health.RUNNING)
    session.expire_all()
    assert [r.id for r in session.exec(select(SchedulerHeartbeat)).all()] == [row.id]
    with app.app_context(), session_scope(app.extensions["db_engine"]) as other:
        health.forget(session=other)
    session.expire_all()
    assert session.exec(select(SchedulerHeartbeat)).all() == []


def test_the_admin_reads_the_same_checks_in_swedish(client, app, login_as):
    _beat(app)
    login_as("admin")
    home = client.get("/").get_data(as_text=True)
    assert "Systemets hälsa" in home and "Redo" in home and "/health" in home
    page = client.get("/health")
    assert page.status_code == 200
    text_ = page.get_data(as_text=True)
    for words in ("Databas", "Schemaläggare", "Pushnotiser", "Körs", "Redo"):
        assert words in text_, words


# gunicorn's drain --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_sigterm_drains_then_stops_under_gunicorn(database, database_url, tmp_path):
    if database["kind"] != "sqlite":
        pytest.skip("one backend is enough for the process's signals")
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "INTERRUPTERS_ENV": "production",
        "SECRET_KEY": "a-long-enough-secret-key-for-the-drain-test-0123",
        "DATABASE_URL": database_url,
        "SECURE_COOKIES": "0",
        "RATELIMIT_ALLOW_MEMORY": "1",
        "DRAIN_SECONDS": "3",
        "WEB_CONCURRENCY": "1",
        "PORT": str(port),
    }
    (tmp_path / "wsgi.py").write_text(
        "from interrupters import create_app\n"
        f"app = create_app({{'INSTANCE_PATH': {str(tmp_path / 'instance')!r}}})\n"
    )
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:interrupters.gunicorn_conf",
                "--pythonpath",
                str(tmp_path),
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if requests.get(url + "/healthz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass  # not listening yet, or the worker still imports the app
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert requests.get(url + "/readyz", timeout=5).status_code == 200

        process.send_signal(signal.SIGTERM)
        answers = []
        while process.poll() is None and time.monotonic() < deadline:
            try:
                ready = requests.get(url + "/readyz", timeout=2)
                live = requests.get(url + "/healthz", timeout=2)
                answers.append((ready.status_code, ready.json()["status"], live.status_code))
            except requests.RequestException:
                # Stopped accepting: refused, or left in the listen backlog unanswered.
                answers.append(("closed",))
            time.sleep(0.2)
        # While draining: readiness says 503 "draining", and requests are still served.
        assert (503, "draining", 200) in answers, answers
        # (The master passes the signal on: an answer may come before the worker has it.)
        after = answers[answers.index((503, "draining", 200)) :]
        assert all(a[0] in (503, "closed") for a in after), answers
        assert process.wait(timeout=60) == 0, log.read_text()
        assert "draining" in log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_host_whose_push_key_differs_from_the_schedulers_is_flagged(client, app, session):
    from interrupters.keys import key_id
    from interrupters.push.webpush import vapid_key

    ours = key_id(vapid_key(app))
    write_heartbeat(app, health.RUNNING)  # the scheduler on this host's key
    status, body = _ready(client)
    assert status == 200 and body["checks"]["keys"]["ok"] is True, body
    assert body["checks"]["keys"]["scheduler_vapid_key_id"] == [ours]
    # The scheduler runs elsewhere, on a key nobody copied here.
    row = session.exec(select(SchedulerHeartbeat)).one()
    row.vapid_key_id = "someone-else"
    session.add(row)
    session.commit()
    status, body = _ready(client)
    assert status == 200 and body["status"] == "degraded"
    assert body["checks"]["keys"]["ok"] is False


def test_a_worker_keeps_the_app_it_loaded_out_of_the_collectors_way(monkeypatch):
    """Once a worker has loaded the app, what it holds is frozen (gc.freeze): a full
    collection no longer walks the modules and the app (bench/sync_load.py). And its SIGTERM
    drains first."""
    handlers = []
    monkeypatch.setattr(signal, "signal", lambda signum, handler: handlers.append(signum))
    worker = SimpleNamespace(handle_exit=lambda signum, frame: None, log=None)
    before = gc.get_freeze_count()
    try:
        gunicorn_conf.post_worker_init(worker)
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
    assert handlers == [signal.SIGTERM]
