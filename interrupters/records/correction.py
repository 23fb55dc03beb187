"""A record kind's online form: its record submitted through the kind's declaration (as sync
takes a phone's), and the correction of a held record in it: filled from what arrived, with
the reasons on the fields, and settled when the corrected record is stored."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField

from interrupters.db import get_session
from interrupters.forms import formdata_of
from interrupters.records import RecordKind
from interrupters.records.models import HeldRecord
from interrupters.records.services import Submitted, open_held, shown_errors, submit

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


def form_payload(form: FlaskForm) -> dict[str, Any]:
    """The posted form as a phone's outbox sends it (outbox-form.js `payloadOf`): the form's
    fields that were posted, but the CSRF token and the UUID; lists for repeated ones."""
    payload: dict[str, Any] = {}
    for name, field in form._fields.items():
        values = request.form.getlist(field.name)
        if name in ("csrf_token", "client_uuid") or not values:
            continue
        multiple = isinstance(field, SelectMultipleField) or len(values) > 1
        payload[name] = values if multiple else values[0]
    return payload


def submit_form(kind: RecordKind, form: FlaskForm, **fixed: str) -> Submitted:
    """The posted form's record through its kind's declaration, as sync takes a phone's:
    the role, the create-once check, the kind's store, the held record it corrects settled.

    `fixed`: fields the page itself names (the conflict in its URL) over what was posted.
    Not stored: the reasons are on the form's fields, and its UUID is cleared (a new one
    at the next submit). The caller commits.
    """
    uuid_field = form.client_uuid
    if uuid_field.validate(form):
        result = submit(
            session=get_session(),
            actor=current_user,
            kind=kind,
            payload={**form_payload(form), **fixed},
            client_uuid=uuid_field.data or None,
        )
    else:
        result = Submitted(errors={"client_uuid": " ".join(map(str, uuid_field.errors))})
    if result.errors is not None:
        show_errors(form, result.errors)
        uuid_field.data = ""
    return result
