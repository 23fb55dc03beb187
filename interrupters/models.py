"""Import every domain's models so the metadata (and Alembic) sees all tables."""

from interrupters.audit.models import AuditEvent, DenialTally
from interrupters.auth.models import (
    DeviceSession,
    Invitation,
    Membership,
    Organisation,
    OrganisationDistrict,
    Passkey,
    RecoveryCode,
    TotpFactor,
    User,
)
from interrupters.briefings.models import (
    Acknowledgement,
    Briefing,
    BriefingDistrict,
    BriefingPlaceStatus,
    BriefingReceipt,
)
from interrupters.conflicts.models import (
    CommunityResponse,
    Conflict,
    ConflictEvent,
    ConflictParticipant,
    Incident,
    Mediation,
)
from interrupters.contacts.models import Contact, ContactReview
from interrupters.duty.models import Duty
from interrupters.health.models import SchedulerHeartbeat
from interrupters.kept import KeptCounts
from interrupters.participants.models import Participant
from interrupters.picture.models import (
    PeriodPlace,
    PictureAction,
    PictureDistrict,
    PicturePeriod,
    PlaceObservation,
    SignalSharing,
)
from interrupters.places.models import Area, District, Place
from interrupters.push.models import Notification, PushSubscription
from interrupters.records.models import CodeCounter, HeldRecord
from interrupters.referrals.models import Referral, ReferralUpdate, Service
from interrupters.research.models import ResearchProject
from interrupters.retention.models import RetentionPolicy
from interrupters.walks.models import Walk, WalkReport, WalkSignup

__all__ = [
    "Acknowledgement",
    "Area",
    "AuditEvent",
    "Briefing",
    "BriefingDistrict",
    "BriefingPlaceStatus",
    "BriefingReceipt",
    "CodeCounter",
    "CommunityResponse",
    "Conflict",
    "ConflictEvent",
    "ConflictParticipant",
    "Contact",
    "ContactReview",
    "DenialTally",
    "DeviceSession",
    "District",
    "Duty",
    "HeldRecord",
    "Incident",
    "Invitation",
    "KeptCounts",
    "Mediation",
    "Membership",
    "Notification",
    "Organisation",
    "OrganisationDistrict",
    "Participant",
    "Passkey",
    "PeriodPlace",
    "PictureAction",
    "PictureDistrict",
    "PicturePeriod",
    "Place",
    "PlaceObservation",
    "PushSubscription",
    "RecoveryCode",
    "Referral",
    "ReferralUpdate",
    "ResearchProject",
    "RetentionPolicy",
    "SchedulerHeartbeat",
    "Service",
    "SignalSharing",
    "TotpFactor",
    "User",
    "Walk",
    "WalkReport",
    "WalkSignup",
]
