"""Every query a page runs, with its plan: do the lists seek to a page or read the table?

Requests each page of bench/growth.py's list through the app (as growth.py does), records the
SQL it sends, and prints each statement that reads `contact` with EXPLAIN QUERY PLAN (SQLite)
or EXPLAIN (ANALYZE, BUFFERS) (PostgreSQL). Point it at a database growth.py seeded, e.g. a
copy of its cache migrated to the head:

    .venv/bin/python bench/explain_pages.py sqlite:////tmp/copy.db \
        /tmp/interrupters-growth/sqlite-1000000.json
    .venv/bin/python bench/explain_pages.py postgresql+psycopg://postgres@127.0.0.1:5432/copy \
        /tmp/interrupters-growth/postgresql-1000000.json [page name ...]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from growth import pages  # noqa: E402
from sqlalchemy import event  # noqa: E402

from interrupters import create_app  # noqa: E402
from interrupters.db import get_engine  # noqa: E402
from tests import factories  # noqa: E402


def main() -> int:
    url, people_file, *only = sys.argv[1:]
    people = json.loads(Path(people_file).read_text())
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "explain-bench-secret-key-0123456789abcdef",
            "DATABASE_URL": url,
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
            "SESSION_COOKIE_SECURE": False,
            "TWO_FACTOR_REQUIRED": False,
            "INSTANCE_PATH": tempfile.mkdtemp(prefix="explain-"),
        }
    )
    with app.app_context():
        engine = get_engine()
    seen: list[tuple[str, Any]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    clients: dict[str, Any] = {}
    for name, path, who in pages(people):
        if only and name not in only:
            continue
        client = clients.get(who)
        if client is None:
            client = clients[who] = app.test_client()
            client.post("/login", data={"email": who, "password": factories.PASSWORD})
        client.get(path)  # warm
        seen.clear()
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        statements = [
            (s, p) for s, p in seen if " contact" in s and s.lstrip().startswith("SELECT")
        ]
        print(
            f"\n=== {name} {path}: {response.status_code}, {elapsed:.1f} ms, "
            f"{len(seen)} statements, {len(statements)} read contact"
        )
        for statement, parameters in statements:
            print("---", " ".join(statement.split())[:600])
            _explain(engine, statement, parameters)
    return 0


def _explain(engine: Any, statement: str, parameters: Any) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            for row in cursor.fetchall():
                print("   ", row[-1])
        else:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            for (line,) in cursor.fetchall():
                print("   ", line)
        raw.rollback()
    finally:
        raw.close()


if __name__ == "__main__":
    sys.exit(main())
