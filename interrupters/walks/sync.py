"""Walk reports arriving from a phone's outbox: the same form and service as online."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from interrupters.auth.principal import Principal
from interrupters.errors import InvalidInput
from interrupters.forms import formdata_of
from interrupters.sync.services import register, resolve_held
from interrupters.walks import forms, services
from interrupters.walks.models import WalkReport


@register("walk_report", stored=(WalkReport, "submitted_by_id"))
def receive_walk_report(
    *, session: Session, actor: Principal, payload: dict[str, Any], client_uuid: str, now: datetime
) -> tuple[int, bool]:
    form = forms.WalkReportForm(formdata=formdata_of(payload), meta={"csrf": False})
    forms.prepare_report(form, session=session, actor=actor, now=now)
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
    if created and form.held_id.data:
        # The correction of a report the server held: that one is done.
        resolve_held(
            session=session, actor=actor, held_id=int(form.held_id.data), resolved_as=report.id
        )
    return report.id, created
