"""What push does when other parts of the app announce something (their signals)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, select

from interrupters.auth.models import Membership
from interrupters.auth.principal import Principal
from interrupters.auth.signals import devices_signed_out, second_factors_reset
from interrupters.auth.values import Role
from interrupters.briefings import services as briefings
from interrupters.briefings.models import Briefing
from interrupters.briefings.signals import briefing_published
from interrupters.conflicts import services as conflicts
from interrupters.conflicts.models import Conflict, ConflictEvent
from interrupters.conflicts.signals import conflict_escalated
from interrupters.contacts.models import Contact, ContactReview
from interrupters.contacts.signals import contact_returned
from interrupters.places.models import District
from interrupters.push.services import forget_devices, notify
from interrupters.records.models import HeldRecord
from interrupters.records.signals import escalation_held
from interrupters.walks import services as walks
from interrupters.walks.models import Walk, WalkReport
from interrupters.walks.signals import urgent_report_filed


@escalation_held.connect
def _alert_held_escalation(
    session: Session, *, actor: Principal, held: HeldRecord, now: datetime, **_: Any
) -> None:
    """A conflict flag or raise to level 3-4 that the server held: the supervisors must know
    an unconfirmed escalation waits. Generic text: it names no place, party or person."""
    organisations = actor.organisations(Role.interrupter, Role.supervisor)
    supervisors = set(
        session.exec(
            select(Membership.user_id)
            .where(col(Membership.organisation_id).in_(organisations))
            .where(Membership.role == Role.supervisor.value)
        )
    )
    notify(
        session=session,
        recipient_ids=sorted(supervisors - {actor.user_id}) or sorted(supervisors),
        kind="escalation_held",
        subject=f"held:{held.id}",
        title=_l("An unconfirmed escalation waits for correction"),
        body=_l("A raised conflict sent from a phone could not be saved. Open the app."),
        url="/records/held/team",
        requires_ack=True,
        now=now,
    )


@devices_signed_out.connect
def _forget_devices(session: Session, *, device_session_ids: list[int], **_: Any) -> None:
    """A signed-out phone gets no more pushes (its browser is wiped too)."""
    forget_devices(session=session, device_session_ids=device_session_ids)


@conflict_escalated.connect
def _alert_escalation(
    session: Session,
    *,
    actor: Principal,
    conflict: Conflict,
    event: ConflictEvent,
    now: datetime,
    **_: Any,
) -> None:
    """Level 3 or 4: the supervisors and the interrupters on duty in the area, at once; level 4
    is repeated to the supervisors when nobody acknowledges it (DESIGN.md, Notifications)."""
    to_level = event.to_level or 0
    supervisors, on_duty = conflicts.escalation_recipients(
        session=session, conflict=conflict, now=now
    )
    district = conflicts.district_name(session=session, area_id=conflict.area_id)
    repeat = to_level >= conflicts.REPEAT_LEVEL
    # Lock screens are public: the text names a district and a level, nothing else.
    notify(
        session=session,
        recipient_ids=sorted((set(supervisors) | set(on_duty)) - {actor.user_id}),
        kind="conflict_escalated",
        subject=f"conflict-event:{event.id}",
        title=_l(
            "Conflict in %(district)s raised to level %(level)d", district=district, level=to_level
        ),
        body=_l("Open the app to see it and acknowledge."),
        url=f"{conflicts.URL_PREFIX}/{conflict.id}",
        requires_ack=True,
        repeat_after=conflicts.REPEAT_AFTER if repeat else None,
        repeat_to=supervisors if repeat else None,
        now=now,
    )


@urgent_report_filed.connect
def _alert_urgent_report(
    session: Session, *, report: WalkReport, walk: Walk, now: datetime, **_: Any
) -> None:
    """An urgent walk report: the supervisors on call in its district."""
    district = session.get(District, walk.district_id)
    # Lock screens are public: the text names the district, nothing of what happened.
    notify(
        session=session,
        recipient_ids=walks.on_call_supervisors(
            session=session, district_id=walk.district_id, now=now
        ),
        kind="walk_report_urgent",
        subject=f"walk-report:{report.id}",
        title=_l("Urgent walk report in %(district)s", district=district.name if district else ""),
        body=_l("Open the app to see it and acknowledge."),
        url=f"{walks.URL_PREFIX}/reports/{report.id}",
        requires_ack=True,
        # Repeated like a level-4 conflict when nobody acknowledges it (issue 10).
        repeat_after=walks.URGENT_REPEAT_AFTER,
        repeat_to=walks.serving_supervisors(session=session, district_id=walk.district_id),
        now=now,
    )


@contact_returned.connect
def _tell_worker_returned(
    session: Session, *, contact: Contact, review: ContactReview, now: datetime, **_: Any
) -> None:
    """A returned contact: its worker, at once. Generic text: a lock screen is public."""
    notify(
        session=session,
        recipient_ids=[contact.worker_id],
        kind="contact_returned",
        subject=f"contact-review:{review.id}",
        title=_l("A contact was returned to you"),
        body=_l("Open the app to see what to correct."),
        url=f"/contacts/{contact.id}",
        now=now,
    )


@briefing_published.connect
def _tell_readers(session: Session, *, briefing: Briefing, now: datetime, **_: Any) -> None:
    """A new weekend briefing: every reader of the organisations serving its districts."""
    assert briefing.id is not None
    districts = briefings.districts_of(session=session, briefing_id=briefing.id)
    organisations = [
        o.id for o in briefings.target_organisations(session=session, district_ids=districts)
    ]
    members = briefings.target_members(
        session=session, organisation_ids=[o for o in organisations if o is not None]
    )
    notify(
        session=session,
        recipient_ids=sorted({user.id for _org, user in members if user.id is not None}),
        kind="briefing_published",
        subject=f"briefing:{briefing.id}",
        title=_l("New weekend briefing"),
        body=_l("Read it before the walk, and acknowledge it."),
        url=briefings.CURRENT_URL,
        now=now,
    )


@second_factors_reset.connect
def _tell_of_reset(
    session: Session, *, user_id: int, event_id: int, now: datetime, **_: Any
) -> None:
    """The person whose second factor an admin reset is told, generically (issue 9, item 1)."""
    notify(
        session=session,
        recipient_ids=[user_id],
        kind="second_factors_reset",
        subject=f"second-factors-reset:{event_id}",
        title=_l("Your sign-in was reset"),
        body=_l("An administrator reset your second factor. Set up a new one when you sign in."),
        url="/",
        now=now,
    )
