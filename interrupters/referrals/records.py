"""Referrals and their status changes as records a phone sends: declared once here, read by
sync and the correction; the same forms and services as online."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlmodel import Session

from interrupters.auth.principal import Principal
from interrupters.errors import InvalidInput
from interrupters.forms import PreparedForm
from interrupters.records import RecordKind, batch_memo, declare
from interrupters.referrals import forms, services
from interrupters.referrals.models import Referral, ReferralUpdate


def bind_referral_form(
    payload: dict[str, Any], *, session: Session, actor: Principal, strict: bool = True
) -> forms.ReferralForm:
    """The referral form filled from an outbox payload, its choices read once a batch."""
    prepared = batch_memo(
        ("referral_form", actor.user_id),
        lambda: PreparedForm(
            forms.prepare_referral_form(
                forms.ReferralForm(formdata=None, meta={"csrf": False}),
                session=session,
                actor=actor,
            )
        ),
    )
    return prepared.fill(payload, strict=strict)


def receive_referral(
    *, session: Session, actor: Principal, payload: dict[str, Any], client_uuid: str, now: datetime
) -> tuple[int, bool]:
    """Validate like the online form, then make the referral once under its UUID."""
    form = bind_referral_form(payload, session=session, actor=actor)
    if not form.validate():
        raise InvalidInput(forms.form_errors(form))
    referral, created = services.make_referral(
        session=session,
        actor=actor,
        data=forms.referral_input(form),
        client_uuid=client_uuid,
        now=now,
    )
    assert referral.id is not None
    return referral.id, created


def receive_update(
    *, session: Session, actor: Principal, payload: dict[str, Any], client_uuid: str, now: datetime
) -> tuple[int, bool]:
    """Validate like the online form, then record the status change once under its UUID."""
    prepared = batch_memo(
        "referral_update_form",
        lambda: PreparedForm(forms.ReferralUpdateForm(formdata=None, meta={"csrf": False})),
    )
    form = prepared.fill(payload)
    if not form.validate():
        raise InvalidInput(forms.form_errors(form))
    update, created = services.update_referral(
        session=session,
        actor=actor,
        referral_id=int(form.referral_id.data),
        data=forms.update_input(form),
        client_uuid=client_uuid,
        now=now,
    )
    assert update.id is not None
    return update.id, created


def _referral(payload: Mapping[str, Any]) -> dict[str, Any]:
    value = str(payload.get("referral_id", ""))
    return {"referral_id": int(value)} if value.isdigit() and len(value) < 10 else {}


REFERRAL = declare(
    RecordKind(
        name="referral",
        label=_l("Referral"),
        roles=frozenset(services.REFERRAL_ROLES),
        store=receive_referral,
        model=Referral,
        author="made_by_id",
        correct="referrals.new",
        free_text=frozenset(),
    )
)
REFERRAL_UPDATE = declare(
    RecordKind(
        name="referral_update",
        label=_l("Referral update"),
        roles=frozenset(services.REFERRAL_ROLES),
        store=receive_update,
        model=ReferralUpdate,
        author="author_id",
        correct="referrals.detail",
        correct_args=_referral,
        free_text=frozenset(),
    )
)
