"""The contact as a record a phone sends: declared once, read by sync and the correction."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import literal, union_all
from sqlmodel import Session, col, select
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
from interrupters.participants.services import CASE_ROLES
from interrupters.places.models import Area, Place
from interrupters.records import (
    RecordKind,
    batch_keep_loaded,
    batch_memo,
    declare,
    in_batch,
    stored_row,
)


def _keep_choice(field: SelectField, value: str | None) -> None:
    """Add `value` to a select's choices."""
    choices = list(field.choices or [])
    if value and all(choice.value != value for choice in choices):
        field.choices = [*choices, SelectChoice(value=value, label=value)]


# The prepared contact form of each (organisations, language), kept by the worker process
# across requests with the choice values it was built with: a batch reads only the values
# (one light query) and builds the form again only when they changed (a place added or
# retired), on this host or another. The participant is not a checked choice (the service
# checks it), so the form's participants, one worker's list, do not matter to a batch.
_KEPT: dict[tuple[Any, ...], tuple[tuple[Any, ...], PreparedForm[ContactForm]]] = {}
_KEPT_AT_MOST = 64
_KEPT_LOCK = threading.Lock()


# Built once: building the statement cost more than running it (issue 8).
_CHOICE_VALUES = union_all(
    select(literal("place"), col(Place.id)).where(col(Place.active).is_(True)),
    select(literal("area"), col(Area.id)),
)


def _choice_values(*, session: Session) -> tuple[Any, ...]:
    """What the contact form's checked choices accept, as `prepare_contact_form` fills them:
    the active places and the areas (their values only: a batch's form is never shown)."""
    return tuple(sorted(tuple(row) for row in session.execute(_CHOICE_VALUES)))


def _build_form(*, session: Session, actor: Principal) -> PreparedForm[ContactForm]:
    return PreparedForm(
        prepare_contact_form(
            ContactForm(formdata=None, meta={"csrf": False}), session=session, actor=actor
        )
    )


def prepared_form(*, session: Session, actor: Principal) -> PreparedForm[ContactForm]:
    """The contact form with the actor's choices (places, the caseload).

    In a receiving batch: once a batch, and the same form for the next batches of this
    process while the choices' values are unchanged (see _KEPT). Outside a batch (a held
    record shown for correction, with its labels): built afresh.
    """
    if not in_batch():
        return _build_form(session=session, actor=actor)

    def kept() -> PreparedForm[ContactForm]:
        key = (tuple(sorted(actor.organisations(*CASE_ROLES))), str(get_locale()))
        values = _choice_values(session=session)
        found = _KEPT.get(key)
        if found is not None and found[0] == values:
            return found[1]
        form = _build_form(session=session, actor=actor)
        with _KEPT_LOCK:
            if len(_KEPT) >= _KEPT_AT_MOST:
                _KEPT.clear()
            _KEPT[key] = (values, form)
        return form

    return batch_memo(("contact_form", actor.user_id), kept)


def bind_form(
    payload: dict[str, Any],
    *,
    session: Session,
    actor: Principal,
    stored: Contact | None = None,
    strict: bool = False,
    prepared: PreparedForm[ContactForm] | None = None,
) -> ContactForm:
    """The contact form filled from an outbox payload (the form's own field names).

    For a contact already stored under the record's UUID, the place and participant it was
    stored with stay valid choices: a replay must not become "needs correction" because the
    place was removed or the participant exited after the first delivery was committed.
    """
    # The choices come from the database: read once a batch, not once a record; each
    # payload gets its own copy of the form (its choices may grow below, the batch's never).
    prepared = prepared or prepared_form(session=session, actor=actor)
    form = prepared.fill(payload, strict=strict)
    # In a batch, every record looks its place, area and participant up again (the form, the
    # service): the rows loaded are kept referenced, and come from the session instead of a
    # query each time.
    batch_keep_loaded(session)
    if stored is not None:
        _keep_choice(form.location, location_value(stored.area_id, stored.place_id))
    if not in_batch():
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
    prepared = prepared_form(session=session, actor=actor)
    if stored is None:
        # A valid record in the form's own format is read without filling the form: the same
        # data, a seventh of the time (issue 8). Anything else is read by the form below.
        fields = prepared.valid_data(payload)
        if fields is not None:
            batch_keep_loaded(session)
            return contact_input(fields, session=session)
    form = bind_form(
        payload, session=session, actor=actor, stored=stored, strict=True, prepared=prepared
    )
    try:
        if not form.validate():
            raise InvalidInput(form_errors(form))
        return contact_input(form.data, session=session)
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
        inserted=services.note_contacts,
        model=Contact,
        author="worker_id",
        correct="contacts.new",
    )
)
