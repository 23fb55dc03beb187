"""Reads and acknowledgements arriving from a phone's outbox: the same form and service as
the acknowledge button online (exactly once per UUID, DESIGN.md guarantee 2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from interrupters.auth.principal import Principal
from interrupters.briefings import forms, services
from interrupters.briefings.models import BriefingReceipt
from interrupters.enums import ReceiptKind
from interrupters.errors import InvalidInput
from interrupters.forms import formdata_of
from interrupters.records import validated
from interrupters.sync.services import register


def _receive(
    kind: ReceiptKind,
    *,
    session: Session,
    actor: Principal,
    payload: dict[str, Any],
    client_uuid: str,
    now: datetime,
) -> tuple[int, bool]:
    form = forms.AcknowledgeForm(formdata=formdata_of(payload), meta={"csrf": False})
    if not form.validate():
        raise InvalidInput(forms.errors_of(form))
    at = form.moment()
    if at is None:
        # The time is part of the record: a replay must carry the same one.
        raise InvalidInput({"at": "the time the phone made the record is missing"})
    data = validated(
        services.ReceiptInput,
        {"briefing_id": int(form.briefing_id.data), "kind": kind, "at": at},
    )
    receipt, created = services.record_receipt(
        session=session, actor=actor, data=data, client_uuid=client_uuid, now=now
    )
    assert receipt.id is not None
    return receipt.id, created


@register("briefing_read", stored=(BriefingReceipt, "user_id"))
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


@register("briefing_ack", stored=(BriefingReceipt, "user_id"))
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
