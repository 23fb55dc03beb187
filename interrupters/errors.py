"""Errors services raise; they are HTTP exceptions so a view needs no translation layer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
