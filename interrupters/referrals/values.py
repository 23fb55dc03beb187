"""The value lists of referrals (DOMAIN.md): stable English codes, labels translated."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from interrupters.valuelists import labelled


@labelled(
    {
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
    }
)
class ServiceKind(StrEnum):
    victim_support_centre = "victim_support_centre"
    youth_mediation = "youth_mediation"
    social_services = "social_services"
    social_emergency = "social_emergency"
    relationship_violence_centre = "relationship_violence_centre"
    exit_programme = "exit_programme"
    youth_psychiatry = "youth_psychiatry"
    addiction_care = "addiction_care"
    employment = "employment"
    education = "education"
    housing = "housing"
    other = "other"


@labelled(
    {
        "made": _l("Referral made"),
        "contact_made": _l("Contact made"),
        "started": _l("Started"),
        "completed": _l("Completed"),
        "declined": _l("Declined"),
        "no_response": _l("No response"),
        "withdrawn": _l("Withdrawn"),
    }
)
class ReferralStatus(StrEnum):
    made = "made"
    contact_made = "contact_made"
    started = "started"
    completed = "completed"
    declined = "declined"
    no_response = "no_response"
    withdrawn = "withdrawn"


@labelled(
    {
        "worker_contacts_service": _l("The worker contacts the service for the participant"),
        "service_contacts_participant": _l("The service may contact the participant"),
        "worker_accompanies": _l("The worker goes along to the first meeting"),
    }
)
class ConsentScope(StrEnum):
    worker_contacts_service = "worker_contacts_service"
    service_contacts_participant = "service_contacts_participant"
    worker_accompanies = "worker_accompanies"
