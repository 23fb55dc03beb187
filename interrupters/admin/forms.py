"""Forms of the admin's screens; choices that come from the database are set by the view."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from interrupters.auth.values import OrganisationType, Role
from interrupters.places.values import PlaceType
from interrupters.valuelists import choices

COORDINATE = r"^-?\d{1,3}([.,]\d{1,8})?$"


def _strip(value: Any) -> Any:
    return " ".join(value.split()) if isinstance(value, str) else value


def _optional_int(value: Any) -> int | None:
    if value in (None, ""):
        return None
    return int(value)


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as checkboxes (the `chips` macro renders them)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class InviteForm(FlaskForm):
    email = EmailField(
        _l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)], filters=[_strip]
    )
    display_name = StringField(
        _l("Name shown in the app"), validators=[DataRequired(), Length(max=80)], filters=[_strip]
    )
    organisation_id = SelectField(_l("Organisation"), coerce=int, validators=[DataRequired()])
    role = RadioField(_l("Role"), choices=choices(Role), validators=[DataRequired()])


class MembershipForm(FlaskForm):
    organisation_id = SelectField(_l("Organisation"), coerce=int, validators=[DataRequired()])
    role = SelectField(_l("Role"), choices=choices(Role), validators=[DataRequired()])


class UserFilterForm(FlaskForm):
    """The user list's filter: a GET form, so no CSRF token in the address."""

    class Meta:
        csrf = False

    organisation = SelectField(
        _l("Organisation"), coerce=_optional_int, validators=[Optional()], validate_choice=False
    )


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)], filters=[_strip])
    type = RadioField(_l("Type"), choices=choices(OrganisationType), validators=[DataRequired()])
    district_ids = MultiCheckboxField(_l("Districts served"), coerce=int)


def _months(label: Any) -> IntegerField:
    return IntegerField(label, validators=[DataRequired(), NumberRange(min=1, max=120)])


class RetentionForm(FlaskForm):
    """An organisation's retention periods in months (1 to 120)."""

    contact_note_months = _months(_l("Contact notes are blanked after (months)"))
    contact_months = _months(_l("Contacts are anonymised after (months)"))
    conflict_months = _months(_l("Conflicts are anonymised after (months without change)"))
    walk_report_text_months = _months(
        _l("Walk reports' and place observations' free text is blanked after (months)")
    )


class AreaForm(FlaskForm):
    name = StringField(
        _l("New area"), validators=[DataRequired(), Length(max=80)], filters=[_strip]
    )


class PlaceForm(FlaskForm):
    area_id = SelectField(_l("Area"), coerce=int, validators=[DataRequired()])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)], filters=[_strip])
    type = RadioField(_l("Type"), choices=choices(PlaceType), validators=[DataRequired()])
    meeting_point = BooleanField(_l("Meeting point for walks"))
    active = BooleanField(
        _l("In use (clear to retire the place; it is never deleted)"), default=True
    )
    # For the situational picture's map; decimals with a comma or a point (59,3885).
    latitude = StringField(
        _l("Latitude"),
        validators=[Optional(), Regexp(COORDINATE, message=_l("A number, such as 59,3885."))],
        filters=[_strip],
        description=_l("Decimal degrees (WGS84), as a map shows them. Leave empty if unknown."),
    )
    longitude = StringField(
        _l("Longitude"),
        validators=[Optional(), Regexp(COORDINATE, message=_l("A number, such as 17,9283."))],
        filters=[_strip],
    )


def coordinate(value: str | None) -> float | None:
    """A coordinate as typed (a decimal comma or point), or None when empty."""
    if not value:
        return None
    return float(value.replace(",", "."))


def apply_errors(form: FlaskForm, errors: dict[str, str]) -> None:
    """Show a service's InvalidInput errors on the form's fields (form-level when no field)."""
    for name, message in errors.items():
        text = str(message)
        field: Field | None = getattr(form, name, None)
        if isinstance(field, Field):
            field.errors = [*field.errors, text]
        else:
            form.form_errors.append(text)
