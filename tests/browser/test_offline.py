"""The offline guarantees (DESIGN.md, "Offline and sync: the guarantees") in a real phone browser.

Debian's Chromium, driven by Playwright, against the live server on SQLite. The network is cut
with `context.set_offline`, which holds for the pages and for the service worker alike. Faults
on the server's side (an answer lost after the commit, a server that dies mid-run) come from
tests/browser/live.py, around the app: the app's code has no hooks for them.

Storage is read with the browser's own APIs (indexedDB, caches, localStorage, sessionStorage),
never through the app's modules, so a bug in the app cannot hide what it stored; where the
browser runs on a profile on disk, its files are searched too once it is closed.
"""

from __future__ import annotations

import json
import re
import struct
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Error,
    Page,
    Playwright,
    expect,
)
from sqlmodel import Session, col, select

from interrupters import keys
from interrupters.audit.models import AuditEvent
from interrupters.auth.models import DeviceSession, User
from interrupters.contacts.models import Contact

from .conftest import REPORT_CSP
from .live import LAUNCH_ARGS, PHONE, LiveServer, open_place, sign_in

pytestmark = pytest.mark.browser

# An interrupter no other browser test signs in with: the review flow's worker and
# supervisor keep their own lists (and sessions) to themselves.
WORKER = "interrupter2@example.org"
# PITFALLS.md: grant_permissions denies whatever is not listed.
PERMISSIONS = ["background-sync", "notifications"]
# A participant of this interrupter's own caseload in the demo data (the contact form offers
# the worker's own participants, not the whole programme's).
PARTICIPANT_CODE = "P-2M9D"
RECORDS = "/sync/records"
CONFIG = "/sync/config"
T = TypeVar("T")

# Reading IndexedDB without changing it: a database is opened only if it exists (a plain
# open creates a missing one, and the app would then find it without its stores), and an open
# that waits too long (behind a deletion) fails the test instead of hanging it.
_IDB = """
  const openExisting = (name) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`IndexedDB ${name}: no answer in 5 s`)), 5000);
    const r = indexedDB.open(name);
    r.onupgradeneeded = () => r.transaction.abort();  // it does not exist: leave it so
    r.onsuccess = () => { clearTimeout(timer); resolve(r.result); };
    r.onerror = (event) => { event.preventDefault(); clearTimeout(timer); resolve(null); };
  });
  const rows = (db, store) => new Promise((resolve, reject) => {
    const found = [];
    const cursor = db.transaction(store).objectStore(store).openCursor();
    cursor.onerror = () => reject(cursor.error);
    cursor.onsuccess = () => {
      const at = cursor.result;
      if (!at) return resolve(found);
      found.push({ key: at.key, value: at.value });
      at.continue();
    };
  });
"""

# Everything the origin keeps, read with the browser's APIs and serialised as JSON: every
# IndexedDB database, store, key and value (the envelopes too), every cached response's body,
# localStorage and sessionStorage.
DUMP_STORAGE = (
    "async () => {"
    + _IDB
    + """
  const binary = (value) => {
    const bytes = value instanceof ArrayBuffer ? new Uint8Array(value)
      : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    return { binary: Array.from(bytes, (b) => String.fromCharCode(b)).join("") };
  };
  const plain = (_key, value) =>
    value instanceof ArrayBuffer || ArrayBuffer.isView(value) ? binary(value)
      : value instanceof Blob ? { blob: value.size } : value;
  const dump = { indexedDB: {}, caches: {}, localStorage: {}, sessionStorage: {} };
  for (const { name } of await indexedDB.databases()) {
    const db = await openExisting(name);
    if (!db) continue;
    const stores = {};
    try {
      for (const store of db.objectStoreNames) stores[store] = await rows(db, store);
    } finally {
      db.close();
    }
    dump.indexedDB[name] = stores;
  }
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    const entries = {};
    for (const key of await cache.keys()) {
      const response = await cache.match(key);
      entries[key.url] = response ? await response.text() : null;
    }
    dump.caches[name] = entries;
  }
  for (const area of ["localStorage", "sessionStorage"]) {
    for (let i = 0; i < self[area].length; i++) {
      const key = self[area].key(i);
      dump[area][key] = self[area].getItem(key);
    }
  }
  return JSON.stringify(dump, plain);
}
"""
)

# The outbox's records as IndexedDB holds them ([] when there is no outbox).
READ_OUTBOX = (
    "async () => {"
    + _IDB
    + """
  const db = await openExisting("interrupters");
  if (!db) return [];
  try {
    if (!db.objectStoreNames.contains("outbox")) return [];
    return (await rows(db, "outbox")).map((row) => row.value);
  } finally {
    db.close();
  }
}
"""
)

# The server's key as the outbox keeps it (null when it has none).
READ_PUBLIC_KEY = (
    "async () => {"
    + _IDB
    + """
  const db = await openExisting("interrupters");
  if (!db) return null;
  try {
    if (!db.objectStoreNames.contains("meta")) return null;
    const found = (await rows(db, "meta")).find((row) => row.key === "public_key");
    return found ? found.value : null;
  } finally {
    db.close();
  }
}
"""
)

CONFIG_STATUS = """
async () => {
  const headers = { Accept: "application/json" };
  const r = await fetch("/sync/config", { headers, cache: "no-store" });
  return [r.status, await r.json().catch(() => null)];
}
"""


# --- waiting -----------------------------------------------------------------------------


def _eventually(
    probe: Callable[[], T], done: Callable[[T], bool], what: str, timeout: float = 10
) -> T:
    """Call `probe` until `done` holds for its result (polling, no fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r} after {timeout} s")
        time.sleep(0.05)


# --- the phone ---------------------------------------------------------------------------


class Problems(list[str]):
    """Uncaught exceptions, CSP violations and console errors other than failed loads.

    Failed loads are the point here (no network, 401, 503) and Chromium logs each one as a
    console error: those are left out.
    """

    def watch(self, page: Page) -> Page:
        def _console(message: ConsoleMessage) -> None:
            if message.type == "error" and not message.text.startswith("Failed to load resource"):
                self.append(f"console error on {page.url}: {message.text}")

        def _page_error(error: Error) -> None:
            self.append(f"uncaught exception on {page.url}: {error.message}")

        page.add_init_script(REPORT_CSP)
        page.on("console", _console)
        page.on("pageerror", _page_error)
        return page


@pytest.fixture
def problems() -> Problems:
    return Problems()


@pytest.fixture
def phone(browser: Browser, live: LiveServer, problems: Problems) -> Iterator[Page]:
    """A fresh phone (its own profile in memory) with one page."""
    context = browser.new_context(**PHONE, base_url=live.url, permissions=PERMISSIONS)
    try:
        yield problems.watch(context.new_page())
    finally:
        context.close()


@pytest.fixture(autouse=True)
def server_restored(live: LiveServer) -> Iterator[None]:
    """Whatever a test did to the server, the next one finds it up and without faults."""
    yield
    live.faults.disarm()
    live.start()


def _launch(playwright: Playwright, profile: Path, live: LiveServer) -> BrowserContext:
    """The phone's browser on a profile kept on disk (as a phone keeps it between launches)."""
    return playwright.chromium.launch_persistent_context(
        str(profile), **LAUNCH_ARGS, **PHONE, base_url=live.url, permissions=PERMISSIONS
    )


def _ready_for_the_street(page: Page) -> None:
    """Open the contact form with network, as a worker does before going out.

    The service worker installs and keeps the form; the reload makes the page one the worker
    controls; the outbox fetches the server's key on page load.
    """
    page.goto("/contacts/new")
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    _eventually(lambda: page.evaluate(READ_PUBLIC_KEY), bool, "the server's key on the phone")


def _go_offline(page: Page) -> None:
    page.context.set_offline(True)
    page.wait_for_function("!navigator.onLine")


def _panel_count(page: Page, count: int) -> None:
    expect(page.locator("[data-outbox-status]")).to_have_attribute("data-count", str(count))


def _outbox(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate(READ_OUTBOX))


def _dump(page: Page) -> tuple[dict[str, Any], str]:
    text = page.evaluate(DUMP_STORAGE)
    return json.loads(text), text


def _on_disk(profile: Path, text: str) -> list[str]:
    """The profile's files that hold `text` as UTF-8 (or Latin-1) or UTF-16 (how V8 stores
    strings in IndexedDB)."""
    needles = [text.encode("utf-8"), text.encode("utf-16-le")]
    return [
        str(path.relative_to(profile))
        for path in profile.rglob("*")
        if path.is_file() and any(needle in path.read_bytes() for needle in needles)
    ]


def _empty(dump: dict[str, Any]) -> bool:
    return not any(dump[area] for area in ("indexedDB", "caches", "localStorage", "sessionStorage"))


def _log_contact(
    page: Page,
    note: str,
    *,
    waiting: int,
    participant: str | None = None,
    typing_ms: int = 0,
) -> None:
    """Fill in and save the contact form; `waiting` is the outbox's count once it is saved.

    `typing_ms`: how long the note stays in the form before it is saved (a person types for
    seconds; Chromium writes a page's form state to its session files within about one).
    """
    form = page.locator("form[data-outbox=contact]")
    if participant is None:
        form.locator("label.chip:has(input[name=subject][value=person])").tap()
        form.locator("select[name=age_band]").select_option("18-20")
    else:
        form.locator("label.chip:has(input[name=subject][value=participant])").tap()
        form.locator("select[name=participant_id]").select_option(label=participant)
    form.locator("textarea[name=note]").fill(note)
    if typing_ms:
        page.wait_for_timeout(typing_ms)
    form.locator("button[type=submit]").click()
    # Saved: the form is fresh again and the panel counts the record.
    expect(form.locator("textarea[name=note]")).to_have_value("")
    _panel_count(page, waiting)


def _send_now(page: Page) -> None:
    # Back online the outbox may send by itself first and the panel (with its button) hides:
    # the tap is then a no-op, not a button to wait for.
    page.locator("[data-outbox-send]").dispatch_event("click")


# --- the server --------------------------------------------------------------------------


def _contacts(live: LiveServer, marker: str) -> list[Contact]:
    """The contacts on the server whose note carries `marker`."""
    with Session(live.app.extensions["db_engine"]) as session:
        return list(session.exec(select(Contact).where(col(Contact.note).contains(marker))).all())


def _user_id(live: LiveServer, email: str) -> int:
    with Session(live.app.extensions["db_engine"]) as session:
        user = session.exec(select(User).where(User.email == email)).one()
        assert user.id is not None
        return user.id


def _active_devices(live: LiveServer, email: str) -> set[int]:
    """The ids of the account's device sessions that are not signed out."""
    with Session(live.app.extensions["db_engine"]) as session:
        return {
            device.id
            for device in session.exec(
                select(DeviceSession)
                .where(DeviceSession.user_id == _user_id(live, email))
                .where(col(DeviceSession.revoked_at).is_(None))
            )
            if device.id is not None
        }


def _record_answers(live: LiveServer, since: int) -> list[int | str]:
    """What the server answered to each POST /sync/records since `since` (or "dropped")."""
    return [
        outcome
        for method, path, outcome in live.faults.sync_answers[since:]
        if (method, path) == ("POST", RECORDS)
    ]


def _note(marker: str, n: int = 0) -> str:
    return f"Pratade vid tunnelbanan om helgen, nr {n} ({marker})."


# --- the tests ---------------------------------------------------------------------------


def test_pwa_basics(phone: Page, live: LiveServer, problems: Problems) -> None:
    """Installable (manifest, icons, a worker at / with scope /), and an offline fallback."""
    page = phone
    sign_in(page, live.url, WORKER)

    href = page.locator("link[rel=manifest]").get_attribute("href")
    assert href == "/manifest.webmanifest"
    answer = page.request.get(href)
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("application/manifest+json")
    manifest = answer.json()
    assert manifest["name"] and manifest["short_name"]
    assert manifest["start_url"] == "/"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    sizes: dict[str, set[str]] = {}
    for icon in manifest["icons"]:
        image = page.request.get(icon["src"])
        assert image.status == 200, icon["src"]
        assert image.headers["content-type"].split(";")[0] == icon["type"], icon["src"]
        if icon["type"] == "image/png":
            # The PNG's own header must say what the manifest says.
            width, height = struct.unpack(">II", image.body()[16:24])
            assert icon["sizes"] == f"{width}x{height}", icon["src"]
        for purpose in icon.get("purpose", "any").split():
            sizes.setdefault(purpose, set()).add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes["any"]
    assert "512x512" in sizes["maskable"]

    registration = page.evaluate(
        """async () => {
          const r = await navigator.serviceWorker.ready;
          return { scope: r.scope, script: r.active.scriptURL };
        }"""
    )
    assert registration["scope"] == f"{live.url}/"
    # Made for the person's roles (a module worker's script is fetched without cookies).
    assert registration["script"].startswith(f"{live.url}/sw.js?roles=")
    # Activated: the pages the street needs are kept, though not opened since signing in.
    _eventually(
        lambda: page.evaluate("navigator.serviceWorker.ready.then((r) => r.active.state)"),
        lambda state: state == "activated",
        "the service worker activated",
    )

    def heading(path: str) -> str:
        """The page's <h1> as the server sends it (asked beside the service worker)."""
        answer = page.request.get(path)
        assert answer.ok, path
        found = re.search(r"<h1>(.*?)</h1>", answer.text(), re.S)
        assert found, path
        return found.group(1).strip()

    fallback = heading("/offline")
    follow_ups = heading("/participants/follow-ups")
    assert follow_ups != fallback

    _go_offline(page)
    # The form and the worker's follow-ups (codes and dates) are kept.
    page.goto("/contacts/new")
    expect(page.locator("form[data-outbox=contact]")).to_be_visible()
    page.goto("/participants/follow-ups")
    expect(page.locator("main h1")).to_have_text(follow_ups)
    # Pages that are not kept on the phone (the worker's contacts, with notes; the caseload):
    # the fallback, at their own address.
    for path in ("/contacts", "/participants/"):
        page.goto(path)
        expect(page.locator("main h1")).to_have_text(fallback)
        assert page.url == f"{live.url}{path}"
    assert problems == []


def test_five_contacts_offline_survive_reload_and_restart(
    playwright: Playwright, live: LiveServer, tmp_path: Path, problems: Problems
) -> None:
    """Offline: five contacts, a reload, the browser closed and reopened; online: five, once."""
    marker = f"fem-{uuid4().hex[:10]}"
    profile = tmp_path / "phone-profile"
    context = _launch(playwright, profile, live)
    page = problems.watch(context.pages[0])
    sign_in(page, live.url, WORKER)
    _ready_for_the_street(page)

    _go_offline(page)
    page.reload()  # the form comes from the service worker's copy
    for n in range(5):
        _log_contact(page, _note(marker, n), waiting=n + 1)
    page.reload()
    _panel_count(page, 5)
    queued = _outbox(page)
    assert len(queued) == 5
    uuids = {record["client_uuid"] for record in queued}
    assert len(uuids) == 5
    assert {record["state"] for record in queued} == {"pending"}
    expect(page.locator("[data-outbox-rows] li")).to_have_count(5)
    assert _contacts(live, marker) == []
    context.close()
    # On disk, the browser's profile holds the five records (their UUIDs are in IndexedDB's
    # files) and not one of the notes, in any file.
    for uuid in uuids:
        assert any("IndexedDB" in path for path in _on_disk(profile, uuid)), uuid
    assert _on_disk(profile, marker) == []

    # The browser is gone (a killed app, a restarted phone); it starts again on the same profile.
    context = _launch(playwright, profile, live)
    context.set_offline(True)
    page = problems.watch(context.pages[0])
    page.goto("/contacts/new")
    _panel_count(page, 5)
    assert {record["client_uuid"] for record in _outbox(page)} == uuids
    assert _contacts(live, marker) == []

    # The session cookie ended with the browser: back online, the server answers 401 "login"
    # and the records wait for the worker to sign in, all kept.
    context.set_offline(False)
    expect(page.locator("[data-outbox-rows] li[data-state=waiting_login]")).to_have_count(5)
    assert len(_outbox(page)) == 5
    sign_in(page, live.url, WORKER)
    _panel_count(page, 0)
    assert _outbox(page) == []
    stored = _contacts(live, marker)
    assert sorted(c.client_uuid for c in stored) == sorted(uuids)
    assert sorted(c.note for c in stored) == sorted(_note(marker, n) for n in range(5))
    context.close()
    assert problems == []


@pytest.mark.parametrize("fault", ["drop", "lose"])
def test_answer_lost_after_commit_is_retried_without_duplicate(
    phone: Page, live: LiveServer, problems: Problems, fault: str
) -> None:
    """The server commits, the answer never arrives: the phone keeps the record and retries."""
    page = phone
    marker = f"tapp-{fault}-{uuid4().hex[:10]}"
    sign_in(page, live.url, WORKER)
    _ready_for_the_street(page)
    _go_offline(page)
    _log_contact(page, _note(marker), waiting=1)
    [record] = _outbox(page)

    since = len(live.faults.sync_answers)
    seen = len(live.faults.record_outcomes)
    live.faults.arm(RECORDS, fault)
    # After that, the server is unavailable until the test says so: the phone's own retries
    # (its timer, Background Sync) wait, and what it kept can be read at leisure.
    live.faults.arm(CONFIG, "refuse", times=live.faults.FOREVER, after=RECORDS)
    page.context.set_offline(False)  # the online event sends
    lost = "dropped" if fault == "drop" else 503
    _eventually(lambda: _record_answers(live, since), lambda a: lost in a, "the lost answer")
    # Committed on the server, yet still on the phone: it never had an answer.
    assert live.faults.record_outcomes[seen:] == [(record["client_uuid"], "stored", False)]
    assert len(_contacts(live, marker)) == 1
    kept = _eventually(
        lambda: _outbox(page),
        lambda records: (
            len(records) == 1
            and records[0]["state"] == "pending"
            and records[0]["attempts"] > record["attempts"]
        ),
        "the record kept, backing off",
    )
    assert kept[0]["client_uuid"] == record["client_uuid"]
    _panel_count(page, 1)

    live.faults.disarm()
    _send_now(page)
    _panel_count(page, 0)
    assert _outbox(page) == []
    assert _record_answers(live, since) == [lost, 200]
    # The retry was answered "replayed": the server did not store it again.
    assert live.faults.record_outcomes[seen:] == [
        (record["client_uuid"], "stored", False),
        (record["client_uuid"], "replayed", True),
    ]
    [contact] = _contacts(live, marker)
    assert contact.client_uuid == record["client_uuid"]
    assert problems == []


@pytest.fixture(params=[1, 2], ids=["one-a-request", "batches-of-2"])
def max_batch(request: pytest.FixtureRequest, live: LiveServer) -> Iterator[int]:
    """How many records the server takes in one request (it says so in /sync/config), one
    request at a time: the test counts which requests a crash cuts off."""
    saved = {key: live.app.config.get(key) for key in ("SYNC_MAX_BATCH", "SYNC_PARALLEL")}
    live.app.config.update(SYNC_MAX_BATCH=request.param, SYNC_PARALLEL=1)
    yield request.param
    for key, value in saved.items():
        if value is None:
            live.app.config.pop(key, None)
        else:
            live.app.config[key] = value


def test_server_stopped_and_restarted_mid_sync_loses_nothing(
    phone: Page, live: LiveServer, problems: Problems, max_batch: int
) -> None:
    """A server down when the phone sends, then killed mid-run: every record once."""
    page = phone
    marker = f"omstart-{uuid4().hex[:10]}"
    sign_in(page, live.url, WORKER)
    _ready_for_the_street(page)
    _go_offline(page)
    # Requests of `max_batch` records: the first is answered, the second's answer dies with
    # the server, and the rest never leave the phone before the crash.
    for n in range(2 * max_batch + 1):
        _log_contact(page, _note(marker, n), waiting=n + 1)
    queued = sorted(_outbox(page), key=lambda r: r["created_at"])
    uuids = [r["client_uuid"] for r in queued]
    answered, lost, unsent = uuids[:max_batch], uuids[max_batch:-1], uuids[-1:]

    def attempts() -> list[int]:
        return [r["attempts"] for r in sorted(_outbox(page), key=lambda r: r["created_at"])]

    # The server is down when the network comes back: nothing can be sent, nothing is lost.
    live.stop()
    offline = attempts()
    page.context.set_offline(False)
    _send_now(page)
    _eventually(
        attempts,
        lambda now: (
            len(now) == len(uuids) and all(a > b for a, b in zip(now, offline, strict=True))
        ),
        "a failed run against the stopped server, backing off",
    )
    _panel_count(page, len(uuids))
    assert _contacts(live, marker) == []

    # Up again, and killed during the next run, after the second request's commit.
    since = len(live.faults.sync_answers)
    seen = len(live.faults.record_outcomes)
    live.faults.arm(RECORDS, "crash", skip=1)
    live.start()
    _send_now(page)
    _eventually(lambda: _record_answers(live, since), lambda a: "dropped" in a, "the crash")
    assert live.faults.record_outcomes[seen:] == [
        *((uuid, "stored", True) for uuid in answered),
        *((uuid, "stored", False) for uuid in lost),
    ]
    _panel_count(page, len(lost + unsent))
    assert sorted(r["client_uuid"] for r in _outbox(page)) == sorted(lost + unsent)
    assert sorted(c.client_uuid for c in _contacts(live, marker)) == sorted(answered + lost)

    # Restarted on the same port and the same database file: the rest goes, once.
    seen = len(live.faults.record_outcomes)
    live.faults.disarm()
    live.start()
    _send_now(page)
    _panel_count(page, 0)
    assert _outbox(page) == []
    assert live.faults.record_outcomes[seen:] == [
        *((uuid, "replayed", True) for uuid in lost),
        *((uuid, "stored", True) for uuid in unsent),
    ]
    stored = _contacts(live, marker)
    assert sorted(c.client_uuid for c in stored) == sorted(uuids)
    assert problems == []


def test_note_typed_offline_is_nowhere_in_the_phones_storage(
    playwright: Playwright, live: LiveServer, tmp_path: Path, problems: Problems
) -> None:
    """The outbox holds the record sealed; no storage of the origin, no file of the browser's
    profile, can read the note back."""
    marker = f"hemlig-{uuid4().hex[:10]}"
    note = f"Han sa att bråket gäller {marker}."
    profile = tmp_path / "phone-profile"
    context = _launch(playwright, profile, live)
    page = problems.watch(context.pages[0])
    sign_in(page, live.url, WORKER)
    _ready_for_the_street(page)
    # Online pages were visited: htmx's history cache would have kept them in localStorage.
    open_place(page, "/contacts")
    page.wait_for_url(re.compile(r"/contacts$"))
    open_place(page, "/contacts/new")
    page.wait_for_url("**/contacts/new")

    _go_offline(page)
    form = page.locator("form[data-outbox=contact]")
    location = form.locator("select[name=location] option:checked")
    area = location.evaluate("o => o.parentElement.label.split(' · ')[0]")
    _log_contact(page, note, waiting=1, participant=PARTICIPANT_CODE, typing_ms=1500)

    dump, text = _dump(page)
    [record] = dump["indexedDB"]["interrupters"]["outbox"]
    assert record["key"] == record["value"]["client_uuid"]
    value = record["value"]
    assert set(value) == {
        "client_uuid",
        "kind",
        "envelope",
        "summary",
        "state",
        "attempts",
        "next_attempt_at",
        "created_at",
    }
    assert set(value["envelope"]) == {"v", "epk", "iv", "ct", "kid"}
    # The envelope names the server key it was sealed to, by the id the server gives it.
    ring = keys.outbox_keyring(live.app.config, Path(live.app.instance_path))
    assert value["envelope"]["kid"] == ring.current_id
    assert value["summary"] == {"kind": "contact", "area": area, "created_at": value["created_at"]}
    assert dump["caches"], "the service worker keeps the form and the app's files"
    assert marker not in text, "the note is readable on the phone"
    outbox_and_storage = json.dumps(
        [dump["indexedDB"], dump["localStorage"], dump["sessionStorage"]]
    )
    # The participant's code is in the cached form's list (the form needs it), but the record
    # does not say whom it is about.
    assert PARTICIPANT_CODE not in outbox_and_storage
    assert "participant" not in outbox_and_storage
    # htmx's history cache is off: no pages in localStorage; sessionStorage holds at most
    # the path htmx is on.
    assert not dump["localStorage"]
    assert set(dump["sessionStorage"]) <= {"htmx-current-path-for-history"}

    # The phone goes off right after the save. In the profile on disk, the record is in
    # IndexedDB's files; the note is in no file at all (Chromium's session files, which keep
    # forms' contents to restore tabs, included).
    context.close()
    assert any("IndexedDB" in path for path in _on_disk(profile, value["client_uuid"]))
    assert _on_disk(profile, marker) == []

    # And it is a real record: the phone on again, the worker signed in again (the session
    # cookie ended with the browser), it is sent and the server opens it.
    context = _launch(playwright, profile, live)
    page = problems.watch(context.pages[0])
    sign_in(page, live.url, WORKER)
    _panel_count(page, 0)
    [contact] = _contacts(live, marker)
    assert contact.note == note
    assert contact.client_uuid == value["client_uuid"]
    assert contact.participant_id is not None
    context.close()
    assert problems == []


def test_logout_refused_while_records_wait_then_discard_is_audited_and_wipes(
    phone: Page, live: LiveServer, problems: Problems
) -> None:
    """Sign-out asks first; declined, nothing changes; accepted, audited and all is gone."""
    page = phone
    marker = f"kasta-{uuid4().hex[:10]}"
    started = datetime.now(UTC)
    user_id = _user_id(live, WORKER)
    sign_in(page, live.url, WORKER)
    _ready_for_the_street(page)
    _go_offline(page)
    _log_contact(page, _note(marker), waiting=1)

    def audited() -> list[AuditEvent]:
        with Session(live.app.extensions["db_engine"]) as session:
            return list(
                session.exec(
                    select(AuditEvent)
                    .where(AuditEvent.event == "outbox_discarded")
                    .where(AuditEvent.actor_id == user_id)
                ).all()
            )

    def nothing_happened() -> None:
        """Still on the form, the record still waits, nothing audited."""
        assert page.url == f"{live.url}/contacts/new"
        _panel_count(page, 1)
        assert len(_outbox(page)) == 1
        assert len(audited()) == before

    before = len(audited())
    sign_out = page.locator("form[data-logout-guard] button[type=submit]")

    # Accepted with no network: a discard the server cannot audit does not happen.
    [attempts] = [r["attempts"] for r in _outbox(page)]
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_event("dialog") as asked:
        sign_out.click()
    dialog: Dialog = asked.value
    assert dialog.type == "confirm"
    assert "1" in dialog.message
    # The refusal ends in a send attempt (which backs the record off): wait for it.
    _eventually(
        lambda: [r["attempts"] for r in _outbox(page)],
        lambda now: now[0] > attempts,
        "the refused sign-out's send",
    )
    nothing_happened()

    # Back online, but the server refuses records: the record keeps waiting.
    live.faults.arm(RECORDS, "refuse", times=live.faults.FOREVER)
    page.context.set_offline(False)
    page.wait_for_function("navigator.onLine")

    # Declined: still signed in as well.
    page.once("dialog", lambda dialog: dialog.dismiss())
    with page.expect_event("dialog"):
        sign_out.click()
    nothing_happened()
    assert page.evaluate(CONFIG_STATUS)[0] == 200

    # Accepted: the discard is audited, the session ends and the phone is wiped. The page's
    # own token is spoilt first (a page open all night holds an expired one): the guard signs
    # out with a fresh one.
    page.locator("form[data-logout-guard] input[name=csrf_token]").evaluate(
        "input => { input.value = 'expired'; }"
    )
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation(url="**/login?signed_out=1"):
        sign_out.click()
    dump = _eventually(lambda: _dump(page)[0], _empty, "the phone wiped after sign-out")
    assert dump == {"indexedDB": {}, "caches": {}, "localStorage": {}, "sessionStorage": {}}
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then((r) => r.length)") == 0
    [event] = audited()[before:]
    assert event.at >= started.replace(microsecond=0)
    assert event.detail == {"counts": {"contact": 1}, "total": 1}
    assert page.evaluate(CONFIG_STATUS) == [401, {"status": "login"}]
    assert _contacts(live, marker) == []
    assert problems == []


def test_revoked_device_is_refused_and_wiped(
    phone: Page, browser: Browser, live: LiveServer, problems: Problems
) -> None:
    """Signed out from another device: the phone's next send is refused and it wipes itself."""
    page = phone
    marker = f"borta-{uuid4().hex[:10]}"
    before = _active_devices(live, WORKER)
    sign_in(page, live.url, WORKER)
    [phone_device] = _active_devices(live, WORKER) - before
    _ready_for_the_street(page)
    _go_offline(page)
    _log_contact(page, _note(marker), waiting=1)

    # On another device (a computer at the office), the lost phone is signed out.
    office = browser.new_context(**PHONE, base_url=live.url)
    try:
        desk = problems.watch(office.new_page())
        sign_in(desk, live.url, WORKER)
        desk.goto("/profile")
        revoke = desk.locator(f"form[action='/profile/devices/{phone_device}/revoke']")
        with desk.expect_navigation(url="**/profile"):
            revoke.locator("button[type=submit]").click()
        expect(desk.locator("p.flash-success")).to_be_visible()
        expect(revoke).to_have_count(0)
    finally:
        office.close()

    # As a browser that ignores Clear-Site-Data would: the phone must wipe itself.
    live.faults.strip_clear_site_data = True
    since = len(live.faults.sync_answers)
    page.context.set_offline(False)  # the phone sends: refused, and it wipes itself
    page.wait_for_url("**/login?wipe=1")
    dump = _eventually(lambda: _dump(page)[0], _empty, "the phone wiped after revocation")
    assert dump == {"indexedDB": {}, "caches": {}, "localStorage": {}, "sessionStorage": {}}
    assert ("GET", "/sync/config", 401) in live.faults.sync_answers[since:]
    assert "/sync/config" in live.faults.stripped  # the server asked for the wipe as well
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then((r) => r.length)") == 0
    assert _record_answers(live, since) == []
    assert page.evaluate(CONFIG_STATUS) == [401, {"status": "revoked"}]
    assert _contacts(live, marker) == []
    assert problems == []
