"""The weekend briefing: draft, schedule, publish once, expire; readers, receipts, attendance.

A briefing is its author's own situational picture. Nothing here reads the programme's records
(participants, contacts, conflicts): those never reach a briefing (DESIGN.md, Who may see what).
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import update
from sqlmodel import Session, col, func, or_, select

from interrupters.audit.services import record_event
from interrupters.auth.models import Membership, Organisation, OrganisationDistrict, User
from interrupters.auth.organisations import served_districts
from interrupters.auth.principal import Principal
from interrupters.auth.values import OrganisationType, Role
from interrupters.briefings.models import (
    Acknowledgement,
    Briefing,
    BriefingDistrict,
    BriefingPlaceStatus,
    BriefingReceipt,
)
from interrupters.briefings.signals import briefing_published
from interrupters.briefings.values import BriefingState, ReceiptKind
from interrupters.db import utcnow
from interrupters.errors import InvalidInput, InvalidState, NotAllowed, NotVisible
from interrupters.identifying import Identifier, find_identifier
from interrupters.paging import Cursor, Page, after, fetch_page
from interrupters.places.models import Area, District, Place
from interrupters.places.values import PlaceStatus
from interrupters.records import find_replay, payload_hash
from interrupters.walks import services as walks

logger = logging.getLogger(__name__)

URL_PREFIX = "/briefings"
CURRENT_URL = f"{URL_PREFIX}/current"
WRITERS = (Role.supervisor, Role.briefing_author)
READERS = (Role.supervisor, Role.interrupter, Role.association_lead, Role.night_walker)
PAGE_SIZE = 30  # the archive of briefings, a page at a time
# Who a published briefing is pushed to: the associations and the programme (issue 5, item 1).
TARGET_TYPES = (OrganisationType.night_walk_association, OrganisationType.cv_programme)
EDITABLE = (BriefingState.draft.value, BriefingState.scheduled.value)
ROWS_EVENTS = 4
ROWS_ON_CALL = 5


def _clean(text: str) -> str:
    return text.strip()


class PlaceStatusInput(BaseModel):
    place_id: int
    status: PlaceStatus
    note: str = Field(default="", max_length=200)


class EventInput(BaseModel):
    what: str = Field(max_length=120)
    where: str = Field(default="", max_length=120)
    when: str = Field(default="", max_length=60)


class OnCallInput(BaseModel):
    who: str = Field(max_length=120)
    phone: str = Field(default="", max_length=40)


class BriefingInput(BaseModel):
    """A briefing as its author writes it: places and events, never people."""

    title: str = Field(min_length=1, max_length=120)
    valid_from: datetime
    valid_to: datetime
    district_ids: list[int] = Field(min_length=1)
    summary: str = Field(default="", max_length=2000)
    place_statuses: list[PlaceStatusInput] = Field(default_factory=list)
    expected_events: list[EventInput] = Field(default_factory=list, max_length=ROWS_EVENTS)
    on_call: list[OnCallInput] = Field(default_factory=list, max_length=ROWS_ON_CALL)
    safety_reminders: str = Field(default="", max_length=1000)
    meeting_at: datetime | None = None
    meeting_place: str = Field(default="", max_length=120)
    identifies_no_one: bool = False

    @field_validator("title", "summary", "safety_reminders", "meeting_place")
    @classmethod
    def _strip(cls, text: str) -> str:
        return _clean(text)


class ReceiptInput(BaseModel):
    """A read or an acknowledgement as the phone made it: which briefing, what, when."""

    briefing_id: int
    kind: ReceiptKind
    at: datetime


@dataclass
class MemberReceipt:
    user_id: int
    name: str
    read_at: datetime | None = None
    acknowledged_at: datetime | None = None
    attended: bool = False


@dataclass
class OrganisationReceipts:
    organisation_id: int
    name: str
    members: list[MemberReceipt] = field(default_factory=list)

    @property
    def read(self) -> int:
        return sum(1 for m in self.members if m.read_at is not None)

    @property
    def acknowledged(self) -> int:
        return sum(1 for m in self.members if m.acknowledged_at is not None)

    @property
    def attended(self) -> int:
        return sum(1 for m in self.members if m.attended)


# Who may do what ----------------------------------------------------------------------------


def serving_organisations(*, session: Session, district_ids: Collection[int]) -> list[int]:
    """Organisations that serve any of the districts."""
    if not district_ids:
        return []
    return sorted(
        set(
            session.exec(
                select(OrganisationDistrict.organisation_id).where(
                    col(OrganisationDistrict.district_id).in_(list(district_ids))
                )
            )
        )
    )


def districts_of(*, session: Session, briefing_id: int) -> list[int]:
    return sorted(
        session.exec(
            select(BriefingDistrict.district_id).where(BriefingDistrict.briefing_id == briefing_id)
        )
    )


def _reader_districts(session: Session, actor: Principal) -> list[int]:
    return served_districts(session=session, organisation_ids=actor.organisations(*READERS))


def _writer_districts(session: Session, actor: Principal) -> list[int]:
    return served_districts(session=session, organisation_ids=actor.organisations(*WRITERS))


def can_write(actor: Principal, briefing: Briefing) -> bool:
    """Writers of the briefing's own organisation draft, edit, schedule and publish it."""
    return actor.role_in(briefing.organisation_id) in WRITERS


def _shares(session: Session, briefing: Briefing, district_ids: Collection[int]) -> bool:
    assert briefing.id is not None
    return bool(set(districts_of(session=session, briefing_id=briefing.id)) & set(district_ids))


def _out(briefing: Briefing) -> bool:
    return briefing.state in (BriefingState.published.value, BriefingState.expired.value)


def _valid(briefing: Briefing, now: datetime) -> bool:
    return briefing.state == BriefingState.published.value and briefing.valid_to > now


def can_follow(session: Session, actor: Principal, briefing: Briefing) -> bool:
    """Writers of its organisation, or of one serving its districts once it is out, see
    the receipts, present it and tick attendance."""
    if can_write(actor, briefing):
        return True
    return _out(briefing) and _shares(session, briefing, _writer_districts(session, actor))


def can_read(session: Session, actor: Principal, briefing: Briefing, now: datetime) -> bool:
    """Readers serving one of its districts read it while it is published and valid."""
    return _valid(briefing, now) and _shares(session, briefing, _reader_districts(session, actor))


def get_briefing(
    *, session: Session, actor: Principal, briefing_id: int, now: datetime | None = None
) -> Briefing:
    """A briefing the actor may see (404 otherwise: a draft's existence is not for others)."""
    now = now or utcnow()
    briefing = session.get(Briefing, briefing_id)
    if briefing is None or not (
        can_follow(session, actor, briefing) or can_read(session, actor, briefing, now)
    ):
        raise NotVisible()
    return briefing


def writable_briefing(*, session: Session, actor: Principal, briefing_id: int) -> Briefing:
    """A briefing of the actor's own organisation, for its writers (403 for other readers)."""
    briefing = get_briefing(session=session, actor=actor, briefing_id=briefing_id)
    if not can_write(actor, briefing):
        raise NotAllowed()
    return briefing


def followed_briefing(*, session: Session, actor: Principal, briefing_id: int) -> Briefing:
    """A briefing the actor writes or follows (preview, presentation, receipts)."""
    briefing = get_briefing(session=session, actor=actor, briefing_id=briefing_id)
    if not can_follow(session, actor, briefing):
        raise NotAllowed()
    return briefing


# Lists --------------------------------------------------------------------------------------


def writable_briefings(*, session: Session, actor: Principal) -> list[Briefing]:
    """The briefings of the organisations the actor writes for, the latest valid_from first."""
    organisations = [org for org, _role in actor.memberships if actor.role_in(org) in WRITERS]
    if not organisations:
        return []
    return list(
        session.exec(
            select(Briefing)
            .where(col(Briefing.organisation_id).in_(organisations))
            .order_by(col(Briefing.valid_from).desc(), col(Briefing.id).desc())
        )
    )


def list_briefings(
    *,
    session: Session,
    actor: Principal,
    now: datetime | None = None,
    cursor: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> Page[Briefing]:
    """Own organisation's briefings (writers), and the published ones for the actor's districts:
    one page, the latest valid_from first, older than `cursor`.

    The same rules as can_write, can_follow and can_read, as one query: the database finds the
    page instead of every briefing being read to filter a few.
    """
    now = now or utcnow()
    writer_organisations = [
        org for org, _role in actor.memberships if actor.role_in(org) in WRITERS
    ]
    writer_districts = _writer_districts(session, actor)
    reader_districts = _reader_districts(session, actor)

    def serves(district_ids: Collection[int]) -> Any:
        return (
            select(BriefingDistrict.briefing_id)
            .where(BriefingDistrict.briefing_id == Briefing.id)
            .where(col(BriefingDistrict.district_id).in_(list(district_ids)))
            .exists()
        )

    visible: list[Any] = []
    if writer_organisations:
        visible.append(col(Briefing.organisation_id).in_(writer_organisations))
    if writer_districts:
        out = (BriefingState.published.value, BriefingState.expired.value)
        visible.append(col(Briefing.state).in_(out) & serves(writer_districts))
    if reader_districts:
        visible.append(
            (col(Briefing.state) == BriefingState.published.value)
            & (col(Briefing.valid_to) > now)
            & serves(reader_districts)
        )
    if not visible:
        return Page(items=[], next_cursor=None)
    query = after(
        select(Briefing).where(or_(*visible)),
        cursor=cursor,
        sort=col(Briefing.valid_from),
        id_column=col(Briefing.id),
    )
    return fetch_page(session, query, size=size, key=lambda b: Cursor(b.valid_from, b.id))


def current_briefings(
    *, session: Session, actor: Principal, now: datetime | None = None
) -> list[Briefing]:
    """The newest published, unexpired briefing for each of the actor's districts (one page)."""
    now = now or utcnow()
    organisations = [org for org, role in actor.memberships if role in (*READERS, *WRITERS)]
    districts = served_districts(session=session, organisation_ids=organisations)
    if not districts:
        return []
    rows = session.exec(
        select(Briefing, BriefingDistrict.district_id)
        .join(BriefingDistrict, col(BriefingDistrict.briefing_id) == Briefing.id)
        .where(Briefing.state == BriefingState.published.value)
        .where(col(Briefing.valid_to) > now)
        .where(col(BriefingDistrict.district_id).in_(districts))
        .order_by(col(Briefing.published_at).desc(), col(Briefing.id).desc())
    ).all()
    newest: dict[int, Briefing] = {}
    for briefing, district_id in rows:
        newest.setdefault(district_id, briefing)
    unique: dict[int, Briefing] = {}
    for briefing in newest.values():
        assert briefing.id is not None
        unique[briefing.id] = briefing
    return sorted(unique.values(), key=lambda b: b.published_at or now, reverse=True)


def place_statuses(
    *, session: Session, briefing_id: int
) -> list[tuple[Place, BriefingPlaceStatus]]:
    """The briefing's places with their statuses, by area and name."""
    return list(
        session.exec(
            select(Place, BriefingPlaceStatus)
            .join(BriefingPlaceStatus, col(BriefingPlaceStatus.place_id) == Place.id)
            .join(Area, col(Area.id) == Place.area_id)
            .where(BriefingPlaceStatus.briefing_id == briefing_id)
            .order_by(col(Area.name), col(Place.name))
        ).all()
    )


def district_names(*, session: Session, district_ids: Collection[int]) -> list[str]:
    if not district_ids:
        return []
    return list(
        session.exec(
            select(District.name)
            .where(col(District.id).in_(list(district_ids)))
            .order_by(col(District.name))
        )
    )


def places_of_districts(*, session: Session, district_ids: Collection[int]) -> list[Place]:
    """Active places of the districts, by area and name: one status row each on the form."""
    if not district_ids:
        return []
    return list(
        session.exec(
            select(Place)
            .join(Area, col(Area.id) == Place.area_id)
            .where(col(Area.district_id).in_(list(district_ids)))
            .where(col(Place.active).is_(True))
            .order_by(col(Area.name), col(Place.name))
        )
    )


def writer_organisation(actor: Principal) -> int:
    organisations = actor.organisations(*WRITERS)
    if not organisations:
        raise NotAllowed()
    return organisations[0]


def default_districts(*, session: Session, actor: Principal) -> list[int]:
    return _writer_districts(session, actor)


def last_published(
    *, session: Session, organisation_id: int, district_ids: Collection[int]
) -> Briefing | None:
    """The organisation's last published (or since expired) briefing for any of the districts."""
    if not district_ids:
        return None
    return session.exec(
        select(Briefing)
        .join(BriefingDistrict, col(BriefingDistrict.briefing_id) == Briefing.id)
        .where(Briefing.organisation_id == organisation_id)
        .where(col(BriefingDistrict.district_id).in_(list(district_ids)))
        .where(col(Briefing.published_at).is_not(None))
        .order_by(col(Briefing.published_at).desc())
    ).first()


def observations_since(
    *, session: Session, district_ids: Collection[int], since: datetime, until: datetime
) -> dict[int, collections.Counter[str]]:
    """The walk reports' observations per place since the last briefing (the loop closes)."""
    return walks.observations_by_place(
        session=session, district_ids=district_ids, since=since, until=until
    )


# Writes -------------------------------------------------------------------------------------


def _texts(data: BriefingInput) -> Iterable[tuple[str, str]]:
    yield "title", data.title
    yield "summary", data.summary
    yield "safety_reminders", data.safety_reminders
    yield "meeting_place", data.meeting_place
    for row in data.place_statuses:
        yield "place_statuses", row.note
    for event in data.expected_events:
        for text in (event.what, event.where, event.when):
            yield "expected_events", text
    for contact in data.on_call:
        yield "on_call", contact.who
        yield "on_call", contact.phone


def _check(session: Session, data: BriefingInput) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    for name, text in _texts(data):
        if name in errors:
            continue
        # Every field, on-call rows included, through the one shared check (issue 9, item 6).
        found = find_identifier(text)
        if found is Identifier.participant_code:
            errors[name] = _l(
                "This looks like a participant code. A briefing identifies no one: remove it."
            )
        elif found is Identifier.identity_number:
            errors[name] = _l(
                "This looks like a personal identity number. A briefing identifies no one: "
                "remove it. (A phone number is written with its area code apart: 070-123 45 67.)"
            )
    if data.valid_to <= data.valid_from:
        errors["valid_to"] = _l("The briefing must end after it starts.")
    known = set(session.exec(select(District.id).where(col(District.id).in_(data.district_ids))))
    if known != set(data.district_ids):
        errors["district_ids"] = _l("Choose districts from the list.")
    allowed = {p.id for p in places_of_districts(session=session, district_ids=data.district_ids)}
    if any(row.place_id not in allowed for row in data.place_statuses):
        errors["place_statuses"] = _l("A place is not in the chosen districts, or was removed.")
    if not data.identifies_no_one:
        errors["identifies_no_one"] = _l(
            "Confirm that the briefing identifies no one, directly or indirectly."
        )
    return errors


def _write_rows(session: Session, briefing: Briefing, data: BriefingInput) -> None:
    assert briefing.id is not None
    for old in session.exec(
        select(BriefingDistrict).where(BriefingDistrict.briefing_id == briefing.id)
    ):
        session.delete(old)
    for stale in session.exec(
        select(BriefingPlaceStatus).where(BriefingPlaceStatus.briefing_id == briefing.id)
    ):
        session.delete(stale)
    session.flush()
    for district_id in sorted(set(data.district_ids)):
        session.add(BriefingDistrict(briefing_id=briefing.id, district_id=district_id))
    for row in data.place_statuses:
        session.add(
            BriefingPlaceStatus(
                briefing_id=briefing.id,
                place_id=row.place_id,
                status=row.status.value,
                note=_clean(row.note),
            )
        )
    session.flush()


def _values(data: BriefingInput) -> dict[str, Any]:
    return {
        "title": data.title,
        "valid_from": data.valid_from,
        "valid_to": data.valid_to,
        "summary": data.summary,
        "expected_events": [e.model_dump() for e in data.expected_events],
        "on_call": [c.model_dump() for c in data.on_call],
        "safety_reminders": data.safety_reminders,
        "meeting_at": data.meeting_at,
        "meeting_place": data.meeting_place,
        "identifies_no_one": data.identifies_no_one,
    }


def draft_briefing(
    *, session: Session, actor: Principal, data: BriefingInput, now: datetime | None = None
) -> Briefing:
    """Save a new draft for the actor's organisation."""
    now = now or utcnow()
    organisation_id = writer_organisation(actor)
    errors = _check(session, data)
    if errors:
        raise InvalidInput(errors)
    briefing = Briefing.model_validate(
        _values(data),
        update={
            "organisation_id": organisation_id,
            "author_id": actor.user_id,
            "state": BriefingState.draft.value,
            "created_at": now,
            "updated_at": now,
        },
    )
    session.add(briefing)
    session.flush()
    _write_rows(session, briefing, data)
    logger.info("briefing %s drafted", briefing.id)
    return briefing


def update_briefing(
    *,
    session: Session,
    actor: Principal,
    briefing_id: int,
    data: BriefingInput,
    now: datetime | None = None,
) -> Briefing:
    """Change a draft or a scheduled briefing (a published one is fixed)."""
    now = now or utcnow()
    briefing = writable_briefing(session=session, actor=actor, briefing_id=briefing_id)
    if briefing.state not in EDITABLE:
        raise InvalidState(_l("A published briefing cannot be changed."))
    errors = _check(session, data)
    if errors:
        raise InvalidInput(errors)
    for name, value in _values(data).items():
        setattr(briefing, name, value)
    briefing.updated_at = now
    session.add(briefing)
    _write_rows(session, briefing, data)
    return briefing


def _ready(briefing: Briefing, now: datetime) -> None:
    errors: dict[str, Any] = {}
    if not briefing.identifies_no_one:
        errors["identifies_no_one"] = _l(
            "Confirm that the briefing identifies no one, directly or indirectly."
        )
    if briefing.valid_to <= now:
        errors["valid_to"] = _l("The briefing's validity has already ended.")
    if errors:
        raise InvalidInput(errors)


def schedule_briefing(
    *,
    session: Session,
    actor: Principal,
    briefing_id: int,
    publish_at: datetime,
    now: datetime | None = None,
) -> Briefing:
    """Publish a draft at a time (the scheduler's `publish_due` does it)."""
    now = now or utcnow()
    briefing = writable_briefing(session=session, actor=actor, briefing_id=briefing_id)
    if briefing.state not in EDITABLE:
        raise InvalidState(_l("The briefing is published already."))
    _ready(briefing, now)
    if publish_at >= briefing.valid_to:
        raise InvalidInput({"publish_at": _l("Publish it before its validity ends.")})
    briefing.state = BriefingState.scheduled.value
    briefing.publish_at = max(publish_at, now)
    briefing.updated_at = now
    session.add(briefing)
    session.flush()
    return briefing


def unschedule_briefing(
    *, session: Session, actor: Principal, briefing_id: int, now: datetime | None = None
) -> Briefing:
    """Back to draft (only while it is not published)."""
    now = now or utcnow()
    briefing = writable_briefing(session=session, actor=actor, briefing_id=briefing_id)
    changed = session.execute(
        update(Briefing)
        .where(col(Briefing.id) == briefing_id)
        .where(col(Briefing.state) == BriefingState.scheduled.value)
        .values(state=BriefingState.draft.value, publish_at=None, updated_at=now)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidState(_l("The briefing is not scheduled."))
    session.refresh(briefing)
    return briefing


def publish_briefing(
    *,
    session: Session,
    briefing_id: int,
    actor: Principal | None = None,
    now: datetime | None = None,
) -> bool:
    """Publish once: set the places' statuses and notify every target member.

    The state changes by a conditional UPDATE, so of two callers (the author's button and the
    scheduler, or two schedulers) only one wins; the other gets False and does nothing. An
    actor is checked (the author's button); without one it is the scheduler.
    """
    now = now or utcnow()
    if actor is not None:
        briefing = writable_briefing(session=session, actor=actor, briefing_id=briefing_id)
        _ready(briefing, now)
        allowed: tuple[str, ...] = EDITABLE
    else:
        found = session.get(Briefing, briefing_id)
        if found is None:
            return False
        briefing = found
        allowed = (BriefingState.scheduled.value,)
    changed = session.execute(
        update(Briefing)
        .where(col(Briefing.id) == briefing_id)
        .where(col(Briefing.state).in_(allowed))
        .values(state=BriefingState.published.value, published_at=now, updated_at=now)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.refresh(briefing)
    for place, row in place_statuses(session=session, briefing_id=briefing_id):
        place.status = row.status
        session.add(place)
    briefing_published.send(session, briefing=briefing, now=now)
    record_event(
        session=session,
        event="briefing_published",
        actor_id=actor.user_id if actor else None,
        object_type="briefing",
        object_id=briefing_id,
        organisation_id=briefing.organisation_id,
        now=now,
    )
    session.flush()
    logger.info("briefing %s published", briefing_id)
    return True


def target_organisations(*, session: Session, district_ids: Collection[int]) -> list[Organisation]:
    """The associations and programmes serving any of the districts."""
    serving = serving_organisations(session=session, district_ids=district_ids)
    if not serving:
        return []
    return list(
        session.exec(
            select(Organisation)
            .where(col(Organisation.id).in_(serving))
            .where(col(Organisation.type).in_([t.value for t in TARGET_TYPES]))
            .order_by(col(Organisation.name))
        )
    )


def target_members(
    *, session: Session, organisation_ids: Collection[int]
) -> list[tuple[int, User]]:
    """(organisation, user) for every active reader of the organisations."""
    if not organisation_ids:
        return []
    rows = session.exec(
        select(Membership.organisation_id, User)
        .join(User, col(User.id) == Membership.user_id)
        .where(col(Membership.organisation_id).in_(list(organisation_ids)))
        .where(col(Membership.role).in_([r.value for r in READERS]))
        .where(col(User.active).is_(True))
        .order_by(col(User.display_name))
    ).all()
    return [(org, user) for org, user in rows]


def expire_briefings(*, session: Session, now: datetime) -> int:
    """Published briefings whose validity has ended become expired (kept on the server)."""
    changed = session.execute(
        update(Briefing)
        .where(col(Briefing.state) == BriefingState.published.value)
        .where(col(Briefing.valid_to) <= now)
        .values(state=BriefingState.expired.value, expired_at=now, updated_at=now)
    )
    return int(changed.rowcount)  # type: ignore[attr-defined]


# Readers ------------------------------------------------------------------------------------


def record_receipt(
    *,
    session: Session,
    actor: Principal,
    data: ReceiptInput,
    client_uuid: str,
    now: datetime | None = None,
) -> tuple[BriefingReceipt, bool]:
    """Store a read or an acknowledgement once per UUID and update the reader's record."""
    now = now or utcnow()
    digest = payload_hash(data)
    existing = find_replay(
        session=session,
        model=BriefingReceipt,
        client_uuid=client_uuid,
        digest=digest,
        author=("user_id", actor.user_id),
    )
    if existing is not None:
        return existing, False
    briefing = session.get(Briefing, data.briefing_id)
    # A phone may send after expiry (it read it offline): the receipt still counts.
    if briefing is None or briefing.state not in (
        BriefingState.published.value,
        BriefingState.expired.value,
    ):
        raise NotVisible()
    if not (
        _shares(session, briefing, _reader_districts(session, actor))
        or can_follow(session, actor, briefing)
    ):
        raise NotVisible()
    # The receipt keeps what the phone said and when the server got it, as they are. The
    # acknowledgement cannot be read before it arrived: a phone whose clock runs ahead counts
    # from the receipt's arrival, and the receipt still shows the phone's own time beside it.
    at = min(data.at, now)
    receipt = BriefingReceipt(
        client_uuid=client_uuid,
        payload_hash=digest,
        briefing_id=data.briefing_id,
        user_id=actor.user_id,
        kind=data.kind.value,
        at=data.at,
        received_at=now,
    )
    session.add(receipt)
    acknowledgement = _acknowledgement(session, data.briefing_id, actor.user_id)
    if acknowledgement.read_at is None or at < acknowledgement.read_at:
        # An acknowledgement is also a read.
        acknowledgement.read_at = at
    if data.kind == ReceiptKind.acknowledged and (
        acknowledgement.acknowledged_at is None or at < acknowledgement.acknowledged_at
    ):
        acknowledgement.acknowledged_at = at
    session.add(acknowledgement)
    session.flush()
    return receipt, True


def _acknowledgement(session: Session, briefing_id: int, user_id: int) -> Acknowledgement:
    found = session.exec(
        select(Acknowledgement)
        .where(Acknowledgement.briefing_id == briefing_id)
        .where(Acknowledgement.user_id == user_id)
    ).first()
    return found or Acknowledgement(briefing_id=briefing_id, user_id=user_id)


def acknowledgement_of(
    *, session: Session, briefing_id: int, user_id: int
) -> Acknowledgement | None:
    return session.exec(
        select(Acknowledgement)
        .where(Acknowledgement.briefing_id == briefing_id)
        .where(Acknowledgement.user_id == user_id)
    ).first()


def receipts(
    *, session: Session, actor: Principal, briefing_id: int, audit: bool = True
) -> list[OrganisationReceipts]:
    """Who read, acknowledged and attended, per target organisation; an audited read."""
    briefing = followed_briefing(session=session, actor=actor, briefing_id=briefing_id)
    districts = districts_of(session=session, briefing_id=briefing_id)
    organisations = target_organisations(session=session, district_ids=districts)
    by_id = {o.id or 0: OrganisationReceipts(o.id or 0, o.name) for o in organisations}
    acknowledgements = {
        a.user_id: a
        for a in session.exec(
            select(Acknowledgement).where(Acknowledgement.briefing_id == briefing_id)
        )
    }
    for org_id, user in target_members(session=session, organisation_ids=list(by_id)):
        assert user.id is not None
        ack = acknowledgements.get(user.id)
        by_id[org_id].members.append(
            MemberReceipt(
                user_id=user.id,
                name=user.display_name,
                read_at=ack.read_at if ack else None,
                acknowledged_at=ack.acknowledged_at if ack else None,
                attended=ack.attended if ack else False,
            )
        )
    if audit:
        record_event(
            session=session,
            event="briefing_receipts_viewed",
            actor_id=actor.user_id,
            object_type="briefing",
            object_id=briefing_id,
            organisation_id=briefing.organisation_id,
        )
    return list(by_id.values())


def set_attendance(
    *,
    session: Session,
    actor: Principal,
    briefing_id: int,
    organisation_id: int,
    attended_user_ids: Collection[int],
) -> int:
    """Tick who of one organisation came to the meeting; return how many attended."""
    briefing = followed_briefing(session=session, actor=actor, briefing_id=briefing_id)
    districts = districts_of(session=session, briefing_id=briefing.id or 0)
    targets = {o.id for o in target_organisations(session=session, district_ids=districts)}
    if organisation_id not in targets:
        raise InvalidInput({"organisation_id": _l("Choose an association from the list.")})
    members = {
        user.id
        for _org, user in target_members(session=session, organisation_ids=[organisation_id])
    }
    count = 0
    for user_id in members:
        assert user_id is not None
        attended = user_id in set(attended_user_ids)
        acknowledgement = _acknowledgement(session, briefing_id, user_id)
        if acknowledgement.id is None and not attended:
            continue
        acknowledgement.attended = attended
        acknowledgement.attendance_marked_by_id = actor.user_id
        session.add(acknowledgement)
        count += attended
    session.flush()
    return count


def receipt_counts(
    *, session: Session, briefing_ids: Collection[int]
) -> dict[int, tuple[int, int]]:
    """(read, acknowledged) per briefing: the writers' home (issue 10)."""
    if not briefing_ids:
        return {}
    rows = session.exec(
        select(
            Acknowledgement.briefing_id,
            func.count(col(Acknowledgement.read_at)),
            func.count(col(Acknowledgement.acknowledged_at)),
        )
        .where(col(Acknowledgement.briefing_id).in_(list(briefing_ids)))
        .group_by(col(Acknowledgement.briefing_id))
    ).all()
    return {briefing_id: (int(read), int(acked)) for briefing_id, read, acked in rows}


def member_receipts(
    *, session: Session, briefing_id: int, organisation_ids: Collection[int]
) -> list[MemberReceipt]:
    """Which members of these organisations read and acknowledged a briefing (a lead's home)."""
    acknowledgements = {
        a.user_id: a
        for a in session.exec(
            select(Acknowledgement).where(Acknowledgement.briefing_id == briefing_id)
        )
    }
    receipts_ = []
    for _org, user in target_members(session=session, organisation_ids=organisation_ids):
        assert user.id is not None
        ack = acknowledgements.get(user.id)
        receipts_.append(
            MemberReceipt(
                user_id=user.id,
                name=user.display_name,
                read_at=ack.read_at if ack else None,
                acknowledged_at=ack.acknowledged_at if ack else None,
                attended=ack.attended if ack else False,
            )
        )
    return receipts_


def overdue_schedules(*, session: Session, now: datetime) -> int:
    """Scheduled briefings whose time has passed and that are not out: a job waiting."""
    count = session.exec(
        select(func.count())
        .select_from(Briefing)
        .where(Briefing.state == BriefingState.scheduled.value)
        .where(col(Briefing.publish_at) <= now)
    ).one()
    return int(count)
