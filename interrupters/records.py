"""Exactly-once creation shared by every record a phone can send (DESIGN.md, guarantee 2)."""

from __future__ import annotations

import hashlib
import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlmodel import Session, select

from interrupters.errors import DuplicateRecord, InvalidInput

Row = TypeVar("Row")


def payload_hash(data: BaseModel) -> str:
    """Hash of a record's content, to tell a replay from other content under one UUID."""
    canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def find_replay(
    *, session: Session, model: type[Row], client_uuid: str, digest: str, author: tuple[str, int]
) -> Row | None:
    """The stored record with this UUID if it is the same one again, else None.

    The same UUID with other content, or from another author, is a DuplicateRecord (409).
    """
    column = getattr(model, "client_uuid")  # noqa: B009
    existing: Any = session.exec(select(model).where(column == client_uuid)).first()
    if existing is None:
        return None
    field, author_id = author
    if getattr(existing, field) != author_id or existing.payload_hash != digest:
        raise DuplicateRecord()
    return existing


Model = TypeVar("Model", bound=BaseModel)


def validated(model: type[Model], data: dict[str, Any]) -> Model:
    """Build a service input, turning pydantic's errors into field errors (InvalidInput)."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        errors: dict[str, str] = {}
        for problem in error.errors():
            field = str(problem["loc"][0]) if problem["loc"] else "__all__"
            errors.setdefault(field, str(problem["msg"]).removeprefix("Value error, "))
        raise InvalidInput(errors) from None
