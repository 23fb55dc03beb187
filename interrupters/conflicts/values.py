"""The value lists of conflicts (DOMAIN.md): stable English codes, labels translated."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from interrupters.valuelists import labelled


@labelled(
    {
        "street": _l("On the street"),
        "participant": _l("From a participant"),
        "family": _l("From a family"),
        "school": _l("From a school"),
        "hospital": _l("From a hospital"),
        "social_media": _l("Social media"),
        "briefing": _l("A briefing"),
        "other": _l("Other way"),
    }
)
class DetectedVia(StrEnum):
    street = "street"
    participant = "participant"
    family = "family"
    school = "school"
    hospital = "hospital"
    social_media = "social_media"
    briefing = "briefing"
    other = "other"


@labelled(
    {
        "debt": _l("Debt"),
        "disrespect": _l("Disrespect"),
        "romantic": _l("Romantic"),
        "drug_market": _l("Drug market"),
        "territory": _l("Territory"),
        "online_provocation": _l("Online provocation"),
        "prior_violence": _l("Earlier violence"),
        "family": _l("Family"),
        "theft": _l("Theft"),
        "other": _l("Other cause"),
    }
)
class Catalyst(StrEnum):
    debt = "debt"
    disrespect = "disrespect"
    romantic = "romantic"
    drug_market = "drug_market"
    territory = "territory"
    online_provocation = "online_provocation"
    prior_violence = "prior_violence"
    family = "family"
    theft = "theft"
    other = "other"


@labelled(
    {
        "person_vs_person": _l("Person against person"),
        "group_vs_group": _l("Group against group"),
        "person_vs_group": _l("Person against group"),
    }
)
class ConflictType(StrEnum):
    person_vs_person = "person_vs_person"
    group_vs_group = "group_vs_group"
    person_vs_group = "person_vs_group"


@labelled(
    {
        "none_known": _l("No weapon known"),
        "rumoured": _l("Weapon rumoured"),
        "seen": _l("Weapon seen"),
        "used": _l("Weapon used"),
    }
)
class Weapon(StrEnum):
    none_known = "none_known"
    rumoured = "rumoured"
    seen = "seen"
    used = "used"


@labelled(
    {
        "1": _l("1 · Tension"),
        "2": _l("2 · Threats"),
        "3": _l("3 · High"),
        "4": _l("4 · Imminent"),
    }
)
class RiskLevel(StrEnum):
    """Stored as an integer 1-4; the codes here are the form's values."""

    tension = "1"
    threats = "2"
    high = "3"
    imminent = "4"


@labelled(
    {
        "open": _l("Open"),
        "mediating": _l("Mediating"),
        "cooling": _l("Cooling down"),
        "resolved": _l("Resolved"),
        "turned_violent": _l("Turned violent"),
        "closed_unresolved": _l("Closed, unresolved"),
    }
)
class ConflictStatus(StrEnum):
    open = "open"
    mediating = "mediating"
    cooling = "cooling"
    resolved = "resolved"
    turned_violent = "turned_violent"
    closed_unresolved = "closed_unresolved"


@labelled(
    {
        "detected": _l("Detected"),
        "info": _l("New information"),
        "level_changed": _l("Risk level changed"),
        "status_changed": _l("Status changed"),
        "mediation": _l("Mediation"),
        "follow_up": _l("Follow-up"),
        "incident": _l("Incident"),
        "participant_linked": _l("Participant linked"),
        "closed": _l("Closed"),
    }
)
class TimelineKind(StrEnum):
    detected = "detected"
    info = "info"
    level_changed = "level_changed"
    status_changed = "status_changed"
    mediation = "mediation"
    follow_up = "follow_up"
    incident = "incident"
    participant_linked = "participant_linked"
    closed = "closed"


@labelled(
    {
        "separate_parties": _l("Separate the parties"),
        "de_escalate": _l("De-escalate"),
        "reasoning_alternatives": _l("Reason about alternatives"),
        "third_party": _l("Bring in a third party"),
        "face_saving": _l("Help save face"),
        "family_friends": _l("Involve family or friends"),
        "focus_consequences": _l("Focus on consequences"),
        "return_property": _l("Return property"),
        "other": _l("Other strategy"),
    }
)
class Strategy(StrEnum):
    separate_parties = "separate_parties"
    de_escalate = "de_escalate"
    reasoning_alternatives = "reasoning_alternatives"
    third_party = "third_party"
    face_saving = "face_saving"
    family_friends = "family_friends"
    focus_consequences = "focus_consequences"
    return_property = "return_property"
    other = "other"


@labelled(
    {
        "resolved_immediately": _l("Resolved at once"),
        "temporarily_resolved": _l("Resolved for now"),
        "unresolved": _l("Unresolved"),
        "violence_occurred": _l("Violence occurred"),
        "referred": _l("Referred on"),
    }
)
class MediationOutcome(StrEnum):
    resolved_immediately = "resolved_immediately"
    temporarily_resolved = "temporarily_resolved"
    unresolved = "unresolved"
    violence_occurred = "violence_occurred"
    referred = "referred"


@labelled(
    {
        "shooting": _l("Shooting"),
        "stabbing": _l("Stabbing"),
        "assault": _l("Assault"),
        "explosion": _l("Explosion"),
        "threat": _l("Threat"),
        "large_gathering": _l("Large gathering"),
        "disorder": _l("Disorder"),
        "other": _l("Other incident"),
    }
)
class IncidentType(StrEnum):
    shooting = "shooting"
    stabbing = "stabbing"
    assault = "assault"
    explosion = "explosion"
    threat = "threat"
    large_gathering = "large_gathering"
    disorder = "disorder"
    other = "other"


@labelled(
    {
        "hospital_response": _l("Hospital response"),
        "community_response": _l("Community response"),
        "none": _l("No response"),
    }
)
class IncidentResponse(StrEnum):
    hospital_response = "hospital_response"
    community_response = "community_response"
    none = "none"


@labelled(
    {
        "vigil": _l("Vigil"),
        "community_meeting": _l("Community meeting"),
        "march": _l("March"),
        "norm_campaign": _l("Norm campaign"),
        "safe_passage": _l("Safe passage"),
        "other": _l("Other response"),
    }
)
class CommunityResponseKind(StrEnum):
    """The programme's third prong: the community answering violence."""

    vigil = "vigil"
    community_meeting = "community_meeting"
    march = "march"
    norm_campaign = "norm_campaign"
    safe_passage = "safe_passage"
    other = "other"
