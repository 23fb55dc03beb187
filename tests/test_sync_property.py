"""The sync protocol under faults: phones' outboxes against the real server (issue 3).

A hypothesis state machine drives one to five phones (two workers, the first with two phones,
a night walker's and a briefing author's) against the real app through Flask's test client, on
SQLite and on PostgreSQL, with CSRF on. Between them they send every declared record kind
(assert_every_declared_kind_is_sent fails on any other the machine does not send). Each
phone runs a Python port of the outbox's rules (static/js/lib/outbox.js):

- a record is sealed to the server's key (crypto.seal, as the browser does) when it is written,
  online or not; its occurred_at is the phone's wall clock;
- a run sends what is due, oldest first; "send now", "online" and Background Sync send every
  waiting record, the other triggers (timer, page load, after saving a form) only those whose
  back-off has run out; each run starts with a fresh /sync/config (a new CSRF token); offline
  or a 5xx there postpones the run's records; 401/403 there marks them all "waiting for login";
- a record leaves the outbox only on 201/200 stored or replayed, or 200 needs_correction;
  409 marks it "conflict", 422 unreadable and 400 malformed mark it "unreadable" (both stay);
  401/403 mark everything "waiting for login"; a network error, 408, 429, 5xx or any other
  answer (a stale CSRF token's 400) keeps it and retries it after a back-off doubling from 2 s
  to at most 5 minutes on the phone's own clock;
- a run sends its records in batches of `max_batch` (from /sync/config: the server's
  {"records": [...]} form, each record settled by its own result) or, drawn per run, one
  record a request (as with max_batch 1); the final drain sends in batches.

Faults, as rules or as what happens to one request within a run:

- lost acknowledgement: the server commits, the answer never reaches the phone;
- error after commit: the server commits, a proxy answers 500 or 503;
- refused before the app: network error, 408, 429, 500, 502, 503, 504 (and on /sync/config);
- duplicate delivery (a request arrives twice) and late copies of old requests;
- reordered delivery: a run sends its records in a shuffled order;
- a browser killed mid-request, before or after the request reached the server;
- a server restart, once a sequence, between runs or mid-run: the process's memory is lost
  (database connections, the outbox key, read again from the instance folder) and, one time
  in four, a new app object is made on the same database, instance folder and secret key (the
  browsers keep their cookies);
- the phone's clock off by up to 72 hours either way, and set differently between records (a
  contact more than 10 minutes in the future is held as "needs correction": a legitimate
  outcome, not a loss, and the model predicts which);
- session expiry: a night passes and the idle sessions expire, or one expires mid-run (the
  phone gets 401 "login", keeps everything, the worker signs in again through the login form);
- a stale CSRF token (a request made with the token of an earlier sign-in);
- a place removed by an admin while records that name it wait on a phone or are in flight;
- records written offline, several in a row, runs between them, double taps (the same UUID
  and content saved again).

Every answer the app gives is checked against a model of what the server holds (a wrong status
fails the test at once). After every step, and at the end after a fault-free drain of every
outbox (the workers sign in, the network is back), the invariants: 0 records lost (a record
leaves its phone only once the server has it; at the end each record queued is a stored contact
or a held record), 0 duplicated (one row per UUID across contacts and held records, one
contact per note marker), nothing stuck in a permanent state, and the server's count equal to
the number of distinct records queued.

SYNC_PROPERTY_EXAMPLES sets the number of sequences (default 1,000: the issue's minimum per CI
run); SYNC_PROPERTY_STEPS the steps per sequence (default 20). The summary line (pytest -s)
gives the sequences, records, lost, duplicated and where the time went.
"""

from __future__ import annotations

import functools
import os
import random
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col, select

from interrupters import create_app
from interrupters.auth.models import DeviceSession
from interrupters.briefings.models import BriefingReceipt
from interrupters.conflicts import services as conflict_services
from interrupters.conflicts.models import (
    CommunityResponse,
    Conflict,
    ConflictEvent,
    Incident,
    Mediation,
)
from interrupters.contacts.forms import STOCKHOLM
from interrupters.contacts.models import Contact
from interrupters.db import make_engine
from interrupters.picture.models import PlaceObservation
from interrupters.places.models import Place
from interrupters.records import KINDS as DECLARED
from interrupters.records.models import HeldRecord
from interrupters.referrals.models import Referral, ReferralUpdate
from interrupters.sync import crypto
from interrupters.walks.models import WalkReport, WalkSignup

from . import factories
from .conftest import _test_config

EXAMPLES = int(os.environ.get("SYNC_PROPERTY_EXAMPLES", "1000"))
STEPS = int(os.environ.get("SYNC_PROPERTY_STEPS", "20"))

MAX_BACKOFF_MS = 5 * 60 * 1000
DUE_STATES = frozenset({"pending", "sending", "waiting_login"})
# Triggers that send every waiting record whatever the back-off says (outbox.js IMMEDIATE).
IMMEDIATE = frozenset({"button", "online", "background-sync", "logout-refused", "resend"})
TRIGGERS = ("timer", "page-load", "sw-start", "button", "online", "background-sync")
SKEW = 72 * 3600  # seconds
FUTURE_TOLERANCE = timedelta(minutes=10)  # contacts.services.FUTURE_TOLERANCE
JSON = {"Accept": "application/json"}
STALE_TOKEN = "stale-csrf-token"
# Every kind a worker's phone sends ("contact" first: shrinking aims for it).
KINDS = (
    "contact",
    "conflict",
    "conflict_update",
    "mediation",
    "incident",
    "community_response",
    "referral",
    "referral_update",
    "place_signal",
)
# What a night walker's phone sends (the fourth phone): walk reports and briefing receipts.
WALKER_KINDS = ("walk_report", "briefing_read", "briefing_ack")
# What a briefing author's phone sends (the fifth): the situational picture's observations.
AUTHOR_KINDS = ("place_observation",)
# Declared kinds no phone here sends (none: every kind is sent).
NOT_SENT: frozenset[str] = frozenset()
# Kinds no phone time holds: a walk report has none; a receipt keeps a time ahead as it is.
UNTIMED = frozenset({"walk_report", "briefing_read", "briefing_ack"})
# The field that names a record's place, where it is not the location select.
PLACE_FIELD = {
    "walk_report": "places_visited",
    "place_signal": "place_id",
    "place_observation": "place_id",
}
# Places of the walk's district (Järva): a walk report names the drawn place if it is one.
WALK_PLACES = ("Rinkeby torg", "Tensta centrum")
# The picture's kinds name a place of the districts served (Järva), never an area.
PICTURE_KINDS = frozenset({"place_signal", "place_observation"})
# Kinds whose location is an area (a removed place does not concern them), or none at all.
AREA_ONLY = frozenset({"community_response"})
NO_PLACE = frozenset(
    {"conflict_update", "mediation", "community_response", "referral", "referral_update"}
    | {"briefing_read", "briefing_ack"}
)
# The field that carries a record's own time, where it is not occurred_at.
TIME_FIELD = {
    "referral": "made_at",
    "place_signal": "observed_at",
    "place_observation": "observed_at",
}
LOCATIONS = ("Rinkeby torg", "Tensta centrum", "Bredängs centrum", "area:Rinkeby", "area:Tensta")
AGE_BANDS = ("<15", "15-17", "18-20", "25+")
OK = ("ok", None)
F = TypeVar("F", bound=Callable[..., Any])

# A restart makes a new app object one time in four (then its cold caches cost ~0.1 s).
NEW_APP = (False,) * 3 + (True,)
# What happens to one attempt to send one record ("ok" first: shrinking aims for it).
ATTEMPT = st.one_of(
    st.just(OK),
    st.just(OK),
    st.tuples(st.just("lost_ack"), st.none()),
    st.tuples(st.just("error_after_commit"), st.sampled_from([500, 503])),
    st.tuples(st.just("refused"), st.sampled_from([None, 408, 429, 500, 502, 503, 504])),
    # The request arrives twice; the phone sees the first answer or the second.
    st.tuples(st.just("duplicate"), st.booleans()),
    # The browser dies mid-request, after the request reached the server or before.
    st.tuples(st.just("killed"), st.booleans()),
    # Something happens on the server side just before the request.
    st.one_of(
        st.tuples(st.just("expire_session"), st.none()),
        st.tuples(st.just("restart"), st.sampled_from(NEW_APP)),
        st.tuples(st.just("stale_csrf"), st.none()),
    ),
)
PHONE = st.integers(0, 4)
# The 72-hour range, and the ten-minute boundary where contacts start to be held.
CLOCK_SKEW = st.one_of(st.integers(-SKEW, SKEW), st.integers(9 * 60, 12 * 60))


# Seconds spent per kind of work, for the summary line (where a run's time goes).
TIMES: defaultdict[str, float] = defaultdict(float)


def timed(name: str) -> Callable[[F], F]:
    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                TIMES[name] += time.perf_counter() - started

        return wrapper  # type: ignore[return-value]

    return decorate


@pytest.fixture
def database_url(database_url: str) -> Iterator[str]:
    """conftest's database, with commits that do not wait for the disk.

    The app commits once a record (SQLite: synchronous=FULL; PostgreSQL: synchronous_commit
    on), and on this machine's disk the fsync is a good part of a record's cost. This test is
    about the protocol, not power loss: what a commit makes visible, and when, is the same.
    SQLite's file goes to /dev/shm; PostgreSQL's sessions get synchronous_commit=off.
    """
    if database_url.startswith("postgresql"):
        yield database_url + "?options=-c%20synchronous_commit%3Doff"
        return
    shm = Path("/dev/shm")
    if not shm.is_dir():
        yield database_url
        return
    folder = Path(tempfile.mkdtemp(prefix="sync-property-", dir=shm))
    target = folder / "test.db"
    shutil.copyfile(database_url.removeprefix("sqlite:///"), target)
    try:
        yield f"sqlite:///{target}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def app_config() -> dict[str, Any]:
    # The phone fetches a fresh CSRF token before each run: check that it is enough.
    return {"WTF_CSRF_ENABLED": True}


@dataclass
class Entry:
    """One record in a phone's outbox (store.js OutboxRecord)."""

    client_uuid: str
    envelope: dict[str, Any]
    created_at: float
    state: str = "pending"
    attempts: int = 0
    next_attempt_at: float = 0.0


@dataclass
class Record:
    """What the test knows of a record: who queued it, and what the server holds of it."""

    client_uuid: str
    phone: int
    kind: str  # every kind a phone sends (issue 8)
    payload: dict[str, Any]
    place: str | None  # the place it names, None for "elsewhere in an area"
    occurred_at: datetime  # as the server will read the form's local time
    server: str | None = None  # None, "stored" or "held"
    sent: bool = False  # a request carrying it was ever made


@dataclass
class Device:
    """A phone's browser: its cookies (the session) live in the test client."""

    index: int
    email: str
    user_id: int
    client: FlaskClient
    device_id: int = 0
    signed_in: bool = False  # as the server sees it
    public_key: str | None = None
    # Signing in starts a new Flask session: CSRF tokens from before are stale.
    epoch: int = 0
    token: tuple[str, int] | None = None  # the last CSRF token fetched, and its epoch
    outbox: dict[str, Entry] = field(default_factory=dict)
    skew: float = 0.0  # seconds the phone's clock is off


def sign_in(client: FlaskClient, email: str) -> None:
    """Through the real login form, with its CSRF token."""
    page = client.get("/login").get_data(as_text=True)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert found, "no CSRF token on the login page"
    response = client.post(
        "/login",
        data={"email": email, "password": factories.PASSWORD, "csrf_token": found[1]},
        headers={"Referer": "https://localhost/login"},
    )
    assert response.status_code == 302, response.status_code


class Harness:
    """What lives across sequences: the server, the database checker, the phones' browsers."""

    def __init__(
        self, app: Flask, url: str, session: Session, world: factories.World, instance: Path
    ) -> None:
        self.app = app
        self.config = _test_config(url, INSTANCE_PATH=str(instance), WTF_CSRF_ENABLED=True)
        self.checker: Engine = make_engine(url)
        # The invariant reads after every step: one connection in autocommit, no pool ping.
        self.reader_proxy = self.checker.raw_connection()
        self.reader: Any = cast(Any, self.reader_proxy.driver_connection)
        if url.startswith("sqlite"):
            self.reader.isolation_level = None
        else:
            self.reader.autocommit = True
        self.places = {name: place.id for name, place in world.places.items()}
        self.areas = {name: area.id for name, area in world.areas.items()}
        users = [factories.create_user(session, world, "interrupter") for _ in range(2)]
        session.commit()
        # The conflict that the phones' updates and mediations are about.
        conflict, _created = conflict_services.flag_conflict(
            session=session,
            actor=factories.principal(session, users[0]),
            data=conflict_services.ConflictInput.model_validate(
                {
                    "area_id": world.areas["Rinkeby"].id,
                    "detected_via": "street",
                    "catalyst": "territory",
                    "type": "group_vs_group",
                    "parties_count": 2,
                    "risk_level": 1,
                    "occurred_at": datetime.now(UTC) - timedelta(days=1),
                }
            ),
            client_uuid=str(uuid.uuid4()),
        )
        session.commit()
        self.conflict_id = conflict.id or 0
        # A participant in each worker's caseload, and a service, for referrals.
        service = factories.create_service(session, world)
        participants = {
            user.id: factories.create_participant_for(session, world, user) for user in users
        }
        self.participants = {user_id: p.id for user_id, p in participants.items()}
        session.commit()
        self.service_id = service.id or 0
        # A referral of each worker's, made before the furthest a phone's clock runs behind:
        # the status changes the phones send concern it (never closing it, so only a time in
        # the future holds one, as for the other kinds).
        self.referrals = {
            user.id: factories.create_referral(
                session,
                user,
                participants[user.id],
                service,
                made_at=datetime.now(UTC) - timedelta(seconds=SKEW, days=1),
            ).id
            for user in users
        }
        session.commit()
        # A night walker signed up to a walk that has begun, and a briefing for its district.
        factories.serve(session, world, "municipal")
        factories.serve(session, world, "association")
        lead = factories.create_user(session, world, "association_lead")
        walker = factories.create_user(session, world, "night_walker")
        walk = factories.create_walk(
            session, world, lead, planned_start=datetime.now(UTC) - timedelta(hours=4)
        )
        session.add(WalkSignup(walk_id=walk.id, user_id=walker.id))
        author = factories.create_user(session, world, "briefing_author")
        briefing = factories.create_briefing(
            session, world, author, publish=True, valid_to=datetime.now(UTC) + timedelta(days=30)
        )
        session.commit()
        self.walk_id, self.briefing_id = walk.id or 0, briefing.id or 0
        # Two workers, the first with two phones; the night walker's phone is the fourth, the
        # briefing author's (the municipality's observations) the fifth.
        self.devices = [
            Device(index=i, email=user.email, user_id=user.id or 0, client=app.test_client())
            for i, user in enumerate((users[0], users[1], users[0], walker, author))
        ]
        self.stats: Counter[str] = Counter()
        self.backoff_left_s = 0.0
        self.dirty = True
        self.places_removed = False

    def location(self, name: str) -> tuple[str, str | None]:
        if name.startswith("area:"):
            return f"area:{self.areas[name.removeprefix('area:')]}", None
        return f"place:{self.places[name]}", name

    @timed("reset")
    def reset(self) -> None:
        """Each sequence starts with no contacts, no held records and every place active."""
        if self.dirty:
            with self.checker.begin() as connection:
                connection.execute(delete(HeldRecord))
                connection.execute(delete(Contact))
                # Every other kind's rows; the conflict that updates and mediations name stays.
                keep = self.conflict_id
                connection.execute(
                    delete(ConflictEvent).where(
                        (col(ConflictEvent.conflict_id) != keep)
                        | col(ConflictEvent.client_uuid).is_not(None)
                        | col(ConflictEvent.mediation_id).is_not(None)
                    )
                )
                connection.execute(delete(Mediation))
                connection.execute(delete(Incident))
                connection.execute(delete(CommunityResponse))
                connection.execute(delete(Conflict).where(col(Conflict.id) != keep))
                connection.execute(delete(ReferralUpdate))
                connection.execute(delete(WalkReport))
                connection.execute(delete(BriefingReceipt))
                connection.execute(delete(PlaceObservation))
                connection.execute(
                    delete(Referral).where(col(Referral.id).not_in(list(self.referrals.values())))
                )
                if self.places_removed:
                    connection.execute(
                        update(Place).where(col(Place.active).is_(False)).values(active=True)
                    )
            self.dirty = self.places_removed = False
        for device in self.devices:
            device.outbox.clear()
            device.skew = 0.0

    @timed("check database")
    def server_rows(self) -> tuple[list[tuple[str, str]], list[str]]:
        """Every contact's UUID and note, every held record's UUID: one round trip."""
        cursor = self.reader.cursor()
        try:
            # Every kind's stored UUIDs (contacts with their note marker; the others' UUID
            # stands in for it), and the held records' (marker NULL).
            cursor.execute(
                "SELECT client_uuid, note FROM contact"
                " UNION ALL SELECT client_uuid, client_uuid FROM conflict"
                f" WHERE client_uuid IS NOT NULL AND id <> {int(self.conflict_id)}"
                " UNION ALL SELECT client_uuid, client_uuid FROM conflict_event"
                " WHERE client_uuid IS NOT NULL"
                " UNION ALL SELECT client_uuid, client_uuid FROM mediation"
                " UNION ALL SELECT client_uuid, client_uuid FROM incident"
                " UNION ALL SELECT client_uuid, client_uuid FROM community_response"
                " UNION ALL SELECT client_uuid, client_uuid FROM referral"
                f" WHERE id NOT IN ({', '.join(str(int(i)) for i in self.referrals.values())})"
                " UNION ALL SELECT client_uuid, client_uuid FROM referral_update"
                " UNION ALL SELECT client_uuid, client_uuid FROM walk_report"
                " UNION ALL SELECT client_uuid, client_uuid FROM briefing_receipt"
                " UNION ALL SELECT client_uuid, client_uuid FROM place_observation"
                " UNION ALL SELECT client_uuid, NULL FROM held_record"
            )
            rows = cursor.fetchall()
        finally:
            cursor.close()
        contacts = [(u, note) for u, note in rows if note is not None]
        return contacts, [u for u, note in rows if note is None]

    @timed("sign in")
    def sign_in(self, device: Device) -> None:
        sign_in(device.client, device.email)
        with self.checker.connect() as connection:
            device.device_id = connection.execute(
                select(DeviceSession.id)
                .where(DeviceSession.user_id == device.user_id)
                .order_by(col(DeviceSession.id).desc())
                .limit(1)
            ).scalar_one()
        device.signed_in = True
        device.epoch += 1
        self.stats["sign-ins"] += 1

    @timed("expire session")
    def expire_session(self, device: Device) -> None:
        """The device's session passes its idle limit on the server."""
        with self.checker.begin() as connection:
            connection.execute(
                update(DeviceSession)
                .where(col(DeviceSession.id) == device.device_id)
                .values(last_seen_at=datetime.now(UTC) - timedelta(days=30))
            )
        device.signed_in = False
        self.stats["session expiries"] += 1

    @timed("restart")
    def restart(self, new_app: bool) -> None:
        """The server process restarts on the same database, instance folder and secret key.

        With `new_app` a new app object is made (create_app) and each browser keeps its
        cookies; otherwise the app loses what a process keeps in memory (its database
        connections, its copy of the outbox key). A new app costs ~0.1 s in cold caches.
        """
        if not new_app:
            self.app.extensions["db_engine"].dispose()
            self.app.extensions.pop("outbox_key", None)
            self.stats["restarts"] += 1
            return
        old = self.app
        self.app = create_app(self.config)
        for device in self.devices:
            client = self.app.test_client()
            cookie = device.client.get_cookie("session")
            if cookie is not None:
                client.set_cookie("session", cookie.value)
            device.client = client
        old.extensions["db_engine"].dispose()
        self.stats["restarts"] += 1
        self.stats["restarts with a new app"] += 1

    def close(self) -> None:
        self.reader_proxy.close()
        self.app.extensions["db_engine"].dispose()
        self.checker.dispose()


def machine_for(harness: Harness) -> type[RuleBasedStateMachine]:
    """The state machine, bound to this test's server and phones."""

    class SyncProtocol(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            harness.reset()
            self.phones: list[Device] = []
            self.records: dict[str, Record] = {}
            self.removed: set[str] = set()  # places removed during this sequence
            self.now = 0.0  # the real time elapsed, in seconds (drives back-off only)
            self.restarts = 0
            self.expiries = 0
            harness.stats["sequences"] += 1

        # -- the phone's clock and the outbox's rules (outbox.js) --------------------------

        def clock_ms(self, phone: Device) -> float:
            """Date.now() on the phone: the real time plus the phone's error."""
            return (self.now + phone.skew) * 1000

        def due(self, phone: Device, immediate: bool = False) -> list[Entry]:
            now = self.clock_ms(phone)
            entries = sorted(phone.outbox.values(), key=lambda e: e.created_at)
            return [
                e
                for e in entries
                if e.state in DUE_STATES
                and (immediate or e.next_attempt_at <= now or e.state == "waiting_login")
            ]

        def retry_later(self, phone: Device, entry: Entry) -> None:
            entry.attempts += 1
            ceiling = min(MAX_BACKOFF_MS, 1000 * 2**entry.attempts)
            entry.state = "pending"
            entry.next_attempt_at = self.clock_ms(phone) + ceiling * 0.75

        def mark_all(self, phone: Device, state: str) -> None:
            for entry in phone.outbox.values():
                if entry.state in DUE_STATES:
                    entry.state = state
                    entry.next_attempt_at = self.clock_ms(phone)

        def handle(self, phone: Device, entry: Entry, status: int | None, body: Any) -> str:
            """What sendOne does with the answer the phone sees (None: a network error)."""
            outcome = body.get("status") if isinstance(body, dict) else None
            if status is None:
                self.retry_later(phone, entry)
                return "stop"
            if status in (200, 201) and outcome in ("stored", "replayed"):
                del phone.outbox[entry.client_uuid]
                return "sent"
            if status == 200 and outcome == "needs_correction":
                del phone.outbox[entry.client_uuid]
                return "held"
            if status == 409:
                entry.state = "conflict"
                return "kept"
            if (status == 422 and outcome == "unreadable") or (
                status == 400 and outcome == "malformed"
            ):
                entry.state = "unreadable"
                return "kept"
            if status == 401 and outcome == "revoked":
                raise AssertionError("a device nobody revoked was told to wipe itself")
            if status in (401, 403):
                self.mark_all(phone, "waiting_login")
                return "stop"
            self.retry_later(phone, entry)
            return "stop"

        def run(
            self,
            phone: Device,
            reason: str = "timer",
            attempts: list[tuple[str, Any]] | tuple[()] = (),
            order: random.Random | None = None,
            config_fault: str | int | None = None,
            batch: bool = False,
        ) -> str:
            """One sending run (outbox.js run()): a fresh config, then every due record.

            `batch` sends the due records as one request each `max_batch` records (the
            server's batch form) instead of one request a record.
            """
            records = self.due(phone, immediate=reason in IMMEDIATE)
            if not records:
                return "empty"
            harness.stats["runs"] += 1
            if config_fault is not None:
                # Offline, or a proxy's 503 that never reached the app: postpone() them all.
                for entry in records:
                    self.retry_later(phone, entry)
                return "offline"
            status, body = self.fetch_config(phone)
            if status in (401, 403):
                self.mark_all(phone, "waiting_login")
                return "login"
            token = (body["csrf_token"], phone.epoch)
            size = int(body.get("max_batch", 1)) if batch else 1
            faults = list(attempts)
            while records:
                if order is not None:
                    order.shuffle(records)
                for start in range(0, len(records), size):
                    fault = faults.pop(0) if faults else OK
                    outcome = self.send(phone, records[start : start + size], token, fault, batch)
                    if outcome in ("stop", "killed"):
                        return outcome
                records = self.due(phone)
            return "done"

        def send(
            self,
            phone: Device,
            entries: list[Entry],
            token: tuple[str, int],
            fault: tuple[str, Any],
            batch: bool,
        ) -> str:
            """One request carrying one record (sendOne) or a batch, and what the phone does."""
            kind, arg = fault
            harness.stats[f"attempt: {kind}"] += 1
            for entry in entries:
                entry.state = "sending"
            if kind == "refused":
                return self.apply(phone, entries, arg, None, batch)
            if kind == "expire_session" and not self.expiries:
                self.expire(phone)
            elif kind == "restart":
                self.restart_server(arg)
            elif kind == "stale_csrf":
                token = (STALE_TOKEN, phone.epoch)
            post = self.deliver_batch if batch else self.deliver_one
            if kind == "killed":
                if arg:
                    post(phone, entries, token)
                return "killed"  # the page is gone: its records stay "sending"
            status: int | None
            status, body = post(phone, entries, token)
            if kind == "duplicate":
                again = post(phone, entries, token)
                if arg:
                    status, body = again
            elif kind == "lost_ack":
                status, body = None, None
            elif kind == "error_after_commit":
                status, body = arg, None
            return self.apply(phone, entries, status, body, batch)

        def apply(
            self, phone: Device, entries: list[Entry], status: int | None, body: Any, batch: bool
        ) -> str:
            """send() in outbox.js: each record of a batch by its own answer; an answer for
            the request as a whole counts for every record in it (for a batch, anything but
            401/403 means "retry": it says nothing about the records' content)."""
            retry: tuple[int | None, Any] = (503, None)
            answers: list[tuple[int | None, Any]]
            if batch and status == 200 and isinstance(body, dict) and body["status"] == "batch":
                results = body["results"]
                answers = []
                for i, entry in enumerate(entries):
                    mine = i < len(results) and results[i].get("client_uuid") == entry.client_uuid
                    answers.append((results[i].get("code"), results[i]) if mine else retry)
            elif batch and status not in (401, 403):
                answers = [retry] * len(entries)
            else:
                answers = [(status, body)] * len(entries)
            outcomes = [self.handle(phone, e, *answer) for e, answer in zip(entries, answers)]
            return "stop" if "stop" in outcomes else "continue"

        # -- the server, and what its answers must be ---------------------------------------

        @timed("config requests")
        def fetch_config(self, phone: Device) -> tuple[int, Any]:
            response = phone.client.get("/sync/config", headers=JSON)
            harness.stats["requests"] += 1
            body: Any = response.get_json(silent=True)
            if not phone.signed_in:
                assert (response.status_code, body) == (401, {"status": "login"}), body
            else:
                assert response.status_code == 200, (response.status_code, body)
                # A restart must not change the key: queued records are sealed to it.
                if phone.public_key is not None:
                    assert body["public_key"] == phone.public_key, "the server's key changed"
                phone.public_key = body["public_key"]
                phone.token = (body["csrf_token"], phone.epoch)
            return response.status_code, body

        @timed("record requests")
        def post(self, phone: Device, token: tuple[str, int], body: dict[str, Any]) -> Any:
            harness.dirty = True
            harness.stats["requests"] += 1
            return phone.client.post(
                "/sync/records",
                json=body,
                headers={
                    **JSON,
                    "X-CSRFToken": token[0],
                    "Referer": "https://localhost/contacts/new",
                },
            )

        def item(self, entry: Entry) -> dict[str, Any]:
            record = self.records[entry.client_uuid]
            record.sent = True
            harness.stats["records sent"] += 1
            return {
                "kind": record.kind,
                "client_uuid": entry.client_uuid,
                "sealed_uuid": entry.client_uuid,
                "envelope": entry.envelope,
            }

        def deliver_one(
            self, phone: Device, entries: list[Entry], token: tuple[str, int]
        ) -> tuple[int, Any]:
            """One request that reaches the app; its real answer is checked against the model."""
            (entry,) = entries
            before = datetime.now(UTC)
            response = self.post(phone, token, self.item(entry))
            after = datetime.now(UTC)
            status, body = response.status_code, response.get_json(silent=True)
            if not self.refused(phone, token, status, body):
                record = self.records[entry.client_uuid]
                self.check_answer(record, status, body, before, after)
            return status, body

        def deliver_batch(
            self, phone: Device, entries: list[Entry], token: tuple[str, int]
        ) -> tuple[int, Any]:
            before = datetime.now(UTC)
            response = self.post(phone, token, {"records": [self.item(e) for e in entries]})
            after = datetime.now(UTC)
            status, body = response.status_code, response.get_json(silent=True)
            harness.stats["batches"] += 1
            if not self.refused(phone, token, status, body):
                assert status == 200 and body["status"] == "batch", (status, body)
                assert len(body["results"]) == len(entries), body
                for entry, result in zip(entries, body["results"]):
                    record = self.records[entry.client_uuid]
                    self.check_answer(record, result["code"], result, before, after)
            return status, body

        def refused(self, phone: Device, token: tuple[str, int], status: int, body: Any) -> bool:
            """Whether the request as a whole was refused, as it must be, before any record."""
            if token[0] == STALE_TOKEN or token[1] != phone.epoch:
                # A stale CSRF token: retried by the phone, never marked unreadable.
                assert status == 400 and (body or {}).get("status") != "malformed", (status, body)
                return True
            if not phone.signed_in:
                assert (status, body) == (401, {"status": "login"}), (status, body)
                return True
            return False

        def check_answer(
            self, record: Record, status: int, body: Any, before: datetime, after: datetime
        ) -> None:
            """The answer for one record must follow from what the server holds of it."""
            seen = f"{record.client_uuid} answered {status} {body} (server had: {record.server})"
            assert isinstance(body, dict) and body.get("client_uuid") == record.client_uuid, seen
            if record.server == "stored":
                assert (status, body["status"]) == (200, "replayed"), seen
                return
            if record.server == "held":
                assert (status, body["status"]) == (200, "needs_correction"), seen
                return
            removed = record.place in self.removed
            timed = record.kind not in UNTIMED
            future_after = timed and record.occurred_at > after + FUTURE_TOLERANCE
            future_before = timed and record.occurred_at > before + FUTURE_TOLERANCE
            if (status, body["status"]) == (201, "stored"):
                assert not removed and not future_after, "stored, but should be held: " + seen
                record.server = "stored"
                harness.stats["stored"] += 1
            elif (status, body["status"]) == (200, "needs_correction"):
                assert removed or future_before, "held, but valid: " + seen
                errors = set(body.get("errors") or {})
                time_field = TIME_FIELD.get(record.kind, "occurred_at")
                place_field = PLACE_FIELD.get(record.kind, "location")
                assert errors == ({place_field} if removed else {time_field}), seen
                record.server = "held"
                harness.stats["held"] += 1
            else:
                raise AssertionError("wrong answer: " + seen)

        def restart_server(self, new_app: bool) -> None:
            # Once a sequence (between runs or mid-run): new database connections are new
            # PostgreSQL backends with cold caches, and a new app has cold caches of its own.
            if not self.restarts:
                harness.restart(new_app)
                self.restarts += 1

        # -- rules ----------------------------------------------------------------------------

        @initialize(count=st.integers(1, 5))
        def phones_in_use(self, count: int) -> None:
            self.phones = harness.devices[:count]
            for phone in self.phones:
                if not phone.signed_in:
                    harness.sign_in(phone)
                if phone.public_key is None:
                    self.fetch_config(phone)

        def phone(self, index: int) -> Device:
            return self.phones[index % len(self.phones)]

        @rule(
            index=PHONE,
            count=st.integers(1, 2),
            where=st.sampled_from(LOCATIONS),
            age_band=st.sampled_from(AGE_BANDS),
            send=st.booleans(),
            attempts=st.lists(ATTEMPT, max_size=3),
            batch=st.booleans(),
            kind=st.sampled_from(KINDS + WALKER_KINDS + AUTHOR_KINDS),
        )
        def write_contacts(
            self,
            index: int,
            count: int,
            where: str,
            age_band: str,
            send: bool,
            attempts: list[tuple[str, Any]],
            batch: bool,
            kind: str,
        ) -> None:
            """Records saved on the phone, one or two in a row; online, a run follows."""
            phone = self.phone(index)
            # Each phone sends its role's kinds: the same draw, read as one of them.
            own = {3: WALKER_KINDS, 4: AUTHOR_KINDS}.get(phone.index, KINDS)
            if kind not in own:
                kind = own[(KINDS + WALKER_KINDS + AUTHOR_KINDS).index(kind) % len(own)]
            if kind in AREA_ONLY and not where.startswith("area:"):
                where = "area:Rinkeby"
            if kind in PICTURE_KINDS and where not in WALK_PLACES:
                where = WALK_PLACES[len(where) % len(WALK_PLACES)]
            location, place = harness.location(where)
            if kind in NO_PLACE or (kind == "walk_report" and place not in WALK_PLACES):
                place = None
            for _ in range(count):
                local = (datetime.now(UTC) + timedelta(seconds=phone.skew)).astimezone(STOCKHOLM)
                occurred = local.strftime("%Y-%m-%dT%H:%M")
                client_uuid = str(uuid.uuid4())
                payload = payload_of(
                    kind, client_uuid, occurred, location, age_band, harness.conflict_id
                )
                if kind == "referral":
                    payload |= {
                        "participant_id": str(harness.participants[phone.user_id]),
                        "service_id": str(harness.service_id),
                    }
                if kind == "referral_update":
                    payload |= {"referral_id": str(harness.referrals[phone.user_id])}
                if kind == "walk_report":
                    visited = [str(harness.places[place])] if place else []
                    payload |= {"walk_id": str(harness.walk_id), "places_visited": visited}
                if kind in ("briefing_read", "briefing_ack"):
                    payload |= {"briefing_id": str(harness.briefing_id)}
                if kind in PICTURE_KINDS:
                    payload |= {"place_id": str(harness.places[str(place)])}
                self.records[client_uuid] = Record(
                    client_uuid=client_uuid,
                    phone=phone.index,
                    kind=kind,
                    payload=payload,
                    place=place,
                    # The server reads the form's wall-clock time as Stockholm's.
                    occurred_at=datetime.strptime(occurred, "%Y-%m-%dT%H:%M").replace(
                        tzinfo=STOCKHOLM
                    ),
                )
                self.enqueue(phone, client_uuid)
                harness.stats["records queued"] += 1
                harness.stats[f"queued {kind}"] += 1
            if send:
                self.run(phone, "saved", attempts, batch=batch)

        @timed("seal")
        def enqueue(self, phone: Device, client_uuid: str) -> None:
            assert phone.public_key is not None
            record = self.records[client_uuid]
            phone.outbox[client_uuid] = Entry(
                client_uuid=client_uuid,
                envelope=crypto.seal(
                    phone.public_key, record.payload, kind=record.kind, client_uuid=client_uuid
                ),
                created_at=self.clock_ms(phone),
                next_attempt_at=self.clock_ms(phone),
            )

        @precondition(lambda self: bool(self.records))
        @rule(pick=st.integers(0, 1000))
        def double_tap(self, pick: int) -> None:
            """The same form submitted again: the same UUID and content, sealed anew."""
            record = list(self.records.values())[pick % len(self.records)]
            self.enqueue(harness.devices[record.phone], record.client_uuid)
            harness.stats["double taps"] += 1

        @rule(
            index=PHONE,
            reason=st.sampled_from(TRIGGERS),
            attempts=st.lists(ATTEMPT, max_size=4),
            order=st.none() | st.randoms(use_true_random=False),
            config_fault=st.sampled_from([None, None, "offline", 503]),
            batch=st.booleans(),
        )
        def send_run(
            self,
            index: int,
            reason: str,
            attempts: list[tuple[str, Any]],
            order: random.Random | None,
            config_fault: str | int | None,
            batch: bool,
        ) -> None:
            """A run on a trigger ("send now", online, page load, a timer, Background Sync)."""
            self.run(self.phone(index), reason, attempts, order, config_fault, batch)

        @precondition(lambda self: any(r.sent for r in self.records.values()))
        @rule(pick=st.integers(0, 1000))
        def old_request_arrives_again(self, pick: int) -> None:
            """The network delivers a copy of an earlier request; nobody reads the answer."""
            sent = [r for r in self.records.values() if r.sent]
            record = sent[pick % len(sent)]
            phone = harness.devices[record.phone]
            entry = phone.outbox.get(record.client_uuid) or Entry(
                client_uuid=record.client_uuid,
                envelope=crypto.seal(
                    phone.public_key or "",
                    record.payload,
                    kind=record.kind,
                    client_uuid=record.client_uuid,
                ),
                created_at=0,
            )
            # With the token it carried then (stale if the worker signed in since).
            assert phone.token is not None
            self.deliver_one(phone, [entry], phone.token)
            harness.stats["late duplicates"] += 1

        @rule(seconds=st.sampled_from([0, 1, 10, 30, 60, 120, 200, 300, 400, 600, 900, 13 * 3600]))
        def time_passes(self, seconds: int) -> None:
            """Back-offs run out; after 13 hours (a night) the idle sessions have expired."""
            self.now += seconds
            if seconds > 12 * 3600:
                for phone in self.phones:
                    self.expire(phone)

        @rule(index=PHONE, skew=CLOCK_SKEW)
        def phone_clock_changes(self, index: int, skew: int) -> None:
            """The phone's clock is off (or set right again): new records carry its time."""
            self.phone(index).skew = skew

        def expire(self, phone: Device) -> None:
            """The session passes its idle limit on the server (the phone is not told)."""
            # A night expires each phone's session once; mid-run, one phone's if none has
            # expired yet. Signing in again (two requests) is among the costliest steps.
            if phone.signed_in and self.expiries < len(self.phones):
                harness.expire_session(phone)
                self.expiries += 1

        @precondition(lambda self: not all(p.signed_in for p in self.phones))
        @rule(index=PHONE)
        def worker_signs_in(self, index: int) -> None:
            phone = self.phone(index)
            if not phone.signed_in:
                harness.sign_in(phone)

        @precondition(lambda self: not self.restarts)
        @rule(new_app=st.sampled_from(NEW_APP))
        def server_restarts(self, new_app: bool) -> None:
            self.restart_server(new_app)

        @precondition(lambda self: len(self.removed) < 2)
        @rule(name=st.sampled_from([n for n in LOCATIONS if not n.startswith("area:")]))
        def admin_removes_place(self, name: str) -> None:
            """A place is retired while records naming it wait or are in flight."""
            with harness.checker.begin() as connection:
                connection.execute(
                    update(Place).where(col(Place.id) == harness.places[name]).values(active=False)
                )
            harness.dirty = harness.places_removed = True
            self.removed.add(name)

        # -- invariants -----------------------------------------------------------------------

        @invariant()
        def nothing_lost_or_duplicated(self) -> None:
            for record in self.records.values():
                if record.client_uuid not in harness.devices[record.phone].outbox:
                    assert record.server is not None, f"{record.client_uuid} left the outbox unsent"
            if harness.dirty:
                self.compare_with_server()

        def compare_with_server(self) -> None:
            contacts, held = harness.server_rows()
            uuids = [u for u, _note in contacts]
            notes = [note for _u, note in contacts]
            assert len(set(uuids)) == len(uuids), "one record stored twice"
            assert len(set(notes)) == len(notes), "one note stored twice"
            assert len(set(held)) == len(held), "one record held twice"
            both = set(uuids) & set(held)
            assert not both, f"stored and held at once: {both}"
            expected_stored = {u for u, r in self.records.items() if r.server == "stored"}
            expected_held = {u for u, r in self.records.items() if r.server == "held"}
            assert set(uuids) == expected_stored, set(uuids) ^ expected_stored
            assert set(held) == expected_held, set(held) ^ expected_held

        @timed("teardown")
        def teardown(self) -> None:
            failed = sys.exc_info()[0]
            if failed is not None:
                # A step failed (that is what hypothesis reports), or hypothesis stopped the
                # sequence itself (its data ran out): nothing to drain or check.
                harness.stats[f"sequences ended by {failed.__name__}"] += 1
                return
            self.drain()
            contacts, held = harness.server_rows()
            on_server = [u for u, _note in contacts] + held
            notes = Counter(note for _u, note in contacts)
            lost = [
                u
                for u in self.records
                if u not in on_server and u not in harness.devices[self.records[u].phone].outbox
            ]
            duplicated = sum(n - 1 for n in notes.values()) + len(on_server) - len(set(on_server))
            harness.stats["lost"] += len(lost)
            harness.stats["duplicated"] += duplicated
            assert not lost, f"lost: {lost}"
            assert duplicated == 0, f"duplicated: {duplicated}"
            for phone in self.phones:
                stuck = {e.client_uuid: e.state for e in phone.outbox.values()}
                assert not stuck, f"records left on phone {phone.index}: {stuck}"
            assert sorted(on_server) == sorted(self.records), "server count != records queued"
            self.compare_with_server()
            harness.stats["sequences checked"] += 1
            harness.stats["records checked"] += len(self.records)

        def drain(self) -> None:
            """No more faults: every worker signs in, the network is back ("online").

            In batches: the single-record path has had its runs; this is the cheaper way to
            get every record to the server, where the invariants are checked.
            """
            for _ in range(5):
                waiting = False
                for phone in self.phones:
                    if not phone.signed_in:
                        harness.sign_in(phone)
                    if any(e.state in DUE_STATES for e in phone.outbox.values()):
                        waiting = True
                        # How long the timer would still wait: > 5 min only after the
                        # phone's clock was set back (reported, not a failure).
                        left = max(e.next_attempt_at for e in phone.outbox.values())
                        harness.backoff_left_s = max(
                            harness.backoff_left_s, (left - self.clock_ms(phone)) / 1000
                        )
                        self.run(phone, "online", batch=True)
                if not waiting:
                    return

    return SyncProtocol


def test_sync_protocol_under_faults(
    app: Flask, database_url: str, session: Session, world: factories.World
) -> None:
    """SYNC_PROPERTY_EXAMPLES sequences (default 1,000) with 0 records lost or duplicated."""
    assert_every_declared_kind_is_sent()
    harness = Harness(app, database_url, session, world, Path(app.instance_path))
    for device in harness.devices:
        harness.sign_in(device)
    started, cpu = time.perf_counter(), time.process_time()
    try:
        run_state_machine_as_test(
            machine_for(harness),
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                print_blob=True,
                suppress_health_check=[
                    HealthCheck.too_slow,
                    HealthCheck.function_scoped_fixture,
                    HealthCheck.filter_too_much,
                    HealthCheck.data_too_large,
                    HealthCheck.large_base_example,
                ],
            ),
        )
    finally:
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        stats = harness.stats
        backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
        print(
            f"\nsync property ({backend}): {stats['sequences checked']} sequences checked"
            f" ({stats['sequences']} started) in {elapsed:.1f} s ({cpu:.1f} s CPU in this process);"
            f" {stats['records checked']} records queued and checked ({stats['stored']} stored,"
            f" {stats['held']} held), lost {stats['lost']}, duplicated {stats['duplicated']};"
            f" {stats['requests']} requests; longest back-off left at a drain"
            f" {harness.backoff_left_s / 3600:.1f} h"
        )
        print("  " + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())))
        spent = sorted(TIMES.items(), key=lambda item: -item[1])
        print("  seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in spent))
        TIMES.clear()
        harness.close()


def assert_every_declared_kind_is_sent() -> None:
    """A kind declared (records.declare) that no phone of the machine sends fails here."""
    sent = set(KINDS) | set(WALKER_KINDS) | set(AUTHOR_KINDS)
    missing = set(DECLARED) - sent - NOT_SENT
    assert not missing, f"declared kinds the property test never sends: {sorted(missing)}"
    assert not (sent | NOT_SENT) - set(DECLARED), "the test names a kind nobody declares"


def test_the_machine_sends_every_declared_kind() -> None:
    assert_every_declared_kind_is_sent()


# -- What the machine found, as examples ------------------------------------------------------


def payload_of(
    kind: str, marker: str, occurred: str, location: str, age_band: str, conflict_id: int
) -> dict[str, Any]:
    """A record of `kind` as its form sends it; the free text carries the marker."""
    if kind == "contact":
        return {
            "held_id": "",
            "occurred_at": occurred,
            "location": location,
            "subject": "person",
            "participant_id": "",
            "age_band": age_band,
            "gender": "",
            "group_size": "",
            "kind": "street",
            "purpose": "check_in",
            "referrals": ["housing"],
            "duration_minutes": "10",
            "follow_up_on": "",
            "note": f"marker {marker}",
        }
    if kind == "conflict":
        return {
            "occurred_at": occurred,
            "location": location,
            "risk_level": "2",
            "type": "group_vs_group",
            "parties_count": "2",
            "party_labels": "",
            "detected_via": "street",
            "catalyst": "territory",
            "weapon": "none_known",
            "note": f"marker {marker}",
        }
    if kind == "conflict_update":
        return {
            "conflict_id": str(conflict_id),
            "occurred_at": occurred,
            "kind": "info",
            "text": f"marker {marker}",
        }
    if kind == "mediation":
        return {
            "conflict_id": str(conflict_id),
            "occurred_at": occurred,
            "strategies": ["de_escalate"],
            "outcome": "temporarily_resolved",
            "note": f"marker {marker}",
        }
    if kind == "incident":
        return {
            "occurred_at": occurred,
            "type": "threat",
            "location": location,
            "response": "none",
            "note": f"marker {marker}",
        }
    if kind == "referral_update":
        # The referral is the phone's worker's (added by the caller); an open status only.
        return {"occurred_at": occurred, "status": "contact_made", "follow_up_on": ""}
    if kind == "walk_report":
        # The walk and the place visited are the caller's; no note (the time is the walk's).
        return {"youths_met": "1-10", "atmosphere": "calm", "actions": ["talked_with_youth"]}
    if kind in ("briefing_read", "briefing_ack"):
        # The briefing is the caller's; the time is when the phone's reader read it.
        return {"at": occurred}
    if kind == "place_signal":
        # The place is the caller's: one of the districts the programme serves.
        return {"observed_at": occurred, "kind": "tension_between_groups", "severity": "2"}
    if kind == "place_observation":
        # A partner's (the municipality's field assistants); the note carries the marker.
        return {
            "observed_at": occurred,
            "kind": "tension_between_groups",
            "severity": "1",
            "source": "field_assistants",
            "note": f"marker {marker[:8]}",
        }
    if kind == "referral":
        # The participant and the service are the phone's worker's (added by the caller).
        return {
            "made_at": occurred,
            "consent_given": "y",
            "consent_scope": "worker_contacts_service",
        }
    return {
        "occurred_at": occurred,
        "kind": "vigil",
        "location": location,
        "note": f"marker {marker}",
    }


def _contact(world: factories.World, note: str) -> dict[str, Any]:
    place = world.places["Rinkeby torg"]
    return {
        "occurred_at": "2026-11-20T21:15",
        "location": f"place:{place.id}",
        "subject": "person",
        "age_band": "15-17",
        "kind": "street",
        "purpose": "check_in",
        "note": note,
    }


def _post(client: FlaskClient, body: dict[str, Any]) -> tuple[int, Any]:
    config = client.get("/sync/config", headers=JSON).get_json()
    response = client.post(
        "/sync/records",
        json=body,
        headers={
            **JSON,
            "X-CSRFToken": config["csrf_token"],
            "Referer": "https://localhost/contacts/new",
        },
    )
    return response.status_code, response.get_json()


def _sealed(client: FlaskClient, data: dict[str, Any], client_uuid: str) -> dict[str, Any]:
    key = client.get("/sync/config", headers=JSON).get_json()["public_key"]
    envelope = crypto.seal(key, data, kind="contact", client_uuid=client_uuid)
    return {"kind": "contact", "client_uuid": client_uuid, "envelope": envelope}


def _remove_place(session: Session, world: factories.World) -> None:
    place = world.places["Rinkeby torg"]
    place.active = False
    session.add(place)
    session.commit()


def _on_server(session: Session) -> tuple[list[str], list[str]]:
    session.expire_all()
    contacts = list(session.exec(select(Contact.client_uuid)))
    held = list(session.exec(select(HeldRecord.client_uuid)))
    return contacts, held


def test_a_stored_record_replayed_after_its_place_was_removed_is_replayed(
    client: FlaskClient, session: Session, world: factories.World
) -> None:
    """A lost acknowledgement, then the place is retired, then the phone retries.

    The retry used to be validated before the replay was recognised: "needs correction",
    and the record was stored AND held (correcting it would have made a second contact).
    """
    user = factories.create_user(session, world, "interrupter")
    session.commit()
    sign_in(client, user.email)
    key = str(uuid.uuid4())
    data = _contact(world, "Calm by the square.")
    assert _post(client, _sealed(client, data, key))[0] == 201  # the answer is lost
    _remove_place(session, world)
    status, body = _post(client, _sealed(client, data, key))
    assert (status, body["status"]) == (200, "replayed"), body
    # In a batch too, and the place's removal still holds a new record naming it.
    other = str(uuid.uuid4())
    status, body = _post(
        client,
        {"records": [_sealed(client, data, key), _sealed(client, _contact(world, "New."), other)]},
    )
    assert [(r["code"], r["status"]) for r in body["results"]] == [
        (200, "replayed"),
        (200, "needs_correction"),
    ], body
    assert _on_server(session) == ([key], [other])


def test_other_content_under_a_stored_uuid_is_a_conflict_even_if_now_invalid(
    client: FlaskClient, session: Session, world: factories.World
) -> None:
    user = factories.create_user(session, world, "interrupter")
    session.commit()
    sign_in(client, user.email)
    key = str(uuid.uuid4())
    assert _post(client, _sealed(client, _contact(world, "First."), key))[0] == 201
    _remove_place(session, world)
    status, body = _post(client, _sealed(client, _contact(world, "Other."), key))
    assert (status, body["status"]) == (409, "conflict"), body
    assert _on_server(session) == ([key], [])
