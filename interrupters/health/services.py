"""Readiness: what a load balancer, the operations team and the admin's home read.

Two kinds of check. A host-local failure (the database or Redis unreachable from this host,
migrations behind this code) makes this host unready: readiness answers 503 and the load
balancer sends its requests to another host. A failure shared by every host (no scheduler
heartbeat, push delivery behind) only makes the service degraded: taking every host out of
the load balancer for it would turn a late notification into an outage. Neither kind carries
personal data: counts, ages, revisions, host names and process ids.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import delete, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from interrupters.db import utcnow
from interrupters.health.drain import draining
from interrupters.health.models import SchedulerHeartbeat
from interrupters.push.services import delivery_backlog

logger = logging.getLogger(__name__)

RUNNING = "running"
STANDBY = "standby"
# Rows of processes unheard of for this long are deleted by the next heartbeat.
FORGET_AFTER = timedelta(days=1)
# A heartbeat is stale after this many of its intervals.
STALE_INTERVALS = 3
# Seconds a readiness probe waits for Redis.
REDIS_TIMEOUT = 1.0

_heads: dict[str, frozenset[str]] = {}


@dataclass(frozen=True)
class Check:
    """One check: its name, whether it passed, whether failing makes the host unready."""

    name: str
    ok: bool
    critical: bool
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Readiness:
    status: str  # ready, degraded, unready, draining
    checks: list[Check]

    @property
    def http_status(self) -> int:
        return 503 if self.status in ("unready", "draining") else 200

    def summary(self) -> dict[str, Any]:
        """What anyone may see: the status alone."""
        return {"status": self.status}

    def detail(self) -> dict[str, Any]:
        """What admins and the host itself see: every check with its figures."""
        return {
            "status": self.status,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "checks": {
                check.name: {"ok": check.ok, "critical": check.critical, **check.detail}
                for check in self.checks
            },
        }


def process_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(
    *,
    session: Session,
    state: str,
    now: datetime | None = None,
    vapid_key_id: str | None = None,
) -> None:
    """Write this scheduler process's heartbeat (and forget processes long gone); commits."""
    now = now or utcnow()
    ident = process_id()
    row = session.get(SchedulerHeartbeat, ident)
    if row is None:
        row = SchedulerHeartbeat(
            id=ident,
            host=socket.gethostname()[:255],
            pid=os.getpid(),
            state=state,
            started_at=now,
            beat_at=now,
        )
    row.state = state
    row.beat_at = now
    row.vapid_key_id = vapid_key_id
    session.add(row)
    session.exec(
        delete(SchedulerHeartbeat).where(col(SchedulerHeartbeat.beat_at) < now - FORGET_AFTER)
    )
    session.commit()


def forget(*, session: Session) -> None:
    """This scheduler process stops: its row goes (a stopped scheduler is not a stale one)."""
    row = session.get(SchedulerHeartbeat, process_id())
    if row is not None:
        session.delete(row)
        session.commit()


def heartbeats(*, session: Session) -> list[SchedulerHeartbeat]:
    """Every scheduler process heard from, the running ones first, the freshest first."""
    rows = session.exec(
        select(SchedulerHeartbeat).order_by(col(SchedulerHeartbeat.beat_at).desc())
    ).all()
    return sorted(rows, key=lambda row: row.state != RUNNING)


def stale_after(config: Any) -> timedelta:
    """When a scheduler's heartbeat is stale: three of its intervals."""
    return timedelta(seconds=float(config.get("SCHEDULER_HEARTBEAT_SECONDS", 15)) * STALE_INTERVALS)


def scheduler_check(*, session: Session, now: datetime, interval: float) -> Check:
    rows = heartbeats(session=session)
    running = [row for row in rows if row.state == RUNNING]
    stale = timedelta(seconds=interval * STALE_INTERVALS)
    fresh = [row for row in running if now - row.beat_at <= stale]
    latest = running[0] if running else None
    detail: dict[str, Any] = {
        "running": len(fresh),
        "standby": sum(1 for row in rows if row.state == STANDBY and now - row.beat_at <= stale),
        "last_beat_seconds": (
            int((now - latest.beat_at).total_seconds()) if latest is not None else None
        ),
        "stale_after_seconds": int(stale.total_seconds()),
    }
    if latest is not None:
        detail["host"] = latest.host
    return Check("scheduler", bool(fresh), critical=False, detail=detail)


def keys_check(*, session: Session, now: datetime, interval: float, vapid_key_id: str) -> Check:
    """This host hands browsers the VAPID key the running scheduler signs pushes with.

    A host with another key (a file not copied, a variable not set) would have phones subscribe
    to pushes the scheduler's signature cannot deliver. Degraded, not unready: which side is
    wrong is for a person to see, and taking every host out would be an outage.
    """
    stale = timedelta(seconds=interval * STALE_INTERVALS)
    theirs = {
        row.vapid_key_id
        for row in heartbeats(session=session)
        if row.state == RUNNING and now - row.beat_at <= stale and row.vapid_key_id
    }
    return Check(
        "keys",
        not theirs or theirs == {vapid_key_id},
        critical=False,
        detail={"vapid_key_id": vapid_key_id, "scheduler_vapid_key_id": sorted(theirs)},
    )


def push_check(*, session: Session, now: datetime, warn_seconds: float) -> Check:
    count, oldest = delivery_backlog(session=session, now=now)
    age = int((now - oldest).total_seconds()) if oldest is not None else 0
    return Check(
        "push",
        age <= warn_seconds,
        critical=False,
        detail={"backlog": count, "oldest_seconds": age, "warn_after_seconds": int(warn_seconds)},
    )


def migration_heads(database_url: str) -> frozenset[str]:
    """The newest migrations this code has (read once a process)."""
    from interrupters.cli import alembic_config

    if database_url not in _heads:
        script = ScriptDirectory.from_config(alembic_config(database_url))
        _heads[database_url] = frozenset(script.get_heads())
    return _heads[database_url]


def migrations_check(*, engine: Engine, database_url: str) -> Check:
    # The table itself, not Alembic's MigrationContext: that logs two lines a probe.
    with engine.connect() as connection:
        current = frozenset(
            connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
        )
    heads = migration_heads(database_url)
    return Check(
        "migrations",
        current == heads,
        critical=True,
        detail={"database": sorted(current), "code": sorted(heads)},
    )


def redis_check(uri: str) -> Check:
    import redis

    try:
        client = redis.Redis.from_url(
            uri, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as error:
        return Check("redis", False, critical=True, detail={"error": type(error).__name__})
    return Check("redis", True, critical=True)


def readiness(
    *,
    engine: Engine,
    config: Any,
    now: datetime | None = None,
    vapid_key_id: str | None = None,
) -> Readiness:
    """Every check, and the host's status from them (see the module's docstring); with
    `vapid_key_id`, whether this host's VAPID key is the scheduler's."""
    now = now or utcnow()
    checks: list[Check] = []
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks.append(Check("database", True, critical=True))
        database_ok = True
    except Exception as error:
        logger.warning("readiness: the database does not answer (%s)", type(error).__name__)
        checks.append(
            Check("database", False, critical=True, detail={"error": type(error).__name__})
        )
        database_ok = False
    uri = str(config.get("RATELIMIT_STORAGE_URI") or "")
    if uri.startswith(("redis://", "rediss://", "redis+")):
        checks.append(redis_check(uri))
    if database_ok:
        try:
            checks.append(migrations_check(engine=engine, database_url=config["DATABASE_URL"]))
            with Session(engine) as session:
                checks.append(
                    scheduler_check(
                        session=session,
                        now=now,
                        interval=float(config.get("SCHEDULER_HEARTBEAT_SECONDS", 15)),
                    )
                )
                if vapid_key_id is not None:
                    checks.append(
                        keys_check(
                            session=session,
                            now=now,
                            interval=float(config.get("SCHEDULER_HEARTBEAT_SECONDS", 15)),
                            vapid_key_id=vapid_key_id,
                        )
                    )
                checks.append(
                    push_check(
                        session=session,
                        now=now,
                        warn_seconds=float(config.get("PUSH_BACKLOG_WARN_SECONDS", 300)),
                    )
                )
        except Exception as error:
            logger.exception("readiness: a check failed")
            checks.append(
                Check("checks", False, critical=True, detail={"error": type(error).__name__})
            )
    if draining():
        status = "draining"
    elif any(not check.ok and check.critical for check in checks):
        status = "unready"
    elif any(not check.ok for check in checks):
        status = "degraded"
    else:
        status = "ready"
    return Readiness(status, checks)
