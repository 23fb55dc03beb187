"""Records with random but valid data; every factory takes overrides."""

from __future__ import annotations

import html
import random
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from flask.testing import FlaskClient
from sqlmodel import Session, select

from interrupters.auth.models import Organisation, OrganisationDistrict, User
from interrupters.auth.principal import Principal
from interrupters.auth.services import (
    create_user_with_password,
    principal_for_token,
    start_device_session,
)
from interrupters.auth.values import OrganisationType, Role
from interrupters.conflicts.services import ConflictInput
from interrupters.contacts.models import Contact
from interrupters.contacts.services import ContactInput, log_contact
from interrupters.contacts.values import ContactKind, ContactPurpose
from interrupters.participants.models import Participant
from interrupters.participants.services import ParticipantInput, create_participant
from interrupters.participants.values import AgeBand, RiskTier
from interrupters.picture.models import PictureAction
from interrupters.places.models import Area, District, Place
from interrupters.places.services import ensure_stockholm_districts
from interrupters.places.values import PlaceType
from interrupters.referrals.models import Referral, Service
from interrupters.referrals.services import ReferralInput, make_referral
from interrupters.walks.models import Walk, WalkReport, WalkSignup
from interrupters.walks.services import WalkReportInput, file_walk_report

PASSWORD = "correct-horse-battery-Järva"
rng = random.Random()
# The authenticator secrets login_as set up, by user id (tests compute codes from them).
TOTP_SECRETS: dict[int, str] = {}
_SECRET_IN_PAGE = re.compile(r'<code class="secret">([A-Z2-7]+)</code>')
RECOVERY_CODE_IN_PAGE = re.compile(r"<li><code>([a-z2-9]{6}-[a-z2-9]{6})</code></li>")


def enrol_authenticator(client: FlaskClient, user: User) -> list[str]:
    """Set up an authenticator app through the real pages, as a person would right after the
    password: ask for the QR code, read the key beside it, type the app's code. Returns the
    recovery codes shown; the secret is kept in TOTP_SECRETS."""
    started = client.post("/login/authenticator/start")
    assert started.status_code == 302, started.status_code
    page = client.get("/login/authenticator").get_data(as_text=True)
    found = _SECRET_IN_PAGE.search(page)
    assert found is not None, page[:500]
    secret = found.group(1)
    clock = client.application.config.get("CLOCK")
    when = clock() if clock else datetime.now(UTC)
    done = client.post("/login/authenticator", data={"code": pyotp.TOTP(secret).at(when)})
    assert done.status_code == 200, done.get_data(as_text=True)[:500]
    assert user.id is not None
    TOTP_SECRETS[user.id] = secret
    return [
        html.unescape(code) for code in RECOVERY_CODE_IN_PAGE.findall(done.get_data(as_text=True))
    ]


# Which organisation a role belongs to by default.
ROLE_ORGANISATION = {
    Role.admin: "operations",
    Role.supervisor: "programme",
    Role.interrupter: "programme",
    Role.researcher: "programme",
    Role.briefing_author: "municipal",
    Role.association_lead: "association",
    Role.night_walker: "association",
}


@dataclass
class World:
    districts: dict[str, District]
    areas: dict[str, Area]
    places: dict[str, Place]
    organisations: dict[str, Organisation]


def make_world(session: Session) -> World:
    districts = {d.name: d for d in ensure_stockholm_districts(session=session)}
    areas = {}
    for name, district in (("Rinkeby", "Järva"), ("Tensta", "Järva"), ("Bredäng", "Skärholmen")):
        areas[name] = Area(district_id=districts[district].id or 0, name=name)
        session.add(areas[name])
    session.flush()
    places = {}
    for name, area, kind in (
        ("Rinkeby torg", "Rinkeby", PlaceType.square),
        ("Tensta centrum", "Tensta", PlaceType.centrum),
        ("Bredängs centrum", "Bredäng", PlaceType.centrum),
    ):
        places[name] = Place(area_id=areas[area].id or 0, name=name, type=kind.value)
        session.add(places[name])
    organisations = {}
    for key, name, kind in (
        ("operations", "Drift", OrganisationType.other),
        ("programme", "Fredsbyggare", OrganisationType.cv_programme),
        ("other_programme", "Andra programmet", OrganisationType.cv_programme),
        ("association", "Nattvandrare", OrganisationType.night_walk_association),
        ("municipal", "Fältassistenter", OrganisationType.municipal_unit),
    ):
        organisations[key] = Organisation(name=name, type=kind.value)
        session.add(organisations[key])
    session.flush()
    session.add(
        OrganisationDistrict(
            organisation_id=organisations["programme"].id or 0,
            district_id=districts["Järva"].id or 0,
        )
    )
    # The association walks in Järva: its walks and reports are in its districts.
    session.add(
        OrganisationDistrict(
            organisation_id=organisations["association"].id or 0,
            district_id=districts["Järva"].id or 0,
        )
    )
    session.flush()
    return World(districts=districts, areas=areas, places=places, organisations=organisations)


# Digits are mapped to letters so a marker can never look like an identity number,
# which the conflict form refuses in a group label.
_DIGITS_TO_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def marker(prefix: str, length: int = 10) -> str:
    """A unique, searchable string of letters for planting in records."""
    return f"{prefix}-{uuid.uuid4().hex[:length].translate(_DIGITS_TO_LETTERS)}"


def create_user(
    session: Session,
    world: World,
    role: str | Role,
    *,
    organisation: str | None = None,
    **overrides: Any,
) -> User:
    role = Role(role)
    key = organisation or ROLE_ORGANISATION[role]
    suffix = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "email": f"{role.value}-{suffix}@example.org",
        "display_name": f"{role.value.replace('_', ' ').title()} {suffix[:4]}",
        "password": PASSWORD,
        "pledge_accepted_at": datetime.now(UTC),
    } | overrides
    return create_user_with_password(
        session=session,
        memberships=[(world.organisations[key].id or 0, role)],
        **values,
    )


def principal(session: Session, user: User) -> Principal:
    token = start_device_session(session=session, user=user, device_label="test")
    found = principal_for_token(session=session, token=token)
    assert found is not None
    return found


def create_participant_for(
    session: Session, world: World, worker: User, **overrides: Any
) -> Participant:
    data = {
        "area_id": world.areas["Rinkeby"].id,
        "age_band": rng.choice(list(AgeBand)),
        "risk_tier": rng.choice(list(RiskTier)),
    } | overrides
    return create_participant(
        session=session,
        actor=principal(session, worker),
        data=ParticipantInput.model_validate(data),
    )


def contact_input(world: World, **overrides: Any) -> ContactInput:
    place = world.places["Rinkeby torg"]
    data: dict[str, Any] = {
        "subject": "person",
        "age_band": rng.choice(list(AgeBand)),
        "occurred_at": datetime.now(UTC) - timedelta(minutes=rng.randint(5, 600)),
        "area_id": place.area_id,
        "place_id": place.id,
        "kind": rng.choice(list(ContactKind)),
        "purpose": rng.choice(list(ContactPurpose)),
        "duration_minutes": rng.randint(1, 60),
        "note": "Calm evening by the square.",
    } | overrides
    return ContactInput.model_validate(data)


def conflict_input(world: World, **overrides: Any) -> ConflictInput:
    """A level-2 conflict between two groups at Rinkeby torg, an hour ago."""
    data: dict[str, Any] = {
        "area_id": world.areas["Rinkeby"].id,
        "place_id": world.places["Rinkeby torg"].id,
        "detected_via": "social_media",
        "catalyst": "online_provocation",
        "type": "group_vs_group",
        "parties_count": 2,
        "supporters_count": 12,
        "party_labels": ["the older group from the square", "the group from the school"],
        "youth_involved": True,
        "weapon": "rumoured",
        "risk_level": 2,
        "occurred_at": datetime.now(UTC) - timedelta(hours=1),
        "note": "Threats online after the match.",
    } | overrides
    return ConflictInput.model_validate(data)


def create_contact(session: Session, world: World, worker: User, **overrides: Any) -> Contact:
    contact, _created = log_contact(
        session=session,
        actor=principal(session, worker),
        data=contact_input(world, **overrides),
        client_uuid=str(uuid.uuid4()),
    )
    return contact


def create_participant_contact(
    session: Session, world: World, worker: User, participant: Participant, **overrides: Any
) -> Contact:
    """A contact with `participant` (its follow-up, if any, moves the participant's)."""
    return create_contact(
        session,
        world,
        worker,
        **{"subject": "participant", "participant_id": participant.id, "age_band": None}
        | overrides,
    )


def serve(session: Session, world: World, organisation: str, district: str = "Järva") -> None:
    """Let an organisation serve a district (idempotent)."""
    key = (world.organisations[organisation].id or 0, world.districts[district].id or 0)
    if session.get(OrganisationDistrict, key) is None:
        session.add(OrganisationDistrict(organisation_id=key[0], district_id=key[1]))
        session.flush()


def briefing_input(world: World, **overrides: Any) -> Any:
    from interrupters.briefings.services import BriefingInput

    now = datetime.now(UTC)
    data: dict[str, Any] = {
        "title": "Helgens lägesbild Järva",
        "valid_from": now - timedelta(hours=1),
        "valid_to": now + timedelta(days=2),
        "district_ids": [world.districts["Järva"].id],
        "summary": "Calm week; a football match on Saturday.",
        "place_statuses": [
            {"place_id": world.places["Rinkeby torg"].id, "status": "tense", "note": "Crowd"},
            {"place_id": world.places["Tensta centrum"].id, "status": "watch", "note": ""},
        ],
        "expected_events": [{"what": "Football match", "where": "Rinkeby IP", "when": "Sat"}],
        "on_call": [{"who": "Emergency", "phone": "112"}],
        "identifies_no_one": True,
    } | overrides
    return BriefingInput.model_validate(data)


def create_briefing(
    session: Session, world: World, author: User, *, publish: bool = False, **overrides: Any
) -> Any:
    """A draft (or, with `publish`, published) briefing by `author` for Järva."""
    from interrupters.briefings.services import draft_briefing, publish_briefing

    actor = principal(session, author)
    briefing = draft_briefing(session=session, actor=actor, data=briefing_input(world, **overrides))
    if publish:
        publish_briefing(session=session, actor=actor, briefing_id=briefing.id or 0)
        session.refresh(briefing)
    return briefing


def create_walk(session: Session, world: World, creator: User, **overrides: Any) -> Walk:
    """A planned walk of the association in Järva, in two days unless told otherwise."""
    starts = overrides.pop("planned_start", datetime.now(UTC) + timedelta(days=2))
    values: dict[str, Any] = {
        "organisation_id": world.organisations["association"].id,
        "district_id": world.districts["Järva"].id,
        "planned_start": starts,
        "planned_end": starts + timedelta(hours=5),
        "state": "planned",
        "created_by_id": creator.id,
    } | overrides
    walk = Walk(**values)
    session.add(walk)
    session.flush()
    return walk


def create_walk_report(
    session: Session, world: World, walker: User, walk: Walk, **overrides: Any
) -> WalkReport:
    """A walker's report on a walk that has begun (the walker is signed up to it)."""
    if (
        session.get(Walk, walk.id)
        and not session.exec(
            select(WalkSignup).where(WalkSignup.walk_id == walk.id, WalkSignup.user_id == walker.id)
        ).first()
    ):
        session.add(WalkSignup(walk_id=walk.id or 0, user_id=walker.id or 0))
        session.flush()
    tensta = world.places["Tensta centrum"].id
    data: dict[str, Any] = {
        "walk_id": walk.id,
        "places_visited": [tensta],
        "youths_met": "26-50",
        "atmosphere": "lively",
        "observations": ["fight"],
        "actions": ["called_114_14"],
        "environment_faults": ["lighting"],
        "fault_place_id": tensta,
        "note": "A broken light on the stairs.",
    } | overrides
    report, _created = file_walk_report(
        session=session,
        actor=principal(session, walker),
        data=WalkReportInput.model_validate(data),
        client_uuid=str(uuid.uuid4()),
    )
    return report


def create_service(session: Session, world: World, **overrides: Any) -> Service:
    """A service in the directory, serving Järva."""
    values = {
        "name": marker("Service"),
        "kind": "youth_mediation",
        "district_ids": [world.districts["Järva"].id],
        "phone": "08-123 456",
        "opening_hours": "Mon-Fri 9-16",
        "visiting_address": "Kista torg 1",
    } | overrides
    service = Service.model_validate(values)
    session.add(service)
    session.flush()
    return service


def create_referral(
    session: Session, worker: User, participant: Participant, service: Service, **overrides: Any
) -> Referral:
    """A referral of `participant` to `service`, made by `worker` an hour ago."""
    data = {
        "participant_id": participant.id,
        "service_id": service.id,
        "made_at": datetime.now(UTC) - timedelta(hours=1),
        "consent_given": True,
        "consent_scope": "worker_contacts_service",
    } | overrides
    referral, _created = make_referral(
        session=session,
        actor=principal(session, worker),
        data=ReferralInput.model_validate(data),
        client_uuid=str(uuid.uuid4()),
    )
    return referral


def create_research_project(
    session: Session,
    world: World,
    researcher: User,
    *,
    state: str = "approved",
    files: tuple[str, ...] = ("contacts", "mediations", "level_changes", "referrals"),
    **overrides: Any,
) -> Any:
    """A research project of the programme, requested by `researcher`; approved for `files`
    (through the services, as a supervisor would) unless `state` says otherwise."""
    from interrupters.research import services as research

    today = datetime.now(UTC).date()
    data = {
        "organisation_id": world.organisations["programme"].id,
        "title": marker("Project"),
        "institution": "Kriminologiska institutionen, Stockholms universitet",
        "ethics_reference": "Dnr 2026-01234-01",
        "period_start": today - timedelta(days=400),
        "period_end": today + timedelta(days=30),
        "expires_on": today + timedelta(days=365),
        "requested_files": list(files),
    } | overrides
    project = research.request_project(
        session=session, actor=principal(session, researcher), data=data
    )
    if state in ("approved", "refused", "withdrawn"):
        supervisor = principal(session, create_user(session, world, "supervisor"))
        research.review_project(
            session=session,
            actor=supervisor,
            project_id=project.id or 0,
            data={
                "decision": "refuse" if state == "refused" else "approve",
                "approved_files": list(files),
                "note": "Not covered by the ethics approval." if state == "refused" else "",
            },
        )
        if state == "withdrawn":
            research.withdraw_project(
                session=session, actor=supervisor, project_id=project.id or 0, note="Ended."
            )
    session.flush()
    return project


def create_picture_period(session: Session, world: World, coordinator: User) -> tuple[Any, Any]:
    """A closed period of Järva's situational picture with an action still open."""
    from interrupters.picture import services as picture

    serve(session, world, "municipal")
    actor = principal(session, coordinator)
    period = picture.close_period(
        session=session,
        actor=actor,
        district_id=world.districts["Järva"].id or 0,
        data=picture.CloseInput.model_validate(
            {
                "concerns": [
                    {"place_id": world.places["Rinkeby torg"].id, "status": "watch", "note": ""}
                ],
                "actions": [
                    {
                        "place_id": world.places["Tensta centrum"].id,
                        "what": "lighting_repair",
                        "owner_organisation_id": world.organisations["municipal"].id,
                        "due_on": (datetime.now(UTC) + timedelta(days=7)).date(),
                    }
                ],
            }
        ),
    )
    action = session.exec(select(PictureAction).where(PictureAction.period_id == period.id)).one()
    return period, action
