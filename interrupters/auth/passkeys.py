"""Passkeys (WebAuthn, py_webauthn): a second factor offered first to whoever has one, and one
any role may add (issue 9, item 1).

The challenge of a ceremony is made here and kept by the caller (the view keeps it in the
signed session cookie, spent on use); the relying party id and the origin are the caller's
(config, or the request's host). Only public keys are stored.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, select
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from interrupters.audit.services import record_event
from interrupters.auth import throttle, twofactor
from interrupters.auth.models import Passkey
from interrupters.auth.principal import Principal
from interrupters.db import utcnow
from interrupters.errors import InvalidInput, NotVisible

logger = logging.getLogger(__name__)

RP_NAME = "Interrupters"


def _transports(text: str) -> list[AuthenticatorTransport]:
    known = {item.value for item in AuthenticatorTransport}
    return [AuthenticatorTransport(t) for t in text.split(",") if t in known]


def _descriptors(rows: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(row.credential_id), transports=_transports(row.transports)
        )
        for row in rows
    ]


def passkeys_of(*, session: Session, user_id: int) -> list[Passkey]:
    return list(
        session.exec(
            select(Passkey).where(Passkey.user_id == user_id).order_by(col(Passkey.id))
        ).all()
    )


def registration_options(*, session: Session, actor: Principal, rp_id: str) -> tuple[str, bytes]:
    """Options for `navigator.credentials.create` (JSON) and the challenge to keep."""
    if actor.second_factor == twofactor.VERIFY:
        raise InvalidInput({"passkey": _l("Pass your second factor first.")})
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=RP_NAME,
        user_name=actor.email,
        user_id=f"user:{actor.user_id}".encode(),
        user_display_name=actor.display_name,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(passkeys_of(session=session, user_id=actor.user_id)),
    )
    return options_to_json(options), options.challenge


def register_passkey(
    *,
    session: Session,
    actor: Principal,
    credential: str,
    challenge: bytes,
    rp_id: str,
    origin: str,
    label: str = "",
    now: datetime | None = None,
) -> Passkey:
    """Store a new passkey from the browser's answer; a device setting up its first second
    factor has then passed it."""
    if actor.second_factor == twofactor.VERIFY:
        raise InvalidInput({"passkey": _l("Pass your second factor first.")})
    now = now or utcnow()
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
        )
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as error:
        # The type only: the library's message quotes what the browser sent (an origin, ...).
        logger.warning("passkey registration refused: %s", type(error).__name__)
        raise InvalidInput({"passkey": _l("The passkey could not be saved.")}) from None
    try:
        transports = json.loads(credential).get("response", {}).get("transports") or []
    except (ValueError, AttributeError):
        transports = []
    row = Passkey(
        user_id=actor.user_id,
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=bytes_to_base64url(verified.credential_public_key),
        sign_count=verified.sign_count,
        transports=",".join(str(t) for t in transports)[:200],
        label=label[:120],
        created_at=now,
    )
    session.add(row)
    session.flush()
    record_event(
        session=session,
        event="passkey_added",
        actor_id=actor.user_id,
        object_type="passkey",
        object_id=row.id,
        now=now,
    )
    if actor.second_factor == twofactor.ENROL:
        twofactor.pass_device(session=session, actor=actor, method="passkey", now=now)
    return row


def authentication_options(*, session: Session, actor: Principal, rp_id: str) -> tuple[str, bytes]:
    """Options for `navigator.credentials.get` with the actor's passkeys, and the challenge."""
    rows = passkeys_of(session=session, user_id=actor.user_id)
    if not rows:
        raise NotVisible()
    options = generate_authentication_options(
        rp_id=rp_id,
        allow_credentials=_descriptors(rows),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json(options), options.challenge


def verify_passkey(
    *,
    session: Session,
    actor: Principal,
    credential: str,
    challenge: bytes,
    rp_id: str,
    origin: str,
    now: datetime | None = None,
) -> bool:
    """Check the browser's passkey answer as the actor's second factor; count a failure."""
    now = now or utcnow()
    if twofactor.second_factor_wait(session=session, actor=actor, now=now) is not None:
        record_event(
            session=session, event="second_factor_throttled", actor_id=actor.user_id, now=now
        )
        return False
    try:
        credential_id = str(json.loads(credential)["id"])
    except (ValueError, KeyError, TypeError):
        credential_id = ""
    row = session.exec(
        select(Passkey)
        .where(Passkey.user_id == actor.user_id)
        .where(Passkey.credential_id == credential_id)
    ).first()
    verified = None
    if row is not None:
        try:
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=rp_id,
                expected_origin=origin,
                credential_public_key=base64url_to_bytes(row.public_key),
                credential_current_sign_count=row.sign_count,
                require_user_verification=True,
            )
        except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError) as error:
            logger.info("passkey sign-in refused: %s", type(error).__name__)
    if row is None or verified is None:
        twofactor.count_wrong_factor(session=session, actor=actor, now=now)
        return False
    row.sign_count = verified.new_sign_count
    row.last_used_at = now
    session.add(row)
    throttle.clear_failed_logins(session=session, bucket=twofactor.bucket(actor.user_id))
    twofactor.pass_device(session=session, actor=actor, method="passkey", now=now)
    return True


def remove_passkey(
    *, session: Session, actor: Principal, passkey_id: int, now: datetime | None = None
) -> None:
    """Remove one of the actor's own passkeys (a lost or replaced phone).

    An office role keeps at least one second factor: the last one goes only by an admin's
    reset, so a stolen password alone can never set up a new one."""
    row = session.get(Passkey, passkey_id)
    if row is None or row.user_id != actor.user_id:
        raise NotVisible()
    others = [p for p in passkeys_of(session=session, user_id=actor.user_id) if p.id != row.id]
    if (
        twofactor.needs_second_factor(actor.roles)
        and not others
        and not twofactor.has_totp(session=session, user_id=actor.user_id)
    ):
        raise InvalidInput(
            {"passkey": _l("This is your only second factor. Add another one first.")}
        )
    session.delete(row)
    record_event(
        session=session,
        event="passkey_removed",
        actor_id=actor.user_id,
        object_type="passkey",
        object_id=passkey_id,
        now=now,
    )
