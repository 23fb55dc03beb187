"""The researcher's request form and the supervisor's review and withdrawal forms."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from interrupters.forms import MultiCheckboxField, options
from interrupters.research.models import EventFile

FILE_LABELS = {
    EventFile.contacts.value: _l("Contacts"),
    EventFile.mediations.value: _l("Mediations"),
    EventFile.level_changes.value: _l("Conflicts' level changes"),
    EventFile.referrals.value: _l("Referrals"),
}
FILE_CHOICES = options((f.value, FILE_LABELS[f.value]) for f in EventFile)


class ProjectForm(FlaskForm):
    organisation_id = SelectField(_l("Programme"), validators=[DataRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(min=3, max=200)])
    institution = StringField(
        _l("Institution"),
        validators=[DataRequired(), Length(min=2, max=200)],
        description=_l(
            "University and department, e.g. the Department of Criminology, Stockholm University."
        ),
    )
    ethics_reference = StringField(
        _l("Ethics approval reference"),
        validators=[DataRequired(), Length(min=3, max=80)],
        description=_l("The Swedish Ethical Review Authority's reference number (Dnr)."),
    )
    aim = TextAreaField(
        _l("Aim and questions"),
        validators=[Optional(), Length(max=1000)],
        description=_l("What the project wants to find out; the supervisor reads it."),
    )
    period_start = DateField(_l("Data from"), validators=[DataRequired()])
    period_end = DateField(_l("Data until"), validators=[DataRequired()])
    expires_on = DateField(
        _l("Access ends on"),
        validators=[DataRequired()],
        description=_l("After this day nothing more can be downloaded."),
    )
    requested_files = MultiCheckboxField(
        _l("Event-level files asked for (area-month figures are always included)"),
        choices=FILE_CHOICES,
    )


def project_input(form: ProjectForm) -> dict[str, Any]:
    return {
        "organisation_id": form.organisation_id.data,
        "title": form.title.data or "",
        "institution": form.institution.data or "",
        "ethics_reference": form.ethics_reference.data or "",
        "aim": form.aim.data or "",
        "period_start": form.period_start.data,
        "period_end": form.period_end.data,
        "expires_on": form.expires_on.data,
        "requested_files": form.requested_files.data or [],
    }


class ReviewForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=options((("approve", _l("Approve")), ("refuse", _l("Refuse")))),
        validators=[DataRequired()],
    )
    approved_files = MultiCheckboxField(_l("Event-level files approved"), choices=FILE_CHOICES)
    note = TextAreaField(
        _l("Reason or conditions"),
        validators=[Optional(), Length(max=500)],
        description=_l("Required when refusing. The researcher reads it: name no one."),
    )


class WithdrawForm(FlaskForm):
    note = TextAreaField(
        _l("Why the approval is withdrawn"),
        validators=[DataRequired(), Length(max=500)],
        description=_l("The researcher reads it: name no one."),
    )


def show_errors(form: FlaskForm, errors: dict[str, Any]) -> None:
    """A service's reasons on the form's fields (the first field for one without its own)."""
    for name, message in errors.items():
        field = getattr(form, name, None)
        if field is None or field.type in ("HiddenField", "CSRFTokenField"):
            field = next(f for f in form if f.type not in ("HiddenField", "CSRFTokenField"))
        field.errors = [*list(field.errors or []), message]
