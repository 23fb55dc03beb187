from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from interrupters.forms import MultiCheckboxField, blank
from interrupters.participants.values import (
    AgeBand,
    ExitReason,
    Gender,
    Goal,
    ParticipantStatus,
    RiskTier,
)
from interrupters.valuelists import choices


class ParticipantForm(FlaskForm):
    area_id = SelectField(_l("Area"), validators=[DataRequired()])
    age_band = SelectField(_l("Age band"), choices=choices(AgeBand), validators=[DataRequired()])
    gender = SelectField(
        _l("Gender (optional)"), choices=blank(choices(Gender)), validators=[Optional()]
    )
    nickname = StringField(
        _l("Nickname (optional)"),
        validators=[Optional(), Length(max=40)],
        description=_l(
            "A nickname you use on the street. Never the real name: the app makes the code."
        ),
    )
    status = SelectField(
        _l("Status"),
        choices=[c for c in choices(ParticipantStatus) if c.value != "exited"],
        default="prospect",
    )
    eligibility_confirmed = BooleanField(_l("Eligibility criteria assessed and confirmed"))
    risk_tier = SelectField(
        _l("Programme risk tier"), choices=choices(RiskTier), validators=[DataRequired()]
    )
    reassess_on = DateField(_l("Reassess the risk on"), validators=[Optional()])
    goals = MultiCheckboxField(_l("Goals"), choices=choices(Goal))
    consent_scope = StringField(_l("Consent covers"), validators=[Optional(), Length(max=120)])
    consent_given_on = DateField(_l("Consent given on"), validators=[Optional()])
    consent_withdrawn_on = DateField(_l("Consent withdrawn on"), validators=[Optional()])
    worker_id = SelectField(_l("Assigned worker"), validators=[Optional()])


class CloseForm(FlaskForm):
    exit_reason = SelectField(
        _l("Exit reason"), choices=choices(ExitReason), validators=[DataRequired()]
    )
