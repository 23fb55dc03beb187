"""A prepared form answers every payload exactly as a form built for it (issue 8, speed).

The sync endpoint validates a batch's records with one prepared form a kind (its choices
filled once, its fields copied per record) instead of building the form per record. Whatever
the payload, the data, the errors and their words must be the form's own: generated payloads
for every record form are checked against a freshly built form, in Swedish and in English.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from typing import Any

import pytest
from babel.support import Translations
from flask import Flask
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wtforms import (
    DateField,
    DateTimeField,
    Form,
    IntegerField,
    SelectFieldBase,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import Length, Optional, Regexp

from interrupters.briefings.forms import AcknowledgeForm
from interrupters.conflicts.forms import (
    CommunityResponseForm,
    ConflictForm,
    ConflictUpdateForm,
    IncidentForm,
    MediationForm,
)
from interrupters.contacts.forms import ContactForm
from interrupters.errors import InvalidInput
from interrupters.forms import PreparedForm, form_from_payload, options
from interrupters.referrals.forms import ReferralForm, ReferralUpdateForm
from interrupters.walks.forms import WalkReportForm

FORMS: list[type[Form]] = [
    ContactForm,
    ConflictForm,
    ConflictUpdateForm,
    MediationForm,
    IncidentForm,
    CommunityResponseForm,
    WalkReportForm,
    AcknowledgeForm,
    ReferralForm,
    ReferralUpdateForm,
]
# The choices the database would give (places, participants, walks): the same for both.
DYNAMIC = options([("place:1", "Torget"), ("area:2", "Elsewhere"), ("7", "P-007"), ("", "—")])
EXAMPLES = int(os.environ.get("PREPARED_FORM_EXAMPLES", "100"))

TEXT = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "7",
            "007",
            "-1",
            "0",
            "2",
            "501",
            "99999999999999999999",
            "1.5",
            "place:1",
            "area:2",
            "area:999",
            "2026-11-20T21:15",
            "2026-11-20 21:15",
            "2026-11-20T21:15:30",
            "2026-11-20",
            "2026-02-30",
            "0001-01-01",
            "9999-12-31",
            "y",
            "true",
            "on",
            "1e3",
            "x" * 300,
            "\u00e5\u00e4\u00f6",
        ]
    ),
    st.text(max_size=12),
)
SCALAR = st.one_of(TEXT, st.none(), st.integers(-5, 600), st.booleans())
VALUE = st.one_of(SCALAR, st.lists(SCALAR, max_size=4))


def _with_choices(form: Form) -> Form:
    for field in form:
        if isinstance(field, SelectFieldBase) and field.choices is None:
            field.choices = list(DYNAMIC)
    return form


@st.composite
def payloads(draw: Any, form_class: type[Form]) -> dict[str, Any]:
    names = list(form_class(formdata=None, meta={"csrf": False})._fields)
    template = _with_choices(form_class(formdata=None, meta={"csrf": False}))
    payload: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from([*names, "unknown"]), unique=True)):
        field = template._fields.get(name)
        if isinstance(field, SelectFieldBase) and draw(st.booleans()):
            values = [c.value for c in field.choices or []] or ["x"]
            chosen = st.sampled_from(values)
            payload[name] = draw(st.one_of(chosen, st.lists(chosen, max_size=3)))
        else:
            payload[name] = draw(VALUE)
    return payload


# Values in the plain formats a phone's form sends, and near misses of them.
NEAR = st.sampled_from(
    ["", " ", "2026-02-30T10:00", "2026-11-20T24:00", "0000-01-01", "+5", "05", "1_000", "7"]
)
INTEGERS = st.integers(-3, 1500).map(str)
DAYS = st.dates().map(date.isoformat)
MINUTES = st.datetimes(min_value=datetime(1000, 1, 1)).map(lambda d: d.strftime("%Y-%m-%dT%H:%M"))
PLAIN = st.one_of(
    NEAR,
    INTEGERS,
    DAYS,
    MINUTES,
    st.from_regex(r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z"),
    st.text(max_size=300),
)


def _plain_for(field: Any) -> Any:
    for validator in field.validators:
        if isinstance(validator, Regexp):
            return st.from_regex(validator.regex, fullmatch=True)
        if isinstance(validator, Length):
            return st.text(min_size=max(validator.min, 0), max_size=max(validator.max, 0))
    if isinstance(field, IntegerField):
        return INTEGERS
    if isinstance(field, DateField):
        return DAYS
    if isinstance(field, DateTimeField):
        return MINUTES
    return PLAIN


@st.composite
def near_valid(draw: Any, form_class: type[Form]) -> dict[str, Any]:
    """A payload as a phone's form sends it: the fields in their plain formats and choices
    from the form's own, now and then left out, with a near miss or anything at all."""
    template = _with_choices(form_class(formdata=None, meta={"csrf": False}))
    noise = draw(st.sampled_from([0, 0, 10, 30]))  # percent of the fields not plainly given
    payload: dict[str, Any] = {}
    for name, field in template._fields.items():
        if draw(st.integers(0, 99)) < noise:
            how = draw(st.integers(0, 2))
            if how:
                payload[name] = draw(VALUE if how == 1 else st.one_of(NEAR, PLAIN))
        elif isinstance(field, SelectMultipleField):
            values = [c.value for c in field.choices or []]
            payload[name] = draw(st.lists(st.sampled_from(values), max_size=3))
        elif isinstance(field, SelectFieldBase):
            values = [c.value for c in field.choices or []]
            payload[name] = draw(st.sampled_from([value for value in values if value] or [""]))
        else:
            payload[name] = draw(_plain_for(field))
    return payload


PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _prepared(form_class: type[Form]) -> PreparedForm[Any]:
    return PreparedForm(_with_choices(form_class(formdata=None, meta={"csrf": False})))


def _typed(data: dict[str, Any]) -> dict[str, Any]:
    """Values with their types: 1 and True, or a date and a datetime, are not the same data."""
    return {
        name: [(type(item), item) for item in value]
        if type(value) is list
        else (type(value), value)
        for name, value in data.items()
    }


def _answers(make: Any) -> tuple[str, Any, Any]:
    try:
        form = make()
    except InvalidInput as refused:
        return "refused", {k: str(v) for k, v in refused.errors.items()}, None
    valid = form.validate()
    errors = {name: [str(m) for m in messages] for name, messages in form.errors.items()}
    return ("valid" if valid else "invalid"), errors, form.data


@pytest.mark.parametrize("form_class", FORMS, ids=lambda c: c.__name__)
def test_a_prepared_form_answers_as_the_form_itself(app: Flask, form_class: type[Form]) -> None:
    with app.test_request_context():
        for locale in ("sv", "en"):
            with force_locale(locale):
                prepared = _prepared(form_class)

                @PROPERTY
                @given(payloads(form_class), st.booleans())
                def check(payload: dict[str, Any], strict: bool) -> None:
                    def fresh() -> Form:
                        form = form_from_payload(form_class, payload, strict=strict)
                        return _with_choices(form)

                    expected = _answers(fresh)
                    # The same prepared form twice: nothing of one payload stays for the next.
                    assert _answers(lambda: prepared.fill(payload, strict=strict)) == expected
                    assert _answers(lambda: prepared.fill(payload, strict=strict)) == expected

                check()


@pytest.mark.parametrize("form_class", FORMS, ids=lambda c: c.__name__)
def test_a_plainly_valid_payload_is_read_as_the_form_reads_it(
    app: Flask, form_class: type[Form]
) -> None:
    """`valid_data` answers only for a payload the form accepts, with the form's own data
    (issue 8: a batch's valid contacts are read without filling the form)."""
    read: list[bool] = []
    with app.test_request_context():
        for locale in ("sv", "en"):
            with force_locale(locale):
                prepared = _prepared(form_class)

                @PROPERTY
                @given(st.one_of(near_valid(form_class), payloads(form_class)))
                def check(payload: dict[str, Any]) -> None:
                    data = prepared.valid_data(payload)
                    read.append(data is not None)
                    if data is None:
                        return
                    status, errors, expected = _answers(
                        lambda: _with_choices(form_from_payload(form_class, payload))
                    )
                    assert (status, errors) == ("valid", {})
                    assert _typed(data) == _typed(expected)

                check()
    # Forms with a field it does not read (a checkbox) are always read by the form itself.
    assert any(read) == (prepared._reading is not None)


def test_anything_but_the_plain_format_is_left_to_the_form(app: Flask) -> None:
    """Input the form may read otherwise than its plain format is not read quickly: the form
    reads it, with its own answer."""
    plain = {
        "occurred_at": "2026-11-20T21:15",
        "location": "place:1",
        "subject": "person",
        "age_band": "15-17",
        "kind": "street",
        "purpose": "check_in",
        "referrals": ["housing"],
        "duration_minutes": "10",
        "note": "Calm by the square.",
    }
    with app.test_request_context():
        prepared = _prepared(ContactForm)
        data = prepared.valid_data(plain)
        assert data is not None and data["duration_minutes"] == 10
        assert data["occurred_at"] == datetime(2026, 11, 20, 21, 15)
        for field, value in [
            ("duration_minutes", " 10"),
            ("duration_minutes", "1_0"),
            ("duration_minutes", "1441"),
            ("occurred_at", "2026-11-20 21:15"),
            ("occurred_at", "2026-11-20T21:15:00"),
            ("occurred_at", "2026-02-30T21:15"),
            ("location", "place:9"),
            ("location", ["place:1", "area:2"]),
            ("note", " "),
            ("note", "x" * 281),
            ("follow_up_on", "20.11.2026"),
        ]:
            assert prepared.valid_data({**plain, field: value}) is None, (field, value)
        # Left out or blank, an optional field is what the form makes of it.
        for blank in ({}, {"duration_minutes": ""}):
            payload = {k: v for k, v in plain.items() if k != "duration_minutes"} | blank
            data = prepared.valid_data(payload)
            assert data is not None and data["duration_minutes"] is None


def test_a_copy_whose_choices_change_checks_the_new_ones(app: Flask) -> None:
    with app.test_request_context():
        prepared = _prepared(ContactForm)
        payload = {"location": "place:9"}
        form = prepared.fill(payload)
        form.validate()
        assert "location" in form.errors
        form = prepared.fill(payload)
        form.location.choices = [*DYNAMIC, *options([("place:9", "Kept")])]
        form.validate()
        assert "location" not in form.errors
        # The prepared form's own choices are untouched.
        form = prepared.fill(payload)
        form.validate()
        assert "location" in form.errors


def test_wtforms_messages_are_read_once_a_process(app: Flask, monkeypatch: Any) -> None:
    """A sync request read WTForms' catalogue from disk for one message a record (issue 8);
    the prepared form's messages are still the request's language, as a built form's."""
    loads: list[Any] = []
    load = Translations.load

    def counted(*args: Any, **kwargs: Any) -> Any:
        loads.append(args)
        return load(*args, **kwargs)

    monkeypatch.setattr(Translations, "load", counted)
    payload = {"location": "place:9"}
    with app.test_request_context(), force_locale("sv"):
        prepared = _prepared(ContactForm)
    loads.clear()  # building a form reads it (its labels): a batch's form is built once
    for _request in range(3):
        with app.test_request_context(), force_locale("sv"):
            form = prepared.fill(payload)
            form.validate()
            message = form.errors["location"]
            built = _with_choices(form_from_payload(ContactForm, payload))
            built.validate()
            assert message == built.errors["location"] != ["Not a valid choice."]
    assert len(loads) <= 1


def test_a_prepared_form_processes_each_default_as_the_form_would(app: Flask) -> None:
    """The prepared form processes a field's fixed default once (issue 8): a default made per
    call is still made per payload, a list default is never shared between payloads, and a
    default the field refuses is refused for each payload, as a built form refuses it."""
    made = iter(range(100))

    class Defaults(Form):
        number = IntegerField(default=lambda: next(made))
        tags = StringField(default=["a"])
        refused = IntegerField(default="x")
        when = DateField(default=date(2026, 11, 20))

    with app.test_request_context():
        prepared = PreparedForm(Defaults())
        first, second = prepared.fill({}), prepared.fill({})
        assert None not in (first.number.data, second.number.data)
        assert first.number.data != second.number.data
        first.tags.data.append("b")
        assert second.tags.data == ["a"] and prepared.fill({}).tags.data == ["a"]
        built = form_from_payload(Defaults, {})
        assert prepared.fill({}).refused.process_errors == built.refused.process_errors != []
        assert prepared.fill({"when": "2026-11-21"}).when.data == date(2026, 11, 21)
        assert prepared.fill({}).when.data == date(2026, 11, 20) == built.when.data


def test_an_empty_optional_field_is_answered_without_running_its_chain(
    app: Flask, monkeypatch: Any
) -> None:
    """Optional raised an exception for each empty optional field of each synced record
    (issue 8): a prepared form's copy answers those at once. That the answers stay the
    chain's own is what the property test above checks, for every record form."""
    ran: list[str] = []
    chain = Optional.__call__

    def counted(self: Optional, form: Form, field: Any) -> None:
        ran.append(field.name)
        chain(self, form, field)

    monkeypatch.setattr(Optional, "__call__", counted)
    with app.test_request_context():
        prepared = _prepared(ContactForm)
        payload = {"note": "  ", "group_size": "3", "location": "place:1"}
        form = prepared.fill(payload)
        assert isinstance(form, ContactForm)
        assert not form.validate()  # the time is missing
        assert set(form.errors) == {"occurred_at"}
    # Only the field that was given ran its chain (a blank note counts as empty).
    assert ran == ["group_size"]
