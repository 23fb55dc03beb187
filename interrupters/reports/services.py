"""The programme's figures per area and month, computed in SQL (GROUP BY month and area, one
query per kind of record), suppressed before they leave the package.

Months are calendar months in Stockholm time. SQLite has no time zones, so a timestamp's month
is found by comparing it with the UTC instants the months start at (`month_index`): the same
SQL on SQLite and PostgreSQL, and right across the changes to and from summer time.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, and_, case, cast, distinct, or_
from sqlalchemy import select as sa_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, func, select

from interrupters import kept
from interrupters.auth.models import Organisation, OrganisationDistrict
from interrupters.auth.principal import Principal
from interrupters.auth.values import OrganisationType, Role
from interrupters.conflicts.models import (
    CommunityResponse,
    Conflict,
    ConflictEvent,
    Incident,
    Mediation,
)
from interrupters.conflicts.values import Strategy, TimelineKind
from interrupters.contacts.models import Contact
from interrupters.db import period_index
from interrupters.errors import InvalidInput, NotAllowed
from interrupters.participants.models import Participant
from interrupters.places.models import Area, District
from interrupters.referrals.models import Referral, ReferralUpdate, Service
from interrupters.referrals.values import ReferralStatus
from interrupters.reports.indicators import (
    COUNT,
    INDICATORS,
    MINUTES,
    RATE,
    WALK_INDICATORS,
    Indicator,
)
from interrupters.reports.suppression import HIDDEN, Relation, suppress
from interrupters.walks.models import Walk, WalkReport, WalkSignup
from interrupters.walks.values import Atmosphere, WalkState

logger = logging.getLogger(__name__)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
MAX_MONTHS = 60  # five years: a pilot and its follow-up; bounds every query
ALL = 0  # the key of the programme's total row (area ids start at 1)
NOT_APPLICABLE = "\u2013"  # an en dash: not defined (no participant met)


# Months ---------------------------------------------------------------------------------------


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def months_in(start: date, end: date) -> list[date]:
    """The first days of the calendar months from `start`'s to `end`'s, both included."""
    if end < start:
        raise InvalidInput({"end": _l("The end is before the start.")})
    months = [first_of_month(start)]
    while next_month(months[-1]) <= end:
        months.append(next_month(months[-1]))
        if len(months) > MAX_MONTHS:
            raise InvalidInput(
                {"end": _l("At most %(months)d months at a time.", months=MAX_MONTHS)}
            )
    return months


def month_start_utc(month: date) -> datetime:
    """The UTC instant a Stockholm calendar month starts at."""
    return datetime.combine(month, time(), tzinfo=STOCKHOLM).astimezone(UTC)


def month_index(column: Any, months: Sequence[date]) -> ColumnElement[int]:
    """Which of `months` a UTC timestamp column falls in (0, 1, ...; -1 outside), in SQL that
    SQLite and PostgreSQL both run. Filter with `in_months` so -1 never reaches a figure."""
    ends = [month_start_utc(m) for m in months[1:]] + [month_start_utc(next_month(months[-1]))]
    return period_index(column, ends)


def in_months(column: Any, months: Sequence[date]) -> ColumnElement[bool]:
    return and_(
        column >= month_start_utc(months[0]), column < month_start_utc(next_month(months[-1]))
    )


def days_in(month: date) -> int:
    return (next_month(month) - month).days


# Rows -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FigureRow:
    """One area's (or, with `area_id` None, the whole programme's) figures for one month.

    `values[name]` is None where the figure is suppressed (`name in suppressed`) or, for a
    rate, where it is not defined (no participant met)."""

    month: date
    area_id: int | None
    area: str
    district_id: int | None
    district: str
    values: dict[str, int | float | None]
    suppressed: frozenset[str] = field(default_factory=frozenset)
    # When the month's counts were made, if they were kept (keep_figures); None: just now.
    counted_at: datetime | None = None

    @property
    def is_total(self) -> bool:
        """The programme's (or every district's) total row: every other row has a district."""
        return self.district_id is None

    def shown(self, name: str) -> str:
        """The figure as a reader sees it: a number, "<5" when suppressed, a dash if undefined."""
        if name in self.suppressed:
            return HIDDEN
        value = self.values.get(name)
        if value is None:
            return NOT_APPLICABLE
        return str(value)

    def number(self, name: str) -> int | float | None:
        return None if name in self.suppressed else self.values.get(name)


Cells = dict[tuple[int, int], dict[str, int]]  # (month index, area id) -> indicator -> value


def _add(cells: Cells, rows: Iterable[Any], names: Sequence[str]) -> None:
    """Put a GROUP BY's rows (month index, key, value per name) into `cells`."""
    for row in rows:
        month, key, *values = row
        if month is None or month < 0 or key is None:
            continue
        cell = cells.setdefault((int(month), int(key)), {})
        for name, value in zip(names, values, strict=True):
            cell[name] = cell.get(name, 0) + int(value or 0)


def _select(*columns: Any) -> Any:
    """SQLAlchemy's select over model attributes and labels, for the GROUP BY queries below
    (their column types are SQL expressions, which the typed overloads cannot follow)."""
    return sa_select(*columns)


def _one(condition: ColumnElement[bool], value: Any = 1) -> ColumnElement[int]:
    return func.sum(case((condition, value), else_=0))


def _tally(
    session: Session, inner: Any, key: str, columns: Sequence[tuple[str, Any]], cells: Cells
) -> None:
    """GROUP BY month and `key` over the subquery `inner`, into `cells`."""
    sub = inner.subquery()
    names = [name for name, _ in columns]
    expressions = [make(sub.c) for _, make in columns]
    query = _select(sub.c.m, sub.c[key], *expressions).group_by(sub.c.m, sub.c[key])
    _add(cells, session.execute(query).all(), names)


def _programme_filter(column: Any, programme_id: int | None) -> ColumnElement[bool]:
    if programme_id is None:
        programmes = _select(Organisation.id).where(
            Organisation.type == OrganisationType.cv_programme.value
        )
        return col(column).in_(programmes)
    return column == programme_id


def _grouped(session: Session, inner: Any, keys: Sequence[str], measures: Sequence[Any]) -> Any:
    """GROUP BY month, area and `keys` over the subquery `inner`: one row a combination, with
    `measures` (functions of the subquery's columns). The value lists are short, so the rows
    are few however many records there are; plain GROUP BYs compile and plan quickly."""
    sub = inner.subquery()
    groups = [sub.c.m, sub.c.area, *(sub.c[k] for k in keys)]
    query = _select(*groups, *(measure(sub.c) for measure in measures)).group_by(*groups)
    return session.execute(query).all()


def _put(cells: Cells, month: Any, area: Any, values: Iterable[tuple[str, Any]]) -> None:
    if month is None or month < 0 or area is None:
        return
    cell = cells.setdefault((int(month), int(area)), {})
    for name, value in values:
        cell[name] = cell.get(name, 0) + int(value or 0)


def _contacts(session: Session, programme_id: int | None, months: list[date], cells: Cells) -> None:
    inner = _select(
        month_index(Contact.occurred_at, months).label("m"),
        col(Contact.area_id).label("area"),
        Contact.subject,
        Contact.kind,
        Contact.purpose,
        func.coalesce(Contact.duration_minutes, 0).label("minutes"),
    ).where(
        _programme_filter(Contact.organisation_id, programme_id),
        in_months(Contact.occurred_at, months),
    )
    rows = _grouped(
        session,
        inner,
        ["subject", "kind", "purpose"],
        [lambda c: func.count(), lambda c: func.sum(c.minutes)],
    )
    for m, area, subject, kind, purpose, count, minutes in rows:
        _put(
            cells,
            m,
            area,
            [
                ("contacts", count),
                (f"contacts_subject_{subject}", count),
                (f"contacts_kind_{kind}", count),
                (f"contacts_purpose_{purpose}", count),
                ("staff_minutes", minutes),
                (f"staff_minutes_kind_{kind}", minutes),
            ],
        )


def _participants(
    session: Session, programme_id: int | None, months: list[date], cells: Cells
) -> None:
    # Met in the month: by the participant's own area, each participant once. The contacts
    # are counted per participant and month first (the contact index answers that alone),
    # and only those few rows meet the participant table.
    contacts = (
        _select(
            month_index(Contact.occurred_at, months).label("m"),
            col(Contact.participant_id).label("participant_id"),
        )
        .where(
            _programme_filter(Contact.organisation_id, programme_id),
            in_months(Contact.occurred_at, months),
            col(Contact.participant_id).is_not(None),
        )
        .subquery()
    )
    per_participant = (
        _select(contacts.c.m, contacts.c.participant_id, func.count().label("n"))
        .group_by(contacts.c.m, contacts.c.participant_id)
        .subquery()
    )
    met = (
        _select(
            per_participant.c.m,
            col(Participant.area_id).label("area"),
            func.count(),
            func.sum(per_participant.c.n),
        )
        .join(Participant, col(Participant.id) == per_participant.c.participant_id)
        .group_by(per_participant.c.m, col(Participant.area_id))
    )
    for m, area, active, total in session.execute(met).all():
        _put(cells, m, area, [("participants_active", active), ("participant_contacts", total)])
    for name, column in (
        ("participants_new", Participant.created_at),
        ("participants_exited", Participant.exited_at),
    ):
        inner = _select(
            month_index(column, months).label("m"), col(Participant.area_id).label("area")
        ).where(
            _programme_filter(Participant.organisation_id, programme_id), in_months(column, months)
        )
        for m, area, count in _grouped(session, inner, [], [lambda c: func.count()]):
            _put(cells, m, area, [(name, count)])


def _conflicts(
    session: Session, programme_id: int | None, months: list[date], cells: Cells
) -> None:
    inner = (
        _select(
            month_index(ConflictEvent.occurred_at, months).label("m"),
            col(Conflict.area_id).label("area"),
            ConflictEvent.conflict_id,
            ConflictEvent.kind,
            ConflictEvent.from_level,
            ConflictEvent.to_level,
            ConflictEvent.to_status,
            Conflict.catalyst,
        )
        .join(Conflict, col(Conflict.id) == ConflictEvent.conflict_id)
        .where(
            _programme_filter(Conflict.organisation_id, programme_id),
            in_months(ConflictEvent.occurred_at, months),
        )
    )
    detected, changed = TimelineKind.detected.value, TimelineKind.level_changed.value
    rows = _grouped(
        session, inner, ["kind", "from_level", "to_level", "catalyst"], [lambda c: func.count()]
    )
    for m, area, kind, from_level, to_level, catalyst, count in rows:
        if kind == detected:
            values = [
                ("conflicts_new", count),
                (f"conflicts_new_level_{to_level}", count),
                (f"conflicts_new_catalyst_{catalyst}", count),
            ]
        elif kind == changed and from_level is not None and to_level is not None:
            up = to_level > from_level
            values = [("conflict_escalations" if up else "conflict_deescalations", count)]
        else:
            continue
        _put(cells, m, area, values)
    # A conflict counts once a month for a status it reached, however often it was set.
    statuses = {"resolved": "conflicts_resolved", "turned_violent": "conflicts_turned_violent"}
    reached = inner.where(col(ConflictEvent.to_status).in_(list(statuses)))
    for m, area, status, count in _grouped(
        session, reached, ["to_status"], [lambda c: func.count(distinct(c.conflict_id))]
    ):
        _put(cells, m, area, [(statuses[status], count)])


def _mediations(
    session: Session, programme_id: int | None, months: list[date], cells: Cells
) -> None:
    inner = (
        _select(
            month_index(Mediation.occurred_at, months).label("m"),
            col(Conflict.area_id).label("area"),
            Mediation.outcome,
            # The strategies are a JSON list of codes; as text each code appears in quotes.
            cast(col(Mediation.strategies), String).label("strategies"),
        )
        .join(Conflict, col(Conflict.id) == Mediation.conflict_id)
        .where(
            _programme_filter(Conflict.organisation_id, programme_id),
            in_months(Mediation.occurred_at, months),
        )
    )
    strategies = [s.value for s in Strategy]
    measures = [lambda c: func.count()] + [
        lambda c, v=v: _one(c.strategies.like(f'%"{v}"%')) for v in strategies
    ]
    for m, area, outcome, count, *used in _grouped(session, inner, ["outcome"], measures):
        _put(
            cells,
            m,
            area,
            [("mediations", count), (f"mediations_outcome_{outcome}", count)]
            + [(f"mediations_strategy_{v}", n) for v, n in zip(strategies, used, strict=True)],
        )


def _incidents(
    session: Session, programme_id: int | None, months: list[date], cells: Cells
) -> None:
    inner = _select(
        month_index(Incident.occurred_at, months).label("m"),
        col(Incident.area_id).label("area"),
        Incident.type,
        Incident.response,
        Incident.injured_count,
    ).where(
        _programme_filter(Incident.organisation_id, programme_id),
        in_months(Incident.occurred_at, months),
    )
    rows = _grouped(
        session,
        inner,
        ["type", "response"],
        [lambda c: func.count(), lambda c: func.sum(c.injured_count)],
    )
    for m, area, kind, response, count, injured in rows:
        _put(
            cells,
            m,
            area,
            [
                ("incidents", count),
                (f"incidents_type_{kind}", count),
                (f"incidents_response_{response}", count),
                ("incidents_injured", injured),
            ],
        )
    responses = _select(
        month_index(CommunityResponse.occurred_at, months).label("m"),
        col(CommunityResponse.area_id).label("area"),
        CommunityResponse.kind,
    ).where(
        _programme_filter(CommunityResponse.organisation_id, programme_id),
        in_months(CommunityResponse.occurred_at, months),
    )
    for m, area, kind, count in _grouped(session, responses, ["kind"], [lambda c: func.count()]):
        _put(
            cells,
            m,
            area,
            [("community_responses", count), (f"community_responses_kind_{kind}", count)],
        )


def _referrals(
    session: Session, programme_id: int | None, months: list[date], cells: Cells
) -> None:
    made = (
        _select(
            month_index(Referral.made_at, months).label("m"),
            col(Participant.area_id).label("area"),
            Service.kind,
        )
        .join(Participant, col(Participant.id) == Referral.participant_id)
        .join(Service, col(Service.id) == Referral.service_id)
        .where(
            _programme_filter(Referral.organisation_id, programme_id),
            in_months(Referral.made_at, months),
        )
    )
    for m, area, kind, count in _grouped(session, made, ["kind"], [lambda c: func.count()]):
        _put(cells, m, area, [("referrals_made", count), (f"referrals_made_kind_{kind}", count)])
    updates = (
        _select(
            month_index(ReferralUpdate.occurred_at, months).label("m"),
            col(Participant.area_id).label("area"),
            ReferralUpdate.referral_id,
            ReferralUpdate.status,
            Service.kind,
        )
        .join(Referral, col(Referral.id) == ReferralUpdate.referral_id)
        .join(Participant, col(Participant.id) == Referral.participant_id)
        .join(Service, col(Service.id) == Referral.service_id)
        .where(
            _programme_filter(Referral.organisation_id, programme_id),
            in_months(ReferralUpdate.occurred_at, months),
            ReferralUpdate.status != ReferralStatus.made.value,
        )
    )
    # A referral counts once a month for a status it reached, however often it was sent; it
    # has one service, so the counts per kind add up to the status's count.
    by_kind = {ReferralStatus.started.value, ReferralStatus.completed.value}
    rows = _grouped(
        session, updates, ["status", "kind"], [lambda c: func.count(distinct(c.referral_id))]
    )
    for m, area, status, kind, count in rows:
        values = [(f"referrals_{status}", count)]
        if status in by_kind:
            values.append((f"referrals_{status}_kind_{kind}", count))
        _put(cells, m, area, values)


# Areas ----------------------------------------------------------------------------------------


def _areas(
    session: Session, programme_id: int | None, seen: Iterable[int]
) -> dict[int, tuple[str, int, str]]:
    """The areas a programme's table has a row for: every area of the districts it serves, and
    any other area its records name. Area id -> (name, district id, district name)."""
    served = select(OrganisationDistrict.district_id).where(
        _programme_filter(OrganisationDistrict.organisation_id, programme_id)
    )
    query = (
        select(Area.id, Area.name, District.id, District.name)
        .join(District, col(District.id) == Area.district_id)
        .where(or_(col(Area.district_id).in_(served), col(Area.id).in_(list(seen) or [-1])))
    )
    return {
        a: (name, d, district)
        for a, name, d, district in session.exec(query).all()
        if a is not None and d is not None
    }


# Suppression of a month's table ---------------------------------------------------------------


def _relations(indicators: Sequence[Indicator], keys: Sequence[int], kind: str) -> list[Relation]:
    """Parts add up to their total in every row; the rows add up to the total row."""
    relations: list[Relation] = []
    of_kind = [i for i in indicators if i.type == kind]
    totals: dict[str, list[str]] = defaultdict(list)
    for indicator in of_kind:
        if indicator.total is not None:
            totals[indicator.total].append(indicator.name)
    for key in (*keys, ALL):
        for total, parts in totals.items():
            relations.append(Relation(tuple((key, p) for p in parts), (key, total)))
    for indicator in of_kind:
        relations.append(Relation(tuple((k, indicator.name) for k in keys), (ALL, indicator.name)))
        if indicator.same_total_as is not None:
            relations.append(Relation(((ALL, indicator.name),), (ALL, indicator.same_total_as)))
    return relations


def suppress_month(
    table: dict[int, dict[str, int]], indicators: Sequence[Indicator]
) -> dict[int, set[str]]:
    """Which figures of one month's table (row key -> values, ALL the total row) to hide:
    counts under 5 and their complements, minutes wherever their count is hidden, and rates
    made from a hidden figure."""
    keys = [k for k in table if k != ALL]
    counts = {
        (k, i.name): table[k].get(i.name, 0) for k in table for i in indicators if i.type == COUNT
    }
    hidden = suppress(counts, _relations(indicators, keys, COUNT))
    minutes = {
        (k, i.name): table[k].get(i.name, 0) for k in table for i in indicators if i.type == MINUTES
    }
    primary = {
        (k, i.name)
        for k in table
        for i in indicators
        if i.type == MINUTES and any((k, b) in hidden for b in i.basis)
    }
    hidden |= suppress(
        minutes, _relations(indicators, keys, MINUTES), threshold=None, primary=primary
    )
    out: dict[int, set[str]] = {k: set() for k in table}
    for key, name in hidden:
        out[key].add(name)
    for indicator in indicators:
        if indicator.type == RATE:
            for key in table:
                if any(b in out[key] for b in indicator.basis):
                    out[key].add(indicator.name)
    return out


def _rates(values: dict[str, int | float | None], month: date) -> None:
    active = values.get("participants_active") or 0
    contacts = values.get("participant_contacts") or 0
    weeks = days_in(month) / 7
    values["contacts_per_participant_week"] = (
        round(contacts / active / weeks, 2) if active else None
    )


def _build_rows(
    months: list[date],
    cells: Cells,
    units: dict[int, tuple[str, int | None, str]],
    indicators: Sequence[Indicator],
    *,
    total_label: str,
    by_district: bool,
    counted: dict[int, datetime] | None = None,
) -> list[FigureRow]:
    rows: list[FigureRow] = []
    additive = [i for i in indicators if i.type != RATE]
    for index, month in enumerate(months):
        table: dict[int, dict[str, int]] = {}
        for key in units:
            table[key] = {i.name: cells.get((index, key), {}).get(i.name, 0) for i in additive}
        table[ALL] = {i.name: sum(table[k][i.name] for k in units) for i in additive}
        hidden = suppress_month(table, indicators)
        for key in (*sorted(units, key=lambda k: (units[k][2], units[k][0])), ALL):
            values: dict[str, int | float | None] = dict(table[key])
            if any(i.type == RATE for i in indicators):
                _rates(values, month)
            for name in hidden[key]:
                values[name] = None
            if key == ALL:
                name, district_id, district = total_label, None, ""
            else:
                name, district_id, district = units[key]
            rows.append(
                FigureRow(
                    month=month,
                    area_id=None if (key == ALL or by_district) else key,
                    area="" if by_district else name,
                    district_id=key if (by_district and key != ALL) else district_id,
                    district=(name if by_district else district),
                    values=values,
                    suppressed=frozenset(hidden[key]),
                    counted_at=(counted or {}).get(index),
                )
            )
    return rows


# The public interface ------------------------------------------------------------------------


def _counted(session: Session, programme_id: int | None, months: list[date]) -> Cells:
    """Count `months` (one run of consecutive months) from the records, now."""
    cells: Cells = {}
    for source in (_contacts, _participants, _conflicts, _mediations, _incidents, _referrals):
        source(session, programme_id, months, cells)
    return cells


def _area_cells(
    session: Session, programme_id: int | None, months: list[date]
) -> tuple[Cells, dict[int, datetime]]:
    """The counts of `months`: the kept ones as kept, the others counted now. Also, by month
    index, when each kept month was counted."""
    found = (
        {}
        if programme_id is None
        else kept.read(session=session, kind=KEPT, organisation_ids=[programme_id], periods=months)
    )
    cells: Cells = {}
    counted: dict[int, datetime] = {}
    missing = []
    for index, month in enumerate(months):
        row = found.get((programme_id or 0, month))
        if row is None:
            missing.append(index)
            continue
        counted[index] = row.counted_at
        for area_key, values in row.counts.items():
            cells[(index, int(area_key))] = dict(values)
    for run in kept.runs(missing):
        for (m, area), values in _counted(session, programme_id, [months[i] for i in run]).items():
            cells[(run[0] + m, area)] = values
    return cells, counted


# The counts kept: what a page reads ------------------------------------------------------------

KEPT = "figures"  # kept.KeptCounts.kind: {"<area id>": {"<indicator>": count}} a month
# A month is counted again until a month after it ended (kept.py), then final: the figures
# then outlive the thinning of the records by retention.
SETTLE = timedelta(days=31)


def keep_figures(*, session: Session, now: datetime) -> int:
    """Count and keep every programme's months that may still change, from the oldest month a
    page may ask for (MAX_MONTHS back) to this one; return how many months were counted.

    Each programme's months are counted first and written after, with a commit per programme:
    the counting reads for seconds at a million contacts, and on SQLite a write would hold the
    database's write lock (and every phone's sync) for all that time."""
    this_month = now.astimezone(STOCKHOLM).date().replace(day=1)
    months = months_in(_month_back(this_month, MAX_MONTHS - 1), this_month)
    programmes = session.exec(
        select(Organisation.id).where(Organisation.type == OrganisationType.cv_programme.value)
    ).all()
    made = 0
    for programme_id in programmes:
        assert programme_id is not None
        counted = kept.count_due(
            session=session,
            kind=KEPT,
            organisation_id=programme_id,
            periods=months,
            end_of=lambda month: month_start_utc(next_month(month)),
            settle=SETTLE,
            count=partial(_month_counts, session, programme_id),
        )
        kept.keep_all(session=session, counted=counted, now=now)
        session.commit()
        made += len(counted)
    return made


def _month_counts(
    session: Session, programme_id: int, months: list[date]
) -> dict[date, kept.Counts]:
    """A run of months counted now, as kept: month -> area id -> indicator -> count."""
    by_month: dict[date, kept.Counts] = {}
    for (m, area), values in _counted(session, programme_id, months).items():
        by_month.setdefault(months[m], {})[str(area)] = values
    return by_month


def _month_back(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def area_month_counts(
    *, session: Session, programme_id: int | None, start: date, end: date
) -> dict[tuple[date, int], dict[str, int]]:
    """The counts behind `area_month_figures`, NOT suppressed: (month, area id) -> indicator
    -> count, only where something happened. For checks inside the package and its tests;
    nothing that leaves an organisation may show them."""
    months = months_in(start, end)
    return {
        (months[m], area): dict(v)
        for (m, area), v in _counted(session, programme_id, months).items()
    }


ALL_AREAS = "all"  # FigureRow.area of the programme's total row


def area_month_figures(
    *,
    session: Session,
    programme_id: int | None,
    start: date,
    end: date,
    area_ids: list[int] | None = None,
) -> list[FigureRow]:
    """Every indicator of `INDICATORS` per area and calendar month from `start`'s month to
    `end`'s, for one programme (an organisation of type cv_programme) or, with None, every
    programme together; suppressed (counts under 5 and their complements are None).

    Each month has a row per area of the programme's districts (and any area its records name)
    and a total row (area_id None, area ALL_AREAS). Suppression is decided on the whole table,
    the total row included, before `area_ids` picks rows: so two requests for different areas
    can never be subtracted from one another to reveal a hidden count.

    Months the job keeps (`keep_figures`) are read as kept, with their `counted_at`; the others
    are counted now."""
    months = months_in(start, end)
    cells, counted = _area_cells(session, programme_id, months)
    areas = _areas(session, programme_id, {key for _m, key in cells})
    units: dict[int, tuple[str, int | None, str]] = dict(areas.items())
    # Figures of an area the query could not name (none today) would still count in the total.
    rows = _build_rows(
        months,
        cells,
        units,
        INDICATORS,
        total_label=ALL_AREAS,
        by_district=False,
        counted=counted,
    )
    if area_ids is not None:
        wanted = set(area_ids)
        rows = [r for r in rows if r.area_id is None or r.area_id in wanted]
    return rows


def district_month_walk_figures(
    *, session: Session, start: date, end: date, district_ids: list[int] | None = None
) -> list[FigureRow]:
    """The night walks' figures (`WALK_INDICATORS`) per district and month, every association
    together, suppressed; a total row per month (district_id None)."""
    months = months_in(start, end)
    cells: Cells = {}
    held = (
        _select(
            month_index(Walk.planned_start, months).label("m"),
            col(Walk.district_id).label("district"),
            Walk.id,
        )
        .where(Walk.state == WalkState.completed.value, in_months(Walk.planned_start, months))
        .subquery()
    )
    signups = (
        _select(WalkSignup.walk_id, func.count().label("walkers"))
        .group_by(col(WalkSignup.walk_id))
        .subquery()
    )
    inner = _select(
        held.c.m, held.c.district, func.coalesce(signups.c.walkers, 0).label("walkers")
    ).outerjoin(signups, signups.c.walk_id == held.c.id)
    _tally(
        session,
        inner,
        "district",
        [
            ("walks_held", lambda c: func.count()),
            ("walker_evenings", lambda c: func.sum(c.walkers)),
        ],
        cells,
    )
    reports = (
        _select(
            month_index(WalkReport.submitted_at, months).label("m"),
            col(Walk.district_id).label("district"),
            WalkReport.atmosphere,
        )
        .join(Walk, col(Walk.id) == WalkReport.walk_id)
        .where(in_months(WalkReport.submitted_at, months))
    )
    columns: list[tuple[str, Any]] = [("walk_reports", lambda c: func.count())]
    for atmosphere in Atmosphere:
        columns.append(
            (
                f"walk_reports_atmosphere_{atmosphere.value}",
                lambda c, v=atmosphere.value: _one(c.atmosphere == v),
            )
        )
    _tally(session, reports, "district", columns, cells)
    seen = {key for _m, key in cells}
    districts: dict[int, tuple[str, int | None, str]] = {
        d.id: (d.name, d.id, d.name)
        for d in session.exec(select(District).where(col(District.id).in_(list(seen) or [-1])))
        if d.id is not None
    }
    rows = _build_rows(
        months, cells, dict(districts), WALK_INDICATORS, total_label=ALL_AREAS, by_district=True
    )
    if district_ids is not None:
        wanted = set(district_ids)
        rows = [r for r in rows if r.district_id is None or r.district_id in wanted]
    return rows


def programme_areas(*, session: Session, programme_id: int | None) -> list[tuple[int, str]]:
    """The areas a programme's figures have rows for (the picker's choices), by district."""
    areas = _areas(session, programme_id, [])
    return [
        (a, f"{name} ({district})")
        for a, (name, _d, district) in sorted(areas.items(), key=lambda x: (x[1][2], x[1][0]))
    ]


def programme_district_ids(*, session: Session, programme_id: int) -> list[int]:
    return list(
        session.exec(
            select(OrganisationDistrict.district_id).where(
                OrganisationDistrict.organisation_id == programme_id
            )
        )
    )


@dataclass
class MonthlyReport:
    """The monthly report's figures: the programme's totals for the month and the months
    before it (oldest first), the month's rows per area, and the walks in its districts."""

    programme: Organisation
    month: date
    months: list[date]
    totals: dict[date, FigureRow]
    areas: list[FigureRow]
    walks: list[FigureRow]

    @property
    def current(self) -> FigureRow:
        return self.totals[self.month]

    @property
    def previous(self) -> FigureRow | None:
        return self.totals.get(self.months[-2]) if len(self.months) > 1 else None

    @property
    def counted_at(self) -> datetime | None:
        """When the oldest kept month of the report was counted (None: all counted now)."""
        return min((r.counted_at for r in self.totals.values() if r.counted_at), default=None)


def monthly_report(
    *, session: Session, programme: Organisation, month: date, months: int = 6
) -> MonthlyReport:
    """The figures of one programme's monthly report, suppressed like every figure here."""
    assert programme.id is not None
    first = month
    for _ in range(months - 1):
        first = (
            date(first.year - 1, 12, 1)
            if first.month == 1
            else date(first.year, first.month - 1, 1)
        )
    rows = area_month_figures(session=session, programme_id=programme.id, start=first, end=month)
    districts = programme_district_ids(session=session, programme_id=programme.id)
    walks = [
        r
        for r in district_month_walk_figures(
            session=session, start=first, end=month, district_ids=districts
        )
        if not r.is_total
    ]
    return MonthlyReport(
        programme=programme,
        month=month,
        months=months_in(first, month),
        totals={r.month: r for r in rows if r.is_total},
        areas=[r for r in rows if r.month == month and not r.is_total],
        walks=walks,
    )


# Who reads which programme --------------------------------------------------------------------

FIGURE_ROLES = (Role.supervisor, Role.researcher)


def readable_programmes(*, session: Session, actor: Principal) -> list[Organisation]:
    """The programmes whose figures the actor reads: own programmes as supervisor or researcher
    (DESIGN.md: "own organisation's figures")."""
    ids = actor.organisations(*FIGURE_ROLES)
    if not ids:
        return []
    return list(
        session.exec(
            select(Organisation)
            .where(col(Organisation.id).in_(ids))
            .where(Organisation.type == OrganisationType.cv_programme.value)
            .order_by(col(Organisation.name))
        )
    )


def programme_for(*, session: Session, actor: Principal, programme_id: int | None) -> Organisation:
    """The programme asked for, if the actor reads it; the first readable one by default."""
    programmes = readable_programmes(session=session, actor=actor)
    if not programmes:
        raise NotAllowed()
    if programme_id is None:
        return programmes[0]
    for programme in programmes:
        if programme.id == programme_id:
            return programme
    raise NotAllowed()


# The supervisor's own mediation outcomes (inside the organisation: not suppressed) ------------


@dataclass
class OutcomeShares:
    """How mediations ended, for the programme's follow-up (Baltimore: 65% at once, 23% for now)."""

    total: int
    counts: dict[str, int]

    def share(self, outcome: str) -> float:
        return self.counts.get(outcome, 0) / self.total if self.total else 0.0


def outcome_shares(
    *, session: Session, actor: Principal, since: datetime | None = None
) -> OutcomeShares:
    """How the supervisor's organisation's mediations ended, as counts per outcome."""
    query = (
        select(Mediation.outcome, func.count())
        .join(Conflict, col(Conflict.id) == Mediation.conflict_id)
        .where(col(Conflict.organisation_id).in_(actor.organisations(Role.supervisor)))
        .group_by(col(Mediation.outcome))
    )
    if since is not None:
        query = query.where(Mediation.occurred_at >= since)
    counts = {outcome: count for outcome, count in session.exec(query)}
    return OutcomeShares(total=sum(counts.values()), counts=counts)


__all__ = [
    "ALL_AREAS",
    "FigureRow",
    "OutcomeShares",
    "area_month_figures",
    "district_month_walk_figures",
    "keep_figures",
    "months_in",
    "outcome_shares",
]
