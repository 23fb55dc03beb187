"""Locale selection and the date and time filters templates use (Europe/Stockholm)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import cache
from typing import Any, Literal, TypeAlias, cast, get_args
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from babel.support import NullTranslations
from flask import Flask, current_app, g, has_request_context, session
from flask_babel import force_locale, get_locale, get_timezone, get_translations
from flask_babel import gettext as translate
from flask_babel import ngettext as translate_plural
from flask_babel.speaklater import LazyString
from flask_login import current_user

from interrupters.extensions import babel
from interrupters.valuelists import label


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
    return _format_locale_of(
        get_locale() or Locale.parse(current_app.config["BABEL_DEFAULT_LOCALE"])
    )


@cache
def _format_locale_of(locale: Locale) -> Locale:
    return Locale.parse(FORMAT_LOCALES.get(str(locale), str(locale)))


# Babel's own names for a locale's formats; any other format is a pattern ("LLLL yyyy").
Named: TypeAlias = Literal["full", "long", "medium", "short"]
NAMED_FORMATS: tuple[Named, ...] = get_args(Named)


@cache
def _datetime_patterns(
    locale: Locale, format: Named
) -> tuple[str, babel_dates.DateTimePattern, babel_dates.DateTimePattern]:
    """A named format's glue ("{1} {0}"), time and date patterns, looked up once a process."""
    return (
        str(babel_dates.get_datetime_format(format, locale=locale)).replace("'", ""),
        babel_dates.parse_pattern(babel_dates.get_time_format(format, locale=locale)),
        babel_dates.parse_pattern(babel_dates.get_date_format(format, locale=locale)),
    )


@cache
def _zone(name: str) -> ZoneInfo:
    """flask-babel's zone (pytz) as zoneinfo's: the same wall time, a fifth of the time."""
    return ZoneInfo(name)


@cache
def _date_pattern(locale: Locale, format: str) -> babel_dates.DateTimePattern:
    if format in NAMED_FORMATS:
        return babel_dates.get_date_format(cast(Named, format), locale=locale)
    return babel_dates.parse_pattern(format)


def local_datetime(value: datetime | None, format: str = "short") -> str:
    """A moment in Stockholm time: "2026-11-25 00:30" in Swedish, "25/11/2026, 00:30" in English.

    What babel's format_datetime writes, with the locale's patterns looked up once a process:
    a list page writes a time a row, and looking them up again was half its cost (issue 13).
    """
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # stored times are UTC
    locale = format_locale()
    if format not in NAMED_FORMATS:
        return babel_dates.format_datetime(value, format, tzinfo=get_timezone(), locale=locale)
    local = value.astimezone(_zone(str(get_timezone())))
    glue, time_pattern, date_pattern = _datetime_patterns(locale, cast(Named, format))
    return glue.replace(
        "{0}", time_pattern.apply(local.timetz(), locale, reference_date=local.date())
    ).replace("{1}", date_pattern.apply(local.date(), locale))


def local_date(value: date | None, format: str = "medium") -> str:
    """A date: "24 nov. 2026" in Swedish, "24 Nov 2026" in English."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        # The local date of a moment (23:30 UTC is the next day in Stockholm).
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        value = aware.astimezone(get_timezone()).date()
    locale = format_locale()
    return str(_date_pattern(locale, format).apply(value, locale))


# Translations, found once a request -------------------------------------------------------


def catalogue() -> NullTranslations:
    """The current locale's translations, as flask_babel's `get_translations` finds them, kept
    on the request beside the locale they belong to. flask_babel looks the locale and the
    catalogue up again for every message (6 µs): a list page's rows spent a fifth of their
    time there (issue 13). Under `force_locale` (another locale object) it looks again."""
    try:
        context = g._flask_babel
    except (AttributeError, RuntimeError):  # the request's first message, or no app context
        return get_translations()
    kept = getattr(context, "interrupters_catalogue", None)
    if kept is not None and kept[0] is getattr(context, "babel_locale", None):
        return kept[1]
    translations = get_translations()
    context.interrupters_catalogue = (get_locale(), translations)
    return translations


# Each catalogue's labels as shown: a row shows a few, and a lazy label translates itself anew.
_SHOWN_LABELS: WeakKeyDictionary[NullTranslations, dict[tuple[str, str], str]] = WeakKeyDictionary()


def shown_label(value: str | None, enum_name: str) -> str:
    """`valuelists.label` for templates: the translated label of a stored code, kept per
    catalogue once translated."""
    if value is None:
        return ""
    translations = catalogue()
    shown = _SHOWN_LABELS.get(translations)
    if shown is None:
        shown = _SHOWN_LABELS[translations] = {}
    key = (enum_name, str(value))
    text = shown.get(key)
    if text is None:
        text = shown[key] = label(value, enum_name)
    return text


def today_local() -> date:
    """Today in Stockholm: follow-ups are due by the local date, not UTC's."""
    return datetime.now(ZoneInfo("Europe/Stockholm")).date()


Text: TypeAlias = str | LazyString


# Messages kept in the database, rendered in the reader's language --------------------------


def message_of(text: Text) -> dict[str, Any]:
    """Store a text: a lazy string as its message id and variables, a plain string as it is."""
    if isinstance(text, LazyString):
        function = getattr(text._func, "__name__", "")
        variables = {name: _variable(value) for name, value in text._kwargs.items()}
        if function == "gettext" and len(text._args) == 1:
            return {"id": str(text._args[0]), "vars": variables}
        if function == "ngettext" and len(text._args) == 3:
            singular, plural, count = text._args
            return {"id": str(singular), "plural": str(plural), "n": int(count), "vars": variables}
        raise TypeError("stored texts are lazy_gettext or lazy_ngettext strings")
    if isinstance(text, str):
        return {"text": text}
    raise TypeError(f"not a text: {type(text).__name__}")


def _variable(value: Any) -> Any:
    if isinstance(value, LazyString):
        return message_of(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"a stored text's variable must be plain data, not {type(value)}")


def render_message(message: Mapping[str, Any]) -> str:
    """The text in the current locale (a job sets the recipient's with `render_for`)."""
    if "text" in message:
        return str(message["text"])
    variables = {
        name: render_message(value) if isinstance(value, dict) else value
        for name, value in (message.get("vars") or {}).items()
    }
    # gettext and ngettext under other names: pybabel would take these for message ids.
    if "plural" in message:
        return translate_plural(message["id"], message["plural"], message["n"], **variables)
    return translate(message["id"], **variables)


def shown_message(message: Mapping[str, Any] | str) -> str:
    """A stored text for a template; plain text (older rows) as it is."""
    return render_message(message) if isinstance(message, Mapping) else str(message)


def render_for(message: Mapping[str, Any], locale: str) -> str:
    """The text in `locale` (needs an app context: the catalogs are the app's)."""
    with force_locale(locale):
        return render_message(message)


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories="translations",
    )
    # flask-babel 4 leaves get_locale out of the Jinja globals.
    app.jinja_env.globals["get_locale"] = get_locale
    # flask-babel's callables, with the request's catalogue found once (see `catalogue`).
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda text: catalogue().ugettext(text),
        ngettext=lambda singular, plural, n: catalogue().ungettext(singular, plural, n),
        pgettext=lambda context, text: catalogue().upgettext(context, text),
        npgettext=lambda context, singular, plural, n: catalogue().unpgettext(
            context, singular, plural, n
        ),
        newstyle=True,
    )
    app.jinja_env.filters["datetime"] = local_datetime
    app.jinja_env.filters["date"] = local_date
    app.jinja_env.filters["label"] = shown_label
    app.jinja_env.globals["today_local"] = today_local
    app.jinja_env.filters["message"] = shown_message
