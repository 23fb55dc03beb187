"""The one check for text that leaves the programme: participant codes and identity numbers,
disguised or plain, are refused in every briefing field and push text; ordinary text passes
(issue 9, item 6)."""

from __future__ import annotations

from typing import Any

import pytest

from interrupters.identifying import (
    CODE_ALPHABET,
    Identifier,
    find_identifier,
    luhn_ok,
    normalise,
)
from interrupters.participants.services import CODE_ALPHABET as PARTICIPANT_CODE_ALPHABET

from . import factories

# Made up here; every identity number has a valid check digit.
CODES = [
    "P-7K3Q",
    "p-7k3q",
    "P7K3Q",
    "P 7K3Q",
    "P\u20137K3Q",  # en dash
    "P\u20147K3Q",  # em dash
    "P\u22127K3Q",  # minus sign
    "P\u20117K3Q",  # non-breaking hyphen
    "P\u00a07K3Q",  # no-break space
    "P\u202f7K3Q",  # narrow no-break space
    "P.7K3Q",
    "P/7K3Q",
    "P_7K3Q",
    "P-7\u200bK3Q",  # zero-width space
    "P-7K\u00ad3Q",  # soft hyphen
    "P\u2060-7K3Q",  # word joiner
    "\u0420-7\u041a3Q",  # Cyrillic Er and Ka
    "\u03a1-7\u039a3Q",  # Greek Rho and Kappa
    "\uff30\uff0d\uff17\uff2b\uff13\uff31",  # fullwidth
    "\U0001d40f-\U0001d7d5\U0001d40a\U0001d7d1\U0001d410",  # mathematical bold
    "P 7 K 3 Q",
    "Saw P-2M9D at the square",
    "P-ABCD",
    "P-7K3Q\ufe0f",  # variation selector
    "p\u200d-\u200d2m9d",  # zero-width joiners
    "P-7K\u0417Q",  # Cyrillic Ze for a 3
]
NUMBERS = [
    "200101-1234",
    "2001011234",
    "19900101-1239",
    "199001011239",
    "850101+1236",  # a centenarian's plus
    "850101\u20131236",
    "85 01 01 12 36",
    "8 5 0 1 0 1 1 2 3 6",
    "85.01.01-1236",
    "850101\u200b1236",
    "\uff18\uff15\uff10\uff11\uff10\uff11\uff0d\uff11\uff12\uff13\uff16",  # fullwidth
    "710672-4326",  # co-ordination number: day 12 + 60
    "050101-1233",  # born 2005: starts with 0, like a phone number
    "05 01 01-12 33",
    "19850101 1236",
    "Pnr: 8501011236.",
    "\u0668\u0665\u0660\u0661\u0660\u0661-\u0661\u0662\u0663\u0666",  # Arabic-Indic digits
    "20010112 34",
]
ORDINARY = [
    "kl 20:30",
    "20.30\u201302.00",
    "Ring 114 14 vid icke akuta ärenden",
    "Larma 112",
    "Rinkeby allé 12",
    "2026-12-05",
    "5 december 2026",
    "Fredag 2026-12-04 kl 19.00",
    "08-508 000 00",
    "070-123 45 67",
    "0771-123 456",
    "+46 8 508 000 00",
    "031-123 45 67",
    "Buss 179 och 541",
    "Tensta T-bana, uppgång Hjulsta",
    "P-vakt vid Kista Galleria",
    "P-hus 2",
    "P-plats vid Husby gård",
    "Husby gård, Edvard Griegs gång 8",
    "26-50 ungdomar, postnummer 163 61",
    "Konflikt C-0012 är lugn",
]


@pytest.mark.parametrize("text", CODES)
def test_disguised_codes_are_found(text):
    assert find_identifier(text) is Identifier.participant_code


@pytest.mark.parametrize("text", NUMBERS)
def test_disguised_identity_numbers_are_found(text):
    assert find_identifier(text) is Identifier.identity_number


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_swedish_text_passes(text):
    assert find_identifier(text) is None


def test_the_check_digit_is_validated():
    assert luhn_ok("8501011236")
    assert find_identifier("850101-1236") is Identifier.identity_number
    # One digit off: the check digit is wrong, so it is an ordinary number.
    assert not luhn_ok("8501011237")
    assert find_identifier("850101-1237") is None
    # A valid check digit but no such date.
    assert find_identifier("851301-1236") is None


def test_normalise_maps_separators_and_look_alikes_alike():
    assert normalise("P\u2011\u200b7\u041a3Q") == normalise("P 7K3Q") == "P 7K3Q"
    assert normalise("a \u2014\u00a0/_. b") == "a b"
    assert normalise("Vällingby") == "Vällingby"  # Swedish letters stay


def test_the_code_alphabet_is_the_participants_one():
    assert CODE_ALPHABET == PARTICIPANT_CODE_ALPHABET


# Every field of a briefing -------------------------------------------------------------------


def _slots(world: Any, text: str) -> list[tuple[str, dict[str, Any]]]:
    place = world.places["Rinkeby torg"].id
    event = {"what": "Football match", "where": "Rinkeby IP", "when": "Sat"}
    contact = {"who": "Emergency", "phone": "112"}
    return [
        ("title", {"title": text}),
        ("summary", {"summary": text}),
        ("safety_reminders", {"safety_reminders": text}),
        ("meeting_place", {"meeting_place": text}),
        (
            "place_statuses",
            {"place_statuses": [{"place_id": place, "status": "tense", "note": text}]},
        ),
        ("expected_events", {"expected_events": [event | {"what": text}]}),
        ("expected_events", {"expected_events": [event | {"where": text}]}),
        ("expected_events", {"expected_events": [event | {"when": text}]}),
        ("on_call", {"on_call": [contact | {"who": text}]}),
        ("on_call", {"on_call": [contact | {"phone": text}]}),
    ]


@pytest.fixture
def author(session, world):
    factories.serve(session, world, "municipal")
    user = factories.create_user(session, world, "briefing_author")
    session.commit()
    return user


@pytest.mark.parametrize("text", CODES + NUMBERS)
def test_every_briefing_field_refuses_it(session, world, author, text):
    from interrupters.errors import InvalidInput

    for field, overrides in _slots(world, text):
        with pytest.raises(InvalidInput) as error:
            factories.create_briefing(session, world, author, **overrides)
        assert set(error.value.errors) == {field}, (field, text)
        assert "identifies no one" in str(error.value.errors[field])


def test_ordinary_text_is_accepted_in_every_briefing_field(session, world, author):
    for text in ORDINARY:
        for _field, overrides in _slots(world, text):
            briefing = factories.create_briefing(session, world, author, **overrides)
            assert briefing.id is not None
    session.rollback()


# Push texts ----------------------------------------------------------------------------------


def test_a_push_text_that_identifies_someone_is_refused(app, session, world):
    from flask_babel import lazy_gettext as _l

    from interrupters.push.services import notify

    user = factories.create_user(session, world, "supervisor")
    session.commit()
    common = {"session": session, "recipient_ids": [user.id], "url": "/"}
    with app.app_context():
        with pytest.raises(ValueError, match="identify no one"):
            notify(**common, kind="test", subject="a", title="Watch P\u20137K3Q", body="-")
        with pytest.raises(ValueError, match="identify no one"):
            notify(
                **common,
                kind="test",
                subject="b",
                title=_l("Urgent walk report in %(district)s", district="850101-1236"),
                body="-",
            )
        created = notify(**common, kind="test", subject="c", title="Ring 114 14", body="kl 20:30")
    assert len(created) == 1
    session.rollback()


# Walk reports' notes -------------------------------------------------------------------------


def test_a_walk_report_note_that_identifies_someone_is_refused(session, world):
    from datetime import UTC, datetime, timedelta

    from interrupters.errors import InvalidInput

    lead = factories.create_user(session, world, "association_lead")
    walker = factories.create_user(session, world, "night_walker")
    walk = factories.create_walk(
        session, world, lead, planned_start=datetime.now(UTC) - timedelta(hours=3)
    )
    session.commit()
    for note in ("Snackade med P\u20117K3Q", "Han sa 85 01 01-12 36"):
        with pytest.raises(InvalidInput) as error:
            factories.create_walk_report(session, world, walker, walk, note=note)
        assert set(error.value.errors) == {"note"}
    report = factories.create_walk_report(
        session, world, walker, walk, note="Ringde 114 14 kl 22:30 vid Rinkeby allé 12"
    )
    assert report.id is not None
    session.rollback()
