"""Keys for several hosts (issue 14, item 1): configured from files or the environment, never
generated with MULTI_HOST; the outbox's keyring rotates, and what phones sealed to an old key
(with a key id, or from before key ids) still opens."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlmodel import select

from interrupters import create_app, keys
from interrupters.contacts.models import Contact
from interrupters.sync import crypto

from .conftest import _test_config
from .test_sync import Phone, count, payload


def _pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


# The keyring and envelopes ------------------------------------------------------------------


def test_an_envelope_names_its_key_and_opens_with_the_keyring(tmp_path):
    ring = keys.load_keyring(tmp_path, create=True)
    public = crypto.public_key_raw(ring.current)
    envelope = crypto.seal(public, {"a": 1}, kind="contact", client_uuid="u")
    assert envelope["kid"] == ring.current_id == keys.public_key_id(public)
    assert crypto.open_envelope(ring, envelope, kind="contact", client_uuid="u") == {"a": 1}


def test_rotation_keeps_the_old_key_for_what_phones_still_hold(tmp_path):
    old_ring = keys.load_keyring(tmp_path, create=True)
    old_public = crypto.public_key_raw(old_ring.current)
    named = crypto.seal(old_public, {"n": 1}, kind="contact", client_uuid="a")
    # A phone from before key ids: its envelope names no key.
    unnamed = crypto.seal(old_public, {"n": 2}, kind="contact", client_uuid="b", with_kid=False)
    unnamed_compact = crypto.seal(
        old_public, {"n": 3}, kind="contact", client_uuid="c", compact=True, with_kid=False
    )
    assert "kid" not in unnamed

    new_id, replaced = keys.rotate_outbox_key(tmp_path)
    assert replaced == old_ring.current_id and new_id != replaced
    ring = keys.load_keyring(tmp_path, create=False)
    assert ring.current_id == new_id and set(ring.accepted) == {new_id, replaced}
    assert crypto.open_envelope(ring, named, kind="contact", client_uuid="a") == {"n": 1}
    assert crypto.open_envelope(ring, unnamed, kind="contact", client_uuid="b") == {"n": 2}
    assert crypto.open_envelope(ring, unnamed_compact, kind="contact", client_uuid="c") == {"n": 3}
    fresh = crypto.seal(crypto.public_key_raw(ring.current), {"n": 4}, kind="k", client_uuid="d")
    assert fresh["kid"] == new_id
    # Bound to its record all the same: an old envelope does not open as another record.
    with pytest.raises(crypto.UnreadableEnvelope):
        crypto.open_envelope(ring, unnamed, kind="contact", client_uuid="other")

    # Once retired, the old key's envelopes are unreadable (and say so, not a crash).
    keys.retire_outbox_key(tmp_path, replaced)
    ring = keys.load_keyring(tmp_path, create=False)
    assert set(ring.accepted) == {new_id}
    for envelope, uid in ((named, "a"), (unnamed, "b")):
        with pytest.raises(crypto.UnreadableEnvelope):
            crypto.open_envelope(ring, envelope, kind="contact", client_uuid=uid)


def test_a_staged_key_is_accepted_before_it_is_handed_out(tmp_path):
    ring = keys.load_keyring(tmp_path, create=True)
    staged = keys.stage_outbox_key(tmp_path)
    ring = keys.load_keyring(tmp_path, create=False)
    # Another host already activated it: records sealed to it open here too.
    assert ring.current_id != staged and staged in ring.accepted
    staged_public = crypto.public_key_raw(ring.accepted[staged])
    envelope = crypto.seal(staged_public, {"x": 1}, kind="contact", client_uuid="s")
    assert crypto.open_envelope(ring, envelope, kind="contact", client_uuid="s") == {"x": 1}
    previous = keys.activate_outbox_key(tmp_path, staged)
    assert previous == ring.current_id
    assert keys.load_keyring(tmp_path, create=False).current_id == staged
    with pytest.raises(RuntimeError):
        keys.retire_outbox_key(tmp_path, staged)  # the current one: activate another first


def test_keys_from_the_environment_first_is_current():
    current, old = _new_key(), _new_key()
    ring = keys.outbox_keyring({"OUTBOX_PRIVATE_KEYS": _pem(current) + _pem(old)}, Path("/x"))
    assert ring.current_id == keys.key_id(current)
    assert set(ring.accepted) == {keys.key_id(current), keys.key_id(old)}
    with pytest.raises(ValueError):
        keys.parse_keys("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----", "X")


# Several hosts ------------------------------------------------------------------------------


def _shared(tmp_path: Path) -> dict[str, str]:
    """What every host is given: the same files."""
    (tmp_path / "shared").mkdir()
    secret = tmp_path / "shared" / "secret_key"
    secret.write_text("a-secret-key-shared-by-every-host-0123456789")
    vapid = tmp_path / "shared" / "vapid.pem"
    vapid.write_text(_pem(_new_key()))
    outbox = tmp_path / "shared" / "outbox"
    keys.load_keyring(outbox, create=True)
    research = tmp_path / "shared" / "research.key"
    research.write_bytes(bytes(range(32)))
    return {
        "SECRET_KEY_FILE": str(secret),
        "VAPID_PRIVATE_KEY_FILE": str(vapid),
        "OUTBOX_KEY_DIR": str(outbox),
        "RESEARCH_KEY_FILE": str(research),
    }


def test_multi_host_refuses_to_start_on_keys_of_its_own(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MULTI_HOST", "1")
    config = _test_config(database_url, INSTANCE_PATH=str(tmp_path / "host"))
    del config["SECRET_KEY"]
    with pytest.raises(keys.KeyMissing) as refused:
        create_app(config)
    for name in ("SECRET_KEY", "OUTBOX_KEY_DIR", "VAPID_PRIVATE_KEY_FILE", "RESEARCH_KEY_FILE"):
        assert name in str(refused.value)
    # Nothing was generated into the instance folder on the way.
    instance = tmp_path / "host"
    assert not any(instance.glob("*")) if instance.exists() else True

    # A configured file that is not there is refused too, not generated.
    shared = _shared(tmp_path)
    Path(shared["VAPID_PRIVATE_KEY_FILE"]).unlink()
    for name, value in shared.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(keys.KeyMissing):
        create_app(config)


def test_two_hosts_read_the_same_keys(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MULTI_HOST", "1")
    for name, value in _shared(tmp_path).items():
        monkeypatch.setenv(name, value)
    apps = []
    for host in ("a", "b"):
        config = _test_config(database_url, INSTANCE_PATH=str(tmp_path / host))
        del config["SECRET_KEY"]
        apps.append(create_app(config))
    a, b = apps
    from interrupters.push.webpush import application_server_key

    assert a.secret_key == b.secret_key == "a-secret-key-shared-by-every-host-0123456789"
    assert a.config["SECRET_KEY_SOURCE"] == "file"
    assert application_server_key(a) == application_server_key(b)
    for app in apps:
        app.extensions["db_engine"].dispose()
    # Neither host made a key of its own.
    assert not list((tmp_path / "a").glob("*.pem")) and not list((tmp_path / "b").glob("*.pem"))


def test_the_embedded_default_still_generates_into_the_instance_folder(app):
    from interrupters.push.webpush import application_server_key

    assert application_server_key(app)
    with app.app_context():
        from interrupters.sync.views import outbox_keyring

        ring = outbox_keyring()
    assert (Path(app.instance_path) / "outbox_key.pem").exists()
    assert (Path(app.instance_path) / "vapid_private_key.pem").exists()
    assert ring.source == app.instance_path


# Through the app and the command -------------------------------------------------------------


@pytest.fixture
def phone(client, login_as):
    login_as("interrupter")
    return Phone(client)


def test_a_phone_with_the_old_key_is_stored_after_a_rotation(app, phone, session, world):
    runner = app.test_cli_runner()
    phone.refresh()
    old_key = phone.config["public_key"]
    assert phone.config["key_id"] == keys.public_key_id(old_key)
    offline = [str(uuid.uuid4()) for _ in range(2)]
    # Sealed while offline, before the rotation: one named, one from an older phone.
    sealed = [
        crypto.seal(old_key, payload(world), kind="contact", client_uuid=offline[0]),
        crypto.seal(
            old_key, payload(world), kind="contact", client_uuid=offline[1], with_kid=False
        ),
    ]

    result = runner.invoke(args=["keys", "rotate-outbox"])
    assert result.exit_code == 0, result.output
    # The hosts restart to read the new keyring.
    app.extensions.pop("outbox_key", None)

    for client_uuid, envelope in zip(offline, sealed, strict=True):
        response = phone.send(payload(world), client_uuid=client_uuid, envelope=envelope)
        assert response.status_code == 201, response.get_json()
    # The next run hands out the new key; new records are sealed to it.
    phone.refresh()
    assert phone.config["public_key"] != old_key
    assert phone.send(payload(world)).status_code == 201
    assert count(session, Contact) == 3

    listed = runner.invoke(args=["keys", "list"])
    assert listed.exit_code == 0, listed.output
    assert phone.config["key_id"] + "  current" in listed.output
    assert keys.public_key_id(old_key) + "  accepted" in listed.output
    assert "PRIVATE KEY" not in listed.output
    assert session.exec(select(Contact)).first() is not None


def test_keys_init_makes_the_configured_files(tmp_path, database_url, monkeypatch):
    shared = tmp_path / "shared"
    monkeypatch.setenv("MULTI_HOST", "1")
    monkeypatch.setenv("SECRET_KEY_FILE", str(shared / "secret"))
    monkeypatch.setenv("VAPID_PRIVATE_KEY_FILE", str(shared / "vapid.pem"))
    monkeypatch.setenv("OUTBOX_KEY_DIR", str(shared / "outbox"))
    monkeypatch.setenv("RESEARCH_KEY_FILE", str(shared / "research.key"))
    config = _test_config(database_url, INSTANCE_PATH=str(tmp_path / "host"))
    del config["SECRET_KEY"]
    from flask.cli import ScriptInfo

    info = ScriptInfo(create_app=lambda: create_app(config))
    runner = CliRunner()
    result = runner.invoke(_cli(info), ["keys", "init"], obj=info)
    assert result.exit_code == 0, result.output
    assert (shared / "secret").stat().st_mode & 0o777 == 0o600
    assert keys.read_key(shared / "vapid.pem")
    assert (shared / "outbox" / "outbox_key.pem").exists()
    assert len((shared / "research.key").read_bytes()) == 32
    # Now a server starts.
    app = create_app(config)
    assert app.config["SECRET_KEY"] == (shared / "secret").read_text()
    app.extensions["db_engine"].dispose()
    again = runner.invoke(_cli(info), ["keys", "init"], obj=info)
    assert "nothing made" in again.output


def _cli(info):
    from flask.cli import FlaskGroup

    return FlaskGroup(create_app=info.create_app)
