"""The value lists of picture (DOMAIN.md): stable English codes, labels translated."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from interrupters.valuelists import labelled


@labelled(
    {
        "walk_report": _l("Walk report"),
        "interrupter_signal": _l("Place signal"),
        "field_assistants": _l("Field assistants"),
        "guards": _l("Guards"),
        "police_liaison": _l("Police liaison"),
        "residents_meeting": _l("Residents' meeting"),
        "other": _l("Other source"),
    }
)
class ObservationSource(StrEnum):
    walk_report = "walk_report"
    interrupter_signal = "interrupter_signal"
    field_assistants = "field_assistants"
    guards = "guards"
    police_liaison = "police_liaison"
    residents_meeting = "residents_meeting"
    other = "other"


@labelled(
    {
        "gathering": _l("Gathering"),
        "tension_between_groups": _l("Tension between groups"),
        "fight": _l("Fight"),
        "threats": _l("Threats"),
        "weapon_seen": _l("Weapon seen"),
        "drug_dealing_visible": _l("Visible drug dealing"),
        "vandalism": _l("Vandalism"),
        "fire": _l("Fire"),
        "residents_worried": _l("Residents worried"),
        "environment_fault": _l("Fault in the environment"),
        "calm_evening": _l("Calm evening"),
    }
)
class ObservationKind(StrEnum):
    gathering = "gathering"
    tension_between_groups = "tension_between_groups"
    fight = "fight"
    threats = "threats"
    weapon_seen = "weapon_seen"
    drug_dealing_visible = "drug_dealing_visible"
    vandalism = "vandalism"
    fire = "fire"
    residents_worried = "residents_worried"
    environment_fault = "environment_fault"
    calm_evening = "calm_evening"


@labelled(
    {
        "1": _l("Noted"),
        "2": _l("Concerning"),
        "3": _l("Serious"),
    }
)
class Severity(StrEnum):
    noted = "1"
    concerning = "2"
    serious = "3"


@labelled(
    {
        "open": _l("Open"),
        "closed": _l("Closed"),
    }
)
class PeriodState(StrEnum):
    open = "open"
    closed = "closed"


@labelled(
    {
        "field_assistant_presence": _l("Field assistants present"),
        "night_walk_focus": _l("Night walks focus here"),
        "guards": _l("Guards"),
        "lighting_repair": _l("Repair the lighting"),
        "cleaning": _l("Cleaning"),
        "youth_activity": _l("Youth activity"),
        "residents_meeting": _l("Residents' meeting"),
        "other": _l("Other action"),
    }
)
class ActionKind(StrEnum):
    field_assistant_presence = "field_assistant_presence"
    night_walk_focus = "night_walk_focus"
    guards = "guards"
    lighting_repair = "lighting_repair"
    cleaning = "cleaning"
    youth_activity = "youth_activity"
    residents_meeting = "residents_meeting"
    other = "other"


@labelled(
    {
        "planned": _l("Planned"),
        "done": _l("Done"),
        "dropped": _l("Dropped"),
    }
)
class ActionStatus(StrEnum):
    planned = "planned"
    done = "done"
    dropped = "dropped"


@labelled(
    {
        "new": _l("New this period"),
        "rising": _l("Rising"),
        "steady": _l("As usual"),
        "falling": _l("Falling"),
        "quiet": _l("Quiet"),
    }
)
class Trend(StrEnum):
    """A place's observations this period against its own previous eight weeks."""

    new = "new"
    rising = "rising"
    steady = "steady"
    falling = "falling"
    quiet = "quiet"
