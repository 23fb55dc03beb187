"""The value lists of contacts (DOMAIN.md): stable English codes, labels translated."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from interrupters.valuelists import labelled


@labelled(
    {
        "participant": _l("Participant"),
        "person": _l("Unregistered person"),
        "group": _l("Group"),
    }
)
class ContactSubject(StrEnum):
    participant = "participant"
    person = "person"
    group = "group"


@labelled(
    {
        "street": _l("Street"),
        "home_visit": _l("Home visit"),
        "phone": _l("Phone call"),
        "text": _l("Text message"),
        "hospital": _l("Hospital"),
        "school": _l("School"),
        "service_escort": _l("Escort to a service"),
        "group_activity": _l("Group activity"),
        "community_event": _l("Community event"),
    }
)
class ContactKind(StrEnum):
    street = "street"
    home_visit = "home_visit"
    phone = "phone"
    text = "text"
    hospital = "hospital"
    school = "school"
    service_escort = "service_escort"
    group_activity = "group_activity"
    community_event = "community_event"


@labelled(
    {
        "relationship": _l("Build the relationship"),
        "check_in": _l("Check in"),
        "mediation_followup": _l("Mediation follow-up"),
        "referral": _l("Referral"),
        "crisis": _l("Crisis"),
        "norm_message": _l("Norm message"),
    }
)
class ContactPurpose(StrEnum):
    relationship = "relationship"
    check_in = "check_in"
    mediation_followup = "mediation_followup"
    referral = "referral"
    crisis = "crisis"
    norm_message = "norm_message"


@labelled(
    {
        "job_training": _l("Job training"),
        "education": _l("Education"),
        "substance_treatment": _l("Substance treatment"),
        "mental_health": _l("Mental health"),
        "victim_support": _l("Victim support"),
        "social_services": _l("Social services"),
        "youth_mediation": _l("Youth mediation (medling)"),
        "housing": _l("Housing"),
        "other": _l("Other referral"),
    }
)
class Referral(StrEnum):
    job_training = "job_training"
    education = "education"
    substance_treatment = "substance_treatment"
    mental_health = "mental_health"
    victim_support = "victim_support"
    social_services = "social_services"
    youth_mediation = "youth_mediation"
    housing = "housing"
    other = "other"


@labelled(
    {
        "submitted": _l("Waiting for review"),
        "approved": _l("Approved"),
        "returned": _l("Returned"),
        "corrected": _l("Corrected"),
    }
)
class ReviewState(StrEnum):
    submitted = "submitted"
    approved = "approved"
    returned = "returned"
    corrected = "corrected"


@labelled(
    {
        "approved": _l("Approved"),
        "returned": _l("Returned"),
    }
)
class ReviewDecision(StrEnum):
    approved = "approved"
    returned = "returned"
