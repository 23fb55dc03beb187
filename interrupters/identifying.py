"""Find participant codes and Swedish identity numbers in text that leaves the programme.

One check for every such text (briefings in every field, push texts, walk reports' notes:
DESIGN.md, Security; issue 9, item 6). Text is normalised first, so a code or a number
disguised with look-alike letters, invisible characters, fullwidth forms or other dashes and
spaces is found as well as a plain one. A shared module: it imports no domain.
"""

from __future__ import annotations

import enum
import re
import unicodedata

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString


class Identifier(enum.StrEnum):
    participant_code = "participant_code"
    identity_number = "identity_number"


# The participant code's alphabet (participants.services.CODE_ALPHABET, "P-7K3Q"), repeated
# here because a shared module imports no domain; tests/test_identifying.py keeps them equal.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

# Every separator is one space after normalisation: dashes and minus signs, spaces of any kind,
# dots, slashes, underscores and the plus of a centenarian's identity number.
SEPARATOR = " "
_SEPARATOR_CHARS = set(
    "-+./\\_~|'"
    "\u00b7"  # middle dot
    "\u2022\u2023\u2024\u2027\u2043\u2044\u2212\u2215\u2219\u22c5\u2e31\u30fb"
)
_SEPARATOR_CATEGORIES = {"Pd", "Pc", "Zs", "Zl", "Zp"}
# Invisible characters outside category Cf (format), which is removed as a whole.
_INVISIBLE = set("\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u2800\u3164\uffa0")

# Letters that look like Latin ones (Cyrillic, Greek, Cherokee, ...), and digits' look-alikes.
# NFKC already maps fullwidth and mathematical forms.
_LOOK_ALIKES = str.maketrans(
    # Cyrillic, Greek, Cherokee, Armenian and Latin look-alikes (escaped: they look the same)...
    "\u0410\u0412\u0421\u0415\u041d\u0406\u0408\u041a\u041c\u041e\u0420\u0405"
    "\u0422\u0425\u0423\u04ae\u051a\u051c\u0474\u0500\u0417\u0427\u0411\u0430"
    "\u0432\u0441\u0435\u04bb\u0456\u0458\u043a\u043c\u043d\u043e\u0440\u0455"
    "\u0442\u0445\u0443\u051b\u051d\u0475\u0501\u0437\u0431\u0447\u0391\u0392"
    "\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7"
    "\u03b1\u03b2\u03b5\u03b9\u03ba\u03bd\u03bf\u03c1\u03c4\u03c5\u03c7\u13aa"
    "\u13f4\u13df\u13ac\u13bb\u13e6\u13b7\u13e2\u13da\u13a2\u13b3\u0555\u057d"
    "\u0131\u0237",
    # ...and the Latin letters and digits they stand for, in the same order.
    "ABCEHIJKMOPSTXYYQWVD346abcehijkmhopstxyqwvd364ABEZHIKMNOPTYXabeikvoptuxABCEHKMPSTWOuij",
)


def _is_removed(char: str) -> bool:
    # Cf: zero-width spaces and joiners, soft hyphen, bidi controls, word joiner, BOM, ...
    # Mn: combining marks left over after NFKC (a Swedish å, ä, ö is composed and stays).
    category = unicodedata.category(char)
    return category in ("Cf", "Mn", "Me") or char in _INVISIBLE


def _is_separator(char: str) -> bool:
    return (
        char in _SEPARATOR_CHARS
        or unicodedata.category(char) in _SEPARATOR_CATEGORIES
        or char in "\t\n\r\v\f"
    )


def normalise(text: str) -> str:
    """Return the text as the checks read it: NFKC, no invisible characters, Latin look-alikes
    and ASCII digits, and one space for every run of separators."""
    text = unicodedata.normalize("NFKC", text)
    out: list[str] = []
    for char in text.translate(_LOOK_ALIKES):
        if _is_removed(char):
            continue
        if _is_separator(char):
            if out and out[-1] != SEPARATOR:
                out.append(SEPARATOR)
            continue
        digit = unicodedata.decimal(char, None)
        out.append(str(digit) if digit is not None else char)
    return "".join(out).strip(SEPARATOR)


# Participant codes ---------------------------------------------------------------------------

_C = f"[{CODE_ALPHABET}]"
# "P-7K3Q", "P7K3Q", "P 7K3Q", and spaced out, "P 7 K 3 Q"; a mixture of both ("P-hus 2")
# is ordinary text.
_CODE = re.compile(
    rf"(?<!\w)P ?(?P<tail>{_C}{{4}}|{_C} {_C} {_C} {_C})(?!\w)",
    re.IGNORECASE,
)


def _code_matches(text: str) -> bool:
    for match in _CODE.finditer(text):
        tail = match.group("tail").replace(SEPARATOR, "")
        written = match.group(0).replace(SEPARATOR, "")
        # All letters: only as the app writes codes, in capitals. "P-vakt" and "p-hus" are
        # Swedish words (a parking warden, a car park); "p-7k3q" still is a code.
        if tail.isalpha() and not written.isupper():
            continue
        return True
    return False


# Identity numbers ----------------------------------------------------------------------------

# Runs of digits with one separator between groups: "900101-1234", "19 90 01 01 1234".
_DIGIT_RUN = re.compile(r"(?<!\d)\d+(?: \d+)*(?!\d)")


def luhn_ok(digits: str) -> bool:
    """Check the last digit of a ten-digit identity number (the Luhn algorithm)."""
    total = 0
    for index, char in enumerate(digits[:-1]):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10 == int(digits[-1])


def _date_ok(digits: str) -> bool:
    """YYMMDD, with the day plus 60 of a co-ordination number (samordningsnummer)."""
    month, day = int(digits[2:4]), int(digits[4:6])
    if day > 60:
        day -= 60
    return 1 <= month <= 12 and 1 <= day <= 31


def _is_identity_number(digits: str) -> bool:
    if len(digits) == 12:
        if digits[:2] not in ("18", "19", "20"):
            return False
        digits = digits[2:]
    return len(digits) == 10 and _date_ok(digits) and luhn_ok(digits)


def _grouped_like_one(groups: list[str], date_length: int) -> bool:
    """Whether digits in these groups may be an identity number rather than a phone number.

    Swedish phone numbers start with 0 (an area code), like the numbers of people born in
    2000-2009: those count when the date ends a group and each part is one block, pairs or
    single digits ("050101-1234", "05 01 01 12 34"), never as "070-123 45 67"."""
    if len(groups) == 1 or not groups[0].startswith("0"):
        return True
    ends = [0]
    for group in groups:
        ends.append(ends[-1] + len(group))
    if date_length not in ends:
        return False
    split = ends.index(date_length)
    for part in (groups[:split], groups[split:]):
        lengths = {len(g) for g in part}
        if lengths != {1} and any(length % 2 for length in lengths):
            return False
    return True


def _number_matches(text: str) -> bool:
    for run in _DIGIT_RUN.finditer(text):
        groups = run.group(0).split(SEPARATOR)
        # Every stretch of whole groups that holds 10 or 12 digits.
        for start in range(len(groups)):
            length = 0
            for stop in range(start, len(groups)):
                length += len(groups[stop])
                if length > 12:
                    break
                if length in (10, 12):
                    part = groups[start : stop + 1]
                    if _grouped_like_one(part, length - 4) and _is_identity_number("".join(part)):
                        return True
    return False


def find_identifier(text: str) -> Identifier | None:
    """What identifying shape the text holds, after normalisation, or None."""
    if not text:
        return None
    normal = normalise(text)
    if _code_matches(normal):
        return Identifier.participant_code
    if _number_matches(normal):
        return Identifier.identity_number
    return None


def identifying_problem(text: str) -> LazyString | None:
    """Why the text may not leave the programme, or None when it identifies no one."""
    found = find_identifier(text)
    if found is Identifier.participant_code:
        return _l("This looks like a participant code. It must not leave the programme: remove it.")
    if found is Identifier.identity_number:
        return _l(
            "This looks like a personal identity number. It must not leave the programme: "
            "remove it. (A phone number is written with its area code apart: 070-123 45 67.)"
        )
    return None
