"""Stable English codes for every value list (DOMAIN.md); labels are translated in `labels.py`."""

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    interrupter = "interrupter"
    briefing_author = "briefing_author"
    association_lead = "association_lead"
    night_walker = "night_walker"
    researcher = "researcher"


class OrganisationType(StrEnum):
    cv_programme = "cv_programme"
    night_walk_association = "night_walk_association"
    municipal_unit = "municipal_unit"
    police_partner = "police_partner"
    other = "other"


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


class PlaceStatus(StrEnum):
    calm = "calm"
    watch = "watch"
    tense = "tense"
    avoid = "avoid"


class AgeBand(StrEnum):
    under_15 = "<15"
    age_15_17 = "15-17"
    age_18_20 = "18-20"
    age_21_24 = "21-24"
    age_25_plus = "25+"


class Gender(StrEnum):
    female = "female"
    male = "male"
    other = "other"


class ParticipantStatus(StrEnum):
    prospect = "prospect"
    active = "active"
    paused = "paused"
    exited = "exited"


class RiskTier(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


class Goal(StrEnum):
    education = "education"
    employment = "employment"
    housing = "housing"
    substance_treatment = "substance_treatment"
    mental_health = "mental_health"
    family = "family"
    leave_group = "leave_group"


class ExitReason(StrEnum):
    goals_met = "goals_met"
    moved = "moved"
    not_seen_in_area = "not_seen_in_area"
    unavailable = "unavailable"
    deceased = "deceased"
    withdrew = "withdrew"
    transferred = "transferred"


class ContactSubject(StrEnum):
    participant = "participant"
    person = "person"
    group = "group"


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


class ContactPurpose(StrEnum):
    relationship = "relationship"
    check_in = "check_in"
    mediation_followup = "mediation_followup"
    referral = "referral"
    crisis = "crisis"
    norm_message = "norm_message"


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


class ReviewState(StrEnum):
    submitted = "submitted"
    approved = "approved"
    returned = "returned"
    corrected = "corrected"


class ReviewDecision(StrEnum):
    approved = "approved"
    returned = "returned"


class DetectedVia(StrEnum):
    street = "street"
    participant = "participant"
    family = "family"
    school = "school"
    hospital = "hospital"
    social_media = "social_media"
    briefing = "briefing"
    other = "other"


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


class ConflictType(StrEnum):
    person_vs_person = "person_vs_person"
    group_vs_group = "group_vs_group"
    person_vs_group = "person_vs_group"


class Weapon(StrEnum):
    none_known = "none_known"
    rumoured = "rumoured"
    seen = "seen"
    used = "used"


class RiskLevel(StrEnum):
    """Stored as an integer 1-4; the codes here are the form's values."""

    tension = "1"
    threats = "2"
    high = "3"
    imminent = "4"


class ConflictStatus(StrEnum):
    open = "open"
    mediating = "mediating"
    cooling = "cooling"
    resolved = "resolved"
    turned_violent = "turned_violent"
    closed_unresolved = "closed_unresolved"


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


class MediationOutcome(StrEnum):
    resolved_immediately = "resolved_immediately"
    temporarily_resolved = "temporarily_resolved"
    unresolved = "unresolved"
    violence_occurred = "violence_occurred"
    referred = "referred"


class IncidentType(StrEnum):
    shooting = "shooting"
    stabbing = "stabbing"
    assault = "assault"
    explosion = "explosion"
    threat = "threat"
    large_gathering = "large_gathering"
    disorder = "disorder"
    other = "other"


class IncidentResponse(StrEnum):
    hospital_response = "hospital_response"
    community_response = "community_response"
    none = "none"


class CommunityResponseKind(StrEnum):
    """The programme's third prong: the community answering violence."""

    vigil = "vigil"
    community_meeting = "community_meeting"
    march = "march"
    norm_campaign = "norm_campaign"
    safe_passage = "safe_passage"
    other = "other"


class BriefingState(StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    published = "published"
    expired = "expired"


class ReceiptKind(StrEnum):
    read = "read"
    acknowledged = "acknowledged"


class WalkState(StrEnum):
    planned = "planned"
    in_progress = "in_progress"
    completed = "completed"
    cancelled = "cancelled"


class YouthsMet(StrEnum):
    none = "0"
    few = "1-10"
    some = "11-25"
    many = "26-50"
    crowd = "51-100"
    very_many = "100+"


class AgeImpression(StrEnum):
    under_13 = "under_13"
    age_13_15 = "13_15"
    age_16_17 = "16_17"
    adults = "18_plus"


class Atmosphere(StrEnum):
    calm = "calm"
    lively = "lively"
    tense = "tense"
    unsafe = "unsafe"


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


class WalkAction(StrEnum):
    talked_with_youth = "talked_with_youth"
    first_aid = "first_aid"
    called_112 = "called_112"
    called_114_14 = "called_114_14"
    contacted_field_assistants = "contacted_field_assistants"
    contacted_guards = "contacted_guards"
    accompanied_to_transport = "accompanied_to_transport"
    reported_environment_fault = "reported_environment_fault"


class EnvironmentFault(StrEnum):
    lighting = "lighting"
    graffiti = "graffiti"
    litter = "litter"
    broken_fixture = "broken_fixture"


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


class ReferralStatus(StrEnum):
    made = "made"
    contact_made = "contact_made"
    started = "started"
    completed = "completed"
    declined = "declined"
    no_response = "no_response"
    withdrawn = "withdrawn"


class ConsentScope(StrEnum):
    worker_contacts_service = "worker_contacts_service"
    service_contacts_participant = "service_contacts_participant"
    worker_accompanies = "worker_accompanies"


# The shared situational picture (DOMAIN.md, "The shared situational picture") -----------------


class ObservationSource(StrEnum):
    walk_report = "walk_report"
    interrupter_signal = "interrupter_signal"
    field_assistants = "field_assistants"
    guards = "guards"
    police_liaison = "police_liaison"
    residents_meeting = "residents_meeting"
    other = "other"


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


class Severity(StrEnum):
    noted = "1"
    concerning = "2"
    serious = "3"


class PeriodState(StrEnum):
    open = "open"
    closed = "closed"


class ActionKind(StrEnum):
    field_assistant_presence = "field_assistant_presence"
    night_walk_focus = "night_walk_focus"
    guards = "guards"
    lighting_repair = "lighting_repair"
    cleaning = "cleaning"
    youth_activity = "youth_activity"
    residents_meeting = "residents_meeting"
    other = "other"


class ActionStatus(StrEnum):
    planned = "planned"
    done = "done"
    dropped = "dropped"


class Trend(StrEnum):
    """A place's observations this period against its own previous eight weeks."""

    new = "new"
    rising = "rising"
    steady = "steady"
    falling = "falling"
    quiet = "quiet"
