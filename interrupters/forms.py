"""Form pieces several domains share."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Generic, TypeVar

from babel.support import NullTranslations, Translations
from flask import current_app, has_request_context, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.i18n import translations as flask_wtf_translations
from sqlmodel import Session
from werkzeug.datastructures import MultiDict
from wtforms import (
    DateField,
    DateTimeField,
    DateTimeLocalField,
    Form,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    ValidationError,
    widgets,
)
from wtforms.fields import Field
from wtforms.fields.choices import SelectChoice
from wtforms.form import BaseForm
from wtforms.i18n import messages_path
from wtforms.utils import unset_value
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NoneOf,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
)

from interrupters.errors import InvalidInput
from interrupters.places.models import Place
from interrupters.places.services import areas_with_places
from interrupters.records import batch_get


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes for a multiple choice (rendered as chips)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def options(pairs: Any, optgroup: str | None = None) -> list[SelectChoice]:
    """Turn (value, label) pairs into WTForms choices (tuples are deprecated in WTForms 3.3)."""
    return [
        SelectChoice(value=str(value), label=label, optgroup=optgroup) for value, label in pairs
    ]


def blank(choices: list[SelectChoice], label: Any = "—") -> list[SelectChoice]:
    """Prepend an empty choice for an optional select."""
    return [SelectChoice(value="", label=label), *choices]


def location_choices(*, session: Session) -> list[SelectChoice]:
    """Places grouped by area, and "elsewhere in <area>" for each: "place:<id>" or "area:<id>"."""
    choices: list[SelectChoice] = []
    for group in areas_with_places(session=session):
        pairs = [(f"place:{p.id}", p.name) for p in group.places]
        pairs.append((f"area:{group.area.id}", _("Elsewhere in %(area)s", area=group.area.name)))
        choices += options(pairs, optgroup=f"{group.area.name} · {group.district.name}")
    return choices


def location_value(area_id: int | None, place_id: int | None) -> str | None:
    """The location select's value for an area and place."""
    if place_id is not None:
        return f"place:{place_id}"
    if area_id is not None:
        return f"area:{area_id}"
    return None


def parse_location(value: str, *, session: Session) -> tuple[int, int | None]:
    """(area_id, place_id) of a location select's value."""
    kind, _sep, raw = (value or "").partition(":")
    if not raw.isdigit():
        raise InvalidInput({"location": _l("Choose a place.")})
    if kind == "place":
        place = batch_get(session, Place, int(raw))
        if place is None:
            raise InvalidInput({"location": _l("Choose a place.")})
        return place.area_id, place.id
    return int(raw), None


FormT = TypeVar("FormT", bound=Form)


def form_from_payload(
    form_class: type[FormT], payload: dict[str, Any], *, strict: bool = True
) -> FormT:
    """A record's form filled from an outbox payload, without CSRF (the request had it).

    Strict (receiving a record): a list where the form takes one value is refused, since the
    form would quietly take the first. Not strict: a held record shown for correction.
    """
    form = form_class(formdata=formdata_of(payload), meta={"csrf": False})
    if strict:
        _refuse_lists(form, payload)
    return form


def formdata_of(payload: dict[str, Any]) -> MultiDict[str, str]:
    """An outbox payload (the form's own field names; lists for repeated ones) as form data."""
    data: MultiDict[str, str] = MultiDict()
    for key, value in payload.items():
        for item in _raw_values(value):
            data.add(key, item)
    return data


def _raw_values(value: Any) -> list[str]:
    """A payload value as the strings a form posting it would send."""
    return [
        "" if item is None else str(item)
        for item in (value if isinstance(value, list) else [value])
    ]


# Validating many records with one form class ---------------------------------------------

_SELECT_PRE_VALIDATE = SelectField.pre_validate
_MULTIPLE_PRE_VALIDATE = SelectMultipleField.pre_validate


class PreparedForm(Generic[FormT]):
    """A form with its choices filled once, that validates payload after payload.

    Building a WTForms form binds every field anew (labels, translations, validators): most
    of what checking one synced record cost (issue 8). A prepared form is built once a batch;
    each payload gets a copy of its bound fields (no binding), processed and validated by the
    fields' and validators' own code, so the answers and messages are the form's own. Only the
    choice check is faster: the acceptable values are a set made once, not a list walked per
    record; it answers as WTForms' `pre_validate` does, word for word, and steps aside (to the
    field's own) whenever a copy's choices were changed. WTForms' own messages come from the
    same catalogue as Flask-WTF's, read once a process instead of once a request, and each
    field's fixed default is processed once, not once a payload (see `_processed_default`).
    """

    def __init__(self, form: FormT) -> None:
        self.form = form
        self._fast: dict[str, Any] = {}
        for name, field in form._fields.items():
            if field._translations is flask_wtf_translations:
                field._translations = _WTFORMS_TRANSLATIONS
            check = _fast_choice_check(field)
            if check is not None:
                self._fast[name] = check
        # Each field's default as WTForms processes it before reading the input: the same for
        # every payload, so processed once here (None: the form or a field processes itself).
        self._defaults: dict[str, tuple[Any, Any]] | None = None
        if type(form).process is BaseForm.process and not any(
            hasattr(form, f"filter_{name}") for name in form._fields
        ):
            self._defaults = {}
            for name, field in form._fields.items():
                state = _processed_default(field)
                if state is not None:
                    self._defaults[name] = state
        # Fields whose chain starts with Optional: a copy answers their empty input at once
        # (see `_quick_optional`), unless the form validates in its own way.
        self._class: type[FormT] = type(form)
        self._optional: dict[str, Optional] = {}
        if _validates_plainly(form):
            self._optional = {
                name: field.validators[0]
                for name, field in form._fields.items()
                if _answered_by_optional(field)
            }
            if self._optional:
                self._class = _quick_optional(type(form))
        self._reading = _quick_reading(form, self._defaults)

    def valid_data(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The fields' data, as `fill(payload).data` after a successful `validate()`, for a
        payload the form plainly accepts; None whenever the form itself must read it (any
        error, any input but the plain one, a form or field this does not know).

        Most of what a phone sends is a valid record in the form's own format: its fields
        are read here without copying, processing and validating the form field by field
        (issue 8). The values are parsed only where their plain format makes the parse
        certain (an ISO date, a plain integer), and checked by the fields' own validators;
        `tests/test_prepared_form.py` compares the answers with the form's, for every form.
        """
        if self._reading is None:
            return None
        try:
            return {
                name: field.read(payload.get(field.key, _ABSENT))
                for name, field in self._reading.items()
            }
        except _Unsure:
            return None

    def fill(self, payload: dict[str, Any], *, strict: bool = True) -> FormT:
        """What `form_from_payload(form_class, payload, strict=strict)` gives, these choices."""
        form = self.copy()
        if self._defaults is None:
            form.process(formdata_of(payload))
        else:
            self._process(form, formdata_of(payload))
        if strict:
            _refuse_lists(form, payload)
        return form

    def _process(self, form: FormT, formdata: MultiDict[str, str]) -> None:
        """`form.process(formdata)` (WTForms' BaseForm.process and Field.process, step by
        step), each field's processed default taken from `_defaults` (issue 8)."""
        assert self._defaults is not None
        formdata = form.meta.wrap_formdata(form, formdata)
        for name, field in form._fields.items():
            state = self._defaults.get(name)
            if state is None:
                field.process(formdata, unset_value, extra_filters=[])
                continue
            field.object_data, data = state
            field.process_errors = []
            field.data = list(data) if type(data) is list else data
            field.raw_data = formdata.getlist(field.name) if field.name in formdata else []
            try:
                field.process_formdata(field.raw_data)
            except ValueError as error:
                field.process_errors.append(error.args[0])
            try:
                for keep in field.filters:
                    field.data = keep(field.data)
            except ValueError as error:
                field.process_errors.append(error.args[0])
        if form._parent_form is None:
            form.post_process(formdata)

    def copy(self) -> FormT:
        """A fresh form of the prepared one (its fields unprocessed copies)."""
        template = self.form
        form: FormT = object.__new__(self._class)
        form.__dict__.update(template.__dict__)
        form.__dict__["_optional_fields"] = self._optional
        fields: dict[str, Any] = {}
        for name, field in template._fields.items():
            twin = object.__new__(type(field))
            twin.__dict__.update(field.__dict__)
            check = self._fast.get(name)
            if check is not None:
                twin.pre_validate = check.__get__(twin)
            fields[name] = twin
            form.__dict__[name] = twin
        form._fields = fields
        form.form_errors = []
        form.__dict__.pop("_errors", None)
        return form


@cache
def _wtforms_catalogue(locale: str) -> NullTranslations:
    return Translations.load(messages_path(), [locale], domain="wtforms")


class _WTFormsTranslations:
    """Flask-WTF's translations of WTForms' own messages (flask_wtf.i18n): the catalogue of
    the request's locale, kept on the request as Flask-WTF keeps it, so a prepared form and
    a form built in the same request speak alike. Only each locale's catalogue is read from
    disk once a process, not once a request (issue 8: a sync request read it for one
    message a record, which Optional then cleared)."""

    @staticmethod
    def _catalogue() -> NullTranslations | None:
        if not has_request_context() or "babel" not in current_app.extensions:
            return None
        found: NullTranslations | None = getattr(request, "wtforms_translations", None)
        if found is None:
            found = _wtforms_catalogue(str(get_locale()))
            request.wtforms_translations = found  # type: ignore[attr-defined]
        return found

    def gettext(self, string: str) -> str:
        catalogue = self._catalogue()
        return string if catalogue is None else catalogue.ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        catalogue = self._catalogue()
        if catalogue is None:
            return singular if n == 1 else plural
        return catalogue.ungettext(singular, plural, n)


_WTFORMS_TRANSLATIONS = _WTFormsTranslations()


# Values a processed default may hold and every payload share: they cannot be changed.
_IMMUTABLE = (type(None), str, int, float, bool, date, datetime, Decimal)


def _processed_default(field: Any) -> tuple[Any, Any] | None:
    """(object_data, data) of a field once WTForms' Field.process has processed its
    default, or None where that must be done for each payload: a field with its own
    `process`, a default made per call (a callable) or refused (its message), a
    `process_data` that changes more than `data`, or data that is not an immutable value
    (or a list of them)."""
    if type(field).process is not Field.process or callable(field.default):
        return None
    scratch = object.__new__(type(field))
    scratch.__dict__.update(field.__dict__)
    scratch.process_errors = []
    scratch.__dict__.pop("data", None)  # the template's, from building it
    before = dict(scratch.__dict__)
    try:
        scratch.process_data(field.default)
    except ValueError:
        return None  # its message in the language of each payload's request
    changed = {
        key
        for key, value in scratch.__dict__.items()
        if key not in before or value is not before[key]
    }
    data = scratch.__dict__.get("data", unset_value)
    values = data if type(data) is list else [data]
    if not changed <= {"data"} or "data" not in changed:
        return None
    if not all(isinstance(value, _IMMUTABLE) for value in values):
        return None
    return field.default, data


def _validates_plainly(form: Form) -> bool:
    """Whether the form's `validate` is WTForms' own, with no `validate_<field>` of its own
    (then each field's `validate` is all there is to it)."""
    return type(form).validate is Form.validate and not any(
        hasattr(type(form), f"validate_{name}") for name in form._fields
    )


# pre_validate of these never stops the chain (they raise ValidationError, or nothing), so
# Optional, first in the chain, always runs.
_PRE_VALIDATES = (Field.pre_validate, _SELECT_PRE_VALIDATE, _MULTIPLE_PRE_VALIDATE)


def _answered_by_optional(field: Any) -> bool:
    return (
        bool(field.validators)
        and type(field.validators[0]) is Optional
        and type(field).pre_validate in _PRE_VALIDATES
        and type(field).validate is Field.validate
    )


def _empty_for(optional: Optional, raw_data: Any) -> bool:
    """Optional's own test of an empty input (whitespace counts as empty unless it says not)."""
    return not raw_data or (isinstance(raw_data[0], str) and not optional.string_check(raw_data[0]))


_QUICK: dict[type[Any], type[Any]] = {}


def _quick_optional(form_class: type[FormT]) -> type[FormT]:
    """The form class whose copies' `validate` answers an empty optional field at once.

    WTForms would check the field's choice, then Optional, first in its chain, would clear
    every error and stop the chain: the field ends with no errors, and its post-validation
    sees the chain stopped. That is what it is given here, without the exception Optional
    raises: in a synced record most fields are empty optional ones (issue 8). Every other
    field validates itself, with its own answers and messages.
    """

    def validate(self: Any, extra_validators: Any = None) -> bool:
        if extra_validators:
            return form_class.validate(self, extra_validators)
        quick: dict[str, Optional] = self._optional_fields
        success = True
        for name, field in self._fields.items():
            optional = quick.get(name)
            if optional is not None and _empty_for(optional, field.raw_data):
                field.errors = []
                field.post_validate(self, True)
            elif not field.validate(self):
                success = False
        return success

    if form_class not in _QUICK:  # one class a form class, made once a process
        quick = type(form_class.__name__, (form_class,), {"validate": validate})
        quick.__module__ = form_class.__module__
        _QUICK[form_class] = quick
    return _QUICK[form_class]


def _fast_choice_check(field: Any) -> Any:
    """A set-based `pre_validate` for a select with fixed choices, or None to keep WTForms'."""
    kind = type(field).pre_validate
    if kind not in (_SELECT_PRE_VALIDATE, _MULTIPLE_PRE_VALIDATE):
        return None
    acceptable = _acceptable(field)
    if acceptable is None:
        return None
    choices = field._choices
    own = kind

    def single(self: Any, form: Any) -> None:
        if self._choices is not choices or self.process_errors or not self.validate_choice:
            return own(self, form)
        try:
            found = self.data in acceptable
        except TypeError:  # unhashable data: WTForms compares with ==
            return own(self, form)
        if not found:
            raise ValidationError(
                self.invalid_choice_message or self.gettext("Not a valid choice.")
            )
        return None

    def multiple(self: Any, form: Any) -> None:
        if self._choices is not choices or self.process_errors:
            return own(self, form)
        if not self.validate_choice or not self.data:
            return None
        try:
            if all(value in acceptable for value in self.data):
                return None
        except TypeError:
            return own(self, form)
        return own(self, form)  # the message names the values: WTForms' own words

    return single if kind is _SELECT_PRE_VALIDATE else multiple


def _acceptable(field: Any) -> frozenset[Any] | None:
    """The values a select with fixed choices accepts, or None (choices made per call)."""
    if getattr(field, "_choices_callable", None) is not None or field.choices is None:
        return None
    try:
        return frozenset(
            field.coerce(choice.value) for choice in field._choices_from_input(field._choices) or []
        )
    except (TypeError, ValueError):
        return None


def _refuse_lists(form: Form, payload: dict[str, Any]) -> None:
    errors = {
        name: _l("Choose one.")
        for name, value in payload.items()
        if isinstance(value, list)
        and len(value) != 1
        and name in form
        and not isinstance(form[name], SelectMultipleField)
    }
    if errors:
        raise InvalidInput(errors)


# A valid record's data without the form ----------------------------------------------


class _Unsure(Exception):
    """The quick reading cannot tell: the form reads the payload itself."""


_ABSENT: Any = object()
_PLAIN_INTEGER = re.compile(r"-?[0-9]{1,18}\Z")
_ISO_MINUTE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}\Z")
# Format lists in which only "%Y-%m-%dT%H:%M" reads a plain ISO minute (the second is
# DateTimeLocalField's default: the formats before it need seconds or a space).
_MINUTE_FORMATS = (
    ["%Y-%m-%dT%H:%M"],
    ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"],
)
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
# Validators whose check reads only the field's data and raw data (and words on failure).
_PLAIN_VALIDATORS = (DataRequired, InputRequired, Regexp, NumberRange, Length, AnyOf, NoneOf)


def _same(value: str) -> str:
    return value


def _integer(value: str) -> int:
    if not _PLAIN_INTEGER.match(value):
        raise _Unsure
    return int(value)


def _plain_iso(pattern: re.Pattern[str], convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """What strptime makes of a value in its plain ISO form (`pattern`), and nothing else."""

    def parse(value: str) -> Any:
        if not pattern.match(value):
            raise _Unsure
        try:
            return convert(value)
        except ValueError:  # 30 February, hour 24: the field's own message
            raise _Unsure from None

    return parse


# "%Y-%m-%dT%H:%M" and "%Y-%m-%d", for their plain ISO form alone.
_minute = _plain_iso(_ISO_MINUTE, datetime.fromisoformat)
_day = _plain_iso(_ISO_DAY, date.fromisoformat)


def _parser(field: Any) -> Callable[[str], Any] | None:
    """How one raw value becomes the field's data, or None for a field read otherwise."""
    reads = type(field).process_formdata
    if reads is StringField.process_formdata:
        return _same
    if reads is IntegerField.process_formdata:
        return _integer
    if reads is DateTimeLocalField.process_formdata and field.tz is not None:
        return None  # a zone to attach: read by the field
    if reads in (DateTimeField.process_formdata, DateTimeLocalField.process_formdata) and (
        field.strptime_format in _MINUTE_FORMATS
    ):
        return _minute
    if reads is DateField.process_formdata and field.strptime_format == ["%Y-%m-%d"]:
        return _day
    if reads in (SelectField.process_formdata, SelectMultipleField.process_formdata):
        if field.coerce is str:
            return _same
        if field.coerce is int:
            return _integer
    return None


class _Checked:
    """What a validator sees of a field: its data and raw data (words only on failure)."""

    __slots__ = ("data", "errors", "raw_data")

    def __init__(self, data: Any, raw_data: list[str]) -> None:
        self.data, self.raw_data = data, raw_data
        self.errors: list[str] = []

    @staticmethod
    def gettext(string: str) -> str:
        return string

    @staticmethod
    def ngettext(singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural


@dataclass(frozen=True)
class _QuickField:
    key: str  # the payload's name for it
    parse: Callable[[str], Any]
    multiple: bool
    optional: bool  # the chain starts with Optional
    absent: tuple[Any, bool]  # (data, a processing error) when the payload leaves it out
    blank: tuple[Any, bool]  # ... when it is ""
    acceptable: frozenset[Any] | None  # the choice check, if any
    validators: tuple[Any, ...]  # the rest of the chain, each a plain one

    def read(self, value: Any) -> Any:
        if type(value) is list and not self.multiple and len(value) != 1:
            raise _Unsure  # the form refuses it (strict), or takes the first
        raw = [] if value is _ABSENT else _raw_values(value)
        if not raw or raw == [""]:
            data, refused = self.absent if not raw else self.blank
            if self.optional:
                return list(data) if type(data) is list else data  # Optional ends the chain
            if refused:
                raise _Unsure
        else:
            if self.optional and not raw[0].strip():
                raise _Unsure  # blank but for whitespace: Optional's own reading
            data = [self.parse(item) for item in raw] if self.multiple else self.parse(raw[0])
        if self.acceptable is not None:
            values = data if self.multiple else [data]
            if any(item not in self.acceptable for item in values):
                raise _Unsure
        checked = _Checked(data, raw)
        for validator in self.validators:
            try:
                validator(None, checked)
            except (ValueError, TypeError, StopValidation):  # refused: the form says how
                raise _Unsure from None
        return list(data) if type(data) is list else data


def _quick_reading(
    form: Form, defaults: dict[str, tuple[Any, Any]] | None
) -> dict[str, _QuickField] | None:
    """Each field's quick reading, or None when any field of the form is not plainly read."""
    if defaults is None or not _validates_plainly(form) or form._prefix:
        return None
    reading: dict[str, _QuickField] = {}
    for name, field in form._fields.items():
        quick = _quick_field(field, defaults.get(name))
        if quick is None:
            return None
        reading[name] = quick
    return reading


def _quick_field(field: Any, default: tuple[Any, Any] | None) -> _QuickField | None:
    parse = _parser(field)
    kind = type(field)
    if (
        parse is None
        or default is None
        or field.filters
        or kind.validate is not Field.validate
        or kind.post_validate is not Field.post_validate
        or kind.pre_validate not in _PRE_VALIDATES
    ):
        return None
    validators = list(field.validators)
    optional = bool(validators) and type(validators[0]) is Optional
    rest = validators[1:] if optional else validators
    if not all(type(validator) in _PLAIN_VALIDATORS for validator in rest):
        return None
    acceptable = None
    if kind.pre_validate is not Field.pre_validate and field.validate_choice:
        acceptable = _acceptable(field)
        if acceptable is None:
            return None
    return _QuickField(
        key=field.name,
        parse=parse,
        multiple=kind.process_formdata is SelectMultipleField.process_formdata,
        optional=optional,
        absent=_processed(field, None),
        blank=_processed(field, [""]),
        acceptable=acceptable,
        validators=tuple(rest),
    )


def _processed(field: Any, raw: list[str] | None) -> tuple[Any, bool]:
    """(data, whether processing refused it) of the field given `raw` (None: left out), as
    WTForms' own Field.process leaves it."""
    scratch = object.__new__(type(field))
    scratch.__dict__.update(field.__dict__)
    scratch.__dict__.pop("data", None)
    formdata: MultiDict[str, str] = MultiDict()
    for item in raw or []:
        formdata.add(field.name, item)
    scratch.process(formdata)
    return scratch.data, bool(scratch.process_errors)
