"""The correction of a held record in its kind's own form: filled from what arrived, with the
reasons on the fields, and settled when the corrected record is stored."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_login import current_user
from flask_wtf import FlaskForm

from interrupters.db import get_session
from interrupters.forms import formdata_of
from interrupters.records.models import HeldRecord
from interrupters.records.services import open_held, resolve_held, shown_errors

# A service names the location's parts; the form has one select for them.
_FIELD = {"area_id": "location", "place_id": "location"}


def _bounded_id(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else None


def held_to_correct(kind: str) -> HeldRecord | None:
    """The signed-in author's held record of `kind` named by ?held=, while it needs correction."""
    return open_held(
        session=get_session(),
        actor=current_user,
        held_id=_bounded_id(request.args.get("held")),
        kind=kind,
    )


def show_errors(form: FlaskForm, errors: dict[str, Any]) -> None:
    """Put reasons on their fields; one without a field of its own goes on the first field."""
    fields = [field for field in form if field.type not in ("HiddenField", "CSRFTokenField")]
    for name, message in errors.items():
        field = getattr(form, _FIELD.get(name, name), None)
        if field is None or field.type in ("HiddenField", "CSRFTokenField"):
            field = fields[0] if fields else None
        if field is not None:
            field.errors = [*list(field.errors or []), str(message)]


def fill_from_held(form: FlaskForm, held: HeldRecord) -> FlaskForm:
    """The form as the record arrived (its choices already set), marked as its correction."""
    form.process(formdata_of(held.payload))
    form.held_id.data = str(held.id)
    form.client_uuid.data = ""  # the corrected record is a new one: a new UUID at submit
    show_errors(form, shown_errors(held.errors))
    return form


def settle_correction(form: FlaskForm, *, resolved_as: int | None, created: bool) -> None:
    """After the form's record is stored: the held record it corrects is done."""
    held_id = _bounded_id(form.held_id.data)
    if created and held_id is not None and resolved_as is not None:
        resolve_held(
            session=get_session(), actor=current_user, held_id=held_id, resolved_as=resolved_as
        )
