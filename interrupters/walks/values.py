"""The value lists of walks (DOMAIN.md): stable English codes, labels translated."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from interrupters.valuelists import labelled


@labelled(
    {
        "planned": _l("Planned"),
        "in_progress": _l("Under way"),
        "completed": _l("Completed"),
        "cancelled": _l("Cancelled"),
    }
)
class WalkState(StrEnum):
    planned = "planned"
    in_progress = "in_progress"
    completed = "completed"
    cancelled = "cancelled"


@labelled(
    {
        "0": _l("None"),
        "1-10": _l("1–10"),  # noqa: RUF001 (a range)
        "11-25": _l("11–25"),  # noqa: RUF001 (a range)
        "26-50": _l("26–50"),  # noqa: RUF001 (a range)
        "51-100": _l("51–100"),  # noqa: RUF001 (a range)
        "100+": _l("Over 100"),
    }
)
class YouthsMet(StrEnum):
    none = "0"
    few = "1-10"
    some = "11-25"
    many = "26-50"
    crowd = "51-100"
    very_many = "100+"


@labelled(
    {
        "under_13": _l("Under 13"),
        "13_15": _l("13–15"),  # noqa: RUF001 (a range)
        "16_17": _l("16–17"),  # noqa: RUF001 (a range)
        "18_plus": _l("18 or older"),
    }
)
class AgeImpression(StrEnum):
    under_13 = "under_13"
    age_13_15 = "13_15"
    age_16_17 = "16_17"
    adults = "18_plus"


@labelled(
    {
        "calm": _l("Calm"),
        "lively": _l("Lively"),
        "tense": _l("Tense"),
        "unsafe": _l("Unsafe"),
    }
)
class Atmosphere(StrEnum):
    calm = "calm"
    lively = "lively"
    tense = "tense"
    unsafe = "unsafe"


@labelled(
    {
        "alcohol": _l("Alcohol"),
        "cannabis_smell": _l("Smell of cannabis"),
        "large_gathering": _l("Large gathering"),
        "fight": _l("Fight"),
        "threats": _l("Threats"),
        "weapon_seen": _l("Weapon seen"),
        "vandalism": _l("Vandalism"),
        "fire": _l("Fire"),
        "injured_person": _l("Injured person"),
        "vulnerable_youth": _l("Young person in a vulnerable situation"),
    }
)
class Observation(StrEnum):
    alcohol = "alcohol"
    cannabis_smell = "cannabis_smell"
    large_gathering = "large_gathering"
    fight = "fight"
    threats = "threats"
    weapon_seen = "weapon_seen"
    vandalism = "vandalism"
    fire = "fire"
    injured_person = "injured_person"
    vulnerable_youth = "vulnerable_youth"


@labelled(
    {
        "talked_with_youth": _l("Talked with young people"),
        "first_aid": _l("Gave first aid"),
        "called_112": _l("Called 112"),
        "called_114_14": _l("Called 114 14"),
        "contacted_field_assistants": _l("Contacted the field assistants"),
        "contacted_guards": _l("Contacted the guards"),
        "accompanied_to_transport": _l("Walked someone to transport"),
        "reported_environment_fault": _l("Reported a fault in the environment"),
    }
)
class WalkAction(StrEnum):
    talked_with_youth = "talked_with_youth"
    first_aid = "first_aid"
    called_112 = "called_112"
    called_114_14 = "called_114_14"
    contacted_field_assistants = "contacted_field_assistants"
    contacted_guards = "contacted_guards"
    accompanied_to_transport = "accompanied_to_transport"
    reported_environment_fault = "reported_environment_fault"


@labelled(
    {
        "lighting": _l("Lighting"),
        "graffiti": _l("Graffiti"),
        "litter": _l("Litter"),
        "broken_fixture": _l("Something broken"),
    }
)
class EnvironmentFault(StrEnum):
    lighting = "lighting"
    graffiti = "graffiti"
    litter = "litter"
    broken_fixture = "broken_fixture"
