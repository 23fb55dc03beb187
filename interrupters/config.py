"""Settings read from the environment, with safe defaults for a single SQLite instance."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The push services of Chrome/Android, Firefox, Safari and Edge: the only hosts a browser's
# subscription may point the server at (PUSH_SERVICE_HOSTS, a comma-separated list, overrides).
PUSH_SERVICE_HOSTS = (
    "fcm.googleapis.com",
    "push.services.mozilla.com",
    "push.apple.com",
    "notify.windows.com",
)
# Values people copy from tutorials; refuse to run with them outside development.
WEAK_SECRETS = {"dev", "secret", "changeme", "change-me", "development", "test", "default"}


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _instance_secret(instance_path: Path) -> str:
    """Read the instance's secret key, creating a random one on first run (never committed)."""
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


@dataclass
class Settings:
    """Every setting the app reads; `as_flask_config` turns them into Flask's names."""

    env: str = "production"
    secret_key: str | None = None
    # Each key from a file (a secret manager's, systemd's credentials) or the environment;
    # without either, generated into the instance folder (one host only: see keys.py).
    secret_key_file: str | None = None
    vapid_private_key: str | None = None
    vapid_private_key_file: str | None = None
    outbox_private_keys: str | None = None
    outbox_key_dir: str | None = None
    # The key that seals research projects' pseudonym secrets (interrupters/research/sealing.py).
    research_key_file: str | None = None
    # Several app hosts share the database: keys must be configured, never generated.
    multi_host: bool = False
    # Seconds a host answers readiness 503 after SIGTERM before it stops taking requests.
    drain_seconds: float = 10.0
    database_url: str | None = None
    ratelimit_storage_uri: str = "memory://"
    ratelimit_enabled: bool = True
    # Explicitly one process, so Flask-Limiter's memory storage is whole (see `check_limits`).
    ratelimit_allow_memory: bool = False
    web_concurrency: str | None = None
    # Proxies in front of the app whose X-Forwarded-For/-Proto/-Host are believed (ProxyFix).
    trusted_proxies: int = 0
    secure_cookies: bool = True
    vapid_subject: str = "mailto:push@interrupters.invalid"
    push_service_hosts: tuple[str, ...] = PUSH_SERVICE_HOSTS
    two_factor_required: bool = True
    webauthn_rp_id: str | None = None
    # The situational picture's map needs no tiles; a deployment with its own tile server may
    # name it ("https://tiles.example.se/{z}/{x}/{y}.png"). Off by default: nothing from a CDN.
    picture_tile_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ.get("INTERRUPTERS_ENV", "production")
        return cls(
            env=env,
            secret_key=os.environ.get("SECRET_KEY"),
            secret_key_file=os.environ.get("SECRET_KEY_FILE") or None,
            vapid_private_key=os.environ.get("VAPID_PRIVATE_KEY") or None,
            vapid_private_key_file=os.environ.get("VAPID_PRIVATE_KEY_FILE") or None,
            outbox_private_keys=os.environ.get("OUTBOX_PRIVATE_KEYS") or None,
            outbox_key_dir=os.environ.get("OUTBOX_KEY_DIR") or None,
            research_key_file=os.environ.get("RESEARCH_KEY_FILE") or None,
            multi_host=_bool("MULTI_HOST", False),
            drain_seconds=float(os.environ.get("DRAIN_SECONDS", "10")),
            database_url=os.environ.get("DATABASE_URL"),
            ratelimit_storage_uri=os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
            ratelimit_enabled=_bool("RATELIMIT_ENABLED", True),
            ratelimit_allow_memory=_bool("RATELIMIT_ALLOW_MEMORY", False),
            web_concurrency=os.environ.get("WEB_CONCURRENCY"),
            trusted_proxies=int(os.environ.get("TRUSTED_PROXIES", "0")),
            # Browsers refuse Secure cookies over plain http outside localhost; development
            # serves plain http, production must sit behind TLS.
            secure_cookies=_bool("SECURE_COOKIES", env == "production"),
            # Push services write to this address when our pushes misbehave.
            vapid_subject=os.environ.get("VAPID_SUBJECT", cls.vapid_subject),
            two_factor_required=_bool("TWO_FACTOR_REQUIRED", True),
            webauthn_rp_id=os.environ.get("WEBAUTHN_RP_ID") or None,
            picture_tile_url=_tile_url(os.environ.get("PICTURE_TILE_URL") or None),
            push_service_hosts=tuple(
                host.strip().lower()
                for host in os.environ.get(
                    "PUSH_SERVICE_HOSTS", ",".join(PUSH_SERVICE_HOSTS)
                ).split(",")
                if host.strip()
            ),
        )

    def _secret(self, instance_path: Path) -> tuple[str, str]:
        """The secret key and where it came from: environment, file or instance folder.

        "missing": a file that is not there, or several hosts and no key given. A server
        refuses to start on it (keys.check_shared_keys); a command (`flask keys init`, which
        makes the file) gets a throwaway key that signs nothing it keeps.
        """
        if self.secret_key:
            return self.secret_key, "environment"
        if self.secret_key_file:
            path = Path(self.secret_key_file)
            secret = path.read_text().strip() if path.exists() else ""
            return (secret, "file") if secret else (secrets.token_urlsafe(48), "missing")
        if self.multi_host:
            return secrets.token_urlsafe(48), "missing"
        return _instance_secret(instance_path), "instance"

    def as_flask_config(self, instance_path: Path) -> dict[str, Any]:
        secret, source = self._secret(instance_path)
        if self.env == "production" and (secret.lower() in WEAK_SECRETS or len(secret) < 32):
            raise RuntimeError(
                "SECRET_KEY is a default or shorter than 32 characters; "
                "unset it to use a generated key in the instance folder."
            )
        database_url = self.database_url or f"sqlite:///{instance_path / 'interrupters.db'}"
        cookie_name = "__Host-session" if self.secure_cookies else "session"
        return {
            "ENV_NAME": self.env,
            "SECRET_KEY": secret,
            "SECRET_KEY_SOURCE": source,
            "SECRET_KEY_FILE": self.secret_key_file,
            "VAPID_PRIVATE_KEY": self.vapid_private_key,
            "VAPID_PRIVATE_KEY_FILE": self.vapid_private_key_file,
            "OUTBOX_PRIVATE_KEYS": self.outbox_private_keys,
            "OUTBOX_KEY_DIR": self.outbox_key_dir,
            "RESEARCH_KEY_FILE": self.research_key_file,
            "MULTI_HOST": self.multi_host,
            "DRAIN_SECONDS": self.drain_seconds,
            # The scheduler writes its heartbeat this often; readiness calls it stale at 3x.
            "SCHEDULER_HEARTBEAT_SECONDS": 15,
            # How often a scheduler standing by (`flask scheduler --wait`) tries the lock.
            "SCHEDULER_WAIT_SECONDS": 5,
            # Push delivery's backlog: readiness reports it degraded past this age.
            "PUSH_BACKLOG_WARN_SECONDS": 300,
            "DATABASE_URL": database_url,
            "SESSION_COOKIE_NAME": cookie_name,
            "SESSION_COOKIE_SECURE": self.secure_cookies,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_PATH": "/",
            "PREFERRED_URL_SCHEME": "https" if self.secure_cookies else "http",
            "RATELIMIT_STORAGE_URI": self.ratelimit_storage_uri,
            "RATELIMIT_ENABLED": self.ratelimit_enabled,
            "RATELIMIT_HEADERS_ENABLED": True,
            "RATELIMIT_ALLOW_MEMORY": self.ratelimit_allow_memory,
            "WEB_CONCURRENCY": self.web_concurrency,
            "TRUSTED_PROXIES": self.trusted_proxies,
            # Forms cached by the service worker fetch a fresh token; an hour is Flask-WTF's
            # default and is kept for pages typed into slowly at night.
            "WTF_CSRF_TIME_LIMIT": 3600,
            "BABEL_DEFAULT_LOCALE": "sv",
            "BABEL_DEFAULT_TIMEZONE": "Europe/Stockholm",
            "LANGUAGES": ("sv", "en"),
            "INVITATION_HOURS": 72,
            # Office roles pass a second factor after the password (issue 9, item 1). Only
            # tests that are not about sign-in turn it off (tests/conftest.py).
            "TWO_FACTOR_REQUIRED": self.two_factor_required,
            # A field phone's PIN is asked after this long without the person's requests.
            "PIN_IDLE_MINUTES": 10,
            # The passkeys' relying party: the site's host name; None takes the request's host.
            "WEBAUTHN_RP_ID": self.webauthn_rp_id,
            "VAPID_SUBJECT": self.vapid_subject,
            "PICTURE_TILE_URL": self.picture_tile_url,
            "PUSH_SERVICE_HOSTS": self.push_service_hosts,
            # Only for a test push service on 127.0.0.1; browsers' push services are https.
            "PUSH_ALLOW_HTTP": False,
            # pywebpush waits forever by default; a silent push service must not hold a job.
            "PUSH_TIMEOUT_SECONDS": 5,
            # Send right after the request that made a notification (the scheduler retries).
            "PUSH_DELIVER_SOON": True,
            **self.extra,
        }


def check_limits(config: Mapping[str, Any]) -> None:
    """Refuse to run production on per-process limit counters with several workers.

    Flask-Limiter's memory storage counts per process: with 8 gunicorn workers 20 wrong
    passwords were never refused (PITFALLS.md). Production needs shared storage (Redis), or a
    stated single process: WEB_CONCURRENCY=1 or RATELIMIT_ALLOW_MEMORY=1.
    """
    if config.get("ENV_NAME") != "production" or not config.get("RATELIMIT_ENABLED"):
        return
    if not str(config.get("RATELIMIT_STORAGE_URI", "memory://")).startswith("memory://"):
        return
    if str(config.get("WEB_CONCURRENCY") or "").strip() == "1" or config.get(
        "RATELIMIT_ALLOW_MEMORY"
    ):
        return
    raise RuntimeError(
        "RATELIMIT_STORAGE_URI is memory://, which each worker counts on its own: set it to "
        "shared storage (redis://...), or state one process with WEB_CONCURRENCY=1 or "
        "RATELIMIT_ALLOW_MEMORY=1."
    )


def _tile_url(url: str | None) -> str | None:
    """A tile server's URL template, refused unless it is https with {z}, {x} and {y}."""
    if url is None:
        return None
    if not url.startswith("https://") or not all(k in url for k in ("{z}", "{x}", "{y}")):
        raise RuntimeError("PICTURE_TILE_URL must be https://host/.../{z}/{x}/{y}.png")
    return url
