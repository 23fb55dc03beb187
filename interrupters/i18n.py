"""Locale selection and the date and time filters templates use (Europe/Stockholm)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, has_request_context, session
from flask_babel import format_date, format_datetime, get_locale
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


def local_datetime(value: datetime | None, format: str = "short") -> str:
    return "" if value is None else format_datetime(value, format)


def local_date(value: date | None, format: str = "medium") -> str:
    return "" if value is None else format_date(value, format)


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
