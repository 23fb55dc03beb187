"""The outbox's encryption at rest: the phone encrypts each record to the server's public key.

Per record the browser makes a fresh ECDH P-256 key pair, derives an AES-GCM-256 key with
HKDF-SHA256 (salt: its ephemeral public key, info: LABEL) and encrypts the record with the
record's kind and UUID as associated data, so an envelope cannot be replayed as another record.
Only the server's private key, kept in the instance folder, opens it (DESIGN.md, guarantee 6).

Version 2 (what browsers with CompressionStream send) is the same with the record deflated
(raw DEFLATE) before it is encrypted and the ephemeral key as a compressed point: a contact's
envelope is about 40% smaller, which is what a slow 4G upload of a backlog pays for. The HKDF
salt stays the uncompressed point in both versions.

Either version may name the key it was sealed to (`kid`, interrupters/keys.py): the server
keeps old keys after a rotation, and opens each envelope with the key it names. Envelopes
without a `kid` (phones from before rotation existed) are tried against each accepted key;
AES-GCM's tag tells the right one.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from interrupters import keys
from interrupters.keys import Keyring, b64url, public_key_id, public_key_raw, unb64url

__all__ = ["load_or_create_key", "open_envelope", "public_key_raw", "seal"]

logger = logging.getLogger(__name__)

VERSION = 1
COMPACT = 2
# A record's content is a few hundred bytes; a deflated one that inflates past this is refused.
MAX_PLAIN = 64 * 1024
LABEL = b"interrupters-outbox-v1"
KEY_FILE = "outbox_key.pem"


class UnreadableEnvelope(ValueError):
    """The envelope is malformed or was not made for this server's key."""


def load_or_create_key(instance_path: Path) -> ec.EllipticCurvePrivateKey:
    """Read the server's outbox key, creating it on first run (never committed)."""
    return keys.load_or_create_key(instance_path / KEY_FILE)


def associated_data(kind: str, client_uuid: str) -> bytes:
    return f"{kind}:{client_uuid}".encode()


def _aes_key(shared: bytes, ephemeral_raw: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_raw, info=LABEL).derive(shared)


def _candidates(
    keys: ec.EllipticCurvePrivateKey | Keyring, envelope: dict[str, Any]
) -> list[ec.EllipticCurvePrivateKey]:
    """The key(s) to try: the one the envelope names, or each accepted one, the current first."""
    if not isinstance(keys, Keyring):
        return [keys]
    kid = envelope.get("kid")
    if kid is None:
        return [keys.current, *keys.others()]
    if not isinstance(kid, str) or kid not in keys.accepted:
        raise UnreadableEnvelope("sealed to a key this server does not hold")
    return [keys.accepted[kid]]


def open_envelope(
    keys: ec.EllipticCurvePrivateKey | Keyring, envelope: Any, *, kind: str, client_uuid: str
) -> dict[str, Any]:
    """Decrypt an envelope into the record's payload (a JSON object), with a key or the
    outbox's keyring."""
    if not isinstance(envelope, dict) or envelope.get("v") not in (VERSION, COMPACT):
        raise UnreadableEnvelope("unknown envelope version")
    candidates = _candidates(keys, envelope)
    for index, key in enumerate(candidates):
        try:
            return _open(key, envelope, kind=kind, client_uuid=client_uuid)
        except UnreadableEnvelope as error:
            # Only a wrong key fails at the tag; anything else fails alike with every key.
            if str(error) != "InvalidTag" or index == len(candidates) - 1:
                raise
    raise UnreadableEnvelope("no key")  # pragma: no cover (candidates is never empty)


def _open(
    key: ec.EllipticCurvePrivateKey, envelope: dict[str, Any], *, kind: str, client_uuid: str
) -> dict[str, Any]:
    try:
        version = envelope["v"]
        iv = unb64url(envelope["iv"])
        ciphertext = unb64url(envelope["ct"])
        if len(iv) != 12:
            raise UnreadableEnvelope("bad IV")
        ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), unb64url(envelope["epk"])
        )
        # The salt is the uncompressed point, whichever form the envelope carries.
        ephemeral_raw = ephemeral.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        shared = key.exchange(ec.ECDH(), ephemeral)
        plain = AESGCM(_aes_key(shared, ephemeral_raw)).decrypt(
            iv, ciphertext, associated_data(kind, client_uuid)
        )
        if version == COMPACT:
            plain = _inflate(plain)
        payload = json.loads(plain)
    except (KeyError, TypeError, ValueError, InvalidTag, zlib.error) as error:
        if isinstance(error, UnreadableEnvelope):
            raise
        raise UnreadableEnvelope(type(error).__name__) from None
    if not isinstance(payload, dict):
        raise UnreadableEnvelope("payload is not an object")
    return payload


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=-zlib.MAX_WBITS)
    plain = inflater.decompress(data, MAX_PLAIN)
    if inflater.unconsumed_tail or not inflater.eof:
        raise UnreadableEnvelope("record too large or truncated")
    return plain


def seal(
    public_raw: str,
    payload: dict[str, Any],
    *,
    kind: str,
    client_uuid: str,
    compact: bool = False,
    with_kid: bool = True,
) -> dict[str, Any]:
    """Encrypt as the browser does (for tests, benchmarks and the property-based test);
    `compact` makes a version 2 envelope, as browsers with CompressionStream do; without
    `with_kid` the envelope names no key, as phones did before rotation."""
    server_public = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), unb64url(public_raw)
    )
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    ephemeral_raw = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    shared = ephemeral.exchange(ec.ECDH(), server_public)
    iv = os.urandom(12)
    plain = json.dumps(payload).encode()
    if compact:
        deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        plain = deflater.compress(plain) + deflater.flush()
    ciphertext = AESGCM(_aes_key(shared, ephemeral_raw)).encrypt(
        iv, plain, associated_data(kind, client_uuid)
    )
    point = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962,
        serialization.PublicFormat.CompressedPoint
        if compact
        else serialization.PublicFormat.UncompressedPoint,
    )
    envelope = {
        "v": COMPACT if compact else VERSION,
        "epk": b64url(point),
        "iv": b64url(iv),
        "ct": b64url(ciphertext),
    }
    if with_kid:
        envelope["kid"] = public_key_id(public_raw)
    return envelope
