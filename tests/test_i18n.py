"""Swedish is the default language and always complete; English is the second."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "interrupters" / "translations" / "sv" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
METHODS = [("interrupters/**.py", "python"), ("templates/**.html", "jinja2")]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


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
