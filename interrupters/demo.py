"""The demo scenario of DOMAIN.md, so a newcomer has something to sign in to."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from interrupters.auth.models import Organisation, OrganisationDistrict
from interrupters.auth.principal import Principal
from interrupters.auth.services import create_user_with_password
from interrupters.auth.values import OrganisationType, Role
from interrupters.contacts.models import Contact, ContactReview
from interrupters.contacts.services import refresh_latest
from interrupters.contacts.values import (
    ContactKind,
    ContactPurpose,
    ContactSubject,
    Referral,
    ReviewState,
)
from interrupters.db import new_uuid, utcnow
from interrupters.participants.models import Participant
from interrupters.participants.values import AgeBand, Gender, Goal, ParticipantStatus, RiskTier
from interrupters.places.models import Area, Place
from interrupters.places.services import ensure_stockholm_districts
from interrupters.places.values import PlaceType
from interrupters.referrals import services as referrals
from interrupters.referrals.models import Service
from interrupters.walks.values import (
    AgeImpression,
    Atmosphere,
    EnvironmentFault,
    Observation,
    WalkAction,
    YouthsMet,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
PROGRAMME = "Järva fredsbyggare"
ASSOCIATION = "Nattvandrarna Järva"
FIELD_ASSISTANTS = "Fältassistenterna Järva"
OPERATIONS = "Interrupters drift"


@dataclass(frozen=True)
class DemoAccount:
    role: str
    email: str
    password: str
    display_name: str
    organisation: str


DEMO_ACCOUNTS = [
    DemoAccount("admin", "admin@example.org", "demo-admin-Jarva26", "Alva Admin", OPERATIONS),
    DemoAccount(
        "supervisor",
        "supervisor@example.org",
        "demo-supervisor-Jarva26",
        "Sara Handledare",
        PROGRAMME,
    ),
    DemoAccount(
        "interrupter",
        "interrupter@example.org",
        "demo-interrupter-Jarva26",
        "Amir Fredsbyggare",
        PROGRAMME,
    ),
    DemoAccount(
        "interrupter",
        "interrupter2@example.org",
        "demo-interrupter2-Jarva26",
        "Johanna Fredsbyggare",
        PROGRAMME,
    ),
    DemoAccount(
        "researcher",
        "researcher@example.org",
        "demo-researcher-Jarva26",
        "Rami Forskare",
        PROGRAMME,
    ),
    DemoAccount(
        "briefing_author",
        "author@example.org",
        "demo-author-Jarva26",
        "Fia Fältassistent",
        FIELD_ASSISTANTS,
    ),
    DemoAccount(
        "association_lead", "lead@example.org", "demo-lead-Jarva26", "Leo Nattvandrare", ASSOCIATION
    ),
    DemoAccount(
        "night_walker",
        "walker@example.org",
        "demo-walker-Jarva26",
        "Nora Nattvandrare",
        ASSOCIATION,
    ),
    DemoAccount(
        "night_walker",
        "walker2@example.org",
        "demo-walker2-Jarva26",
        "Omar Nattvandrare",
        ASSOCIATION,
    ),
    DemoAccount(
        "night_walker",
        "walker3@example.org",
        "demo-walker3-Jarva26",
        "Petra Nattvandrare",
        ASSOCIATION,
    ),
    DemoAccount(
        "night_walker",
        "walker4@example.org",
        "demo-walker4-Jarva26",
        "Yusuf Nattvandrare",
        ASSOCIATION,
    ),
]

AREAS = {
    "Järva": ["Rinkeby", "Tensta", "Husby", "Akalla", "Kista"],
    "Skärholmen": ["Bredäng", "Sätra", "Skärholmen", "Vårberg"],
}
PLACES = [
    ("Rinkeby", "Rinkeby torg", PlaceType.square, True),
    ("Tensta", "Tensta centrum", PlaceType.centrum, False),
    ("Tensta", "Tensta T-bana", PlaceType.metro_station, False),
    ("Husby", "Husby gård", PlaceType.youth_centre, True),
    ("Akalla", "Järvafältet", PlaceType.park, False),
]


def seed_demo(*, session: Session, now: datetime | None = None, seed: int = 2026) -> bool:
    """Create the demo scenario unless it exists; return whether it was created."""
    if session.exec(select(Organisation).where(Organisation.name == PROGRAMME)).first():
        return False
    now = now or utcnow()
    rng = random.Random(seed)  # noqa: S311  (demo data, not secrets)
    districts = {d.name: d for d in ensure_stockholm_districts(session=session)}

    areas: dict[str, Area] = {}
    for district_name, names in AREAS.items():
        for name in names:
            area = Area(district_id=districts[district_name].id or 0, name=name)
            session.add(area)
            areas[name] = area
    session.flush()
    places: dict[str, Place] = {}
    for area_name, name, kind, meeting in PLACES:
        place = Place(
            area_id=areas[area_name].id or 0, name=name, type=kind.value, meeting_point=meeting
        )
        session.add(place)
        places[name] = place
    session.flush()

    organisations: dict[str, Organisation] = {}
    for name, organisation_type in (
        (OPERATIONS, OrganisationType.other),
        (PROGRAMME, OrganisationType.cv_programme),
        (ASSOCIATION, OrganisationType.night_walk_association),
        (FIELD_ASSISTANTS, OrganisationType.municipal_unit),
    ):
        organisation = Organisation(name=name, type=organisation_type.value, created_at=now)
        session.add(organisation)
        organisations[name] = organisation
    session.flush()
    for name in (PROGRAMME, ASSOCIATION, FIELD_ASSISTANTS):
        session.add(
            OrganisationDistrict(
                organisation_id=organisations[name].id or 0, district_id=districts["Järva"].id or 0
            )
        )

    users = {}
    for account in DEMO_ACCOUNTS:
        users[account.email] = create_user_with_password(
            session=session,
            email=account.email,
            display_name=account.display_name,
            password=account.password,
            memberships=[(organisations[account.organisation].id or 0, Role(account.role))],
            # The demo skips the pledge so a newcomer lands on the work at once.
            pledge_accepted_at=now,
        )

    programme_id = organisations[PROGRAMME].id or 0
    worker = users["interrupter@example.org"]
    colleague = users["interrupter2@example.org"]
    supervisor = users["supervisor@example.org"]
    today = now.astimezone(STOCKHOLM).date()
    high = Participant(
        code="P-7K3Q",
        organisation_id=programme_id,
        worker_id=worker.id or 0,
        area_id=areas["Rinkeby"].id or 0,
        age_band=AgeBand.age_15_17.value,
        gender=Gender.male.value,
        status=ParticipantStatus.active.value,
        eligibility_confirmed=True,
        risk_tier=RiskTier.high.value,
        reassess_on=today + timedelta(days=30),
        goals=[Goal.education.value, Goal.leave_group.value],
        consent_scope="Deltagande i programmet och remisser",
        consent_given_on=today - timedelta(days=40),
        created_at=now - timedelta(days=40),
    )
    medium = Participant(
        code="P-2M9D",
        organisation_id=programme_id,
        worker_id=colleague.id or 0,
        area_id=areas["Tensta"].id or 0,
        age_band=AgeBand.age_18_20.value,
        gender=Gender.female.value,
        status=ParticipantStatus.active.value,
        eligibility_confirmed=True,
        risk_tier=RiskTier.medium.value,
        reassess_on=today + timedelta(days=60),
        goals=[Goal.employment.value],
        consent_scope="Deltagande i programmet",
        consent_given_on=today - timedelta(days=30),
        created_at=now - timedelta(days=30),
    )
    session.add_all([high, medium])
    session.flush()

    # A few weeks of contacts: high-risk participants are met several times a week.
    plan = [(high, worker, "Rinkeby torg", 16, 2), (medium, colleague, "Tensta centrum", 21, 5)]
    for participant, author, place_name, days_back, every in plan:
        for offset in range(days_back, 0, -every):
            occurred = datetime.combine(
                today - timedelta(days=offset), datetime.min.time(), tzinfo=STOCKHOLM
            ) + timedelta(hours=rng.choice([17, 19, 21, 22]), minutes=rng.choice([0, 15, 30, 45]))
            place = places[place_name]
            recent = offset <= 3
            contact = Contact(
                client_uuid=new_uuid(),
                payload_hash="demo",
                organisation_id=programme_id,
                worker_id=author.id or 0,
                subject=ContactSubject.participant.value,
                participant_id=participant.id,
                occurred_at=occurred,
                received_at=occurred + timedelta(minutes=5),
                area_id=place.area_id,
                place_id=place.id,
                kind=rng.choice([ContactKind.street, ContactKind.phone, ContactKind.street]).value,
                purpose=rng.choice([ContactPurpose.check_in, ContactPurpose.relationship]).value,
                referrals=[Referral.education.value] if offset == days_back else [],
                duration_minutes=rng.choice([10, 15, 20, 30]),
                follow_up_on=(occurred.date() + timedelta(days=every)) if recent else None,
                note="Check-in, calm evening." if not recent else "Follow up on school contact.",
                review_state=ReviewState.submitted.value if recent else ReviewState.approved.value,
                updated_at=occurred,
            )
            session.add(contact)
            session.flush()
            if not recent:
                session.add(
                    ContactReview(
                        contact_id=contact.id or 0,
                        reviewer_id=supervisor.id or 0,
                        decision="approved",
                        decided_at=occurred + timedelta(hours=14),
                    )
                )
    # A community contact: a group met at the metro station.
    session.add(
        Contact(
            client_uuid=new_uuid(),
            payload_hash="demo",
            organisation_id=programme_id,
            worker_id=worker.id or 0,
            subject=ContactSubject.group.value,
            group_size=6,
            occurred_at=now - timedelta(days=1, hours=2),
            received_at=now - timedelta(days=1, hours=2),
            area_id=places["Tensta T-bana"].area_id,
            place_id=places["Tensta T-bana"].id,
            kind=ContactKind.street.value,
            purpose=ContactPurpose.norm_message.value,
            duration_minutes=20,
            note="Talked about the weekend; the group was calm.",
            review_state=ReviewState.submitted.value,
            updated_at=now - timedelta(days=1, hours=2),
        )
    )
    session.flush()
    seed_demo_conflict(session=session, now=now)
    seed_demo_briefing(session=session, now=now)
    seed_demo_walks(session=session, now=now)
    seed_demo_referrals(session=session, now=now)
    # The months before, so the figures and the monthly report have something to say.
    from interrupters.demo_history import seed_demo_history

    seed_demo_history(session=session, now=now, programme=PROGRAMME, association=ASSOCIATION)
    seed_demo_research(session=session, now=now)
    seed_demo_picture(session=session, now=now)
    # The contacts above were added as rows: each participant's latest contact is read once.
    refresh_latest(session=session, participant_ids=None)
    return True


def seed_demo_briefing(*, session: Session, now: datetime) -> None:
    """The field assistants' weekend briefing for Järva, published and current until Sunday
    06:00 (the coming one), so a newcomer always finds a current briefing."""
    from interrupters.auth.models import User
    from interrupters.briefings.models import Briefing, BriefingDistrict, BriefingPlaceStatus
    from interrupters.briefings.values import BriefingState
    from interrupters.places.values import PlaceStatus

    author = session.exec(select(User).where(User.email == "author@example.org")).one()
    organisation = session.exec(
        select(Organisation).where(Organisation.name == FIELD_ASSISTANTS)
    ).one()
    district = next(d for d in ensure_stockholm_districts(session=session) if d.name == "Järva")
    local = now.astimezone(STOCKHOLM)
    sunday = (local + timedelta(days=(6 - local.weekday()) % 7)).replace(
        hour=6, minute=0, second=0, microsecond=0
    )
    if sunday <= local:
        sunday += timedelta(days=7)
    friday = sunday - timedelta(days=2)
    briefing = Briefing(
        organisation_id=organisation.id or 0,
        author_id=author.id or 0,
        title="Helgens lägesbild Järva",
        valid_from=min(now, friday.replace(hour=18)),
        valid_to=sunday,
        summary=(
            "Fotbollsmatch på lördag kväll: en stor samling väntas vid Rinkeby torg efteråt. "
            "Lugnt i övrigt i veckan."
        ),
        expected_events=[
            {
                "what": "Fotbollsmatch, stor samling efteråt",
                "where": "Rinkeby torg",
                "when": "Lördag 21:00",
            },
        ],
        on_call=[
            {"who": "Fältassistenterna Järva", "phone": "08-508 00 000"},
            {"who": "Socialjouren", "phone": "08-508 400 00"},
            {"who": "Nödnummer", "phone": "112"},
            {"who": "Polisen, icke akut", "phone": "114 14"},
        ],
        safety_reminders="Gå minst tre i varje grupp. Ring 112 vid fara, ingrip aldrig ensam.",
        meeting_at=friday.replace(hour=17, minute=30),
        meeting_place="Husby gård",
        identifies_no_one=True,
        state=BriefingState.published.value,
        published_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(briefing)
    session.flush()
    session.add(BriefingDistrict(briefing_id=briefing.id or 0, district_id=district.id or 0))
    for name, status, note in (
        ("Rinkeby torg", PlaceStatus.tense, "Stor samling väntas efter fotbollsmatchen."),
        ("Tensta T-bana", PlaceStatus.watch, "Håll uppsikt sena kvällar."),
    ):
        place = session.exec(select(Place).where(Place.name == name)).one()
        place.status = status.value
        session.add(place)
        session.add(
            BriefingPlaceStatus(
                briefing_id=briefing.id or 0, place_id=place.id or 0, status=status.value, note=note
            )
        )
    session.flush()


def seed_demo_conflict(*, session: Session, now: datetime) -> None:
    """Conflict C-0012 (DOMAIN.md): two groups after an online provocation, a weapon rumoured,
    raised to level 3, one mediation that resolved it for now, a follow-up in 48 hours."""
    from interrupters.conflicts import services as conflicts

    worker = _demo_principal(session, "interrupter@example.org")
    colleague = _demo_principal(session, "interrupter2@example.org")
    torg = session.exec(select(Place).where(Place.name == "Rinkeby torg")).one()
    conflict, _created = conflicts.flag_conflict(
        session=session,
        actor=worker,
        data=conflicts.ConflictInput(
            area_id=torg.area_id,
            place_id=torg.id,
            detected_via="social_media",
            catalyst="online_provocation",
            type="group_vs_group",
            parties_count=2,
            supporters_count=15,
            party_labels=["the older group from the square", "the group from the school yard"],
            youth_involved=True,
            weapon="rumoured",
            risk_level=2,
            occurred_at=now - timedelta(days=2, hours=3),
            note="A video mocking the younger group spread on Friday night.",
        ),
        client_uuid=new_uuid(),
        now=now - timedelta(days=2, hours=3),
    )
    assert conflict.id is not None
    conflict.code = "C-0012"  # the demo scenario's number, as in DOMAIN.md
    session.add(conflict)
    conflicts.update_conflict(
        session=session,
        actor=worker,
        conflict_id=conflict.id,
        data=conflicts.ConflictUpdateInput(
            risk_level=3,
            text="Threats answered online; both groups talk about meeting at the square.",
            occurred_at=now - timedelta(days=1, hours=6),
        ),
        client_uuid=new_uuid(),
        now=now - timedelta(days=1, hours=6),
    )
    conflicts.record_mediation(
        session=session,
        actor=worker,
        conflict_id=conflict.id,
        data=conflicts.MediationInput(
            mediator_ids=[worker.user_id, colleague.user_id],
            occurred_at=now - timedelta(hours=20),
            place_id=torg.id,
            strategies=["separate_parties", "face_saving", "focus_consequences"],
            outcome="temporarily_resolved",
            follow_up_on=(now + timedelta(hours=48)).astimezone(STOCKHOLM).date(),
            note="Talked with each group apart; they agreed to stay off the square this weekend.",
        ),
        client_uuid=new_uuid(),
        now=now - timedelta(hours=20),
    )
    session.flush()


def _demo_principal(session: Session, email: str) -> Principal:
    """A demo account as the services see it (no device session: nobody signed in)."""
    from interrupters.auth.models import User
    from interrupters.auth.services import memberships_of

    user = session.exec(select(User).where(User.email == email)).one()
    assert user.id is not None
    return Principal(
        user_id=user.id,
        display_name=user.display_name,
        email=user.email,
        locale=user.locale,
        device_session_id=0,
        token="",
        memberships=memberships_of(session=session, user_id=user.id),
        pledge_accepted=True,
    )


DEMO_WALKERS = [a.email for a in DEMO_ACCOUNTS if a.role == "night_walker"]
WALK_START, WALK_END = time(20, 30), time(1, 0)
FRIDAY, SATURDAY = 4, 5
WALK_WEEKS = 4


def seed_demo_walks(*, session: Session, now: datetime) -> None:
    """Nattvandrarna Järva's walks: Fridays and Saturdays 20:30 to 01:00 from Husby gård,
    a weekly series for the coming weeks with the four walkers signed up in groups, and last
    weekend's walk completed with its report, so a newcomer sees a coming walk and a past
    report. Made through the walks services, as the lead and the walkers would."""
    from interrupters.walks.models import Walk
    from interrupters.walks.services import (
        WalkInput,
        WalkReportInput,
        auto_groups,
        complete_walk,
        file_walk_report,
        local_span,
        schedule_walks,
        sign_up,
        start_walk,
    )

    organisation = session.exec(select(Organisation).where(Organisation.name == ASSOCIATION)).one()
    if session.exec(select(Walk).where(Walk.organisation_id == organisation.id)).first():
        return
    lead = _demo_principal(session, "lead@example.org")
    walkers = [_demo_principal(session, email) for email in DEMO_WALKERS]
    district = next(d for d in ensure_stockholm_districts(session=session) if d.name == "Järva")
    places = {p.name: p for p in session.exec(select(Place))}
    today = now.astimezone(STOCKHOLM).date()

    def schedule(first: date, weekdays: list[int], at: datetime) -> list[Walk]:
        return schedule_walks(
            session=session,
            actor=lead,
            data=WalkInput(
                district_id=district.id or 0,
                meeting_place_id=places["Husby gård"].id,
                first_date=first,
                start_time=WALK_START,
                end_time=WALK_END,
                weekdays=weekdays,
                weeks=WALK_WEEKS if weekdays else 1,
                leader_id=lead.user_id,
            ),
            now=at,
        )

    def staffed(walk: Walk, at: datetime) -> None:
        for walker in walkers:
            sign_up(session=session, actor=walker, walk_id=walk.id or 0, now=at)
        auto_groups(session=session, actor=lead, walk_id=walk.id or 0)

    # Last weekend's Saturday walk: the latest Saturday whose walk has ended by now.
    saturday = today - timedelta(days=(today.weekday() - SATURDAY) % 7)
    while local_span(saturday, WALK_START, WALK_END)[1] > now:
        saturday -= timedelta(days=7)
    planned_at = local_span(saturday, WALK_START, WALK_END)[0] - timedelta(days=6)
    (past,) = schedule(saturday, [], planned_at)
    staffed(past, planned_at + timedelta(hours=1))
    starts, ends = past.planned_start, past.planned_end
    start_walk(session=session, actor=lead, walk_id=past.id or 0, now=starts + timedelta(minutes=5))
    complete_walk(session=session, actor=lead, walk_id=past.id or 0, now=ends)
    file_walk_report(
        session=session,
        actor=lead,
        data=WalkReportInput(
            walk_id=past.id or 0,
            places_visited=[
                places[name].id or 0 for name in ("Husby gård", "Tensta centrum", "Tensta T-bana")
            ],
            youths_met=YouthsMet.many,
            age_impression=[AgeImpression.age_13_15, AgeImpression.age_16_17],
            atmosphere=Atmosphere.lively,
            observations=[Observation.large_gathering, Observation.fight],
            actions=[
                WalkAction.talked_with_youth,
                WalkAction.called_114_14,
                WalkAction.reported_environment_fault,
            ],
            environment_faults=[EnvironmentFault.lighting],
            fault_place_id=places["Tensta centrum"].id,
            debrief_held=True,
            note=(
                "Ett slagsmål vid Tensta T-bana, vi ringde 114 14. "
                "Trasig belysning i trappan vid Tensta centrum."
            ),
        ),
        client_uuid=new_uuid(),
        now=ends + timedelta(minutes=20),
    )

    # The coming weeks: every Friday and Saturday walk from today on, the walkers signed up.
    for walk in schedule(today, [FRIDAY, SATURDAY], now):
        staffed(walk, now)
    session.flush()


# Järva's services (DOMAIN.md, "More demo data"): offices, never persons. The phone numbers are
# in the range Sweden's telecom regulator keeps for fiction (070-174 06 05 to 070-174 06 99).
DEMO_SERVICES = [
    (
        "Stödcentrum Järva (unga brottsutsatta)",
        "victim_support_centre",
        ["Järva"],
        "070-174 06 05",
        "Mån-fre 9-16, drop-in tisdagar 13-16",
        "Kista torg, plan 2",
    ),
    (
        "Medling vid brott, Järva",
        "youth_mediation",
        ["Järva"],
        "070-174 06 06",
        "Mån-fre 8-16",
        "Kista torg, plan 2",
    ),
    (
        "Socialtjänsten Järva, barn och unga",
        "social_services",
        ["Järva"],
        "070-174 06 07",
        "Mån-fre 8-16.30",
        "Rinkeby centrum, plan 3",
    ),
    ("Socialjouren", "social_emergency", [], "070-174 06 08", "Dygnet runt", ""),
    (
        "Relationsvåldscentrum Västerort",
        "relationship_violence_centre",
        ["Järva", "Bromma", "Hässelby-Vällingby"],
        "070-174 06 09",
        "Mån-fre 9-16",
        "Vällingby centrum, plan 4",
    ),
    ("Avhopparverksamheten (SIG)", "exit_programme", [], "070-174 06 10", "Mån-fre 8-17", ""),
    (
        "BUP Järva (barn- och ungdomspsykiatri)",
        "youth_psychiatry",
        ["Järva"],
        "070-174 06 11",
        "Mån-fre 8-16.30",
        "Tensta centrum, plan 1",
    ),
]


def seed_demo_referrals(*, session: Session, now: datetime) -> None:
    """Järva's services, and P-7K3Q's referral to youth mediation: contact made, follow-up
    next week."""
    by_name = {d.name: d.id or 0 for d in ensure_stockholm_districts(session=session)}
    mediation: Service | None = None
    for name, kind, served, phone, hours, address in DEMO_SERVICES:
        service = Service(
            name=name,
            kind=kind,
            district_ids=sorted(by_name[d] for d in served if d in by_name),
            phone=phone,
            opening_hours=hours,
            visiting_address=address,
            updated_at=now,
        )
        session.add(service)
        if kind == "youth_mediation":
            mediation = service
    session.flush()
    assert mediation is not None and mediation.id is not None
    worker = _demo_principal(session, "interrupter@example.org")
    participant = session.exec(select(Participant).where(Participant.code == "P-7K3Q")).one()
    assert participant.id is not None
    today = now.astimezone(STOCKHOLM).date()
    made_at = now - timedelta(days=4, hours=3)
    referral, _created = referrals.make_referral(
        session=session,
        actor=worker,
        data=referrals.ReferralInput(
            participant_id=participant.id,
            service_id=mediation.id,
            made_at=made_at,
            consent_given=True,
            consent_scope="worker_contacts_service",
            follow_up_on=today,
        ),
        client_uuid=new_uuid(),
        now=made_at,
    )
    assert referral.id is not None
    referrals.update_referral(
        session=session,
        actor=worker,
        referral_id=referral.id,
        data=referrals.ReferralUpdateInput(
            status="contact_made",
            occurred_at=now - timedelta(days=1, hours=5),
            follow_up_on=today + timedelta(days=7),
        ),
        client_uuid=new_uuid(),
        now=now - timedelta(days=1, hours=5),
    )
    session.flush()


RESEARCH_TITLE = "Utvärdering av Järva fredsbyggare"


def seed_demo_research(*, session: Session, now: datetime) -> None:
    """The evaluation at Stockholm University's criminology department (DOMAIN.md, "More demo
    data"): requested by the demo researcher, approved by the supervisor for the area-month
    figures and every event-level file. Idempotent: a second call finds it by its title."""
    from interrupters.research import services as research
    from interrupters.research.models import EventFile, ResearchProject

    if session.exec(select(ResearchProject).where(ResearchProject.title == RESEARCH_TITLE)).first():
        return
    programme = session.exec(select(Organisation).where(Organisation.name == PROGRAMME)).one()
    researcher = _demo_principal(session, "researcher@example.org")
    supervisor = _demo_principal(session, "supervisor@example.org")
    today = now.astimezone(STOCKHOLM).date()
    files = [f.value for f in EventFile]
    project = research.request_project(
        session=session,
        actor=researcher,
        data={
            "organisation_id": programme.id,
            "title": RESEARCH_TITLE,
            "institution": "Kriminologiska institutionen, Stockholms universitet",
            # A made-up reference in the Swedish Ethical Review Authority's format.
            "ethics_reference": "Dnr 2026-01234-01",
            "aim": (
                "Följer pilotens första år: kontakter per deltagare och vecka, konflikters "
                "nivåer över tid, medlingarnas utfall och hur hänvisningar slutar."
            ),
            "period_start": date(today.year, 1, 1) - timedelta(days=365),
            "period_end": date(today.year + 1, 12, 31),
            "expires_on": date(today.year + 2, 6, 30),
            "requested_files": files,
        },
        now=now - timedelta(days=14),
    )
    research.review_project(
        session=session,
        actor=supervisor,
        project_id=project.id or 0,
        data={
            "decision": "approve",
            "approved_files": files,
            "note": "Godkänt enligt etikprövningsbeslutet. Resultat redovisas på områdesnivå.",
        },
        now=now - timedelta(days=10),
    )


# The five places where they are (WGS84), for the situational picture's map.
PLACE_COORDINATES = {
    "Rinkeby torg": (59.38826, 17.92790),
    "Tensta centrum": (59.39490, 17.90270),
    "Tensta T-bana": (59.39440, 17.90120),
    "Husby gård": (59.41300, 17.92600),
    "Järvafältet": (59.41700, 17.90600),
}
# Observations a week at Rinkeby torg, ten weeks ago to this week: rising (DOMAIN.md).
RINKEBY_WEEKS = [1, 1, 2, 1, 2, 2, 3, 4, 5, 7]
PICTURE_KINDS = {
    "Rinkeby torg": ["gathering", "tension_between_groups", "gathering", "threats", "fight"],
    "Tensta centrum": ["environment_fault", "gathering", "vandalism"],
    "Tensta T-bana": ["gathering", "calm_evening", "drug_dealing_visible"],
    "Husby gård": ["calm_evening", "gathering"],
    "Järvafältet": ["calm_evening", "fire"],
}


def seed_demo_picture(*, session: Session, now: datetime) -> None:
    """Ten weeks of place observations from the field assistants and the guards (the
    district's unit speaks for the city's guards) beside the walk report, rising at Rinkeby
    torg; the previous period closed at last week's meeting; the open period with two actions:
    the broken light on the Tensta centrum stairs and extra presence at Rinkeby torg on
    Saturday. Made through the picture's services, as the partners would."""
    from interrupters.picture import services as picture

    places = {p.name: p for p in session.exec(select(Place))}
    for name, (latitude, longitude) in PLACE_COORDINATES.items():
        places[name].latitude, places[name].longitude = latitude, longitude
        session.add(places[name])
    author = _demo_principal(session, "author@example.org")
    unit = session.exec(select(Organisation).where(Organisation.name == FIELD_ASSISTANTS)).one()
    district = next(d for d in ensure_stockholm_districts(session=session) if d.name == "Järva")
    rng = random.Random(12)  # noqa: S311  (demo data, not secrets)
    today = now.astimezone(STOCKHOLM).date()
    this_monday = today - timedelta(days=today.weekday())

    def evening(day: date) -> datetime:
        at = datetime.combine(day, time(rng.choice([18, 19, 20, 21, 22])), tzinfo=STOCKHOLM)
        return at + timedelta(minutes=rng.choice([0, 10, 25, 40]))

    def observe(name: str, at: datetime, kind: str) -> None:
        if at >= now:
            return
        severity = "3" if kind in ("fight", "fire") else "2" if kind != "calm_evening" else "1"
        picture.file_observation(
            session=session,
            actor=author,
            data=picture.ObservationInput(
                place_id=places[name].id or 0,
                observed_at=at,
                source=rng.choice(["field_assistants", "guards"]),
                kind=kind,
                severity=severity,
                note="",
            ),
            client_uuid=new_uuid(),
            now=at + timedelta(minutes=30),
        )

    for week, rinkeby in enumerate(RINKEBY_WEEKS):
        monday = this_monday - timedelta(weeks=len(RINKEBY_WEEKS) - 1 - week)
        for _i in range(rinkeby):
            observe(
                "Rinkeby torg",
                evening(monday + timedelta(days=rng.choice([3, 4, 5, 5, 6]))),
                rng.choice(PICTURE_KINDS["Rinkeby torg"]),
            )
        for name in ("Tensta centrum", "Tensta T-bana", "Husby gård", "Järvafältet"):
            if rng.random() < 0.7:
                observe(
                    name,
                    evening(monday + timedelta(days=rng.choice([4, 5]))),
                    rng.choice(PICTURE_KINDS[name]),
                )
    # Last week's meeting (Tuesday morning) closed the previous period.
    meeting = datetime.combine(this_monday - timedelta(days=6), time(9), tzinfo=STOCKHOLM)
    if meeting >= now:
        meeting = now - timedelta(days=7)
    picture.close_period(
        session=session,
        actor=author,
        district_id=district.id or 0,
        data=picture.CloseInput.model_validate(
            {
                "summary": "Fler samlingar kvällstid vid Rinkeby torg. Trasig belysning i "
                "trappan vid Tensta centrum.",
                "concerns": [
                    {
                        "place_id": places["Rinkeby torg"].id,
                        "status": "watch",
                        "note": "Fler samlingar kvällstid",
                    },
                    {
                        "place_id": places["Tensta centrum"].id,
                        "status": "watch",
                        "note": "Trasig belysning i trappan",
                    },
                ],
            }
        ),
        now=meeting,
    )
    saturday = today + timedelta(days=(5 - today.weekday()) % 7)
    for name, what, due in (
        ("Tensta centrum", "lighting_repair", today + timedelta(days=7)),
        ("Rinkeby torg", "field_assistant_presence", saturday),
    ):
        picture.add_action(
            session=session,
            actor=author,
            district_id=district.id or 0,
            data=picture.ActionInput(
                place_id=places[name].id or 0,
                what=what,
                owner_organisation_id=unit.id or 0,
                due_on=due,
            ),
            now=now,
        )
    # The programme's own place signals at the square (kept in the programme by default).
    interrupter = _demo_principal(session, "interrupter@example.org")
    for hours in (30, 54):
        at = now - timedelta(hours=hours)
        picture.send_place_signal(
            session=session,
            actor=interrupter,
            data=picture.SignalInput(
                place_id=places["Rinkeby torg"].id or 0,
                observed_at=at,
                kind="tension_between_groups",
                severity="2",
            ),
            client_uuid=new_uuid(),
            now=at + timedelta(minutes=5),
        )
    session.flush()
