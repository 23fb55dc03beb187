from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, IntegerField, PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, NumberRange

from interrupters.forms import options


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=12, max=200)]
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class ChangePasswordForm(SetPasswordForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])


class PledgeForm(FlaskForm):
    accept = BooleanField(
        _l("I have read the confidentiality pledge and accept it."), validators=[DataRequired()]
    )


class LanguageForm(FlaskForm):
    locale = RadioField(
        _l("Language"),
        choices=options([("sv", "Svenska"), ("en", "English")]),
        validators=[DataRequired()],
    )


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=40)],
        render_kw={
            "autocomplete": "one-time-code",
            "autocapitalize": "none",
            "spellcheck": "false",
        },
    )


class StartTotpForm(FlaskForm):
    """Only the CSRF token: making a new secret is a change, so it is a POST."""


class RemovePasskeyForm(FlaskForm):
    passkey_id = IntegerField(validators=[DataRequired(), NumberRange(min=1, max=2**31 - 1)])
