"""The figures (issue 11): every indicator against counts this test keeps itself while it makes
the records, over several months and areas; small-count and complementary suppression."""

from __future__ import annotations

import random
import re
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from interrupters.conflicts.models import (
    CommunityResponse,
    Conflict,
    ConflictEvent,
    Incident,
    Mediation,
)
from interrupters.conflicts.values import (
    Catalyst,
    CommunityResponseKind,
    IncidentResponse,
    IncidentType,
    MediationOutcome,
    Strategy,
)
from interrupters.contacts.models import Contact
from interrupters.contacts.services import refresh_latest
from interrupters.contacts.values import ContactKind, ContactPurpose, ContactSubject
from interrupters.errors import InvalidInput
from interrupters.participants.models import Participant
from interrupters.referrals.models import Referral, ReferralUpdate
from interrupters.referrals.values import ReferralStatus, ServiceKind
from interrupters.reports import services, views
from interrupters.reports.indicators import BY_NAME, COUNT, INDICATORS, RATE, WALK_INDICATORS
from interrupters.reports.suppression import Relation, determined_cells, suppress
from interrupters.walks.models import WalkReport, WalkSignup
from interrupters.walks.values import Atmosphere

from . import factories

STOCKHOLM = ZoneInfo("Europe/Stockholm")
MONTHS = [date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)]


def local(day: date, hour: int = 19, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=STOCKHOLM).astimezone(UTC)


def some_day(rng: random.Random, month: date) -> date:
    return month + timedelta(days=rng.randint(0, 27))


class Expected:
    """The counts the records should give: (month, area id) -> indicator -> count."""

    def __init__(self) -> None:
        self.cells: dict[tuple[date, int], Counter[str]] = {}

    def add(self, month: date, area_id: int, *names: str, by: int = 1) -> None:
        cell = self.cells.setdefault((month, area_id), Counter())
        for name in names:
            cell[name] += by


def uid() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def scene(session: Session, world: factories.World) -> dict[str, Any]:
    """Records of every kind over three months in two areas of the programme, with the counts
    they should give; and records of another programme that must count nowhere."""
    rng = random.Random(11)
    expected = Expected()
    programme = world.organisations["programme"].id or 0
    other = world.organisations["other_programme"].id or 0
    worker = factories.create_user(session, world, "interrupter")
    outsider = factories.create_user(session, world, "interrupter", organisation="other_programme")
    areas = [world.areas["Rinkeby"].id or 0, world.areas["Tensta"].id or 0]

    # Participants: registered, some leaving, in either area.
    participants: list[Participant] = []
    for n in range(14):
        area = areas[n % 2]
        month = MONTHS[n % 3]
        exited = MONTHS[2] if n in (3, 8) else None
        participant = Participant(
            code=f"P-T{n:03d}",
            organisation_id=programme,
            worker_id=worker.id or 0,
            area_id=area,
            age_band="18-20",
            risk_tier="high",
            status="exited" if exited else "active",
            created_at=local(some_day(rng, month)),
            exited_at=local(exited + timedelta(days=3)) if exited else None,
        )
        session.add(participant)
        participants.append(participant)
        expected.add(month, area, "participants_new")
        if exited:
            expected.add(exited, area, "participants_exited")
    session.flush()

    # Contacts: participants met in any area (they count in their own area as participants),
    # people and groups; kinds, purposes and minutes at random.
    met: set[tuple[date, int, int]] = set()
    for _ in range(160):
        month = rng.choice(MONTHS)
        area = rng.choice(areas)
        subject = rng.choice(list(ContactSubject))
        kind = rng.choice(list(ContactKind))
        purpose = rng.choice(list(ContactPurpose))
        minutes = rng.choice([None, 5, 15, 30])
        participant = rng.choice(participants) if subject == ContactSubject.participant else None
        session.add(
            Contact(
                client_uuid=uid(),
                payload_hash="t",
                organisation_id=programme,
                worker_id=worker.id or 0,
                subject=subject.value,
                participant_id=participant.id if participant else None,
                age_band="18-20" if subject == ContactSubject.person else None,
                group_size=4 if subject == ContactSubject.group else None,
                occurred_at=local(some_day(rng, month), rng.randint(8, 23)),
                area_id=area,
                kind=kind.value,
                purpose=purpose.value,
                duration_minutes=minutes,
            )
        )
        expected.add(
            month,
            area,
            "contacts",
            f"contacts_subject_{subject.value}",
            f"contacts_kind_{kind.value}",
            f"contacts_purpose_{purpose.value}",
        )
        expected.add(
            month, area, "staff_minutes", f"staff_minutes_kind_{kind.value}", by=minutes or 0
        )
        if participant is not None:
            expected.add(month, participant.area_id, "participant_contacts")
            met.add((month, participant.area_id, participant.id or 0))
    for month, area, _participant in met:
        expected.add(month, area, "participants_active")
    # Month boundaries are Stockholm's: 23:30 on 30 September is September, 00:30 on
    # 1 October is October, though both are 30 September in UTC.
    for moment, month in (
        (local(date(2026, 9, 30), 23, 30), MONTHS[1]),
        (local(date(2026, 10, 1), 0, 30), MONTHS[2]),
    ):
        session.add(
            Contact(
                client_uuid=uid(),
                payload_hash="t",
                organisation_id=programme,
                worker_id=worker.id or 0,
                subject="group",
                group_size=5,
                occurred_at=moment,
                area_id=areas[0],
                kind="street",
                purpose="norm_message",
                duration_minutes=10,
            )
        )
        expected.add(
            month,
            areas[0],
            "contacts",
            "contacts_subject_group",
            "contacts_kind_street",
            "contacts_purpose_norm_message",
        )
        expected.add(month, areas[0], "staff_minutes", "staff_minutes_kind_street", by=10)
    # Another programme's contact, and one outside the months: they count nowhere.
    for org, moment in ((other, local(MONTHS[1])), (programme, local(date(2026, 11, 2)))):
        session.add(
            Contact(
                client_uuid=uid(),
                payload_hash="t",
                organisation_id=org,
                worker_id=(outsider if org == other else worker).id or 0,
                subject="group",
                group_size=3,
                occurred_at=moment,
                area_id=areas[0],
                kind="street",
                purpose="check_in",
            )
        )

    # Conflicts with their timelines, and mediations.
    for n in range(24):
        month = MONTHS[n % 3]
        area = areas[n % 2]
        level = rng.randint(1, 4)
        catalyst = rng.choice(list(Catalyst))
        conflict = Conflict(
            client_uuid=uid(),
            payload_hash="t",
            code=f"C-T{n:03d}",
            organisation_id=programme,
            area_id=area,
            detected_via="street",
            catalyst=catalyst.value,
            type="group_vs_group",
            parties_count=2,
            risk_level=level,
            flagged_by_id=worker.id or 0,
        )
        session.add(conflict)
        session.flush()
        day = some_day(rng, month)
        events = [dict(kind="detected", occurred_at=local(day), to_level=level, to_status="open")]
        expected.add(
            month,
            area,
            "conflicts_new",
            f"conflicts_new_level_{level}",
            f"conflicts_new_catalyst_{catalyst.value}",
        )
        new_level = rng.randint(1, 4)
        if new_level != level:
            change_month = rng.choice(MONTHS)
            events.append(
                dict(
                    kind="level_changed",
                    occurred_at=local(some_day(rng, change_month)),
                    from_level=level,
                    to_level=new_level,
                )
            )
            expected.add(
                change_month,
                area,
                "conflict_escalations" if new_level > level else "conflict_deescalations",
            )
        if n % 4 == 0:
            status = "resolved" if n % 8 == 0 else "turned_violent"
            when = rng.choice(MONTHS)
            events.append(
                dict(
                    kind="closed" if status == "resolved" else "status_changed",
                    occurred_at=local(some_day(rng, when)),
                    from_status="open",
                    to_status=status,
                )
            )
            expected.add(when, area, f"conflicts_{status}")
        for event in events:
            session.add(
                ConflictEvent(conflict_id=conflict.id or 0, author_id=worker.id or 0, **event)
            )
        for _ in range(rng.randint(0, 3)):
            when = rng.choice(MONTHS)
            outcome = rng.choice(list(MediationOutcome))
            strategies = rng.sample([s.value for s in Strategy], rng.randint(0, 3))
            session.add(
                Mediation(
                    client_uuid=uid(),
                    payload_hash="t",
                    conflict_id=conflict.id or 0,
                    author_id=worker.id or 0,
                    occurred_at=local(some_day(rng, when)),
                    strategies=strategies,
                    outcome=outcome.value,
                )
            )
            expected.add(
                when,
                area,
                "mediations",
                f"mediations_outcome_{outcome.value}",
                *(f"mediations_strategy_{s}" for s in strategies),
            )

    # Incidents and community responses.
    for _ in range(30):
        month, area = rng.choice(MONTHS), rng.choice(areas)
        kind, response = rng.choice(list(IncidentType)), rng.choice(list(IncidentResponse))
        injured = rng.randint(0, 2)
        session.add(
            Incident(
                client_uuid=uid(),
                payload_hash="t",
                organisation_id=programme,
                type=kind.value,
                area_id=area,
                occurred_at=local(some_day(rng, month)),
                injured_count=injured,
                response=response.value,
                author_id=worker.id or 0,
            )
        )
        expected.add(
            month,
            area,
            "incidents",
            f"incidents_type_{kind.value}",
            f"incidents_response_{response.value}",
        )
        expected.add(month, area, "incidents_injured", by=injured)
    for n in range(18):
        month, area = rng.choice(MONTHS), rng.choice(areas)
        kind = list(CommunityResponseKind)[n % len(CommunityResponseKind)]
        session.add(
            CommunityResponse(
                client_uuid=uid(),
                payload_hash="t",
                organisation_id=programme,
                kind=kind.value,
                area_id=area,
                occurred_at=local(some_day(rng, month)),
                author_id=worker.id or 0,
            )
        )
        expected.add(month, area, "community_responses", f"community_responses_kind_{kind.value}")

    # Referrals: made in a month, by the participant's area, and the statuses they reached.
    services_by_kind = {
        kind.value: factories.create_service(session, world, kind=kind.value)
        for kind in ServiceKind
    }
    kinds = [kind.value for kind in ServiceKind]
    for n in range(48):
        participant = rng.choice(participants)
        kind = kinds[n % len(kinds)]
        month = rng.choice(MONTHS)
        made = local(some_day(rng, month))
        referral = Referral(
            client_uuid=uid(),
            payload_hash="t",
            organisation_id=programme,
            participant_id=participant.id or 0,
            service_id=services_by_kind[kind].id or 0,
            made_by_id=worker.id or 0,
            made_at=made,
            consent_given=True,
            consent_scope="worker_contacts_service",
            status_changed_at=made,
        )
        session.add(referral)
        session.flush()
        expected.add(month, participant.area_id, "referrals_made", f"referrals_made_kind_{kind}")
        reached: set[tuple[date, str]] = set()
        others = [s.value for s in ReferralStatus if s.value not in ("made", "started")]
        # Every kind of service is started with and completed with at least once.
        statuses = ["started", "completed"] if n < len(kinds) else rng.sample(others, 2)
        for status in statuses:
            when = rng.choice(MONTHS)
            for _twice in range(rng.randint(1, 2)):  # a status sent twice counts once
                session.add(
                    ReferralUpdate(
                        client_uuid=uid(),
                        payload_hash="t",
                        referral_id=referral.id or 0,
                        author_id=worker.id or 0,
                        status=status,
                        occurred_at=local(some_day(rng, when)),
                    )
                )
            if (when, status) not in reached:
                reached.add((when, status))
                expected.add(when, participant.area_id, f"referrals_{status}")
                if status in ("started", "completed"):
                    expected.add(when, participant.area_id, f"referrals_{status}_kind_{kind}")
    # The contacts were added as rows, as the demo adds them: their participants' latest contact.
    refresh_latest(session=session, participant_ids=None)
    session.commit()
    return {"expected": expected, "programme": programme, "areas": areas}


def test_every_indicator_counts_what_the_records_say(session, scene):
    counts = services.area_month_counts(
        session=session, programme_id=scene["programme"], start=MONTHS[0], end=date(2026, 10, 31)
    )
    expected = scene["expected"].cells
    names = [i.name for i in INDICATORS if i.type != RATE]
    checked = Counter()
    for month in MONTHS:
        for area in scene["areas"]:
            got = counts.get((month, area), {})
            want = expected.get((month, area), Counter())
            for name in names:
                assert got.get(name, 0) == want[name], (month, area, name)
                checked[name] += want[name]
    assert set(counts) <= {(m, a) for m in MONTHS for a in scene["areas"]}
    # Two indicators count the same contacts by different areas: their totals agree.
    for month in MONTHS:
        by_place = sum(
            counts.get((month, a), {}).get("contacts_subject_participant", 0)
            for a in scene["areas"]
        )
        by_home = sum(
            counts.get((month, a), {}).get("participant_contacts", 0) for a in scene["areas"]
        )
        assert by_place == by_home
    # Every indicator was exercised by some record (a test of nothing proves nothing).
    assert [n for n in names if not checked[n]] == []
    assert max(checked.values()) > 5


def test_figures_are_the_counts_with_small_ones_hidden(session, scene):
    rows = services.area_month_figures(
        session=session, programme_id=scene["programme"], start=MONTHS[0], end=MONTHS[2]
    )
    expected = scene["expected"].cells
    by_key = {(r.month, r.area_id): r for r in rows}
    assert {r.month for r in rows} == set(MONTHS)
    for month in MONTHS:
        total = by_key[(month, None)]
        assert total.is_total and total.area == services.ALL_AREAS
        for indicator in INDICATORS:
            if indicator.type == RATE:
                continue
            whole = sum(expected.get((month, a), Counter())[indicator.name] for a in scene["areas"])
            for area in scene["areas"]:
                row = by_key[(month, area)]
                count = expected.get((month, area), Counter())[indicator.name]
                if indicator.type == COUNT and 0 < count < 5:
                    assert row.values[indicator.name] is None
                    assert row.shown(indicator.name) == "<5"
                if indicator.name not in row.suppressed:
                    assert row.values[indicator.name] == count
            if indicator.name not in total.suppressed:
                assert total.values[indicator.name] == whole
            elif indicator.type == COUNT:
                assert total.values[indicator.name] is None
    # The rate: contacts with participants per participant met and week, where both are shown.
    for row in rows:
        rate = row.values["contacts_per_participant_week"]
        if "contacts_per_participant_week" in row.suppressed:
            assert rate is None
            assert {"participant_contacts", "participants_active"} & row.suppressed
            continue
        active = row.values["participants_active"]
        assert isinstance(active, int)
        if active:
            weeks = services.days_in(row.month) / 7
            assert rate == round(row.values["participant_contacts"] / active / weeks, 2)
        else:
            assert (
                rate is None
                and row.shown("contacts_per_participant_week") == services.NOT_APPLICABLE
            )


def published_relations(rows: list[services.FigureRow], indicators) -> tuple[dict, list]:
    """The published table of each month as cells and relations, for an outside check."""
    values: dict[Any, int] = {}
    hidden: set[Any] = set()
    relations: list[Relation] = []
    for month in {r.month for r in rows}:
        month_rows = [r for r in rows if r.month == month]
        keys = [r.area_id or r.district_id for r in month_rows if not r.is_total]
        for row in month_rows:
            key = (month, row.area_id or row.district_id or 0)
            for indicator in indicators:
                if indicator.type == RATE:
                    continue
                cell = (key, indicator.name)
                if indicator.name in row.suppressed:
                    hidden.add(cell)
                else:
                    values[cell] = row.values[indicator.name]
                if indicator.total:
                    pass
        for key in [*keys, 0]:
            totals: dict[str, list[str]] = {}
            for indicator in indicators:
                if indicator.total:
                    totals.setdefault(indicator.total, []).append(indicator.name)
            for total, parts in totals.items():
                relations.append(
                    Relation(tuple(((month, key), p) for p in parts), ((month, key), total))
                )
        for indicator in indicators:
            if indicator.type != RATE:
                relations.append(
                    Relation(
                        tuple(((month, k), indicator.name) for k in keys),
                        ((month, 0), indicator.name),
                    )
                )
        # Contacts with participants, by the participant's area and by where they took place:
        # the same programme total (a relation the reader can use, so the check must too).
        if indicators is INDICATORS:
            relations.append(
                Relation(
                    (((month, 0), "participant_contacts"),),
                    ((month, 0), "contacts_subject_participant"),
                )
            )
    return {"values": values, "hidden": hidden}, relations


def test_no_hidden_figure_follows_from_the_published_ones(session, scene):
    rows = services.area_month_figures(
        session=session, programme_id=scene["programme"], start=MONTHS[0], end=MONTHS[2]
    )
    table, relations = published_relations(rows, INDICATORS)
    assert table["hidden"], "the scene must hide something for this test to mean anything"
    assert not fixed_by_null_space(relations, table["hidden"])


def test_asking_for_some_areas_hides_the_same_cells(session, scene):
    """The area picker chooses rows of one suppressed table: a request for one area cannot be
    subtracted from a request for all to reveal a count."""
    whole = services.area_month_figures(
        session=session, programme_id=scene["programme"], start=MONTHS[0], end=MONTHS[2]
    )
    one = services.area_month_figures(
        session=session,
        programme_id=scene["programme"],
        start=MONTHS[0],
        end=MONTHS[2],
        area_ids=[scene["areas"][0]],
    )
    assert {r.area_id for r in one} == {scene["areas"][0], None}
    assert all(r in whole for r in one)


def test_another_programme_sees_none_of_it(session, scene, world):
    rows = services.area_month_figures(
        session=session,
        programme_id=world.organisations["other_programme"].id,
        start=MONTHS[0],
        end=MONTHS[2],
    )
    total = next(r for r in rows if r.is_total and r.month == MONTHS[1])
    # The other programme logged one contact in September: under 5, hidden; nothing else.
    assert total.values["contacts"] is None and total.values["mediations"] == 0


def test_the_period_is_bounded(session, world):
    with pytest.raises(InvalidInput) as refused:
        services.area_month_figures(
            session=session, programme_id=None, start=date(2000, 1, 1), end=date(2026, 1, 1)
        )
    assert "end" in refused.value.errors
    with pytest.raises(InvalidInput):
        services.months_in(date(2026, 2, 1), date(2026, 1, 1))
    assert len(services.months_in(date(2022, 1, 15), date(2026, 12, 3))) == services.MAX_MONTHS


def test_walk_figures_per_district_and_month(session, world):
    lead = factories.create_user(session, world, "association_lead")
    walkers = [factories.create_user(session, world, "night_walker") for _ in range(6)]
    jarva = world.districts["Järva"].id
    skarholmen = world.districts["Skärholmen"].id
    expected: Counter[tuple[date, int | None, str]] = Counter()
    rng = random.Random(5)
    for n in range(16):
        district = jarva if n % 3 else skarholmen
        month = MONTHS[n % 3]
        state = "completed" if n % 5 else "cancelled"
        walk = factories.create_walk(
            session,
            world,
            lead,
            district_id=district,
            planned_start=local(some_day(rng, month), 20, 30),
            state=state,
        )
        signed = rng.sample(walkers, rng.randint(2, 6))
        for walker in signed:
            session.add(WalkSignup(walk_id=walk.id or 0, user_id=walker.id or 0))
        if state == "completed":
            expected[(month, district, "walks_held")] += 1
            expected[(month, district, "walker_evenings")] += len(signed)
            atmosphere = rng.choice(list(Atmosphere)).value
            session.add(
                WalkReport(
                    client_uuid=uid(),
                    payload_hash="t",
                    walk_id=walk.id or 0,
                    submitted_by_id=signed[0].id or 0,
                    youths_met="1-10",
                    atmosphere=atmosphere,
                    submitted_at=walk.planned_start + timedelta(hours=5),
                )
            )
            report_month = (walk.planned_start + timedelta(hours=5)).astimezone(STOCKHOLM).date()
            report_month = report_month.replace(day=1)
            expected[(report_month, district, "walk_reports")] += 1
            expected[(report_month, district, f"walk_reports_atmosphere_{atmosphere}")] += 1
    session.commit()
    rows = services.district_month_walk_figures(session=session, start=MONTHS[0], end=MONTHS[2])
    checked = 0
    for row in rows:
        for indicator in WALK_INDICATORS:
            if row.is_total:
                want = sum(expected[(row.month, d, indicator.name)] for d in (jarva, skarholmen))
            else:
                want = expected[(row.month, row.district_id, indicator.name)]
            if 0 < want < 5:
                assert row.values[indicator.name] is None
            if indicator.name not in row.suppressed:
                assert row.values[indicator.name] == want
                checked += want
    assert checked
    table, relations = published_relations(rows, WALK_INDICATORS)
    assert not fixed_by_null_space(relations, table["hidden"])


# Suppression on its own -------------------------------------------------------------------------


def fixed_by_null_space(relations: list[Relation], hidden: set[Any]) -> set[Any]:
    """Hidden cells the published figures fix, found another way than the package does: a
    cell is free exactly when some solution of the homogeneous system moves it (a null-space
    vector with a non-zero entry there). Rational arithmetic, textbook Gauss-Jordan."""
    order = sorted(hidden, key=str)
    column = {cell: i for i, cell in enumerate(order)}
    matrix: list[list[Fraction]] = []
    for relation in relations:
        row = [Fraction(0)] * len(order)
        for part in relation.parts:
            if part in column:
                row[column[part]] += 1
        if relation.total in column:
            row[column[relation.total]] -= 1
        if any(row):
            matrix.append(row)
    pivots: list[int] = []
    r = 0
    for c in range(len(order)):
        pivot = next((i for i in range(r, len(matrix)) if matrix[i][c] != 0), None)
        if pivot is None:
            continue
        matrix[r], matrix[pivot] = matrix[pivot], matrix[r]
        lead = matrix[r][c]
        matrix[r] = [v / lead for v in matrix[r]]
        for i in range(len(matrix)):
            if i != r and matrix[i][c] != 0:
                factor = matrix[i][c]
                matrix[i] = [a - factor * b for a, b in zip(matrix[i], matrix[r], strict=True)]
        pivots.append(c)
        r += 1
    free = [c for c in range(len(order)) if c not in pivots]
    movable = set(free)
    for row_index, c in enumerate(pivots):
        if any(matrix[row_index][f] != 0 for f in free):
            movable.add(c)
    return {cell for cell, i in column.items() if i not in movable}


def grid_relations(n_rows: int, n_cols: int) -> list[Relation]:
    """A table with row totals ("r", i), column totals ("c", j) and a grand total "g"."""
    relations = [Relation(tuple((i, j) for j in range(n_cols)), ("r", i)) for i in range(n_rows)]
    relations += [Relation(tuple((i, j) for i in range(n_rows)), ("c", j)) for j in range(n_cols)]
    relations.append(Relation(tuple(("r", i) for i in range(n_rows)), "g"))
    relations.append(Relation(tuple(("c", j) for j in range(n_cols)), "g"))
    return relations


def grid_values(cells: list[list[int]]) -> dict[Any, int]:
    values: dict[Any, int] = {}
    for i, row in enumerate(cells):
        for j, value in enumerate(row):
            values[(i, j)] = value
        values[("r", i)] = sum(row)
    for j in range(len(cells[0])):
        values[("c", j)] = sum(row[j] for row in cells)
    values["g"] = sum(map(sum, cells))
    return values


def test_a_single_small_cell_takes_a_second_one_with_it():
    values = grid_values([[3, 10, 12]])
    hidden = suppress(values, grid_relations(1, 3))
    # 3 is small; the row total (25) is shown, so another cell of the row must go too: the
    # next smallest (10). Column totals equal the cells here (one row), so they go as well.
    assert (0, 0) in hidden and (0, 1) in hidden and (0, 2) not in hidden
    assert ("c", 0) in hidden and ("c", 1) in hidden
    assert not fixed_by_null_space(grid_relations(1, 3), hidden)


def test_a_small_total_is_hidden_and_a_zero_is_shown():
    values = grid_values([[0, 2], [0, 9]])
    hidden = suppress(values, grid_relations(2, 2))
    assert (0, 0) not in hidden and (1, 0) not in hidden  # true zeros reveal no one
    assert (0, 1) in hidden and ("r", 0) in hidden
    assert not fixed_by_null_space(grid_relations(2, 2), hidden)


def test_a_chain_of_relations_that_each_hide_two_is_still_caught():
    """Two 2x2 blocks of small cells joined through one cell: every row and column hides two,
    yet a naive rule would leave the joining cell fixed by the totals."""
    cells = [
        [2, 3, 9, 9],
        [3, 2, 9, 9],
        [9, 9, 2, 3],
        [9, 9, 3, 2],
    ]
    relations = grid_relations(4, 4)
    hidden = suppress(grid_values(cells), relations)
    assert not fixed_by_null_space(relations, hidden)
    assert not determined_cells(relations, hidden)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(min_value=1, max_value=4).flatmap(
        lambda n_rows: st.integers(min_value=1, max_value=5).flatmap(
            lambda n_cols: st.lists(
                st.lists(
                    st.sampled_from([0, 0, 1, 2, 3, 4, 5, 6, 8, 13, 40]),
                    min_size=n_cols,
                    max_size=n_cols,
                ),
                min_size=n_rows,
                max_size=n_rows,
            )
        )
    )
)
def test_no_hidden_cell_can_be_derived_from_the_totals(cells):
    values = grid_values(cells)
    relations = grid_relations(len(cells), len(cells[0]))
    hidden = suppress(values, relations)
    # Every small count is hidden, and no hidden cell is a zero (so the true table is inside
    # the set of tables that fit the published ones, and a free cell really can move).
    assert {k for k, v in values.items() if 0 < v < 5} <= hidden
    assert all(values[k] > 0 for k in hidden)
    # A relation never hides exactly one of its cells...
    for relation in relations:
        members = (*relation.parts, relation.total)
        assert sum(1 for m in members if m in hidden) != 1
    # ...and the published table fixes none of the hidden ones, whatever chain one follows.
    assert not fixed_by_null_space(relations, hidden)


def test_minutes_follow_their_counts():
    """Minutes are hidden where the count they belong to is, and complemented like counts."""
    table = {
        1: {name: 0 for name in BY_NAME},
        2: {name: 0 for name in BY_NAME},
    }
    table[1] |= {
        "contacts": 12,
        "contacts_kind_street": 2,
        "contacts_kind_phone": 10,
        "staff_minutes": 200,
        "staff_minutes_kind_street": 20,
        "staff_minutes_kind_phone": 180,
    }
    table[2] |= {
        "contacts": 9,
        "contacts_kind_street": 9,
        "staff_minutes": 90,
        "staff_minutes_kind_street": 90,
    }
    whole = {name: table[1][name] + table[2][name] for name in BY_NAME}
    table[services.ALL] = whole
    hidden = services.suppress_month(table, INDICATORS)
    assert "staff_minutes_kind_street" in hidden[1]
    # Row 1's street minutes hidden: its phone minutes (or the total) must go too.
    assert {"staff_minutes_kind_phone", "staff_minutes"} & hidden[1]


# The pages ------------------------------------------------------------------------------------


def row_cells(page: str, name: str) -> list[str]:
    """The cells of the first table row of one indicator (the programme's totals)."""
    found = re.search(rf'<tr data-figure="{name}">(.*?)</tr>', page, re.S)
    assert found, name
    return re.findall(r"<td>([^<]*)</td>", found.group(1))


def test_the_researcher_reads_the_figures_with_charts_and_tables(client, session, scene, login_as):
    researcher = login_as("researcher")
    response = client.get("/figures/", query_string={"start": "2026-08", "end": "2026-10"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count('<svg class="chart"') == 7  # one chart a section
    assert "&lt;5" in page  # something is hidden
    for code in ("P-T000", "C-T000"):  # no person-level code reaches the page
        assert code not in page
    rows = services.area_month_figures(
        session=session, programme_id=scene["programme"], start=MONTHS[0], end=MONTHS[2]
    )
    october = next(r for r in rows if r.is_total and r.month == MONTHS[2])
    assert row_cells(page, "contacts")[2] == str(october.values["contacts"])
    assert researcher.display_name not in page
    # Areas are picked on a section's page of areas; picked there, they stay in the links.
    one = client.get(
        "/figures/",
        query_string={"start": "2026-10", "end": "2026-10", "areas": scene["areas"][0]},
    ).get_data(as_text=True)
    assert f"areas={scene['areas'][0]}" in one
    assert row_cells(one, "contacts") == [str(october.values["contacts"])]
    # The tables per area are a page a section, linked from the section.
    assert "/figures/areas?" in page and "section=referrals" in page
    assert "<caption>Kontakter i Rinkeby</caption>" not in page


def test_a_section_per_area_is_a_page_of_its_own(client, session, scene, login_as):
    login_as("researcher")
    query = {"start": "2026-08", "end": "2026-10", "section": "contacts"}
    page = client.get("/figures/areas", query_string=query).get_data(as_text=True)
    assert "<caption>Kontakter i Rinkeby</caption>" in page
    assert "<caption>Kontakter i Tensta</caption>" in page
    assert "Medlingar i" not in page  # one section only
    rows = services.area_month_figures(
        session=session, programme_id=scene["programme"], start=MONTHS[0], end=MONTHS[2]
    )
    rinkeby = next(r for r in rows if r.area == "Rinkeby" and r.month == MONTHS[2])
    table = page[page.index("Kontakter i Rinkeby") : page.index("Kontakter i Tensta")]
    assert f"<td>{services.FigureRow.shown(rinkeby, 'contacts')}</td>" in table
    # One area picked: the other's table is not there; no section named: the first one.
    one = client.get("/figures/areas", query_string={**query, "areas": scene["areas"][0]}).get_data(
        as_text=True
    )
    assert "Kontakter i Rinkeby" in one and "Kontakter i Tensta" not in one
    first = client.get("/figures/areas", query_string={"start": "2026-10", "end": "2026-10"})
    assert first.status_code == 200 and "Kontakter i Rinkeby" in first.get_data(as_text=True)
    hostile_values = (
        {"section": "<script>"},
        {"section": "x" * 5000},
        {"areas": "99999"},
        {"from_area": "x"},
        {"from_area": "-1"},
        {"from_area": "9" * 40},
    )
    for hostile in hostile_values:
        response = client.get("/figures/areas", query_string=hostile)
        assert response.status_code == 400
        assert "<script>" not in response.get_data(as_text=True)


def test_a_section_for_many_areas_is_paged(client, scene, login_as, monkeypatch):
    """A city's programme has dozens of areas: a page shows AREAS_PAGE of them."""
    monkeypatch.setattr(views, "AREAS_PAGE", 1)
    login_as("researcher")
    query = {"start": "2026-08", "end": "2026-10", "section": "contacts"}
    first = client.get("/figures/areas", query_string=query).get_data(as_text=True)
    assert "Kontakter i Rinkeby" in first and "Kontakter i Tensta" not in first
    assert "Områdena 1 till 1 av 2." in first and 'rel="prev"' not in first
    later = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert later is not None and "from_area=1" in later.group(1)
    second = client.get(later.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "Kontakter i Tensta" in second and "Kontakter i Rinkeby" not in second
    assert 'rel="next"' not in second and 'rel="prev"' in second
    # Past the end (areas picked away since): the last page.
    beyond = client.get("/figures/areas", query_string={**query, "from_area": "7"})
    assert "Kontakter i Tensta" in beyond.get_data(as_text=True)


def _seen(rows: list[services.FigureRow]) -> list[tuple[Any, ...]]:
    return [(r.month, r.area_id, r.values, r.suppressed) for r in rows]


def test_kept_counts_give_the_same_figures_and_say_when(session, scene):
    def figures() -> list[services.FigureRow]:
        return services.area_month_figures(
            session=session, programme_id=scene["programme"], start=MONTHS[0], end=MONTHS[2]
        )

    counted_now = figures()
    assert {r.counted_at for r in counted_now} == {None}
    now = local(date(2026, 11, 20), 3)
    made = services.keep_figures(session=session, now=now)
    # Sixty months for each programme of the world, the months nothing happened in included.
    assert made == services.MAX_MONTHS * 2
    kept = figures()
    assert _seen(kept) == _seen(counted_now)
    assert {r.counted_at for r in kept} == {now}
    # Outside the kept months (more than sixty back) the counts are made on the spot.
    old = services.area_month_figures(
        session=session, programme_id=scene["programme"], start=date(2021, 9, 1), end=MONTHS[0]
    )
    assert {r.counted_at for r in old if r.month < date(2021, 12, 1)} == {None}
    assert {r.counted_at for r in old if r.month >= date(2021, 12, 1)} == {now}


def test_the_job_counts_again_only_the_months_that_may_still_change(
    client, session, scene, world, login_as
):
    programme = scene["programme"]
    first = local(date(2026, 11, 20), 3)
    services.keep_figures(session=session, now=first)

    def contacts(month: date) -> int | float | None:
        rows = services.area_month_figures(
            session=session, programme_id=programme, start=month, end=month
        )
        return next(r for r in rows if r.is_total).values["contacts"]

    before = {month: contacts(month) for month in MONTHS}
    worker = factories.create_user(session, world, "interrupter")
    for month in MONTHS:  # ten late contacts in each month
        for _ in range(10):
            session.add(
                Contact(
                    client_uuid=uid(),
                    payload_hash="t",
                    organisation_id=programme,
                    worker_id=worker.id or 0,
                    subject="group",
                    group_size=5,
                    occurred_at=local(month + timedelta(days=14)),
                    area_id=scene["areas"][0],
                    kind="street",
                    purpose="norm_message",
                )
            )
    session.commit()
    # The page reads what was kept, and says when it was counted.
    login_as("supervisor")
    page = client.get("/figures/", query_string={"start": "2026-10", "end": "2026-10"})
    body = page.get_data(as_text=True)
    assert f'<time datetime="{first.isoformat()}">' in body
    assert row_cells(body, "contacts") == [str(before[MONTHS[2]])]
    # Ten minutes on: October ended less than a month ago and is counted again; August and
    # September ended more than a month before they were counted, and are final.
    later = first + timedelta(minutes=10)
    assert services.keep_figures(session=session, now=later) == 2 * 2  # Oct and Nov, twice
    assert contacts(MONTHS[2]) == (before[MONTHS[2]] or 0) + 10
    assert contacts(MONTHS[0]) == before[MONTHS[0]]
    assert contacts(MONTHS[1]) == before[MONTHS[1]]
    # Nothing changes a settled month's counts, the records' thinning by retention included.
    assert services.keep_figures(session=session, now=later) == 2 * 2


@pytest.mark.parametrize(
    "query",
    [
        {"start": "2026-13"},
        {"start": "1999-12"},
        {"end": "2101-01"},
        {"start": "2026-10", "end": "2026-01"},
        {"start": "2000-01", "end": "2026-01"},
        {"areas": "99999"},
        {"areas": "x"},
        {"programme": "99999"},
        {"start": "<script>"},
        {"start": "a\x00b"},
        {"until": "2026-00"},
        {"until": "99999-01"},
        {"until": "\x00"},
    ],
)
def test_hostile_pickers_are_refused_with_a_4xx(client, world, login_as, query):
    login_as("researcher")
    response = client.get("/figures/", query_string=query)
    assert 400 <= response.status_code < 500
    assert "<script>" not in response.get_data(as_text=True)


def test_a_long_period_is_shown_a_page_of_months_at_a_time(client, world, login_as):
    """Five years are shown 24 months at a time, the latest first; the pages join up."""
    login_as("researcher")
    period = {"start": "2022-01", "end": "2026-12"}

    def months_of(page: str) -> list[str]:
        table = page.split('class="figures-table"', 1)[1].split("</thead>", 1)[0]
        return re.findall(r'<th scope="col">([^<]+)</th>', table)[1:]

    def link(page: str, rel: str) -> str | None:
        found = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
        return found.group(1).replace("&amp;", "&") if found else None

    seen: list[list[str]] = []
    page = client.get("/figures/", query_string=period).get_data(as_text=True)
    while True:
        seen.append(months_of(page))
        earlier = link(page, "prev")
        if earlier is None:
            break
        assert "until=" in earlier and "start=2022-01" in earlier
        page = client.get(earlier).get_data(as_text=True)
    assert [len(months) for months in seen] == [24, 24, 12]
    assert seen[0][-1] == "dec. 26" and seen[2][0] == "jan. 22"
    # The period's first page links forward to the page it came from; its areas keep it too.
    later = link(page, "next")
    assert later is not None
    assert months_of(client.get(later).get_data(as_text=True)) == seen[1]
    assert "until=2022-12" in page
    # A short period is one page without links; `until` outside the period is clamped.
    short = client.get("/figures/", query_string={"start": "2026-01", "end": "2026-12"})
    body = short.get_data(as_text=True)
    assert len(months_of(body)) == 12 and link(body, "prev") is None
    odd = client.get("/figures/", query_string={**period, "until": "2030-01"})
    assert months_of(odd.get_data(as_text=True)) == seen[0]


def test_another_programme_is_forbidden(client, world, login_as):
    login_as("researcher")
    other = world.organisations["other_programme"].id
    assert client.get("/figures/", query_string={"programme": other}).status_code in (400, 403)
    areas = client.get("/figures/areas", query_string={"programme": other, "section": "contacts"})
    assert areas.status_code in (400, 403)
    assert client.get("/figures/monthly", query_string={"programme": other}).status_code in (
        400,
        403,
    )


def test_the_monthly_report_is_printable_plain_and_audited(client, session, scene, login_as):
    from sqlmodel import select

    from interrupters.audit.models import AuditEvent

    user = login_as("supervisor")
    response = client.get("/figures/monthly", query_string={"month": "2026-10"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Månadsrapport, oktober 2026" in page
    assert "css/report.css" in page and "data-print" in page
    rows = services.area_month_figures(
        session=session, programme_id=scene["programme"], start=MONTHS[1], end=MONTHS[2]
    )
    now, before = (next(r for r in rows if r.is_total and r.month == m) for m in MONTHS[:0:-1])
    contacts, previous = now.values["contacts"], before.values["contacts"]
    if contacts > previous:
        sentence = f"Kontakter: {contacts}, {contacts - previous} fler än i september."
    elif contacts < previous:
        sentence = f"Kontakter: {contacts}, {previous - contacts} färre än i september."
    else:
        sentence = f"Kontakter: {contacts}, lika många som i september."
    assert sentence in page
    # The month against the five before it: May to October.
    assert len(row_cells(page, "contacts")) == 6
    event = session.exec(
        select(AuditEvent).where(AuditEvent.object_type == "monthly_report")
    ).first()
    assert event is not None and event.actor_id == user.id and event.event == "export"
    english = client.get(
        "/figures/monthly", query_string={"month": "2026-10"}, headers={"Accept-Language": "en"}
    )
    assert english.status_code == 200


def test_the_walk_figures_page_uses_the_reports_package(client, session, world, login_as):
    lead = factories.create_user(session, world, "association_lead")
    walk = factories.create_walk(
        session,
        world,
        lead,
        planned_start=datetime.now(UTC) - timedelta(days=1),
        state="completed",
    )
    session.add(WalkSignup(walk_id=walk.id or 0, user_id=lead.id or 0))
    session.commit()
    login_as("briefing_author")
    page = client.get("/walks/figures").get_data(as_text=True)
    assert 'data-cell="walks_held">&lt;5<' in page
    assert client.get("/walks/figures", query_string={"since": "1900-01-01"}).status_code == 400
