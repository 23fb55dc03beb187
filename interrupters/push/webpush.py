"""VAPID keys and sending one message to one push service (pywebpush).

Traps this module exists for (PITFALLS.md): pywebpush has no timeout by default, its default
TTL of 0 drops a message to a phone that is offline, and it writes `aud` and `exp` into the
claims dict it is given, so every call gets a fresh dict with the audience of its own endpoint.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Protocol
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush

from interrupters.keys import VAPID_FILE, load_or_create_key, public_key_raw
from interrupters.keys import vapid_key as configured_vapid_key

logger = logging.getLogger(__name__)

KEY_FILE = VAPID_FILE
# A VAPID token may live 24 hours at most (RFC 8292); half a day leaves room for clock skew.
CLAIMS_LIFETIME = 12 * 3600


class Outcome(StrEnum):
    sent = "sent"  # the push service accepted it (201, or 200/202)
    gone = "gone"  # 404/410: the subscription no longer exists; remove it
    retry = "retry"  # network error, timeout, 429, 5xx, 401/403: try again later
    rejected = "rejected"  # 400, 413, ...: this message cannot be sent as it is


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    status: int | None = None


class Sender(Protocol):
    """What delivery needs from a sender; tests may pass their own."""

    def send(
        self, *, endpoint: str, p256dh: str, auth: str, data: str, ttl: int, urgency: str
    ) -> SendResult: ...

    def close(self) -> None: ...


def load_or_create_vapid_key(instance_path: Path) -> ec.EllipticCurvePrivateKey:
    """Read the server's VAPID key, creating it on first use (0600, never committed)."""
    return load_or_create_key(instance_path / KEY_FILE)


def vapid_key(app: Flask) -> ec.EllipticCurvePrivateKey:
    """The app's VAPID key (configured, or the instance folder's), read once per process."""
    key = app.extensions.get("vapid_key")
    if key is None:
        key = configured_vapid_key(app.config, Path(app.instance_path))
        app.extensions["vapid_key"] = key
    return key


def application_server_key(app: Flask) -> str:
    """The VAPID public key as PushManager.subscribe() wants it: the raw point, base64url."""
    return public_key_raw(vapid_key(app))


def audience(endpoint: str) -> str:
    """The VAPID `aud` of an endpoint: its origin, port included."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def _outcome_of_status(status: int | None) -> Outcome:
    if status in (404, 410):
        return Outcome.gone
    if status is None or status in (401, 403, 408, 429) or status >= 500:
        # 401/403 are the push service refusing our VAPID token (a clock off, a key changed):
        # worth retrying, and logged so someone looks.
        return Outcome.retry
    return Outcome.rejected


class WebPushSender:
    """Sends with pywebpush: always a timeout, a TTL and fresh VAPID claims."""

    def __init__(self, *, key: ec.EllipticCurvePrivateKey, subject: str, timeout: float) -> None:
        self._vapid = Vapid02(private_key=key)
        self.subject = subject
        self.timeout = timeout
        # A connection pool per delivery run and sending thread (a requests.Session is not
        # thread-safe): most messages go to one or two push services.
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def _http(self) -> requests.Session:
        http: requests.Session | None = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = requests.Session()
            with self._lock:
                self._sessions.append(http)
        return http

    def send(
        self, *, endpoint: str, p256dh: str, auth: str, data: str, ttl: int, urgency: str
    ) -> SendResult:
        claims: dict[str, str | int] = {
            "sub": self.subject,
            "aud": audience(endpoint),
            "exp": int(time.time()) + CLAIMS_LIFETIME,
        }
        try:
            response = webpush(
                subscription_info={"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
                data=data,
                vapid_private_key=self._vapid,
                vapid_claims=claims,
                timeout=self.timeout,
                ttl=ttl,
                headers={"Urgency": urgency},
                requests_session=self._http(),
            )
        except WebPushException as error:
            status = error.status_code
            outcome = _outcome_of_status(status)
            # The endpoint is a capability URL: log its service's origin only.
            logger.warning("push to %s answered %s (%s)", audience(endpoint), status, outcome)
            return SendResult(outcome, status)
        except requests.RequestException as error:
            logger.warning("push to %s failed: %s", audience(endpoint), type(error).__name__)
            return SendResult(Outcome.retry)
        status = getattr(response, "status_code", None)
        return SendResult(Outcome.sent, status)

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for http in sessions:
            http.close()

    def __enter__(self) -> WebPushSender:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()


def sender_for(app: Flask) -> WebPushSender:
    """A sender with the app's VAPID key, subject and timeout."""
    return WebPushSender(
        key=vapid_key(app),
        subject=app.config["VAPID_SUBJECT"],
        timeout=float(app.config["PUSH_TIMEOUT_SECONDS"]),
    )
