"""The value lists of places (DOMAIN.md): stable English codes, labels translated."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from interrupters.valuelists import labelled


@labelled(
    {
        "centrum": _l("Centre"),
        "square": _l("Square"),
        "metro_station": _l("Metro station"),
        "bus_terminal": _l("Bus terminal"),
        "youth_centre": _l("Youth centre"),
        "park": _l("Park"),
        "school_yard": _l("School yard"),
        "sports_ground": _l("Sports ground"),
        "shopping_mall": _l("Shopping mall"),
        "fast_food": _l("Fast food place"),
        "other": _l("Other kind of place"),
    }
)
class PlaceType(StrEnum):
    centrum = "centrum"
    square = "square"
    metro_station = "metro_station"
    bus_terminal = "bus_terminal"
    youth_centre = "youth_centre"
    park = "park"
    school_yard = "school_yard"
    sports_ground = "sports_ground"
    shopping_mall = "shopping_mall"
    fast_food = "fast_food"
    other = "other"


@labelled(
    {
        "calm": _l("Calm"),
        "watch": _l("Watch"),
        "tense": _l("Tense"),
        "avoid": _l("Avoid"),
    }
)
class PlaceStatus(StrEnum):
    calm = "calm"
    watch = "watch"
    tense = "tense"
    avoid = "avoid"
