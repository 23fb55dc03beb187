"""Browser fixtures: one live server on SQLite with the demo data, and Debian's Chromium as a phone.

These fixtures do not use tests/conftest.py's `database` (parametrised over SQLite and
PostgreSQL): the browser tests run on SQLite only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import ConsoleMessage, Error, Page

from .live import LAUNCH_ARGS, PHONE, LiveServer, live_server

# Chromium reports a CSP violation as a console error too; this makes it explicit and names
# the directive, even for violations the console would word differently.
REPORT_CSP = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on 127.0.0.1 at a free port, for the whole session (tests share the demo data)."""
    with live_server(tmp_path_factory.mktemp("live")) as server:
        yield server


@pytest.fixture(scope="session")
def base_url(live: LiveServer) -> str:
    """Relative URLs in page.goto go to the live server.

    Also replaces pytest-playwright's own `base_url`, an instance-method session fixture that
    pytest 9 deprecates (a warning, so an error under `filterwarnings = error`).
    """
    return live.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, **LAUNCH_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, **PHONE}


@pytest.fixture
def problems(page: Page) -> Iterator[list[str]]:
    """Console errors, uncaught exceptions and CSP violations on `page`; a test asserts none."""
    found: list[str] = []

    def _console(message: ConsoleMessage) -> None:
        if message.type == "error":
            source = message.location.get("url") or page.url
            found.append(f"console error on {page.url} ({source}): {message.text}")

    def _page_error(error: Error) -> None:
        found.append(f"uncaught exception on {page.url}: {error.message}")

    page.add_init_script(REPORT_CSP)
    page.on("console", _console)
    page.on("pageerror", _page_error)
    yield found


@pytest.fixture
def two_factors(live: LiveServer) -> Iterator[str]:
    """The live server asks office roles for their second factor, for this test only; the
    origin to open is localhost (WebAuthn refuses an IP address as the relying party)."""
    live.app.config["TWO_FACTOR_REQUIRED"] = True
    try:
        yield "http://localhost:" + str(urlsplit(live.url).port)
    finally:
        live.app.config["TWO_FACTOR_REQUIRED"] = False
