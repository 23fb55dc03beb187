"""The server's EC P-256 keys (the outbox's and VAPID's) and the outbox's keyring.

Where a key comes from, in order: the environment (PEM text), a configured file or folder,
or (the embedded default, one host) a file generated into the instance folder on first use.
With several app hosts (MULTI_HOST) nothing is generated: every host must read the same keys,
and a host that made its own would answer phones with a key the other hosts cannot open
(docs/deploy.md, "Keys").

The outbox's keyring is a folder: `outbox_key.pem` is the current key (new records are sealed
to it), every `outbox_key.<anything>.pem` beside it is a key still accepted (an old one kept to
open what phones still hold, or a new one staged on every host before it becomes current).
Each key has an id, the first 8 bytes of the SHA-256 of its public point (base64url), which an
envelope names; an envelope without one (phones before rotation existed) is tried against each.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

logger = logging.getLogger(__name__)

OUTBOX_CURRENT = "outbox_key.pem"
OUTBOX_PATTERN = "outbox_key.*.pem"
VAPID_FILE = "vapid_private_key.pem"
# PKCS#8 ("PRIVATE KEY", what this module and `openssl genpkey` write) or SEC1 ("EC PRIVATE KEY").
PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.DOTALL)


class KeyMissing(RuntimeError):
    """A key that must be configured is not (several hosts never generate their own)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _parse(pem: bytes, where: str) -> ec.EllipticCurvePrivateKey:
    loaded = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey) or not isinstance(
        loaded.curve, ec.SECP256R1
    ):
        raise RuntimeError(f"{where} is not an EC P-256 private key")
    return loaded


def parse_keys(text: str | bytes, where: str) -> list[ec.EllipticCurvePrivateKey]:
    """One or more PEM private keys, one after another (an environment variable's value)."""
    data = text.encode() if isinstance(text, str) else text
    blocks = [match.group(0) for match in PEM_BLOCK.finditer(data)]
    if not blocks:
        raise RuntimeError(f"{where} holds no PEM private key")
    return [_parse(block + b"\n", where) for block in blocks]


def write_new_key(path: Path) -> ec.EllipticCurvePrivateKey | None:
    """Make a key into `path` (0600, never overwriting); None if the file exists already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None  # another worker made it first: use theirs
    with os.fdopen(fd, "wb") as handle:
        handle.write(_pem(key))
    return key


def read_key(path: Path) -> ec.EllipticCurvePrivateKey:
    return _parse(path.read_bytes(), str(path))


def load_or_create_key(path: Path, *, create: bool = True) -> ec.EllipticCurvePrivateKey:
    """Read an EC P-256 private key, creating it (0600) on first use; never committed."""
    if not path.exists():
        if not create:
            raise KeyMissing(f"{path} does not exist and several hosts never generate keys")
        if write_new_key(path) is not None:
            logger.info("created %s", path.name)
    return read_key(path)


def public_key_raw(key: ec.EllipticCurvePrivateKey) -> str:
    """The public key as the raw uncompressed point (65 bytes), base64url, for WebCrypto."""
    return b64url(_public_point(key))


def _public_point(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def key_id(key: ec.EllipticCurvePrivateKey) -> str:
    """A key's id: what an envelope names, and what the keys command lists (not secret)."""
    return b64url(hashlib.sha256(_public_point(key)).digest()[:8])


def public_key_id(public_raw: str) -> str:
    """The id of a public key given as the browser has it (the raw point, base64url)."""
    return b64url(hashlib.sha256(unb64url(public_raw)).digest()[:8])


@dataclass(frozen=True)
class Keyring:
    """The outbox's keys: the current one (handed to phones) and every one still accepted."""

    current: ec.EllipticCurvePrivateKey
    accepted: dict[str, ec.EllipticCurvePrivateKey]
    source: str

    @property
    def current_id(self) -> str:
        return key_id(self.current)

    def others(self) -> list[ec.EllipticCurvePrivateKey]:
        """The accepted keys after the current one (an envelope without an id tries them)."""
        return [key for kid, key in self.accepted.items() if kid != self.current_id]


def multi_host(config: Mapping[str, Any]) -> bool:
    return bool(config.get("MULTI_HOST"))


def outbox_dir(config: Mapping[str, Any], instance_path: Path) -> Path:
    return Path(config.get("OUTBOX_KEY_DIR") or instance_path)


def load_keyring(directory: Path, *, create: bool) -> Keyring:
    """The keyring in a folder (see the module's docstring)."""
    current = load_or_create_key(directory / OUTBOX_CURRENT, create=create)
    accepted = {key_id(current): current}
    for path in sorted(directory.glob(OUTBOX_PATTERN)):
        key = read_key(path)
        accepted.setdefault(key_id(key), key)
    return Keyring(current=current, accepted=accepted, source=str(directory))


def outbox_keyring(config: Mapping[str, Any], instance_path: Path) -> Keyring:
    """The outbox's keyring as configured: OUTBOX_PRIVATE_KEYS (PEM text, the current key
    first), else the folder OUTBOX_KEY_DIR, else the instance folder."""
    text = config.get("OUTBOX_PRIVATE_KEYS")
    if text:
        keys = parse_keys(text, "OUTBOX_PRIVATE_KEYS")
        accepted: dict[str, ec.EllipticCurvePrivateKey] = {}
        for key in keys:
            accepted.setdefault(key_id(key), key)
        return Keyring(current=keys[0], accepted=accepted, source="OUTBOX_PRIVATE_KEYS")
    return load_keyring(outbox_dir(config, instance_path), create=not multi_host(config))


def vapid_key(config: Mapping[str, Any], instance_path: Path) -> ec.EllipticCurvePrivateKey:
    """The VAPID key as configured: VAPID_PRIVATE_KEY (PEM text), else the file
    VAPID_PRIVATE_KEY_FILE, else one generated into the instance folder."""
    text = config.get("VAPID_PRIVATE_KEY")
    if text:
        (key, *rest) = parse_keys(text, "VAPID_PRIVATE_KEY")
        if rest:
            raise RuntimeError("VAPID_PRIVATE_KEY holds more than one key")
        return key
    configured = config.get("VAPID_PRIVATE_KEY_FILE")
    if configured:
        return load_or_create_key(Path(configured), create=False)
    return load_or_create_key(instance_path / VAPID_FILE, create=not multi_host(config))


def check_shared_keys(config: Mapping[str, Any], instance_path: Path) -> None:
    """Refuse to start on a secret key file that is missing, and, with several hosts, unless
    every key is configured and readable.

    A key generated into one host's instance folder would differ from the others': phones'
    records sealed against it would not open elsewhere, push subscriptions made there would not
    verify from elsewhere, sessions signed there would not be believed elsewhere.
    """
    missing = []
    if config.get("SECRET_KEY_SOURCE") == "missing":
        missing.append("SECRET_KEY or SECRET_KEY_FILE (a file that exists)")
    if multi_host(config):
        if not (config.get("OUTBOX_PRIVATE_KEYS") or config.get("OUTBOX_KEY_DIR")):
            missing.append("OUTBOX_KEY_DIR or OUTBOX_PRIVATE_KEYS")
        if not (config.get("VAPID_PRIVATE_KEY") or config.get("VAPID_PRIVATE_KEY_FILE")):
            missing.append("VAPID_PRIVATE_KEY_FILE or VAPID_PRIVATE_KEY")
        if not config.get("RESEARCH_KEY_FILE"):
            missing.append("RESEARCH_KEY_FILE")
    if missing:
        raise KeyMissing(
            "Set "
            + ", ".join(missing)
            + (
                ": with MULTI_HOST every host reads the same keys and none is generated"
                if multi_host(config)
                else ""
            )
            + " (`flask keys init` makes the configured files; docs/deploy.md, Keys)."
        )
    if multi_host(config):
        # Read them now, so a host with a missing or unreadable file fails at start, not later.
        outbox_keyring(config, instance_path)
        vapid_key(config, instance_path)
        if not Path(config["RESEARCH_KEY_FILE"]).is_file():
            raise KeyMissing(
                f"RESEARCH_KEY_FILE {config['RESEARCH_KEY_FILE']} does not exist"
                " (`flask keys init` makes it; docs/deploy.md, Keys)."
            )


def init_configured_keys(config: Mapping[str, Any]) -> list[str]:
    """Make each configured key file that does not exist yet (`flask keys init`); what was made."""
    made = []
    secret_file = config.get("SECRET_KEY_FILE")
    if secret_file and not Path(secret_file).exists():
        path = Path(secret_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        made.append(f"secret key: {path}")
    vapid_file = config.get("VAPID_PRIVATE_KEY_FILE")
    if vapid_file and write_new_key(Path(vapid_file)) is not None:
        made.append(f"VAPID key: {vapid_file}")
    research_file = config.get("RESEARCH_KEY_FILE")
    if research_file and not Path(research_file).exists():
        path = Path(research_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
        made.append(f"research key: {path}")
    directory = config.get("OUTBOX_KEY_DIR")
    if directory and not (Path(directory) / OUTBOX_CURRENT).exists():
        key = write_new_key(Path(directory) / OUTBOX_CURRENT)
        if key is not None:
            made.append(f"outbox key {key_id(key)}: {Path(directory) / OUTBOX_CURRENT}")
    return made


# Rotation of the outbox key in a keyring folder (flask keys ...).


def list_outbox_keys(directory: Path) -> list[tuple[str, Path, bool]]:
    """(id, file, current) for each key in the folder, the current one first."""
    rows = []
    current = directory / OUTBOX_CURRENT
    if current.exists():
        rows.append((key_id(read_key(current)), current, True))
    for path in sorted(directory.glob(OUTBOX_PATTERN)):
        rows.append((key_id(read_key(path)), path, False))
    return rows


def _kept_path(directory: Path, kid: str) -> Path:
    return directory / f"outbox_key.{kid}.pem"


def stage_outbox_key(directory: Path) -> str:
    """Add a new key that is accepted but not yet handed out; return its id."""
    while True:
        key = ec.generate_private_key(ec.SECP256R1())
        path = _kept_path(directory, key_id(key))
        directory.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as handle:
            handle.write(_pem(key))
        return key_id(key)


def activate_outbox_key(directory: Path, kid: str) -> str | None:
    """Make the kept key `kid` current; the current one is kept beside it (still accepted).
    Returns the id of the key it replaced (None if there was none)."""
    staged = _kept_path(directory, kid)
    if not staged.exists():
        raise FileNotFoundError(f"no key {kid} in {directory}")
    if key_id(read_key(staged)) != kid:
        raise RuntimeError(f"{staged} does not hold key {kid}")
    current = directory / OUTBOX_CURRENT
    previous = None
    if current.exists():
        previous = key_id(read_key(current))
        # Keep the old key first, then move the new one in: at no moment is either missing.
        # (Kept already if it was current once before.)
        with contextlib.suppress(FileExistsError):
            os.link(current, _kept_path(directory, previous))
    os.replace(staged, current)
    return previous


def rotate_outbox_key(directory: Path) -> tuple[str, str | None]:
    """Stage a new key and make it current at once (one host); (new id, replaced id)."""
    kid = stage_outbox_key(directory)
    return kid, activate_outbox_key(directory, kid)


def retire_outbox_key(directory: Path, kid: str) -> Path:
    """Delete a kept key: envelopes sealed to it can no longer be opened."""
    path = _kept_path(directory, kid)
    if not path.exists():
        current = directory / OUTBOX_CURRENT
        if current.exists() and key_id(read_key(current)) == kid:
            raise RuntimeError(f"{kid} is the current key: activate another one first")
        raise FileNotFoundError(f"no kept key {kid} in {directory}")
    path.unlink()
    return path
