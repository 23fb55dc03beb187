"""The audit log's filter: a GET form whose every value is bounded before it reaches a query."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField
from wtforms.validators import NumberRange, Optional, Regexp

from interrupters.audit.services import AuditFilter

# Ids are database integers: anything larger is not an id (and PostgreSQL would refuse it).
MAX_ID = 2**31 - 1
EARLIEST = date(2020, 1, 1)
LATEST = date(2100, 12, 31)


class AuditFilterForm(FlaskForm):
    """Kind, actor and local dates; `before` is the keyset of the page (no CSRF in a GET)."""

    class Meta:
        csrf = False

    event = SelectField(
        _l("Kind"),
        validators=[Optional(), Regexp(r"^[a-z_]{1,48}$")],
        validate_choice=False,
    )
    actor = IntegerField(
        _l("Actor (user number)"), validators=[Optional(), NumberRange(min=1, max=MAX_ID)]
    )
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])
    before = IntegerField(validators=[Optional(), NumberRange(min=1, max=MAX_ID)])

    def validate(self, extra_validators: object = None) -> bool:
        valid = super().validate()
        for field in (self.since, self.until):
            if field.data and not EARLIEST <= field.data <= LATEST:
                field.errors = [*field.errors, _l("Choose a date between 2020 and 2100.")]
                valid = False
        if valid and self.since.data and self.until.data and self.until.data < self.since.data:
            self.until.errors = [*self.until.errors, _l("The end is before the start.")]
            valid = False
        return valid

    def filters(self) -> AuditFilter:
        """The validated filter (call after validate() succeeded)."""
        return AuditFilter(
            event=self.event.data or None,
            actor_id=self.actor.data,
            since=self.since.data,
            until=self.until.data,
        )
