"""The audit log's page at many events: the kinds for the filter, the newest page, a kind, a
rare kind, an old month, SQLite and PostgreSQL, with the indexes the models declare.

For each backend: a fresh database (SQLite: /tmp/audit_bench.db; PostgreSQL: the database
`interrupters_bench_audit` on 127.0.0.1), its tables from the models, then --events events
(default 500,000) over five years, 30 kinds from common to rare, written in bulk; ANALYZE.
Each query runs --runs times (default 7): the median and the slowest are printed.

    PYTHONPATH=. .venv/bin/python bench/audit_log.py [--backends sqlite,postgresql]
        [--events 500000] [--runs 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlmodel import Session, SQLModel

import interrupters.models  # noqa: F401  (every table in the metadata)
from interrupters.audit import services
from interrupters.audit.services import AuditFilter

SQLITE_PATH = Path("/tmp/audit_bench.db")
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_NAME = "interrupters_bench_audit"


def fresh_engine(backend: str) -> Any:
    if backend == "sqlite":
        SQLITE_PATH.unlink(missing_ok=True)
        return create_engine(f"sqlite:///{SQLITE_PATH}")
    server = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {PG_NAME}"))
        connection.execute(text(f"CREATE DATABASE {PG_NAME}"))
    server.dispose()
    return create_engine(PG_SERVER.rsplit("/", 1)[0] + f"/{PG_NAME}")


def seed(engine: Any, events: int) -> None:
    SQLModel.metadata.create_all(engine)
    kinds = [f"kind_{i:02d}" for i in range(30)]
    weights = [2 ** (-i / 3) for i in range(30)]
    start = datetime(2022, 1, 1, tzinfo=UTC)
    step = 5 * 365 * 86400 // events
    rng = random.Random(1)
    insert = text(
        "INSERT INTO audit_event (at, event, detail, object_type, object_id)"
        " VALUES (:at, :event, '{}', 'x', :object_id)"
    )
    with engine.begin() as connection:
        for first in range(0, events, 20_000):
            rows = [
                {
                    "at": start + timedelta(seconds=i * step),
                    "event": rng.choices(kinds, weights)[0],
                    "object_id": str(i),
                }
                for i in range(first, min(first + 20_000, events))
            ]
            connection.execute(insert, rows)
        connection.execute(text("ANALYZE"))


def timed(label: str, backend: str, runs: int, query: Callable[[], object]) -> None:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        query()
        times.append((time.perf_counter() - began) * 1000)
    print(
        f"{backend:10} {label:22} median {statistics.median(times):7.1f} ms"
        f"  slowest {max(times):7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    march = AuditFilter(since=date(2022, 3, 1), until=date(2022, 3, 31))
    queries: dict[str, Callable[[Session], object]] = {
        "kinds for the filter": lambda s: services.event_kinds(session=s),
        "newest page": lambda s: services.list_events(session=s, filters=AuditFilter()),
        "common kind": lambda s: services.list_events(
            session=s, filters=AuditFilter(event="kind_00")
        ),
        "common kind, deep": lambda s: services.list_events(
            session=s, filters=AuditFilter(event="kind_00"), before=args.events // 10
        ),
        "rare kind": lambda s: services.list_events(
            session=s, filters=AuditFilter(event="kind_29")
        ),
        "an old month": lambda s: services.list_events(session=s, filters=march),
        "rare kind, old month": lambda s: services.list_events(
            session=s,
            filters=AuditFilter(event="kind_29", since=march.since, until=march.until),
        ),
    }
    for backend in args.backends.split(","):
        engine = fresh_engine(backend)
        seed(engine, args.events)
        with Session(engine) as session:
            for label, query in queries.items():
                timed(label, backend, args.runs, lambda q=query: q(session))  # type: ignore[misc]
        engine.dispose()


if __name__ == "__main__":
    main()
