"""The team's participants a page at a time (keyset by code) and filtered by worker."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from interrupters.participants import services
from interrupters.participants.services import TEAM_PAGE

from . import factories

CODE = re.compile(r'<span class="code">(P-[0-9A-Z]+)</span>')
MORE = re.compile(r'<a href="([^"]*before=[^"]*)" hx-get=')


def test_the_team_pages_cover_every_participant_once(client, session, world, login_as):
    supervisor = login_as("supervisor")
    workers = [factories.create_user(session, world, "interrupter") for _ in range(2)]
    made = [
        factories.create_participant_for(session, world, workers[index % 2])
        for index in range(TEAM_PAGE + 7)
    ]
    session.commit()
    assert supervisor

    first = client.get("/participants/team").get_data(as_text=True)
    codes = CODE.findall(first)
    assert len(codes) == TEAM_PAGE and codes == sorted(codes)
    link = MORE.search(first)
    assert link is not None and "before=" in link.group(1)
    second = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    rest = CODE.findall(second)
    assert MORE.search(second) is None
    assert sorted(codes + rest) == sorted(p.code for p in made)
    assert not set(codes) & set(rest)

    # One worker's caseload, and a garbled cursor is the first page.
    own = client.get(f"/participants/team?worker={workers[0].id}").get_data(as_text=True)
    assert set(CODE.findall(own)) == {p.code for p in made if p.worker_id == workers[0].id}
    garbled = client.get("/participants/team?before=%21%21&worker=x").get_data(as_text=True)
    assert CODE.findall(garbled) == codes


def test_the_team_row_and_the_overdue_follow_ups_show_the_latest_contact(session, world, actor_for):
    worker = factories.create_user(session, world, "interrupter")
    supervisor = factories.create_user(session, world, "supervisor")
    late, fine = (factories.create_participant_for(session, world, worker) for _ in range(2))
    today = date.today()
    for participant, days_ago, follow in (
        (late, 3, today + timedelta(days=5)),
        (late, 1, today - timedelta(days=2)),  # the latest: overdue
        (fine, 2, today - timedelta(days=9)),
        (fine, 1, None),  # the latest sets no follow-up
    ):
        factories.create_participant_contact(
            session,
            world,
            worker,
            participant,
            follow_up_on=follow,
            occurred_at=datetime.now(UTC) - timedelta(days=days_ago),
        )
    session.commit()
    boss = actor_for(supervisor)
    page = services.team_participants(session=session, actor=boss)
    rows = {row.participant.id: row for row, _name in page.items}
    assert rows[late.id].next_follow_up == today - timedelta(days=2)
    assert rows[fine.id].next_follow_up is None
    overdue = services.team_overdue(session=session, actor=boss, today=today)
    assert overdue.count == 1
    assert [(row.participant.id, name) for row, name in overdue.oldest] == [
        (late.id, worker.display_name)
    ]


def test_the_dashboard_reads_the_oldest_overdue_follow_ups_and_counts_the_rest(
    session, world, actor_for
):
    worker = factories.create_user(session, world, "interrupter")
    supervisor = factories.create_user(session, world, "supervisor")
    today = date.today()
    made = []
    for days_late in range(1, 14):  # thirteen overdue: 13, 12, ... 1 days late
        participant = factories.create_participant_for(session, world, worker)
        factories.create_participant_contact(
            session,
            world,
            worker,
            participant,
            follow_up_on=today - timedelta(days=days_late),
            occurred_at=datetime.now(UTC) - timedelta(days=20),
        )
        made.append(participant)
    session.commit()
    overdue = services.team_overdue(session=session, actor=actor_for(supervisor), today=today)
    assert overdue.count == 13
    # The ten shown are the longest overdue, the oldest first.
    assert [row.participant.id for row, _name in overdue.oldest] == [p.id for p in made[::-1][:10]]
