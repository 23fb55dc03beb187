"""Six months of the demo programme's past (DOMAIN.md, "More demo data"), so the figures, the
monthly report and the dashboard's trends say something: participants enrolled month by month
as the pilot grows, their contacts, conflicts with their timelines and mediations (about two
in three resolved at once, as in Baltimore's records), incidents and the community's responses,
referrals followed to their end, and the association's weekend walks with their reports.

Rows are written directly and in bulk (the demo must stay fast); a fixed seed makes the same
past every time, and `seed_demo` runs this once, with the rest of the scenario.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from interrupters.auth.models import Organisation, User
from interrupters.conflicts.models import (
    CommunityResponse,
    Conflict,
    ConflictEvent,
    Incident,
    Mediation,
)
from interrupters.conflicts.values import Catalyst, CommunityResponseKind, IncidentType, Strategy
from interrupters.contacts.models import Contact
from interrupters.contacts.values import ContactKind, ContactPurpose
from interrupters.db import new_uuid
from interrupters.participants.models import Participant
from interrupters.participants.services import CODE_ALPHABET
from interrupters.participants.values import AgeBand, ExitReason, Gender, RiskTier
from interrupters.places.models import Area, Place
from interrupters.records.models import CodeCounter
from interrupters.referrals.models import Referral, ReferralUpdate, Service
from interrupters.referrals.values import ReferralStatus
from interrupters.walks.models import Walk, WalkReport, WalkSignup
from interrupters.walks.values import Atmosphere, YouthsMet

STOCKHOLM = ZoneInfo("Europe/Stockholm")
MONTHS = 6
# How many participants each area of Järva enrols over the pilot's months.
ENROLMENT = {"Rinkeby": 10, "Tensta": 9, "Husby": 6, "Akalla": 4, "Kista": 3}
CONTACTS_A_WEEK = {"high": 3, "medium": 2, "low": 1}
OUTCOMES = (
    ["resolved_immediately"] * 13
    + ["temporarily_resolved"] * 5
    + ["unresolved", "violence_occurred", "referred"]
)


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=STOCKHOLM).astimezone(UTC)


def _by_email(session: Session, email: str) -> int:
    user = session.exec(select(User).where(User.email == email)).one()
    assert user.id is not None
    return user.id


def seed_demo_history(
    *, session: Session, now: datetime, programme: str, association: str, seed: int = 2026
) -> None:
    """The programme's and the association's last six months, up to yesterday."""
    rng = random.Random(seed)  # noqa: S311  (demo data, not secrets)
    today = now.astimezone(STOCKHOLM).date()
    end = today - timedelta(days=1)
    this_month = today.replace(day=1)
    start = this_month
    for _ in range(MONTHS):
        start = (start - timedelta(days=1)).replace(day=1)
    days = (end - start).days
    programme_id = session.exec(select(Organisation.id).where(Organisation.name == programme)).one()
    association_id = session.exec(
        select(Organisation.id).where(Organisation.name == association)
    ).one()
    assert programme_id is not None and association_id is not None
    workers = [
        _by_email(session, "interrupter@example.org"),
        _by_email(session, "interrupter2@example.org"),
    ]
    supervisor = _by_email(session, "supervisor@example.org")
    areas = {a.name: a for a in session.exec(select(Area)) if a.name in ENROLMENT}
    places_by_area: dict[int, list[int]] = {}
    for place in session.exec(select(Place)):
        places_by_area.setdefault(place.area_id, []).append(place.id or 0)

    def moment(day: date) -> datetime:
        return _local(day, rng.choice([15, 17, 18, 19, 20, 21, 22]), rng.choice([0, 15, 30, 45]))

    # Participants: enrolled through the months (the pilot grows), a few leave again.
    used = set(session.exec(select(Participant.code)))
    participants: list[dict[str, Any]] = []
    for area_name, count in ENROLMENT.items():
        area = areas[area_name]
        for n in range(count):
            code = "P-7K3Q"
            while code in used:
                code = "P-" + "".join(rng.choice(CODE_ALPHABET) for _ in range(4))
            used.add(code)
            enrolled = start + timedelta(days=int(days * n / count * 0.85) + rng.randint(0, 9))
            tier = rng.choice([RiskTier.high, RiskTier.medium, RiskTier.medium, RiskTier.low])
            exited = None
            if rng.random() < 0.15 and (end - enrolled).days > 60:
                exited = enrolled + timedelta(days=rng.randint(45, (end - enrolled).days))
            participants.append(
                {
                    "code": code,
                    "organisation_id": programme_id,
                    "worker_id": workers[len(participants) % 2],
                    "area_id": area.id,
                    "age_band": rng.choice(
                        [AgeBand.age_15_17, AgeBand.age_18_20, AgeBand.age_21_24]
                    ).value,
                    "gender": rng.choice([Gender.male, Gender.male, Gender.female]).value,
                    "status": "exited" if exited else "active",
                    "eligibility_confirmed": True,
                    "risk_tier": tier.value,
                    "goals": [],
                    "consent_scope": "Deltagande i programmet",
                    "consent_given_on": enrolled,
                    "exit_reason": rng.choice([ExitReason.goals_met, ExitReason.moved]).value
                    if exited
                    else None,
                    "exited_at": _local(exited, 12) if exited else None,
                    "created_at": _local(enrolled, 12),
                    "_enrolled": enrolled,
                    "_left": exited or end,
                }
            )
    session.execute(
        insert(Participant),
        [{k: v for k, v in row.items() if not k.startswith("_")} for row in participants],
    )
    ids: dict[str, int] = {
        code: pid for code, pid in session.exec(select(Participant.code, Participant.id)) if pid
    }

    # Contacts: high-risk participants met about three times a week, and community contacts.
    contacts: list[dict[str, Any]] = []

    def contact(day: date, worker: int, area_id: int, **fields: Any) -> None:
        when = moment(day)
        places = places_by_area.get(area_id, [])
        contacts.append(
            {
                "client_uuid": new_uuid(),
                "payload_hash": "demo",
                "organisation_id": programme_id,
                "worker_id": worker,
                "occurred_at": when,
                "received_at": when + timedelta(minutes=rng.randint(1, 90)),
                "area_id": area_id,
                "place_id": rng.choice(places) if places and rng.random() < 0.7 else None,
                "referrals": [],
                "duration_minutes": rng.choice([5, 10, 15, 20, 30, 45]),
                "note": "",
                "review_state": "approved",
                "updated_at": when,
                "participant_id": None,
                "age_band": None,
                "gender": None,
                "group_size": None,
            }
            | fields
        )

    for row in participants:
        weekly = CONTACTS_A_WEEK[row["risk_tier"]]
        day = row["_enrolled"]
        while day <= row["_left"]:
            for _ in range(weekly):
                visit = day + timedelta(days=rng.randint(0, 6))
                if visit <= row["_left"]:
                    contact(
                        visit,
                        row["worker_id"],
                        row["area_id"]
                        if rng.random() < 0.85
                        else rng.choice(list(areas.values())).id or 0,
                        subject="participant",
                        participant_id=ids[row["code"]],
                        kind=rng.choice(
                            [ContactKind.street] * 4
                            + [ContactKind.phone, ContactKind.text, ContactKind.home_visit]
                            + [ContactKind.school, ContactKind.service_escort]
                        ).value,
                        purpose=rng.choice(
                            [ContactPurpose.check_in] * 3
                            + [ContactPurpose.relationship] * 2
                            + [ContactPurpose.mediation_followup, ContactPurpose.referral]
                            + [ContactPurpose.crisis]
                        ).value,
                    )
            day += timedelta(days=7)
    for offset in range(0, days, 2):
        day = start + timedelta(days=offset)
        area = rng.choice(list(areas.values()))
        group = rng.random() < 0.5
        contact(
            day,
            rng.choice(workers),
            area.id or 0,
            subject="group" if group else "person",
            group_size=rng.randint(3, 12) if group else None,
            age_band=None if group else rng.choice(list(AgeBand)).value,
            kind=rng.choice(
                [ContactKind.street, ContactKind.community_event, ContactKind.group_activity]
            ).value,
            purpose=rng.choice([ContactPurpose.norm_message, ContactPurpose.relationship]).value,
        )
    session.execute(insert(Contact), contacts)

    # Conflicts C-0001 to C-0011 (C-0012 is the scenario's own, open now), mostly settled.
    for number in range(1, 12):
        area = rng.choice(list(areas.values()))
        flagged = start + timedelta(days=int(days * (number - 1) / 11) + rng.randint(0, 6))
        level = rng.choice([1, 2, 2, 3])
        catalyst = rng.choice(list(Catalyst))
        violent = number in (4, 9)
        conflict = Conflict(
            client_uuid=new_uuid(),
            payload_hash="demo",
            code=f"C-{number:04d}",
            organisation_id=programme_id,
            area_id=area.id or 0,
            detected_via=rng.choice(["street", "participant", "social_media", "school"]),
            catalyst=catalyst.value,
            type=rng.choice(["person_vs_person", "group_vs_group", "person_vs_group"]),
            parties_count=2,
            youth_involved=True,
            risk_level=level,
            status="turned_violent" if violent else "resolved",
            flagged_by_id=rng.choice(workers),
            created_at=_local(flagged, 21),
            updated_at=_local(flagged, 21),
        )
        session.add(conflict)
        session.flush()
        assert conflict.id is not None
        author = conflict.flagged_by_id
        events: list[dict[str, Any]] = [
            {
                "kind": "detected",
                "occurred_at": _local(flagged, 21),
                "to_level": level,
                "to_status": "open",
            }
        ]
        raised = min(level + 1, 4)
        if raised != level:
            events.append(
                {
                    "kind": "level_changed",
                    "occurred_at": _local(flagged + timedelta(days=2), 20),
                    "from_level": level,
                    "to_level": raised,
                    "text": "Threats answered online.",
                }
            )
        for m in range(rng.randint(2, 4)):
            when = _local(flagged + timedelta(days=2 + 3 * m), 19)
            mediation = Mediation(
                client_uuid=new_uuid(),
                payload_hash="demo",
                conflict_id=conflict.id,
                author_id=author,
                mediator_ids=sorted(workers),
                occurred_at=when,
                received_at=when,
                strategies=sorted(
                    rng.sample([s.value for s in Strategy if s != Strategy.other], 2)
                ),
                outcome=rng.choice(OUTCOMES),
            )
            session.add(mediation)
            session.flush()
            events.append({"kind": "mediation", "occurred_at": when, "mediation_id": mediation.id})
        settled = flagged + timedelta(days=rng.randint(14, 30))
        if settled < end:
            events.append(
                {
                    "kind": "level_changed",
                    "occurred_at": _local(settled - timedelta(days=1), 18),
                    "from_level": raised,
                    "to_level": 1,
                    "text": "Calmer after the mediation.",
                }
            )
            events.append(
                {
                    "kind": "closed" if not violent else "status_changed",
                    "occurred_at": _local(settled, 18),
                    "from_status": "mediating",
                    "to_status": "turned_violent" if violent else "resolved",
                }
            )
        for event in events:
            session.add(ConflictEvent(conflict_id=conflict.id, author_id=author, **event))
        if violent:
            session.add(
                Incident(
                    client_uuid=new_uuid(),
                    payload_hash="demo",
                    organisation_id=programme_id,
                    conflict_id=conflict.id,
                    type=IncidentType.assault.value,
                    area_id=area.id or 0,
                    occurred_at=_local(settled, 23),
                    injured_count=1,
                    response="hospital_response",
                    author_id=author,
                )
            )
    # The scenario flagged C-0012 before these were written: the next flag is C-0013.
    session.execute(update(CodeCounter).where(col(CodeCounter.name) == "conflict").values(value=12))

    # Incidents without a conflict, and the community answering them.
    for offset in range(5, days, 6):
        day = start + timedelta(days=offset)
        area = rng.choice(list(areas.values()))
        kind = rng.choice(
            [
                IncidentType.threat,
                IncidentType.large_gathering,
                IncidentType.disorder,
                IncidentType.stabbing,
            ]
        )
        incident = Incident(
            client_uuid=new_uuid(),
            payload_hash="demo",
            organisation_id=programme_id,
            type=kind.value,
            area_id=area.id or 0,
            occurred_at=_local(day, 22),
            injured_count=1 if kind == IncidentType.stabbing else 0,
            response="community_response"
            if offset % 24 == 5
            else rng.choice(["none", "hospital_response"]),
            author_id=rng.choice(workers),
        )
        session.add(incident)
        session.flush()
        if incident.response == "community_response":
            session.add(
                CommunityResponse(
                    client_uuid=new_uuid(),
                    payload_hash="demo",
                    organisation_id=programme_id,
                    incident_id=incident.id,
                    kind=rng.choice(
                        [
                            CommunityResponseKind.vigil,
                            CommunityResponseKind.community_meeting,
                            CommunityResponseKind.safe_passage,
                        ]
                    ).value,
                    area_id=area.id or 0,
                    occurred_at=_local(day + timedelta(days=2), 18),
                    participants_estimate=rng.randint(20, 120),
                    author_id=supervisor,
                )
            )

    # Referrals, followed until they close.
    services = list(session.exec(select(Service)))
    paths = [
        ["contact_made", "started", "completed"],
        ["contact_made", "started", "completed"],
        ["contact_made", "started"],
        ["contact_made", "declined"],
        ["no_response"],
        ["contact_made", "started", "withdrawn"],
    ]
    for row in participants + rng.sample(participants, 12):
        made_on = row["_enrolled"] + timedelta(days=rng.randint(7, 60))
        if made_on >= end:
            continue
        service = rng.choice(services)
        steps = rng.choice(paths)
        when = _local(made_on, 14)
        referral = Referral(
            client_uuid=new_uuid(),
            payload_hash="demo",
            organisation_id=programme_id,
            participant_id=ids[row["code"]],
            service_id=service.id or 0,
            made_by_id=row["worker_id"],
            made_at=when,
            received_at=when,
            consent_given=True,
            consent_scope="worker_contacts_service",
            status="made",
            status_changed_at=when,
        )
        session.add(referral)
        session.flush()
        day = made_on
        for status in steps:
            day = day + timedelta(days=rng.randint(5, 20))
            if day >= end:
                break
            moment_of = _local(day, 13)
            session.add(
                ReferralUpdate(
                    client_uuid=new_uuid(),
                    payload_hash="demo",
                    referral_id=referral.id or 0,
                    author_id=row["worker_id"],
                    status=status,
                    occurred_at=moment_of,
                    received_at=moment_of,
                )
            )
            referral.status = status
            referral.status_changed_at = moment_of
            if status in (
                ReferralStatus.completed,
                ReferralStatus.declined,
                ReferralStatus.no_response,
                ReferralStatus.withdrawn,
            ):
                referral.closed_at = moment_of
        session.add(referral)

    # The association's weekend walks of the past months, with a report after each.
    walkers = [
        _by_email(session, email)
        for email in (
            "walker@example.org",
            "walker2@example.org",
            "walker3@example.org",
            "walker4@example.org",
        )
    ]
    lead = _by_email(session, "lead@example.org")
    husby = session.exec(select(Place).where(Place.name == "Husby gård")).one()
    district_id = session.exec(select(Area.district_id).where(Area.id == husby.area_id)).one()
    day = start
    # The scenario's own last weekend (its Saturday walk and report) is left to it.
    saturday = today - timedelta(days=(today.weekday() - 5) % 7)
    while _local(saturday + timedelta(days=1), 1) > now:
        saturday -= timedelta(days=7)
    last_day = saturday - timedelta(days=2)
    while day <= last_day:
        if day.weekday() in (4, 5) and rng.random() < 0.85:
            starts = _local(day, 20, 30)
            ends = _local(day + timedelta(days=1), 1)
            walk = Walk(
                organisation_id=association_id,
                district_id=district_id,
                meeting_place_id=husby.id,
                planned_start=starts,
                planned_end=ends,
                actual_start=starts,
                actual_end=ends,
                leader_id=lead,
                state="completed",
                created_by_id=lead,
                created_at=starts - timedelta(days=7),
            )
            session.add(walk)
            session.flush()
            going = rng.sample(walkers, rng.randint(3, 4))
            for index, walker in enumerate(going):
                session.add(
                    WalkSignup(
                        walk_id=walk.id or 0,
                        user_id=walker,
                        group_number=1 + index % 2,
                        signed_up_at=starts - timedelta(days=3),
                    )
                )
            session.add(
                WalkReport(
                    client_uuid=new_uuid(),
                    payload_hash="demo",
                    walk_id=walk.id or 0,
                    submitted_by_id=lead,
                    submitted_at=ends + timedelta(minutes=20),
                    places_visited=[husby.id or 0],
                    youths_met=rng.choice([YouthsMet.few, YouthsMet.some, YouthsMet.many]).value,
                    atmosphere=rng.choice(
                        [Atmosphere.calm] * 3 + [Atmosphere.lively] * 2 + [Atmosphere.tense]
                    ).value,
                    observations=[],
                    actions=["talked_with_youth"],
                    environment_faults=[],
                    debrief_held=True,
                )
            )
        day += timedelta(days=1)
    session.flush()
