"""A Web Push service of our own on 127.0.0.1, and browsers' subscriptions to it.

It checks what a real push service checks and what a browser needs, so a test that passes
here has sent something a phone can show:

- the VAPID `Authorization: vapid t=<JWT>, k=<key>` header: an ES256 JWT whose signature
  verifies with `k`, `k` the application server key the subscription was made with, `aud` this
  service's origin (port included), `exp` in the future and at most 24 hours ahead, `sub` a
  mailto: or https: contact (RFC 8292);
- a `TTL` header, `Content-Encoding: aes128gcm` and a body that decrypts (RFC 8291, http_ece)
  with the subscription's private key and auth secret, which only the "browser" holds.

Anything wrong is answered 400 and kept in `failures`; tests assert there are none. Answers can
be programmed per subscription (410, 404, 500, ...) and slowed down (`delay`).

Used by tests/test_push.py, and by other domains' tests and benchmarks that need to see pushes.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

VAPID_HEADER = re.compile(r"^vapid\s+t=(?P<t>[^,\s]+)\s*,\s*k=(?P<k>[^,\s]+)\s*$", re.IGNORECASE)
SUB = re.compile(r"^(mailto:[^@\s]+@[^@\s]+|https://\S+)$")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Subscriber:
    """The browser's half of a subscription: its own P-256 key pair and auth secret."""

    def __init__(self, service: PushService, token: str | None = None) -> None:
        self.token = token or secrets.token_urlsafe(16)
        self.endpoint = f"{service.url}/push/{self.token}"
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth_secret = os.urandom(16)

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def subscription_json(self) -> dict[str, Any]:
        """What `PushSubscription.toJSON()` gives the page."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": self.auth},
        }

    def decrypt(self, body: bytes) -> bytes:
        return bytes(
            http_ece.decrypt(
                body,
                private_key=self.private_key,
                auth_secret=self.auth_secret,
                version="aes128gcm",
            )
        )


@dataclass
class Received:
    """One message the service accepted, decrypted."""

    token: str
    at: float  # time.monotonic()
    headers: dict[str, str]
    claims: dict[str, Any]
    plaintext: bytes

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.plaintext)
        return data


@dataclass
class PushService:
    """The service: `with PushService(key) as service:`; `service.subscriber()` per browser."""

    application_server_key: str | None = None
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    # Every request, in order: (token, status answered).
    requests: list[tuple[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._subscribers: dict[str, Subscriber] = {}
        self._answers: dict[str, list[int]] = {}
        self._condition = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Life -------------------------------------------------------------------------------------

    def start(self) -> PushService:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                service._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="test-push-service", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> PushService:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start the service first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # Set-up -----------------------------------------------------------------------------------

    def subscriber(self) -> Subscriber:
        """A new browser subscribed to this service."""
        subscriber = Subscriber(self)
        with self._condition:
            self._subscribers[subscriber.token] = subscriber
        return subscriber

    def answer(self, subscriber: Subscriber, *statuses: int) -> None:
        """Answer the next requests for `subscriber` with these statuses, then normally."""
        with self._condition:
            self._answers.setdefault(subscriber.token, []).extend(statuses)

    # Results ----------------------------------------------------------------------------------

    def messages_for(self, subscriber: Subscriber) -> list[Received]:
        with self._condition:
            return [r for r in self.received if r.token == subscriber.token]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """Wait until `count` messages were accepted (or the time is up); return them all."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self.received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
            return list(self.received)

    # The checks -------------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length)
        if self.delay:
            time.sleep(self.delay)
        match = re.match(r"^/push/([\w-]+)$", request.path)
        token = match.group(1) if match else ""
        with self._condition:
            subscriber = self._subscribers.get(token)
            planned = self._answers.get(token)
            status = planned.pop(0) if planned else None
        if subscriber is None:
            status = 404
        if status is None:
            status = self._check(request, body, subscriber, token)
        with self._condition:
            self.requests.append((token, status))
            self._condition.notify_all()
        request.send_response(status)
        request.send_header("Content-Length", "0")
        request.end_headers()

    def _fail(self, token: str, reason: str) -> int:
        with self._condition:
            self.failures.append(f"{token}: {reason}")
        return 400

    def _check(
        self, request: BaseHTTPRequestHandler, body: bytes, subscriber: Any, token: str
    ) -> int:
        headers = {key.lower(): value for key, value in request.headers.items()}
        vapid = VAPID_HEADER.match(headers.get("authorization", ""))
        if vapid is None:
            return self._fail(token, f"no VAPID Authorization header: {headers}")
        key = vapid.group("k")
        if self.application_server_key is not None and key != self.application_server_key:
            return self._fail(token, "k is not the key the subscription was made with")
        try:
            claims = verify_jwt(vapid.group("t"), key)
        except (InvalidSignature, ValueError) as error:
            return self._fail(token, f"VAPID JWT does not verify: {error!r}")
        now = time.time()
        if claims.get("aud") != self.url:
            return self._fail(token, f"aud {claims.get('aud')!r} is not {self.url!r}")
        exp = claims.get("exp")
        if not isinstance(exp, int) or not now < exp <= now + 24 * 3600:
            return self._fail(token, f"exp {exp!r} is not within the next 24 hours")
        if not SUB.match(str(claims.get("sub", ""))):
            return self._fail(token, f"sub {claims.get('sub')!r} is not mailto: or https:")
        if not headers.get("ttl", "").isdigit():
            return self._fail(token, "no TTL header")
        if headers.get("content-encoding") != "aes128gcm":
            return self._fail(token, f"content-encoding {headers.get('content-encoding')!r}")
        if len(body) > 4096:
            return self._fail(token, f"{len(body)} bytes: more than a push service takes")
        try:
            plaintext = subscriber.decrypt(body)
        except Exception as error:
            return self._fail(token, f"body does not decrypt: {error!r}")
        with self._condition:
            self.received.append(
                Received(
                    token=token,
                    at=time.monotonic(),
                    headers=headers,
                    claims=claims,
                    plaintext=plaintext,
                )
            )
        return 201


def verify_jwt(token: str, key: str) -> dict[str, Any]:
    """Verify an ES256 JWT with a raw P-256 public key (base64url); return its claims."""
    header_b64, claims_b64, signature_b64 = token.split(".")
    header = json.loads(unb64url(header_b64))
    if header.get("alg") != "ES256" or header.get("typ", "JWT") != "JWT":
        raise ValueError(f"header {header!r}")
    signature = unb64url(signature_b64)
    if len(signature) != 64:
        raise ValueError("an ES256 signature is 64 bytes")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
    der = utils.encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    public.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    claims: dict[str, Any] = json.loads(unb64url(claims_b64))
    return claims
