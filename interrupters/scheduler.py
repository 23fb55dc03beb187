"""The one scheduler process: APScheduler 3.x running each domain's periodic jobs.

Started only by `flask --app app scheduler` (interrupters/cli.py), never by `create_app`: three
web workers that each started one ran every job three times (PITFALLS.md). A lock makes sure
exactly one runs: on PostgreSQL a session-level advisory lock, held by a connection for the
life of the process (so it guards across hosts, and is released when the process dies); on
SQLite an exclusive `flock` on a file in the instance folder. The jobs are idempotent anyway
(they select what is due and not done, act, mark and commit), so a second scheduler would
cost work, not duplicates.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from interrupters.audit.jobs import summarise_denials
from interrupters.briefings.jobs import expire_due, publish_due
from interrupters.conflicts.jobs import remind_follow_ups
from interrupters.contacts.services import keep_worker_counts
from interrupters.db import gather_statistics, get_engine, session_scope, utcnow
from interrupters.health.services import RUNNING, beat
from interrupters.keys import key_id
from interrupters.push.jobs import (
    deliver_created_now,
    deliver_due,
    expire_subscriptions,
    repeat_unacknowledged,
)
from interrupters.push.webpush import vapid_key
from interrupters.referrals.jobs import remind_referral_follow_ups
from interrupters.reports.services import keep_figures
from interrupters.retention.jobs import apply_nightly

logger = logging.getLogger(__name__)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
# Any constant, distinct from the audit chain's: the key of the scheduler's advisory lock.
ADVISORY_KEY = 0x5C4ED01E
LOCK_FILE = "scheduler.lock"
# How often the scheduler checks it still holds the PostgreSQL lock (a dropped connection
# releases it, and another scheduler may then start).
LOCK_CHECK_SECONDS = 30

Job = Callable[..., Any]


@dataclass(frozen=True)
class PeriodicJob:
    """A job `func(*, session, now)` and when it runs (APScheduler trigger arguments)."""

    id: str
    func: Job
    trigger: str
    trigger_args: dict[str, Any] = field(default_factory=dict)
    run_at_start: bool = False


def periodic_jobs(app: Flask) -> list[PeriodicJob]:
    """Every domain's periodic jobs; a domain with jobs adds its own lines here."""
    return [
        # The safety net behind deliver_soon: retries, scheduled notifications, repeats.
        PeriodicJob(
            "push.deliver_due",
            deliver_due,
            "interval",
            {"seconds": int(app.config.get("PUSH_DELIVER_EVERY_SECONDS", 30))},
            run_at_start=True,
        ),
        PeriodicJob(
            "push.repeat_unacknowledged",
            repeat_unacknowledged,
            "interval",
            {"seconds": 60},
            run_at_start=True,
        ),
        # Follow-ups due (mediations', participants'): a reminder to their owner, once.
        PeriodicJob(
            "conflicts.remind_follow_ups",
            remind_follow_ups,
            "interval",
            {"minutes": 15},
            run_at_start=True,
        ),
        # Referrals' follow-ups due: a reminder to the participant's worker, once a date.
        PeriodicJob(
            "referrals.remind_follow_ups",
            remind_referral_follow_ups,
            "interval",
            {"minutes": 15},
            run_at_start=True,
        ),
        # Scheduled briefings go out on time, and leave the phones when they end (issue 5).
        PeriodicJob(
            "briefings.publish_due", publish_due, "interval", {"seconds": 30}, run_at_start=True
        ),
        PeriodicJob(
            "briefings.expire_due", expire_due, "interval", {"seconds": 60}, run_at_start=True
        ),
        # Denials past the first few of a window are counted; the count enters the chain when
        # the window has closed (audit.services.record_denial).
        PeriodicJob(
            "audit.summarise_denials",
            summarise_denials,
            "interval",
            {"minutes": 5},
            run_at_start=True,
        ),
        # Counts kept for the pages (interrupters/kept.py, issue 13): the figures' months and
        # the dashboard's past weeks not yet settled are counted again every ten minutes.
        PeriodicJob(
            "reports.keep_figures",
            keep_figures,
            "interval",
            {"minutes": int(app.config.get("KEPT_COUNTS_EVERY_MINUTES", 10))},
            run_at_start=True,
        ),
        PeriodicJob(
            "contacts.keep_worker_counts",
            keep_worker_counts,
            "interval",
            {"minutes": int(app.config.get("KEPT_COUNTS_EVERY_MINUTES", 10))},
            run_at_start=True,
        ),
        PeriodicJob(
            "push.expire_subscriptions",
            expire_subscriptions,
            "cron",
            {"hour": 3, "minute": 30, "timezone": STOCKHOLM},
        ),
        # SQLite's planner statistics, as the tables grow (PostgreSQL's autovacuum does it).
        PeriodicJob(
            "db.gather_statistics",
            gather_statistics,
            "cron",
            {"hour": 4, "minute": 15, "timezone": STOCKHOLM},
        ),
        # Notes, links and free text past each organisation's retention periods (issue 9).
        PeriodicJob(
            "retention.apply",
            apply_nightly,
            "cron",
            {"hour": 3, "minute": 45, "timezone": STOCKHOLM},
        ),
    ]


def run_job(app: Flask, job: PeriodicJob) -> Any:
    """Run one job in its own app context and session (the job commits)."""
    started = time.monotonic()
    with app.app_context():
        session: Session
        with session_scope(get_engine()) as session:
            result = job.func(session=session, now=utcnow())
            # What the job notified (a repeat, a reminder) leaves now, not at the next run.
            deliver_created_now(session=session)
    # Every 30 seconds: quiet unless asked for (the jobs log what they did).
    logger.debug("job %s done in %.2f s: %s", job.id, time.monotonic() - started, result)
    return result


def run_all_once(app: Flask) -> list[str]:
    """Run every job once, in order (for checks); return the ids of those that failed."""
    failed = []
    for job in periodic_jobs(app):
        try:
            run_job(app, job)
        except Exception:
            # One domain's broken job must not keep the others from running.
            logger.exception("job %s failed", job.id)
            failed.append(job.id)
    return failed


class SchedulerLocked(RuntimeError):
    """Another scheduler holds the lock."""


class SchedulerLock:
    """The lock that lets exactly one scheduler run (see the module's docstring)."""

    def __init__(self, app: Flask) -> None:
        self.engine = app.extensions["db_engine"]
        self.path = Path(app.instance_path) / LOCK_FILE
        self._connection: Connection | None = None
        self._fd: int | None = None

    @property
    def postgresql(self) -> bool:
        return bool(self.engine.dialect.name == "postgresql")

    @property
    def held(self) -> bool:
        return self._connection is not None or self._fd is not None

    def acquire(self) -> bool:
        """Take the lock if it is free; never waits."""
        if self.held:
            return True
        if self.postgresql:
            # Autocommit: the lock belongs to the connection, and no transaction stays open.
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
            ).scalar()
            if not taken:
                connection.close()
                return False
            self._connection = connection
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{socket.gethostname()} {os.getpid()}\n".encode())
        self._fd = fd
        return True

    def alive(self) -> bool:
        """Whether the lock is still held (a PostgreSQL connection can drop)."""
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
            except Exception:
                logger.exception("the scheduler's lock connection is gone")
                return False
            return True
        return self._fd is not None

    def holder(self) -> str:
        """Who holds the lock, for the message to a second scheduler."""
        if self.postgresql:
            with self.engine.connect() as connection:
                pid = connection.execute(
                    text(
                        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                        " AND ((classid::bigint << 32) | objid::bigint) = :key LIMIT 1"
                    ),
                    {"key": ADVISORY_KEY},
                ).scalar()
            return f"PostgreSQL session {pid}" if pid else "another PostgreSQL session"
        try:
            host_pid = self.path.read_text().strip()
        except OSError:
            host_pid = ""
        return f"process {host_pid} (lock file {self.path})" if host_pid else str(self.path)

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY}
                )
            finally:
                self._connection.close()
                self._connection = None
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> SchedulerLock:
        if not self.acquire():
            raise SchedulerLocked(self.holder())
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def build_scheduler(app: Flask, lock: SchedulerLock) -> BlockingScheduler:
    """A blocking scheduler with every periodic job; the caller holds `lock` and starts it."""
    scheduler = BlockingScheduler(
        timezone="UTC",
        # One run of a job at a time; runs missed while busy or stopped collapse into one.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )
    for job in periodic_jobs(app):
        # (next_run_time=None would add the job paused: leave it out unless it runs at start.)
        start = {"next_run_time": utcnow()} if job.run_at_start else {}
        scheduler.add_job(
            run_job,
            job.trigger,
            args=[app, job],
            id=job.id,
            name=job.id,
            **start,
            **job.trigger_args,
        )

    def check_lock() -> None:
        if not lock.alive():
            logger.error("the scheduler lost its lock; stopping so it cannot run twice")
            scheduler.shutdown(wait=False)

    scheduler.add_job(check_lock, "interval", seconds=LOCK_CHECK_SECONDS, id="scheduler.lock")
    # Readiness and the admin's health page call the scheduler stale when this stops coming.
    scheduler.add_job(
        write_heartbeat,
        "interval",
        args=[app, RUNNING],
        seconds=float(app.config.get("SCHEDULER_HEARTBEAT_SECONDS", 15)),
        id="scheduler.heartbeat",
        next_run_time=utcnow(),
    )
    return scheduler


def write_heartbeat(app: Flask, state: str) -> None:
    """This process's heartbeat in the database; a failure is logged, never fatal."""
    try:
        with app.app_context(), session_scope(get_engine()) as session:
            beat(session=session, state=state, vapid_key_id=key_id(vapid_key(app)))
    except Exception:
        logger.exception("could not write the scheduler's heartbeat")
