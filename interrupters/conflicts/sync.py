"""Conflict records arriving from a phone's outbox: the same forms and services as online."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from interrupters.auth.principal import Principal
from interrupters.conflicts import forms, services
from interrupters.conflicts.models import (
    CommunityResponse,
    Conflict,
    ConflictEvent,
    Incident,
    Mediation,
)
from interrupters.errors import InvalidInput
from interrupters.forms import formdata_of
from interrupters.sync.services import register


def _bound(
    form_class: type[Any], payload: dict[str, Any], *, session: Session, actor: Principal
) -> Any:
    form = form_class(formdata=formdata_of(payload), meta={"csrf": False})
    forms.prepare(form, session=session, actor=actor)
    if not form.validate():
        raise InvalidInput(forms.errors_of(form))
    return form


@register("conflict", stored=(Conflict, "flagged_by_id"))
def receive_conflict(
    *, session: Session, actor: Principal, payload: dict[str, Any], client_uuid: str, now: datetime
) -> tuple[int, bool]:
    form = _bound(forms.ConflictForm, payload, session=session, actor=actor)
    conflict, created = services.flag_conflict(
        session=session,
        actor=actor,
        data=forms.conflict_input(form, session=session),
        client_uuid=client_uuid,
        now=now,
    )
    assert conflict.id is not None
    return conflict.id, created


@register("conflict_update", stored=(ConflictEvent, "author_id"))
def receive_update(
    *, session: Session, actor: Principal, payload: dict[str, Any], client_uuid: str, now: datetime
) -> tuple[int, bool]:
    form = _bound(forms.ConflictUpdateForm, payload, session=session, actor=actor)
    events, created = services.update_conflict(
        session=session,
        actor=actor,
        conflict_id=int(form.conflict_id.data),
        data=forms.update_input(form),
        client_uuid=client_uuid,
        now=now,
    )
    assert events[0].id is not None
    return events[0].id, created


@register("mediation", stored=(Mediation, "author_id"))
def receive_mediation(
    *, session: Session, actor: Principal, payload: dict[str, Any], client_uuid: str, now: datetime
) -> tuple[int, bool]:
    form = _bound(forms.MediationForm, payload, session=session, actor=actor)
    mediation, created = services.record_mediation(
        session=session,
        actor=actor,
        conflict_id=int(form.conflict_id.data),
        data=forms.mediation_input(form, session=session),
        client_uuid=client_uuid,
        now=now,
    )
    assert mediation.id is not None
    return mediation.id, created


@register("incident", stored=(Incident, "author_id"))
def receive_incident(
    *, session: Session, actor: Principal, payload: dict[str, Any], client_uuid: str, now: datetime
) -> tuple[int, bool]:
    form = _bound(forms.IncidentForm, payload, session=session, actor=actor)
    incident, created = services.record_incident(
        session=session,
        actor=actor,
        data=forms.incident_input(form, session=session),
        client_uuid=client_uuid,
        now=now,
    )
    assert incident.id is not None
    return incident.id, created


@register("community_response", stored=(CommunityResponse, "author_id"))
def receive_community_response(
    *, session: Session, actor: Principal, payload: dict[str, Any], client_uuid: str, now: datetime
) -> tuple[int, bool]:
    form = _bound(forms.CommunityResponseForm, payload, session=session, actor=actor)
    response, created = services.record_community_response(
        session=session,
        actor=actor,
        data=forms.community_response_input(form, session=session),
        client_uuid=client_uuid,
        now=now,
    )
    assert response.id is not None
    return response.id, created
