"""The value lists of auth (DOMAIN.md): stable English codes, labels translated."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from interrupters.valuelists import labelled


@labelled(
    {
        "admin": _l("Administrator"),
        "supervisor": _l("Supervisor"),
        "interrupter": _l("Violence interrupter"),
        "briefing_author": _l("Briefing author"),
        "association_lead": _l("Association lead"),
        "night_walker": _l("Night walker"),
        "researcher": _l("Researcher"),
    }
)
class Role(StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    interrupter = "interrupter"
    briefing_author = "briefing_author"
    association_lead = "association_lead"
    night_walker = "night_walker"
    researcher = "researcher"


@labelled(
    {
        "cv_programme": _l("Violence interruption programme"),
        "night_walk_association": _l("Night-walk association"),
        "municipal_unit": _l("Municipal unit"),
        "police_partner": _l("Police partner"),
        "other": _l("Other kind of organisation"),
    }
)
class OrganisationType(StrEnum):
    cv_programme = "cv_programme"
    night_walk_association = "night_walk_association"
    municipal_unit = "municipal_unit"
    police_partner = "police_partner"
    other = "other"
