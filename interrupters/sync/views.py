"""The sync endpoint the phones' outboxes send to, and what they need before a run."""

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
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from interrupters.authz import SIGNED_IN, guard
from interrupters.db import get_session
from interrupters.errors import InvalidInput
from interrupters.sync import crypto, services
from interrupters.sync.services import Outcome

logger = logging.getLogger(__name__)

bp = Blueprint("sync", __name__, url_prefix="/sync")
guard(bp, {"config": SIGNED_IN, "receive": SIGNED_IN, "discarded": SIGNED_IN})

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Records a request by default: 50 contacts are about 31 KB, a third of a second up on slow 4G.
MAX_BATCH = 50
# A phone gzips what it sends (a third less to upload on slow 4G: bench/sync_device.py). A body
# that would inflate past this is refused, so a small upload cannot make the server inflate
# gigabytes.
MAX_INFLATED = 4 * 1024 * 1024
STATUS = {
    Outcome.stored: 201,
    Outcome.replayed: 200,
    Outcome.needs_correction: 200,
    Outcome.conflict: 409,
}


def max_batch() -> int:
    """Records one request may carry (SYNC_MAX_BATCH); the outbox reads it from /sync/config."""
    return int(current_app.config.get("SYNC_MAX_BATCH", MAX_BATCH))


def outbox_key() -> Any:
    """The server's outbox key, read once per process."""
    key = current_app.extensions.get("outbox_key")
    if key is None:
        key = crypto.load_or_create_key(Path(current_app.instance_path))
        current_app.extensions["outbox_key"] = key
    return key


@bp.get("/config")
def config() -> dict[str, Any]:
    """What a sending run needs: a fresh CSRF token and the key to encrypt new records to."""
    return {
        "csrf_token": generate_csrf(),
        "public_key": crypto.public_key_raw(outbox_key()),
        "kinds": sorted(services.HANDLERS),
        "max_batch": max_batch(),
    }


def _answer(body: dict[str, Any], status: int) -> tuple[dict[str, Any], int, dict[str, str]]:
    return body, status, {"Cache-Control": "no-store"}


@bp.post("/records")
def receive() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Store one outbox record, or a batch of them; answer only after the commits are durable.

    One record: {kind, client_uuid, [sealed_uuid], envelope}, answered with its own status.
    A batch: {"records": [record, ...]} of at most `max_batch` records (see /sync/config),
    answered 200 with {"status": "batch", "results": [...]}: one result a record, in order,
    each the answer the record would have had alone with its HTTP status as "code": a batch
    means exactly what its records sent one by one would (the same UUID twice is one record;
    409 and "needs correction" are per record). The batch is stored in one transaction and
    answered after its one durable commit; should a record need a rollback (a concurrent send
    of the same UUID), the batch is stored again record by record, each committed before the
    next is read. Sign-in and CSRF are checked once for the request: a 401 or 403 answers for
    every record in it.
    """
    body = _json_body()
    if body is _TOO_LARGE:
        return _answer({"status": "too_large", "max_batch": max_batch()}, 413)
    if isinstance(body, dict) and "records" in body:
        return _receive_batch(body["records"])
    answer, status = _receive_one(get_session(), body)
    return _answer(answer, status)


_TOO_LARGE = object()


def _json_body() -> Any:
    """The request's JSON, plain or gzipped (Content-Encoding: gzip); None if unreadable."""
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding == "identity":
        return request.get_json(silent=True)
    if encoding != "gzip":
        return None
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(request.get_data(cache=False), MAX_INFLATED)
        if inflater.unconsumed_tail:
            return _TOO_LARGE
        return json.loads(data)
    except (zlib.error, ValueError):
        return None


def _receive_batch(items: Any) -> tuple[dict[str, Any], int, dict[str, str]]:
    if not isinstance(items, list) or not items:
        return _answer({"status": "malformed"}, 400)
    limit = max_batch()
    if len(items) > limit:
        return _answer({"status": "too_large", "max_batch": limit}, 413)
    session = get_session()
    # One batch: a handler may keep what every record of it needs (the form's choices).
    with services.batch_scope():
        try:
            # One commit, not one a record: on SQLite each is an fsync, which took half the
            # server's time for one phone's 1,000 records on slow 4G (bench/sync_device.py).
            results = _receive_all(session, items, commit_each=False)
            session.commit()
        except (IntegrityError, InvalidInput):
            session.rollback()
            results = _receive_all(session, items, commit_each=True)
    return _answer({"status": "batch", "results": results}, 200)


def _receive_all(session: Session, items: list[Any], *, commit_each: bool) -> list[Any]:
    results = []
    for item in items:
        answer, status = _receive_one(session, item, commit=commit_each)
        given = item.get("client_uuid") if isinstance(item, dict) else None
        client_uuid = str(given).lower() if isinstance(given, str) else None
        results.append({"client_uuid": client_uuid, **answer, "code": status})
    return results


def _receive_one(session: Session, body: Any, *, commit: bool = True) -> tuple[dict[str, Any], int]:
    """Decrypt and store one record; return its answer and HTTP status.

    With `commit`, the record is committed (durably) before this returns. Without, the caller
    commits, and an error that needs a rollback is raised to it.
    """
    if not isinstance(body, dict):
        return {"status": "malformed"}, 400
    kind = body.get("kind")
    client_uuid = str(body.get("client_uuid", "")).lower()
    # A record resent under a new UUID after a 409 stays sealed for the UUID it was made with.
    sealed_uuid = str(body.get("sealed_uuid") or client_uuid).lower()
    if kind not in services.HANDLERS or not UUID.match(client_uuid) or not UUID.match(sealed_uuid):
        return {"status": "malformed"}, 400
    try:
        payload = crypto.open_envelope(
            outbox_key(), body.get("envelope"), kind=kind, client_uuid=sealed_uuid
        )
    except crypto.UnreadableEnvelope as error:
        # Kept on the phone and shown: nothing here can read it (e.g. a key from another server).
        logger.warning("unreadable %s envelope: %s", kind, error)
        return {"status": "unreadable"}, 422
    for attempt in (1, 2):
        try:
            received = services.receive(
                session=session,
                actor=current_user,
                kind=kind,
                client_uuid=client_uuid,
                payload=payload,
            )
            if commit:
                session.commit()
            break
        except IntegrityError:
            if not commit:
                raise
            # Two sends of one record at once: the other committed first. Read its result.
            session.rollback()
            if attempt == 2:
                raise
        except InvalidInput:
            if not commit:
                raise
            session.rollback()
            return {"status": "malformed"}, 400
    answer: dict[str, Any] = {"status": received.outcome.value, "client_uuid": client_uuid}
    if received.errors:
        answer["errors"] = received.errors
    return answer, STATUS[received.outcome]


@bp.post("/discarded")
def discarded() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Audit records a person discarded from the phone's outbox (kinds and counts only)."""
    kinds = [kind for kind in request.form.getlist("kinds") if kind in services.HANDLERS]
    session = get_session()
    services.record_discarded(session=session, actor=current_user, kinds=kinds)
    session.commit()
    return _answer({"status": "recorded", "count": len(kinds)}, 200)
