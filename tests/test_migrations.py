"""The migrations build the models' schema from empty, on SQLite and PostgreSQL."""

from __future__ import annotations

import os

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from interrupters.cli import alembic_config, upgrade_database
from interrupters.db import make_engine, metadata

from .conftest import PG_ADMIN

SCRATCH = f"interrupters_scratch_{os.getpid()}"


def test_models_and_migrations_agree(database_url):
    """Autogenerate finds nothing to do on a database built by `alembic upgrade head`."""
    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "render_as_batch": engine.dialect.name == "sqlite"},
        )
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == []


@pytest.fixture
def scratch_url(database, tmp_path):
    """An empty database of the same backend, for going down and up again."""
    if database["kind"] == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {SCRATCH}")
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{SCRATCH}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")


def test_upgrade_downgrade_upgrade(scratch_url):
    upgrade_database(scratch_url)
    engine = make_engine(scratch_url)
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    command.downgrade(alembic_config(scratch_url), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade_database(scratch_url)
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_commits_are_durable_and_foreign_keys_enforced(app):
    """The server answers only after a durable commit (DESIGN.md, offline guarantee 4)."""
    from sqlalchemy import text

    engine = app.extensions["db_engine"]
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        else:
            assert connection.execute(text("SHOW synchronous_commit")).scalar() == "on"
            assert connection.execute(text("SHOW fsync")).scalar() == "on"
