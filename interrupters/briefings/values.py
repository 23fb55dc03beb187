"""The value lists of briefings (DOMAIN.md): stable English codes, labels translated."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from interrupters.valuelists import labelled


@labelled(
    {
        "draft": _l("Draft"),
        "scheduled": _l("Scheduled"),
        "published": _l("Published"),
        "expired": _l("Expired"),
    }
)
class BriefingState(StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    published = "published"
    expired = "expired"


@labelled(
    {
        "read": _l("Read"),
        "acknowledged": _l("Acknowledged"),
    }
)
class ReceiptKind(StrEnum):
    read = "read"
    acknowledged = "acknowledged"
