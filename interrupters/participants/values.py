"""The value lists of participants (DOMAIN.md): stable English codes, labels translated."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from interrupters.valuelists import labelled


@labelled(
    {
        "<15": _l("under 15"),
        "15-17": _l("15-17"),
        "18-20": _l("18-20"),
        "21-24": _l("21-24"),
        "25+": _l("25 or older"),
    }
)
class AgeBand(StrEnum):
    under_15 = "<15"
    age_15_17 = "15-17"
    age_18_20 = "18-20"
    age_21_24 = "21-24"
    age_25_plus = "25+"


@labelled(
    {
        "female": _l("Girl or woman"),
        "male": _l("Boy or man"),
        "other": _l("Other"),
    }
)
class Gender(StrEnum):
    female = "female"
    male = "male"
    other = "other"


@labelled(
    {
        "prospect": _l("Prospect"),
        "active": _l("Active"),
        "paused": _l("Paused"),
        "exited": _l("Exited"),
    }
)
class ParticipantStatus(StrEnum):
    prospect = "prospect"
    active = "active"
    paused = "paused"
    exited = "exited"


@labelled(
    {
        "high": _l("High risk"),
        "medium": _l("Medium risk"),
        "low": _l("Low risk"),
    }
)
class RiskTier(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


@labelled(
    {
        "education": _l("Education"),
        "employment": _l("Employment"),
        "housing": _l("Housing"),
        "substance_treatment": _l("Substance treatment"),
        "mental_health": _l("Mental health"),
        "family": _l("Family"),
        "leave_group": _l("Leave the group"),
    }
)
class Goal(StrEnum):
    education = "education"
    employment = "employment"
    housing = "housing"
    substance_treatment = "substance_treatment"
    mental_health = "mental_health"
    family = "family"
    leave_group = "leave_group"


@labelled(
    {
        "goals_met": _l("Goals met"),
        "moved": _l("Moved away"),
        "not_seen_in_area": _l("Not seen in the area"),
        "unavailable": _l("Unavailable"),
        "deceased": _l("Deceased"),
        "withdrew": _l("Withdrew"),
        "transferred": _l("Transferred"),
    }
)
class ExitReason(StrEnum):
    goals_met = "goals_met"
    moved = "moved"
    not_seen_in_area = "not_seen_in_area"
    unavailable = "unavailable"
    deceased = "deceased"
    withdrew = "withdrew"
    transferred = "transferred"
