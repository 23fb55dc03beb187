"""Translated labels for every stored code; templates and forms read them from here."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from wtforms.fields.choices import SelectChoice

from interrupters import enums as e

LABELS: dict[type[StrEnum], dict[str, LazyString]] = {
    e.Role: {
        "admin": _l("Administrator"),
        "supervisor": _l("Supervisor"),
        "interrupter": _l("Violence interrupter"),
        "briefing_author": _l("Briefing author"),
        "association_lead": _l("Association lead"),
        "night_walker": _l("Night walker"),
        "researcher": _l("Researcher"),
    },
    e.OrganisationType: {
        "cv_programme": _l("Violence interruption programme"),
        "night_walk_association": _l("Night-walk association"),
        "municipal_unit": _l("Municipal unit"),
        "police_partner": _l("Police partner"),
        "other": _l("Other kind of organisation"),
    },
    e.PlaceType: {
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
    },
    e.PlaceStatus: {
        "calm": _l("Calm"),
        "watch": _l("Watch"),
        "tense": _l("Tense"),
        "avoid": _l("Avoid"),
    },
    e.AgeBand: {
        "<15": _l("under 15"),
        "15-17": _l("15-17"),
        "18-20": _l("18-20"),
        "21-24": _l("21-24"),
        "25+": _l("25 or older"),
    },
    e.Gender: {
        "female": _l("Girl or woman"),
        "male": _l("Boy or man"),
        "other": _l("Other"),
    },
    e.ParticipantStatus: {
        "prospect": _l("Prospect"),
        "active": _l("Active"),
        "paused": _l("Paused"),
        "exited": _l("Exited"),
    },
    e.RiskTier: {
        "high": _l("High risk"),
        "medium": _l("Medium risk"),
        "low": _l("Low risk"),
    },
    e.Goal: {
        "education": _l("Education"),
        "employment": _l("Employment"),
        "housing": _l("Housing"),
        "substance_treatment": _l("Substance treatment"),
        "mental_health": _l("Mental health"),
        "family": _l("Family"),
        "leave_group": _l("Leave the group"),
    },
    e.ExitReason: {
        "goals_met": _l("Goals met"),
        "moved": _l("Moved away"),
        "not_seen_in_area": _l("Not seen in the area"),
        "unavailable": _l("Unavailable"),
        "deceased": _l("Deceased"),
        "withdrew": _l("Withdrew"),
        "transferred": _l("Transferred"),
    },
    e.ContactSubject: {
        "participant": _l("Participant"),
        "person": _l("Unregistered person"),
        "group": _l("Group"),
    },
    e.ContactKind: {
        "street": _l("Street"),
        "home_visit": _l("Home visit"),
        "phone": _l("Phone call"),
        "text": _l("Text message"),
        "hospital": _l("Hospital"),
        "school": _l("School"),
        "service_escort": _l("Escort to a service"),
        "group_activity": _l("Group activity"),
        "community_event": _l("Community event"),
    },
    e.ContactPurpose: {
        "relationship": _l("Build the relationship"),
        "check_in": _l("Check in"),
        "mediation_followup": _l("Mediation follow-up"),
        "referral": _l("Referral"),
        "crisis": _l("Crisis"),
        "norm_message": _l("Norm message"),
    },
    e.Referral: {
        "job_training": _l("Job training"),
        "education": _l("Education"),
        "substance_treatment": _l("Substance treatment"),
        "mental_health": _l("Mental health"),
        "victim_support": _l("Victim support"),
        "social_services": _l("Social services"),
        "youth_mediation": _l("Youth mediation (medling)"),
        "housing": _l("Housing"),
        "other": _l("Other referral"),
    },
    e.ReviewState: {
        "submitted": _l("Waiting for review"),
        "approved": _l("Approved"),
        "returned": _l("Returned"),
        "corrected": _l("Corrected"),
    },
    e.ReviewDecision: {
        "approved": _l("Approved"),
        "returned": _l("Returned"),
    },
    e.DetectedVia: {
        "street": _l("On the street"),
        "participant": _l("From a participant"),
        "family": _l("From a family"),
        "school": _l("From a school"),
        "hospital": _l("From a hospital"),
        "social_media": _l("Social media"),
        "briefing": _l("A briefing"),
        "other": _l("Other way"),
    },
    e.Catalyst: {
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
    },
    e.ConflictType: {
        "person_vs_person": _l("Person against person"),
        "group_vs_group": _l("Group against group"),
        "person_vs_group": _l("Person against group"),
    },
    e.Weapon: {
        "none_known": _l("No weapon known"),
        "rumoured": _l("Weapon rumoured"),
        "seen": _l("Weapon seen"),
        "used": _l("Weapon used"),
    },
    e.RiskLevel: {
        "1": _l("1 · Tension"),
        "2": _l("2 · Threats"),
        "3": _l("3 · High"),
        "4": _l("4 · Imminent"),
    },
    e.ConflictStatus: {
        "open": _l("Open"),
        "mediating": _l("Mediating"),
        "cooling": _l("Cooling down"),
        "resolved": _l("Resolved"),
        "turned_violent": _l("Turned violent"),
        "closed_unresolved": _l("Closed, unresolved"),
    },
    e.TimelineKind: {
        "detected": _l("Detected"),
        "info": _l("New information"),
        "level_changed": _l("Risk level changed"),
        "status_changed": _l("Status changed"),
        "mediation": _l("Mediation"),
        "follow_up": _l("Follow-up"),
        "incident": _l("Incident"),
        "participant_linked": _l("Participant linked"),
        "closed": _l("Closed"),
    },
    e.Strategy: {
        "separate_parties": _l("Separate the parties"),
        "de_escalate": _l("De-escalate"),
        "reasoning_alternatives": _l("Reason about alternatives"),
        "third_party": _l("Bring in a third party"),
        "face_saving": _l("Help save face"),
        "family_friends": _l("Involve family or friends"),
        "focus_consequences": _l("Focus on consequences"),
        "return_property": _l("Return property"),
        "other": _l("Other strategy"),
    },
    e.MediationOutcome: {
        "resolved_immediately": _l("Resolved at once"),
        "temporarily_resolved": _l("Resolved for now"),
        "unresolved": _l("Unresolved"),
        "violence_occurred": _l("Violence occurred"),
        "referred": _l("Referred on"),
    },
    e.IncidentType: {
        "shooting": _l("Shooting"),
        "stabbing": _l("Stabbing"),
        "assault": _l("Assault"),
        "explosion": _l("Explosion"),
        "threat": _l("Threat"),
        "large_gathering": _l("Large gathering"),
        "disorder": _l("Disorder"),
        "other": _l("Other incident"),
    },
    e.IncidentResponse: {
        "hospital_response": _l("Hospital response"),
        "community_response": _l("Community response"),
        "none": _l("No response"),
    },
    e.CommunityResponseKind: {
        "vigil": _l("Vigil"),
        "community_meeting": _l("Community meeting"),
        "march": _l("March"),
        "norm_campaign": _l("Norm campaign"),
        "safe_passage": _l("Safe passage"),
        "other": _l("Other response"),
    },
    e.BriefingState: {
        "draft": _l("Draft"),
        "scheduled": _l("Scheduled"),
        "published": _l("Published"),
        "expired": _l("Expired"),
    },
    e.ReceiptKind: {
        "read": _l("Read"),
        "acknowledged": _l("Acknowledged"),
    },
    e.WalkState: {
        "planned": _l("Planned"),
        "in_progress": _l("Under way"),
        "completed": _l("Completed"),
        "cancelled": _l("Cancelled"),
    },
    e.YouthsMet: {
        "0": _l("None"),
        "1-10": _l("1–10"),  # noqa: RUF001 (a range)
        "11-25": _l("11–25"),  # noqa: RUF001 (a range)
        "26-50": _l("26–50"),  # noqa: RUF001 (a range)
        "51-100": _l("51–100"),  # noqa: RUF001 (a range)
        "100+": _l("Over 100"),
    },
    e.AgeImpression: {
        "under_13": _l("Under 13"),
        "13_15": _l("13–15"),  # noqa: RUF001 (a range)
        "16_17": _l("16–17"),  # noqa: RUF001 (a range)
        "18_plus": _l("18 or older"),
    },
    e.Atmosphere: {
        "calm": _l("Calm"),
        "lively": _l("Lively"),
        "tense": _l("Tense"),
        "unsafe": _l("Unsafe"),
    },
    e.Observation: {
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
    },
    e.WalkAction: {
        "talked_with_youth": _l("Talked with young people"),
        "first_aid": _l("Gave first aid"),
        "called_112": _l("Called 112"),
        "called_114_14": _l("Called 114 14"),
        "contacted_field_assistants": _l("Contacted the field assistants"),
        "contacted_guards": _l("Contacted the guards"),
        "accompanied_to_transport": _l("Walked someone to transport"),
        "reported_environment_fault": _l("Reported a fault in the environment"),
    },
    e.EnvironmentFault: {
        "lighting": _l("Lighting"),
        "graffiti": _l("Graffiti"),
        "litter": _l("Litter"),
        "broken_fixture": _l("Something broken"),
    },
    e.ServiceKind: {
        "victim_support_centre": _l("Victim support centre"),
        "youth_mediation": _l("Youth mediation (Lag 2002:445)"),
        "social_services": _l("Social services"),
        "social_emergency": _l("Social emergency service (socialjouren)"),
        "relationship_violence_centre": _l("Relationship-violence centre"),
        "exit_programme": _l("Exit programme"),
        "youth_psychiatry": _l("Youth psychiatry"),
        "addiction_care": _l("Addiction care"),
        "employment": _l("Employment"),
        "education": _l("Education"),
        "housing": _l("Housing"),
        "other": _l("Other service"),
    },
    e.ReferralStatus: {
        "made": _l("Referral made"),
        "contact_made": _l("Contact made"),
        "started": _l("Started"),
        "completed": _l("Completed"),
        "declined": _l("Declined"),
        "no_response": _l("No response"),
        "withdrawn": _l("Withdrawn"),
    },
    e.ConsentScope: {
        "worker_contacts_service": _l("The worker contacts the service for the participant"),
        "service_contacts_participant": _l("The service may contact the participant"),
        "worker_accompanies": _l("The worker goes along to the first meeting"),
    },
    e.ObservationSource: {
        "walk_report": _l("Walk report"),
        "interrupter_signal": _l("Place signal"),
        "field_assistants": _l("Field assistants"),
        "guards": _l("Guards"),
        "police_liaison": _l("Police liaison"),
        "residents_meeting": _l("Residents' meeting"),
        "other": _l("Other source"),
    },
    e.ObservationKind: {
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
    },
    e.Severity: {
        "1": _l("Noted"),
        "2": _l("Concerning"),
        "3": _l("Serious"),
    },
    e.PeriodState: {
        "open": _l("Open"),
        "closed": _l("Closed"),
    },
    e.ActionKind: {
        "field_assistant_presence": _l("Field assistants present"),
        "night_walk_focus": _l("Night walks focus here"),
        "guards": _l("Guards"),
        "lighting_repair": _l("Repair the lighting"),
        "cleaning": _l("Cleaning"),
        "youth_activity": _l("Youth activity"),
        "residents_meeting": _l("Residents' meeting"),
        "other": _l("Other action"),
    },
    e.ActionStatus: {
        "planned": _l("Planned"),
        "done": _l("Done"),
        "dropped": _l("Dropped"),
    },
    e.Trend: {
        "new": _l("New this period"),
        "rising": _l("Rising"),
        "steady": _l("As usual"),
        "falling": _l("Falling"),
        "quiet": _l("Quiet"),
    },
}

_BY_NAME = {enum.__name__: labels for enum, labels in LABELS.items()}


def choices(enum: type[StrEnum]) -> list[SelectChoice]:
    """Return the codes with their labels in the enumeration's order, for a form's choices."""
    return [SelectChoice(value=member.value, label=LABELS[enum][member.value]) for member in enum]


def label(value: str | None, enum_name: str) -> str:
    """Return the translated label of a stored code (the code itself if it is unknown)."""
    if value is None:
        return ""
    return str(_BY_NAME[enum_name].get(value, value))
