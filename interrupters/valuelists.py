"""How a domain's value list carries its translated labels, and how forms and templates read them.

Each domain keeps its value lists in its own `values.py` (stable English codes, DOMAIN.md),
decorated with `labelled({...})`; this module only keeps the register. It is shared: it
imports no domain.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

from flask_babel.speaklater import LazyString
from wtforms.fields.choices import SelectChoice

E = TypeVar("E", bound=type[StrEnum])

LABELS: dict[type[StrEnum], dict[str, LazyString]] = {}
_BY_NAME: dict[str, dict[str, LazyString]] = {}


def labelled(labels: dict[str, LazyString]) -> Callable[[E], E]:
    """Register a value list's labels; every member must have one, and no label is left over."""

    def register(enum: E) -> E:
        codes = {member.value for member in enum}
        if codes != set(labels):
            raise ValueError(f"{enum.__name__}: labels do not match the codes")
        LABELS[enum] = labels
        _BY_NAME[enum.__name__] = labels
        return enum

    return register


def choices(enum: type[StrEnum]) -> list[SelectChoice]:
    """Return the codes with their labels in the enumeration's order, for a form's choices."""
    return [SelectChoice(value=member.value, label=LABELS[enum][member.value]) for member in enum]


def label(value: str | None, enum_name: str) -> str:
    """Return the translated label of a stored code (the code itself if it is unknown)."""
    if value is None:
        return ""
    return str(_BY_NAME[enum_name].get(value, value))
