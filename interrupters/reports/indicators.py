"""The definitions of every figure: one list, read by the pages, the monthly report and the
codebook of the research exports, so a column's meaning is written once.

An indicator is a count per programme, area and month unless its type says otherwise. Counts
from 1 to 4 are suppressed (shown as "<5"); a true zero is shown, since it reveals no one. A
count that is part of a total (`total`) is also suppressed where the total and the other
visible parts would give it away (complementary suppression, see `suppression`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l

from interrupters.conflicts.values import (
    Catalyst,
    CommunityResponseKind,
    IncidentResponse,
    IncidentType,
    MediationOutcome,
    Strategy,
)
from interrupters.contacts.values import ContactKind, ContactPurpose, ContactSubject
from interrupters.referrals.values import ReferralStatus, ServiceKind
from interrupters.valuelists import LABELS
from interrupters.walks.values import Atmosphere

COUNT = "count"
MINUTES = "minutes"
RATE = "rate"


@dataclass(frozen=True)
class Indicator:
    """One figure: its stable column name, its label and meaning (translated), its type."""

    name: str
    label: Any
    meaning: Any
    type: str  # COUNT, MINUTES or RATE
    unit: Any
    # Whether small counts are suppressed in it (and so whether a cell can be empty).
    suppressed: bool
    section: str
    # The indicator these add up to within one area and month (kind -> all contacts).
    total: str | None = None
    # MINUTES: the count whose suppression it follows (minutes of 1-4 contacts are hidden too).
    # RATE: the numerator and denominator it is computed from.
    basis: tuple[str, ...] = ()
    # The stored code this indicator counts (for a codebook's allowed values), if any.
    code: str | None = None
    # Another indicator with the same programme total, counted by another area (contacts with
    # participants by the participant's area, and by where they took place): suppression must
    # know, or one total would give the other away.
    same_total_as: str | None = None

    @property
    def additive(self) -> bool:
        """Whether the programme's total is the sum over its areas (rates are not)."""
        return self.type != RATE


@dataclass(frozen=True)
class Section:
    key: str
    label: Any
    # The indicators drawn as the section's chart (programme totals per month).
    chart: str


SECTIONS: tuple[Section, ...] = (
    Section("contacts", _l("Contacts"), "contacts"),
    Section("participants", _l("Participants"), "participants_active"),
    Section("staff_time", _l("Staff time"), "staff_minutes"),
    Section("conflicts", _l("Conflicts"), "conflicts_new"),
    Section("mediations", _l("Mediations"), "mediations"),
    Section("incidents", _l("Incidents and community responses"), "incidents"),
    Section("referrals", _l("Referrals"), "referrals_made"),
)

PEOPLE = _l("people")
CONTACTS = _l("contacts")
MINUTES_UNIT = _l("minutes")
CONFLICTS = _l("conflicts")
EVENTS = _l("events")
MEDIATIONS = _l("mediations")
INCIDENTS = _l("incidents")
REFERRALS = _l("referrals")


def _values(enum: type[StrEnum]) -> Iterable[tuple[str, Any]]:
    labels = LABELS[enum]
    return ((member.value, labels[member.value]) for member in enum)


def _count(
    name: str,
    label: Any,
    meaning: Any,
    unit: Any,
    section: str,
    *,
    total: str | None = None,
    code: str | None = None,
    same_total_as: str | None = None,
) -> Indicator:
    return Indicator(
        name, label, meaning, COUNT, unit, True, section, total, (), code, same_total_as
    )


def _build() -> list[Indicator]:
    out: list[Indicator] = []
    add = out.append
    # Contacts: the daily log, by the area the contact took place in.
    add(
        _count(
            "contacts",
            _l("Contacts"),
            _l("Contacts logged by the programme's workers that took place in the area."),
            CONTACTS,
            "contacts",
        )
    )
    for value, text in _values(ContactSubject):
        add(
            _count(
                f"contacts_subject_{value}",
                _l("Contacts with: %(subject)s", subject=text),
                _l("Contacts whose subject was this (a participant, a person or a group)."),
                CONTACTS,
                "contacts",
                total="contacts",
                code=value,
            )
        )
    for value, text in _values(ContactKind):
        add(
            _count(
                f"contacts_kind_{value}",
                _l("Contacts: %(kind)s", kind=text),
                _l("Contacts of this kind."),
                CONTACTS,
                "contacts",
                total="contacts",
                code=value,
            )
        )
    for value, text in _values(ContactPurpose):
        add(
            _count(
                f"contacts_purpose_{value}",
                _l("Contacts for: %(purpose)s", purpose=text),
                _l("Contacts with this purpose."),
                CONTACTS,
                "contacts",
                total="contacts",
                code=value,
            )
        )
    # Participants, by the participant's own area.
    add(
        _count(
            "participants_active",
            _l("Participants met"),
            _l("Participants with at least one contact in the month, by the participant's area."),
            PEOPLE,
            "participants",
        )
    )
    add(
        _count(
            "participants_new",
            _l("New participants"),
            _l("Participants registered in the month."),
            PEOPLE,
            "participants",
        )
    )
    add(
        _count(
            "participants_exited",
            _l("Participants who left"),
            _l("Participants whose participation ended in the month."),
            PEOPLE,
            "participants",
        )
    )
    add(
        _count(
            "participant_contacts",
            _l("Contacts with participants"),
            _l("Contacts with a participant in the month, by the participant's area."),
            CONTACTS,
            "participants",
            same_total_as="contacts_subject_participant",
        )
    )
    add(
        Indicator(
            "contacts_per_participant_week",
            _l("Contacts per participant and week"),
            _l(
                "Contacts with participants divided by the participants met and by the weeks "
                "of the month (days / 7). Empty where either count is suppressed."
            ),
            RATE,
            _l("contacts per participant and week"),
            True,
            "participants",
            basis=("participant_contacts", "participants_active"),
        )
    )
    # Staff time: the minutes contacts took, by kind of contact.
    add(
        Indicator(
            "staff_minutes",
            _l("Staff time in contacts"),
            _l("Minutes the contacts took, as their workers logged them."),
            MINUTES,
            MINUTES_UNIT,
            True,
            "staff_time",
            basis=("contacts",),
        )
    )
    for value, text in _values(ContactKind):
        add(
            Indicator(
                f"staff_minutes_kind_{value}",
                _l("Staff time: %(kind)s", kind=text),
                _l("Minutes of contacts of this kind. Hidden where their count is."),
                MINUTES,
                MINUTES_UNIT,
                True,
                "staff_time",
                total="staff_minutes",
                basis=(f"contacts_kind_{value}",),
                code=value,
            )
        )
    # Conflicts: flagged in the month, by the level and catalyst they were flagged with.
    add(
        _count(
            "conflicts_new",
            _l("Conflicts flagged"),
            _l("Conflicts the programme detected and flagged in the month."),
            CONFLICTS,
            "conflicts",
        )
    )
    for level in ("1", "2", "3", "4"):
        add(
            _count(
                f"conflicts_new_level_{level}",
                _l("Flagged at level %(level)s", level=level),
                _l("Conflicts flagged at this risk level (1 tension to 4 imminent)."),
                CONFLICTS,
                "conflicts",
                total="conflicts_new",
                code=level,
            )
        )
    for value, text in _values(Catalyst):
        add(
            _count(
                f"conflicts_new_catalyst_{value}",
                _l("Flagged over: %(catalyst)s", catalyst=text),
                _l("Conflicts flagged with this catalyst."),
                CONFLICTS,
                "conflicts",
                total="conflicts_new",
                code=value,
            )
        )
    for name, label, meaning in (
        (
            "conflict_escalations",
            _l("Escalations"),
            _l("Times a conflict's risk level was raised in the month."),
        ),
        (
            "conflict_deescalations",
            _l("De-escalations"),
            _l("Times a conflict's risk level was lowered in the month."),
        ),
        (
            "conflicts_resolved",
            _l("Conflicts resolved"),
            _l("Conflicts whose status became resolved in the month."),
        ),
        (
            "conflicts_turned_violent",
            _l("Conflicts that turned violent"),
            _l("Conflicts whose status became turned violent in the month."),
        ),
    ):
        add(_count(name, label, meaning, EVENTS, "conflicts"))
    # Mediations, by the conflict's area and the month they took place in.
    add(
        _count(
            "mediations",
            _l("Mediations"),
            _l("Mediations of the programme's conflicts held in the month."),
            MEDIATIONS,
            "mediations",
        )
    )
    for value, text in _values(MediationOutcome):
        add(
            _count(
                f"mediations_outcome_{value}",
                _l("Outcome: %(outcome)s", outcome=text),
                _l("Mediations that ended with this outcome."),
                MEDIATIONS,
                "mediations",
                total="mediations",
                code=value,
            )
        )
    for value, text in _values(Strategy):
        add(
            _count(
                f"mediations_strategy_{value}",
                _l("Strategy: %(strategy)s", strategy=text),
                _l("Mediations that used this strategy (a mediation may use several)."),
                MEDIATIONS,
                "mediations",
                code=value,
            )
        )
    # Incidents and the community's responses.
    add(
        _count(
            "incidents",
            _l("Incidents"),
            _l("Incidents the programme recorded in the month."),
            INCIDENTS,
            "incidents",
        )
    )
    for value, text in _values(IncidentType):
        add(
            _count(
                f"incidents_type_{value}",
                _l("Incidents: %(type)s", type=text),
                _l("Incidents of this type."),
                INCIDENTS,
                "incidents",
                total="incidents",
                code=value,
            )
        )
    for value, text in _values(IncidentResponse):
        add(
            _count(
                f"incidents_response_{value}",
                _l("Response: %(response)s", response=text),
                _l("Incidents that met this response."),
                INCIDENTS,
                "incidents",
                total="incidents",
                code=value,
            )
        )
    add(
        _count(
            "incidents_injured",
            _l("People injured"),
            _l("People injured in the month's incidents, as recorded."),
            PEOPLE,
            "incidents",
        )
    )
    add(
        _count(
            "community_responses",
            _l("Community responses"),
            _l("Community responses to violence (vigils, meetings, marches) in the month."),
            EVENTS,
            "incidents",
        )
    )
    for value, text in _values(CommunityResponseKind):
        add(
            _count(
                f"community_responses_kind_{value}",
                _l("Community responses: %(kind)s", kind=text),
                _l("Community responses of this kind."),
                EVENTS,
                "incidents",
                total="community_responses",
                code=value,
            )
        )
    # Referrals, by the participant's area: made in the month, and how far they got.
    add(
        _count(
            "referrals_made",
            _l("Referrals made"),
            _l("Referrals of participants to a local service made in the month."),
            REFERRALS,
            "referrals",
        )
    )
    for value, text in _values(ServiceKind):
        add(
            _count(
                f"referrals_made_kind_{value}",
                _l("Referred to: %(kind)s", kind=text),
                _l("Referrals made to a service of this kind."),
                REFERRALS,
                "referrals",
                total="referrals_made",
                code=value,
            )
        )
    reached = {
        ReferralStatus.contact_made: _l("Referrals with contact made"),
        ReferralStatus.started: _l("Referrals started"),
        ReferralStatus.completed: _l("Referrals completed"),
        ReferralStatus.declined: _l("Referrals declined"),
        ReferralStatus.no_response: _l("Referrals without response"),
        ReferralStatus.withdrawn: _l("Referrals withdrawn"),
    }
    for status, label in reached.items():
        add(
            _count(
                f"referrals_{status.value}",
                label,
                _l("Referrals that reached this status in the month."),
                REFERRALS,
                "referrals",
                code=status.value,
            )
        )
    for status in (ReferralStatus.started, ReferralStatus.completed):
        for value, text in _values(ServiceKind):
            add(
                _count(
                    f"referrals_{status.value}_kind_{value}",
                    _l(
                        "%(status)s: %(kind)s",
                        status=LABELS[ReferralStatus][status.value],
                        kind=text,
                    ),
                    _l("Referrals to a service of this kind that reached this status."),
                    REFERRALS,
                    "referrals",
                    total=f"referrals_{status.value}",
                    code=value,
                )
            )
    return out


def _build_walks() -> list[Indicator]:
    out = [
        _count(
            "walks_held",
            _l("Walks held"),
            _l("Night walks completed in the district in the month."),
            _l("walks"),
            "walks",
        ),
        _count(
            "walker_evenings",
            _l("Walker-evenings"),
            _l("Walkers signed up to the completed walks, summed over the walks."),
            PEOPLE,
            "walks",
        ),
        _count(
            "walk_reports",
            _l("Reports filed"),
            _l("Walk reports filed in the month."),
            _l("reports"),
            "walks",
        ),
    ]
    for value, text in _values(Atmosphere):
        out.append(
            _count(
                f"walk_reports_atmosphere_{value}",
                _l("Atmosphere: %(atmosphere)s", atmosphere=text),
                _l("Walk reports that gave this atmosphere."),
                _l("reports"),
                "walks",
                total="walk_reports",
                code=value,
            )
        )
    return out


# The figures per programme, area and month (reports.services.area_month_figures).
INDICATORS: tuple[Indicator, ...] = tuple(_build())
# The night walks' figures per district and month (walks belong to associations, not areas).
WALK_INDICATORS: tuple[Indicator, ...] = tuple(_build_walks())
BY_NAME: dict[str, Indicator] = {i.name: i for i in (*INDICATORS, *WALK_INDICATORS)}


def in_section(section: str) -> list[Indicator]:
    return [i for i in INDICATORS if i.section == section]
