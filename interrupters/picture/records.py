"""Place observations and place signals as records a phone sends: declared once here, read by
sync and the correction; the same forms and services as online (works offline)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlmodel import Session

from interrupters.auth.principal import Principal
from interrupters.errors import InvalidInput
from interrupters.forms import form_from_payload
from interrupters.picture import forms, services
from interrupters.picture.models import PlaceObservation
from interrupters.records import RecordKind, batch_memo, declare


def bind_observation_form(
    payload: dict[str, Any], *, session: Session, actor: Principal, strict: bool = True
) -> forms.ObservationForm:
    form = form_from_payload(forms.ObservationForm, payload, strict=strict)
    places, sources = batch_memo(
        ("observation_form", actor.user_id),
        lambda: _observation_choices(session, actor),
    )
    form.place_id.choices = list(places)
    form.source.choices = list(sources)
    return form


def _observation_choices(session: Session, actor: Principal) -> tuple[list[Any], list[Any]]:
    blank = forms.prepare_observation_form(
        forms.ObservationForm(formdata=None, meta={"csrf": False}), session=session, actor=actor
    )
    return list(blank.place_id.choices or []), list(blank.source.choices or [])


def bind_signal_form(
    payload: dict[str, Any], *, session: Session, actor: Principal, strict: bool = True
) -> forms.SignalForm:
    form = form_from_payload(forms.SignalForm, payload, strict=strict)
    form.place_id.choices = list(
        batch_memo(
            ("signal_form", actor.user_id),
            lambda: (
                forms.prepare_signal_form(
                    forms.SignalForm(formdata=None, meta={"csrf": False}),
                    session=session,
                    actor=actor,
                ).place_id.choices
                or []
            ),
        )
    )
    return form


def receive_observation(
    *, session: Session, actor: Principal, payload: dict[str, Any], client_uuid: str, now: datetime
) -> tuple[int, bool]:
    """Validate like the online form, then store the observation once under its UUID."""
    form = bind_observation_form(payload, session=session, actor=actor)
    if not form.validate():
        raise InvalidInput(forms.form_errors(form))
    observation, created = services.file_observation(
        session=session,
        actor=actor,
        data=forms.observation_input(form),
        client_uuid=client_uuid,
        now=now,
    )
    assert observation.id is not None
    return observation.id, created


def receive_signal(
    *, session: Session, actor: Principal, payload: dict[str, Any], client_uuid: str, now: datetime
) -> tuple[int, bool]:
    """Validate like the online form, then store the signal once under its UUID."""
    form = bind_signal_form(payload, session=session, actor=actor)
    if not form.validate():
        raise InvalidInput(forms.form_errors(form))
    signal, created = services.send_place_signal(
        session=session,
        actor=actor,
        data=forms.signal_input(form),
        client_uuid=client_uuid,
        now=now,
    )
    assert signal.id is not None
    return signal.id, created


PLACE_OBSERVATION = declare(
    RecordKind(
        name="place_observation",
        label=_l("Place observation"),
        roles=frozenset(services.OBSERVERS),
        store=receive_observation,
        model=PlaceObservation,
        author="author_id",
        correct="picture.new_observation",
    )
)
PLACE_SIGNAL = declare(
    RecordKind(
        name="place_signal",
        label=_l("Place signal"),
        roles=frozenset(services.SIGNALLERS),
        store=receive_signal,
        model=PlaceObservation,
        author="author_id",
        correct="picture.signal",
        free_text=frozenset(),
    )
)
