"""Back up, restore and verify the database (issue 9, item 9).

- SQLite: the online backup API copies one consistent snapshot while the app keeps writing
  (WAL: readers and the writer do not block each other).
- PostgreSQL: `pg_dump --format=custom` of an exported snapshot, restored with `pg_restore`.

Each backup has a manifest beside it (`<file>.json`): the row count of every table and the head
of the audit chain, counted in the same snapshot the copy was taken from. Verifying opens the
copy (a PostgreSQL dump is restored into a scratch database for it), checks the audit chain link
by link and compares every table's rows with the manifest. Nothing here logs a row's content.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL, Engine, make_url
from sqlmodel import Session

from interrupters.audit.models import AuditEvent
from interrupters.audit.services import verify_chain

logger = logging.getLogger(__name__)

AUDIT_TABLE = "audit_event"


class BackupError(Exception):
    """A backup, restore or verification that did not succeed; the message says why."""


@dataclass
class Manifest:
    kind: str  # "sqlite" or "postgresql"
    created_at: str
    counts: dict[str, int]
    audit_head: str | None = None

    @classmethod
    def read(cls, backup: Path) -> Manifest:
        path = manifest_path(backup)
        if not path.exists():
            raise BackupError(f"{path} is missing: every backup has its manifest beside it")
        return cls(**json.loads(path.read_text()))

    def write(self, backup: Path) -> None:
        manifest_path(backup).write_text(json.dumps(asdict(self), indent=2, sort_keys=True))


@dataclass
class Verification:
    """What verifying a copy found: the audit events checked and any problems."""

    audit_events: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + ".json")


def kind_of(database_url: str) -> str:
    backend = make_url(database_url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"no backup for {backend} databases")
    return backend


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("an SQLite database in a file is needed")
    return Path(database)


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment that carries it
    (a password on a command line is visible to every user of the machine)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Counting -------------------------------------------------------------------------------------


def _count_sqlite(connection: sqlite3.Connection) -> tuple[dict[str, int], str | None]:
    names = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    counts = {
        # Table names come from the catalog, quoted.
        name: int(connection.execute(f"SELECT count(*) FROM {_quoted(name)}").fetchone()[0])  # noqa: S608
        for name in names
    }
    head = None
    if AUDIT_TABLE in counts:
        row = connection.execute(
            f"SELECT hash FROM {AUDIT_TABLE} ORDER BY id DESC LIMIT 1"  # noqa: S608
        ).fetchone()
        head = row[0] if row else None
    return counts, head


def _count_postgresql(connection: psycopg.Connection[Any]) -> tuple[dict[str, int], str | None]:
    names = [
        row[0]
        for row in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
    ]
    counts: dict[str, int] = {}
    for name in names:
        row = connection.execute(f"SELECT count(*) FROM {_quoted(name)}").fetchone()  # noqa: S608
        counts[name] = int(row[0]) if row else 0
    head = None
    if AUDIT_TABLE in counts:
        found = connection.execute(
            f"SELECT hash FROM {AUDIT_TABLE} ORDER BY id DESC LIMIT 1"  # noqa: S608
        ).fetchone()
        head = found[0] if found else None
    return counts, head


def count_rows(database_url: str) -> tuple[dict[str, int], str | None]:
    """Every table's row count and the audit chain's newest hash, as the database is now."""
    if kind_of(database_url) == "sqlite":
        path = _sqlite_path(database_url)
        reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return _count_sqlite(reader)
        finally:
            reader.close()
    conninfo, _env = _libpq(make_url(database_url))
    password = make_url(database_url).password
    with psycopg.connect(conninfo, password=password) as connection:
        return _count_postgresql(connection)


# Backing up -----------------------------------------------------------------------------------


def backup_database(*, database_url: str, target: Path) -> Manifest:
    """Copy the database into `target` (and its manifest) while the app may keep writing."""
    kind = kind_of(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    if kind == "sqlite":
        manifest = _backup_sqlite(_sqlite_path(database_url), partial)
    else:
        manifest = _backup_postgresql(make_url(database_url), partial)
    # Everything the database holds is in the copy: readable by its owner only.
    partial.chmod(0o600)
    # Only a finished copy gets the final name.
    partial.replace(target)
    manifest.write(target)
    manifest_path(target).chmod(0o600)
    logger.info("backup written: %d tables", len(manifest.counts))
    return manifest


def _backup_sqlite(source: Path, target: Path) -> Manifest:
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    connection = sqlite3.connect(source, isolation_level=None)
    copy = sqlite3.connect(target)
    try:
        connection.execute("PRAGMA busy_timeout=10000")
        # One read transaction: the counts and the copy see the same snapshot.
        connection.execute("BEGIN")
        counts, head = _count_sqlite(connection)
        connection.backup(copy)
        connection.execute("COMMIT")
        # One self-contained file, without the source's write-ahead log mode.
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        copy.close()
        connection.close()
    return Manifest(kind="sqlite", created_at=_now(), counts=counts, audit_head=head)


def _backup_postgresql(url: URL, target: Path) -> Manifest:
    conninfo, env = _libpq(url)
    with psycopg.connect(conninfo, password=url.password) as connection:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        # pg_dump reads the snapshot this transaction exported: the counts are of the copy.
        row = connection.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        counts, head = _count_postgresql(connection)
        _run(
            [
                "pg_dump",
                "--format=custom",
                f"--snapshot={row[0]}",
                "--no-owner",
                "--file",
                str(target),
                "--dbname",
                conninfo,
            ],
            env,
        )
        connection.rollback()
    return Manifest(kind="postgresql", created_at=_now(), counts=counts, audit_head=head)


def _run(arguments: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(arguments, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        # pg_dump's and pg_restore's messages name objects, never rows.
        raise BackupError(f"{arguments[0]} failed: {result.stderr.strip()[:2000]}")


# Restoring ------------------------------------------------------------------------------------


def _holds_tables(database_url: str) -> bool:
    engine = create_engine(database_url, hide_parameters=True)
    try:
        return bool(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def restore_database(*, backup: Path, database_url: str, force: bool = False) -> Verification:
    """Restore a backup into a database (empty unless `force`), then verify it there."""
    manifest = Manifest.read(backup)
    kind = kind_of(database_url)
    if kind != manifest.kind:
        raise BackupError(f"a {manifest.kind} backup cannot be restored into {kind}")
    if kind == "sqlite":
        path = _sqlite_path(database_url)
        if path.exists() and path.stat().st_size and not force:
            raise BackupError(f"{path} exists: restore into a new file, or use --force")
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        copy = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        target = sqlite3.connect(path)
        try:
            copy.backup(target)
        finally:
            target.close()
            copy.close()
    else:
        if _holds_tables(database_url) and not force:
            raise BackupError("the database holds tables: restore into an empty one, or --force")
        conninfo, env = _libpq(make_url(database_url))
        options = ["--clean", "--if-exists"] if force else []
        _run(
            [
                "pg_restore",
                *options,
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                "--dbname",
                conninfo,
                str(backup),
            ],
            env,
        )
        # pg_restore brings the rows, not the planner's statistics (PostgreSQL's own advice
        # is to ANALYZE after a restore): until autovacuum gathers them, plans rest on
        # guesses. It samples each table: seconds.
        with psycopg.connect(
            conninfo, password=make_url(database_url).password, autocommit=True
        ) as connection:
            connection.execute("ANALYZE")
    logger.info("backup restored")
    return verify_database(database_url=database_url, manifest=manifest)


# Verifying ------------------------------------------------------------------------------------


def verify_database(*, database_url: str, manifest: Manifest) -> Verification:
    """Check a restored or copied database against a manifest: the audit chain link by link,
    its newest hash, and every table's row count."""
    result = Verification()
    counts, head = count_rows(database_url)
    result.counts = counts
    for name in sorted(set(manifest.counts) | set(counts)):
        expected, found = manifest.counts.get(name), counts.get(name)
        if expected != found:
            result.problems.append(f"table {name}: {found} rows, the source had {expected}")
    if head != manifest.audit_head:
        result.problems.append("the audit chain does not end where the source's did")
    engine = _read_only_engine(database_url)
    try:
        with Session(engine) as session:
            broken = verify_chain(session=session)
    finally:
        engine.dispose()
    if broken is not None:
        result.problems.append(f"audit chain broken at event {broken.event_id} ({broken.reason})")
    result.audit_events = counts.get(AuditEvent.__tablename__, 0)
    return result


def _read_only_engine(database_url: str) -> Engine:
    if kind_of(database_url) == "sqlite":
        path = _sqlite_path(database_url)
        return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true", hide_parameters=True)
    return create_engine(database_url, hide_parameters=True)


def verify_backup(*, backup: Path, server_url: str | None = None) -> Verification:
    """Open a backup and check it against its manifest. A PostgreSQL dump is restored into a
    scratch database on the server of `server_url` (dropped afterwards)."""
    manifest = Manifest.read(backup)
    if manifest.kind == "sqlite":
        return verify_database(database_url=f"sqlite:///{backup}", manifest=manifest)
    if server_url is None or kind_of(server_url) != "postgresql":
        raise BackupError("verifying a PostgreSQL backup needs a PostgreSQL server to restore to")
    with scratch_database(server_url) as scratch:
        return restore_database(backup=backup, database_url=scratch)


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """An empty PostgreSQL database on the same server, dropped when done."""
    url = make_url(server_url)
    name = f"interrupters_scratch_{secrets.token_hex(6)}"
    conninfo, _env = _libpq(url)
    with psycopg.connect(conninfo, password=url.password, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, password=url.password, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
