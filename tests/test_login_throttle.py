"""Failed sign-ins per account hold across workers and restarts: the count is in the database,
the wait grows and is capped, and the owner gets in once it has passed (issue 9, item 2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import click
import pytest
from sqlmodel import select

from interrupters import create_app
from interrupters.audit.models import AuditEvent
from interrupters.auth import services as auth_services
from interrupters.auth import throttle
from interrupters.auth.models import LoginThrottle
from interrupters.config import check_limits

from . import factories
from .conftest import _test_config

WRONG = "wrong-guess-Kista-42"


class Clock:
    """A clock the test moves by hand: no sleeping."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(app):
    clock = Clock()
    app.config["CLOCK"] = clock
    return clock


@pytest.fixture
def second_worker(app, database_url, clock, tmp_path):
    """Another app on the same database: another gunicorn worker, or the app after a restart."""
    other = create_app(
        _test_config(database_url, CLOCK=clock, INSTANCE_PATH=str(tmp_path / "second"))
    )
    yield other
    other.extensions["db_engine"].dispose()


def _login(client, email, password):
    return client.post("/login", data={"email": email, "password": password})


def test_the_wait_grows_and_is_capped():
    waits = [throttle.wait_for(n).total_seconds() for n in range(1, 16)]
    assert waits[:4] == [0, 0, 0, 0]
    assert waits[4:9] == [1, 2, 4, 8, 16]
    assert max(waits) == throttle.MAX_WAIT.total_seconds() == waits[-1]
    assert throttle.wait_for(10_000) == throttle.MAX_WAIT


def test_wrong_passwords_spread_over_two_workers_are_refused(
    app, second_worker, clock, session, world, database_url, tmp_path
):
    user = factories.create_user(session, world, "interrupter")
    session.commit()
    clients = [app.test_client(), second_worker.test_client()]
    statuses = [_login(clients[n % 2], user.email, WRONG).status_code for n in range(20)]
    assert set(statuses) == {200, 429}
    first_refused = statuses.index(429)
    assert first_refused < 10, statuses
    assert set(statuses[first_refused:]) == {429}

    # A restart forgets nothing: a new app on the same database still refuses.
    restarted = create_app(
        _test_config(database_url, CLOCK=clock, INSTANCE_PATH=str(tmp_path / "third"))
    )
    waiting = _login(restarted.test_client(), user.email, factories.PASSWORD)
    restarted.extensions["db_engine"].dispose()
    assert waiting.status_code == 429
    retry_after = int(waiting.headers["Retry-After"])
    assert 0 < retry_after <= throttle.MAX_WAIT.total_seconds()

    # Once the wait has passed the owner gets in, on either worker.
    clock.now += timedelta(seconds=retry_after)
    response = _login(clients[1], user.email, factories.PASSWORD)
    assert response.status_code == 302
    # ...and starts again from zero.
    assert _login(app.test_client(), user.email, WRONG).status_code == 200


def test_a_stranger_cannot_lock_the_owner_out_for_long(app, clock, session, world):
    user = factories.create_user(session, world, "supervisor")
    session.commit()
    stranger = app.test_client()
    for _ in range(40):
        _login(stranger, user.email, WRONG)
        clock.now += timedelta(seconds=1)
    # However many attempts, the owner waits at most MAX_WAIT after the last one counted.
    clock.now += throttle.MAX_WAIT
    assert _login(app.test_client(), user.email, factories.PASSWORD).status_code == 302


def test_the_owners_known_device_gets_in_while_a_stranger_keeps_the_account_waiting(
    app, clock, session, world
):
    user = factories.create_user(session, world, "interrupter")
    other = factories.create_user(session, world, "interrupter")
    session.commit()
    owner = app.test_client()
    assert _login(owner, user.email, factories.PASSWORD).status_code == 302
    assert owner.get_cookie("known_device") is not None
    assert owner.post("/logout").status_code in (302, 303)

    stranger = app.test_client()
    for _ in range(12):
        _login(stranger, user.email, WRONG)
    # The clock stands still: the account waits, even for the right password...
    assert _login(stranger, user.email, factories.PASSWORD).status_code == 429
    # ...but not on the owner's own device, which has signed in before.
    assert _login(owner, user.email, factories.PASSWORD).status_code == 302
    owner.post("/logout")
    # The device has a count of its own: it is slowed down too.
    statuses = [_login(owner, user.email, WRONG).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]

    # A forged cookie, or one for another account, is the account's count.
    forged = app.test_client()
    forged.set_cookie("known_device", "not-a-signed-token")
    assert _login(forged, user.email, factories.PASSWORD).status_code == 429
    elsewhere = app.test_client()
    assert _login(elsewhere, other.email, factories.PASSWORD).status_code == 302
    elsewhere.post("/logout")
    assert _login(elsewhere, user.email, factories.PASSWORD).status_code == 429


def test_a_quiet_day_forgets_the_failures(session):
    now = datetime.now(UTC)
    for _ in range(6):
        throttle.record_failed_login(
            session=session, bucket=throttle.account_bucket("a@example.org"), email="a", now=now
        )
    stale = throttle.account_bucket("typo@example.org")
    throttle.record_failed_login(session=session, bucket=stale, email="typo", now=now)
    later = now + throttle.FORGET_AFTER + timedelta(minutes=1)
    bucket = throttle.account_bucket("a@example.org")
    assert throttle.login_wait(session=session, bucket=bucket, now=now) is not None
    assert throttle.record_failed_login(session=session, bucket=bucket, email="a", now=later) == 1
    assert throttle.login_wait(session=session, bucket=bucket, now=later) is None
    # Nobody's typed address is kept longer than that, not even as a hash.
    assert session.get(LoginThrottle, stale) is None
    session.rollback()


def test_unknown_addresses_are_slowed_alike(app, clock, session, world, monkeypatch):
    monkeypatch.setattr(auth_services, "_DUMMY_HASH", auth_services._hasher.hash("dummy"))
    client = app.test_client()
    statuses = [_login(client, "nobody-3k9@example.org", WRONG).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2


def test_refused_attempts_are_audited_with_the_account_never_the_password(
    app, clock, session, world
):
    user = factories.create_user(session, world, "interrupter")
    session.commit()
    client = app.test_client()
    for _ in range(7):
        _login(client, user.email, WRONG)
    session.rollback()
    events = session.exec(
        select(AuditEvent).where(
            AuditEvent.event.in_(["login_failed", "login_throttled"])  # type: ignore[attr-defined]
        )
    ).all()
    assert [e.event for e in events] == ["login_failed"] * 5 + ["login_throttled"] * 2
    for event in events:
        assert event.object_type == "user" and event.object_id == str(user.id)
        stored = json.dumps(event.model_dump(), default=str)
        assert WRONG not in stored and user.email not in stored


def test_production_refuses_per_process_limits_with_several_workers():
    production = {
        "ENV_NAME": "production",
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "WEB_CONCURRENCY": None,
        "RATELIMIT_ALLOW_MEMORY": False,
    }
    with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI"):
        check_limits(production)
    with pytest.raises(RuntimeError):
        check_limits(production | {"WEB_CONCURRENCY": "4"})
    check_limits(production | {"WEB_CONCURRENCY": "1"})
    check_limits(production | {"RATELIMIT_ALLOW_MEMORY": True})
    check_limits(production | {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379"})
    check_limits(production | {"ENV_NAME": "development"})


def test_create_app_refuses_it_too_but_not_for_a_command(database_url, tmp_path):
    config = _test_config(
        database_url,
        ENV_NAME="production",
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        WEB_CONCURRENCY="3",
        INSTANCE_PATH=str(tmp_path / "refused"),
    )
    with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI"):
        create_app(config)
    # `flask scheduler`, `flask backup`: built inside a command, serving no sign-ins.
    with click.Context(click.Command("scheduler")):
        command_app = create_app(config)
    command_app.extensions["db_engine"].dispose()


@pytest.mark.parametrize("proxies", [0, 1])
def test_the_address_behind_trusted_proxies(
    database_url, session, world, tmp_path, proxies, monkeypatch
):
    """Per-address limits see the client's address only behind a trusted proxy."""
    # Unknown addresses are checked against a dummy hash made at production cost.
    monkeypatch.setattr(auth_services, "_DUMMY_HASH", auth_services._hasher.hash("dummy"))
    limited = create_app(
        _test_config(
            database_url,
            RATELIMIT_ENABLED=True,
            RATELIMIT_STORAGE_URI="memory://",
            RATELIMIT_ALLOW_MEMORY=True,
            TRUSTED_PROXIES=proxies,
            INSTANCE_PATH=str(tmp_path / "proxied"),
        )
    )
    client = limited.test_client()

    def attempt(n: int, forwarded_for: str) -> int:
        return client.post(
            "/login",
            data={"email": f"n{n}@example.org", "password": WRONG},
            headers={"X-Forwarded-For": forwarded_for},
            environ_base={"REMOTE_ADDR": "10.9.9.9"},
        ).status_code

    for n in range(30):
        assert attempt(n, "203.0.113.7") == 200
    assert attempt(30, "203.0.113.7") == 429
    # Another client behind the same proxy: its own address only if the proxy is trusted;
    # untrusted, the header is ignored and everyone shares the proxy's address.
    assert attempt(31, "198.51.100.4") == (200 if proxies else 429)
    limited.extensions["db_engine"].dispose()
