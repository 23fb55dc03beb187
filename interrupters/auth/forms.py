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


_PIN_FIELD = {
    "inputmode": "numeric",
    "pattern": "[0-9]*",
    "autocomplete": "off",
    "maxlength": 6,
    "autocapitalize": "none",
}


class PinForm(FlaskForm):
    pin = PasswordField(_l("PIN"), validators=[DataRequired(), Length(max=6)], render_kw=_PIN_FIELD)


class NewPinForm(FlaskForm):
    # Only when changing: the PIN this device has now.
    current = PasswordField(_l("Current PIN"), validators=[Length(max=6)], render_kw=_PIN_FIELD)
    pin = PasswordField(
        _l("New PIN (4 to 6 digits)"),
        validators=[DataRequired(), Length(min=4, max=6)],
        render_kw=_PIN_FIELD,
    )
    confirm = PasswordField(
        _l("Repeat the PIN"),
        validators=[DataRequired(), EqualTo("pin", message=_l("The PINs differ."))],
        render_kw=_PIN_FIELD,
    )


class ActionForm(FlaskForm):
    """Only the CSRF token: a POST that changes something and needs nothing typed."""


class RenewCodesForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=200)])
