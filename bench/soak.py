"""Soak: 200 devices on two app hosts sharing PostgreSQL and Redis, one scheduler, for a bounded
time (issue 14, item 6). Does memory stay flat, latency steady, and the scheduler on time?

The hosts are the ones the two-host tests start (tests/hosts.py): production settings,
MULTI_HOST, the four keys from shared files, per-address limits in Redis, each host a gunicorn
with the app's own configuration (interrupters/gunicorn_conf.py: 2 gthread workers of 4
threads unless WEB_CONCURRENCY/WEB_THREADS say otherwise). One scheduler (the Procfile's
`flask scheduler --wait`) runs for both. The database is `interrupters_soak` on 127.0.0.1
(dropped afterwards), migrated, with the demo data; the devices are interrupters, night walkers
and association leads, each with its own loopback address, signed in once through the login
form (bench/sync_load.py's phones), half on each host. A walk of the association has begun
(the walkers are signed up), the demo briefing is current, and a scheduled briefing is due
every window (the scheduler must publish it on time).

Then, for --minutes (or --hours), each device acts at its own compressed but field-like pace,
together about --rate requests a second: sends a batch of 1-5 records sealed to the server's
key (contacts and conflict flags from interrupters, walk reports from walkers and leads, read
receipts from everyone), reads a page (its home, the current briefing), refreshes the outbox's
configuration, and now and then sends an earlier batch again through the other host, which must
answer "already stored" (replayed) for every record. A small share is held or hostile on
purpose (a contact dated the day after tomorrow: held for correction; an envelope cut short:
unreadable): expected answers, not errors. An error is any other answer: a status other than
the one expected, a record answered otherwise than expected, a timeout or a dropped connection,
and any ERROR line or traceback in the hosts' or the scheduler's logs. Latency counts from when
a request was due, so a server falling behind shows (no coordinated omission).

Every minute it prints requests, errors, p50/p95, the RSS of each gunicorn worker and of the
scheduler (psutil) and the machine's load average. At the end: the memory slope of each worker
and of the scheduler (MB an hour, least squares after the warm-up), p95 in each window (5
minutes; shorter runs: a sixth of the run) and its spread, errors, records stored against sent
(each valid record exactly once), the scheduler's lateness (the worst gap between heartbeats
beyond their interval; each scheduled briefing's publication after its time, beyond the job's
30 s interval). Writes bench/results/soak.json and exits 1 when there was an error, a record
not stored exactly once, a p95 drift (the last window over --max-drift times the first), a
slope over --max-slope MB/h, or a lateness over --max-late seconds.

    .venv/bin/python bench/soak.py [--minutes 30 | --hours 4] [--devices 200] [--rate 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

import aiohttp  # noqa: E402
import psutil  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from bench.sync_load import (  # noqa: E402
    PASSWORD,
    Phone,
    _percentile_ms,
    contact_payload,
    database,
    loopback_address,
    open_phone,
    refresh_config,
    sign_in,
)
from interrupters.auth.models import Membership, Organisation, User  # noqa: E402
from interrupters.auth.services import hash_password  # noqa: E402
from interrupters.auth.values import Role  # noqa: E402
from interrupters.briefings.models import Briefing, BriefingDistrict, BriefingReceipt  # noqa: E402
from interrupters.briefings.values import BriefingState  # noqa: E402
from interrupters.cli import upgrade_database  # noqa: E402
from interrupters.conflicts.models import Conflict  # noqa: E402
from interrupters.contacts.models import Contact  # noqa: E402
from interrupters.db import make_engine, session_scope  # noqa: E402
from interrupters.demo import ASSOCIATION, PROGRAMME, seed_demo  # noqa: E402
from interrupters.health.models import SchedulerHeartbeat  # noqa: E402
from interrupters.places.models import Place  # noqa: E402
from interrupters.sync import crypto  # noqa: E402
from interrupters.walks.models import Walk, WalkReport, WalkSignup  # noqa: E402
from tests import hosts  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "soak.json"
PG_DATABASE = "interrupters_soak"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
TITLE = "Soak"  # the scheduled briefings' titles start with it
HEARTBEAT_SECONDS = 15.0  # the scheduler's default (SCHEDULER_HEARTBEAT_SECONDS)
PUBLISH_EVERY_SECONDS = 30.0  # briefings.publish_due's interval (interrupters/scheduler.py)
SAMPLE_SECONDS = 10.0
MODELS: dict[str, Any] = {
    "contact": Contact,
    "conflict": Conflict,
    "walk_report": WalkReport,
    "briefing_read": BriefingReceipt,
}
# What each role's phone sends (a read receipt now and then besides), and its share of devices.
ROLES = {
    Role.interrupter: (("contact", "contact", "contact", "conflict"), 0.60),
    Role.night_walker: (("walk_report",), 0.35),
    Role.association_lead: (("walk_report",), 0.05),
}
ERROR_LINE = re.compile(r'"level": ?"(ERROR|CRITICAL)"|Traceback|\[ERROR\]|\bERROR\b')


# --- The world -----------------------------------------------------------------------------


@dataclass
class World:
    devices: list[tuple[str, Role]]  # e-mail and role
    location: str  # "place:<id>" in Järva
    place_id: int  # for the walk report
    walk_id: int
    briefing_id: int  # the current one (the demo's)
    organisation_id: int  # the briefing's author's, for the scheduled ones
    author_id: int
    district_id: int


def prepare(database_url: str, devices: int) -> World:
    """Migrate, add the demo data, the devices' people, and a walk that has begun."""
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            seed_demo(session=session)
            organisations = {o.name: o for o in session.exec(select(Organisation))}
            place = session.exec(select(Place).where(Place.name == "Rinkeby torg")).one()
            briefing = session.exec(
                select(Briefing).where(Briefing.state == BriefingState.published.value)
            ).one()
            district = session.exec(
                select(BriefingDistrict).where(BriefingDistrict.briefing_id == briefing.id)
            ).one()
            password_hash = hash_password(PASSWORD)  # once: the same password for everyone
            now = datetime.now(UTC)
            people: list[tuple[str, Role]] = []
            users: dict[Role, list[User]] = {role: [] for role in ROLES}
            counts = {role: round(devices * share) for role, (_kinds, share) in ROLES.items()}
            counts[Role.interrupter] += devices - sum(counts.values())
            for role, count in counts.items():
                organisation = organisations[PROGRAMME if role == Role.interrupter else ASSOCIATION]
                for number in range(count):
                    email = f"soak-{role.value}-{number:03d}@example.org"
                    user = User(
                        email=email,
                        display_name=f"Soak {role.value} {number:03d}",
                        password_hash=password_hash,
                        pledge_accepted_at=now,
                    )
                    session.add(user)
                    session.flush()
                    assert user.id is not None and organisation.id is not None
                    session.add(
                        Membership(
                            user_id=user.id, organisation_id=organisation.id, role=role.value
                        )
                    )
                    people.append((email, role))
                    users[role].append(user)
            # Tonight's walk has begun; every walker and lead of the soak is on it.
            leader = users[Role.association_lead][0] if users[Role.association_lead] else None
            association = organisations[ASSOCIATION]
            assert association.id is not None and place.id is not None
            walk = Walk(
                organisation_id=association.id,
                district_id=district.district_id,
                meeting_place_id=place.id,
                planned_start=now - timedelta(minutes=30),
                planned_end=now + timedelta(hours=12),
                leader_id=leader.id if leader else None,
                state="in_progress",
                created_by_id=(leader or users[Role.night_walker][0]).id or 0,
            )
            session.add(walk)
            session.flush()
            assert walk.id is not None
            for user in users[Role.night_walker] + users[Role.association_lead]:
                session.add(WalkSignup(walk_id=walk.id, user_id=user.id or 0, signed_up_at=now))
            session.commit()
            assert briefing.id is not None
            # The devices in a mixed order: both hosts get every role.
            random.Random(14).shuffle(people)
            return World(
                devices=people,
                location=f"place:{place.id}",
                place_id=place.id,
                walk_id=walk.id,
                briefing_id=briefing.id,
                organisation_id=briefing.organisation_id,
                author_id=briefing.author_id,
                district_id=district.district_id,
            )
    finally:
        engine.dispose()


def schedule_briefings(database_url: str, world: World, times: list[datetime]) -> None:
    """Copies of the current briefing, scheduled: the scheduler must publish each on time."""
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            current = session.get(Briefing, world.briefing_id)
            assert current is not None
            now = datetime.now(UTC)
            for number, at in enumerate(times):
                briefing = Briefing(
                    **{
                        name: getattr(current, name)
                        for name in (
                            "organisation_id",
                            "author_id",
                            "summary",
                            "expected_events",
                            "on_call",
                            "safety_reminders",
                            "meeting_at",
                            "meeting_place",
                            "identifies_no_one",
                        )
                    },
                    title=f"{TITLE} {number + 1}",
                    valid_from=at,
                    valid_to=at + timedelta(hours=12),
                    state=BriefingState.scheduled.value,
                    publish_at=at,
                    created_at=now,
                    updated_at=now,
                )
                session.add(briefing)
                session.flush()
                session.add(
                    BriefingDistrict(briefing_id=briefing.id or 0, district_id=world.district_id)
                )
            session.commit()
    finally:
        engine.dispose()


# --- The devices ---------------------------------------------------------------------------


@dataclass
class Sent:
    """A request body sent, with what each of its records must be answered."""

    body: bytes
    expected: list[tuple[str, str]]  # (client_uuid, status) in order
    kinds: list[str]


@dataclass
class Device:
    phone: Phone
    role: Role
    hosts: tuple[str, str]  # its own, and the other (for replays)
    kinds: tuple[str, ...]
    sent: list[Sent] = field(default_factory=list)
    read_briefing: bool = False


@dataclass
class Outcome:
    at: float  # seconds into the soak when answered
    latency_s: float
    what: str
    error: str = ""


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)
    valid: dict[str, set[str]] = field(default_factory=dict)  # kind: UUIDs answered stored
    answers: Counter[str] = field(default_factory=Counter)  # record status answers
    records_sent: int = 0
    replayed_records: int = 0


def _local(minutes_ago: float) -> datetime:
    return datetime.now(STOCKHOLM) - timedelta(minutes=minutes_ago)


def record_payload(kind: str, world: World, number: int, rng: random.Random) -> dict[str, Any]:
    when = _local(rng.uniform(2, 90))
    if kind == "contact":
        return contact_payload(world.location, number, when)
    occurred = when.strftime("%Y-%m-%dT%H:%M")
    if kind == "conflict":
        return {
            "occurred_at": occurred,
            "location": world.location,
            "risk_level": "2",
            "type": "group_vs_group",
            "parties_count": "2",
            "party_labels": "",
            "detected_via": "street",
            "catalyst": "territory",
            "weapon": "none_known",
            "note": f"Two groups by the square, calmer after a talk. #{number}",
        }
    if kind == "walk_report":
        return {
            "walk_id": str(world.walk_id),
            "places_visited": [str(world.place_id)],
            "youths_met": rng.choice(["1-10", "11-25", "26-50"]),
            "atmosphere": rng.choice(["calm", "lively"]),
            "observations": [],
            "actions": [],
            "environment_faults": [],
            "fault_place_id": "",
            "note": f"A calm round, many out by the square. #{number}",
        }
    assert kind == "briefing_read"
    return {"briefing_id": str(world.briefing_id), "at": occurred}


def make_batch(
    device: Device, world: World, rng: random.Random, counter: Iterator[int], hostile: float
) -> Sent:
    records: list[dict[str, Any]] = []
    expected: list[tuple[str, str]] = []
    kinds: list[str] = []
    chosen = [rng.choice(device.kinds) for _ in range(rng.randint(1, 5))]
    if not device.read_briefing or rng.random() < 0.1:
        chosen.append("briefing_read")
        device.read_briefing = True
    for kind in chosen:
        client_uuid = str(uuid.uuid4())
        payload = record_payload(kind, world, next(counter), rng)
        status = "stored"
        draw = rng.random()
        if kind == "contact" and draw < hostile:
            # The phone's clock says the day after tomorrow: held for its author to correct.
            payload["occurred_at"] = _local(-48 * 60).strftime("%Y-%m-%dT%H:%M")
            status = "needs_correction"
        envelope = crypto.seal(device.phone.public_key, payload, kind=kind, client_uuid=client_uuid)
        if hostile <= draw < 1.5 * hostile:
            envelope["ct"] = envelope["ct"][: len(envelope["ct"]) // 2]  # cut short: unreadable
            status = "unreadable"
        records.append({"kind": kind, "client_uuid": client_uuid, "envelope": envelope})
        expected.append((client_uuid, status))
        kinds.append(kind)
    return Sent(json.dumps({"records": records}).encode(), expected, kinds)


async def send_records(device: Device, base: str, sent: Sent, *, replay: bool, tally: Tally) -> str:
    """POST a batch; return "" or what was wrong."""
    phone = device.phone
    assert phone.http is not None
    async with phone.http.post(
        f"{base}/sync/records",
        data=sent.body,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-CSRFToken": phone.csrf_token,
            "Cookie": phone.cookie_header(),
        },
    ) as response:
        answer = await response.json(content_type=None)
        if response.headers.get("Set-Cookie"):
            phone.keep_cookies(response)
        if response.status != 200:
            return f"records: HTTP {response.status}"
    results = answer.get("results", [])
    if len(results) != len(sent.expected):
        return f"records: {len(results)} answers for {len(sent.expected)}"
    wrong = []
    for (client_uuid, status), kind, result in zip(sent.expected, sent.kinds, results, strict=True):
        got = str(result.get("status"))
        tally.answers[got] += 1
        want = {"stored"} if status == "stored" else {status}
        if replay and status == "stored":
            want = {"replayed"}
        elif status == "stored":
            want = {"stored", "replayed"}  # replayed: an earlier send stored it unanswered
        if status == "needs_correction" and replay:
            want = {"needs_correction"}
        if got not in want:
            wrong.append(f"{kind} {got} {json.dumps(result.get('errors', ''))[:120]}")
        elif status == "stored":
            tally.valid.setdefault(kind, set()).add(client_uuid)
    if not replay:
        tally.records_sent += len(sent.expected)
    else:
        tally.replayed_records += len(sent.expected)
    return ("records: " + ", ".join(sorted(set(wrong)))) if wrong else ""


async def read_page(device: Device, base: str, path: str) -> str:
    phone = device.phone
    assert phone.http is not None
    async with phone.http.get(
        f"{base}{path}", headers={"Cookie": phone.cookie_header()}
    ) as response:
        await response.read()
        if response.status != 200 or "/login" in str(response.url):
            return f"GET {path}: HTTP {response.status} at {response.url.path}"
    return ""


async def device_loop(
    device: Device,
    world: World,
    tally: Tally,
    *,
    started: float,
    deadline: float,
    interval: float,
    seed: int,
    hostile: float,
    counter: Iterator[int],
) -> None:
    rng = random.Random(seed)  # the device's habits, not secrets
    own, other = device.hosts
    due = started + rng.random() * interval
    while due < deadline and time.perf_counter() < deadline:
        now = time.perf_counter()
        if due > now:
            await asyncio.sleep(due - now)
        draw = rng.random()
        try:
            if draw < 0.10 and device.sent:
                what = "replay"
                error = await send_records(
                    device, other, rng.choice(device.sent[-20:]), replay=True, tally=tally
                )
            elif draw < 0.55:
                what = "records"
                sent = make_batch(device, world, rng, counter, hostile)
                error = await send_records(device, own, sent, replay=False, tally=tally)
                device.sent.append(sent)
                del device.sent[:-50]
            elif draw < 0.75:
                what = "home"
                error = await read_page(device, own, "/")
            elif draw < 0.95:
                what = "briefing"
                error = await read_page(device, own, "/briefings/current")
            else:
                what = "config"
                await refresh_config(device.phone, own)
                error = ""
        except (TimeoutError, aiohttp.ClientError, RuntimeError, ValueError) as problem:
            error = f"{what}: {type(problem).__name__}: {str(problem)[:80]}"
        done = time.perf_counter()
        tally.outcomes.append(Outcome(done - started, done - due, what, error))
        due += interval * rng.uniform(0.5, 1.5)


# --- Watching the processes ----------------------------------------------------------------


@dataclass
class Watch:
    """Memory samples (seconds into the soak, MB) of each process, by a readable name."""

    rss: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    loads: list[tuple[float, float]] = field(default_factory=list)
    beats: dict[str, set[datetime]] = field(default_factory=dict)

    def sample(self, at: float, web: list[hosts.Host], scheduler: psutil.Process) -> None:
        for host in web:
            try:
                workers = psutil.Process(host.web.pid).children()
            except psutil.Error:
                continue
            for worker in workers:
                try:
                    rss = worker.memory_info().rss / 2**20
                except psutil.Error:
                    continue
                self.rss.setdefault(f"{host.name}:{worker.pid}", []).append((at, rss))
        with contextlib.suppress(psutil.Error):
            self.rss.setdefault("scheduler", []).append((at, scheduler.memory_info().rss / 2**20))

    def latest(self) -> dict[str, float]:
        return {name: samples[-1][1] for name, samples in self.rss.items() if samples}


def web_cpu_seconds(web: list[hosts.Host]) -> float:
    """CPU time (user + system) of the hosts' gunicorns so far, masters and live workers:
    per request, it says whether the app's own cost moved or the machine's load did."""
    total = 0.0
    for host in web:
        try:
            master = psutil.Process(host.web.pid)
            for process in [master, *master.children()]:
                times = process.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            continue
    return total


def read_beats(database_url: str, into: dict[str, set[datetime]]) -> None:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            for row in session.exec(select(SchedulerHeartbeat)):
                into.setdefault(f"{row.state}:{row.pid}", set()).add(row.beat_at)
    finally:
        engine.dispose()


def slope_mb_per_hour(samples: list[tuple[float, float]], after: float) -> float | None:
    """Least-squares slope of the samples after the warm-up, in MB an hour."""
    points = [(t, mb) for t, mb in samples if t >= after]
    if len(points) < 3:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_mb = sum(mb for _, mb in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if not spread:
        return None
    slope = sum((t - mean_t) * (mb - mean_mb) for t, mb in points) / spread
    return round(slope * 3600, 2)


def window_stats(outcomes: list[Outcome], start: float, end: float) -> dict[str, Any]:
    inside = [o for o in outcomes if start <= o.at < end]
    latencies = sorted(o.latency_s for o in inside if not o.error)
    return {
        "requests": len(inside),
        "errors": sum(1 for o in inside if o.error),
        "p50_ms": _percentile_ms(latencies, 50),
        "p95_ms": _percentile_ms(latencies, 95),
    }


# --- Running it ----------------------------------------------------------------------------


async def soak(
    args: argparse.Namespace,
    world: World,
    web: list[hosts.Host],
    scheduler: psutil.Process,
    database_url: str,
) -> tuple[Tally, Watch, list[dict[str, Any]], float]:
    devices = []
    for number, (email, role) in enumerate(world.devices):
        own, other = web[number % 2].url, web[(number + 1) % 2].url
        phone = Phone(number, email, loopback_address(number))
        devices.append(Device(phone, role, (own, other), ROLES[role][0]))
    # Each signs in once, on its own host (not timed: a morning's sign-ins, all at once here).
    signing = time.perf_counter()
    limit = asyncio.Semaphore(8)

    async def one(device: Device) -> None:
        async with limit:
            await open_phone(device.phone, args.timeout)
            await sign_in(device.phone, device.hosts[0])

    await asyncio.gather(*(one(device) for device in devices))
    signed_in_s = time.perf_counter() - signing
    print(f"{len(devices)} devices signed in in {signed_in_s:.0f} s", flush=True)

    duration = args.minutes * 60
    tally, watch = Tally(), Watch()
    started = time.perf_counter()
    deadline = started + duration
    interval = len(devices) / args.rate
    counter = iter(range(10**9))
    minutes: list[dict[str, Any]] = []

    async def monitor() -> None:
        next_sample = started
        next_beat = started
        next_minute = started + 60
        cpu_before = web_cpu_seconds(web)
        while time.perf_counter() < deadline + 1:
            now = time.perf_counter()
            if now >= next_sample:
                watch.sample(now - started, web, scheduler)
                next_sample += SAMPLE_SECONDS
            if now >= next_beat:
                await asyncio.to_thread(read_beats, database_url, watch.beats)
                next_beat += 5
            if now >= next_minute:
                at = next_minute - started
                load = os.getloadavg()[0]
                watch.loads.append((at, load))
                line = {
                    "minute": round(at / 60),
                    **window_stats(tally.outcomes, at - 60, at),
                    "rss_mb": {k: round(v, 1) for k, v in watch.latest().items()},
                    "load_1min": round(load, 2),
                }
                cpu = web_cpu_seconds(web)
                line["server_cpu_ms_per_request"] = (
                    round(1000 * (cpu - cpu_before) / line["requests"], 1)
                    if line["requests"]
                    else None
                )
                cpu_before = cpu
                errors = Counter(
                    o.error for o in tally.outcomes if o.error and at - 60 <= o.at < at
                )
                line["error_kinds"] = dict(errors.most_common(3))
                minutes.append(line)
                memory = " ".join(f"{k} {v:.0f}" for k, v in line["rss_mb"].items())
                print(
                    f"min {line['minute']:>3}: {line['requests']:>5} req "
                    f"{line['errors']:>3} err  p50 {line['p50_ms']} p95 {line['p95_ms']} ms  "
                    f"RSS MB {memory}  load {load:.1f}  "
                    f"server CPU {line['server_cpu_ms_per_request']} ms/req"
                    + (f"  errors: {line['error_kinds']}" if errors else ""),
                    flush=True,
                )
                next_minute += 60
            await asyncio.sleep(0.5)

    await asyncio.gather(
        monitor(),
        *(
            device_loop(
                device,
                world,
                tally,
                started=started,
                deadline=deadline,
                interval=interval,
                seed=number,
                hostile=args.hostile,
                counter=counter,
            )
            for number, device in enumerate(devices)
        ),
    )
    for device in devices:
        if device.phone.http is not None:
            await device.phone.http.close()
    return tally, watch, minutes, signed_in_s


def stored_counts(database_url: str, valid: dict[str, set[str]]) -> dict[str, dict[str, int]]:
    """For each kind: distinct records answered stored, and rows with their UUIDs."""
    engine = make_engine(database_url)
    found: dict[str, dict[str, int]] = {}
    try:
        with Session(engine) as session:
            for kind, uuids in sorted(valid.items()):
                model = MODELS[kind]
                rows = 0
                listed = sorted(uuids)
                for start in range(0, len(listed), 2000):
                    chunk = listed[start : start + 2000]
                    rows += int(
                        session.exec(
                            select(func.count())
                            .select_from(model)
                            .where(col(model.client_uuid).in_(chunk))
                        ).one()
                    )
                found[kind] = {"answered_stored": len(uuids), "rows": rows}
    finally:
        engine.dispose()
    return found


def publication_lateness(database_url: str) -> list[dict[str, Any]]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            rows = session.exec(
                select(Briefing)
                .where(col(Briefing.title).startswith(TITLE))
                .order_by(col(Briefing.publish_at))
            ).all()
            return [
                {
                    "title": row.title,
                    "publish_at": row.publish_at.isoformat() if row.publish_at else None,
                    "late_s": (
                        round((row.published_at - row.publish_at).total_seconds(), 1)
                        if row.published_at and row.publish_at
                        else None
                    ),
                }
                for row in rows
            ]
    finally:
        engine.dispose()


def heartbeat_lateness(beats: dict[str, set[datetime]]) -> dict[str, Any]:
    """The worst gap between the running scheduler's heartbeats, beyond their interval."""
    gaps: list[float] = []
    for name, times in beats.items():
        if not name.startswith("running:"):
            continue
        ordered = sorted(times)
        gaps += [(b - a).total_seconds() for a, b in itertools.pairwise(ordered)]
    worst = max(gaps, default=None)
    return {
        "beats": sum(len(times) for times in beats.values()),
        "processes": sorted(beats),
        "worst_gap_s": round(worst, 2) if worst is not None else None,
        "late_s": round(max(0.0, worst - HEARTBEAT_SECONDS), 2) if worst is not None else None,
    }


def log_errors(directory: Path) -> dict[str, list[str]]:
    found = {}
    for log in sorted(directory.glob("*.log")):
        lines = [line[:300] for line in log.read_text(errors="replace").splitlines()]
        bad = [line for line in lines if ERROR_LINE.search(line)]
        if bad:
            found[log.name] = bad[:20]
    return found


def run(args: argparse.Namespace) -> dict[str, Any]:
    if not hosts.redis_available():
        raise SystemExit("Redis does not answer at 127.0.0.1:6379")
    with (
        tempfile.TemporaryDirectory(prefix="soak-") as name,
        database("postgresql", Path(name), PG_DATABASE) as database_url,
    ):
        directory = Path(name)
        print(f"preparing the database and {args.devices} devices ...", flush=True)
        world = prepare(database_url, args.devices)
        env = hosts.multi_host_env(directory, database_url, DRAIN_SECONDS="0")
        prefix = f"soak-{uuid.uuid4().hex[:8]}"  # the soak's own counters in the shared Redis
        web: list[hosts.Host] = []
        scheduler_process = None
        try:
            for host_name in ("a", "b"):
                module = f"soak_{host_name}"
                hosts.write_app_module(
                    directory,
                    module,
                    {
                        "INSTANCE_PATH": str(directory / f"instance-{host_name}"),
                        "RATELIMIT_KEY_PREFIX": prefix,
                    },
                )
                web.append(hosts.start_web(host_name, module, directory, env))
            for host in web:
                wait_until_up(host)
            scheduler_process = hosts.start_scheduler(web[0], directory, env)
            duration = args.minutes * 60
            # A scheduled briefing due every window, the last one a minute before the end.
            first_due = datetime.now(UTC) + timedelta(seconds=60)
            schedule_briefings(
                database_url,
                world,
                [
                    first_due + timedelta(seconds=offset)
                    for offset in range(0, max(1, int(duration - 120)), int(args.window))
                ],
            )
            loop = asyncio.new_event_loop()
            try:
                tally, watch, minutes, signed_in_s = loop.run_until_complete(
                    soak(args, world, web, psutil.Process(scheduler_process.pid), database_url)
                )
            finally:
                loop.close()
            published = publication_lateness(database_url)
            counts = stored_counts(database_url, tally.valid)
        finally:
            if scheduler_process is not None:
                hosts.stop(scheduler_process)
            for host in web:
                hosts.stop(host.web)
        errors_in_logs = log_errors(directory)
        kept = RESULTS.parent / "soak_logs"
        kept.mkdir(parents=True, exist_ok=True)
        for log in directory.glob("*.log"):
            (kept / log.name).write_bytes(log.read_bytes()[-200_000:])
    return summarise(
        args,
        tally=tally,
        watch=watch,
        minutes=minutes,
        signed_in_s=signed_in_s,
        published=published,
        counts=counts,
        errors_in_logs=errors_in_logs,
    )


def wait_until_up(host: hosts.Host) -> None:
    import requests

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if host.web.poll() is not None:
            raise SystemExit(f"host {host.name} stopped:\n{host.log.read_text()[-3000:]}")
        try:
            if requests.get(host.url + "/readyz", timeout=5).status_code in (200, 503):
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit(f"host {host.name} did not answer within 120 s")


def summarise(
    args: argparse.Namespace,
    *,
    tally: Tally,
    watch: Watch,
    minutes: list[dict[str, Any]],
    signed_in_s: float,
    published: list[dict[str, Any]],
    counts: dict[str, dict[str, int]],
    errors_in_logs: dict[str, list[str]],
) -> dict[str, Any]:
    duration = args.minutes * 60
    warm_up = min(args.warm_up * 60, duration / 5)
    windows = []
    for start in range(0, int(duration), int(args.window)):
        stats = window_stats(tally.outcomes, start, min(start + args.window, duration + 60))
        windows.append({"from_min": round(start / 60, 1), **stats})
    p95s = [w["p95_ms"] for w in windows if w["p95_ms"] is not None]
    slopes = {
        name: slope_mb_per_hour(samples, warm_up) for name, samples in sorted(watch.rss.items())
    }
    rss = {
        name: {
            "first_mb": round(samples[0][1], 1),
            "after_warm_up_mb": round(next((mb for t, mb in samples if t >= warm_up), 0.0), 1),
            "last_mb": round(samples[-1][1], 1),
            "slope_mb_per_hour": slopes[name],
        }
        for name, samples in sorted(watch.rss.items())
    }
    workers = [name for name in watch.rss if name != "scheduler"]
    errors = Counter(o.error for o in tally.outcomes if o.error)
    latencies = sorted(o.latency_s for o in tally.outcomes if not o.error)
    beats = heartbeat_lateness(watch.beats)
    late_publications = [p["late_s"] for p in published if p["late_s"] is not None]
    unpublished = [p["title"] for p in published if p["late_s"] is None]
    exactly_once = all(c["rows"] == c["answered_stored"] for c in counts.values())
    worst_publication = max(late_publications, default=None)
    loads = [load for _at, load in watch.loads]
    cpus = [m["server_cpu_ms_per_request"] for m in minutes if m["server_cpu_ms_per_request"]]
    verdicts = {
        "no_errors": not errors and not errors_in_logs,
        "exactly_once": exactly_once,
        "p95_steady": len(p95s) < 2 or p95s[-1] <= args.max_drift * p95s[0],
        "memory_flat": all(slope is None or slope <= args.max_slope for slope in slopes.values()),
        "scheduler_on_time": (
            beats["late_s"] is not None
            and beats["late_s"] <= args.max_late
            and not unpublished
            and (
                worst_publication is None
                or worst_publication <= PUBLISH_EVERY_SECONDS + args.max_late
            )
        ),
    }
    by_what = Counter(o.what for o in tally.outcomes)
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["bench/soak.py", *sys.argv[1:]]),
        "cpus": os.cpu_count(),
        "devices": args.devices,
        "minutes": args.minutes,
        "offered_requests_per_s": args.rate,
        "signed_in_s": round(signed_in_s, 1),
        "requests": len(tally.outcomes),
        "requests_per_s": round(len(tally.outcomes) / duration, 1),
        "requests_by_kind": dict(by_what),
        "errors": sum(errors.values()),
        "errors_by_kind": dict(errors.most_common(20)),
        "errors_in_logs": errors_in_logs,
        "p50_ms": _percentile_ms(latencies, 50),
        "p95_ms": _percentile_ms(latencies, 95),
        "p99_ms": _percentile_ms(latencies, 99),
        "window_s": args.window,
        "windows": windows,
        "p95_first_ms": p95s[0] if p95s else None,
        "p95_last_ms": p95s[-1] if p95s else None,
        "p95_spread_ms": round(max(p95s) - min(p95s), 1) if p95s else None,
        "p95_max_over_min": round(max(p95s) / min(p95s), 2) if p95s and min(p95s) else None,
        "server_cpu_ms_per_request_by_minute": {
            "min": min(cpus, default=None),
            "median": statistics.median(cpus) if cpus else None,
            "max": max(cpus, default=None),
        },
        "warm_up_s": warm_up,
        "memory": rss,
        "worker_slope_max_mb_per_hour": max(
            (slope for name in workers if (slope := slopes[name]) is not None), default=None
        ),
        "records": {
            "sent": tally.records_sent,
            "sent_again_in_replays": tally.replayed_records,
            "answers": dict(tally.answers),
            "stored_by_kind": counts,
        },
        "scheduler": {
            "heartbeat": beats,
            "briefing_publications": published,
            "worst_publication_late_s": worst_publication,
            "unpublished": unpublished,
        },
        "load_average_1min": {
            "min": min(loads, default=None),
            "mean": round(sum(loads) / len(loads), 2) if loads else None,
            "max": max(loads, default=None),
        },
        "limits": {
            "max_slope_mb_per_hour": args.max_slope,
            "max_p95_drift": args.max_drift,
            "max_late_s": args.max_late,
        },
        "minutes_detail": minutes,
        "verdicts": verdicts,
    }


def print_summary(result: dict[str, Any]) -> None:
    print(
        f"\n{result['devices']} devices, {result['minutes']} min, {result['requests']} requests "
        f"({result['requests_per_s']}/s), errors {result['errors']}"
        f"{' ' + str(result['errors_by_kind']) if result['errors'] else ''}; "
        f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms"
    )
    print(
        "p95 by window (ms): "
        + ", ".join(f"{w['from_min']:g}' {w['p95_ms']}" for w in result["windows"])
        + f"; spread {result['p95_spread_ms']} ms, max/min {result['p95_max_over_min']}"
    )
    print(f"memory after {result['warm_up_s']:.0f} s of warm-up (MB, slope MB/h):")
    for name, memory in result["memory"].items():
        print(
            f"  {name:<14} {memory['after_warm_up_mb']:>7.1f} -> {memory['last_mb']:>7.1f}"
            f"  slope {memory['slope_mb_per_hour']}"
        )
    records = result["records"]
    stored = ", ".join(
        f"{kind} {c['rows']}/{c['answered_stored']}"
        for kind, c in records["stored_by_kind"].items()
    )
    print(
        f"records sent {records['sent']} (+{records['sent_again_in_replays']} in replays); "
        f"answers {records['answers']}; rows/stored: {stored}"
    )
    scheduler = result["scheduler"]
    print(
        f"scheduler: heartbeat worst gap {scheduler['heartbeat']['worst_gap_s']} s "
        f"(late {scheduler['heartbeat']['late_s']} s); briefings published "
        f"{[p['late_s'] for p in scheduler['briefing_publications']]} s after their time"
    )
    print(f"load average (1 min): {result['load_average_1min']}")
    print(f"server CPU ms a request, by minute: {result['server_cpu_ms_per_request_by_minute']}")
    if result["errors_in_logs"]:
        print(f"ERROR lines in logs: {json.dumps(result['errors_in_logs'], indent=1)[:3000]}")
    print(f"verdicts: {result['verdicts']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long (default 30)")
    parser.add_argument("--hours", type=float, help="how long in hours (overrides --minutes)")
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="requests/s offered, together")
    parser.add_argument(
        "--window", type=float, help="seconds a p95 window (default 300; a sixth of a short run)"
    )
    parser.add_argument("--warm-up", type=float, default=5.0, help="minutes before the slope")
    parser.add_argument("--hostile", type=float, default=0.02, help="share held (and half: cut)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds a request at most")
    parser.add_argument("--max-slope", type=float, default=10.0, help="MB/h a process at most")
    parser.add_argument("--max-drift", type=float, default=1.5, help="last p95 / first p95")
    parser.add_argument("--max-late", type=float, default=15.0, help="seconds beyond schedule")
    args = parser.parse_args(argv)
    if args.hours:
        args.minutes = args.hours * 60
    if args.window is None:
        args.window = min(300.0, args.minutes * 60 / 6)
    # A stop (Ctrl-C, SIGTERM) still stops the servers and drops the database.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    result = run(args)
    print_summary(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"\nWritten to {RESULTS.relative_to(ROOT)}")
    return 0 if all(result["verdicts"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
