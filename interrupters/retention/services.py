"""Retention: blank or anonymise person-level detail past an organisation's periods.

What a run does, per organisation (periods from its RetentionPolicy, else DESIGN.md's defaults):

- contact notes (12 months after the contact): the note is blanked, and so are the comments
  of the contact's review decisions (a supervisor's free text about it);
- contacts (24 months): anonymised, not deleted. The participant link, the follow-up date and
  the note go; the row keeps its organisation, worker, area, place, month, kind, purpose,
  referrals, age band and gender, so every count by month, kind, purpose or area stays the
  same. (Figures per participant for those months cannot be recomputed afterwards: that is
  the point.)
- conflicts (24 months after their last change): anonymised. The party labels, the links to
  participants, the texts of the timeline and the notes of its mediations and incidents go;
  code, area, catalyst, type, level, status, counts and dates stay, so conflict, escalation,
  mediation and incident figures stay the same. The timeline is otherwise append-only: this
  is the one change made to it, and it only empties text.
- walk reports' free text (6 months after the report): the note is blanked; bands,
  atmosphere, observations and actions stay, so the walk figures stay the same;
- place observations' notes (the same period as walk reports' free text): blanked; place,
  kind, severity and evening stay, so the situational picture's trends stay the same.

Every step selects only what is due and not yet done (a note not yet empty, a link still
there), so a second run finds nothing and a run can be repeated after a failure. The run is
audited with counts only; a dry run counts the same things and changes nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, update
from sqlmodel import Session, col, func, select

from interrupters.audit.services import record_event
from interrupters.auth.models import Organisation
from interrupters.auth.principal import Principal
from interrupters.auth.values import Role
from interrupters.conflicts.models import (
    Conflict,
    ConflictEvent,
    ConflictParticipant,
    Incident,
    Mediation,
)
from interrupters.contacts.models import Contact, ContactReview
from interrupters.contacts.services import refresh_latest
from interrupters.errors import NotAllowed, NotVisible
from interrupters.picture.models import PlaceObservation
from interrupters.retention.models import RetentionPolicy
from interrupters.walks.models import Walk, WalkReport

logger = logging.getLogger(__name__)

STOCKHOLM = ZoneInfo("Europe/Stockholm")

# What a run counts, in the order reports show them.
KINDS = (
    "contact_notes",
    "review_comments",
    "contacts_anonymised",
    "conflicts_anonymised",
    "conflict_texts",
    "walk_report_texts",
    "observation_notes",
)


@dataclass
class RetentionReport:
    """Counts per kind (never content), in total and per organisation id."""

    dry_run: bool
    totals: Counter[str] = field(default_factory=Counter)
    by_organisation: dict[int, Counter[str]] = field(default_factory=dict)

    def add(self, organisation_id: int, kind: str, count: int) -> None:
        if count:
            self.totals[kind] += count
            self.by_organisation.setdefault(organisation_id, Counter())[kind] += count

    def counts(self) -> dict[str, int]:
        return {kind: self.totals[kind] for kind in KINDS}


def months_before(now: datetime, months: int) -> datetime:
    """The same local day `months` calendar months earlier (the month's last day if shorter)."""
    local = now.astimezone(STOCKHOLM)
    index = local.year * 12 + local.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    next_first = date(year + (month == 12), month % 12 + 1, 1)
    day = min(local.day, (next_first - date(year, month, 1)).days)
    return local.replace(year=year, month=month, day=day).astimezone(UTC)


def policy_for(*, session: Session, organisation_id: int) -> RetentionPolicy:
    """The organisation's periods; DESIGN.md's defaults when the admin has set none."""
    return session.get(RetentionPolicy, organisation_id) or RetentionPolicy(
        organisation_id=organisation_id
    )


def set_policy(
    *,
    session: Session,
    actor: Principal,
    organisation_id: int,
    contact_note_months: int,
    contact_months: int,
    conflict_months: int,
    walk_report_text_months: int,
    now: datetime | None = None,
) -> RetentionPolicy:
    """Save an organisation's retention periods (the admin's); audited with the months."""
    if not actor.has_role(Role.admin):
        raise NotAllowed()
    if session.get(Organisation, organisation_id) is None:
        raise NotVisible()
    values = {
        "contact_note_months": contact_note_months,
        "contact_months": contact_months,
        "conflict_months": conflict_months,
        "walk_report_text_months": walk_report_text_months,
    }
    policy = RetentionPolicy.model_validate(
        {"organisation_id": organisation_id, **values}
    )  # validates the bounds: table models do not validate on construction
    stored = session.get(RetentionPolicy, organisation_id)
    if stored is None:
        stored = policy
    else:
        for name, months in values.items():
            setattr(stored, name, months)
    stored.updated_at = now or datetime.now(UTC)
    stored.updated_by_id = actor.user_id
    session.add(stored)
    record_event(
        session=session,
        event="retention_changed",
        actor_id=actor.user_id,
        object_type="organisation",
        object_id=organisation_id,
        organisation_id=organisation_id,
        detail=values,
        now=now,
    )
    session.flush()
    return stored


def _count(session: Session, query: Any) -> int:
    return int(session.exec(select(func.count()).select_from(query.subquery())).one())


def _contacts(organisation_id: int, before: datetime) -> Any:
    return (
        select(Contact.id)
        .where(Contact.organisation_id == organisation_id)
        .where(col(Contact.occurred_at) < before)
    )


def _apply_contacts(
    session: Session, report: RetentionReport, policy: RetentionPolicy, now: datetime
) -> None:
    organisation_id = policy.organisation_id
    # Anonymise first: what it blanks is then not counted again as a note.
    due = _contacts(organisation_id, months_before(now, policy.contact_months)).where(
        col(Contact.participant_id).is_not(None)
        | col(Contact.follow_up_on).is_not(None)
        | (Contact.note != "")
    )
    notes_due = _contacts(organisation_id, months_before(now, policy.contact_note_months))
    comments = select(ContactReview.id).where(
        col(ContactReview.contact_id).in_(notes_due), ContactReview.comment != ""
    )
    anonymised = _count(session, due)
    report.add(organisation_id, "contacts_anonymised", anonymised)
    if anonymised and not report.dry_run:
        # Their participants' latest contact may be among them: read it again after.
        participants = session.exec(
            select(Contact.participant_id)
            .where(col(Contact.id).in_(due), col(Contact.participant_id).is_not(None))
            .distinct()
        ).all()
        session.execute(
            update(Contact)
            .where(col(Contact.id).in_(due))
            .values(participant_id=None, follow_up_on=None, note="")
            .execution_options(synchronize_session=False)
        )
        refresh_latest(
            session=session, participant_ids=[pid for pid in participants if pid is not None]
        )
    # Not those anonymised above: a dry run must count what a real run does.
    notes = notes_due.where(Contact.note != "", col(Contact.id).not_in(due))
    report.add(organisation_id, "contact_notes", _count(session, notes))
    report.add(organisation_id, "review_comments", _count(session, comments))
    if not report.dry_run:
        session.execute(
            update(Contact)
            .where(col(Contact.id).in_(notes))
            .values(note="")
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(ContactReview)
            .where(col(ContactReview.id).in_(comments))
            .values(comment="")
            .execution_options(synchronize_session=False)
        )


def _apply_conflicts(
    session: Session, report: RetentionReport, policy: RetentionPolicy, now: datetime
) -> None:
    organisation_id = policy.organisation_id
    due = (
        select(Conflict.id)
        .where(Conflict.organisation_id == organisation_id)
        .where(col(Conflict.updated_at) < months_before(now, policy.conflict_months))
    )
    touched: set[int] = set()
    labelled = [
        conflict_id
        for conflict_id, labels in session.exec(
            select(Conflict.id, Conflict.party_labels).where(col(Conflict.id).in_(due))
        ).all()
        if labels and conflict_id is not None
    ]
    touched.update(labelled)
    linked = set(
        session.exec(
            select(ConflictParticipant.conflict_id).where(
                col(ConflictParticipant.conflict_id).in_(due)
            )
        ).all()
    )
    touched.update(linked)
    texts = 0
    texted: list[tuple[Any, Any]] = [
        (ConflictEvent, ConflictEvent.text),
        (Mediation, Mediation.note),
        (Incident, Incident.note),
    ]
    for model, column in texted:
        owner = model.conflict_id
        rows = session.exec(
            select(owner, func.count()).where(col(owner).in_(due), column != "").group_by(owner)
        ).all()
        for conflict_id, count in rows:
            touched.add(conflict_id)
            texts += count
        if rows and not report.dry_run:
            session.execute(
                update(model)
                .where(col(owner).in_(due), column != "")
                .values({column.key: ""})
                .execution_options(synchronize_session=False)
            )
    report.add(organisation_id, "conflicts_anonymised", len(touched))
    report.add(organisation_id, "conflict_texts", texts)
    if report.dry_run:
        return
    if labelled:
        session.execute(
            update(Conflict)
            .where(col(Conflict.id).in_(labelled))
            .values(party_labels=[])
            .execution_options(synchronize_session=False)
        )
    if linked:
        session.execute(
            delete(ConflictParticipant)
            .where(col(ConflictParticipant.conflict_id).in_(due))
            .execution_options(synchronize_session=False)
        )


def _apply_walk_reports(
    session: Session, report: RetentionReport, policy: RetentionPolicy, now: datetime
) -> None:
    organisation_id = policy.organisation_id
    due = (
        select(WalkReport.id)
        .join(Walk, col(Walk.id) == WalkReport.walk_id)
        .where(Walk.organisation_id == organisation_id)
        .where(col(WalkReport.submitted_at) < months_before(now, policy.walk_report_text_months))
        .where(WalkReport.note != "")
    )
    count = _count(session, due)
    report.add(organisation_id, "walk_report_texts", count)
    if count and not report.dry_run:
        session.execute(
            update(WalkReport)
            .where(col(WalkReport.id).in_(due))
            .values(note="")
            .execution_options(synchronize_session=False)
        )


def _apply_observations(
    session: Session, report: RetentionReport, policy: RetentionPolicy, now: datetime
) -> None:
    # A partner's note on a place is free text like a walk report's, and keeps its period.
    organisation_id = policy.organisation_id
    due = (
        select(PlaceObservation.id)
        .where(PlaceObservation.organisation_id == organisation_id)
        .where(
            col(PlaceObservation.observed_at) < months_before(now, policy.walk_report_text_months)
        )
        .where(PlaceObservation.note != "")
    )
    count = _count(session, due)
    report.add(organisation_id, "observation_notes", count)
    if count and not report.dry_run:
        session.execute(
            update(PlaceObservation)
            .where(col(PlaceObservation.id).in_(due))
            .values(note="")
            .execution_options(synchronize_session=False)
        )


def apply_retention(*, session: Session, now: datetime, dry_run: bool = False) -> RetentionReport:
    """Blank and anonymise what every organisation keeps past its periods (see the module).

    A real run is audited (counts only) and flushed; the caller commits. A dry run changes
    nothing and writes nothing."""
    report = RetentionReport(dry_run=dry_run)
    organisation_ids = session.exec(select(Organisation.id).order_by(col(Organisation.id))).all()
    for organisation_id in organisation_ids:
        assert organisation_id is not None
        policy = policy_for(session=session, organisation_id=organisation_id)
        _apply_contacts(session, report, policy, now)
        _apply_conflicts(session, report, policy, now)
        _apply_walk_reports(session, report, policy, now)
        _apply_observations(session, report, policy, now)
    if not dry_run:
        record_event(
            session=session,
            event="retention_run",
            detail={
                "counts": report.counts(),
                "organisations": {
                    str(organisation_id): dict(counts)
                    for organisation_id, counts in sorted(report.by_organisation.items())
                },
            },
            now=now,
        )
        session.flush()
    logger.info("retention%s: %s", " (dry run)" if dry_run else "", report.counts())
    return report
