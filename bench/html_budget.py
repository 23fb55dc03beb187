"""Is every page of every role within the first round trip at a million contacts? (issue 13)

Starts from the database bench/growth.py seeds (1,000,000 contacts by default, from its cache
when there is one), adds one person of every role and a record of each other kind (a published
briefing, a walk with a report, a conflict, a referral, a research project, a closed period of
the situational picture), then signs each role in and follows every link its pages offer, as a
newcomer tapping through would: same-site GET links only, never /logout, at most PER_ENDPOINT
addresses of one view. Each HTML answer is gzipped as the app would send it; the goal is
14.6 KB (TCP's first round trip). Also lists any link that does not answer 200.

    .venv/bin/python bench/html_budget.py [--db sqlite,postgresql] [--size 1000000] [--cache]

Writes bench/results/html_budget.json and exits 1 when a page is over the budget.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import uuid
from collections import Counter, deque
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import Session, select  # noqa: E402

from bench.growth import HTML_BUDGET, seeded_database  # noqa: E402
from interrupters import create_app  # noqa: E402
from interrupters.auth.models import Organisation, User  # noqa: E402
from interrupters.auth.values import Role  # noqa: E402
from interrupters.conflicts import services as conflicts  # noqa: E402
from interrupters.db import make_engine  # noqa: E402
from interrupters.participants.models import Participant  # noqa: E402
from interrupters.places.models import Area, District, Place  # noqa: E402
from interrupters.reports.indicators import SECTIONS  # noqa: E402
from interrupters.reports.services import MAX_MONTHS  # noqa: E402
from tests import factories  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "html_budget.json"
PER_ENDPOINT = 3  # addresses of one view to try (a list, a few of its records)
PER_ROLE = 400  # requests a role may make in all
SKIP_PREFIXES = ("/static/", "/logout", "/sw.js", "/manifest")


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def load_world(session: Session) -> factories.World:
    """The world growth.py's seed made, read back by name."""
    return factories.World(
        districts={d.name: d for d in session.exec(select(District))},
        areas={a.name: a for a in session.exec(select(Area))},
        places={p.name: p for p in session.exec(select(Place))},
        organisations={
            key: session.exec(select(Organisation).where(Organisation.name == name)).one()
            for key, name in (
                ("operations", "Drift"),
                ("programme", "Fredsbyggare"),
                ("other_programme", "Andra programmet"),
                ("association", "Nattvandrare"),
                ("municipal", "Fältassistenter"),
            )
        },
    )


def add_every_role(url: str, people: dict[str, Any]) -> dict[str, str]:
    """One signed-in person per role (the seeded worker and supervisor where there are)."""
    engine = make_engine(url)
    emails = {"interrupter": people["worker"], "supervisor": people["supervisor"]}
    with Session(engine) as session:
        world = load_world(session)
        users = {role.value: factories.create_user(session, world, role) for role in Role}
        worker = session.exec(select(User).where(User.email == people["worker"])).one()
        supervisor = session.exec(select(User).where(User.email == people["supervisor"])).one()
        users["interrupter"], users["supervisor"] = worker, supervisor
        factories.serve(session, world, "municipal")
        factories.create_briefing(session, world, users["briefing_author"], publish=True)
        walk = factories.create_walk(
            session,
            world,
            users["association_lead"],
            planned_start=datetime.now(UTC) - timedelta(hours=6),
        )
        factories.create_walk_report(session, world, users["night_walker"], walk)
        conflicts.flag_conflict(
            session=session,
            actor=factories.principal(session, worker),
            data=factories.conflict_input(world),
            client_uuid=str(uuid.uuid4()),
        )
        participant = session.exec(
            select(Participant).where(Participant.worker_id == worker.id)
        ).first()
        service = factories.create_service(session, world)
        if participant is not None:
            factories.create_referral(session, worker, participant, service)
        factories.create_research_project(session, world, users["researcher"])
        factories.create_picture_period(session, world, users["briefing_author"])
        session.commit()
        emails |= {role: user.email for role, user in users.items() if role not in emails}
    engine.dispose()
    return emails


def largest_choices(role: str) -> list[str]:
    """Addresses a picker makes that no link offers: the longest period the figures take (five
    years, shown a page of months at a time) and a section's tables for every area."""
    if role not in ("supervisor", "researcher"):
        return []
    end = date.today().replace(day=1)
    start = date(end.year - MAX_MONTHS // 12, end.month, 1) + timedelta(days=31)
    period = f"start={start:%Y-%m}&end={end:%Y-%m}"
    return [
        f"/figures/?{period}",
        *(f"/figures/areas?section={s.key}&{period}" for s in SECTIONS),
    ]


def crawl(
    client: Any, first: list[str] | None = None
) -> tuple[dict[str, dict[str, Any]], list[tuple[str, int]]]:
    """Every page a signed-in role reaches by its links (and the `first` addresses): the
    largest answer per view."""
    adapter = client.application.url_map.bind("localhost")
    seen: set[str] = set()
    per_endpoint: Counter[str] = Counter()
    pages: dict[str, dict[str, Any]] = {}
    broken: list[tuple[str, int]] = []
    queue = deque([*(first or []), "/"])
    requests = 0
    while queue and requests < PER_ROLE:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        parts = urlsplit(path)
        try:
            endpoint, _args = adapter.match(parts.path, method="GET")
        except Exception:
            endpoint = "?"
        if per_endpoint[endpoint] >= PER_ENDPOINT and path not in (first or []):
            continue
        per_endpoint[endpoint] += 1
        response = client.get(path)
        requests += 1
        if response.status_code != 200:
            if response.status_code not in (301, 302, 303):
                broken.append((path, response.status_code))
            continue
        if response.mimetype != "text/html":
            continue
        size = len(gzip.compress(response.data, compresslevel=6))
        best = pages.get(endpoint)
        if best is None or size > best["html_gzip_bytes"]:
            pages[endpoint] = {"path": path, "html_gzip_bytes": size}
        parser = Links()
        parser.feed(response.get_data(as_text=True))
        for href in parser.hrefs:
            target = urljoin(path, href)
            split = urlsplit(target)
            if split.scheme or split.netloc or not split.path.startswith("/"):
                continue
            if split.path.startswith(SKIP_PREFIXES):
                continue
            address = split.path + (f"?{split.query}" if split.query else "")
            if address not in seen:
                queue.append(address)
    return pages, broken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--cache", action="store_true", help="reuse growth.py's seeded databases")
    args = parser.parse_args()
    report: dict[str, Any] = {"when": datetime.now(UTC).isoformat(), "size": args.size}
    failed = False
    for kind in args.db.split(","):
        with seeded_database(kind, args.size, args.cache) as (url, people):
            emails = add_every_role(url, people)
            app = create_app(
                {
                    "TESTING": True,
                    "SECRET_KEY": "html-budget-bench-secret-key-0123456789",
                    "DATABASE_URL": url,
                    "RATELIMIT_ENABLED": False,
                    "WTF_CSRF_ENABLED": False,
                    "SESSION_COOKIE_SECURE": False,
                    "TWO_FACTOR_REQUIRED": False,
                    "INSTANCE_PATH": tempfile.mkdtemp(prefix="html-budget-"),
                }
            )
            rows: dict[str, Any] = {}
            print(f"\n{kind} at {args.size:,} contacts: the largest first HTML of each page")
            for role, email in emails.items():
                client = app.test_client()
                login = client.post("/login", data={"email": email, "password": factories.PASSWORD})
                assert login.status_code == 302, (role, login.status_code)
                pages, broken = crawl(client, largest_choices(role))
                over = {e: p for e, p in pages.items() if p["html_gzip_bytes"] > HTML_BUDGET}
                failed |= bool(over)
                largest = max(pages.values(), key=lambda p: p["html_gzip_bytes"])
                print(
                    f"  {role:<18}{len(pages):>4} pages; largest {largest['html_gzip_bytes']:>7,} B"
                    f" {largest['path']}{'' if not over else f'  OVER: {len(over)}'}"
                )
                for endpoint, page in sorted(over.items()):
                    print(f"      over: {endpoint} {page['path']} {page['html_gzip_bytes']:,} B")
                for path, status in broken:
                    print(f"      {status}: {path}")
                rows[role] = {"pages": pages, "over": sorted(over), "not_200": broken}
            report[kind] = rows
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
