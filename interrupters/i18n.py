"""Locale selection and the date and time filters templates use (Europe/Stockholm)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from flask import Flask, current_app, has_request_context, session
from flask_babel import get_locale, get_timezone
from flask_login import current_user

from interrupters.extensions import babel
from interrupters.labels import label


def select_locale() -> str:
    languages: tuple[str, ...] = current_app.config["LANGUAGES"]
    if not has_request_context():
        # A job or a service called from a test: messages in the default language.
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return str(current_user.locale)
    chosen = session.get("locale")
    if chosen in languages:
        return str(chosen)
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


# Babel's "en" writes American dates (12/4/26, 5:30 PM); the app's English is British, with
# day-month-year dates and 24-hour times (issue 10). Messages stay "en"; only formats change.
FORMAT_LOCALES = {"en": "en_GB"}


def format_locale() -> Locale:
    """The locale dates and times are written in: the reader's, British for English."""
    locale = get_locale() or Locale.parse(current_app.config["BABEL_DEFAULT_LOCALE"])
    return Locale.parse(FORMAT_LOCALES.get(str(locale), str(locale)))


def local_datetime(value: datetime | None, format: str = "short") -> str:
    """A moment in Stockholm time: "2026-11-25 00:30" in Swedish, "25/11/2026, 00:30" in English."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # stored times are UTC
    return babel_dates.format_datetime(value, format, tzinfo=get_timezone(), locale=format_locale())


def local_date(value: date | None, format: str = "medium") -> str:
    """A date: "24 nov. 2026" in Swedish, "24 Nov 2026" in English."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        # The local date of a moment (23:30 UTC is the next day in Stockholm).
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        value = aware.astimezone(get_timezone()).date()
    return babel_dates.format_date(value, format, locale=format_locale())


def today_local() -> date:
    """Today in Stockholm: follow-ups are due by the local date, not UTC's."""
    return datetime.now(ZoneInfo("Europe/Stockholm")).date()


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories="translations",
    )
    # flask-babel 4 leaves get_locale out of the Jinja globals.
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters["datetime"] = local_datetime
    app.jinja_env.filters["date"] = local_date
    app.jinja_env.filters["label"] = label
    app.jinja_env.globals["today_local"] = today_local
