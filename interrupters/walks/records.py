"""The walk report as a record a phone sends: declared once, read by sync and the correction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlmodel import Session

from interrupters.auth.principal import Principal
from interrupters.errors import InvalidInput
from interrupters.forms import PreparedForm
from interrupters.records import RecordKind, batch_memo, declare
from interrupters.walks import forms, services
from interrupters.walks.models import WalkReport


def receive_walk_report(
    *, session: Session, actor: Principal, payload: dict[str, Any], client_uuid: str, now: datetime
) -> tuple[int, bool]:
    # The actor's walks and their places: read once a batch, not once a record.
    prepared = batch_memo(
        ("walk_report_form", actor.user_id, now),
        lambda: PreparedForm(
            forms.prepare_report(
                forms.WalkReportForm(formdata=None, meta={"csrf": False}),
                session=session,
                actor=actor,
                now=now,
            )
        ),
    )
    form = prepared.fill(payload)
    if not form.validate():
        raise InvalidInput(forms.errors_of(form))
    report, created = services.file_walk_report(
        session=session,
        actor=actor,
        data=forms.report_input(form),
        client_uuid=client_uuid,
        now=now,
    )
    assert report.id is not None
    return report.id, created


WALK_REPORT = declare(
    RecordKind(
        name="walk_report",
        label=_l("Walk report"),
        roles=frozenset(services.ASSOCIATION),
        store=receive_walk_report,
        model=WalkReport,
        author="submitted_by_id",
        correct="walks.new_report",
    )
)
