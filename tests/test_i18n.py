"""Swedish is the default language and always complete; English is the second."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Literal

import pytest
from babel import support
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from .test_access_matrix import ROLES, app_rules, methods_of, sign_in_with_records, url_of

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "interrupters" / "translations" / "sv" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
}
METHODS = [("interrupters/**.py", "python"), ("templates/**.html", "jinja2")]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
# Routes that answer with files, not pages (the static files, the service worker, exports).
NOT_PAGES = {"pwa.asset", "pwa.service_worker", "pwa.manifest", "walks.season"}

AUTO_LABEL = re.compile(r"[A-Z][a-z]*( [A-Z][a-z]*)*")

__all__ = ["sign_in_with_records"]  # a fixture of the access matrix, used here


def _source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS, options_map={"**.html": {}}
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.fixture(scope="module")
def swedish():
    with CATALOG.open("rb") as handle:
        return read_po(handle, locale="sv")


def test_every_message_in_the_code_has_a_swedish_translation(swedish):
    missing = []
    for msgid in sorted(_source_messages()):
        message = swedish.get(msgid)
        strings = (
            message.string
            if message and isinstance(message.string, tuple)
            else (message and message.string,)
        )
        if message is None or message.fuzzy or not all(strings):
            missing.append(msgid)
    assert missing == [], f"run `make messages` and translate: {missing}"


def test_translations_keep_their_placeholders(swedish):
    wrong = []
    for message in swedish:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            if set(PLACEHOLDER.findall(string)) != expected:
                wrong.append(message.id)
    assert wrong == []


def test_pages_are_swedish_by_default_and_english_on_request(client):
    swedish_page = client.get("/login").get_data(as_text=True)
    assert 'lang="sv"' in swedish_page and "Logga in" in swedish_page
    client.post("/language", data={"locale": "en", "next": "/login"})
    english_page = client.get("/login").get_data(as_text=True)
    assert 'lang="en"' in english_page and "Sign in" in english_page


def test_dates_are_shown_in_stockholm_time(app):
    from datetime import UTC, datetime

    from interrupters.i18n import local_datetime

    with app.test_request_context():
        # 23:30 UTC on 24 November is 00:30 on 25 November in Stockholm.
        assert local_datetime(datetime(2026, 11, 24, 23, 30, tzinfo=UTC)) == "2026-11-25 00:30"


def test_dates_in_english_are_day_month_year_with_24_hour_times(app, client):
    from datetime import UTC, date, datetime

    from interrupters.i18n import local_date, local_datetime

    client.post("/language", data={"locale": "en", "next": "/login"})
    moment = datetime(2026, 12, 4, 16, 30, tzinfo=UTC)  # 17:30 in Stockholm
    with app.test_request_context():
        from flask import session

        session["locale"] = "en"
        assert local_datetime(moment) == "04/12/2026, 17:30"
        assert local_date(date(2026, 12, 4)) == "4 Dec 2026"
        # The local date of a moment: 23:30 UTC is already the next day in Stockholm.
        assert local_date(datetime(2026, 12, 4, 23, 30, tzinfo=UTC)) == "5 Dec 2026"
    with app.test_request_context():
        assert local_datetime(moment) == "2026-12-04 17:30"
        assert local_date(date(2026, 12, 4)) == "4 dec. 2026"


def test_plurals_are_right_in_both_languages(app):
    from flask_babel import force_locale, ngettext

    from interrupters.walks.models import WalkSignup
    from interrupters.walks.services import group_warnings

    one, two = "%(num)d walk is scheduled.", "%(num)d walks are scheduled."
    with app.test_request_context():
        assert ngettext(one, two, 1) == "1 vandring är inplanerad."
        assert ngettext(one, two, 3) == "3 vandringar är inplanerade."
        alone = [WalkSignup(walk_id=1, user_id=1)]
        assert [str(w) for w in group_warnings(alone)] == ["1 vandrare har ingen grupp än."]
        with force_locale("en"):
            assert ngettext(one, two, 1) == "1 walk is scheduled."
            assert [str(w) for w in group_warnings(alone)] == ["1 walker has no group yet."]


def test_reasons_from_the_services_are_swedish(app, session, world):
    """A reason a service gives ("in the future") is in the reader's language, not English."""
    from datetime import UTC, datetime, timedelta

    from interrupters.contacts import services as contacts
    from interrupters.errors import InvalidInput

    from . import factories

    worker = factories.create_user(session, world, "interrupter")
    data = factories.contact_input(world, occurred_at=datetime.now(UTC) + timedelta(hours=2))
    with app.test_request_context(), pytest.raises(InvalidInput) as error:
        contacts.log_contact(
            session=session,
            actor=factories.principal(session, worker),
            data=data,
            client_uuid=str(uuid.uuid4()),
        )
    with app.test_request_context():
        assert str(error.value.errors["occurred_at"]) == "Tiden ligger i framtiden."


# Every page, for every role, in Swedish: no message may miss the Swedish catalog ------------


@pytest.fixture
def untranslated(monkeypatch):
    """Record every message looked up in a Swedish catalog that is not in it."""
    missing: set[str] = set()
    lookup, plural_lookup = support.Translations.ugettext, support.Translations.ungettext

    def swedish(catalog: support.Translations) -> bool:
        return any(f"{os.sep}sv{os.sep}" in str(path) for path in getattr(catalog, "files", []))

    def wtforms_label(catalog: support.Translations, message: str) -> bool:
        # WTForms names a field without a label after it ("client_uuid" -> "Client Uuid") and
        # looks that up in its own catalog: only hidden fields have none, and nobody sees them.
        in_wtforms = any("wtforms" in str(path) for path in getattr(catalog, "files", []))
        return in_wtforms and AUTO_LABEL.fullmatch(message) is not None

    def ugettext(self, message):
        known = not message or message in self._catalog or wtforms_label(self, message)
        if swedish(self) and not known:
            missing.add(message)
        return lookup(self, message)

    def ungettext(self, singular, plural, num):
        if swedish(self) and (singular, 0) not in self._catalog:
            missing.add(singular)
        return plural_lookup(self, singular, plural, num)

    monkeypatch.setattr(support.Translations, "ugettext", ugettext)
    monkeypatch.setattr(support.Translations, "ungettext", ungettext)
    return missing


@pytest.mark.parametrize("column", ROLES)
def test_every_page_for_every_role_is_in_swedish(
    app, database, sign_in_with_records, untranslated, column
):
    if database["kind"] == "postgresql":
        pytest.skip("the catalog does not depend on the database")
    client, records = sign_in_with_records(column)
    seen = []
    for rule in app_rules(app):
        if "GET" not in methods_of(rule) or rule.endpoint in NOT_PAGES:
            continue
        response = client.get(url_of(app, rule, records))
        if response.status_code == 200 and response.mimetype == "text/html":
            page = response.get_data(as_text=True)
            assert 'lang="sv"' in page, rule.endpoint
            seen.append(rule.endpoint)
    assert len(seen) > 5, seen
    assert not untranslated, f"{column}: {sorted(untranslated)} have no Swedish (pages: {seen})"


def test_pydantic_errors_reach_the_reader_in_their_language(app):
    from datetime import date, time

    from flask_babel import force_locale
    from pydantic import BaseModel, Field, ValidationError

    from interrupters.errors import InvalidInput
    from interrupters.walks.services import WalkInput

    class Note(BaseModel):
        text: str = Field(max_length=5)
        count: int = Field(ge=1)
        kind: Literal["a", "b"]

    with pytest.raises(ValidationError) as problems:
        Note.model_validate({"text": "too long", "count": 0, "kind": "c"})
    with pytest.raises(ValidationError) as weekdays:
        WalkInput.model_validate(
            {
                "district_id": 1,
                "first_date": date(2026, 12, 4),
                "start_time": time(20),
                "end_time": time(1),
                "weekdays": [9],
            }
        )
    with app.test_request_context():
        errors = InvalidInput.from_validation(problems.value).errors
        assert {field: str(message) for field, message in errors.items()} == {
            "text": "Använd högst 5 tecken.",
            "count": "Det minsta är 1.",
            "kind": "Välj i listan.",
        }
        own = InvalidInput.from_validation(weekdays.value).errors
        assert str(own["weekdays"]) == "Välj veckodagar i listan."
        with force_locale("en"):
            assert str(errors["text"]) == "Use at most 5 characters."
            assert str(own["weekdays"]) == "Choose weekdays from the list."


@pytest.mark.parametrize("locale", ["sv", "en"])
def test_times_and_dates_are_written_as_babel_writes_them(app, locale):
    """local_datetime and local_date keep the locale's patterns a process; what they write is
    babel's own format_datetime / format_date, hour by hour over both changes of clock."""
    from datetime import UTC, datetime, timedelta

    from babel import dates
    from flask import session
    from flask_babel import get_timezone

    from interrupters.i18n import NAMED_FORMATS, format_locale, local_date, local_datetime

    starts = [datetime(2026, 3, 28, 20, tzinfo=UTC), datetime(2026, 10, 24, 20, tzinfo=UTC)]
    moments = [start + timedelta(minutes=37 * step) for start in starts for step in range(80)]
    with app.test_request_context():
        session["locale"] = locale
        zone, written_in = get_timezone(), format_locale()
        for moment in moments:
            for format in NAMED_FORMATS:
                expected = dates.format_datetime(moment, format, tzinfo=zone, locale=written_in)
                assert local_datetime(moment, format) == expected, (moment, format)
                assert local_date(moment.date(), format) == dates.format_date(
                    moment.date(), format, locale=written_in
                )
            assert local_datetime(moment, "LLLL yyyy HH:mm") == dates.format_datetime(
                moment, "LLLL yyyy HH:mm", tzinfo=zone, locale=written_in
            )
            assert local_date(moment.date(), "MMM yy") == dates.format_date(
                moment.date(), "MMM yy", locale=written_in
            )
        # A stored (naive) time is UTC.
        naive = datetime(2026, 10, 25, 0, 30)
        assert local_datetime(naive) == local_datetime(naive.replace(tzinfo=UTC))


def test_the_request_catalogue_follows_the_locale_it_was_found_for(app):
    from flask_babel import force_locale, refresh

    from interrupters.i18n import catalogue, shown_label

    with app.test_request_context():
        swedish = catalogue()
        assert catalogue() is swedish
        assert swedish.ugettext("Street") == "På gatan"
        assert shown_label("street", "ContactKind") == "På gatan"
        with force_locale("en"):
            assert catalogue().ugettext("Street") == "Street"
            assert shown_label("street", "ContactKind") == "Street"
        assert catalogue() is swedish
        assert shown_label("street", "ContactKind") == "På gatan"
        # An unknown code is shown as it is; no code, nothing.
        assert shown_label("no-such-code", "ContactKind") == "no-such-code"
        assert shown_label(None, "ContactKind") == ""
        refresh()
        assert catalogue().ugettext("Street") == "På gatan"


def test_templates_translate_with_the_request_catalogue(app):
    from flask import render_template_string, session

    with app.test_request_context():
        assert render_template_string("{{ _('Street') }}") == "På gatan"
        assert render_template_string("{{ 'street'|label('ContactKind') }}") == "På gatan"
    with app.test_request_context():
        session["locale"] = "en"
        assert render_template_string("{{ _('Street') }}") == "Street"
        assert render_template_string("{{ 'street'|label('ContactKind') }}") == "Street"
        one = "{{ ngettext('%(num)d walk is scheduled.', '%(num)d walks are scheduled.', 2) }}"
        assert render_template_string(one) == "2 walks are scheduled."
