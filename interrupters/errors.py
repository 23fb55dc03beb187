"""Errors services raise; they are HTTP exceptions so a view needs no translation layer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from pydantic import ValidationError
from werkzeug.exceptions import Conflict, Forbidden, NotFound


class NotVisible(NotFound):
    """The record does not exist for this person (404: its existence is itself sensitive)."""


class NotAllowed(Forbidden):
    """The person may see the record but not do this to it."""


class InvalidState(Conflict):
    """The record is not in a state that allows this (reviewed already, closed, ...)."""


class DuplicateRecord(InvalidState):
    """A record's UUID is known with other content (HTTP 409): never overwrite, ask the user."""


class InvalidInput(ValueError):
    """Input refused by a service, by field. Messages may be lazy: they are translated when
    shown, in the reader's language, so services need no request or locale."""

    def __init__(self, errors: Mapping[str, Any]) -> None:
        super().__init__(sorted(errors))
        self.errors = dict(errors)

    @classmethod
    def from_validation(cls, error: ValidationError) -> InvalidInput:
        """Pydantic's errors as field errors in the reader's language (the first per field)."""
        errors: dict[str, Any] = {}
        for problem in error.errors():
            field = str(problem["loc"][0]) if problem["loc"] else "__all__"
            errors.setdefault(field, validation_message(problem))
        return cls(errors)


# Pydantic writes its messages in English ("String should have at most 280 characters"); a
# person reads one of these instead (issue 10: no English in Swedish).
_RANGES = ("date", "datetime", "time", "timezone")


def validation_message(problem: Mapping[str, Any]) -> Any:
    """A lazy, translated message for one of pydantic's errors."""
    kind = str(problem.get("type", ""))
    context = problem.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        # Our own validators raise translated (lazy) messages: keep them, without the prefix.
        error = context.get("error")
        if isinstance(error, Exception) and error.args:
            return error.args[0]
        return str(problem.get("msg", "")).removeprefix("Value error, ")
    if kind == "missing":
        return _l("Fill this in.")
    if kind == "string_too_long":
        return _l("Use at most %(count)d characters.", count=int(context.get("max_length", 0)))
    if kind == "string_too_short":
        return _l("Use at least %(count)d characters.", count=int(context.get("min_length", 0)))
    if kind == "too_long":
        return _l("Choose at most %(count)d.", count=int(context.get("max_length", 0)))
    if kind in ("greater_than_equal", "greater_than"):
        return _l("The least is %(limit)s.", limit=context.get("ge", context.get("gt", "")))
    if kind in ("less_than_equal", "less_than"):
        return _l("The most is %(limit)s.", limit=context.get("le", context.get("lt", "")))
    if kind.startswith(("int_", "float_", "decimal_")):
        return _l("Give a number.")
    if kind in ("enum", "literal_error"):
        return _l("Choose from the list.")
    if kind.startswith(_RANGES):
        return _l("Give a valid date and time.")
    return _l("This value is not valid.")
