"""Reads and acknowledgements of a briefing as records a phone sends: the same form and service
as the acknowledge button online (exactly once per UUID, DESIGN.md guarantee 2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlmodel import Session

from interrupters.auth.principal import Principal
from interrupters.briefings import forms, services
from interrupters.briefings.models import BriefingReceipt
from interrupters.briefings.values import ReceiptKind
from interrupters.errors import InvalidInput
from interrupters.forms import PreparedForm
from interrupters.records import RecordKind, batch_memo, declare, validated


def _receive(
    kind: ReceiptKind,
    *,
    session: Session,
    actor: Principal,
    payload: dict[str, Any],
    client_uuid: str,
    now: datetime,
) -> tuple[int, bool]:
    prepared = batch_memo(
        "acknowledge_form",
        lambda: PreparedForm(forms.AcknowledgeForm(formdata=None, meta={"csrf": False})),
    )
    form = prepared.fill(payload)
    if not form.validate():
        raise InvalidInput(forms.errors_of(form))
    at = form.moment()
    if at is None:
        # The time is part of the record: a replay must carry the same one.
        raise InvalidInput({"at": _l("The time the phone made the record is missing.")})
    data = validated(
        services.ReceiptInput,
        {"briefing_id": int(form.briefing_id.data), "kind": kind, "at": at},
    )
    receipt, created = services.record_receipt(
        session=session, actor=actor, data=data, client_uuid=client_uuid, now=now
    )
    assert receipt.id is not None
    return receipt.id, created


def receive_read(
    *, session: Session, actor: Principal, payload: dict[str, Any], client_uuid: str, now: datetime
) -> tuple[int, bool]:
    return _receive(
        ReceiptKind.read,
        session=session,
        actor=actor,
        payload=payload,
        client_uuid=client_uuid,
        now=now,
    )


def receive_acknowledgement(
    *, session: Session, actor: Principal, payload: dict[str, Any], client_uuid: str, now: datetime
) -> tuple[int, bool]:
    return _receive(
        ReceiptKind.acknowledged,
        session=session,
        actor=actor,
        payload=payload,
        client_uuid=client_uuid,
        now=now,
    )


def _briefing(payload: Any) -> dict[str, Any]:
    value = str(payload.get("briefing_id", ""))
    return {"briefing_id": int(value)} if value.isdigit() and len(value) < 10 else {}


def _receipt_kind(name: str, label: Any, store: Any) -> RecordKind:
    return declare(
        RecordKind(
            name=name,
            label=label,
            roles=frozenset(services.READERS),
            store=store,
            model=BriefingReceipt,
            author="user_id",
            correct="briefings.detail",
            correct_args=_briefing,
        )
    )


BRIEFING_READ = _receipt_kind("briefing_read", _l("Briefing read"), receive_read)
BRIEFING_ACK = _receipt_kind("briefing_ack", _l("Briefing acknowledged"), receive_acknowledgement)
