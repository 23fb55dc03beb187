"""Every role's home (issue 10, item 1): what each role needs first, from its own records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from interrupters.briefings.models import Acknowledgement
from interrupters.push import services as push_services
from interrupters.walks.models import WalkSignup

from . import factories


def _page(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_night_walker_sees_tonight(client, session, world, login_as):
    factories.serve(session, world, "association")
    author = factories.create_user(session, world, "briefing_author")
    factories.serve(session, world, "municipal")
    factories.create_briefing(session, world, author, publish=True, summary="Lugn vecka i Järva.")
    lead = factories.create_user(session, world, "association_lead")
    walker = login_as("night_walker")
    coming = factories.create_walk(session, world, lead)
    started = factories.create_walk(
        session,
        world,
        lead,
        planned_start=datetime.now(UTC) + timedelta(minutes=20),
        state="in_progress",
    )
    session.add(WalkSignup(walk_id=started.id or 0, user_id=walker.id or 0))
    session.commit()
    page = _page(client)
    assert "Lugn vecka i Järva." in page
    assert "Rinkeby torg" in page  # a place status
    assert f"/walks/{coming.id}/signup" in page
    assert f"/walks/{started.id}/withdraw" not in page  # it is in progress: no sign-up form
    assert "/walks/reports/new" in page  # started early by its lead: the report can be filed


def test_night_walker_without_a_started_walk_is_not_offered_a_report(
    client, session, world, login_as
):
    lead = factories.create_user(session, world, "association_lead")
    login_as("night_walker")
    factories.create_walk(session, world, lead)
    session.commit()
    page = _page(client)
    assert "/walks/reports/new" not in page.split('<main id="main"', 1)[1].split("</main>")[0]


def test_lead_sees_walks_reports_and_who_acknowledged(client, session, world, login_as):
    factories.serve(session, world, "association")
    factories.serve(session, world, "municipal")
    author = factories.create_user(session, world, "briefing_author")
    briefing = factories.create_briefing(session, world, author, publish=True)
    walker = factories.create_user(session, world, "night_walker", display_name="Walker Acked")
    idle = factories.create_user(session, world, "night_walker", display_name="Walker Idle")
    session.add(
        Acknowledgement(
            briefing_id=briefing.id,
            user_id=walker.id,
            read_at=datetime.now(UTC),
            acknowledged_at=datetime.now(UTC),
        )
    )
    lead = login_as("association_lead")
    walk = factories.create_walk(session, world, lead)
    past = factories.create_walk(
        session, world, lead, planned_start=datetime.now(UTC) - timedelta(hours=6)
    )
    report = factories.create_walk_report(session, world, walker, past)
    session.commit()
    page = _page(client)
    assert f"/walks/{walk.id}" in page
    assert f"/walks/reports/{report.id}" in page
    assert "Walker Acked" in page and "Walker Idle" in page
    assert idle.display_name in page


def test_briefing_author_sees_drafts_and_counts(client, session, world, login_as):
    factories.serve(session, world, "municipal")
    author = login_as("briefing_author")
    draft = factories.create_briefing(session, world, author, title="Utkast vecka 50")
    out = factories.create_briefing(session, world, author, publish=True, title="Ute vecka 49")
    session.commit()
    page = _page(client)
    assert "Utkast vecka 50" in page and f"/briefings/{draft.id}" in page
    assert "Ute vecka 49" in page and f"/briefings/{out.id}/receipts" in page


def test_interrupter_sees_alerts_follow_ups_and_caseload(client, session, world, login_as):
    worker = login_as("interrupter")
    today = datetime.now(ZoneInfo("Europe/Stockholm")).date()
    due = factories.create_participant_for(session, world, worker)
    later = factories.create_participant_for(session, world, worker)
    factories.create_contact(
        session, world, worker, subject="participant", participant_id=due.id, follow_up_on=today
    )
    factories.create_contact(
        session,
        world,
        worker,
        subject="participant",
        participant_id=later.id,
        follow_up_on=today + timedelta(days=9),
    )
    push_services.notify(
        session=session,
        recipient_ids=[worker.id],
        kind="test_alert",
        subject="home:1",
        title="Konflikt i Järva",
        body="Öppna appen.",
        url="/conflicts",
        requires_ack=True,
    )
    session.commit()
    page = _page(client)
    assert "Konflikt i Järva" in page
    assert f"/participants/{due.id}" in page
    assert f"/participants/{later.id}" not in page


def test_admin_sees_the_push_backlog(client, session, world, login_as):
    login_as("admin")
    other = factories.create_user(session, world, "interrupter")
    push_services.notify(
        session=session,
        recipient_ids=[other.id],
        kind="test_backlog",
        subject="backlog:1",
        title="Generic",
        body="Generic",
        url="/",
        now=datetime.now(UTC) - timedelta(minutes=30),
    )
    session.commit()
    backlog, oldest = push_services.delivery_backlog(session=session)
    assert backlog == 1 and oldest is not None
    page = _page(client)
    assert "30 min" in page or "31 min" in page


def test_researcher_sees_the_walk_figures(client, session, world, login_as):
    login_as("researcher")
    page = _page(client)
    assert "/walks/figures" in page


def test_admin_sees_the_last_backup(client, session, world, login_as):
    from interrupters.audit.services import record_event

    login_as("admin")
    assert "Ingen registrerad" in _page(client)
    record_event(session=session, event="backup_made", detail={"kind": "sqlite"})
    session.commit()
    assert "Ingen registrerad" not in _page(client)
