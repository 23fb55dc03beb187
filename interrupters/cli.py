"""Command-line tasks: migrate, seed the demo, create the first admin, run the scheduler,
back up, restore and verify, and apply retention."""

from __future__ import annotations

import getpass
import logging
import os
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from alembic import command
from alembic.config import Config
from apscheduler.events import EVENT_SCHEDULER_STARTED
from flask import Flask, current_app
from sqlmodel import Session

from interrupters.db import gather_statistics, get_engine, make_engine, session_scope


def alembic_config(database_url: str) -> Config:
    root = Path(__file__).resolve().parent.parent
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_database(database_url: str) -> None:
    """Bring the database to the newest migration (creates everything from empty), then let
    SQLite gather the statistics its planner needs for the indexes a migration made."""
    command.upgrade(alembic_config(database_url), "head")
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            gather_statistics(session=session)
    finally:
        engine.dispose()


def _stop_on_signals(scheduler: Any) -> None:
    """Shut the scheduler down on SIGTERM or Ctrl-C, from a thread of its own.

    Not in the signal handler: it may interrupt the scheduler's loop holding a lock that
    shutdown() needs, and an exception raised there is swallowed while a job is submitted.
    The handler only writes a byte to a pipe (async-signal-safe).
    """
    read_end, write_end = os.pipe()

    def _signalled(_signum: int, _frame: Any) -> None:
        os.write(write_end, b"x")

    def _stopper() -> None:
        os.read(read_end, 1)
        # A signal may come while the scheduler is still starting: stop it once it runs.
        while not scheduler.running:
            time.sleep(0.05)
        scheduler.shutdown(wait=False)

    threading.Thread(target=_stopper, name="scheduler-stop", daemon=True).start()
    signal.signal(signal.SIGTERM, _signalled)
    signal.signal(signal.SIGINT, _signalled)


def run_scheduler(app: Flask, *, wait: bool, once: bool) -> None:
    """Hold the scheduler's lock and run the jobs until stopped (see interrupters/scheduler.py)."""
    from interrupters import keys
    from interrupters.health.services import STANDBY, forget
    from interrupters.scheduler import (
        SchedulerLock,
        build_scheduler,
        run_all_once,
        write_heartbeat,
    )

    # It sends pushes: with several hosts, on the VAPID key they all share (never its own).
    try:
        keys.check_shared_keys(app.config, Path(app.instance_path))
    except (keys.KeyMissing, OSError) as error:
        raise click.ClickException(str(error)) from None
    lock = SchedulerLock(app)
    announced = False
    while not lock.acquire():
        message = f"Another scheduler is running ({lock.holder()})."
        if not wait:
            raise click.ClickException(message + " This one exits; --wait stands by instead.")
        if not announced:
            click.echo(message + " Waiting to take over.", err=True)
            announced = True
        # Standing by shows on the health page: the other host's scheduler is ready to go.
        write_heartbeat(app, STANDBY)
        time.sleep(float(app.config.get("SCHEDULER_WAIT_SECONDS", 5)))
    if announced:
        click.echo("This scheduler took over.", err=True)
    try:
        if once:
            failed = run_all_once(app)
            if failed:
                raise click.ClickException(f"These jobs failed: {', '.join(failed)}.")
            click.echo("Every job ran once.")
            return
        scheduler = build_scheduler(app, lock)
        _stop_on_signals(scheduler)
        names = ", ".join(job.id for job in scheduler.get_jobs())

        def _started(_event: Any) -> None:
            click.echo(f"Scheduler started: {names}.")

        scheduler.add_listener(_started, EVENT_SCHEDULER_STARTED)
        scheduler.start()
        click.echo("Scheduler stopped.")
    finally:
        lock.release()
        try:
            with app.app_context(), session_scope(get_engine()) as session:
                forget(session=session)
        except Exception:
            logging.getLogger(__name__).exception("could not remove the scheduler's heartbeat")


def _report(result: Any) -> None:
    """Print a verification; fail the command when it found a problem."""
    if not result.ok:
        raise click.ClickException("Verification failed: " + "; ".join(result.problems))
    rows = sum(result.counts.values())
    click.echo(
        f"Verified: {len(result.counts)} tables and {rows} rows as in the source; "
        f"audit chain of {result.audit_events} events intact."
    )


def register(app: Flask) -> None:
    @app.cli.command("db-upgrade")
    def db_upgrade() -> None:
        """Apply every migration (alembic upgrade head)."""
        upgrade_database(current_app.config["DATABASE_URL"])
        click.echo("Database is at the newest migration.")

    @app.cli.command("scheduler")
    @click.option("--wait", is_flag=True, help="Stand by while another scheduler runs.")
    @click.option("--once", is_flag=True, help="Run every job once and exit.")
    def scheduler(wait: bool, once: bool) -> None:
        """Run the periodic jobs (push delivery, repeats, expiry): exactly one per database."""
        # The app's factory has set up the handler (interrupters/logs.py). Not a line for
        # every run of every job; failures still show.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        run_scheduler(current_app._get_current_object(), wait=wait, once=once)  # type: ignore[attr-defined]

    @app.cli.command("retention")
    @click.option("--dry-run", is_flag=True, help="Count what would go; change nothing.")
    def retention(dry_run: bool) -> None:
        """Blank notes and anonymise records past each organisation's retention periods."""
        from interrupters.db import utcnow
        from interrupters.retention.services import KINDS, apply_retention

        with session_scope(get_engine()) as session:
            report = apply_retention(session=session, now=utcnow(), dry_run=dry_run)
            if not dry_run:
                session.commit()
        click.echo("Would change (dry run):" if dry_run else "Changed:")
        for kind in KINDS:
            click.echo(f"  {kind:<22} {report.totals[kind]}")

    @app.cli.command("backup")
    @click.argument("target", required=False, type=click.Path(path_type=Path))
    @click.option("--verify", is_flag=True, help="Open the copy and check it afterwards.")
    def backup(target: Path | None, verify: bool) -> None:
        """Copy the database while the app runs (SQLite backup API or pg_dump), with a manifest."""
        from interrupters import backup as backups

        url = current_app.config["DATABASE_URL"]
        if target is None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            suffix = "sqlite3" if backups.kind_of(url) == "sqlite" else "dump"
            target = Path(current_app.instance_path) / "backups" / f"interrupters-{stamp}.{suffix}"
        try:
            manifest = backups.backup_database(database_url=url, target=target)
        except backups.BackupError as error:
            raise click.ClickException(str(error)) from None
        rows = sum(manifest.counts.values())
        # A copy of everything leaves the database: audited like an export (after the
        # snapshot, so the copy's chain ends just before it).
        from interrupters.audit.services import record_event

        with session_scope(get_engine()) as session:
            record_event(
                session=session,
                event="backup_made",
                detail={"kind": manifest.kind, "tables": len(manifest.counts), "rows": rows},
            )
            session.commit()
        click.echo(f"Backup written to {target} ({len(manifest.counts)} tables, {rows} rows).")
        if verify:
            _report(backups.verify_backup(backup=target, server_url=url))

    @app.cli.command("verify-backup")
    @click.argument("backup", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def verify_backup(backup: Path) -> None:
        """Open a backup, check its audit chain and compare its row counts with the source's."""
        from interrupters import backup as backups

        try:
            result = backups.verify_backup(
                backup=backup, server_url=current_app.config["DATABASE_URL"]
            )
        except backups.BackupError as error:
            raise click.ClickException(str(error)) from None
        _report(result)

    @app.cli.command("restore")
    @click.argument("backup", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option(
        "--to",
        "database_url",
        help="The database to restore into (default: the app's DATABASE_URL).",
    )
    @click.option("--force", is_flag=True, help="Replace what the target database holds.")
    def restore(backup: Path, database_url: str | None, force: bool) -> None:
        """Restore a backup into an empty database (or, with --force, over one), then verify."""
        from interrupters import backup as backups

        try:
            result = backups.restore_database(
                backup=backup,
                database_url=database_url or current_app.config["DATABASE_URL"],
                force=force,
            )
        except backups.BackupError as error:
            raise click.ClickException(str(error)) from None
        click.echo("Restored.")
        _report(result)

    @app.cli.command("demo")
    def demo() -> None:
        """Create the demo scenario (once) and print the demo accounts."""
        from interrupters.demo import DEMO_ACCOUNTS, seed_demo

        with session_scope(get_engine()) as session:
            created = seed_demo(session=session)
            session.commit()
        click.echo("Demo data created." if created else "Demo data was already there.")
        click.echo("Demo accounts (e-mail / password):")
        for account in DEMO_ACCOUNTS:
            click.echo(f"  {account.role:<17} {account.email:<28} {account.password}")

    @app.cli.command("create-admin")
    @click.option("--email", required=True)
    @click.option("--name", "display_name", required=True)
    @click.option("--organisation", "organisation_name", required=True)
    def create_admin(email: str, display_name: str, organisation_name: str) -> None:
        """Create the first administrator, asking for the password."""
        from sqlmodel import select

        from interrupters.auth.models import Organisation
        from interrupters.auth.services import create_user_with_password, password_problems
        from interrupters.auth.values import OrganisationType, Role

        password = getpass.getpass("Password: ")
        problems = password_problems(password=password, user_inputs=[email, display_name])
        if problems:
            raise click.ClickException(" ".join(str(problem) for problem in problems))
        with session_scope(get_engine()) as session:
            organisation = session.exec(
                select(Organisation).where(Organisation.name == organisation_name)
            ).first()
            if organisation is None:
                organisation = Organisation(
                    name=organisation_name, type=OrganisationType.other.value
                )
                session.add(organisation)
                session.flush()
            assert organisation.id is not None
            create_user_with_password(
                session=session,
                email=email,
                display_name=display_name,
                password=password,
                memberships=[(organisation.id, Role.admin)],
            )
            session.commit()
        click.echo(f"Administrator {email} created.")

    register_keys(app)


def _outbox_folder(app: Flask) -> Path:
    from interrupters import keys

    if app.config.get("OUTBOX_PRIVATE_KEYS"):
        raise click.ClickException(
            "The outbox's keys come from OUTBOX_PRIVATE_KEYS: rotate them where that variable "
            "is set (put a new key first, keep the old one after it; docs/deploy.md)."
        )
    return keys.outbox_dir(app.config, Path(app.instance_path))


def register_keys(app: Flask) -> None:
    """`flask keys ...`: make the configured keys, list them, rotate the outbox's."""
    from interrupters import keys

    @app.cli.group("keys")
    def keys_group() -> None:
        """The server's keys: the secret key, the VAPID key and the outbox's keyring."""

    @keys_group.command("init")
    def init() -> None:
        """Make every configured key file that does not exist yet (SECRET_KEY_FILE,
        VAPID_PRIVATE_KEY_FILE, OUTBOX_KEY_DIR); copy them to every host afterwards."""
        made = keys.init_configured_keys(current_app.config)
        for line in made:
            click.echo(f"Made {line}")
        if not made:
            click.echo("Every configured key exists; nothing made.")

    @keys_group.command("list")
    def list_keys() -> None:
        """Where each key comes from and the outbox keys' ids (never a key itself)."""
        config = current_app.config
        source = {
            "environment": "SECRET_KEY",
            "file": f"SECRET_KEY_FILE ({config.get('SECRET_KEY_FILE')})",
            "instance": "the instance folder (generated; one host only)",
            "missing": "MISSING",
        }[config["SECRET_KEY_SOURCE"]]
        click.echo(f"Secret key: {source}")
        vapid = keys.vapid_key(config, Path(current_app.instance_path))
        click.echo(
            f"VAPID key: {keys.key_id(vapid)} from "
            + (
                "VAPID_PRIVATE_KEY"
                if config.get("VAPID_PRIVATE_KEY")
                else config.get("VAPID_PRIVATE_KEY_FILE") or "the instance folder"
            )
        )
        ring = keys.outbox_keyring(config, Path(current_app.instance_path))
        click.echo(f"Outbox keys ({ring.source}):")
        for kid in ring.accepted:
            click.echo(f"  {kid}  {'current' if kid == ring.current_id else 'accepted'}")

    @keys_group.command("rotate-outbox")
    @click.option(
        "--stage",
        is_flag=True,
        help="Only add the new key (accepted, not yet handed out); activate it on every host "
        "once every host has it.",
    )
    def rotate_outbox(stage: bool) -> None:
        """A new outbox key for new records; the old one stays to open what phones hold."""
        folder = _outbox_folder(current_app)
        if stage:
            kid = keys.stage_outbox_key(folder)
            click.echo(
                f"Staged outbox key {kid} in {folder}. Copy the folder to every host, restart "
                f"them, then run `flask keys activate-outbox {kid}` and copy and restart again."
            )
            return
        kid, previous = keys.rotate_outbox_key(folder)
        click.echo(
            f"Outbox key {kid} is current in {folder}"
            + (f"; {previous} is kept to open what phones still hold." if previous else ".")
            + " Restart the app (every host) to use it."
        )

    @keys_group.command("activate-outbox")
    @click.argument("kid")
    def activate_outbox(kid: str) -> None:
        """Make a staged outbox key current; the current one is kept."""
        folder = _outbox_folder(current_app)
        try:
            previous = keys.activate_outbox_key(folder, kid)
        except (FileNotFoundError, RuntimeError) as error:
            raise click.ClickException(str(error)) from None
        click.echo(
            f"Outbox key {kid} is current"
            + (f"; {previous} is kept." if previous else ".")
            + " Restart the app to use it."
        )

    @keys_group.command("retire-outbox")
    @click.argument("kid")
    def retire_outbox(kid: str) -> None:
        """Delete an old outbox key: records still sealed to it can no longer be opened."""
        folder = _outbox_folder(current_app)
        try:
            path = keys.retire_outbox_key(folder, kid)
        except (FileNotFoundError, RuntimeError) as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"Deleted {path}. Restart the app (every host).")
