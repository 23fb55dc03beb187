"""Backups: copied while the app writes, restored into a new database with every row, the audit
chain intact; a damaged copy fails verification (issue 9, item 9)."""

from __future__ import annotations

import sqlite3
import threading

import psycopg
import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from interrupters import backup as backups
from interrupters.audit.models import AuditEvent
from interrupters.audit.services import record_event, verify_chain
from interrupters.db import make_engine

from . import factories
from .conftest import PG_ADMIN

WRITES = 150


@pytest.fixture
def restore_url(database, tmp_path):
    """An empty database to restore into: a new file, or a scratch PostgreSQL database."""
    if database["kind"] == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"interrupters_restore_{tmp_path.name[-12:].replace('-', '_').lower()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {name}")
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _rows(url: str, model):
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return [row.model_dump() for row in session.exec(select(model).order_by(col(model.id)))]
    finally:
        engine.dispose()


def test_backup_while_the_app_writes_then_restore_every_row(
    app, session, world, database, database_url, restore_url, tmp_path
):
    factories.create_user(session, world, "supervisor")
    session.commit()
    engine = app.extensions["db_engine"]
    started = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        try:
            for number in range(WRITES):
                with Session(engine) as writer:
                    record_event(session=writer, event="test_write", detail={"n": number})
                    writer.commit()
                if number == 20:
                    started.set()
        except BaseException as error:  # reported by the test below
            failures.append(error)
            started.set()

    thread = threading.Thread(target=write)
    thread.start()
    assert started.wait(60)
    target = tmp_path / "backups" / "copy.bak"
    manifest = backups.backup_database(database_url=database_url, target=target)
    thread.join()
    assert not failures

    copied = manifest.counts["audit_event"]
    assert copied >= 21  # taken while the writer ran (it may have finished meanwhile)
    assert backups.verify_backup(backup=target, server_url=database_url).ok

    result = backups.restore_database(backup=target, database_url=restore_url)
    assert result.ok, result.problems
    assert result.audit_events == copied
    # Every row is back: the audit log up to the snapshot, and every other table whole.
    source_events = _rows(database_url, AuditEvent)
    assert _rows(restore_url, AuditEvent) == source_events[:copied]
    assert len(source_events) >= copied
    for name, count in manifest.counts.items():
        if name != "audit_event":
            assert backups.count_rows(database_url)[0][name] == count, name
    restored = make_engine(restore_url)
    with Session(restored) as check:
        assert verify_chain(session=check) is None
        assert check.exec(text("SELECT count(*) FROM app_user")).one()[0] >= 1
        if database["kind"] != "sqlite":
            # Analysed after the restore: the planner has statistics for the tables at once.
            analysed = "SELECT count(*) FROM pg_stats WHERE tablename = 'audit_event'"
            assert check.exec(text(analysed)).one()[0] > 0
    restored.dispose()


def test_a_damaged_copy_fails_verification(app, session, world, database, database_url, tmp_path):
    for number in range(5):
        record_event(session=session, event="test_write", detail={"n": number})
    session.commit()
    target = tmp_path / "copy.bak"
    backups.backup_database(database_url=database_url, target=target)
    if database["kind"] != "sqlite":
        # A PostgreSQL dump is checked by restoring it; a broken manifest must be noticed.
        manifest = backups.Manifest.read(target)
        manifest.counts["audit_event"] += 1
        manifest.write(target)
        result = backups.verify_backup(backup=target, server_url=database_url)
        assert not result.ok and "audit_event" in result.problems[0]
        return
    with sqlite3.connect(target) as copy:
        # Someone with the file drops the append-only triggers and edits an event.
        for (trigger,) in copy.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'"
        ).fetchall():
            copy.execute(f"DROP TRIGGER {trigger}")
        copy.execute("UPDATE audit_event SET event = 'edited' WHERE id = 3")
    copy.close()
    result = backups.verify_backup(backup=target, server_url=database_url)
    assert not result.ok
    assert any("audit chain broken at event 3" in problem for problem in result.problems)


def test_the_commands_back_up_verify_and_restore(app, session, world, restore_url, tmp_path):
    factories.create_user(session, world, "interrupter")
    session.commit()
    runner = app.test_cli_runner()
    target = tmp_path / "cli.bak"
    made = runner.invoke(args=["backup", str(target), "--verify"])
    assert made.exit_code == 0, made.output
    assert "Verified" in made.output and "audit chain" in made.output
    assert (target.stat().st_mode & 0o777) == 0o600
    session.rollback()
    audited = session.exec(select(AuditEvent).where(AuditEvent.event == "backup_made")).all()
    assert len(audited) == 1 and audited[0].detail["tables"] >= 10
    assert runner.invoke(args=["verify-backup", str(target)]).exit_code == 0
    restored = runner.invoke(args=["restore", str(target), "--to", restore_url])
    assert restored.exit_code == 0, restored.output
    # The target is no longer empty: a second restore is refused without --force.
    again = runner.invoke(args=["restore", str(target), "--to", restore_url])
    assert again.exit_code != 0 and "--force" in again.output
    forced = runner.invoke(args=["restore", str(target), "--to", restore_url, "--force"])
    assert forced.exit_code == 0, forced.output
