"""The sync endpoint the phones' outboxes send to, and what they need before a run.

Transport only: the envelope, the batch, the status codes. What a record becomes is decided
by `records.services.receive` from the kinds the domains declared (interrupters/records).
"""

from __future__ import annotations

import json
import logging
import re
import zlib
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from interrupters.audit.services import record_event
from interrupters.auth.principal import Principal
from interrupters.authz import SIGNED_IN, guard
from interrupters.db import get_session, utcnow
from interrupters.keys import Keyring
from interrupters.keys import outbox_keyring as outbox_keys
from interrupters.records import KINDS
from interrupters.records import services as records
from interrupters.records.services import Incoming, Outcome, Received
from interrupters.sync import crypto

logger = logging.getLogger(__name__)

bp = Blueprint("sync", __name__, url_prefix="/sync")
guard(bp, {"config": SIGNED_IN, "receive": SIGNED_IN, "discarded": SIGNED_IN})

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Records a request at most (SYNC_MAX_BATCH). A phone with a backlog sends this many a request
# and two requests at a time (SYNC_PARALLEL): one uploads while the server stores the other.
# 100 contacts are about 30 KB gzipped: under a second up on Slow 4G.
MAX_BATCH = 100
PARALLEL = 2
# A phone gzips what it sends (a third less to upload on slow 4G: bench/sync_device.py). A body
# that would inflate past this is refused, so a small upload cannot make the server inflate
# gigabytes.
MAX_INFLATED = 4 * 1024 * 1024
# JSON nesting deeper than a batch's own (body, records, record, envelope) is refused unparsed.
MAX_DEPTH = 8
STATUS = {
    Outcome.stored: 201,
    Outcome.replayed: 200,
    Outcome.needs_correction: 200,
    Outcome.conflict: 409,
    Outcome.forbidden: 403,
    Outcome.malformed: 400,
    Outcome.busy: 503,
}


def max_batch() -> int:
    """Records one request may carry (SYNC_MAX_BATCH); the outbox reads it from /sync/config."""
    return int(current_app.config.get("SYNC_MAX_BATCH", MAX_BATCH))


def outbox_keyring() -> Keyring:
    """The server's outbox keys (interrupters/keys.py), read once per process: a rotation
    takes effect when the hosts restart."""
    ring = current_app.extensions.get("outbox_key")
    if ring is None:
        ring = outbox_keys(current_app.config, Path(current_app.instance_path))
        current_app.extensions["outbox_key"] = ring
    return ring


def outbox_key() -> Any:
    """The current key: the one phones seal new records to."""
    return outbox_keyring().current


@bp.app_context_processor
def _outbox_key() -> dict[str, Any]:
    def outbox_public_key() -> str:
        """The key a page's outbox seals new records to (base.html): the page carries it, so
        a phone keeps it for the street without asking /sync/config."""
        return crypto.public_key_raw(outbox_key())

    return {"outbox_public_key": outbox_public_key}


@bp.get("/config")
def config() -> tuple[dict[str, Any], int, dict[str, str]]:
    """What a sending run needs: a fresh CSRF token and the key to encrypt new records to."""
    return _answer(
        {
            "csrf_token": generate_csrf(),
            "public_key": crypto.public_key_raw(outbox_key()),
            "key_id": outbox_keyring().current_id,
            "kinds": sorted(
                name for name, kind in KINDS.items() if current_user.has_role(*kind.roles)
            ),
            "max_batch": max_batch(),
            "parallel": int(current_app.config.get("SYNC_PARALLEL", PARALLEL)),
            # The phone compares its clock with this (ms since the epoch): a clock that runs
            # fast fills the forms with times the server holds as "in the future".
            "server_time": int(utcnow().timestamp() * 1000),
        },
        200,
    )


def _answer(body: dict[str, Any], status: int) -> tuple[dict[str, Any], int, dict[str, str]]:
    return body, status, {"Cache-Control": "no-store"}


@bp.post("/records")
def receive() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Store one outbox record, or a batch of them; answer only after the commit is durable.

    One record: {kind, client_uuid, [sealed_uuid], envelope}, answered with its own status.
    A batch: {"records": [record, ...]} of at most `max_batch` records (see /sync/config),
    answered 200 with {"status": "batch", "results": [...]}: one result a record, in order,
    each the answer the record would have had alone with its HTTP status as "code": a batch
    means exactly what its records sent one by one would (the same UUID twice is one record;
    409, 403 and "needs correction" are per record). Each record is stored in its own
    savepoint, the batch in one transaction with one durable commit. Sign-in and CSRF are
    checked once for the request: a 401 or 403 answers for every record in it.
    """
    body = _json_body()
    if body is _TOO_LARGE:
        return _answer({"status": "too_large", "max_batch": max_batch()}, 413)
    if isinstance(body, dict) and "records" in body:
        items = body["records"]
        if not isinstance(items, list) or not items:
            return _answer({"status": "malformed"}, 400)
        if len(items) > max_batch():
            return _answer({"status": "too_large", "max_batch": max_batch()}, 413)
        results = _receive_all(items)
        return _answer({"status": "batch", "results": results}, 200)
    (result,) = _receive_all([body])
    status = result.pop("code")
    return _answer(result, status)


_TOO_LARGE = object()


def _json_body() -> Any:
    """The request's JSON, plain or gzipped (Content-Encoding: gzip); None if unreadable."""
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding == "identity":
        data = request.get_data(cache=False)
        if len(data) > MAX_INFLATED:
            return _TOO_LARGE
    elif encoding == "gzip":
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(request.get_data(cache=False), MAX_INFLATED)
        except zlib.error:
            return None
        if inflater.unconsumed_tail:
            return _TOO_LARGE
    else:
        return None
    if _too_deep(data):
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")


def _too_deep(data: bytes) -> bool:
    """Whether the JSON nests deeper than MAX_DEPTH (checked before parsing: no recursion).

    Exact for valid JSON, where a backslash is only ever inside a string: without its escaped
    backslashes and quotes, a body's quotes alternate in and out of strings, and what is
    outside them is counted (C-speed bytes operations, not a Python loop a byte: a batch of
    100 records is ~60 KB). Invalid JSON is refused by the parser whatever this answers.
    """
    plain = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    depth = 0
    for byte in b"".join(plain.split(b'"')[::2]).translate(None, _NOT_BRACKETS):
        if byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_DEPTH:
                return True
        else:
            depth -= 1
    return False


def _opened(body: Any, actor: Principal) -> Incoming | dict[str, Any]:
    """The record inside one item of a request, or the answer for an item that is not one."""
    if not isinstance(body, dict):
        return {"status": "malformed", "code": 400}
    kind, given, sealed = body.get("kind"), body.get("client_uuid"), body.get("sealed_uuid")
    client_uuid = given.lower() if isinstance(given, str) else ""
    # A record resent under a new UUID after a 409 stays sealed for the UUID it was made with.
    sealed_uuid = sealed.lower() if isinstance(sealed, str) and sealed else client_uuid
    if not isinstance(kind, str) or not UUID.match(client_uuid) or not UUID.match(sealed_uuid):
        # The phone matches answers to records by the UUID it sent, whatever it was.
        return {"status": "malformed", "code": 400, "client_uuid": client_uuid[:36] or None}
    if kind not in KINDS:
        return {"status": "malformed", "code": 400, "client_uuid": client_uuid}
    if not actor.has_role(*KINDS[kind].roles):
        # Refused before the envelope is opened: nothing of it is read or kept.
        return {"status": "forbidden", "code": 403, "client_uuid": client_uuid}
    try:
        payload = crypto.open_envelope(
            outbox_keyring(), body.get("envelope"), kind=kind, client_uuid=sealed_uuid
        )
    except crypto.UnreadableEnvelope as error:
        # Kept on the phone and shown: nothing here can read it (e.g. a key from another server).
        logger.warning("unreadable %s envelope: %s", kind, error)
        return {"status": "unreadable", "code": 422, "client_uuid": client_uuid}
    return Incoming(kind=kind, client_uuid=client_uuid, payload=payload)


def _receive_all(items: list[Any]) -> list[dict[str, Any]]:
    """Open, store and commit the items; one answer an item, in order."""
    # The signed-in principal itself, not Flask-Login's proxy: a batch asks it who it is a few
    # times a record, and each look through the proxy costs a context look-up.
    actor: Principal = current_user._get_current_object()
    opened = [_opened(item, actor) for item in items]
    incoming = [item for item in opened if isinstance(item, Incoming)]
    session = get_session()
    received: list[Received] = []
    if incoming:
        received = records.receive(session=session, actor=actor, records=incoming)
    if any(isinstance(item, dict) and item["code"] == 403 for item in opened):
        # A record the sender's role may not make is a denial like any other: audited once.
        record_event(
            session=session,
            event="access_denied",
            actor_id=actor.user_id,
            detail={"endpoint": request.endpoint, "method": request.method, "status": 403},
        )
    # One commit, not one a record: on SQLite each is an fsync (bench/sync_device.py).
    session.commit()
    answers = iter(received)
    results = []
    for item in opened:
        if not isinstance(item, Incoming):
            results.append({"client_uuid": None, **item})
            continue
        outcome = next(answers)
        answer: dict[str, Any] = {
            "client_uuid": item.client_uuid,
            "status": outcome.outcome.value,
            "code": STATUS[outcome.outcome],
        }
        if outcome.errors:
            answer["errors"] = outcome.errors
        results.append(answer)
    return results


@bp.post("/discarded")
def discarded() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Audit records a person discarded from the phone's outbox (kinds and counts only)."""
    kinds = [kind for kind in request.form.getlist("kinds")[: max_batch() * 10] if kind in KINDS]
    session = get_session()
    records.record_discarded(session=session, actor=current_user, kinds=kinds)
    session.commit()
    return _answer({"status": "recorded", "count": len(kinds)}, 200)
