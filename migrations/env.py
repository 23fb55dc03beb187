"""Alembic environment: the app's metadata, and real transactions on SQLite too."""

from __future__ import annotations

import os
from typing import Any

from alembic import context
from sqlalchemy import event, text

import interrupters.models  # noqa: F401  (registers every table)
from interrupters.db import UTCDateTime, make_engine, metadata

config = context.config
# The key of the advisory lock migrations take on PostgreSQL (any constant of our own).
MIGRATION_LOCK = 0x5C4ED01F


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    from interrupters import create_app

    return str(create_app().config["DATABASE_URL"])


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations must not import app code: write the plain column type.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    url = _url()
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        # pysqlite commits before DDL on its own; take over so a failed migration rolls back
        # whole instead of leaving _alembic_tmp_* tables behind.
        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            # Batch migrations copy and drop tables; enforcing foreign keys would break that.
            dbapi_connection.execute("PRAGMA foreign_keys=OFF")

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN")

    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=engine.dialect.name == "sqlite",
            render_item=_render_item,
            compare_type=True,
            transactional_ddl=True,
        )
        with context.begin_transaction():
            if engine.dialect.name == "postgresql":
                # Two hosts upgrading at once (each web unit's ExecStartPre): the second waits
                # here, then finds the database at head and does nothing (docs/deploy.md).
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            context.run_migrations()
    engine.dispose()


run_migrations_online()
