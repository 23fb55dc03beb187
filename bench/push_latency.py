"""Web Push latency under gunicorn: a level-4 alert (issue 4), a briefing to 200 members (issue 5).

For each backend (SQLite: a file in a temporary folder; PostgreSQL: the database
`interrupters_bench` on 127.0.0.1, dropped afterwards) a fresh database is migrated and given
the demo data; gunicorn serves the app on 127.0.0.1 with production settings (bench/sync_load.py's
`gunicorn()`); a test push service (tests/pushservice.py) runs as a thread of this process on
127.0.0.1 and checks the VAPID signature of every request and decrypts every message with the
subscription's private key, which only this process (the "browsers") holds. No scheduler runs:
whatever arrives was sent by the app's own "at once" path (push/views.py `_deliver_created`, an
`after_app_request` hook that hands the request's new notifications to `jobs.deliver_soon`, a
thread in the gunicorn worker), not by the scheduler's `deliver_due` safety net.

Part 1, escalation (issue 4): a supervisor and an interrupter on duty in Rinkeby each have a
subscription; an interrupter's phone, signed in through the login form, sends a sealed
`conflict_update` raising a conflict from level 3 to 4 through the outbox endpoint
(/sync/records), as the phone does. Timed from just before the request is sent to the moment
the push service has received and decrypted the supervisor's message; --repetitions times (20),
each on a conflict of its own, after --warm-up untimed ones. Goal: median <= 1 s.

Part 2, fan-out (issue 5): 200 members of a night-walk association that alone serves a
district, each with one subscription of its own keys. If `interrupters.briefings.services` has
`publish_briefing`, a briefing author signs in, and a draft briefing for that district is
published through its route (POST /briefings/<id>/publish with the form's CSRF token); otherwise
`interrupters.push.services.notify` is called for the 200 in this process and the same at-once
delivery (`jobs.deliver_created`) follows; the output says which was measured. Timed from just
before the publish to the first and the last of the 200 messages decrypted. Goal: last <= 10 s.

Prints the figures, writes bench/results/push_latency.json and exits 1 when a goal is missed,
a message is missing or the push service saw anything wrong.

    .venv/bin/python bench/push_latency.py [--backends sqlite,postgresql] [--server gthread:2x4]
        [--repetitions 20] [--warm-up 2] [--members 200] [--parts latency,fanout]
        [--push-delay 0.05]
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

import requests  # noqa: E402
from sqlalchemy import delete, func  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from bench.sync_load import Gunicorn, ServerConfig, database, gunicorn  # noqa: E402
from interrupters.auth.models import Membership, Organisation, OrganisationDistrict, User  # noqa: E402
from interrupters.auth.principal import Principal  # noqa: E402
from interrupters.auth.services import (  # noqa: E402
    hash_password,
    principal_for_token,
    start_device_session,
)
from interrupters.auth.values import OrganisationType, Role  # noqa: E402
from interrupters.cli import upgrade_database  # noqa: E402
from interrupters.conflicts import services as conflicts  # noqa: E402
from interrupters.db import make_engine, session_scope  # noqa: E402
from interrupters.demo import PROGRAMME, seed_demo  # noqa: E402
from interrupters.duty import services as duty_services  # noqa: E402
from interrupters.places.models import District, Place  # noqa: E402
from interrupters.push import services as push  # noqa: E402
from interrupters.push.models import Notification  # noqa: E402
from interrupters.push.webpush import load_or_create_vapid_key  # noqa: E402
from interrupters.sync import crypto  # noqa: E402
from tests.pushservice import PushService, Received, Subscriber  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "push_latency.json"
PASSWORD = "bench-push-Järva-2026-natt"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
GOAL_MEDIAN_S = 1.0
GOAL_FANOUT_LAST_S = 10.0
PHONE = "bench-push-phone@example.org"
SUPERVISOR = "bench-push-supervisor@example.org"
ON_DUTY = "bench-push-on-duty@example.org"
AUTHOR = "bench-push-author@example.org"
DELIVERED_BY = (
    "at once: push/views.py _deliver_created (after_app_request) -> jobs.deliver_soon, "
    "a thread in the gunicorn worker that answered; no scheduler process ran"
)


# --- Set-up (in this process, before gunicorn starts) --------------------------------------


@dataclass
class Setup:
    conflict_ids: list[int] = field(default_factory=list)
    supervisor: Subscriber | None = None
    on_duty: Subscriber | None = None
    members: list[Subscriber] = field(default_factory=list)
    member_ids: list[int] = field(default_factory=list)
    district: str = ""
    briefing_id: int | None = None  # None: the briefings package cannot publish (fallback)


def _user(session: Session, email: str, name: str, password_hash: str | None) -> User:
    user = User(
        email=email,
        display_name=name,
        password_hash=password_hash,
        pledge_accepted_at=datetime.now(UTC),
    )
    session.add(user)
    session.flush()
    return user


def _member(session: Session, user: User, organisation_id: int, role: Role) -> None:
    assert user.id is not None
    session.add(Membership(user_id=user.id, organisation_id=organisation_id, role=role.value))
    session.flush()


def _principal(session: Session, user: User, label: str) -> Principal:
    token = start_device_session(session=session, user=user, device_label=label)
    session.flush()
    found = principal_for_token(session=session, token=token)
    assert found is not None
    return found


def _subscribe(session: Session, user: User, subscriber: Subscriber) -> None:
    """A browser of `user` opts in, as POST /push/subscriptions does (a device of its own)."""
    data = push.parse_subscription(
        subscriber.subscription_json(), allowed_hosts=["127.0.0.1"], allow_http=True
    )
    push.subscribe(
        session=session, actor=_principal(session, user, "bench phone"), subscription=data
    )


def _briefings_can_publish() -> Any | None:
    """The briefings' services module if it has `publish_briefing`, else None."""
    try:
        module = importlib.import_module("interrupters.briefings.services")
    except ImportError:
        return None
    return module if hasattr(module, "publish_briefing") else None


def prepare(
    database_url: str, service: PushService, *, conflicts_needed: int, members: int
) -> Setup:
    """Migrate, add the demo data, the escalation's people and conflicts, and the members."""
    upgrade_database(database_url)
    engine = make_engine(database_url)
    setup = Setup()
    password_hash = hash_password(PASSWORD)  # production cost, once
    try:
        with session_scope(engine) as session:
            seed_demo(session=session)
            programme = session.exec(
                select(Organisation).where(Organisation.name == PROGRAMME)
            ).one()
            assert programme.id is not None
            if conflicts_needed:
                _prepare_escalation(session, setup, service, programme.id, conflicts_needed)
            if members:
                _prepare_members(session, setup, service, members, password_hash)
            # The phone signs in with a password; so does the author (above).
            phone = _user(session, PHONE, "Bench phone", password_hash)
            _member(session, phone, programme.id, Role.interrupter)
            if conflicts_needed:
                _flag_conflicts(session, setup, phone, conflicts_needed)
            session.commit()
    finally:
        engine.dispose()
    return setup


def _prepare_escalation(
    session: Session, setup: Setup, service: PushService, programme_id: int, _count: int
) -> None:
    supervisor = _user(session, SUPERVISOR, "Bench supervisor", None)
    _member(session, supervisor, programme_id, Role.supervisor)
    on_duty = _user(session, ON_DUTY, "Bench on duty", None)
    _member(session, on_duty, programme_id, Role.interrupter)
    place = session.exec(select(Place).where(Place.name == "Rinkeby torg")).one()
    duty_services.start_duty(
        session=session,
        actor=_principal(session, on_duty, "bench duty"),
        area_ids=[place.area_id],
        hours=16,
    )
    setup.supervisor = service.subscriber()
    setup.on_duty = service.subscriber()
    _subscribe(session, supervisor, setup.supervisor)
    _subscribe(session, on_duty, setup.on_duty)


def _flag_conflicts(session: Session, setup: Setup, phone: User, count: int) -> None:
    """`count` conflicts at level 3, each raised to 4 once; their level-3 alerts are not timed."""
    place = session.exec(select(Place).where(Place.name == "Rinkeby torg")).one()
    actor = _principal(session, phone, "bench set-up")
    for number in range(count):
        data = conflicts.ConflictInput.model_validate(
            {
                "area_id": place.area_id,
                "place_id": place.id,
                "detected_via": "social_media",
                "catalyst": "online_provocation",
                "type": "group_vs_group",
                "parties_count": 2,
                "supporters_count": 10,
                "party_labels": ["the older group", "the group from the school"],
                "youth_involved": True,
                "risk_level": 3,
                "occurred_at": datetime.now(UTC) - timedelta(hours=2),
                "note": f"Threats online after the match (bench {number}).",
            }
        )
        conflict, _created = conflicts.flag_conflict(
            session=session, actor=actor, data=data, client_uuid=str(uuid.uuid4())
        )
        assert conflict.id is not None
        setup.conflict_ids.append(conflict.id)
    # The level-3 alerts of the set-up are not part of the measurement (no scheduler runs).
    session.exec(delete(Notification))


def _prepare_members(
    session: Session, setup: Setup, service: PushService, members: int, password_hash: str
) -> None:
    """A night-walk association alone in a district, its members subscribed, an author."""
    served = set(session.exec(select(OrganisationDistrict.district_id)))
    district = session.exec(
        select(District).where(col(District.id).not_in(served)).order_by(col(District.id))
    ).first()
    if district is None or district.id is None:
        raise SystemExit("every district is served by a demo organisation: none left for the bench")
    setup.district = district.name
    association = Organisation(
        name="Bench nattvandrare", type=OrganisationType.night_walk_association.value
    )
    writers = Organisation(name="Bench fältassistenter", type=OrganisationType.municipal_unit.value)
    session.add(association)
    session.add(writers)
    session.flush()
    assert association.id is not None and writers.id is not None
    for organisation_id in (association.id, writers.id):
        session.add(OrganisationDistrict(organisation_id=organisation_id, district_id=district.id))
    author = _user(session, AUTHOR, "Bench author", password_hash)
    _member(session, author, writers.id, Role.briefing_author)
    for number in range(members):
        user = _user(
            session, f"bench-walker-{number:03d}@example.org", f"Walker {number:03d}", None
        )
        _member(session, user, association.id, Role.night_walker)
        subscriber = service.subscriber()
        _subscribe(session, user, subscriber)
        assert user.id is not None
        setup.members.append(subscriber)
        setup.member_ids.append(user.id)
    briefings = _briefings_can_publish()
    if briefings is None:
        return
    now = datetime.now(UTC)
    data = briefings.BriefingInput.model_validate(
        {
            "title": "Helgens lägesbild (bench)",
            "valid_from": now - timedelta(hours=1),
            "valid_to": now + timedelta(days=2),
            "district_ids": [district.id],
            "summary": "Calm week; the square is busy on Friday evening after the match.",
            "safety_reminders": "Walk in groups of three. Call the on-call supervisor.",
            "identifies_no_one": True,
        }
    )
    briefing = briefings.draft_briefing(
        session=session, actor=_principal(session, author, "bench author"), data=data
    )
    setup.briefing_id = briefing.id


# --- The phone and the author, over HTTP ---------------------------------------------------


def _csrf(page: str) -> str:
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if token is None:
        raise RuntimeError("no CSRF token on the page")
    return token.group(1)


def sign_in(base: str, email: str) -> requests.Session:
    """The login form, as a browser fills it."""
    http = requests.Session()
    token = _csrf(http.get(f"{base}/login", timeout=30).text)
    answer = http.post(
        f"{base}/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in of {email} answered {answer.status_code}")
    return http


def _sealed_raise(config: dict[str, Any], conflict_id: int) -> bytes:
    """The outbox's request raising the conflict to level 4, sealed as the browser seals it."""
    client_uuid = str(uuid.uuid4())
    payload = {
        "conflict_id": str(conflict_id),
        "occurred_at": datetime.now(STOCKHOLM).strftime("%Y-%m-%dT%H:%M"),
        "kind": "info",
        "risk_level": "4",
        "text": "Weapons seen by the square; both groups gathering.",
    }
    envelope = crypto.seal(
        config["public_key"], payload, kind="conflict_update", client_uuid=client_uuid
    )
    document = {"kind": "conflict_update", "client_uuid": client_uuid, "envelope": envelope}
    return json.dumps(document).encode()


def _arrival(service: PushService, subscriber: Subscriber, after: int) -> Received | None:
    messages = service.messages_for(subscriber)
    return messages[after] if len(messages) > after else None


def _wait_for(
    service: PushService, subscribers: list[Subscriber], counts: list[int], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(len(service.messages_for(s)) > n for s, n in zip(subscribers, counts, strict=True)):
            return
        service.wait_for(len(service.received) + 1, timeout=min(0.5, deadline - time.monotonic()))


# --- Part 1: a level-4 change to the supervisor's phone ------------------------------------


def measure_escalation(
    server: Gunicorn, service: PushService, setup: Setup, *, warm_up: int, repetitions: int
) -> dict[str, Any]:
    assert setup.supervisor is not None and setup.on_duty is not None
    base = server.url
    http = sign_in(base, PHONE)
    runs: list[dict[str, Any]] = []
    for index, conflict_id in enumerate(setup.conflict_ids[: warm_up + repetitions]):
        # A fresh token before each record, as the outbox does; sealing is the phone's work.
        config = http.get(f"{base}/sync/config", headers={"Accept": "application/json"}).json()
        body = _sealed_raise(config, conflict_id)
        before = [len(service.messages_for(s)) for s in (setup.supervisor, setup.on_duty)]
        started = time.monotonic()
        answer = http.post(
            f"{base}/sync/records",
            data=body,
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "X-CSRFToken": config["csrf_token"],
            },
            timeout=30,
        )
        answered = time.monotonic()
        if answer.status_code != 201:
            raise RuntimeError(f"/sync/records answered {answer.status_code}: {answer.text[:300]}")
        _wait_for(service, [setup.supervisor, setup.on_duty], before, timeout=15.0)
        supervisor = _arrival(service, setup.supervisor, before[0])
        on_duty = _arrival(service, setup.on_duty, before[1])
        run = {
            "conflict_id": conflict_id,
            "warm_up": index < warm_up,
            "answered_ms": round((answered - started) * 1000, 1),
            "supervisor_ms": round((supervisor.at - started) * 1000, 1) if supervisor else None,
            "on_duty_ms": round((on_duty.at - started) * 1000, 1) if on_duty else None,
            "supervisor_text": supervisor.payload.get("title") if supervisor else None,
        }
        runs.append(run)
        label = "warm-up" if run["warm_up"] else f"{index - warm_up + 1:>2}"
        print(
            f"  {label}: answered {run['answered_ms']} ms, supervisor {run['supervisor_ms']} ms, "
            f"on duty {run['on_duty_ms']} ms"
        )
    timed = [r for r in runs if not r["warm_up"]]
    supervisor_s = sorted(
        r["supervisor_ms"] / 1000 for r in timed if r["supervisor_ms"] is not None
    )
    on_duty_s = sorted(r["on_duty_ms"] / 1000 for r in timed if r["on_duty_ms"] is not None)
    missing = sum(1 for r in timed if r["supervisor_ms"] is None or r["on_duty_ms"] is None)
    median = statistics.median(supervisor_s) if supervisor_s else None
    return {
        "path": "POST /sync/records (the outbox), a sealed conflict_update raising 3 -> 4",
        "delivered_by": DELIVERED_BY,
        "repetitions": len(timed),
        "warm_up": warm_up,
        "supervisor_median_ms": _ms(median),
        "supervisor_p90_ms": _ms(_percentile(supervisor_s, 90)),
        "supervisor_max_ms": _ms(supervisor_s[-1] if supervisor_s else None),
        "on_duty_median_ms": _ms(statistics.median(on_duty_s) if on_duty_s else None),
        "answered_median_ms": _ms(statistics.median(r["answered_ms"] / 1000 for r in timed)),
        "missing_messages": missing,
        "goal_median_ms": GOAL_MEDIAN_S * 1000,
        "passed": median is not None and median <= GOAL_MEDIAN_S and missing == 0,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "runs": runs,
    }


# --- Part 2: publishing to 200 members -----------------------------------------------------


def publish(server: Gunicorn, setup: Setup, database_url: str, instance: Path) -> tuple[str, float]:
    """Publish to the members by the best path there is; return what it was and when it began."""
    if setup.briefing_id is not None:
        http = sign_in(server.url, AUTHOR)
        page = http.get(f"{server.url}/briefings/{setup.briefing_id}", timeout=30)
        if page.status_code != 200:
            raise RuntimeError(f"the briefing's page answered {page.status_code}")
        token = _csrf(page.text)
        started = time.monotonic()
        answer = http.post(
            f"{server.url}/briefings/{setup.briefing_id}/publish",
            data={"csrf_token": token},
            allow_redirects=False,
            timeout=60,
        )
        answered = time.monotonic()
        if answer.status_code != 303:
            raise RuntimeError(f"publishing answered {answer.status_code}")
        print(f"  the publish request was answered in {(answered - started) * 1000:.0f} ms")
        return (
            f"briefing: POST /briefings/{setup.briefing_id}/publish as a briefing author "
            "(briefings.services.publish_briefing) under gunicorn; " + DELIVERED_BY,
            started,
        )
    return _notify_in_process(setup, database_url, instance)


def _notify_in_process(setup: Setup, database_url: str, instance: Path) -> tuple[str, float]:
    """Without publish_briefing: notify() the members here, then the at-once delivery."""
    from interrupters import create_app
    from interrupters.db import get_engine
    from interrupters.push import jobs

    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": database_url,
            "SECRET_KEY": (instance / "bench_secret").read_text(),
            "RATELIMIT_ALLOW_MEMORY": True,  # one process, no sign-in
        }
    )
    with app.app_context(), session_scope(get_engine()) as session:
        started = time.monotonic()  # the app is built: time the publishing only
        push.notify(
            session=session,
            recipient_ids=setup.member_ids,
            kind="briefing_published",
            subject="bench-briefing:1",
            title="New weekend briefing",
            body="Read it before the walk, and acknowledge it.",
            url="/notifications",
        )
        session.commit()
        jobs.deliver_created(session=session, app=app)
    measured = (
        "FALLBACK (interrupters.briefings.services has no publish_briefing): "
        "push.services.notify() for the members in this process, then jobs.deliver_created "
        "(the same at-once thread a request uses)"
    )
    return measured, started


def measure_fanout(
    server: Gunicorn, service: PushService, setup: Setup, database_url: str, instance: Path
) -> dict[str, Any]:
    tokens = {s.token for s in setup.members}
    before = len(service.received)
    measured, started = publish(server, setup, database_url, instance)
    print(f"  measured: {measured}")
    service.wait_for(before + len(tokens), timeout=GOAL_FANOUT_LAST_S * 6)
    arrivals = sorted(r.at - started for r in service.received[before:] if r.token in tokens)
    reached = len({r.token for r in service.received[before:] if r.token in tokens})
    first = arrivals[0] if arrivals else None
    last = arrivals[-1] if len(arrivals) >= len(tokens) else None
    spread = (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else None
    # Delivery marks its rows sent when a batch of jobs.BATCH is done: wait for that before
    # gunicorn is stopped (a stopped worker kills its delivery thread; see the report).
    marked = _wait_until_marked(database_url, "briefing_published", timeout=30.0)
    return {
        "measured": measured,
        "members": len(tokens),
        "members_reached": reached,
        "first_ms": _ms(first),
        "median_ms": _ms(statistics.median(arrivals) if arrivals else None),
        "last_ms": _ms(last),
        "messages_per_s_overall": round(len(arrivals) / arrivals[-1], 1) if arrivals else None,
        "messages_per_s_first_to_last": round((len(arrivals) - 1) / spread, 1) if spread else None,
        "all_marked_sent_ms": _ms(marked - started) if marked is not None else None,
        "goal_last_ms": GOAL_FANOUT_LAST_S * 1000,
        "passed": last is not None and last <= GOAL_FANOUT_LAST_S and reached == len(tokens),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def _wait_until_marked(database_url: str, kind: str, *, timeout: float) -> float | None:
    """When no notification of `kind` is left undelivered (time.monotonic()), or None."""
    engine = make_engine(database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with session_scope(engine) as session:
                left = session.exec(
                    select(func.count())
                    .select_from(Notification)
                    .where(Notification.kind == kind)
                    .where(col(Notification.delivered_at).is_(None))
                ).one()
            if not left:
                return time.monotonic()
            time.sleep(0.05)
        return None
    finally:
        engine.dispose()


def delivery_states(database_url: str) -> dict[str, int]:
    """How the app marked its notifications: kind/delivery -> count."""
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            rows = session.exec(
                select(Notification.kind, Notification.delivery, func.count()).group_by(
                    col(Notification.kind), col(Notification.delivery)
                )
            ).all()
            return {f"{kind}/{delivery}": int(count) for kind, delivery, count in rows}
    finally:
        engine.dispose()


# --- Running it all ------------------------------------------------------------------------


def _percentile(ordered: list[float], percent: float) -> float | None:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return None
    return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]


def _ms(seconds: float | None) -> float | None:
    return round(seconds * 1000, 1) if seconds is not None else None


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"backend": backend, "server": args.server.name}
    conflicts_needed = args.warm_up + args.repetitions if "latency" in args.parts else 0
    members = args.members if "fanout" in args.parts else 0
    with (
        tempfile.TemporaryDirectory(prefix=f"push-latency-{backend}-") as name,
        database(backend, Path(name)) as database_url,
    ):
        directory = Path(name)
        instance = directory / "instance"
        key = load_or_create_vapid_key(instance)  # the app reads this one
        service = PushService(
            application_server_key=crypto.public_key_raw(key), delay=args.push_delay
        )
        with service:
            print(
                f"\n[{backend}] preparing: demo data, {conflicts_needed} conflicts, "
                f"{members} members"
            )
            setup = prepare(
                database_url, service, conflicts_needed=conflicts_needed, members=members
            )
            with gunicorn(args.server, database_url, directory) as server:
                if conflicts_needed:
                    print(f"[{backend}] level 3 -> 4 through the outbox, {args.repetitions} times")
                    result["escalation"] = measure_escalation(
                        server,
                        service,
                        setup,
                        warm_up=args.warm_up,
                        repetitions=args.repetitions,
                    )
                if members:
                    print(
                        f"[{backend}] publishing to {members} members (district {setup.district})"
                    )
                    result["fanout"] = measure_fanout(
                        server, service, setup, database_url, instance
                    )
                log = server.log.read_text() if server.log.exists() else ""
                if "Traceback" in log:
                    print(f"[{backend}] errors in the server log:\n{log[-3000:]}")
                result["server_errors"] = "Traceback" in log
            result["push_service_failures"] = list(service.failures)
            result["notifications"] = delivery_states(database_url)
    return result


def print_summary(result: dict[str, Any]) -> None:
    for backend in result["backends"]:
        name = f"{backend['backend']} ({backend['server']})"
        escalation = backend.get("escalation")
        if escalation:
            e = escalation
            verdict = "pass" if e["passed"] else "FAIL"
            print(
                f"\n{name}: level-4 change -> supervisor's push decrypted, {e['repetitions']} "
                f"runs: median {e['supervisor_median_ms']} ms, p90 {e['supervisor_p90_ms']} ms, "
                f"max {e['supervisor_max_ms']} ms (on duty: median {e['on_duty_median_ms']} ms; "
                f"the request answered in {e['answered_median_ms']} ms); goal median <= "
                f"{GOAL_MEDIAN_S * 1000:.0f} ms: {verdict}"
            )
        fanout = backend.get("fanout")
        if fanout:
            f = fanout
            verdict = "pass" if f["passed"] else "FAIL"
            print(
                f"{name}: publish -> {f['members_reached']}/{f['members']} members: first "
                f"{f['first_ms']} ms, median {f['median_ms']} ms, last {f['last_ms']} ms, "
                f"{f['messages_per_s_first_to_last']} messages/s first to last, all rows marked "
                f"sent at {f['all_marked_sent_ms']} ms; goal last <= "
                f"{GOAL_FANOUT_LAST_S * 1000:.0f} ms: {verdict}"
            )
            print(f"  measured: {f['measured']}")
        print(f"  notifications (kind/delivery): {backend['notifications']}")
        if backend["push_service_failures"]:
            print(f"  push service refused: {backend['push_service_failures'][:5]}")


def _csv(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", type=_csv, default=["sqlite", "postgresql"])
    parser.add_argument(
        "--server",
        type=ServerConfig.parse,
        default=ServerConfig("gthread", 2, 4),
        help="gunicorn: sync:<workers> or gthread:<workers>x<threads>",
    )
    parser.add_argument("--parts", type=_csv, default=["latency", "fanout"])
    parser.add_argument("--repetitions", type=int, default=20)
    parser.add_argument("--warm-up", type=int, default=2, help="untimed level-4 changes first")
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument(
        "--push-delay",
        type=float,
        default=0.0,
        help="seconds the test push service takes to answer each message (a real one, over "
        "TLS, takes tens of milliseconds; 0 measures the app alone)",
    )
    args = parser.parse_args(argv)
    unknown = set(args.parts) - {"latency", "fanout"}
    if unknown:
        parser.error(f"unknown parts: {sorted(unknown)}")

    started_load = round(os.getloadavg()[0], 2)
    backends = [run_backend(backend, args) for backend in args.backends]
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average_1min_at_start": started_load,
        "push_service_delay_s": args.push_delay,
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        "goals": {
            "escalation_median_ms": GOAL_MEDIAN_S * 1000,
            "fanout_last_ms": GOAL_FANOUT_LAST_S * 1000,
        },
        "backends": backends,
    }
    print_summary(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"\nWritten to {RESULTS.relative_to(ROOT)}")
    passed = all(
        all(b[part]["passed"] for part in ("escalation", "fanout") if part in b)
        and not b["push_service_failures"]
        and not b["server_errors"]
        for b in backends
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
