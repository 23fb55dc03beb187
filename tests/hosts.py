"""App hosts as the operations team runs them: gunicorn on a port each, sharing PostgreSQL,
Redis and the keys from files (docs/deploy.md), and a scheduler process. Shared by the two-host
tests (tests/test_two_hosts.py) and the soak (bench/soak.py); no pytest here.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interrupters import keys

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379"
KEY_SETTINGS = ("SECRET_KEY_FILE", "VAPID_PRIVATE_KEY_FILE", "OUTBOX_KEY_DIR", "RESEARCH_KEY_FILE")


def redis_available() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), 2).close()
        return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Host:
    name: str
    url: str
    module: str
    log: Path
    web: subprocess.Popen[bytes]
    schedulers: list[subprocess.Popen[bytes]] = field(default_factory=list)


def multi_host_env(directory: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The environment every host gets (production, MULTI_HOST, the four keys from files made
    once in `directory`/shared); `extra` adds or overrides variables."""
    shared = directory / "shared"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT) + os.pathsep + str(directory),
        "INTERRUPTERS_ENV": "production",
        "MULTI_HOST": "1",
        "SECRET_KEY_FILE": str(shared / "secret_key"),
        "VAPID_PRIVATE_KEY_FILE": str(shared / "vapid.pem"),
        "OUTBOX_KEY_DIR": str(shared / "outbox"),
        "RESEARCH_KEY_FILE": str(shared / "research.key"),
        "DATABASE_URL": database_url,
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "SECURE_COOKIES": "0",  # plain http on the loopback
        **extra,
    }
    env.pop("FLASK_APP", None)
    made = keys.init_configured_keys({name: env[name] for name in KEY_SETTINGS})
    assert len(made) == len(KEY_SETTINGS), made
    return env


def write_app_module(directory: Path, module: str, settings: Mapping[str, Any]) -> None:
    """`directory`/`module`.py: the app with settings no environment variable sets."""
    lines = "".join(f"    {key!r}: {value!r},\n" for key, value in settings.items())
    (directory / f"{module}.py").write_text(
        f"from interrupters import create_app\napp = create_app({{\n{lines}}})\n"
    )


def start_web(
    name: str, module: str, directory: Path, env: Mapping[str, str], *arguments: str
) -> Host:
    """gunicorn with the app's own settings (interrupters/gunicorn_conf.py) on a free port."""
    port = free_port()
    log = directory / f"web-{name}.log"
    with log.open("wb") as out:
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:interrupters.gunicorn_conf",
                "--bind",
                f"127.0.0.1:{port}",
                *arguments,
                f"{module}:app",
            ],
            cwd=ROOT,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Host(name, f"http://127.0.0.1:{port}", module, log, web)


def start_scheduler(host: Host, directory: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """The Procfile's scheduler (`flask scheduler --wait`) with `host`'s app."""
    log = directory / f"scheduler-{host.name}-{len(host.schedulers)}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", host.module, "scheduler", "--wait"],
            cwd=ROOT,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    host.schedulers.append(process)
    return process


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
