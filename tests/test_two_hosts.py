"""Two app hosts on one PostgreSQL and one Redis (issue 14, item 5).

Each host is a real gunicorn (interrupters/gunicorn_conf.py) on its own port with its own
instance folder, started as production with MULTI_HOST: every key comes from the shared files,
none from the instance folder. Each host's scheduler is its own process (`flask scheduler
--wait`). What a city running two hosts behind one proxy relies on:

- a phone's records sealed against the key one host handed out are stored through the other;
- a push subscription made on one host is delivered from the other (VAPID verified by a push
  service of our own, tests/pushservice.py);
- a sign-in throttled on one host is throttled on the other (per account in the database, per
  address in Redis);
- one scheduler runs, the other stands by, and takes over when the first is killed.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlmodel import Session, select

from interrupters.contacts.models import Contact
from interrupters.health.models import SchedulerHeartbeat
from interrupters.push import services as push
from interrupters.sync import crypto

from . import factories, hosts
from .conftest import REQUIRE_POSTGRES
from .hosts import Host
from .pushservice import PushService
from .test_sync import payload

ROOT = Path(__file__).resolve().parent.parent
WRONG = "wrong-guess-Husby-17"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PUSH_KEY = re.compile(r'data-key="([^"]+)"')
DEADLINE = 60.0


def _until(condition: Callable[[], Any], what: str, logs: list[Path]) -> Any:
    """Poll until `condition` gives something true (a deadline, not a timing assertion)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {log}\n{log.read_text()[-3000:]}" for log in logs)
            raise AssertionError(f"{what} did not happen within {DEADLINE} s\n{tails}")
        time.sleep(0.2)


@dataclass
class Cluster:
    hosts: list[Host]
    env: dict[str, str]
    directory: Path
    database_url: str
    prefix: str

    def start_scheduler(self, host: Host) -> subprocess.Popen[bytes]:
        return hosts.start_scheduler(host, self.directory, self.env)

    @property
    def logs(self) -> list[Path]:
        return sorted(self.directory.glob("*.log"))


@pytest.fixture
def cluster(database, database_url: str, tmp_path: Path) -> Iterator[Cluster]:
    if database["kind"] != "postgresql":
        pytest.skip("several hosts share PostgreSQL; SQLite is the one-host default")
    if not hosts.redis_available():
        if REQUIRE_POSTGRES:
            pytest.fail("Redis does not answer at 127.0.0.1:6379", pytrace=False)
        pytest.skip("Redis does not answer at 127.0.0.1:6379")
    # What the operations team hands every host: the same four keys (docs/deploy.md).
    env = hosts.multi_host_env(tmp_path, database_url, WEB_CONCURRENCY="1", DRAIN_SECONDS="0")
    prefix = f"two-hosts-{uuid.uuid4().hex[:8]}"  # this test's own counters in the shared Redis
    started = []
    for name in ("a", "b"):
        module = f"two_hosts_{name}"
        # Test-only settings no environment variable sets: the push service is on 127.0.0.1.
        hosts.write_app_module(
            tmp_path,
            module,
            {
                "INSTANCE_PATH": str(tmp_path / ("instance-" + name)),
                "PUSH_ALLOW_HTTP": True,
                "PUSH_SERVICE_HOSTS": ("127.0.0.1",),
                "PUSH_DELIVER_EVERY_SECONDS": 1,
                "SCHEDULER_HEARTBEAT_SECONDS": 1,
                "SCHEDULER_WAIT_SECONDS": 0.5,
                "RATELIMIT_KEY_PREFIX": prefix,
            },
        )
        started.append(hosts.start_web(name, module, tmp_path, env))
    result = Cluster(started, env, tmp_path, database_url, prefix)
    try:
        for host in started:

            def up(host: Host = host) -> bool:
                assert host.web.poll() is None, host.log.read_text()
                try:
                    return requests.get(host.url + "/healthz", timeout=10).status_code == 200
                except requests.RequestException:
                    return False

            _until(up, f"host {host.name} answering", result.logs)
        yield result
    finally:
        for host in started:
            for process in host.schedulers:
                hosts.stop(process)
            # At once: the drain and kept-alive connections are tests/test_health.py's.
            hosts.stop(host.web, signal.SIGQUIT)
    # Neither host made a key of its own.
    assert not list(tmp_path.glob("instance-*/*.pem"))
    assert not list(tmp_path.glob("instance-*/secret_key"))


def _sign_in(browser: requests.Session, host: Host, user: Any) -> None:
    page = browser.get(host.url + "/login", timeout=10)
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    answer = browser.post(
        host.url + "/login",
        data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text[:500]


def _user(session: Session, world: factories.World, role: str) -> Any:
    user = factories.create_user(session, world, role)
    session.commit()
    return user


def test_records_sealed_against_one_host_are_stored_through_the_other(
    cluster: Cluster, session: Session, world: factories.World
) -> None:
    a, b = cluster.hosts
    phone = requests.Session()
    _sign_in(phone, a, _user(session, world, "interrupter"))
    config = phone.get(a.url + "/sync/config", headers={"Accept": "application/json"}, timeout=10)
    assert config.status_code == 200
    key, token = config.json()["public_key"], config.json()["csrf_token"]
    records = []
    for _ in range(3):
        client_uuid = str(uuid.uuid4())
        envelope = crypto.seal(key, payload(world), kind="contact", client_uuid=client_uuid)
        records.append({"kind": "contact", "client_uuid": client_uuid, "envelope": envelope})
    headers = {"Accept": "application/json", "X-CSRFToken": token}
    # One alone, then a batch: both through host b, with a's key, session and CSRF token.
    alone = phone.post(b.url + "/sync/records", json=records[0], headers=headers, timeout=30)
    assert alone.status_code == 201, alone.text
    batch = phone.post(
        b.url + "/sync/records", json={"records": records[1:]}, headers=headers, timeout=30
    )
    assert batch.status_code == 200
    assert [r["status"] for r in batch.json()["results"]] == ["stored", "stored"]
    # b hands out the same key: a phone does not care which host answers.
    other = phone.get(b.url + "/sync/config", headers={"Accept": "application/json"}, timeout=10)
    assert other.json()["public_key"] == key
    session.expire_all()
    stored = session.exec(select(Contact.client_uuid)).all()
    assert sorted(stored) == sorted(r["client_uuid"] for r in records)


def test_a_subscription_made_on_one_host_is_delivered_from_the_other(
    cluster: Cluster, session: Session, world: factories.World
) -> None:
    a, b = cluster.hosts
    user = _user(session, world, "interrupter")
    browser = requests.Session()
    _sign_in(browser, a, user)
    home = browser.get(a.url + "/", timeout=10).text
    application_server_key = PUSH_KEY.search(home).group(1)  # type: ignore[union-attr]
    csrf = CSRF.search(browser.get(a.url + "/profile", timeout=10).text)
    with PushService(application_server_key=application_server_key) as service:
        subscriber = service.subscriber()
        made = browser.post(
            a.url + "/push/subscriptions",
            json=subscriber.subscription_json(),
            headers={"Accept": "application/json", "X-CSRFToken": csrf.group(1)},  # type: ignore[union-attr]
            timeout=10,
        )
        assert made.status_code == 201, made.text
        # Only b's scheduler runs: what it sends, it signs with the key a handed out.
        cluster.start_scheduler(b)
        push.notify(
            session=session,
            recipient_ids=[user.id],
            kind="two_hosts",
            subject="two-hosts:1",
            title="Ett larm",
            body="Från den andra värden",
            url="/notifications",
        )
        session.commit()
        (message,) = _until(lambda: service.messages_for(subscriber), "delivery", cluster.logs)
        assert service.failures == []
        assert message.payload["url"] == "/notifications"
        assert "Från den andra värden" in str(message.payload)


def test_a_sign_in_throttled_on_one_host_is_throttled_on_the_other(
    cluster: Cluster, session: Session, world: factories.World
) -> None:
    a, b = cluster.hosts
    user = _user(session, world, "interrupter")

    def attempt(host: Host, email: str) -> requests.Response:
        browser = requests.Session()
        page = browser.get(host.url + "/login", timeout=10)
        token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
        return browser.post(
            host.url + "/login",
            data={"email": email, "password": WRONG, "csrf_token": token},
            allow_redirects=False,
            timeout=10,
        )

    # Per account (the database): wrong passwords spread over both hosts, until the wait is
    # long (it grows with each failure; a short one is waited out, as an attacker would).
    statuses = []
    for n in range(40):
        answer = attempt(cluster.hosts[n % 2], user.email)
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            wait = int(answer.headers["Retry-After"])
            if wait >= 8:
                refused_on = cluster.hosts[n % 2]
                break
            time.sleep(wait)
    else:
        raise AssertionError(f"never refused for long: {statuses}")
    other = b if refused_on is a else a
    # At once on the other host: refused too, with the same wait ahead.
    answer = attempt(other, user.email)
    assert answer.status_code == 429, statuses
    assert 0 < int(answer.headers["Retry-After"]) <= wait
    assert statuses.index(429) < 10, statuses

    # Per address (Redis): 30 sign-ins a minute from one address, whichever host they reach.
    # The counters so far are cleared; each try is for another account, so the database's
    # per-account count never refuses them.
    import redis

    client = redis.Redis.from_url(cluster.env["RATELIMIT_STORAGE_URI"])
    for key in client.scan_iter(f"*{cluster.prefix}*"):
        client.delete(key)
    client.close()
    answers = [
        attempt(cluster.hosts[n % 2], f"nobody-{n}@example.org").status_code for n in range(30)
    ]
    assert 429 not in answers, answers
    # The next one is over the limit on either host: neither counted alone (15 each).
    assert attempt(a, "nobody-a@example.org").status_code == 429
    assert attempt(b, "nobody-b@example.org").status_code == 429


def test_one_scheduler_runs_and_the_other_takes_over_when_it_is_killed(
    cluster: Cluster, session: Session
) -> None:
    a, b = cluster.hosts

    def rows() -> dict[int, str]:
        session.expire_all()
        return {row.pid: row.state for row in session.exec(select(SchedulerHeartbeat)).all()}

    first = cluster.start_scheduler(a)
    _until(lambda: rows().get(first.pid) == "running", "a's scheduler running", cluster.logs)
    second = cluster.start_scheduler(b)
    _until(lambda: rows().get(second.pid) == "standby", "b's scheduler standing by", cluster.logs)
    assert rows()[first.pid] == "running"
    # Both hosts' readiness reads the same heartbeat (a local probe sees the detail).
    for host in cluster.hosts:
        detail = requests.get(host.url + "/readyz", timeout=10).json()
        assert detail["checks"]["scheduler"]["running"] == 1
        assert detail["checks"]["scheduler"]["standby"] == 1

    first.send_signal(signal.SIGKILL)  # no clean stop: the host died
    first.wait(timeout=30)
    _until(lambda: rows().get(second.pid) == "running", "b's scheduler taking over", cluster.logs)
    assert second.poll() is None
    # The dead one's row stops beating: it is stale, and never counted as running.
    detail = requests.get(b.url + "/readyz", timeout=10).json()
    assert detail["checks"]["scheduler"]["ok"] is True

    # A third scheduler started now waits behind b.
    third = cluster.start_scheduler(a)
    _until(
        lambda: rows().get(third.pid) == "standby", "a's new scheduler standing by", cluster.logs
    )
    assert rows()[second.pid] == "running"
