"""Conflict flags, updates, mediations, incidents and community responses as records a phone
sends: declared once here, read by sync and the correction; the same forms and services as
online."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
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
from interrupters.forms import PreparedForm
from interrupters.records import RecordKind, batch_memo, declare


def _bound(
    form_class: type[Any], payload: dict[str, Any], *, session: Session, actor: Principal
) -> Any:
    # The choices come from the database (places, workers, conflicts): read once a batch,
    # not once a record, into a prepared form that each record gets a copy of.
    prepared = batch_memo(
        ("conflict_form", form_class.__name__, actor.user_id),
        lambda: PreparedForm(
            forms.prepare(
                form_class(formdata=None, meta={"csrf": False}), session=session, actor=actor
            )
        ),
    )
    form = prepared.fill(payload)
    if not form.validate():
        raise InvalidInput(forms.errors_of(form))
    return form


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


CASE = frozenset(services.CASE_ROLES)


def _level(payload: Any) -> int:
    value = str(payload.get("risk_level") or "")
    return int(value) if value.isdigit() and len(value) < 3 else 0


def _raises(payload: Any) -> bool:
    """A flag or an update that puts a conflict at level 3 or 4: held, it must not wait unseen."""
    return _level(payload) >= services.ESCALATION_LEVEL


def _conflict(payload: Any) -> dict[str, Any]:
    value = str(payload.get("conflict_id", ""))
    return {"conflict_id": int(value)} if value.isdigit() and len(value) < 10 else {}


CONFLICT = declare(
    RecordKind(
        name="conflict",
        label=_l("Conflict flag"),
        roles=CASE,
        store=receive_conflict,
        model=Conflict,
        author="flagged_by_id",
        correct="conflicts.new",
        free_text=frozenset({"note", "party_labels"}),
        escalates=_raises,
    )
)
CONFLICT_UPDATE = declare(
    RecordKind(
        name="conflict_update",
        label=_l("Conflict update"),
        roles=CASE,
        store=receive_update,
        model=ConflictEvent,
        author="author_id",
        correct="conflicts.detail",
        correct_args=_conflict,
        free_text=frozenset({"text"}),
        escalates=_raises,
    )
)
MEDIATION = declare(
    RecordKind(
        name="mediation",
        label=_l("Mediation"),
        roles=CASE,
        store=receive_mediation,
        model=Mediation,
        author="author_id",
        correct="conflicts.detail",
        correct_args=_conflict,
    )
)
INCIDENT = declare(
    RecordKind(
        name="incident",
        label=_l("Incident"),
        roles=CASE,
        store=receive_incident,
        model=Incident,
        author="author_id",
        correct="conflicts.new_incident",
    )
)
COMMUNITY_RESPONSE = declare(
    RecordKind(
        name="community_response",
        label=_l("Community response"),
        roles=CASE,
        store=receive_community_response,
        model=CommunityResponse,
        author="author_id",
        correct="conflicts.new_community_response",
    )
)
