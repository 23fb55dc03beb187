"""A live server on a fresh, migrated SQLite file with the demo data, and the phone Chromium.

Shared by the browser tests (tests/browser/conftest.py) and the page-budget bench
(bench/page_budget.py), so both measure the same app in the same browser.
"""

from __future__ import annotations

import gzip
import json
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import brotli
from flask import Flask
from playwright.sync_api import Page
from werkzeug.serving import WSGIRequestHandler, make_server

from interrupters import create_app
from interrupters.cli import upgrade_database
from interrupters.db import session_scope
from interrupters.demo import DEMO_ACCOUNTS, seed_demo
from tests.conftest import _test_config

logger = logging.getLogger(__name__)

# Debian's Chromium; Playwright must never download a browser (PITFALLS.md, "Browser tests").
CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAUNCH_ARGS: dict[str, Any] = {"executable_path": CHROMIUM_PATH, "args": CHROMIUM_ARGS}
# A small Android phone at night, in Stockholm.
PHONE: dict[str, Any] = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
    "locale": "sv-SE",
    "timezone_id": "Europe/Stockholm",
}
PASSWORDS = {account.email: account.password for account in DEMO_ACCOUNTS}


class Faults:
    """Test-only faults at the server's edge, around the app (never in the app's code).

    A fault is armed for requests to one path and applies to the next `times` of them after
    `skip` have passed untouched; with `after`, only once a fault on that path has struck.

    - "lose": the app answers (and commits), then the answer is replaced with a 503, as when
      a proxy in front of the server fails after the commit;
    - "drop": the app answers (and commits), then the connection is closed without a byte of
      the answer, as when the network goes while the answer travels;
    - "crash": the app answers (and commits), then the connection is closed and the whole
      server stops (LiveServer.stop), as when the process is killed;
    - "refuse": the app is not called; the answer is a 503 (the server is overloaded).
    """

    MODES = ("lose", "drop", "crash", "refuse")
    FOREVER = 1 << 30

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plans: list[dict[str, Any]] = []
        self._struck: set[str] = set()
        # (method, path, status or "dropped") of every request under /sync/, in order.
        self.sync_answers: list[tuple[str, str, int | str]] = []
        # What the app made of each record it was sent, in order, one record alone or a batch:
        # (client_uuid, "stored"/"replayed"/..., whether the phone received that answer).
        self.record_outcomes: list[tuple[str, str, bool]] = []
        # A browser that ignores Clear-Site-Data: the header is taken out of every answer (and
        # the paths of those that had it are noted), so only the app's own wipe is left.
        self.strip_clear_site_data = False
        self.stripped: list[str] = []

    def arm(
        self, path: str, mode: str, *, times: int = 1, skip: int = 0, after: str | None = None
    ) -> None:
        assert mode in self.MODES, mode
        plan = {"path": path, "mode": mode, "times": times, "skip": skip, "after": after}
        with self._lock:
            self._plans.append(plan)

    def disarm(self) -> None:
        with self._lock:
            self._plans.clear()
            self._struck.clear()
            self.strip_clear_site_data = False

    def take(self, path: str) -> str | None:
        """The fault for this request, if one is armed and due (counts it)."""
        with self._lock:
            for plan in self._plans:
                if plan["path"] != path or plan["times"] <= 0:
                    continue
                if plan["after"] is not None and plan["after"] not in self._struck:
                    continue
                if plan["skip"] > 0:
                    plan["skip"] -= 1
                    return None
                plan["times"] -= 1
                self._struck.add(path)
                return str(plan["mode"])
            return None

    def note(self, method: str, path: str, outcome: int | str) -> None:
        if path.startswith("/sync/"):
            with self._lock:
                self.sync_answers.append((method, path, outcome))

    def note_records(self, body: bytes, *, delivered: bool) -> None:
        """Note the app's answer to POST /sync/records, record by record."""
        try:
            answer = json.loads(body)
        except ValueError:
            return
        if not isinstance(answer, dict):
            return
        results = answer.get("results") if answer.get("status") == "batch" else [answer]
        with self._lock:
            for result in results or []:
                if isinstance(result, dict) and result.get("client_uuid"):
                    outcome = (str(result["client_uuid"]), str(result.get("status")), delivered)
                    self.record_outcomes.append(outcome)


class _Control:
    """Stops and restarts the listening server on the same port (same app, same SQLite file)."""

    def __init__(self, app: Any, engine: Any, port: int = 0) -> None:
        self.app = app
        self.engine = engine
        self.port = port
        self.down = False
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            server = make_server(
                "127.0.0.1", self.port, self.app, threaded=True, request_handler=_QuietHandler
            )
            # Port 0 the first time: the system picks a free port; the same one after that.
            self.port = server.server_port
            self.down = False
            thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
            thread.start()
            self._server, self._thread = server, thread

    def stop(self) -> None:
        """Close the listening socket: new connections are refused until start()."""
        with self._lock:
            self.down = True
            server, thread = self._server, self._thread
            self._server = self._thread = None
            if server is None:
                return
            server.shutdown()
            server.server_close()
            if thread is not None:
                thread.join(timeout=10)
            # Like a process that ends: the database connections go, the file stays.
            self.engine.dispose()


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: Flask
    # The path of every request that reached the server, in order (the bench counts them).
    requests: list[str] = field(default_factory=list)
    # The paths answered 304 Not Modified: a cache's revalidation, no body sent again.
    not_modified: list[str] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    control: _Control | None = None

    def stop(self) -> None:
        """Stop the server as a crash would: connections refused, committed data kept."""
        assert self.control is not None
        self.control.stop()

    def start(self) -> None:
        """Start it again on the same port, with the same SQLite file and keys."""
        assert self.control is not None
        self.control.start()


class _Recorder:
    """WSGI middleware: notes each request's path, and applies the armed Faults (tests only)."""

    def __init__(self, app: Flask, paths: list[str], faults: Faults | None = None) -> None:
        self.app = app
        self.paths = paths
        self.not_modified: list[str] = []
        self.faults = faults or Faults()
        self.control: _Control | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        if self.control is not None and self.control.down:
            # Stopped while this connection was being accepted: no answer at all.
            return self._drop(environ, method, path)
        self.paths.append(path)
        fault = self.faults.take(path)
        if fault == "refuse":
            self.faults.note(method, path, 503)
            return self._unavailable(start_response)
        if fault is None:
            status: list[int] = []
            encoding: list[str] = []

            def noting(code: str, headers: Any, exc_info: Any = None) -> Any:
                status.append(int(code.split()[0]))
                if status[-1] == 304:
                    self.not_modified.append(path)
                encoding.extend(v for k, v in headers if k.lower() == "content-encoding")
                if self.faults.strip_clear_site_data:
                    kept = [(k, v) for k, v in headers if k.lower() != "clear-site-data"]
                    if len(kept) < len(headers):
                        self.faults.stripped.append(path)
                    headers = kept
                return start_response(code, headers, exc_info)

            body = self.app(environ, noting)
            if not path.startswith("/sync/"):
                return body
            data = self._read(body)
            self.faults.note(method, path, status[0] if status else 0)
            if (method, path) == ("POST", "/sync/records"):
                self.faults.note_records(_decoded(data, encoding), delivered=True)
            return [data]
        # The app answers in full (its commit happens), and the answer is then lost.
        lost: list[str] = []

        def losing(_code: str, headers: Any, _exc_info: Any = None) -> Any:
            lost.extend(v for k, v in headers if k.lower() == "content-encoding")
            return lambda _data: None

        data = self._read(self.app(environ, losing))
        if method == "POST":
            self.faults.note_records(_decoded(data, lost), delivered=False)
        if fault == "lose":
            self.faults.note(method, path, 503)
            return self._unavailable(start_response)
        if fault == "crash" and self.control is not None:
            # Down before the client learns anything: requests already accepted get no answer,
            # new connections are refused. (Safe from a request's thread: serve_forever runs
            # in another one.)
            self.control.stop()
        return self._drop(environ, method, path)

    def _drop(self, environ: dict[str, Any], method: str, path: str) -> Any:
        self.faults.note(method, path, "dropped")
        connection = environ.get("werkzeug.socket")
        if connection is not None:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        # Werkzeug treats a ConnectionError as a connection the client dropped: no answer.
        raise ConnectionResetError("answer dropped by a test fault")

    @staticmethod
    def _read(answer: Any) -> bytes:
        try:
            return b"".join(answer)
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()

    @staticmethod
    def _unavailable(start_response: Any) -> list[bytes]:
        body = b'{"status": "unavailable"}'
        start_response(
            "503 Service Unavailable",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]


def _decoded(data: bytes, encoding: list[str]) -> bytes:
    """The answer's body as the app wrote it (the app compresses answers to the browser)."""
    if "br" in encoding:
        return bytes(brotli.decompress(data))
    if "gzip" in encoding:
        return gzip.decompress(data)
    return data


class _QuietHandler(WSGIRequestHandler):
    """Keep errors in the log, not one line per request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@contextmanager
def live_server(directory: Path, **overrides: Any) -> Iterator[LiveServer]:
    """Serve the app with the demo data on 127.0.0.1 at a free port until the block ends."""
    database_url = f"sqlite:///{directory / 'live.db'}"
    upgrade_database(database_url)
    # The test configuration, but with CSRF on: the browser must send real tokens.
    app = create_app(_test_config(database_url, WTF_CSRF_ENABLED=True, **overrides))
    engine = app.extensions["db_engine"]
    with session_scope(engine) as session:
        seed_demo(session=session)
        session.commit()
    requests: list[str] = []
    faults = Faults()
    recorder = _Recorder(app, requests, faults)
    control = _Control(recorder, engine)
    recorder.control = control
    control.start()
    try:
        yield LiveServer(
            url=f"http://127.0.0.1:{control.port}",
            app=app,
            requests=requests,
            not_modified=recorder.not_modified,
            faults=faults,
            control=control,
        )
    finally:
        control.stop()
        engine.dispose()


def sign_in(page: Page, base_url: str, email: str, *, pin: str | None = None) -> None:
    """Sign in through the login form as a demo account (selectors by name, not by text).

    A field role is then offered a PIN for the phone (issue 9, item 5): with `pin` it is set
    (the session then outlives a browser restart), without it the offer is declined, so the
    session ends with the browser."""
    page.goto(f"{base_url}/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORDS[email])
    with page.expect_navigation():
        page.locator("form:has(input[name=password]) button[type=submit]").click()
    if "/login" in page.url:
        raise RuntimeError(f"sign-in as {email} failed: still on {page.url}")
    if "/pin/new" in page.url:
        if pin is None:
            with page.expect_navigation():
                page.locator("form[action*='/pin/skip'] button[type=submit]").click()
        else:
            page.locator("input[name=pin]").fill(pin)
            page.locator("input[name=confirm]").fill(pin)
            with page.expect_navigation():
                page.locator("form:has(input[name=confirm]) button[type=submit]").click()
        if "/pin" in page.url:
            raise RuntimeError(f"the PIN offer after signing in as {email}: still on {page.url}")


def sign_out(page: Page) -> None:
    """Sign out with the header's button and land on the login page."""
    with page.expect_navigation(url="**/login*"):
        page.locator("form.logout button[type=submit]").click()


def open_place(page: Page, href: str) -> None:
    """Open one of the signed-in person's places as they would: on a phone its tab, or the
    "more" page and the place there (issue 10); on a wide screen the top menu."""
    tab = page.locator(f"[data-tabbar] a[href='{href}']")
    if page.locator("[data-tabbar]").is_visible():
        if tab.count():
            tab.click()
            return
        page.locator("[data-tabbar] a[href='/more']").click()
        page.wait_for_url("**/more")
        page.locator(f".more-list a[href='{href}']").click()
        return
    page.locator(f"nav.topnav a[href='{href}']").click()
