"""The contact as a record a phone sends: declared once, read by sync and the correction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlmodel import Session
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from interrupters.auth.principal import Principal
from interrupters.contacts import services
from interrupters.contacts.forms import (
    ContactForm,
    contact_input,
    form_errors,
    prepare_contact_form,
)
from interrupters.contacts.models import Contact
from interrupters.errors import DuplicateRecord, InvalidInput
from interrupters.forms import PreparedForm, location_value
from interrupters.participants.models import Participant
from interrupters.places.services import areas_with_places
from interrupters.records import RecordKind, batch_keep, batch_memo, declare, stored_row


def _keep_choice(field: SelectField, value: str | None) -> None:
    """Add `value` to a select's choices."""
    choices = list(field.choices or [])
    if value and all(choice.value != value for choice in choices):
        field.choices = [*choices, SelectChoice(value=value, label=value)]


def prepared_form(*, session: Session, actor: Principal) -> PreparedForm[ContactForm]:
    """The contact form with the actor's choices (places, the caseload): once a batch."""
    return batch_memo(
        ("contact_form", actor.user_id),
        lambda: PreparedForm(
            prepare_contact_form(
                ContactForm(formdata=None, meta={"csrf": False}), session=session, actor=actor
            )
        ),
    )


def bind_form(
    payload: dict[str, Any],
    *,
    session: Session,
    actor: Principal,
    stored: Contact | None = None,
    strict: bool = False,
) -> ContactForm:
    """The contact form filled from an outbox payload (the form's own field names).

    For a contact already stored under the record's UUID, the place and participant it was
    stored with stay valid choices: a replay must not become "needs correction" because the
    place was removed or the participant exited after the first delivery was committed.
    """
    # The choices come from the database: read once a batch, not once a record; each
    # payload gets its own copy of the form (its choices may grow below, the batch's never).
    form = prepared_form(session=session, actor=actor).fill(payload, strict=strict)
    # In a batch, every record looks its place and area up again (the form, the service):
    # kept referenced, they come from the session instead of a query each time.
    batch_keep("contact_places", lambda: areas_with_places(session=session, active_only=False))
    if stored is not None:
        _keep_choice(form.location, location_value(stored.area_id, stored.place_id))
    _show_participant(form, session=session)
    return form


def _show_participant(form: ContactForm, *, session: Session) -> None:
    """A participant the form does not offer (a colleague's) shown by its code when chosen."""
    value = form.participant_id.data
    choices = list(form.participant_id.choices or [])
    if not value or not str(value).isdigit() or any(c.value == value for c in choices):
        return
    participant = session.get(Participant, int(value))
    if participant is not None:
        form.participant_id.choices = [*choices, SelectChoice(value=value, label=participant.code)]


def _checked(
    payload: dict[str, Any], *, session: Session, actor: Principal, stored: Contact | None
) -> services.ContactInput:
    """The service's input from a payload, checked as the online form checks it."""
    form = bind_form(payload, session=session, actor=actor, stored=stored, strict=True)
    try:
        if not form.validate():
            raise InvalidInput(form_errors(form))
        return contact_input(form, session=session)
    except InvalidInput:
        if stored is not None:
            # The stored record passed these checks: this content is not the same record.
            raise DuplicateRecord() from None
        raise


def receive_contact(
    *,
    session: Session,
    actor: Principal,
    payload: dict[str, Any],
    client_uuid: str,
    now: datetime,
) -> tuple[int, bool]:
    """Validate like the online form, then log the contact once under its UUID.

    A UUID already stored is never held: it is the same record again (replayed) or another
    record under a known UUID (a conflict), whatever changed on the server since.
    """
    stored = stored_row(session=session, model=Contact, client_uuid=client_uuid)
    if stored is not None and stored.worker_id != actor.user_id:
        raise DuplicateRecord()
    data = _checked(payload, session=session, actor=actor, stored=stored)
    contact, created = services.log_contact(
        session=session, actor=actor, data=data, client_uuid=client_uuid, now=now
    )
    assert contact.id is not None
    return contact.id, created


def prepare_contact(
    *,
    session: Session,
    actor: Principal,
    payload: dict[str, Any],
    client_uuid: str,
    now: datetime,
) -> dict[str, Any]:
    """The columns of the contact a new UUID's payload becomes, checked as `receive_contact`
    checks it, not yet stored: a batch inserts its new contacts together."""
    data = _checked(payload, session=session, actor=actor, stored=None)
    return services.new_contact(
        session=session, actor=actor, data=data, client_uuid=client_uuid, now=now
    )


CONTACT = declare(
    RecordKind(
        name="contact",
        label=_l("Contact"),
        roles=frozenset(services.LOG_ROLES),
        store=receive_contact,
        prepare=prepare_contact,
        model=Contact,
        author="worker_id",
        correct="contacts.new",
    )
)
