"""The authorisation matrix of DESIGN.md ("Who may see what"), checked against every route.

EXPECTED below is written from the design, not read from the views' policies: a route that is
missing from it fails the suite, and a policy that drifts from it fails the cell that changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, col, select
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from interrupters.audit.models import AuditEvent
from interrupters.auth import services as auth_services
from interrupters.auth.models import DeviceSession, User
from interrupters.conflicts import services as conflict_services
from interrupters.contacts.models import Contact
from interrupters.participants.models import Participant
from interrupters.push import services as push_services
from interrupters.records.models import HeldRecord
from interrupters.sync import crypto

from . import factories

# Outcomes ------------------------------------------------------------------------------------

OK = "ok"  # the view ran: 2xx, a redirect that is not to /login, or 422 for a refused form
FORBIDDEN = "forbidden"  # 403, written to the audit log
HIDDEN = "hidden"  # 404: the record's existence is itself sensitive
LOGIN = "login"  # 302 to /login?next=<this page> (anonymous)
UNAUTHORISED = "unauthorised"  # 401 to a script (the phone's outbox): sign in, keep the records
SIGNED_OUT = "signed_out"  # 302 to /login with Clear-Site-Data: the session ended (logout)

OK_STATUSES = {200, 201, 204, 302, 303, 422}
REDIRECTS = {301, 302, 303, 307, 308}

# Columns -------------------------------------------------------------------------------------

ROLES = (
    "admin",
    "supervisor",
    "interrupter",
    "briefing_author",
    "association_lead",
    "night_walker",
    "researcher",
)
# "interrupter" is the worker who logged the participant and the contact of the programme.
# "colleague" is another interrupter of the same programme (the team's records: read only).
# "outsider" is an interrupter of another cv_programme organisation.
COLUMNS = ("anonymous", *ROLES, "colleague", "outsider")
SIGNED_IN = frozenset(COLUMNS) - {"anonymous"}
CASE_WORKERS = frozenset({"supervisor", "interrupter", "colleague", "outsider"})
NEVER_CASE_RECORDS = ("briefing_author", "association_lead", "night_walker", "researcher")


def access(
    anonymous: str,
    *,
    ok: frozenset[str] | set[str] = frozenset(),
    hidden: frozenset[str] | set[str] = frozenset(),
    signed_out: frozenset[str] | set[str] = frozenset(),
) -> dict[str, str]:
    """One row of the matrix; a signed-in column that is not named is FORBIDDEN."""
    row = {column: FORBIDDEN for column in SIGNED_IN}
    row |= {column: OK for column in ok}
    row |= {column: HIDDEN for column in hidden}
    row |= {column: SIGNED_OUT for column in signed_out}
    row["anonymous"] = anonymous
    return row


PUBLIC_ROW = access(OK, ok=SIGNED_IN)
EVERYONE = access(LOGIN, ok=SIGNED_IN)
ADMIN_ONLY = access(LOGIN, ok={"admin"})
SUPERVISOR_ONLY = access(LOGIN, ok={"supervisor"})
CASE_LISTS = access(LOGIN, ok=CASE_WORKERS)
# The team reads the organisation's records; another programme must not learn they exist.
CASE_READ = access(LOGIN, ok={"supervisor", "interrupter", "colleague"}, hidden={"outsider"})
CASE_WRITE = access(LOGIN, ok={"supervisor", "interrupter"}, hidden={"outsider"})

BRIEFING_READERS = {"supervisor", "interrupter", "colleague", "association_lead", "night_walker"}
BRIEFING_ROLES = BRIEFING_READERS | {"briefing_author", "outsider"}
# The matrix's briefing is published, by another briefing author of the same municipal unit.
BRIEFING_OWN = access(LOGIN, ok={"briefing_author"})
BRIEFING_FOLLOW = access(LOGIN, ok={"supervisor", "briefing_author"})
WALK_ASSOCIATION = {"association_lead", "night_walker"}
WALK_READ = access(LOGIN, ok=WALK_ASSOCIATION | CASE_WORKERS)
WALK_MEMBERS = access(LOGIN, ok=WALK_ASSOCIATION)
WALK_LEAD = access(LOGIN, ok={"association_lead"})
WALK_ROWS = {
    "walks.index": WALK_READ,
    "walks.new": WALK_LEAD,
    "walks.detail": WALK_READ,
    "walks.signup": WALK_MEMBERS,
    "walks.withdraw": WALK_MEMBERS,
    "walks.add_walker": WALK_LEAD,
    "walks.remove_walker": WALK_LEAD,
    # The lead, or the walk's leader: a night walker who does not lead it is refused (403).
    "walks.groups": WALK_LEAD,
    "walks.auto_groups": WALK_LEAD,
    "walks.start": WALK_LEAD,
    "walks.complete": WALK_LEAD,
    "walks.cancel": WALK_LEAD,
    "walks.reports": WALK_READ,
    "walks.new_report": WALK_MEMBERS,
    "walks.report": WALK_READ,
    "walks.season": WALK_LEAD,
    "walks.figures": access(LOGIN, ok={"briefing_author", "supervisor", "researcher"}),
}
BRIEFING_ROWS = {
    "briefings.index": access(LOGIN, ok=BRIEFING_ROLES),
    "briefings.current": access(LOGIN, ok=BRIEFING_ROLES),
    "briefings.new": BRIEFING_FOLLOW,
    "briefings.detail": access(
        LOGIN, ok=BRIEFING_READERS | {"briefing_author"}, hidden={"outsider"}
    ),
    "briefings.edit": BRIEFING_OWN,
    "briefings.preview": BRIEFING_FOLLOW,
    "briefings.publish": BRIEFING_OWN,
    "briefings.schedule": BRIEFING_OWN,
    "briefings.unschedule": BRIEFING_OWN,
    "briefings.acknowledge": access(LOGIN, ok=BRIEFING_READERS, hidden={"outsider"}),
    "briefings.receipts": BRIEFING_FOLLOW,
    "briefings.present": BRIEFING_FOLLOW,
    "briefings.attendance": BRIEFING_FOLLOW,
}

PICTURE_READ = access(LOGIN, ok=BRIEFING_READERS | {"briefing_author"}, hidden={"outsider"})
PICTURE_COORDINATE = access(LOGIN, ok={"briefing_author"})
PICTURE_ROWS = {
    "picture.index": access(LOGIN, ok=BRIEFING_ROLES),
    "picture.district": PICTURE_READ,
    "picture.map_svg": PICTURE_READ,
    "picture.period": PICTURE_READ,
    "picture.add_action": PICTURE_COORDINATE,
    "picture.follow_up": PICTURE_COORDINATE,
    "picture.close": PICTURE_COORDINATE,
    "picture.settings": PICTURE_COORDINATE,
    "picture.new_observation": PICTURE_COORDINATE,
    "picture.signal": access(LOGIN, ok={"interrupter", "colleague", "outsider"}),
    "picture.sharing": SUPERVISOR_ONLY,
    "picture.export": access(LOGIN, ok={"briefing_author", "researcher"}),
    "picture.outlines": ADMIN_ONLY,
}

EXPECTED: dict[str, dict[str, str]] = {
    "main.home": EVERYONE,
    "main.more": EVERYONE,
    "main.health": PUBLIC_ROW,
    # Readiness answers everyone (a load balancer signs in as no one); its detail is for
    # admins and local probes (tests/test_health.py). The health page is the admin's.
    "health.ready": PUBLIC_ROW,
    "health.page": ADMIN_ONLY,
    # What makes the app installable and usable offline: the same for everyone, no records.
    "pwa.asset": PUBLIC_ROW,
    "pwa.service_worker": PUBLIC_ROW,
    "pwa.manifest": PUBLIC_ROW,
    "pwa.offline": PUBLIC_ROW,
    # Sign-in and the invitation link work before sign-in; signed in, /login sends you home.
    "auth.login": PUBLIC_ROW,
    "auth.invitation": PUBLIC_ROW,
    "auth.language": PUBLIC_ROW,
    "auth.logout": access(LOGIN, signed_out=SIGNED_IN),
    "auth.pledge": EVERYONE,
    "auth.profile": EVERYONE,
    "auth.password": EVERYONE,
    "auth.revoke_device": EVERYONE,
    # The second factor (issue 9): a device that has passed it (or needs none) is sent on; a
    # field role may set up an authenticator of its own accord.
    "auth.second_factor": EVERYONE,
    "auth.enrol_totp": EVERYONE,
    "auth.start_totp": EVERYONE,
    # Passkeys: anyone may add one; the sign-in with one is for the person's own device.
    "auth.passkey_options": EVERYONE,
    "auth.passkey_verify": EVERYONE,
    "auth.passkey_register_options": EVERYONE,
    "auth.passkey_register": EVERYONE,
    "auth.remove_passkey": EVERYONE,
    # Signing in with a passkey alone works before sign-in (signed in, it answers 422); new
    # recovery codes are anyone's own, behind the password.
    "auth.passkey_login_options": PUBLIC_ROW,
    "auth.passkey_login": PUBLIC_ROW,
    "auth.recovery_codes": EVERYONE,
    # A field phone's PIN (issue 9, item 5): anyone's own device; an office role is sent to the
    # profile, a device without a PIN is not locked and cannot forget one.
    "auth.new_pin": EVERYONE,
    "auth.skip_pin": EVERYONE,
    "auth.unlock": EVERYONE,
    "auth.forget_pin": EVERYONE,
    # Participants: own caseload and own records; the team's in own organisation, read.
    "participants.caseload": CASE_LISTS,
    "participants.team": CASE_LISTS,
    "participants.follow_ups": CASE_LISTS,
    "participants.new": CASE_LISTS,
    "participants.detail": CASE_READ,
    "participants.edit": CASE_WRITE,
    "participants.close": CASE_WRITE,
    # Contacts: own contacts, the team's read; only the author edits (supervisors return).
    "contacts.new": CASE_LISTS,
    "contacts.mine": CASE_LISTS,
    "contacts.detail": CASE_READ,
    "contacts.edit": access(LOGIN, ok={"interrupter"}, hidden={"outsider"}),
    "contacts.review_queue": SUPERVISOR_ONLY,
    "contacts.team": SUPERVISOR_ONLY,
    # Conflicts, mediations, incidents: all in own organisation for its workers; never others.
    "conflicts.index": CASE_LISTS,
    "conflicts.levels": CASE_LISTS,
    "conflicts.new": CASE_LISTS,
    "conflicts.detail": CASE_READ,
    "conflicts.update": CASE_READ,
    "conflicts.mediation": CASE_READ,
    "conflicts.link": access(LOGIN, ok={"supervisor"}),
    "conflicts.unlink": access(LOGIN, ok={"supervisor"}),
    "conflicts.incidents": CASE_LISTS,
    "conflicts.new_incident": CASE_LISTS,
    "conflicts.new_community_response": CASE_LISTS,
    "duty.index": CASE_LISTS,
    "duty.end": CASE_LISTS,
    "conflicts.report": SUPERVISOR_ONLY,
    "contacts.review": SUPERVISOR_ONLY,
    "contacts.approve_many": SUPERVISOR_ONLY,
    # The phones' outbox: everyone signed in may fetch a token and the key and send; what a
    # record may be is the record's rule: a contact only from interrupters and supervisors.
    "sync.config": EVERYONE,
    "sync.receive": access(UNAUTHORISED, ok=CASE_WORKERS),
    # Audits what someone discarded from their own phone's outbox: kinds and counts only.
    "sync.discarded": EVERYONE,
    # Records the server held for correction: everyone's own (the services see to "own"), and
    # for the supervisor who in the team has some waiting.
    "records.held": EVERYONE,
    "records.held_detail": EVERYONE,
    "records.discard": EVERYONE,
    "records.team": SUPERVISOR_ONLY,
    # Notifications: everyone signed in reads and acknowledges their own, and turns push on
    # and off for their own devices (the services see to "own"); the opt-in posts JSON.
    "push.notifications": EVERYONE,
    "push.mark_read": EVERYONE,
    "push.acknowledge": EVERYONE,
    "push.subscribe": access(UNAUTHORISED, ok=SIGNED_IN),
    "push.unsubscribe": EVERYONE,
    # Users, organisations, districts, areas and places: the admin.
    "admin.users": ADMIN_ONLY,
    "admin.invite": ADMIN_ONLY,
    "admin.user": ADMIN_ONLY,
    "admin.set_membership": ADMIN_ONLY,
    "admin.remove_membership": ADMIN_ONLY,
    "admin.deactivate_user": ADMIN_ONLY,
    "admin.activate_user": ADMIN_ONLY,
    "admin.new_invitation": ADMIN_ONLY,
    "admin.reset_second_factors": ADMIN_ONLY,
    "admin.organisations": ADMIN_ONLY,
    "admin.new_organisation": ADMIN_ONLY,
    "admin.edit_organisation": ADMIN_ONLY,
    "admin.organisation_retention": ADMIN_ONLY,
    "admin.places": ADMIN_ONLY,
    "admin.create_districts": ADMIN_ONLY,
    "admin.new_area": ADMIN_ONLY,
    "admin.new_place": ADMIN_ONLY,
    "admin.edit_place": ADMIN_ONLY,
    # The audit log (issue 9): the admin's.
    "audit.events": ADMIN_ONLY,
    "audit.verify": ADMIN_ONLY,
    "audit.export": ADMIN_ONLY,
    # Referrals: own participants' for interrupters, the organisation's for supervisors; the
    # team and other programmes do not learn they exist. The directory: the case workers read
    # it, the admin keeps it.
    "referrals.index": CASE_LISTS,
    "referrals.new": CASE_LISTS,
    "referrals.detail": access(
        LOGIN, ok={"supervisor", "interrupter"}, hidden={"colleague", "outsider"}
    ),
    "referrals.update": access(
        LOGIN, ok={"supervisor", "interrupter"}, hidden={"colleague", "outsider"}
    ),
    "referrals.directory": CASE_LISTS,
    "referrals.admin_services": ADMIN_ONLY,
    "referrals.new_service": ADMIN_ONLY,
    "referrals.edit_service": ADMIN_ONLY,
    # Briefings: writers (supervisors, briefing authors) of its organisation change it; writers
    # serving its districts follow it; readers there read and acknowledge it; never others.
    **BRIEFING_ROWS,
    # The situational picture: every partner serving the district reads it (another programme
    # does not learn of it); briefing authors observe and run the cycle; the programme
    # signals; its supervisor decides on sharing; the lägesbild export for partners and
    # researchers; the admin imports the map's outlines.
    **PICTURE_ROWS,
    # Walks and walk reports: the association's own; the programme reads; aggregates for the
    # briefing authors, supervisors and researchers (counts under 5 suppressed).
    **WALK_ROWS,
    # The figures (issue 11): suppressed aggregates of own programme, for its supervisors and
    # researchers; never for briefing authors (they read walk figures only) or field roles.
    "reports.figures": access(LOGIN, ok={"supervisor", "researcher"}),
    "reports.areas": access(LOGIN, ok={"supervisor", "researcher"}),
    "reports.monthly": access(LOGIN, ok={"supervisor", "researcher"}),
    # Research projects (issue 11, item 3): the researcher asks and downloads (own projects
    # only, approved and unexpired); supervisors of the programme review. Nothing person-level.
    "research.index": access(LOGIN, ok={"researcher", "supervisor"}),
    "research.new": access(LOGIN, ok={"researcher"}),
    "research.detail": access(LOGIN, ok={"researcher", "supervisor"}),
    "research.review": SUPERVISOR_ONLY,
    "research.withdraw": SUPERVISOR_ONLY,
    "research.download": access(LOGIN, ok={"researcher"}),
}

# POSTs that need real data to reach the permission check that matters (empty forms stop at
# validation); the contact form gets a whole contact (see post_data), the rest is posted empty.
POST_DATA: dict[str, dict[str, str]] = {
    "participants.close": {"exit_reason": "moved"},
    "contacts.review": {"decision": "approved"},
}


# Denials raised inside services (NotVisible / NotAllowed) rather than by a blueprint's guard;
# the error handler audits them (test_service_denials_are_audited).
SERVICE_DENIALS = {
    ("participants.detail", "outsider"),
    ("participants.edit", "outsider"),
    ("participants.close", "outsider"),
    ("participants.close", "colleague"),
    ("contacts.detail", "outsider"),
    ("contacts.edit", "outsider"),
    ("conflicts.detail", "outsider"),
    ("conflicts.update", "outsider"),
    ("conflicts.mediation", "outsider"),
    *(
        (f"referrals.{name}", who)
        for name in ("detail", "update")
        for who in ("colleague", "outsider")
    ),
    *(("sync.receive", role) for role in ("admin", *NEVER_CASE_RECORDS)),
    ("briefings.detail", "outsider"),
    *((f"picture.{name}", "outsider") for name in ("district", "map_svg", "period")),
    ("briefings.acknowledge", "outsider"),
    *((f"walks.{name}", "night_walker") for name in ("groups", "auto_groups", "start", "complete")),
    *(
        (f"briefings.{name}", "supervisor")
        for name in ("edit", "publish", "schedule", "unschedule")
    ),
}


# Fixtures and helpers shared with test_security ----------------------------------------------


@dataclass
class Records:
    """The ids a URL of the app can need, and who the signed-in person is."""

    column: str
    user_id: int | None
    worker_id: int
    participant_id: int
    participant_code: str
    contact_id: int
    contact_note: str
    conflict_id: int
    party_label: str
    target_user_id: int
    organisation_id: int
    district_id: int
    place_id: int
    device_id: int
    invitation_token: str
    notification_id: int
    briefing_id: int
    walk_id: int
    walk_report_id: int
    held_id: int
    referral_id: int
    service_id: int
    project_id: int
    period_id: int
    action_id: int

    def values(self) -> dict[str, Any]:
        return {
            "participant_id": self.participant_id,
            "contact_id": self.contact_id,
            "conflict_id": self.conflict_id,
            "user_id": self.target_user_id,
            "organisation_id": self.organisation_id,
            "district_id": self.district_id,
            "place_id": self.place_id,
            "device_id": self.device_id,
            "token": self.invitation_token,
            "notification_id": self.notification_id,
            "briefing_id": self.briefing_id,
            "walk_id": self.walk_id,
            "walk_report_id": self.walk_report_id,
            "held_id": self.held_id,
            "referral_id": self.referral_id,
            "service_id": self.service_id,
            "project_id": self.project_id,
            "file_name": "contacts",
            "file_format": "csv",
            "period_id": self.period_id,
            "action_id": self.action_id,
        }


LOGIN_ROLE = {"colleague": "interrupter", "outsider": "interrupter"}
LOGIN_ORGANISATION = {"outsider": "other_programme"}


def sign_in(app: Flask, login_as: Any, column: str) -> tuple[FlaskClient, User | None]:
    """A fresh client signed in as `column` (or anonymous) through the real login form."""
    client = app.test_client()
    if column == "anonymous":
        return client, None
    role = LOGIN_ROLE.get(column, column)
    overrides = {}
    if column in LOGIN_ORGANISATION:
        overrides["organisation"] = LOGIN_ORGANISATION[column]
    return client, login_as(role, client=client, **overrides)


def make_records(
    session: Session, world: factories.World, column: str, user: User | None
) -> Records:
    """A participant and a contact of the programme, a target user, an invitation, a device."""
    worker = (
        user if column == "interrupter" else factories.create_user(session, world, "interrupter")
    )
    assert worker is not None and worker.id is not None
    participant = factories.create_participant_for(session, world, worker)
    note = f"note-{uuid.uuid4().hex}"
    contact = factories.create_contact(
        session, world, worker, subject="participant", participant_id=participant.id, note=note
    )
    party_label = factories.marker("group")
    conflict, _created = conflict_services.flag_conflict(
        session=session,
        actor=factories.principal(session, worker),
        data=conflict_services.ConflictInput.model_validate(
            {
                "area_id": world.areas["Rinkeby"].id,
                "detected_via": "street",
                "catalyst": "territory",
                "type": "group_vs_group",
                "parties_count": 2,
                "party_labels": [party_label],
                "risk_level": 1,
                "occurred_at": datetime.now(ZoneInfo("Europe/Stockholm")) - timedelta(hours=1),
            }
        ),
        client_uuid=str(uuid.uuid4()),
    )
    target = factories.create_user(session, world, "researcher")
    invitee = factories.create_user(session, world, "night_walker")
    issuer = factories.principal(session, factories.create_user(session, world, "admin"))
    token = auth_services.issue_invitation(session=session, actor=issuer, user_id=invitee.id or 0)
    # Another device of the signed-in person, so revoking it does not end this session.
    owner = user or worker
    auth_services.start_device_session(session=session, user=owner, device_label="second phone")
    session.flush()
    device_id = session.exec(
        select(DeviceSession.id)
        .where(DeviceSession.user_id == owner.id)
        .order_by(col(DeviceSession.id).desc())
    ).first()
    # A notification for the signed-in person (or the worker, for the anonymous column).
    (notification,) = push_services.notify(
        session=session,
        recipient_ids=[owner.id or 0],
        kind="matrix",
        subject=f"matrix:{uuid.uuid4().hex}",
        title="Matrix",
        body="A generic text",
        url="/",
        requires_ack=True,
    )
    # A published briefing for Järva, which the association and the municipal unit serve.
    factories.serve(session, world, "association")
    factories.serve(session, world, "municipal")
    briefing_author = factories.create_user(session, world, "briefing_author")
    briefing = factories.create_briefing(session, world, briefing_author, publish=True)
    # A coming walk of the association, and a report on last night's walk.
    walk_lead = factories.create_user(session, world, "association_lead")
    walk = factories.create_walk(session, world, walk_lead)
    walk_report = factories.create_walk_report(
        session,
        world,
        factories.create_user(session, world, "night_walker"),
        factories.create_walk(
            session, world, walk_lead, planned_start=datetime.now(UTC) - timedelta(hours=6)
        ),
    )
    # A record the server held for the signed-in person (or the worker) to correct.
    held = HeldRecord(
        client_uuid=str(uuid.uuid4()),
        kind="contact",
        author_id=owner.id or 0,
        payload={"note": "held"},
        payload_hash="0" * 64,
        errors={"location": {"text": "Choose a place."}},
    )
    session.add(held)
    # The participant's referral, to a service of the directory.
    service = factories.create_service(session, world)
    referral = factories.create_referral(session, worker, participant, service)
    # An approved research project of the programme: the signed-in researcher's own.
    researcher = user if column == "researcher" else None
    project = factories.create_research_project(
        session, world, researcher or factories.create_user(session, world, "researcher")
    )
    # The situational picture of Järva: a closed period whose action is still open.
    period, action = factories.create_picture_period(session, world, briefing_author)
    session.commit()
    assert participant.id and contact.id and target.id and device_id
    return Records(
        column=column,
        user_id=user.id if user else None,
        worker_id=worker.id,
        participant_id=participant.id,
        participant_code=participant.code,
        contact_id=contact.id,
        contact_note=note,
        conflict_id=conflict.id or 0,
        party_label=party_label,
        target_user_id=target.id,
        organisation_id=world.organisations["programme"].id or 0,
        district_id=world.districts["Järva"].id or 0,
        place_id=world.places["Rinkeby torg"].id or 0,
        device_id=device_id,
        invitation_token=token,
        notification_id=notification.id or 0,
        briefing_id=briefing.id or 0,
        walk_id=walk.id or 0,
        walk_report_id=walk_report.id or 0,
        held_id=held.id or 0,
        referral_id=referral.id or 0,
        service_id=service.id or 0,
        project_id=project.id or 0,
        period_id=period.id or 0,
        action_id=action.id or 0,
    )


def contact_fields(place_id: int) -> dict[str, str]:
    """A contact as the online form (and the phone's outbox) sends it: local time, no UUID."""
    local = datetime.now(ZoneInfo("Europe/Stockholm")) - timedelta(minutes=30)
    return {
        "occurred_at": local.strftime("%Y-%m-%dT%H:%M"),
        "location": f"place:{place_id}",
        "subject": "person",
        "age_band": "15-17",
        "kind": "street",
        "purpose": "check_in",
        "note": "Calm by the square.",
    }


def sealed_contact(app: Flask, records: Records) -> dict[str, Any]:
    """An outbox record as the phone sends it: a contact encrypted to the server's key."""
    public = crypto.public_key_raw(crypto.load_or_create_key(Path(app.instance_path)))
    client_uuid = str(uuid.uuid4())
    envelope = crypto.seal(
        public, contact_fields(records.place_id), kind="contact", client_uuid=client_uuid
    )
    return {"kind": "contact", "client_uuid": client_uuid, "envelope": envelope}


def browser_subscription(_app: Flask, _records: Records) -> dict[str, Any]:
    """What the opt-in posts: a browser's push subscription (Chrome's push service)."""
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {
        "endpoint": f"https://fcm.googleapis.com/fcm/send/{uuid.uuid4().hex}",
        "expirationTime": None,
        "keys": {"p256dh": crypto.b64url(point), "auth": crypto.b64url(uuid.uuid4().bytes)},
    }


def post_data(endpoint: str, records: Records) -> dict[str, str]:
    if endpoint in ("contacts.new", "contacts.edit"):
        return contact_fields(records.place_id)
    return POST_DATA.get(endpoint, {})


# Routes that take JSON (the phone's outbox), with the body each is sent.
JSON_POSTS: dict[str, Callable[[Flask, Records], dict[str, Any]]] = {
    "sync.receive": sealed_contact,
    "push.subscribe": browser_subscription,
}


def app_rules(app: Flask) -> list[Rule]:
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]


def methods_of(rule: Rule) -> list[str]:
    methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    unknown = set(methods) - {"GET", "POST"}
    assert not unknown, f"{rule.endpoint} answers {unknown}: teach the matrix test these methods"
    return methods


def url_of(app: Flask, rule: Rule, records: Records, method: str = "GET") -> str:
    values = records.values() | {
        "version": app.config.get("STATIC_VERSION", ""),
        "filename": "css/app.css",
    }
    missing = sorted(rule.arguments - values.keys())
    assert not missing, f"{rule.endpoint} ({rule.rule}) needs {missing}: add them to Records"
    adapter = app.url_map.bind("localhost")
    return adapter.build(
        rule.endpoint, {name: values[name] for name in rule.arguments}, method=method
    )


def send(
    client: FlaskClient, app: Flask, rule: Rule, records: Records, method: str
) -> TestResponse:
    url = url_of(app, rule, records, method)
    if method == "GET":
        return client.get(url)
    if rule.endpoint in JSON_POSTS:
        return client.post(
            url,
            json=JSON_POSTS[rule.endpoint](app, records),
            headers={"Accept": "application/json"},
        )
    return client.post(url, data=post_data(rule.endpoint, records))


def outcome(response: TestResponse, path: str) -> str:
    """Put a response in one of the matrix's categories (or say exactly what it was)."""
    status = response.status_code
    if status in REDIRECTS:
        target = urlsplit(response.headers.get("Location", ""))
        if target.path == "/login":
            if "Clear-Site-Data" in response.headers:
                return SIGNED_OUT
            if parse_qs(target.query).get("next") == [path]:
                return LOGIN
            return f"unexpected redirect to {response.headers['Location']}"
    if status == 401:
        return UNAUTHORISED
    if status == 403:
        return FORBIDDEN
    if status == 404:
        return HIDDEN
    if status in OK_STATUSES:
        return OK
    return f"unexpected status {status}"


def last_audit_id(engine: Any) -> int:
    with Session(engine) as fresh:
        found = fresh.exec(select(AuditEvent.id).order_by(col(AuditEvent.id).desc())).first()
    return found or 0


def denials_since(engine: Any, after_id: int) -> list[AuditEvent]:
    with Session(engine) as fresh:
        return list(
            fresh.exec(
                select(AuditEvent)
                .where(col(AuditEvent.id) > after_id)
                .where(AuditEvent.event == "access_denied")
                .order_by(col(AuditEvent.id))
            )
        )


def assert_audited(
    engine: Any, after_id: int, endpoint: str, method: str, status: int, user_id: int | None
) -> None:
    rows = denials_since(engine, after_id)
    assert len(rows) == 1, f"{method} {endpoint}: {len(rows)} access_denied events, want 1"
    row = rows[0]
    assert row.actor_id == user_id
    assert row.detail == {"endpoint": endpoint, "method": method, "status": status}


@pytest.fixture
def sign_in_with_records(app, session, world, login_as):
    """Sign in a fresh client as a column of the matrix and make the records it will ask for."""

    def _make(column: str) -> tuple[FlaskClient, Records]:
        client, user = sign_in(app, login_as, column)
        return client, make_records(session, world, column, user)

    return _make


def ordered(rules: list[Rule], column: str) -> Iterator[Rule]:
    """Every rule, those that end the session last."""
    yield from sorted(
        rules, key=lambda r: (EXPECTED.get(r.endpoint, {}).get(column) == SIGNED_OUT, r.rule)
    )


# Tests ---------------------------------------------------------------------------------------


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Every denial here must be one audit event, and a column makes more in a minute than the
    flood limit (audit.services.record_denial, tested in test_audit.py): lift the limit.

    The office roles sign in with their second factor, as in production (login_as sets it up
    through the real pages)."""
    return {"AUDIT_DENIALS_IN_FULL": 10_000, "TWO_FACTOR_REQUIRED": True}


def test_every_route_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app_rules(app)}
    unlisted = sorted(endpoints - EXPECTED.keys())
    stale = sorted(EXPECTED.keys() - endpoints)
    assert not unlisted, f"routes missing from EXPECTED in tests/test_access_matrix.py: {unlisted}"
    assert not stale, f"EXPECTED names endpoints the app no longer has: {stale}"
    for endpoint, row in EXPECTED.items():
        assert set(row) == set(COLUMNS), f"{endpoint} does not state every column"


@pytest.mark.parametrize("column", COLUMNS)
def test_access_matrix(app, session, sign_in_with_records, column):
    """Every route for one column of the matrix: the outcome, and every denial audited."""
    client, records = sign_in_with_records(column)
    engine = app.extensions["db_engine"]
    rules = [rule for rule in app_rules(app) if rule.endpoint in EXPECTED]
    wrong = []
    for rule in ordered(rules, column):
        method = "GET" if "GET" in methods_of(rule) else "POST"
        before = last_audit_id(engine)
        url = url_of(app, rule, records, method)
        response = send(client, app, rule, records, method)
        got = outcome(response, urlsplit(url).path)
        want = EXPECTED[rule.endpoint][column]
        if got != want:
            wrong.append(f"{method} {url} ({rule.endpoint}): want {want}, got {got}")
            continue
        if want in (FORBIDDEN, HIDDEN):
            body = response.get_data(as_text=True)
            assert records.participant_code not in body and records.contact_note not in body
            assert_audited(
                engine, before, rule.endpoint, method, response.status_code, records.user_id
            )
    assert not wrong, f"{column}:\n" + "\n".join(wrong)


# One column per kind of service denial: NotAllowed on a team record, NotVisible to another
# programme, NotAllowed for a record kind the role may not send.
@pytest.mark.parametrize("column", ["colleague", "outsider", "night_walker"])
def test_service_denials_are_audited(app, sign_in_with_records, column):
    client, records = sign_in_with_records(column)
    engine = app.extensions["db_engine"]
    cells = sorted(endpoint for endpoint, who in SERVICE_DENIALS if who == column)
    by_endpoint = {rule.endpoint: rule for rule in app_rules(app)}
    for endpoint in cells:
        rule = by_endpoint[endpoint]
        method = "GET" if "GET" in methods_of(rule) else "POST"
        before = last_audit_id(engine)
        response = send(client, app, rule, records, method)
        assert response.status_code in (403, 404)
        assert_audited(engine, before, endpoint, method, response.status_code, records.user_id)


@pytest.mark.parametrize("column", NEVER_CASE_RECORDS)
def test_no_case_records_for_briefing_authors_associations_and_researchers(
    app, session, sign_in_with_records, column
):
    """DESIGN: nothing person-level flows to briefing authors, associations or researchers."""
    client, records = sign_in_with_records(column)
    engine = app.extensions["db_engine"]
    case_rules = [
        rule
        for rule in app_rules(app)
        if rule.endpoint.partition(".")[0] in ("participants", "contacts", "conflicts", "referrals")
        or rule.endpoint == "sync.receive"  # a contact sent from the phone's outbox
    ]
    assert {r.endpoint for r in case_rules} >= {
        "participants.detail",
        "contacts.detail",
        "referrals.detail",
        "sync.receive",
    }
    tried = 0
    for rule in case_rules:
        # Every method the route answers; the contact forms get a whole valid contact.
        for method in methods_of(rule):
            before = last_audit_id(engine)
            response = send(client, app, rule, records, method)
            where = f"{column}: {method} {rule.rule}"
            assert response.status_code in (403, 404), f"{where} answered {response.status_code}"
            body = response.get_data(as_text=True)
            assert records.participant_code not in body, where
            assert records.contact_note not in body, where
            assert records.party_label not in body, where
            assert_audited(
                engine, before, rule.endpoint, method, response.status_code, records.user_id
            )
            tried += 1
    assert tried >= len(case_rules)
    # Nothing was made or changed on the way.
    session.rollback()
    contacts = session.exec(select(Contact)).all()
    assert [(c.id, c.review_state) for c in contacts] == [(records.contact_id, "submitted")]
    participants = session.exec(select(Participant)).all()
    assert [(p.id, p.status) for p in participants] == [(records.participant_id, "prospect")]


@pytest.mark.parametrize("role", ["interrupter", "supervisor"])
def test_other_programme_cannot_learn_that_records_exist(app, session, world, login_as, role):
    """Another cv_programme's staff get the same 404 for a real record as for a made-up one."""
    client = app.test_client()
    login_as(role, client=client, organisation="other_programme")
    records = make_records(session, world, "outsider", None)
    missing = 10_000_000
    pairs = [
        (f"/participants/{records.participant_id}", f"/participants/{missing}"),
        (f"/participants/{records.participant_id}/edit", f"/participants/{missing}/edit"),
        (f"/contacts/{records.contact_id}", f"/contacts/{missing}"),
        (f"/contacts/{records.contact_id}/edit", f"/contacts/{missing}/edit"),
    ]
    for real, made_up in pairs:
        found = client.get(real)
        absent = client.get(made_up)
        assert found.status_code == 404, f"{role} {real}: {found.status_code}"
        assert absent.status_code == 404
        body = found.get_data(as_text=True)
        assert records.participant_code not in body
        assert records.contact_note not in body
        assert len(body) == len(absent.get_data(as_text=True))
    # Their own organisation's lists do not show the programme's participant either.
    for url in ("/participants/", "/participants/team", "/contacts"):
        response = client.get(url)
        assert response.status_code in (200, 302, 303), url
        assert records.participant_code not in response.get_data(as_text=True), url


def test_team_reads_but_does_not_change_a_colleagues_records(app, session, world, login_as):
    """A colleague reads the team's participant and contact; edits are refused, change nothing."""
    client = app.test_client()
    colleague = login_as("interrupter", client=client)
    records = make_records(session, world, "colleague", colleague)
    engine = app.extensions["db_engine"]

    assert client.get(f"/participants/{records.participant_id}").status_code == 200
    detail = client.get(f"/contacts/{records.contact_id}")
    assert detail.status_code == 200
    assert records.contact_note in detail.get_data(as_text=True)

    before = last_audit_id(engine)
    response = client.get(f"/participants/{records.participant_id}/edit")
    assert response.status_code == 403
    assert_audited(engine, before, "participants.edit", "GET", 403, colleague.id)

    response = client.post(
        f"/participants/{records.participant_id}/close", data={"exit_reason": "moved"}
    )
    assert response.status_code == 403

    before = last_audit_id(engine)
    response = client.post(f"/contacts/{records.contact_id}/edit", data={"note": "changed"})
    assert response.status_code == 403
    assert_audited(engine, before, "contacts.edit", "POST", 403, colleague.id)

    session.rollback()
    participant = session.get(Participant, records.participant_id)
    contact = session.get(Contact, records.contact_id)
    assert participant is not None and participant.status != "exited"
    assert contact is not None and contact.note == records.contact_note
