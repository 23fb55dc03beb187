"""The supervisor's dashboard (issue 10, item 2): its numbers against counts made here."""

from __future__ import annotations

import gzip
import re
import uuid
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from interrupters.conflicts import services as conflicts
from interrupters.contacts import services as contacts

from . import factories

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def _monday(moment: datetime) -> date:
    day = moment.astimezone(STOCKHOLM).date()
    return day - timedelta(days=day.weekday())


def _flag(session, world, actor, *, area, level, at):
    conflict, _ = conflicts.flag_conflict(
        session=session,
        actor=actor,
        data=conflicts.ConflictInput.model_validate(
            {
                "area_id": world.areas[area].id,
                "detected_via": "social_media",
                "catalyst": "online_provocation",
                "type": "group_vs_group",
                "parties_count": 2,
                "risk_level": level,
                "occurred_at": at,
            }
        ),
        client_uuid=str(uuid.uuid4()),
    )
    return conflict


def _cells(page: str, table: str) -> dict[str, str]:
    body = page.split(f'data-table="{table}"', 1)[1].split("</table>", 1)[0]
    return dict(re.findall(r'data-cell="([^"]+)"[^>]*>(\d+)<', body))


def test_the_dashboard_counts_what_the_records_hold(client, session, world, login_as, actor_for):
    login_as("supervisor")
    now = datetime.now(UTC)
    today = now.astimezone(STOCKHOLM).date()
    first, second = (factories.create_user(session, world, "interrupter") for _ in range(2))
    # Contacts across the twelve weeks, and one before them.
    when = [
        (first, [now - timedelta(hours=1), now - timedelta(days=8), now - timedelta(days=30)]),
        (second, [now - timedelta(hours=2), now - timedelta(days=8), now - timedelta(days=100)]),
    ]
    for worker, moments in when:
        for moment in moments:
            factories.create_contact(session, world, worker, occurred_at=moment)
    # Follow-ups: one overdue, one due today (not overdue).
    late = factories.create_participant_for(session, world, first)
    on_time = factories.create_participant_for(session, world, second)
    for participant, worker, day in (
        (late, first, today - timedelta(days=3)),
        (on_time, second, today),
    ):
        factories.create_participant_contact(
            session,
            world,
            worker,
            participant,
            follow_up_on=day,
            occurred_at=now - timedelta(minutes=30),
        )
    # Conflicts: two at level 4 and one at 2 in Rinkeby (one of them since three weeks), one
    # in Tensta flagged three weeks ago and resolved ten days ago.
    actor = actor_for(first)
    old = now - timedelta(days=20)
    _flag(session, world, actor, area="Rinkeby", level=2, at=old)
    hot = _flag(session, world, actor, area="Rinkeby", level=4, at=now - timedelta(hours=1))
    _flag(session, world, actor, area="Rinkeby", level=4, at=now - timedelta(hours=1))
    closed = _flag(session, world, actor, area="Tensta", level=1, at=old)
    conflicts.update_conflict(
        session=session,
        actor=actor,
        conflict_id=closed.id,
        data=conflicts.ConflictUpdateInput.model_validate(
            {"status": "resolved", "text": "Settled", "occurred_at": now - timedelta(days=10)}
        ),
        client_uuid=str(uuid.uuid4()),
    )
    starts = {hot.id: now - timedelta(hours=1), closed.id: old}
    # Mediations: two this month, one before it.
    month_start = datetime.combine(today.replace(day=1), time(), STOCKHOLM)
    for outcome, at in (
        ("resolved_immediately", now - timedelta(minutes=1)),
        ("unresolved", now - timedelta(minutes=2)),
        ("unresolved", month_start - timedelta(days=3)),
    ):
        conflicts.record_mediation(
            session=session,
            actor=actor,
            conflict_id=hot.id,
            data=conflicts.MediationInput.model_validate({"occurred_at": at, "outcome": outcome}),
            client_uuid=str(uuid.uuid4()),
        )
    # An urgent walk report from last night.
    lead = factories.create_user(session, world, "association_lead")
    walker = factories.create_user(session, world, "night_walker")
    walk = factories.create_walk(session, world, lead, planned_start=now - timedelta(hours=8))
    report = factories.create_walk_report(session, world, walker, walk, urgent=True)
    session.commit()

    page = client.get("/").get_data(as_text=True)

    # Two level-4 alerts and the urgent report wait for the supervisor: first on the page.
    assert 'id="alerts-heading">3 ' in page
    assert page.index('id="alerts-heading"') < page.index('id="review-heading"')

    # Contacts per worker and week, counted here.
    mondays = [_monday(now) - timedelta(weeks=back) for back in range(11, -1, -1)]
    expected = Counter()
    for worker, moments in when:
        for moment in moments:
            if _monday(moment) in mondays:
                expected[f"{worker.id}-{_monday(moment).isoformat()}"] += 1
    expected[f"{first.id}-{mondays[-1].isoformat()}"] += 1  # the follow-up contacts
    expected[f"{second.id}-{mondays[-1].isoformat()}"] += 1
    shown = {key: int(value) for key, value in _cells(page, "contacts").items() if value != "0"}
    assert {
        k: v for k, v in shown.items() if k.split("-")[0] in (str(first.id), str(second.id))
    } == dict(expected)

    # Each number links to the list behind it: that worker's contacts of that week.
    for key, count in expected.items():
        link = re.search(rf'<a href="([^"]+)" data-cell="{key}">', page)
        assert link is not None, key
        listed = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
        assert listed.count('<li><a class="card" href="/contacts/') == count, key

    # Active conflicts by area and level.
    rinkeby, tensta = world.areas["Rinkeby"].id, world.areas["Tensta"].id
    by_area = _cells(page, "by-area")
    assert by_area == {f"{rinkeby}-2": "1", f"{rinkeby}-4": "2"}
    assert f"{tensta}-1" not in by_area

    # The trend: active at each week's end (this week: now), counted here.
    trend = page.split('data-table="trend"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<td>(\d+)</td><td>(\d+)</td>", trend)
    assert len(rows) == 12
    for monday, (active, high) in zip(mondays, rows, strict=True):
        end = min(datetime.combine(monday + timedelta(weeks=1), time(), STOCKHOLM), now)
        want_active = sum(
            [
                old <= end,  # Rinkeby at 2
                starts[hot.id] <= end,
                starts[hot.id] <= end,  # the other at 4, flagged at the same time
                old <= end < now - timedelta(days=10),  # Tensta, until it was resolved
            ]
        )
        want_high = 2 * (starts[hot.id] <= end)
        assert (int(active), int(high)) == (want_active, want_high), monday

    # Mediations this month, by outcome.
    mediations = _cells(page, "mediations")
    this_month = 2 if (now - timedelta(minutes=2)) >= month_start else 0
    assert sum(int(v) for v in mediations.values()) == this_month
    assert f'data-figure="mediations">{this_month} ' in page

    # Overdue follow-ups across the team: only the late one.
    assert f"/participants/{late.id}" in page
    assert f"/participants/{on_time.id}" not in page
    assert 'data-figure="overdue">1 ' in page

    # The review backlog: every contact logged here waits.
    assert 'data-figure="backlog">8 ' in page

    # The urgent report, linked.
    assert f"/walks/reports/{report.id}" in page

    # The page budget: the first HTML within 14.6 KB gzipped.
    assert len(gzip.compress(page.encode())) <= 14_600


def test_past_weeks_are_kept_this_week_is_counted_as_you_look(client, session, world, login_as):
    login_as("supervisor")
    now = datetime.now(UTC)
    worker = factories.create_user(session, world, "interrupter")
    monday_noon = datetime.combine(_monday(now), time(12), STOCKHOLM)
    earlier = [monday_noon] if monday_noon.date() < now.astimezone(STOCKHOLM).date() else []
    for moment in (now - timedelta(days=8), now - timedelta(days=8), now - timedelta(days=22)):
        factories.create_contact(session, world, worker, occurred_at=moment)
    for moment in earlier:  # a day of this week before today (from Tuesday on)
        factories.create_contact(session, world, worker, occurred_at=moment)
    session.commit()
    last_week, three_weeks = (f"{worker.id}-{_monday(now - timedelta(days=d))}" for d in (8, 22))

    def shown() -> dict[str, str]:
        page = client.get("/").get_data(as_text=True)
        return {k: v for k, v in _cells(page, "contacts").items() if v != "0"}

    counted_now = shown()
    assert counted_now[last_week] == "2" and counted_now[three_weeks] == "1"
    # The job keeps the eleven weeks before this one and this week's days before today, for
    # every programme of the world.
    days = now.astimezone(STOCKHOLM).weekday()
    assert contacts.keep_worker_counts(session=session, now=now) == (11 + days) * 2
    assert shown() == counted_now
    # A late contact of a kept week waits for the job; one of this week is there at once.
    factories.create_contact(session, world, worker, occurred_at=now - timedelta(days=8))
    factories.create_contact(session, world, worker, occurred_at=now)
    session.commit()
    page = client.get("/").get_data(as_text=True)
    cells = _cells(page, "contacts")
    assert cells[last_week] == "2"
    assert cells[f"{worker.id}-{_monday(now)}"] == str(1 + len(earlier))
    assert "veckorna före den räknades" in page
    # Ten minutes on, the two weeks not yet settled and this week's days are counted again.
    later = now + timedelta(minutes=10)
    assert contacts.keep_worker_counts(session=session, now=later) == (2 + days) * 2
    assert shown()[last_week] == "3"
