"""Lighthouse 12.8 (mobile, the default preset), median of 5 runs, on the pages of issue 13.

Goals: performance >= 98 and accessibility 100 on the login, the contact form, the night
walker's briefing, the review queue and every role's start page.

What it does:
- installs Lighthouse 12.8.2 (the last that runs on node 20) into bench/node/ when missing
  (`npm install --prefix bench/node lighthouse@12.8.2`; gitignored, never in CI);
- starts the app itself: gunicorn (one worker, four threads) on a free port, against a fresh
  SQLite file in a temporary folder (its own instance folder and keys), migrated and with the
  demo data (`flask db-upgrade`, `flask demo`);
- signs each demo account in through the real login form with `requests` (the office roles'
  second factor is turned off for this bench app: TWO_FACTOR_REQUIRED=0; the field roles
  decline the PIN offer) and hands the session cookie to Lighthouse with --extra-headers;
- runs Lighthouse (CHROME_PATH=/usr/bin/chromium, headless) RUNS times a page, takes the median
  of each score, keeps the median run's report (by performance) for the metrics and the
  failing audits.

Writes bench/results/lighthouse.json (and each page's median report in
bench/results/lighthouse/), prints a table and exits 1 when a goal is missed.

    .venv/bin/python bench/lighthouse.py [--runs 5] [--only /login --only home:admin]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from interrupters.demo import DEMO_ACCOUNTS  # noqa: E402

NODE_DIR = ROOT / "bench" / "node"
LIGHTHOUSE = NODE_DIR / "node_modules" / "lighthouse" / "cli" / "index.js"
LIGHTHOUSE_VERSION = "12.8.2"
CHROME_PATH = "/usr/bin/chromium"
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --no-first-run --disable-sync"
RESULTS = ROOT / "bench" / "results" / "lighthouse.json"
REPORTS = ROOT / "bench" / "results" / "lighthouse"
GOALS = {"performance": 98, "accessibility": 100}
PASSWORDS = {account.email: account.password for account in DEMO_ACCOUNTS}
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Target:
    name: str
    path: str
    email: str | None  # None: not signed in


TARGETS = [
    Target("login", "/login", None),
    Target("contact form", "/contacts/new", "interrupter@example.org"),
    Target("briefing", "/briefings/current", "walker@example.org"),
    Target("review queue", "/review", "supervisor@example.org"),
    Target("home:interrupter", "/", "interrupter@example.org"),
    Target("home:night_walker", "/", "walker@example.org"),
    Target("home:association_lead", "/", "lead@example.org"),
    Target("home:supervisor", "/", "supervisor@example.org"),
    Target("home:briefing_author", "/", "author@example.org"),
    Target("home:admin", "/", "admin@example.org"),
    Target("home:researcher", "/", "researcher@example.org"),
]
# The metrics and opportunities kept from the median run, to find a low score's cause.
METRICS = [
    "first-contentful-paint",
    "largest-contentful-paint",
    "total-blocking-time",
    "cumulative-layout-shift",
    "speed-index",
    "interactive",
]


def ensure_lighthouse() -> None:
    if LIGHTHOUSE.is_file():
        return
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    print(f"Installing Lighthouse {LIGHTHOUSE_VERSION} into {NODE_DIR} ...", flush=True)
    subprocess.run(
        ["npm", "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund",
         f"lighthouse@{LIGHTHOUSE_VERSION}"],
        check=True,
    )  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_app(folder: Path, *, compressed: bool = True) -> Iterator[str]:
    """gunicorn on a free port, on a fresh SQLite file with the demo data; yields its URL.

    Not `compressed`: the app as it was before issue 13 (static files served by Flask, nothing
    compressed), for the comparison."""
    port = free_port()
    instance = folder / "instance"
    instance.mkdir()
    config: dict[str, Any] = {"INSTANCE_PATH": str(instance)}
    if not compressed:
        config.update({"STATIC_PRECOMPRESSED": False, "COMPRESS_MIMETYPES": []})
    factory = f"interrupters:create_app({config!r})"
    env = {
        **os.environ,
        "INTERRUPTERS_ENV": "development",
        "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
        # The office roles' second factor is off in this bench app only: Lighthouse gets a
        # session cookie, and the pages after the second factor are the same pages.
        "TWO_FACTOR_REQUIRED": "0",
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "4",
        "BIND": f"127.0.0.1:{port}",
        "ACCESS_LOG": "",
        "DRAIN_SECONDS": "0",
        "PYTHONPATH": str(ROOT),
    }
    for command in ("db-upgrade", "demo"):
        subprocess.run(
            [str(BIN / "flask"), "--app", factory, command],
            check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    log = (folder / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "python:interrupters.gunicorn_conf", factory],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(f"{url}/healthz", timeout=5).ok:
                    break
            except requests.RequestException:
                pass
            if server.poll() is not None:
                raise SystemExit(f"gunicorn stopped: see {folder / 'gunicorn.log'}")
            time.sleep(0.1)
        else:
            raise SystemExit("gunicorn did not answer /healthz in time")
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def sign_in(url: str, email: str) -> str:
    """Sign in through the login form; the Cookie header of the session."""
    browser = requests.Session()
    form = browser.get(f"{url}/login", timeout=10)
    token = CSRF.search(form.text)
    assert token, "no CSRF token on the login page"
    answer = browser.post(
        f"{url}/login",
        data={"email": email, "password": PASSWORDS[email], "csrf_token": token.group(1)},
        headers={"Referer": f"{url}/login"},
        timeout=10,
    )
    if urlsplit(answer.url).path == "/pin/new":
        # A field role is offered a PIN for the phone: declined, as a browser test does.
        token = CSRF.search(answer.text)
        assert token, "no CSRF token on the PIN offer"
        answer = browser.post(
            f"{url}/pin/skip?{urlsplit(answer.url).query}",
            data={"csrf_token": token.group(1)},
            headers={"Referer": answer.url},
            timeout=10,
        )
    if "/login" in answer.url or "/pin" in answer.url:
        raise SystemExit(f"sign-in as {email} failed: landed on {answer.url}")
    # Signing in starts a new session without a CSRF token; the first page puts one in. Without
    # this, every page Lighthouse loads would set a new token in a cookie that Lighthouse's
    # fixed Cookie header never sends back, and the page's own POSTs (the briefing's read
    # receipt) would be refused with 400.
    browser.get(f"{url}/", timeout=10)
    return "; ".join(f"{c.name}={c.value}" for c in browser.cookies)


def lighthouse(url: str, cookie: str | None, output: Path) -> dict[str, Any]:
    command = [
        "node", str(LIGHTHOUSE), url,
        "--quiet",
        "--output=json", f"--output-path={output}",
        "--only-categories=performance,accessibility",
        f"--chrome-flags={CHROME_FLAGS}",
        "--max-wait-for-load=30000",
    ]  # fmt: skip
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    env = {**os.environ, "CHROME_PATH": CHROME_PATH}
    for attempt in range(3):
        # On a busy machine Lighthouse sometimes loses the trace (NO_NAVSTART): run it again.
        done = subprocess.run(command, env=env, timeout=180, stdout=subprocess.DEVNULL)
        if done.returncode == 0:
            break
        if attempt == 2:
            done.check_returncode()
    report: dict[str, Any] = json.loads(output.read_text())
    return report


def score(report: dict[str, Any], category: str) -> float:
    value = report["categories"][category]["score"]
    return round(100 * value) if value is not None else 0


def failing_audits(report: dict[str, Any], category: str) -> list[dict[str, Any]]:
    """The audits of `category` that cost points, heaviest first."""
    audits = report["audits"]
    found = []
    for ref in report["categories"][category]["auditRefs"]:
        audit = audits[ref["id"]]
        if ref["weight"] and audit.get("score") is not None and audit["score"] < 1:
            found.append(
                {
                    "id": ref["id"],
                    "weight": ref["weight"],
                    "score": audit["score"],
                    "display": audit.get("displayValue", ""),
                    "title": audit["title"],
                    "items": [_item(i) for i in (audit.get("details") or {}).get("items", [])[:5]],
                }
            )
    # Opportunities and diagnostics that carry no weight but say where time goes.
    if category == "performance":
        for audit_id in ("render-blocking-resources", "unused-javascript", "layout-shifts",
                         "largest-contentful-paint-element", "critical-request-chains",
                         "server-response-time", "uses-text-compression"):  # fmt: skip
            audit = audits.get(audit_id)
            if audit and audit.get("score") is not None and audit["score"] < 1:
                found.append(
                    {
                        "id": audit_id,
                        "weight": 0,
                        "score": audit["score"],
                        "display": audit.get("displayValue", ""),
                        "title": audit["title"],
                        "items": [
                            _item(i) for i in (audit.get("details") or {}).get("items", [])[:5]
                        ],
                    }
                )
    return sorted(found, key=lambda a: -a["weight"])


def _item(item: dict[str, Any]) -> dict[str, Any]:
    keep = ("url", "wastedMs", "wastedBytes", "score", "totalBytes", "node", "duration")
    out = {k: item[k] for k in keep if k in item}
    if isinstance(out.get("node"), dict):
        node = out["node"]
        out["node"] = {k: node.get(k) for k in ("selector", "snippet", "explanation")}
    return out


def measure(url: str, target: Target, runs: int, folder: Path, out: Path) -> dict[str, Any]:
    cookie = sign_in(url, target.email) if target.email else None
    reports = []
    for run in range(runs):
        output = folder / f"{re.sub(r'[^a-z0-9]+', '-', target.name)}-{run}.json"
        report = lighthouse(f"{url}{target.path}", cookie, output)
        final = report.get("finalDisplayedUrl", "")
        if not final.endswith(target.path):
            raise SystemExit(f"{target.name}: Lighthouse landed on {final}, not {target.path}")
        reports.append(report)
    perf = [score(r, "performance") for r in reports]
    a11y = [score(r, "accessibility") for r in reports]
    # The run whose performance score is the median: its metrics and audits are reported.
    median_run = sorted(reports, key=lambda r: score(r, "performance"))[len(reports) // 2]
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{re.sub(r'[^a-z0-9]+', '-', target.name)}.json").write_text(json.dumps(median_run))
    medians = {
        "performance": statistics.median(perf),
        "accessibility": statistics.median(a11y),
    }
    return {
        "name": target.name,
        "path": target.path,
        "account": target.email,
        "scores": medians,
        "runs": {"performance": perf, "accessibility": a11y},
        "passed": {k: medians[k] >= goal for k, goal in GOALS.items()},
        "metrics": {
            m: {
                "value": median_run["audits"][m].get("numericValue"),
                "display": median_run["audits"][m].get("displayValue"),
                "score": median_run["audits"][m].get("score"),
            }
            for m in METRICS
        },
        "failing": {c: failing_audits(median_run, c) for c in GOALS},
        "bytes": cold_bytes(median_run),
    }


def cold_bytes(report: dict[str, Any]) -> dict[str, int]:
    """What the cold load (empty cache) fetched: bytes over the wire (headers and bodies as
    sent, compressed where the server compressed) and the bodies' own size, uncompressed."""
    items = report["audits"]["network-requests"]["details"]["items"]
    return {
        "requests": len(items),
        "transfer_bytes": int(sum(i.get("transferSize") or 0 for i in items)),
        "resource_bytes": int(sum(i.get("resourceSize") or 0 for i in items)),
    }


def print_table(results: list[dict[str, Any]], runs: int) -> None:
    print(f"\nLighthouse {LIGHTHOUSE_VERSION}, mobile (default preset), median of {runs}")
    header = f"{'page':<24}{'path':<20}{'perf':>6}{'a11y':>6}  {'FCP':>7}{'LCP':>7}{'TBT':>7}"
    print(header + f"{'CLS':>7}{'wire':>9}  runs (perf)")
    for r in results:
        m = r["metrics"]
        mark = "" if all(r["passed"].values()) else "  <- goal missed"
        wire = r.get("bytes", {}).get("transfer_bytes", 0)
        print(
            f"{r['name']:<24}{r['path']:<20}{r['scores']['performance']:>6.0f}"
            f"{r['scores']['accessibility']:>6.0f}  "
            f"{m['first-contentful-paint']['value'] / 1000:>6.2f}s"
            f"{m['largest-contentful-paint']['value'] / 1000:>6.2f}s"
            f"{m['total-blocking-time']['value']:>5.0f}ms"
            f"{m['cumulative-layout-shift']['value']:>7.3f}"
            f"{wire / 1000:>7.1f}KB  {r['runs']['performance']}{mark}"
        )
    print(f"goals: performance >= {GOALS['performance']}, accessibility {GOALS['accessibility']}")
    for r in results:
        for category, audits in r["failing"].items():
            weighted = [a for a in audits if a["weight"]]
            if not r["passed"][category] and weighted:
                names = ", ".join(f"{a['id']} ({a['display'] or a['score']})" for a in weighted)
                print(f"  {r['name']} {category}: {names}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="Lighthouse runs a page (median)")
    parser.add_argument(
        "--only", action="append", default=[], help="a page's name or path (repeatable)"
    )
    parser.add_argument(
        "--uncompressed",
        action="store_true",
        help="the app without its compression, for comparison (results: lighthouse-uncompressed)",
    )
    args = parser.parse_args(argv)
    results_file = RESULTS.with_stem("lighthouse-uncompressed") if args.uncompressed else RESULTS
    if not Path(CHROME_PATH).exists():
        raise SystemExit(f"{CHROME_PATH} is missing (apt-get install chromium)")
    ensure_lighthouse()
    targets = [t for t in TARGETS if not args.only or t.name in args.only or t.path in args.only]
    folder = Path(tempfile.mkdtemp(prefix="interrupters-lighthouse-"))
    results = []
    try:
        with running_app(folder, compressed=not args.uncompressed) as url:
            for target in targets:
                print(f"{target.name} ({target.path}) ...", flush=True)
                reports = REPORTS.with_name(results_file.stem)
                results.append(measure(url, target, args.runs, folder, reports))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.only and results_file.exists():
        # Some pages again: the others keep their figures from the last full run.
        earlier = json.loads(results_file.read_text()).get("pages", [])
        ran = {r["name"] for r in results}
        order = [t.name for t in TARGETS]
        results = sorted(
            [r for r in earlier if r["name"] not in ran] + results,
            key=lambda r: order.index(r["name"]) if r["name"] in order else len(order),
        )
    results_file.parent.mkdir(parents=True, exist_ok=True)
    results_file.write_text(
        json.dumps(
            {
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "lighthouse": LIGHTHOUSE_VERSION,
                "preset": "mobile (default)",
                "runs": args.runs,
                "compressed": not args.uncompressed,
                "goals": GOALS,
                "pages": results,
            },
            indent=2,
        )
    )
    print_table(results, args.runs)
    print(f"\nWritten: {results_file.relative_to(ROOT)}")
    return 0 if all(all(r["passed"].values()) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
