"""Weigh one page as a phone on slow 4G sees it, against the page budget.

Starts the live server of the browser tests (fresh SQLite, demo data), signs in in Debian's
Chromium as a 360 x 740 phone, throttles the network through the DevTools protocol and measures:

- the first HTML response, gzipped (level 6 here when the server does not compress): it should
  fit TCP's first round trip, 10 packets of 1,460 bytes = 14.6 KB;
- everything a cold load fetches (empty HTTP cache, no service worker), gzipped, with what the
  service worker fetches as it installs and activates (its script and imports, its precache,
  the pages it keeps): the server sees every request, and what the page's DevTools did not see
  is the worker's, weighed by fetching it again;
- the JavaScript of that load, gzipped (the page's own, not the worker's);
- static files the server served more than once in that cold load (the worker's install should
  find the page's files in the HTTP cache), and the requests to /sync/config (one at most);
- the layout shift of the page meanwhile (the outbox's panel, a read receipt sent): the sum of
  the layout-shift entries, as CLS counts them;
- on a second visit (away and back in the same browser), the static files fetched from the
  network again: versioned static files are cached for a year, so none.

/login is measured signed out, against its own JavaScript budget (25 KB).

KB here is 1,000 bytes. Prints a table, writes bench/results/page_budget.json (one entry per
path) and exits 1 when a budget is missed.

    .venv/bin/python bench/page_budget.py [--path /contacts/new --as interrupter@example.org]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the live server lives in tests/browser/live.py

from playwright.sync_api import Browser, CDPSession, sync_playwright  # noqa: E402

from tests.browser.live import (  # noqa: E402
    LAUNCH_ARGS,
    PASSWORDS,
    PHONE,
    LiveServer,
    live_server,
    sign_in,
)

RESULTS = ROOT / "bench" / "results" / "page_budget.json"
KB = 1000
# Chrome DevTools' "Slow 4G"-like profile; throughputs are in bytes a second.
SLOW_4G = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1_600_000 / 8,
    "uploadThroughput": 750_000 / 8,
    "connectionType": "cellular4g",
}
# The pages a phone opens in the street, each as the person who opens it: the contact form, the
# weekend briefing a night walker reads before the walk (issue 5) and the walk report form.
PAGES: list[tuple[str, str | None]] = [
    ("/login", None),
    ("/contacts/new", "interrupter@example.org"),
    ("/briefings/current", "walker@example.org"),
    ("/walks/reports/new", "walker@example.org"),
]
BUDGETS: dict[str, float] = {
    "html_gzip_bytes": 14.6 * KB,
    "cold_total_gzip_bytes": 75 * KB,
    "js_gzip_bytes": 37.5 * KB,
    "static_fetched_twice": 0,
    "sync_config_fetches": 1,
    "layout_shift": 0.01,
    "second_visit_static_from_network": 0,
}
# The sign-in page: nothing of the outbox, no htmx (issue 13).
PAGE_BUDGETS: dict[str, dict[str, float]] = {"/login": {"js_gzip_bytes": 25 * KB}}
LABELS = {
    "html_gzip_bytes": "first HTML response, gzipped",
    "cold_total_gzip_bytes": "cold load with the worker's, gzipped",
    "js_gzip_bytes": "JavaScript, gzipped",
    "static_fetched_twice": "cold load: static files served twice",
    "sync_config_fetches": "cold load: /sync/config requests",
    "layout_shift": "layout shift (sum, as CLS)",
    "second_visit_static_from_network": "second visit: static files from network",
}
# How long the server must stay quiet before the service worker counts as done.
QUIET_S = 1.5
SETTLE_TIMEOUT_S = 30.0
# The sum of layout shifts without recent input, from the buffered entries (CLS's own).
LAYOUT_SHIFT = """() => new Promise((resolve) => {
  let sum = 0;
  new PerformanceObserver((entries) => {
    for (const entry of entries.getEntries()) if (!entry.hadRecentInput) sum += entry.value;
  }).observe({ type: "layout-shift", buffered: true });
  setTimeout(() => resolve(sum), 200);
})"""
# Until the service worker this page registered is active and done with its activation.
WORKER_ACTIVATED = """async () => {
  const registration = await navigator.serviceWorker.getRegistration();
  if (!registration) return false;
  const worker = registration.installing || registration.waiting || registration.active;
  if (!worker) return false;
  if (worker.state !== "activated") {
    await new Promise((resolve) => {
      worker.addEventListener("statechange", () => {
        if (worker.state === "activated" || worker.state === "redundant") resolve();
      });
      setTimeout(resolve, 20000);
    });
  }
  return worker.state === "activated";
}"""


@dataclass
class Exchange:
    """One request as the DevTools protocol saw it."""

    url: str
    phase: str
    resource_type: str = ""
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    cached: bool = False  # memory cache, disk cache, service worker or prefetch cache
    wire_bytes: int = 0  # encodedDataLength: headers and body as they crossed the network
    finished: bool = False


@dataclass
class NetworkLog:
    """Requests by DevTools id, each tagged with the phase (cold, away, second) it began in."""

    phase: str = "cold"
    exchanges: dict[str, Exchange] = field(default_factory=dict)

    def attach(self, cdp: CDPSession) -> None:
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.requestServedFromCache", self._from_cache)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)

    def _sent(self, event: dict[str, Any]) -> None:
        if not event["request"]["url"].startswith(("http:", "https:")):
            return  # data: URLs (the select's arrow) cross no network
        # A redirect reuses the id: the exchange becomes the redirect's target.
        self.exchanges[event["requestId"]] = Exchange(
            url=event["request"]["url"], phase=self.phase, resource_type=event.get("type", "")
        )

    def _from_cache(self, event: dict[str, Any]) -> None:
        if exchange := self.exchanges.get(event["requestId"]):
            exchange.cached = True

    def _response(self, event: dict[str, Any]) -> None:
        exchange = self.exchanges.get(event["requestId"])
        if exchange is None:
            return
        response = event["response"]
        exchange.status = response.get("status", 0)
        exchange.headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        exchange.cached = exchange.cached or any(
            response.get(flag)
            for flag in (
                "fromDiskCache",
                "fromServiceWorker",
                "fromPrefetchCache",
                "fromEarlyHints",
            )
        )

    def _finished(self, event: dict[str, Any]) -> None:
        if exchange := self.exchanges.get(event["requestId"]):
            exchange.wire_bytes = int(event.get("encodedDataLength", 0))
            exchange.finished = True

    def in_phase(self, phase: str) -> dict[str, Exchange]:
        return {rid: e for rid, e in self.exchanges.items() if e.phase == phase}


def body_of(cdp: CDPSession, request_id: str) -> bytes:
    answer = cdp.send("Network.getResponseBody", {"requestId": request_id})
    body: str = answer["body"]
    return base64.b64decode(body) if answer["base64Encoded"] else body.encode()


def compressed_size(exchange: Exchange, body: bytes) -> int:
    """The body's size as it travels compressed: as the server sent it, or gzip level 6 of it."""
    if exchange.headers.get("content-encoding"):
        length = exchange.headers.get("content-length")
        # Without Content-Length (chunked), the bytes on the wire, headers included.
        return int(length) if length else exchange.wire_bytes
    return len(gzip.compress(body, compresslevel=6))


def is_static(url: str, live: LiveServer) -> bool:
    static = live.app.static_url_path or "/static"
    path = urlsplit(url).path
    return path.startswith(static + "/") or path == "/sw.js"


def wait_until_quiet(live: LiveServer) -> None:
    """Until no request has reached the server for QUIET_S (the worker's pages, a sync)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    seen = len(live.requests)
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if len(live.requests) != seen:
            seen = len(live.requests)
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= QUIET_S:
            return


def measure(
    browser: Browser, live: LiveServer, path: str, email: str | None, away: str
) -> dict[str, Any]:
    # Sign in in one context, measure in a fresh one with only its cookies: a truly cold load
    # (empty HTTP cache, no service worker).
    state = None
    if email is not None:
        signing_in = browser.new_context(**PHONE)
        sign_in(signing_in.new_page(), live.url, email)
        state = signing_in.storage_state()
        signing_in.close()
    wait_until_quiet(live)

    context = browser.new_context(**PHONE, base_url=live.url, storage_state=state)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    log = NetworkLog()
    log.attach(cdp)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    cdp.send("Network.emulateNetworkConditions", SLOW_4G)

    server_start, revalidated_start = len(live.requests), len(live.not_modified)
    first = page.goto(path, wait_until="networkidle")
    if first is None or urlsplit(page.url).path != urlsplit(path).path or not first.ok:
        raise SystemExit(f"{path} did not load as {email}: landed on {page.url}")
    timing = page.evaluate("performance.getEntriesByType('navigation')[0].toJSON()")
    worker = email is not None and bool(page.evaluate(WORKER_ACTIVATED))
    wait_until_quiet(live)
    layout_shift = float(page.evaluate(LAYOUT_SHIFT))
    at_server = Counter(live.requests[server_start:])
    # A 304 is a revalidation (Chromium's install of a new worker checks its imports with the
    # server before taking them from the HTTP cache): no body twice, so not fetched twice.
    revalidated = Counter(live.not_modified[revalidated_start:])
    cold = log.in_phase("cold")
    resources = []
    # Bodies are read now: DevTools forgets them once the page navigates away.
    for request_id, exchange in cold.items():
        body = (
            b""
            if 300 <= exchange.status < 400 or not exchange.finished
            else body_of(cdp, request_id)
        )
        resources.append(
            {
                "url": urlsplit(exchange.url).path,
                "type": exchange.resource_type,
                "status": exchange.status,
                "bytes": len(body),
                "gzip_bytes": compressed_size(exchange, body),
            }
        )
    document = next(r for r in resources if r["type"] == "Document")
    # What reached the server that the page did not fetch: the service worker's.
    by_page = Counter(urlsplit(e.url).path for e in cold.values() if not e.cached and e.status != 0)
    # (A revalidation sent no body: it weighs nothing here.)
    for worker_path, times in (at_server - by_page - revalidated).items():
        if worker_path.startswith("/sync/"):
            continue  # its sending, counted below; never a GET to weigh again
        answer = context.request.get(worker_path, max_redirects=0)
        body = answer.body()
        for _ in range(times):
            resources.append(
                {
                    "url": worker_path,
                    "type": "ServiceWorker",
                    "status": answer.status,
                    "bytes": len(body),
                    "gzip_bytes": len(gzip.compress(body, compresslevel=6)),
                }
            )
    static_twice = sorted(
        p for p, n in (at_server - revalidated).items() if n > 1 and is_static(p, live)
    )
    static_revalidated = sorted(p for p in revalidated if is_static(p, live))

    log.phase = "away"
    page.goto(away, wait_until="networkidle")
    server_seen = len(live.requests)
    log.phase = "second"
    page.goto(path, wait_until="networkidle")
    second = list(log.in_phase("second").values())
    static_again = [e for e in second if is_static(e.url, live) and not e.cached]
    static_at_server = [p for p in live.requests[server_seen:] if is_static(p, live)]
    context.close()

    figures = {
        "html_gzip_bytes": document["gzip_bytes"],
        "cold_total_gzip_bytes": sum(r["gzip_bytes"] for r in resources),
        "js_gzip_bytes": sum(r["gzip_bytes"] for r in resources if r["type"] == "Script"),
        "static_fetched_twice": len(static_twice),
        "sync_config_fetches": at_server["/sync/config"],
        "layout_shift": round(layout_shift, 4),
        "second_visit_static_from_network": len(static_again),
    }
    budgets = {**BUDGETS, **PAGE_BUDGETS.get(path, {})}
    return {
        "path": path,
        "account": email or "signed out",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "network": SLOW_4G,
        "viewport": PHONE["viewport"],
        "figures": figures,
        "budgets": budgets,
        "passed": {name: figures[name] <= budget for name, budget in budgets.items()},
        "info": {
            "cold_requests": len(cold),
            "cold_wire_bytes": sum(e.wire_bytes for e in cold.values()),
            "cold_dom_content_loaded_ms": round(timing["domContentLoadedEventEnd"]),
            "cold_load_ms": round(timing["loadEventEnd"]),
            "second_visit_static_at_server": len(static_at_server),
            "service_worker_activated": worker,
            "static_served_twice": static_twice,
            "static_revalidated": static_revalidated,
            "service_worker_gzip_bytes": sum(
                r["gzip_bytes"] for r in resources if r["type"] == "ServiceWorker"
            ),
        },
        "second_visit": [
            {"url": urlsplit(e.url).path, "status": e.status, "from_cache": e.cached}
            for e in second
        ],
        "resources": resources,
    }


def _kb(value: float) -> str:
    return f"{value / KB:.1f} KB"


def print_table(result: dict[str, Any]) -> None:
    network = result["network"]
    print(
        f"\n{result['path']} as {result['account']}, 360 x 740 phone, "
        f"{network['latency']} ms, {network['downloadThroughput'] * 8 / 1e6:.1f} Mbit/s down, "
        f"{network['uploadThroughput'] * 8 / 1e3:.0f} kbit/s up\n"
    )
    print(f"{'figure':<42}{'value':>10}{'budget':>10}  result")
    for name, budget in result["budgets"].items():
        value = result["figures"][name]
        bytes_ = name.endswith("_bytes")
        shown = (_kb(value), _kb(budget)) if bytes_ else (str(value), f"{budget:g}")
        verdict = "pass" if result["passed"][name] else "FAIL"
        print(f"{LABELS[name]:<42}{shown[0]:>10}{shown[1]:>10}  {verdict}")
    info = result["info"]
    print(f"\n{'for information':<42}")
    print(f"{'cold load: requests':<42}{info['cold_requests']:>10}")
    print(f"{'cold load: bytes on the wire, as served':<42}{_kb(info['cold_wire_bytes']):>10}")
    print(f"{'cold load: DOMContentLoaded':<42}{info['cold_dom_content_loaded_ms']:>7} ms")
    print(f"{'cold load: load event':<42}{info['cold_load_ms']:>7} ms")
    worker_bytes = _kb(info["service_worker_gzip_bytes"])
    print(f"{'cold load: the service worker, gzipped':<42}{worker_bytes:>10}")
    print(f"{'service worker activated':<42}{info['service_worker_activated']!s:>10}")
    for again in info["static_revalidated"]:
        print(f"  revalidated (304, no body): {again}")
    for twice in info["static_served_twice"]:
        print(f"  served twice: {twice}")
    at_server = info["second_visit_static_at_server"]
    print(f"{'second visit: static requests at server':<42}{at_server:>10}")
    print(f"\n{'second visit':<50}{'status':>7}  from")
    for e in result["second_visit"]:
        print(f"{e['url'][:48]:<50}{e['status']:>7}  {'cache' if e['from_cache'] else 'network'}")
    print(f"\n{'resource (cold load; * the worker)':<50}{'status':>7}{'bytes':>8}{'gzip':>8}")
    for r in result["resources"]:
        mark = "*" if r["type"] == "ServiceWorker" else " "
        print(f"{mark}{r['url'][:47]:<49}{r['status']:>7}{r['bytes']:>8}{r['gzip_bytes']:>8}")


def save(result: dict[str, Any]) -> None:
    """Keep one entry per path, so measuring another page leaves the others' figures."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    stored[result["path"]] = result
    RESULTS.write_text(json.dumps(stored, indent=2, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--path", help="page to measure (default: every page of PAGES, each as its user)"
    )
    parser.add_argument(
        "--as",
        dest="email",
        default="interrupter@example.org",
        choices=[*sorted(PASSWORDS), "none"],
        help="demo account to sign in as, with --path ('none': signed out)",
    )
    parser.add_argument("--away", default="/profile", help="page visited between the two loads")
    args = parser.parse_args(argv)
    email = None if args.email == "none" else args.email
    pages = [(args.path, email)] if args.path else PAGES

    results = []
    with (
        tempfile.TemporaryDirectory(prefix="page-budget-") as directory,
        live_server(Path(directory)) as live,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(**LAUNCH_ARGS)
        try:
            for path, email in pages:
                # Signed out, a page a signed-in person opens would send the browser to /login.
                away = args.away if email is not None else "/offline"
                results.append(measure(browser, live, path, email, away))
        finally:
            browser.close()
    for result in results:
        print_table(result)
        save(result)
    print(f"\nWritten to {RESULTS.relative_to(ROOT)}")
    return 0 if all(all(result["passed"].values()) for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
