"""Form pieces several domains share."""

from __future__ import annotations

from typing import Any, TypeVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session
from werkzeug.datastructures import MultiDict
from wtforms import Form, SelectMultipleField, widgets
from wtforms.fields.choices import SelectChoice

from interrupters.errors import InvalidInput
from interrupters.places.models import Place
from interrupters.places.services import areas_with_places


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes for a multiple choice (rendered as chips)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def options(pairs: Any, optgroup: str | None = None) -> list[SelectChoice]:
    """Turn (value, label) pairs into WTForms choices (tuples are deprecated in WTForms 3.3)."""
    return [
        SelectChoice(value=str(value), label=label, optgroup=optgroup) for value, label in pairs
    ]


def blank(choices: list[SelectChoice], label: Any = "—") -> list[SelectChoice]:
    """Prepend an empty choice for an optional select."""
    return [SelectChoice(value="", label=label), *choices]


def location_choices(*, session: Session) -> list[SelectChoice]:
    """Places grouped by area, and "elsewhere in <area>" for each: "place:<id>" or "area:<id>"."""
    choices: list[SelectChoice] = []
    for group in areas_with_places(session=session):
        pairs = [(f"place:{p.id}", p.name) for p in group.places]
        pairs.append((f"area:{group.area.id}", _("Elsewhere in %(area)s", area=group.area.name)))
        choices += options(pairs, optgroup=f"{group.area.name} · {group.district.name}")
    return choices


def location_value(area_id: int | None, place_id: int | None) -> str | None:
    """The location select's value for an area and place."""
    if place_id is not None:
        return f"place:{place_id}"
    if area_id is not None:
        return f"area:{area_id}"
    return None


def parse_location(value: str, *, session: Session) -> tuple[int, int | None]:
    """(area_id, place_id) of a location select's value."""
    kind, _sep, raw = (value or "").partition(":")
    if not raw.isdigit():
        raise InvalidInput({"location": _l("Choose a place.")})
    if kind == "place":
        place = session.get(Place, int(raw))
        if place is None:
            raise InvalidInput({"location": _l("Choose a place.")})
        return place.area_id, place.id
    return int(raw), None


FormT = TypeVar("FormT", bound=Form)


def form_from_payload(
    form_class: type[FormT], payload: dict[str, Any], *, strict: bool = True
) -> FormT:
    """A record's form filled from an outbox payload, without CSRF (the request had it).

    Strict (receiving a record): a list where the form takes one value is refused, since the
    form would quietly take the first. Not strict: a held record shown for correction.
    """
    form = form_class(formdata=formdata_of(payload), meta={"csrf": False})
    if not strict:
        return form
    errors = {
        name: _l("Choose one.")
        for name, value in payload.items()
        if isinstance(value, list)
        and len(value) != 1
        and name in form
        and not isinstance(form[name], SelectMultipleField)
    }
    if errors:
        raise InvalidInput(errors)
    return form


def formdata_of(payload: dict[str, Any]) -> MultiDict[str, str]:
    """An outbox payload (the form's own field names; lists for repeated ones) as form data."""
    data: MultiDict[str, str] = MultiDict()
    for key, value in payload.items():
        for item in value if isinstance(value, list) else [value]:
            data.add(key, "" if item is None else str(item))
    return data
