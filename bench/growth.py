"""Do the pages cost what they show, or grow with the tables? (issue 13, item 5)

Seeds the same programme twice per database: 20 workers, 2,000 participants and a supervisor,
with SMALL contacts (10,000 by default) and then LARGE (1,000,000) spread over two years. Then
signs in through the real login form and requests each page REPEAT times through the app
(Flask's test client: server time, no network), the two sizes in turns (small, large, small,
...), and reports p50/p95 per page and size with the ratio LARGE/SMALL. Goals (issue 13):
p95 at LARGE ≤ 1.2 x p95 at SMALL and ≤ 100 ms, first HTML ≤ 14.6 KB gzipped.

Contacts are written with the driver's own bulk path (COPY on PostgreSQL, executemany on
SQLite): seeding a million through the services would take hours. Each size gets a fresh
database migrated with Alembic, so the indexes are the migrations' own.

    .venv/bin/python bench/growth.py [--db sqlite,postgresql] [--sizes 10000,1000000]
        [--repeat 30] [--cache]

With --cache each seeded size is kept (SQLite files and PostgreSQL template databases under
the names in GROWTH_CACHE, `interrupters_growth_<size>`) and later runs start from a copy of
it, migrated to the current head: seeding a million takes minutes, an index change should not.

Writes bench/results/growth.json and exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from interrupters import create_app  # noqa: E402
from interrupters.cli import upgrade_database  # noqa: E402
from interrupters.contacts.services import keep_worker_counts, refresh_latest  # noqa: E402
from interrupters.db import make_engine  # noqa: E402
from interrupters.participants.models import Participant  # noqa: E402
from interrupters.reports.services import keep_figures  # noqa: E402
from tests import factories  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "growth.json"
GROWTH_CACHE = Path(tempfile.gettempdir()) / "interrupters-growth"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
WORKERS = 20
PARTICIPANTS = 2_000
DAYS = 730
KINDS = ["street", "phone", "home_visit", "school", "group_activity"]
PURPOSES = ["relationship", "check_in", "mediation_followup", "referral", "crisis"]
RATIO_GOAL = 1.2
P95_GOAL_MS = 100.0
HTML_BUDGET = 14_600  # bytes gzipped: TCP's first round trip


@contextmanager
def fresh_database(kind: str, template: str | None = None) -> Iterator[str]:
    """A migrated database, empty or a copy of `template`; dropped afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            if template:
                shutil.copyfile(template, f"{folder}/growth.db")
            url = f"sqlite:///{folder}/growth.db"
            upgrade_database(url)
            yield url
        return
    name = f"interrupters_growth_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(
            f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else "")
        )
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        upgrade_database(url)
        # A copy just made and migrated (indexes rebuilt) is not a database in service, which
        # autovacuum keeps vacuumed and analysed: measured as it comes, every page at a million
        # was 5-20 ms slower, the figures too, which read no contact at all.
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
        yield url
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def seed(url: str, contacts: int) -> dict[str, Any]:
    """The programme, its people and `contacts` contacts; returns who and what to ask for."""
    engine = make_engine(url)
    with Session(engine) as session:
        world = factories.make_world(session)
        workers = [factories.create_user(session, world, "interrupter") for _ in range(WORKERS)]
        supervisor = factories.create_user(session, world, "supervisor")
        session.commit()
        participants = []
        for index in range(PARTICIPANTS):
            participants.append(
                factories.create_participant_for(session, world, workers[index % WORKERS])
            )
        session.commit()
        by_worker: dict[int | None, list[int | None]] = {worker.id: [] for worker in workers}
        for participant in participants:
            by_worker[participant.worker_id].append(participant.id)
        worker_email, supervisor_email = workers[0].email, supervisor.email
        first_worker_id = workers[0].id
        organisation_id = world.organisations["programme"].id
        place = world.places["Rinkeby torg"]
        area_id, place_id = place.area_id, place.id
    rows = _contact_rows(
        contacts=contacts,
        by_worker=by_worker,
        organisation_id=organisation_id,
        area_id=area_id,
        place_id=place_id,
    )
    _bulk_insert(engine, rows)
    with Session(engine) as session:
        # As the demo does after its rows: each participant's latest contact, read once.
        refresh_latest(session=session, participant_ids=None)
        session.commit()
        participant_id = session.exec(
            select(Participant.id).where(Participant.worker_id == first_worker_id)
        ).first()
        assert participant_id is not None
    engine.dispose()
    return {
        "worker": worker_email,
        "supervisor": supervisor_email,
        "participant_id": participant_id,
    }


COLUMNS = (
    "client_uuid, payload_hash, organisation_id, worker_id, subject, participant_id, age_band, "
    "gender, group_size, occurred_at, received_at, area_id, place_id, kind, purpose, referrals, "
    "duration_minutes, follow_up_on, note, review_state, updated_at"
)


def _contact_rows(
    *,
    contacts: int,
    by_worker: dict[int | None, list[int | None]],
    organisation_id: int | None,
    area_id: int,
    place_id: int | None,
) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(13)
    now = datetime.now(UTC)
    worker_ids = list(by_worker)
    today = date.today()
    for index in range(contacts):
        worker_id = worker_ids[index % len(worker_ids)]
        occurred = now - timedelta(minutes=rng.randint(5, DAYS * 24 * 60))
        with_participant = rng.random() < 0.7
        participant_id = rng.choice(by_worker[worker_id]) if with_participant else None
        # Recent contacts wait for review; most older ones were reviewed.
        recent = (now - occurred).days < 14
        state = "submitted" if recent and rng.random() < 0.5 else "approved"
        follow_up = today + timedelta(days=rng.randint(-10, 20)) if rng.random() < 0.2 else None
        yield (
            str(uuid.UUID(int=rng.getrandbits(128))),
            "0" * 64,
            organisation_id,
            worker_id,
            "participant" if with_participant else "person",
            participant_id,
            None if with_participant else "18-24",
            None,
            None,
            occurred,
            occurred,
            area_id,
            place_id,
            rng.choice(KINDS),
            rng.choice(PURPOSES),
            "[]",
            rng.choice([None, 10, 20, 45]),
            follow_up,
            "",
            state,
            occurred,
        )


def _bulk_insert(engine: Any, rows: Iterator[tuple[Any, ...]]) -> None:
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        if isinstance(driver, sqlite3.Connection):
            marks = ", ".join("?" * len(COLUMNS.split(",")))
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(_sqlite_row(row))
                if len(batch) == 50_000:
                    driver.executemany(f"INSERT INTO contact ({COLUMNS}) VALUES ({marks})", batch)
                    batch.clear()
            if batch:
                driver.executemany(f"INSERT INTO contact ({COLUMNS}) VALUES ({marks})", batch)
            driver.commit()
            driver.execute("ANALYZE")
        else:
            with (
                driver.cursor() as cursor,
                cursor.copy(f"COPY contact ({COLUMNS}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            driver.commit()
            driver.autocommit = True
            driver.execute("VACUUM ANALYZE contact")
    finally:
        raw.close()


def _sqlite_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    # The app stores SQLite times as ISO text in UTC (db.UTCDateTime); dates as ISO text.
    return tuple(
        value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        if isinstance(value, datetime)
        else value.isoformat()
        if isinstance(value, date)
        else value
        for value in row
    )


def pages(people: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(name, path, who) for every page the issue lists that exists."""
    worker, supervisor = people["worker"], people["supervisor"]
    today = date.today()
    this_month = today.strftime("%Y-%m")
    two_years = today.replace(year=today.year - 2).strftime("%Y-%m")
    return [
        ("review queue", "/review", supervisor),
        ("caseload", "/participants/", worker),
        ("participant", f"/participants/{people['participant_id']}", worker),
        ("follow-ups", "/participants/follow-ups", worker),
        ("my contacts", "/contacts", worker),
        ("team contacts", "/contacts/team", supervisor),
        ("team participants", "/participants/team", supervisor),
        ("dashboard", "/", supervisor),
        ("worker's home", "/", worker),
        ("figures", "/figures/", supervisor),
        ("figures, two years", f"/figures/?start={two_years}&end={this_month}", supervisor),
        ("figures per area", "/figures/areas?section=referrals", supervisor),
        ("monthly report", "/figures/monthly", supervisor),
        ("research projects", "/research/", supervisor),
    ]


@contextmanager
def seeded_database(kind: str, size: int, cache: bool) -> Iterator[tuple[str, dict[str, Any]]]:
    """A database with `size` contacts: seeded now, or copied from the cache when asked."""
    cached_people = GROWTH_CACHE / f"{kind}-{size}.json"
    template = str(GROWTH_CACHE / f"{kind}-{size}.db") if kind == "sqlite" else None
    if kind == "postgresql":
        template = f"interrupters_growth_{size}"
    if cache and cached_people.exists():
        with fresh_database(kind, template) as url:
            print(f"{kind}: {size:,} contacts copied from the cache", flush=True)
            yield url, json.loads(cached_people.read_text())
        return
    with fresh_database(kind) as url:
        started = time.perf_counter()
        people = seed(url, size)
        print(
            f"{kind}: {size:,} contacts seeded in {time.perf_counter() - started:.0f} s", flush=True
        )
        if cache:
            _keep(kind, url, str(template))
            GROWTH_CACHE.mkdir(exist_ok=True)
            cached_people.write_text(json.dumps(people))
        yield url, people


def _keep(kind: str, url: str, template: str) -> None:
    GROWTH_CACHE.mkdir(exist_ok=True)
    if kind == "sqlite":
        shutil.copyfile(url.removeprefix("sqlite:///"), template)
        return
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {template}")
        connection.execute(f"CREATE DATABASE {template} TEMPLATE {name}")


def _signed_in_app(url: str) -> tuple[Any, dict[str, Any]]:
    """The app on `url`, its kept counts made as the scheduler makes them; (app, clients)."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "growth-bench-secret-key-0123456789abcdef",
            "DATABASE_URL": url,
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
            "SESSION_COOKIE_SECURE": False,
            "TWO_FACTOR_REQUIRED": False,
            "INSTANCE_PATH": tempfile.mkdtemp(prefix="growth-"),
        }
    )
    # The scheduler counts the figures' months and the dashboard's past weeks at its start
    # and keeps them (interrupters/kept.py): the pages below read what was kept, as in service.
    with app.app_context(), Session(make_engine(url)) as session:
        for job, what in ((keep_figures, "months of figures"), (keep_worker_counts, "weeks")):
            started = time.perf_counter()
            made = job(session=session, now=datetime.now(UTC))
            print(f"  kept {made} {what} in {time.perf_counter() - started:.1f} s", flush=True)
    return app, {}


def _client(app: Any, clients: dict[str, Any], who: str) -> Any:
    client = clients.get(who)
    if client is None:
        client = clients[who] = app.test_client()
        response = client.post("/login", data={"email": who, "password": factories.PASSWORD})
        assert response.status_code == 302, response.status_code
    return client


def measure(
    sites: dict[int, tuple[str, dict[str, Any]]], repeat: int
) -> dict[int, dict[str, dict[str, float]]]:
    """Each page at each size, REPEAT times (after two that warm the caches), the sizes in
    turns request by request: a ratio of two sizes measured minutes apart was the machine's
    drift as much as the page's (±15 % on this machine, December 2026)."""
    apps = {size: _signed_in_app(url) for size, (url, _people) in sites.items()}
    # As a gunicorn worker does once the app is loaded (interrupters/gunicorn_conf.py), and
    # again once each page is warm (below): a full collection then walks what requests made,
    # not the apps and their caches (unfrozen, one request in fifty took 100 ms more).
    gc.collect()
    gc.freeze()
    results: dict[int, dict[str, dict[str, float]]] = {size: {} for size in sites}
    names = [name for name, _path, _who in pages(next(iter(sites.values()))[1])]
    for index, name in enumerate(names):
        timings: dict[int, list[float]] = {size: [] for size in sites}
        sizes: dict[int, int] = {}
        requests = {}
        for size, (_url, people) in sites.items():
            _name, path, who = pages(people)[index]
            app, clients = apps[size]
            requests[size] = (_client(app, clients, who), path)
        for attempt in range(repeat + 2):
            if attempt == 2:
                # What the two warming requests cached (statements, templates, rows) is frozen
                # with the apps: one process serves both sizes here, and a full collection
                # walking both apps' caches fell on whichever size was being asked then.
                gc.collect()
                gc.freeze()
            for size, (client, path) in requests.items():
                started = time.perf_counter()
                response = client.get(path)
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, (path, response.status_code)
                sizes[size] = len(gzip.compress(response.data, compresslevel=6))
                if attempt >= 2:  # the first two warm the caches
                    timings[size].append(elapsed)
        for size, measured in timings.items():
            measured.sort()
            results[size][name] = {
                "p50_ms": statistics.median(measured),
                "p95_ms": measured[max(0, round(0.95 * len(measured)) - 1)],
                "html_gzip_bytes": sizes[size],
            }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--cache", action="store_true", help="keep and reuse seeded databases")
    args = parser.parse_args()
    small, large = (int(size) for size in args.sizes.split(","))
    report: dict[str, Any] = {"when": datetime.now(UTC).isoformat(), "sizes": [small, large]}
    failed = False
    for kind in args.db.split(","):
        with (
            seeded_database(kind, small, args.cache) as small_site,
            seeded_database(kind, large, args.cache) as large_site,
        ):
            figures = measure({small: small_site, large: large_site}, args.repeat)
        print(f"\n{kind}  (p50 / p95 ms; first HTML gzipped, bytes, at {large:,})")
        print(f"{'page':<20}{small:>14,}{large:>18,}{'p95 ratio':>11}{'HTML':>9}")
        rows = {}
        for name in figures[small]:
            a, b = figures[small][name], figures[large][name]
            ratio = b["p95_ms"] / a["p95_ms"] if a["p95_ms"] else float("inf")
            ok = (
                ratio <= RATIO_GOAL
                and b["p95_ms"] <= P95_GOAL_MS
                and b["html_gzip_bytes"] <= HTML_BUDGET
            )
            failed |= not ok
            print(
                f"{name:<20}{a['p50_ms']:6.1f} /{a['p95_ms']:6.1f}"
                f"{b['p50_ms']:9.1f} /{b['p95_ms']:7.1f}{ratio:10.2f}x"
                f"{b['html_gzip_bytes']:9,}{'' if ok else '  MISSED'}"
            )
            rows[name] = {"small": a, "large": b, "p95_ratio": ratio, "met": ok}
        report[kind] = rows
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
