"""The figures at a million contacts: area_month_figures over twelve months, SQLite and
PostgreSQL, with the contact table's indexes as the migrations leave them.

For each backend: a fresh database (SQLite: a file in a temporary folder; PostgreSQL: the
database `interrupters_bench_figures` on 127.0.0.1, dropped afterwards), migrated, with the demo
data, then --contacts contacts (default 1,000,000) of the demo programme spread over 24 months
and Järva's five areas, a third with one of 3,000 participants, written in bulk; ANALYZE (this
machine's PostgreSQL has autovacuum off, so VACUUM ANALYZE). Then the twelve latest months'
figures are computed --runs times (default 3): the median and the slowest are reported, with
the query plan of the contacts' GROUP BY. Writes bench/results/figures.json; with
--without-index the migrations' ix_contact_figures is dropped first, to compare
(bench/results/figures_without_index.json).

    .venv/bin/python bench/figures.py [--backends sqlite,postgresql] [--contacts 1000000]
        [--runs 3] [--without-index]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import insert, text
from sqlmodel import Session, select

from interrupters.auth.models import Organisation
from interrupters.cli import upgrade_database
from interrupters.contacts.models import Contact
from interrupters.contacts.values import ContactKind, ContactPurpose
from interrupters.db import make_engine
from interrupters.demo import PROGRAMME, seed_demo
from interrupters.participants.models import Participant
from interrupters.places.models import Area
from interrupters.reports import services

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "interrupters_bench_figures"
RESULTS = Path(__file__).parent / "results"


def database_url(backend: str, folder: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'figures.db'}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {PG_DATABASE}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DATABASE}"


def seed(session: Session, contacts: int, now: datetime) -> None:
    rng = random.Random(1)
    seed_demo(session=session, now=now)
    session.commit()
    programme = session.exec(select(Organisation).where(Organisation.name == PROGRAMME)).one()
    areas = [a.id for a in session.exec(select(Area)).all()][:5]
    worker = session.exec(select(Participant.worker_id)).first()
    participants = []
    for n in range(3000):
        participants.append(
            {
                "code": f"P-B{n:04d}",
                "organisation_id": programme.id,
                "worker_id": worker,
                "area_id": areas[n % 5],
                "age_band": "18-20",
                "risk_tier": "high",
                "status": "active",
                "goals": [],
                "created_at": now - timedelta(days=rng.randint(0, 730)),
            }
        )
    session.execute(insert(Participant), participants)
    session.commit()
    ids = [p for (p,) in session.execute(text("SELECT id FROM participant")).all()]
    kinds = [k.value for k in ContactKind]
    purposes = [p.value for p in ContactPurpose]
    columns = (
        "client_uuid, payload_hash, organisation_id, worker_id, subject, participant_id, "
        "group_size, occurred_at, received_at, area_id, kind, purpose, referrals, "
        "duration_minutes, note, review_state, updated_at"
    )
    sqlite = session.get_bind().dialect.name == "sqlite"
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    rows = []
    for n in range(contacts):
        when = now - timedelta(minutes=rng.randint(0, 730 * 24 * 60))
        stamp: Any = when.replace(tzinfo=None).isoformat(" ") if sqlite else when
        with_participant = n % 3 == 0
        rows.append(
            (
                f"00000000-0000-4000-8000-{n:012d}",
                "bench",
                programme.id,
                worker,
                "participant" if with_participant else "group",
                rng.choice(ids) if with_participant else None,
                None if with_participant else 4,
                stamp,
                stamp,
                areas[n % 5],
                kinds[n % len(kinds)],
                purposes[n % len(purposes)],
                "[]",
                15,
                "",
                "approved",
                stamp,
            )
        )
    # The DB-API's own bulk paths (executemany; COPY on PostgreSQL): the ORM would take minutes.
    session.commit()
    if sqlite:
        cursor = raw.cursor()
        cursor.executemany(f"INSERT INTO contact ({columns}) VALUES ({', '.join('?' * 17)})", rows)
        raw.commit()
    else:
        cursor = raw.cursor()
        with cursor.copy(f"COPY contact ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(row)
        raw.commit()


def run(backend: str, contacts: int, runs: int, covering: bool = True) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        url = database_url(backend, Path(folder))
        upgrade_database(url)
        engine = make_engine(url)
        now = datetime(2026, 12, 1, tzinfo=UTC)
        started = time.perf_counter()
        with Session(engine) as session:
            seed(session, contacts, now)
        seeded = time.perf_counter() - started
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if not covering:  # to compare: without the index the migrations add for figures
                connection.execute(text("DROP INDEX ix_contact_figures"))
            connection.execute(text("VACUUM ANALYZE" if backend == "postgresql" else "ANALYZE"))
        with Session(engine) as session:
            programme = session.exec(
                select(Organisation).where(Organisation.name == PROGRAMME)
            ).one()
            start, end = date(2025, 12, 1), date(2026, 11, 30)
            months = services.months_in(start, end)
            inner = (
                select(Contact.area_id, services.month_index(Contact.occurred_at, months))
                .where(Contact.organisation_id == programme.id)
                .where(services.in_months(Contact.occurred_at, months))
            )
            explain = "EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN "
            compiled = inner.compile(engine)
            params = compiled.construct_params()
            connection = session.connection()
            if backend == "sqlite":
                values = tuple(
                    v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) else v
                    for v in (params[k] for k in compiled.positiontup or [])
                )
                plan = connection.exec_driver_sql(explain + str(compiled), values).all()
            else:
                plan = connection.exec_driver_sql(explain + str(compiled), params).all()
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                rows = services.area_month_figures(
                    session=session, programme_id=programme.id, start=start, end=end
                )
                times.append(time.perf_counter() - t)
        engine.dispose()
    if backend == "postgresql":
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
    return {
        "backend": backend,
        "contacts": contacts,
        "covering_index": covering,
        "seed_seconds": round(seeded, 1),
        "rows": len(rows),
        "median_seconds": round(statistics.median(times), 3),
        "slowest_seconds": round(max(times), 3),
        "plan": [" ".join(str(c) for c in row) for row in plan],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--without-index", action="store_true", help="drop ix_contact_figures first, to compare"
    )
    args = parser.parse_args()
    results = [
        run(b, args.contacts, args.runs, not args.without_index) for b in args.backends.split(",")
    ]
    for result in results:
        print(
            f"{result['backend']:<11} {result['contacts']:>9} contacts: twelve months' figures "
            f"in {result['median_seconds']} s (median of {args.runs}, slowest "
            f"{result['slowest_seconds']} s); seeded in {result['seed_seconds']} s"
            + ("" if result["covering_index"] else " (without ix_contact_figures)")
        )
        for line in result["plan"]:
            print("    ", line)
    RESULTS.mkdir(exist_ok=True)
    name = "figures_without_index.json" if args.without_index else "figures.json"
    (RESULTS / name).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
