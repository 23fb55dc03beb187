"""Log contacts, edit them until reviewed, and the supervisor's review."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import bindparam, or_, update
from sqlalchemy.orm import load_only
from sqlmodel import Session, col, func, select

from interrupters import kept
from interrupters.audit.services import record_event
from interrupters.auth.models import Organisation
from interrupters.auth.principal import Principal
from interrupters.auth.values import OrganisationType, Role
from interrupters.contacts.models import QUEUE_STATES_SQL, Contact, ContactReview
from interrupters.contacts.signals import contact_returned
from interrupters.contacts.values import (
    ContactKind,
    ContactPurpose,
    ContactSubject,
    Referral,
    ReviewDecision,
    ReviewState,
)
from interrupters.db import UTCDateTime, period_index, utcnow
from interrupters.errors import InvalidInput, InvalidState, NotAllowed, NotVisible
from interrupters.paging import Cursor, Page, after, fetch_page
from interrupters.participants.models import Participant
from interrupters.participants.values import AgeBand, Gender, ParticipantStatus
from interrupters.places.models import Area, Place
from interrupters.records import batch_get, find_replay, payload_hash

logger = logging.getLogger(__name__)
STOCKHOLM = ZoneInfo("Europe/Stockholm")

LOG_ROLES = (Role.interrupter, Role.supervisor)
EDITABLE_STATES = {ReviewState.submitted, ReviewState.returned, ReviewState.corrected}
QUEUE_STATES = (ReviewState.submitted.value, ReviewState.corrected.value)
# What the worker sees first in their own contacts: the states that need them.
MINE_ORDER = (
    ReviewState.returned,
    ReviewState.submitted,
    ReviewState.corrected,
    ReviewState.approved,
)
PAGE_SIZE = 50  # a long list's page (issue 13): within the first HTML's 14.6 KB gzipped
QUEUE_PAGE_SIZE = 25  # the review queue's cards are larger
HISTORY_PAGE_SIZE = 25  # a participant's page has its facts and referrals above the history
# A phone's clock may be off; a contact "tomorrow" is still refused.
FUTURE_TOLERANCE = timedelta(minutes=10)
# A follow-up further ahead is a slip of the date picker (9999-12-31), not a plan.
FOLLOW_UP_HORIZON = timedelta(days=366)


class ContactInput(BaseModel):
    """One contact as the form or the sync endpoint hands it over."""

    subject: ContactSubject
    participant_id: int | None = None
    age_band: AgeBand | None = None
    gender: Gender | None = None
    group_size: int | None = Field(default=None, ge=2, le=500)
    occurred_at: datetime
    area_id: int
    place_id: int | None = None
    kind: ContactKind
    purpose: ContactPurpose
    referrals: list[Referral] = Field(default_factory=list)
    duration_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    follow_up_on: date | None = None
    note: str = Field(default="", max_length=280)

    @model_validator(mode="after")
    def _subject_fields(self) -> ContactInput:
        if self.occurred_at.tzinfo is None:
            raise ValueError(_l("Give the time with its time zone."))
        if self.subject == ContactSubject.participant:
            if self.participant_id is None:
                raise ValueError(_l("Choose the participant."))
            self.age_band = self.gender = self.group_size = None
        else:
            self.participant_id = None
            if self.subject == ContactSubject.person:
                self.group_size = None
            else:
                self.gender = None
        self.referrals = sorted(set(self.referrals))
        self.note = self.note.strip()
        return self

    def payload_hash(self) -> str:
        """Hash of the content, so a replay can be told from a different record under one UUID."""
        return payload_hash(self)


def _log_organisation(actor: Principal) -> int:
    organisations = actor.organisations(*LOG_ROLES)
    if not organisations:
        raise NotAllowed()
    return organisations[0]


def _validate_references(
    *, session: Session, actor: Principal, organisation_id: int, data: ContactInput, now: datetime
) -> None:
    errors: dict[str, Any] = {}
    if data.occurred_at > now + FUTURE_TOLERANCE:
        errors["occurred_at"] = _l("The time is in the future.")
    if data.follow_up_on is not None and data.follow_up_on > now.date() + FOLLOW_UP_HORIZON:
        errors["follow_up_on"] = _l("A follow-up is at most a year ahead.")
    if batch_get(session, Area, data.area_id) is None:
        errors["area_id"] = _l("Choose an area from the list.")
    if data.place_id is not None:
        place = batch_get(session, Place, data.place_id)
        if place is None or not place.active or place.area_id != data.area_id:
            errors["place_id"] = _l("The place is not in the area, or it was removed.")
    if data.participant_id is not None:
        participant = batch_get(session, Participant, data.participant_id)
        if (
            participant is None
            or participant.organisation_id != organisation_id
            or participant.status == ParticipantStatus.exited
        ):
            errors["participant_id"] = _l("Choose a participant of the caseload.")
    if errors:
        raise InvalidInput(errors)


def log_contact(
    *,
    session: Session,
    actor: Principal,
    data: ContactInput,
    client_uuid: str,
    now: datetime | None = None,
) -> tuple[Contact, bool]:
    """Store a contact once per UUID; return it and whether it was created now.

    The same UUID with the same content is the same contact (a retry or a double tap);
    with other content it is a DuplicateRecord.
    """
    now = now or utcnow()
    digest = data.payload_hash()
    existing = find_replay(
        session=session,
        model=Contact,
        client_uuid=client_uuid,
        digest=digest,
        author=("worker_id", actor.user_id),
    )
    if existing is not None:
        return existing, False
    contact = Contact.model_validate(
        new_contact(
            session=session,
            actor=actor,
            data=data,
            client_uuid=client_uuid,
            now=now,
            digest=digest,
        )
    )
    session.add(contact)
    session.flush()
    note_contacts(session=session, rows=[contact.model_dump()])
    return contact, True


def _latest_of(column: Any) -> Any:
    """A column of the participant's latest contact: one seek down
    ix_contact_participant_history (which holds the follow-up too, so the table is not read)."""
    return (
        select(column)
        .where(Contact.participant_id == Participant.id)
        .order_by(col(Contact.occurred_at).desc(), col(Contact.id).desc())
        .limit(1)
        .scalar_subquery()
    )


def note_contacts(*, session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Stored contacts move their participants' latest contact forward (Participant.
    last_contact_at and next_follow_up), where they are later than the one kept.

    The condition is checked in the UPDATE, under the participant's row lock: two requests
    storing contacts of one participant at once leave the later contact kept, whichever
    commits last. A later one in the same rows wins a tie, as the later id does in the
    participant's history. The rows are updated in the order of their ids, so that two
    batches (a phone sends two at a time) never wait for each other's rows crosswise."""
    latest: dict[int, Mapping[str, Any]] = {}
    for row in rows:
        participant_id = row.get("participant_id")
        if participant_id is None:
            continue
        kept = latest.get(participant_id)
        if kept is None or row["occurred_at"] >= kept["occurred_at"]:
            latest[participant_id] = row
    if not latest:
        return
    table = Participant.__table__  # type: ignore[attr-defined]
    moved = (
        update(table)
        .where(table.c.id == bindparam("participant"))
        .where(
            or_(
                table.c.last_contact_at.is_(None),
                table.c.last_contact_at <= bindparam("at", type_=UTCDateTime),
            )
        )
        .values(last_contact_at=bindparam("at"), next_follow_up=bindparam("follow_up"))
    )
    session.execute(
        moved,
        [
            {"participant": pid, "at": row["occurred_at"], "follow_up": row.get("follow_up_on")}
            for pid, row in sorted(latest.items())
        ],
    )
    _forget_latest(session, latest)


def refresh_latest(*, session: Session, participant_ids: Collection[int] | None) -> None:
    """Read the participants' latest contact again from their contacts (every participant with
    None): after a contact was corrected or anonymised, or contacts were added in bulk.

    The rows are locked first, in a statement of their own, so that the reading statement
    sees every contact committed before the lock was had (a concurrent `note_contacts` waits
    for this one's commit, then checks its contact against what this one wrote)."""
    ids = None if participant_ids is None else sorted(set(participant_ids))
    if ids == []:
        return
    chosen = select(col(Participant.id)).with_for_update()
    if ids is not None:
        chosen = chosen.where(col(Participant.id).in_(ids))
    session.exec(chosen).all()
    refresh = update(Participant).values(
        last_contact_at=_latest_of(Contact.occurred_at),
        next_follow_up=_latest_of(Contact.follow_up_on),
    )
    if ids is not None:
        refresh = refresh.where(col(Participant.id).in_(ids))
    session.execute(refresh.execution_options(synchronize_session=False))
    _forget_latest(session, ids)


def latest_out_of_step(*, session: Session) -> list[int]:
    """Participants whose kept latest contact is not the one their contacts say: none, as long
    as every path that writes a contact keeps it (the test suite asks after every test)."""
    found = session.execute(
        select(col(Participant.id)).where(
            or_(
                col(Participant.last_contact_at).is_distinct_from(_latest_of(Contact.occurred_at)),
                col(Participant.next_follow_up).is_distinct_from(_latest_of(Contact.follow_up_on)),
            )
        )
    )
    return [pid for (pid,) in found]


def _forget_latest(session: Session, ids: Collection[int] | None) -> None:
    """The session's loaded participants read their latest contact again when next asked
    (the statements above changed the rows behind the session's back)."""
    for instance in list(session.identity_map.values()):
        if isinstance(instance, Participant) and (ids is None or instance.id in ids):
            session.expire(instance, ["last_contact_at", "next_follow_up"])


def new_contact(
    *,
    session: Session,
    actor: Principal,
    data: ContactInput,
    client_uuid: str,
    now: datetime,
    digest: str | None = None,
) -> dict[str, Any]:
    """The columns of the contact a new UUID becomes, checked but not stored: `log_contact`
    adds it as a row, a receiving batch inserts its new contacts together
    (records.RecordKind.prepare)."""
    organisation_id = _log_organisation(actor)
    _validate_references(
        session=session, actor=actor, organisation_id=organisation_id, data=data, now=now
    )
    return {
        **data.model_dump(),
        "client_uuid": client_uuid,
        "payload_hash": digest or data.payload_hash(),
        "organisation_id": organisation_id,
        "worker_id": actor.user_id,
        "received_at": now,
        "updated_at": now,
        "review_state": ReviewState.submitted.value,
    }


def get_contact(*, session: Session, actor: Principal, contact_id: int) -> Contact:
    """Return a contact the actor may read: own, or the team's in the own organisation."""
    contact = session.get(Contact, contact_id)
    if contact is None or actor.role_in(contact.organisation_id) not in LOG_ROLES:
        raise NotVisible()
    return contact


def can_edit(actor: Principal, contact: Contact) -> bool:
    return (
        contact.worker_id == actor.user_id and ReviewState(contact.review_state) in EDITABLE_STATES
    )


def update_contact(
    *,
    session: Session,
    actor: Principal,
    contact_id: int,
    data: ContactInput,
    now: datetime | None = None,
) -> Contact:
    """Edit an own contact before it is approved; a returned one becomes corrected."""
    now = now or utcnow()
    contact = get_contact(session=session, actor=actor, contact_id=contact_id)
    if contact.worker_id != actor.user_id:
        raise NotAllowed()
    if not can_edit(actor, contact):
        raise InvalidState()
    _validate_references(
        session=session, actor=actor, organisation_id=contact.organisation_id, data=data, now=now
    )
    was_for = contact.participant_id
    for key, value in data.model_dump().items():
        setattr(contact, key, value)
    if contact.review_state == ReviewState.returned:
        contact.review_state = ReviewState.corrected.value
    contact.updated_at = now
    session.add(contact)
    session.flush()
    # Its time, follow-up or participant may have changed: which contact is the latest too.
    refresh_latest(
        session=session,
        participant_ids=[pid for pid in (was_for, contact.participant_id) if pid is not None],
    )
    return contact


def _key(contact: Contact) -> Cursor:
    assert contact.id is not None
    return Cursor(contact.occurred_at, contact.id)


def read_cursor(token: str | None) -> Cursor | None:
    """The cursor a `before` argument names for these lists, or None for the first page."""
    return Cursor.decode(token, expect=datetime)


@dataclass(frozen=True)
class OwnPage:
    """A page of the worker's own contacts, state by state; the next page starts in
    `next_state` after `next_cursor` (a cursor is within one state)."""

    items: list[Contact]
    next_state: ReviewState | None
    next_cursor: str | None

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


def own_contacts(
    *,
    session: Session,
    actor: Principal,
    states: Sequence[ReviewState] = MINE_ORDER,
    start: ReviewState | None = None,
    cursor: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> OwnPage:
    """The actor's contacts in the order of `states`, newest first within each, a page at a
    time: from `start` after `cursor`, then the states that follow (ix_contact_worker_state)."""
    if cursor is None or start not in states:
        start, cursor = None, None
    todo = list(states[states.index(start) :] if start is not None else states)
    found: list[Contact] = []
    for index, state in enumerate(todo):
        query = after(
            select(Contact)
            .where(Contact.worker_id == actor.user_id)
            .where(Contact.review_state == state.value),
            cursor=cursor if index == 0 else None,
            sort=col(Contact.occurred_at),
            id_column=col(Contact.id),
        )
        # One row more than the page tells whether another page follows.
        found.extend(session.exec(query.limit(size + 1 - len(found))))
        if len(found) > size:
            break
    items = found[:size]
    if len(found) <= size or not items:
        return OwnPage(items=items, next_state=None, next_cursor=None)
    last = items[-1]
    return OwnPage(
        items=items, next_state=ReviewState(last.review_state), next_cursor=_key(last).encode()
    )


def own_counts(
    *, session: Session, actor: Principal, states: Sequence[ReviewState]
) -> dict[str, int]:
    """How many of the actor's contacts are in each of `states` (the ones that wait: a count
    of every approved contact would grow with the years)."""
    rows = session.exec(
        select(Contact.review_state, func.count())
        .where(Contact.worker_id == actor.user_id)
        .where(col(Contact.review_state).in_([s.value for s in states]))
        .group_by(col(Contact.review_state))
    )
    return {state: count for state, count in rows}


# What a participant's history shows of each contact (templates/participants/detail.html).
HISTORY_COLUMNS: tuple[Any, ...] = (
    col(Contact.id),
    col(Contact.occurred_at),
    col(Contact.review_state),
    col(Contact.kind),
    col(Contact.purpose),
    col(Contact.follow_up_on),
)


def participant_contacts(
    *,
    session: Session,
    participant_id: int,
    cursor: Cursor | None = None,
    size: int = HISTORY_PAGE_SIZE,
) -> Page[Contact]:
    """A page of a participant's contact history, newest first (the caller checked
    visibility); ix_contact_participant_history reads just the page, and only the columns
    the history shows are loaded (any other raises: never a query a row)."""
    query = after(
        select(Contact)
        .options(load_only(*HISTORY_COLUMNS, raiseload=True))
        .where(Contact.participant_id == participant_id),
        cursor=cursor,
        sort=col(Contact.occurred_at),
        id_column=col(Contact.id),
    )
    return fetch_page(session, query, size=size, key=_key)


def participant_codes(*, session: Session, contacts: list[Contact]) -> dict[int, str]:
    """Participant codes by id for the contacts shown on a page (one query)."""
    ids = {c.participant_id for c in contacts if c.participant_id}
    if not ids:
        return {}
    rows = session.exec(
        select(Participant.id, Participant.code).where(col(Participant.id).in_(ids))
    )
    return {pid: code for pid, code in rows if pid is not None}


def latest_reviews(*, session: Session, contact_ids: list[int]) -> dict[int, ContactReview]:
    """The newest decision for each contact (returned contacts show its comment)."""
    if not contact_ids:
        return {}
    reviews = session.exec(
        select(ContactReview)
        .where(col(ContactReview.contact_id).in_(contact_ids))
        .order_by(col(ContactReview.decided_at), col(ContactReview.id))
    ).all()
    return {review.contact_id: review for review in reviews}


def review_history(*, session: Session, contact_id: int) -> list[ContactReview]:
    return list(
        session.exec(
            select(ContactReview)
            .where(ContactReview.contact_id == contact_id)
            .order_by(col(ContactReview.decided_at), col(ContactReview.id))
        )
    )


def last_location(*, session: Session, actor: Principal) -> tuple[int | None, int | None]:
    """The area and place of the actor's latest contact, to preselect on the form (one seek
    down ix_contact_worker_history, however many contacts the worker has logged)."""
    row = session.exec(
        select(Contact.area_id, Contact.place_id)
        .where(Contact.worker_id == actor.user_id)
        .order_by(col(Contact.occurred_at).desc(), col(Contact.id).desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else (None, None)


def _queue_query(
    query: Any,
    *,
    actor: Principal,
    worker_id: int | None = None,
    area_id: int | None = None,
    day_from: date | None = None,
    day_to: date | None = None,
    local_tz: Any = None,
) -> Any:
    organisations = actor.organisations(Role.supervisor)
    if not organisations:
        raise NotAllowed()
    # The states as literal SQL, the partial index's own words: SQLite uses a partial index
    # only for a query that repeats its WHERE, and never for bound parameters.
    query = query.where(col(Contact.organisation_id).in_(organisations)).where(QUEUE_STATES_SQL)
    if worker_id is not None:
        query = query.where(Contact.worker_id == worker_id)
    if area_id is not None:
        query = query.where(Contact.area_id == area_id)
    if day_from is not None:
        query = query.where(col(Contact.occurred_at) >= _start_of(day_from, local_tz))
    if day_to is not None:
        query = query.where(
            col(Contact.occurred_at) < _start_of(day_to + timedelta(days=1), local_tz)
        )
    return query


def review_queue_page(
    *,
    session: Session,
    actor: Principal,
    worker_id: int | None = None,
    area_id: int | None = None,
    day_from: date | None = None,
    day_to: date | None = None,
    local_tz: Any = None,
    cursor: Cursor | None = None,
    size: int = QUEUE_PAGE_SIZE,
) -> Page[Contact]:
    """A page of the review queue, oldest first, after `cursor` (ix_contact_review_queue)."""
    query = _queue_query(
        select(Contact),
        actor=actor,
        worker_id=worker_id,
        area_id=area_id,
        day_from=day_from,
        day_to=day_to,
        local_tz=local_tz,
    )
    query = after(
        query,
        cursor=cursor,
        sort=col(Contact.occurred_at),
        id_column=col(Contact.id),
        descending=False,
    )
    return fetch_page(session, query, size=size, key=_key)


def review_backlog(
    *,
    session: Session,
    actor: Principal,
    worker_id: int | None = None,
    area_id: int | None = None,
    day_from: date | None = None,
    day_to: date | None = None,
    local_tz: Any = None,
) -> tuple[int, datetime | None]:
    """How many contacts wait for review, and since when the oldest (the partial index alone
    answers: it holds only what waits)."""
    query = _queue_query(
        select(func.count(), func.min(Contact.occurred_at)).select_from(Contact),
        actor=actor,
        worker_id=worker_id,
        area_id=area_id,
        day_from=day_from,
        day_to=day_to,
        local_tz=local_tz,
    )
    count, oldest = session.exec(query).one()
    return count, oldest


def _start_of(day: date, tz: Any) -> datetime:
    """Midnight of a local day: the filter's dates are the supervisor's, not UTC's."""
    return datetime.combine(day, datetime.min.time(), tzinfo=tz or STOCKHOLM)


def review_contact(
    *,
    session: Session,
    actor: Principal,
    contact_id: int,
    decision: ReviewDecision,
    comment: str = "",
    now: datetime | None = None,
) -> Contact:
    """Approve a contact, or return it to its worker with a comment; the decision is kept."""
    now = now or utcnow()
    contact = session.get(Contact, contact_id)
    if contact is None or actor.role_in(contact.organisation_id) not in LOG_ROLES:
        raise NotVisible()
    if actor.role_in(contact.organisation_id) != Role.supervisor:
        raise NotAllowed()
    if contact.worker_id == actor.user_id:
        # Four eyes: another supervisor reviews a supervisor's own contacts.
        raise NotAllowed()
    if contact.review_state not in QUEUE_STATES:
        raise InvalidState()
    comment = comment.strip()
    if decision == ReviewDecision.returned and not comment:
        raise InvalidInput({"comment": _l("Say what to correct when you return a contact.")})
    contact.review_state = (
        ReviewState.approved.value
        if decision == ReviewDecision.approved
        else ReviewState.returned.value
    )
    contact.updated_at = now
    session.add(contact)
    assert contact.id is not None
    review = ContactReview(
        contact_id=contact.id,
        reviewer_id=actor.user_id,
        decision=decision.value,
        comment=comment,
        decided_at=now,
    )
    session.add(review)
    session.flush()
    if decision == ReviewDecision.returned:
        # The worker must know without opening "My contacts" (issue 10); push listens.
        contact_returned.send(session, contact=contact, review=review, now=now)
    record_event(
        session=session,
        event="contact_reviewed",
        actor_id=actor.user_id,
        object_type="contact",
        object_id=contact.id,
        organisation_id=contact.organisation_id,
        detail={"decision": decision.value},
        now=now,
    )
    return contact


def approve_contacts(
    *, session: Session, actor: Principal, contact_ids: list[int], now: datetime | None = None
) -> int:
    """Approve several contacts at once; all or none (any refusal raises)."""
    for contact_id in contact_ids:
        review_contact(
            session=session,
            actor=actor,
            contact_id=contact_id,
            decision=ReviewDecision.approved,
            now=now,
        )
    return len(contact_ids)


# The dashboard's contacts per worker and week (kept.py): the weeks before this one, and this
# week's days before today, are kept by the job and counted again until a fortnight after they
# ended; only today is counted as the supervisor looks.
WEEK, DAY = "contacts_week", "contacts_day"  # {"<worker id>": {"contacts": count}} a period
SETTLE = timedelta(days=14)
DASHBOARD_WEEKS = 12  # this week and the eleven before

PerWorker = dict[tuple[int, date], int]  # (worker, the period's first day) -> contacts


def _step(kind: str) -> timedelta:
    return timedelta(weeks=1) if kind == WEEK else timedelta(days=1)


def _end(kind: str, start: date) -> datetime:
    """When the week or day beginning `start` ends (midnight, Stockholm)."""
    return _start_of(start + _step(kind), None)


def _periods(kind: str, first: date, last: date) -> tuple[list[date], list[datetime]]:
    """The weeks (Mondays) or days from `first` to `last`, with their ends."""
    step = _step(kind)
    starts = [first + step * n for n in range((last - first) // step + 1)] if first <= last else []
    return starts, [_end(kind, start) for start in starts]


def _worker_counts(
    session: Session, organisations: list[int], starts: Sequence[date], ends: Sequence[datetime]
) -> dict[tuple[int, int, date], int]:
    """(organisation, worker, period) -> contacts for consecutive periods, counted by the
    database from ix_contact_figures alone: a row a worker and period."""
    period = period_index(col(Contact.occurred_at), ends)
    rows = session.execute(
        select(col(Contact.organisation_id), col(Contact.worker_id), period, func.count())
        .where(col(Contact.organisation_id).in_(organisations))
        .where(col(Contact.occurred_at) >= _start_of(starts[0], None))
        .where(col(Contact.occurred_at) < ends[-1])
        .group_by(col(Contact.organisation_id), col(Contact.worker_id), period)
    ).all()
    return {(org, worker, starts[index]): n for org, worker, index, n in rows if index >= 0}


def _kept_or_counted(
    session: Session, organisations: list[int], kind: str, first: date, last: date
) -> tuple[PerWorker, list[datetime]]:
    """Contacts per worker and period: kept periods as kept, the others counted now; and when
    the kept ones were counted."""
    starts, ends = _periods(kind, first, last)
    found = kept.read(session=session, kind=kind, organisation_ids=organisations, periods=starts)
    missing = [
        i for i, start in enumerate(starts) if any((o, start) not in found for o in organisations)
    ]
    counts: PerWorker = {}
    counted = []
    for (_org, start), row in found.items():
        if starts.index(start) in missing:
            continue
        counted.append(row.counted_at)
        for worker_key, values in row.counts.items():
            key = (int(worker_key), start)
            counts[key] = counts.get(key, 0) + values.get("contacts", 0)
    for run in kept.runs(missing):
        for (_org, worker, start), n in _worker_counts(
            session, organisations, starts[run[0] : run[-1] + 1], ends[run[0] : run[-1] + 1]
        ).items():
            counts[(worker, start)] = counts.get((worker, start), 0) + n
    return counts, counted


@dataclass(frozen=True)
class WorkerWeeks:
    """Contacts per worker and week, and when the oldest kept period was counted (None: all
    counted now)."""

    counts: dict[int, dict[date, int]]
    counted_at: datetime | None


def contacts_per_worker(
    *, session: Session, actor: Principal, weeks: Sequence[date], today: date
) -> WorkerWeeks:
    """Contacts per worker and week in the supervisor's organisations, for consecutive `weeks`
    (their Mondays, Stockholm time; the last holds `today`)."""
    organisations = actor.organisations(Role.supervisor)
    past, counted = _kept_or_counted(session, organisations, WEEK, weeks[0], weeks[-2])
    days, counted_days = _kept_or_counted(
        session, organisations, DAY, weeks[-1], today - timedelta(days=1)
    )
    today_counts = _worker_counts(session, organisations, [today], [_end(DAY, today)])
    counts: dict[int, dict[date, int]] = {}
    for (worker, start), n in past.items():
        counts.setdefault(worker, {})[start] = n
    this_week = [*days.items(), *(((w, d), n) for (_o, w, d), n in today_counts.items())]
    for (worker, _day), n in this_week:
        cells = counts.setdefault(worker, {})
        cells[weeks[-1]] = cells.get(weeks[-1], 0) + n
    return WorkerWeeks(counts=counts, counted_at=min([*counted, *counted_days], default=None))


def keep_worker_counts(*, session: Session, now: datetime) -> int:
    """Count and keep every programme's periods behind the dashboard that may still change:
    the eleven weeks before this one, and this week's days before today. Returns how many
    periods were counted; a commit a programme, after its counting (SQLite's write lock is not
    held while the database counts)."""
    today = now.astimezone(STOCKHOLM).date()
    monday = today - timedelta(days=today.weekday())
    programmes = session.exec(
        select(Organisation.id).where(Organisation.type == OrganisationType.cv_programme.value)
    ).all()
    made = 0
    for organisation_id in programmes:
        assert organisation_id is not None
        counted: list[kept.KeptCounts] = []
        for kind, first, last in (
            (WEEK, monday - timedelta(weeks=DASHBOARD_WEEKS - 1), monday - timedelta(weeks=1)),
            (DAY, monday, today - timedelta(days=1)),
        ):
            starts, _ends = _periods(kind, first, last)
            if starts:
                counted += kept.count_due(
                    session=session,
                    kind=kind,
                    organisation_id=organisation_id,
                    periods=starts,
                    end_of=partial(_end, kind),
                    settle=SETTLE,
                    count=partial(_kept_form, session, organisation_id, kind),
                )
        kept.keep_all(session=session, counted=counted, now=now)
        session.commit()
        made += len(counted)
    return made


def _kept_form(
    session: Session, organisation_id: int, kind: str, starts: list[date]
) -> dict[date, kept.Counts]:
    """A run of weeks or days counted now, as kept: period -> worker id -> {"contacts": n}."""
    ends = [_end(kind, start) for start in starts]
    by_start: dict[date, kept.Counts] = {}
    for (_org, worker, start), n in _worker_counts(
        session, [organisation_id], starts, ends
    ).items():
        by_start.setdefault(start, {})[str(worker)] = {"contacts": n}
    return by_start


def team_contacts(
    *,
    session: Session,
    actor: Principal,
    since: datetime,
    until: datetime,
    worker_id: int | None = None,
    cursor: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> Page[Contact]:
    """Contacts in the supervisor's organisations between two moments, newest first, a page
    at a time: the list behind the dashboard's contacts per worker and week (every state, read
    only)."""
    organisations = actor.organisations(Role.supervisor)
    if not organisations:
        raise NotAllowed()
    query = (
        select(Contact)
        .where(col(Contact.organisation_id).in_(organisations))
        .where(col(Contact.occurred_at) >= since)
        .where(col(Contact.occurred_at) < until)
    )
    if worker_id is not None:
        query = query.where(Contact.worker_id == worker_id)
    query = after(query, cursor=cursor, sort=col(Contact.occurred_at), id_column=col(Contact.id))
    return fetch_page(session, query, size=size, key=_key)
