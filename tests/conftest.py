"""Fixtures: the app on SQLite and on PostgreSQL, a session, a client, sign-in by role."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from interrupters import create_app
from interrupters.auth import services as auth_services
from interrupters.auth.principal import OFFICE_ROLES
from interrupters.auth.values import Role
from interrupters.cli import upgrade_database
from interrupters.contacts.services import latest_out_of_step
from interrupters.db import make_engine, metadata
from interrupters.push.jobs import join_deliveries

from . import factories

PG_ADMIN = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# One database per test process: two runs at once must not drop each other's.
PG_DATABASE = f"interrupters_test_{os.getpid()}"
# CI sets this: a PostgreSQL run that silently skipped would look green.
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1" or os.environ.get("CI") == "true"


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """Argon2 at its production cost takes ~50 ms a hash; tests use the cheapest valid one."""
    original = auth_services._hasher
    auth_services._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    auth_services._hasher = original


def _postgres_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A migrated database per backend, made once per test session with `alembic upgrade head`."""
    if request.param == "sqlite":
        template = tmp_path_factory.mktemp("sqlite") / "template.db"
        upgrade_database(f"sqlite:///{template}")
        yield {"kind": "sqlite", "template": template}
        return
    if not _postgres_available():
        message = "PostgreSQL does not answer at 127.0.0.1:5432"
        if REQUIRE_POSTGRES:
            pytest.fail(message + " and REQUIRE_POSTGRES=1", pytrace=False)
        pytest.skip(message)
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {PG_DATABASE}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DATABASE}"
    upgrade_database(url)
    yield {"kind": "postgresql", "url": url}
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")


# The static files compressed once for the whole run, not once per test's instance folder; one
# folder per process, so that another run's clean-up never removes what this one serves.
STATIC_CACHE_DIR = tempfile.mkdtemp(prefix="interrupters-static-")
atexit.register(shutil.rmtree, STATIC_CACHE_DIR, ignore_errors=True)


def _test_config(url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "STATIC_CACHE_DIR": STATIC_CACHE_DIR,
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "DATABASE_URL": url,
        "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        "SESSION_COOKIE_NAME": "session",
        # Tests that are not about sign-in skip the office roles' second factor; those that are
        # turn it on (app_config), and login_as then passes it through the real pages.
        "TWO_FACTOR_REQUIRED": False,
        **overrides,
    }


@pytest.fixture
def database_url(database: dict[str, Any], tmp_path: Path) -> str:
    """A clean database for one test: a copy of the SQLite template, or emptied PG tables."""
    if database["kind"] == "sqlite":
        target = tmp_path / "test.db"
        shutil.copyfile(database["template"], target)
        return f"sqlite:///{target}"
    url: str = database["url"]
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    # A background push delivery of the test before may still hold a row lock: TRUNCATE can
    # meet it as a deadlock, which PostgreSQL resolves by failing one side. Try again.
    for attempt in range(5):
        try:
            with engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            break
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.2)
    engine.dispose()
    return url


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Override in a test module to change the app's configuration."""
    return {}


@pytest.fixture
def app(database_url: str, app_config: dict[str, Any], tmp_path: Path) -> Iterator[Flask]:
    # No app context is kept open: each request gets its own, as in production (a shared
    # one would carry `g`, the request's database session and Babel's locale, across requests).
    config = {"INSTANCE_PATH": str(tmp_path / "instance"), **app_config}
    app = create_app(_test_config(database_url, **config))
    yield app
    # Deliveries started after a request finish before the next test empties the tables.
    join_deliveries(app)
    # Whatever the test did to contacts, each participant still shows its latest contact.
    with Session(app.extensions["db_engine"]) as session:
        assert latest_out_of_step(session=session) == [], "a participant's latest contact"
    app.extensions["db_engine"].dispose()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session on the test database, separate from the one each request opens."""
    with Session(app.extensions["db_engine"], expire_on_commit=False) as session:
        yield session


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def world(session: Session) -> factories.World:
    """Districts, areas, places and one organisation of each kind."""
    world = factories.make_world(session)
    session.commit()
    return world


@pytest.fixture
def login_as(client: FlaskClient, session: Session, world: factories.World) -> Callable[..., Any]:
    """Create a user with `role` and sign in through the real login form; return the user."""

    def _login(role: str, *, client: FlaskClient = client, **overrides: Any) -> Any:
        user = factories.create_user(session, world, role, **overrides)
        session.commit()
        response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        if client.application.config["TWO_FACTOR_REQUIRED"] and Role(role) in OFFICE_ROLES:
            factories.enrol_authenticator(client, user)
        return user

    return _login


@pytest.fixture
def actor_for(session: Session) -> Callable[..., Any]:
    """A Principal for a user, for calling services directly."""
    return lambda user: factories.principal(session, user)
