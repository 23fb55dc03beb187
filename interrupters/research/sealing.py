"""Each project's pseudonym secret, sealed under the server's research key.

The research key is 32 random bytes: RESEARCH_KEY_FILE when configured (several hosts read
the same one, docs/deploy.md), else made once into the instance folder beside the outbox's and
VAPID's keys; never committed. A database copy alone therefore cannot recompute a
project's pseudonyms: it holds the projects' secrets only as AES-GCM ciphertext. The backup
must keep the instance folder with the database, or the pseudonyms of earlier downloads can no
longer be reproduced (new downloads of a project would still be consistent with each other).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from interrupters.keys import b64url, unb64url

logger = logging.getLogger(__name__)

KEY_FILE = "research.key"
SECRET_BYTES = 32
# Bound into every seal, so a sealed secret cannot be swapped with other ciphertext.
_CONTEXT = b"interrupters research project secret v1"


def load_or_create_key(path: Path) -> bytes:
    """Read the research key, creating it (0600) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker made it first: use theirs
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(32))
            logger.info("created %s in the instance folder", path.name)
    key = path.read_bytes()
    if len(key) != 32:
        raise RuntimeError(f"{path} does not hold a 32-byte key")
    return key


def research_key(config: Mapping[str, Any], instance_path: str | Path) -> bytes:
    """The configured RESEARCH_KEY_FILE (every host reads the same one), else the instance
    folder's, made on first use on a single host."""
    configured = config.get("RESEARCH_KEY_FILE")
    if configured:
        key = Path(configured).read_bytes()
        if len(key) != 32:
            raise RuntimeError(f"{configured} does not hold a 32-byte key")
        return key
    return load_or_create_key(Path(instance_path) / KEY_FILE)


def new_sealed_secret(key: bytes) -> str:
    """A fresh random project secret, sealed: what the project row stores."""
    return seal(key, secrets.token_bytes(SECRET_BYTES))


def seal(key: bytes, secret: bytes) -> str:
    nonce = secrets.token_bytes(12)
    return b64url(nonce + AESGCM(key).encrypt(nonce, secret, _CONTEXT))


def unseal(key: bytes, sealed: str) -> bytes:
    raw = unb64url(sealed)
    return AESGCM(key).decrypt(raw[:12], raw[12:], _CONTEXT)


class Pseudonymiser:
    """Pseudonyms of one project: HMAC-SHA256 under its secret over a kind and an id.

    The same id gives the same pseudonym in every file and download of the project, and an
    unrelated one in any other project (another secret). 20 hex digits (80 bits) keep
    collisions out of reach for any programme's size; a kind prefix keeps a participant's and
    a worker's pseudonyms apart even for equal ids.
    """

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def __call__(self, kind: str, record_id: int | None) -> str:
        if record_id is None:
            return ""
        digest = hmac.new(self._secret, f"{kind}:{record_id}".encode(), hashlib.sha256)
        return f"{kind[0]}{digest.hexdigest()[:20]}"
