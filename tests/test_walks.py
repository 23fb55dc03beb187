"""Night walks: scheduling, sign-up, groups, start and end, walk reports (also through the
outbox), the urgent alert, the figures for the municipality and who may see what."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from interrupters import exports
from interrupters.audit.models import AuditEvent
from interrupters.briefings.models import Briefing, BriefingDistrict
from interrupters.errors import InvalidInput, InvalidState, NotAllowed, NotVisible
from interrupters.i18n import today_local
from interrupters.push.models import Notification
from interrupters.records.models import HeldRecord
from interrupters.walks import services
from interrupters.walks.models import Walk, WalkReport, WalkSignup

from . import factories
from .test_sync import Phone

STOCKHOLM = ZoneInfo("Europe/Stockholm")
DASH = "\N{EN DASH}"  # the labels of ranges


@pytest.fixture
def lead(session, world):
    user = factories.create_user(session, world, "association_lead")
    session.commit()
    return user


def walker(session, world):
    return factories.create_user(session, world, "night_walker")


def report_data(walk, world, **overrides):
    tensta = world.places["Tensta centrum"].id
    data = {
        "walk_id": walk.id,
        "places_visited": [tensta],
        "youths_met": "26-50",
        "atmosphere": "lively",
        "observations": ["fight"],
        "actions": ["called_114_14"],
    } | overrides
    return services.WalkReportInput.model_validate(data)


def form_payload(walk, world, **overrides):
    """A walk report as the form (and the phone's outbox) sends it."""
    return {
        "walk_id": str(walk.id),
        "places_visited": [str(world.places["Tensta centrum"].id)],
        "youths_met": "26-50",
        "atmosphere": "lively",
        "observations": ["fight"],
        "actions": ["called_114_14"],
        "environment_faults": ["lighting"],
        "fault_place_id": str(world.places["Tensta centrum"].id),
        "note": "A broken light on the stairs.",
    } | overrides


# observations_by_place ----------------------------------------------------------------------


def test_observations_by_place_counts_each_observation_for_each_place(session, world, lead):
    night_walker = walker(session, world)
    past = factories.create_walk(
        session, world, lead, planned_start=datetime.now(UTC) - timedelta(hours=6)
    )
    rinkeby, tensta = world.places["Rinkeby torg"].id, world.places["Tensta centrum"].id
    factories.create_walk_report(
        session,
        world,
        night_walker,
        past,
        places_visited=[rinkeby, tensta],
        observations=["fight", "alcohol"],
    )
    factories.create_walk_report(
        session, world, night_walker, past, places_visited=[tensta], observations=["fight"]
    )
    session.commit()
    now = datetime.now(UTC)
    counts = services.observations_by_place(
        session=session,
        district_ids=[world.districts["Järva"].id],
        since=now - timedelta(days=1),
        until=now + timedelta(minutes=1),
    )
    assert counts[tensta] == {"fight": 2, "alcohol": 1}
    assert counts[rinkeby] == {"fight": 1, "alcohol": 1}
    assert (
        services.observations_by_place(
            session=session,
            district_ids=[world.districts["Skärholmen"].id],
            since=now - timedelta(days=1),
            until=now,
        )
        == {}
    )
    assert (
        services.observations_by_place(
            session=session,
            district_ids=[world.districts["Järva"].id],
            since=now - timedelta(days=3),
            until=now - timedelta(days=2),
        )
        == {}
    )


# Scheduling ---------------------------------------------------------------------------------


def test_weekly_series_keeps_local_time_across_the_dst_change(session, world, lead, actor_for):
    # Summer time ends on Sunday 25 October 2026 at 03:00.
    walks = services.schedule_walks(
        session=session,
        actor=actor_for(lead),
        data=services.WalkInput(
            district_id=world.districts["Järva"].id,
            meeting_place_id=world.places["Tensta centrum"].id,
            first_date=date(2026, 10, 16),
            start_time=time(20, 0),
            end_time=time(1, 0),
            weekdays=[4, 5],
            weeks=3,
        ),
        now=datetime(2026, 10, 1, tzinfo=UTC),
    )
    assert len(walks) == 6
    assert len({w.series for w in walks}) == 1 and walks[0].series
    for walk in walks:
        starts, ends = (
            walk.planned_start.astimezone(STOCKHOLM),
            walk.planned_end.astimezone(STOCKHOLM),
        )
        assert starts.weekday() in (4, 5) and (starts.hour, starts.minute) == (20, 0)
        assert (ends.hour, ends.minute) == (1, 0) and ends.date() == starts.date() + timedelta(1)
    assert walks[0].planned_start == datetime(2026, 10, 16, 18, 0, tzinfo=UTC)
    assert walks[-1].planned_start == datetime(2026, 10, 31, 19, 0, tzinfo=UTC)
    # The change comes at 03:00, after the walk: the same five hours, an hour later in UTC.
    assert {w.planned_end - w.planned_start for w in walks} == {timedelta(hours=5)}


def test_scheduling_refuses_another_district_and_the_past(session, world, lead, actor_for):
    data = {
        "district_id": world.districts["Skärholmen"].id,
        "first_date": date.today() + timedelta(days=3),
        "start_time": time(20, 0),
        "end_time": time(1, 0),
    }
    with pytest.raises(InvalidInput) as error:
        services.schedule_walks(
            session=session, actor=actor_for(lead), data=services.WalkInput(**data)
        )
    assert "district_id" in error.value.errors
    data |= {"district_id": world.districts["Järva"].id, "first_date": date(2020, 1, 3)}
    with pytest.raises(InvalidInput) as error:
        services.schedule_walks(
            session=session, actor=actor_for(lead), data=services.WalkInput(**data)
        )
    assert "first_date" in error.value.errors
    with pytest.raises(NotAllowed):
        services.schedule_walks(
            session=session,
            actor=actor_for(walker(session, world)),
            data=services.WalkInput(**data),
        )


def test_cancel_one_or_the_rest_of_a_series(session, world, lead, actor_for):
    actor = actor_for(lead)
    walks = services.schedule_walks(
        session=session,
        actor=actor,
        data=services.WalkInput(
            district_id=world.districts["Järva"].id,
            first_date=date.today() + timedelta(days=1),
            start_time=time(20, 30),
            end_time=time(1, 0),
            weekdays=[4],
            weeks=4,
        ),
    )
    assert len(walks) == 4
    services.cancel_walk(session=session, actor=actor, walk_id=walks[0].id)
    assert [w.state for w in walks] == ["cancelled", "planned", "planned", "planned"]
    cancelled = services.cancel_walk(
        session=session, actor=actor, walk_id=walks[2].id, rest_of_series=True
    )
    assert len(cancelled) == 2
    assert [w.state for w in walks] == ["cancelled", "planned", "cancelled", "cancelled"]


# Sign-up, groups, start and end -------------------------------------------------------------


def test_sign_up_and_withdraw_before_the_start_only(session, world, lead, actor_for):
    walk = factories.create_walk(session, world, lead)
    member = actor_for(walker(session, world))
    services.sign_up(session=session, actor=member, walk_id=walk.id)
    services.sign_up(session=session, actor=member, walk_id=walk.id)  # twice is once
    assert len(services.signups_of(session=session, walk_ids=[walk.id])[walk.id]) == 1
    services.withdraw(session=session, actor=member, walk_id=walk.id)
    assert services.signups_of(session=session, walk_ids=[walk.id])[walk.id] == []
    started = factories.create_walk(
        session, world, lead, planned_start=datetime.now(UTC) - timedelta(minutes=5)
    )
    with pytest.raises(InvalidState):
        services.sign_up(session=session, actor=member, walk_id=started.id)
    other = factories.create_user(session, world, "night_walker", organisation="municipal")
    with pytest.raises(NotVisible):
        services.sign_up(session=session, actor=actor_for(other), walk_id=walk.id)


def test_lead_signs_members_up_and_takes_them_off(session, world, lead, actor_for):
    walk = factories.create_walk(session, world, lead)
    member = walker(session, world)
    boss = actor_for(lead)
    signup = services.sign_up_walker(
        session=session, actor=boss, walk_id=walk.id, user_id=member.id
    )
    again = services.sign_up_walker(session=session, actor=boss, walk_id=walk.id, user_id=member.id)
    assert again.id == signup.id
    assert [
        s.user_id for s in services.signups_of(session=session, walk_ids=[walk.id])[walk.id]
    ] == [member.id]
    outsider = factories.create_user(session, world, "night_walker", organisation="municipal")
    with pytest.raises(InvalidInput):
        services.sign_up_walker(session=session, actor=boss, walk_id=walk.id, user_id=outsider.id)
    with pytest.raises(NotAllowed):  # a walker signs only themself up
        services.sign_up_walker(
            session=session, actor=actor_for(member), walk_id=walk.id, user_id=lead.id
        )
    # Also once the walk is under way: who came is the lead's list.
    services.start_walk(session=session, actor=boss, walk_id=walk.id)
    services.take_off_walker(session=session, actor=boss, walk_id=walk.id, user_id=member.id)
    assert services.signups_of(session=session, walk_ids=[walk.id])[walk.id] == []
    with pytest.raises(InvalidInput):
        services.take_off_walker(session=session, actor=boss, walk_id=walk.id, user_id=member.id)
    changes = session.exec(
        select(AuditEvent)
        .where(AuditEvent.event == "walk_signup_changed")
        .where(AuditEvent.object_id == str(walk.id))
        .order_by(col(AuditEvent.id))
    ).all()
    assert [(e.actor_id, e.detail) for e in changes] == [
        (lead.id, {"user_id": member.id, "change": "added"}),
        (lead.id, {"user_id": member.id, "change": "removed"}),
    ]
    cancelled = factories.create_walk(session, world, lead, state="cancelled")
    with pytest.raises(InvalidState):
        services.sign_up_walker(
            session=session, actor=boss, walk_id=cancelled.id, user_id=member.id
        )


@pytest.mark.parametrize(
    ("count", "sizes"),
    [(1, []), (2, [2]), (3, [3]), (4, [2, 2]), (5, [3, 2]), (7, [3, 2, 2]), (9, [3, 3, 3])],
)
def test_group_sizes_never_leave_anyone_alone(count, sizes):
    assert services.group_sizes(count) == sizes


def test_groups_by_hand_and_automatically(session, world, lead, actor_for):
    walk = factories.create_walk(session, world, lead)
    walkers = [walker(session, world) for _ in range(5)]
    for each in walkers:
        services.sign_up(session=session, actor=actor_for(each), walk_id=walk.id)
    with pytest.raises(NotAllowed):
        services.auto_groups(session=session, actor=actor_for(walkers[0]), walk_id=walk.id)
    warnings = services.auto_groups(session=session, actor=actor_for(lead), walk_id=walk.id)
    numbers = [
        s.group_number for s in services.signups_of(session=session, walk_ids=[walk.id])[walk.id]
    ]
    assert numbers == [1, 1, 1, 2, 2]
    assert [str(w) for w in warnings] == ["Group 2 has 2 walkers, not three."]
    with pytest.raises(InvalidInput):
        services.set_groups(
            session=session, actor=actor_for(lead), walk_id=walk.id, groups={walkers[0].id: 3}
        )
    # The walk's leader (a night walker) may form the groups too.
    walk.leader_id = walkers[0].id
    warnings = services.set_groups(
        session=session,
        actor=actor_for(walkers[0]),
        walk_id=walk.id,
        groups={walkers[3].id: 1, walkers[4].id: 1},
    )
    assert [str(w) for w in warnings] == ["Group 1 has 5 walkers, not three."]


def test_start_links_the_published_briefing_then_complete(session, world, lead, actor_for):
    now = datetime.now(UTC)
    author = factories.create_user(session, world, "briefing_author")
    briefing = Briefing(
        organisation_id=world.organisations["municipal"].id,
        author_id=author.id,
        title="Helgens lägesbild",
        valid_from=now - timedelta(hours=2),
        valid_to=now + timedelta(days=1),
        state="published",
        published_at=now - timedelta(hours=2),
        identifies_no_one=True,
    )
    session.add(briefing)
    session.flush()
    session.add(BriefingDistrict(briefing_id=briefing.id, district_id=world.districts["Järva"].id))
    walk = factories.create_walk(session, world, lead, planned_start=now - timedelta(minutes=10))
    actor = actor_for(lead)
    with pytest.raises(InvalidState):
        services.complete_walk(session=session, actor=actor, walk_id=walk.id)
    services.start_walk(session=session, actor=actor, walk_id=walk.id, now=now)
    assert (walk.state, walk.actual_start, walk.briefing_id) == ("in_progress", now, briefing.id)
    services.complete_walk(session=session, actor=actor, walk_id=walk.id, now=now)
    assert walk.state == "completed" and walk.actual_end == now
    with pytest.raises(NotAllowed):
        services.start_walk(
            session=session, actor=actor_for(walker(session, world)), walk_id=walk.id
        )


# Walk reports -------------------------------------------------------------------------------


def test_report_only_on_own_recent_walk_and_district_places(session, world, lead, actor_for):
    member = walker(session, world)
    walk = factories.create_walk(
        session, world, lead, planned_start=datetime.now(UTC) - timedelta(hours=5)
    )
    actor = actor_for(member)
    with pytest.raises(InvalidInput) as error:  # not signed up
        services.file_walk_report(
            session=session,
            actor=actor,
            data=report_data(walk, world),
            client_uuid=str(uuid.uuid4()),
        )
    assert "walk_id" in error.value.errors
    session.add(WalkSignup(walk_id=walk.id, user_id=member.id))
    session.flush()
    with pytest.raises(InvalidInput) as error:
        services.file_walk_report(
            session=session,
            actor=actor,
            data=report_data(walk, world, places_visited=[world.places["Bredängs centrum"].id]),
            client_uuid=str(uuid.uuid4()),
        )
    assert "places_visited" in error.value.errors
    client_uuid = str(uuid.uuid4())
    report, created = services.file_walk_report(
        session=session, actor=actor, data=report_data(walk, world), client_uuid=client_uuid
    )
    again, created_again = services.file_walk_report(
        session=session, actor=actor, data=report_data(walk, world), client_uuid=client_uuid
    )
    assert created and not created_again and again.id == report.id
    with pytest.raises(ValueError):
        report_data(walk, world, note="x" * 281)


def test_report_once_the_lead_started_the_walk_early(session, world, lead, actor_for):
    """Started at 19:40 for 20:00: the walkers report at once, not only after the planned start."""
    member = walker(session, world)
    soon = datetime.now(UTC) + timedelta(minutes=20)
    walk = factories.create_walk(session, world, lead, planned_start=soon)
    session.add(WalkSignup(walk_id=walk.id, user_id=member.id))
    session.flush()
    actor = actor_for(member)
    with pytest.raises(InvalidInput) as error:  # planned, not started: nothing to report yet
        services.file_walk_report(
            session=session,
            actor=actor,
            data=report_data(walk, world),
            client_uuid=str(uuid.uuid4()),
        )
    assert "walk_id" in error.value.errors
    services.start_walk(session=session, actor=actor_for(lead), walk_id=walk.id)
    assert [w.id for w in services.reportable_walks(session=session, actor=actor)] == [walk.id]
    report, created = services.file_walk_report(
        session=session, actor=actor, data=report_data(walk, world), client_uuid=str(uuid.uuid4())
    )
    assert created and report.walk_id == walk.id


@pytest.fixture
def night_phone(client, session, world, login_as, lead):
    member = login_as("night_walker")
    walk = factories.create_walk(
        session, world, lead, planned_start=datetime.now(UTC) - timedelta(hours=4)
    )
    session.add(WalkSignup(walk_id=walk.id, user_id=member.id))
    session.commit()
    return Phone(client), walk


def test_urgent_report_through_the_outbox_notifies_once(night_phone, session, world):
    phone, walk = night_phone
    on_call = factories.create_user(session, world, "supervisor")
    other_programme = factories.create_user(
        session, world, "supervisor", organisation="other_programme"
    )
    session.commit()
    client_uuid = str(uuid.uuid4())
    data = form_payload(walk, world, urgent="y")
    first = phone.send(data, kind="walk_report", client_uuid=client_uuid)
    second = phone.send(data, kind="walk_report", client_uuid=client_uuid)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.get_json()["status"] == "replayed"
    session.expire_all()
    reports = session.exec(select(WalkReport).where(WalkReport.client_uuid == client_uuid)).all()
    assert len(reports) == 1 and reports[0].urgent
    notes = session.exec(
        select(Notification).where(Notification.kind == "walk_report_urgent")
    ).all()
    assert [n.recipient_id for n in notes] == [on_call.id]
    assert notes[0].subject == f"walk-report:{reports[0].id}"
    assert notes[0].url == f"/walks/reports/{reports[0].id}" and notes[0].requires_ack
    assert other_programme.id not in {n.recipient_id for n in notes}
    assert "stairs" not in str(notes[0].title) + str(notes[0].body)


def test_invalid_report_from_the_outbox_is_held(night_phone, session, world):
    phone, walk = night_phone
    data = form_payload(walk, world, places_visited=[str(world.places["Bredängs centrum"].id)])
    response = phone.send(data, kind="walk_report")
    assert response.status_code == 200
    assert response.get_json()["status"] == "needs_correction"
    held = session.exec(select(HeldRecord).where(HeldRecord.kind == "walk_report")).one()
    assert "places_visited" in held.errors
    page = phone.client.get("/walks/reports")
    assert f"/walks/reports/new?held={held.id}" in page.get_data(as_text=True)


def test_urgent_goes_to_supervisors_on_duty_in_the_district(session, world, lead, actor_for):
    from interrupters.duty.models import Duty

    on_duty, off_duty = (factories.create_user(session, world, "supervisor") for _ in range(2))
    now = datetime.now(UTC)
    session.add(
        Duty(
            user_id=on_duty.id,
            area_id=world.areas["Tensta"].id,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=5),
        )
    )
    session.flush()
    recipients = services.on_call_supervisors(
        session=session, district_id=world.districts["Järva"].id, now=now
    )
    assert recipients == [on_duty.id]
    assert off_duty.id not in recipients


# Routes -------------------------------------------------------------------------------------


def test_walker_signs_up_and_files_a_report_online(client, session, world, login_as, lead):
    member = login_as("night_walker")
    walk = factories.create_walk(session, world, lead)
    session.commit()
    assert "Anmäl mig" in client.get(f"/walks/{walk.id}").get_data(as_text=True)
    assert client.post(f"/walks/{walk.id}/signup").status_code == 303
    session.expire_all()
    assert session.exec(select(WalkSignup).where(WalkSignup.user_id == member.id)).one()
    walk.planned_start = datetime.now(UTC) - timedelta(hours=5)
    session.add(walk)
    session.commit()
    page = client.get("/walks/reports/new").get_data(as_text=True)
    assert "socialtjänsten" in page or "social services" in page
    assert 'data-outbox="walk_report"' in page
    response = client.post("/walks/reports/new", data=form_payload(walk, world))
    assert response.status_code == 303
    assert session.exec(select(WalkReport).where(WalkReport.submitted_by_id == member.id)).one()
    assert client.post("/walks/reports/new", data={}).status_code == 422


def test_lead_schedules_and_forms_groups_through_the_pages(client, session, world, login_as):
    login_as("association_lead")
    response = client.post(
        "/walks/new",
        data={
            "district_id": world.districts["Järva"].id,
            "meeting_place_id": world.places["Tensta centrum"].id,
            "first_date": (date.today() + timedelta(days=1)).isoformat(),
            "start_time": "20:30",
            "end_time": "01:00",
            "weekdays": ["4", "5"],
            "weeks": "2",
        },
    )
    assert response.status_code == 303
    walks = session.exec(select(Walk)).all()
    assert len(walks) == 4
    response = client.post(f"/walks/{walks[0].id}/groups/auto")
    assert response.status_code == 303  # nobody signed up: a message, not an error


def test_lead_signs_up_and_takes_off_on_the_walk_page(client, session, world, login_as):
    user = login_as("association_lead")
    member = walker(session, world)
    walk = factories.create_walk(session, world, user)
    session.commit()
    page = client.get(f"/walks/{walk.id}").get_data(as_text=True)
    assert f'<option value="{member.id}">' in page and "Anmäl medlemmen" in page
    response = client.post(f"/walks/{walk.id}/walkers", data={"user_id": str(member.id)})
    assert response.status_code == 303
    session.expire_all()
    assert session.exec(select(WalkSignup).where(WalkSignup.walk_id == walk.id)).one().user_id == (
        member.id
    )
    page = client.get(f"/walks/{walk.id}").get_data(as_text=True)
    assert member.display_name in page and "Avanmäl" in page
    response = client.post(f"/walks/{walk.id}/walkers/remove", data={"user_id": str(member.id)})
    assert response.status_code == 303
    session.expire_all()
    assert session.exec(select(WalkSignup).where(WalkSignup.walk_id == walk.id)).all() == []
    # A stranger's id is refused by the form, not stored.
    stranger = factories.create_user(session, world, "night_walker", organisation="municipal")
    session.commit()
    client.post(f"/walks/{walk.id}/walkers", data={"user_id": str(stranger.id)})
    session.expire_all()
    assert session.exec(select(WalkSignup).where(WalkSignup.walk_id == walk.id)).all() == []


def test_report_form_offers_a_walk_started_early(client, session, world, login_as, lead):
    member = login_as("night_walker")
    walk = factories.create_walk(
        session, world, lead, planned_start=datetime.now(UTC) + timedelta(minutes=20)
    )
    session.add(WalkSignup(walk_id=walk.id, user_id=member.id))
    session.commit()
    option = f'<option value="{walk.id}"'
    assert option not in client.get("/walks/reports/new").get_data(as_text=True)
    walk.state, walk.actual_start = "in_progress", datetime.now(UTC)
    session.add(walk)
    session.commit()
    assert option in client.get("/walks/reports/new").get_data(as_text=True)
    assert client.post("/walks/reports/new", data=form_payload(walk, world)).status_code == 303
    assert session.exec(select(WalkReport).where(WalkReport.walk_id == walk.id)).one()


def test_walkers_cannot_sign_others_up(client, session, world, login_as, lead):
    login_as("night_walker")
    other = walker(session, world)
    walk = factories.create_walk(session, world, lead)
    session.commit()
    page = client.get(f"/walks/{walk.id}").get_data(as_text=True)
    assert "/walkers" not in page
    response = client.post(f"/walks/{walk.id}/walkers", data={"user_id": str(other.id)})
    assert response.status_code == 403


def test_programme_reads_walks_without_volunteer_names(client, session, world, login_as, lead):
    member = walker(session, world)
    walk = factories.create_walk(session, world, lead)
    session.add(WalkSignup(walk_id=walk.id, user_id=member.id))
    session.commit()
    login_as("interrupter")
    page = client.get(f"/walks/{walk.id}")
    assert page.status_code == 200
    assert member.display_name not in page.get_data(as_text=True)


def test_season_csv_opens_in_swedish_excel_with_what_the_municipality_asks(
    client, session, world, login_as
):
    user = login_as("association_lead")
    held_at = datetime.now(UTC) - timedelta(hours=30)
    walk = factories.create_walk(session, world, user, planned_start=held_at, state="completed")
    factories.create_walk(session, world, user, planned_start=held_at, state="cancelled")
    reports = [
        {"youths_met": "26-50", "observations": ["fight", "alcohol"], "note": "=HYPERLINK(1)"},
        {
            "youths_met": "26-50",
            "observations": ["fight"],
            "environment_faults": [],
            "urgent": True,
        },
        {"youths_met": "1-10", "observations": [], "environment_faults": ["graffiti", "lighting"]},
    ]
    walkers = []
    for fields in reports:
        member = walker(session, world)
        walkers.append(member)
        if not fields.get("environment_faults", ["lighting"]):
            fields["fault_place_id"] = None
        factories.create_walk_report(session, world, member, walk, **fields)
    session.add(WalkSignup(walk_id=walk.id, user_id=user.id))
    session.commit()
    # The export's days are Stockholm's: from 23:00 UTC in winter, UTC's date is yesterday.
    today = today_local()
    since = today - timedelta(days=62)
    response = client.get(f"/walks/season.csv?since={since}&until={today}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    header, by_month = rows[0], {row[0]: row for row in rows[1:]}
    assert header[:4] == [
        "Månad",
        "Genomförda vandringar",
        "Vandrarkvällar",
        "Inskickade rapporter",
    ]
    assert header[-1] == "Brådskande rapporter"
    assert f"Unga som vi mötte: 26{DASH}50" in header and "Observerat: Slagsmål" in header
    assert len(header) == 4 + 6 + 10 + 4 + 1 and all(len(row) == len(header) for row in rows)
    assert list(by_month) == services.months_between(since, today)

    # What the test expects, from the reports it filed: all in this month.
    youths = Counter(r["youths_met"] for r in reports)
    observed = Counter(kind for r in reports for kind in r["observations"])
    faults = Counter(kind for r in reports for kind in r.get("environment_faults", ["lighting"]))
    row = dict(zip(header, by_month[services.month_of(datetime.now(UTC))], strict=True))
    walk_row = dict(zip(header, by_month[services.month_of(held_at)], strict=True))
    assert walk_row["Genomförda vandringar"] == "1"  # the cancelled walk is not held
    assert walk_row["Vandrarkvällar"] == str(len(walkers) + 1)
    assert row["Inskickade rapporter"] == str(len(reports))
    assert row["Brådskande rapporter"] == "1"
    assert row[f"Unga som vi mötte: 26{DASH}50"] == str(youths["26-50"]) == "2"
    assert row[f"Unga som vi mötte: 1{DASH}10"] == str(youths["1-10"]) == "1"
    assert row["Unga som vi mötte: Inga"] == "0"
    assert row["Observerat: Slagsmål"] == str(observed["fight"]) == "2"
    assert row["Observerat: Alkohol"] == str(observed["alcohol"]) == "1"
    assert row["Fel anmält: Belysning"] == str(faults["lighting"]) == "2"
    assert row["Fel anmält: Klotter"] == str(faults["graffiti"]) == "1"
    text = body.decode("utf-8-sig")
    assert walkers[0].display_name not in text and "HYPERLINK" not in text
    event = session.exec(
        select(AuditEvent).where(AuditEvent.event == "export").order_by(col(AuditEvent.id).desc())
    ).first()
    assert event is not None and event.actor_id == user.id


def test_export_cells_never_start_a_formula_and_use_decimal_commas():
    assert exports.safe_cell("=1+1") == "'=1+1"
    assert exports.safe_cell("-2") == "'-2"
    assert exports.safe_cell("2026-11") == "2026-11"
    assert exports.cell(-2) == "-2"  # a number, not a formula
    assert exports.cell(2.5) == "2,5"
    assert exports.cell(Decimal("0.75")) == "0,75"
    body = exports.csv_bytes(["Månad", "@SUM(A1)"], [["2026-11", 3, 1.5, "+46"]])
    assert body.startswith(exports.BOM_BYTES)
    assert body.decode("utf-8-sig").splitlines() == ["Månad;'@SUM(A1)", "2026-11;3;1,5;'+46"]


def test_figures_suppress_small_counts(client, session, world, login_as, lead):
    walk = factories.create_walk(
        session, world, lead, planned_start=datetime.now(UTC) - timedelta(days=1), state="completed"
    )
    session.add(WalkSignup(walk_id=walk.id, user_id=lead.id))
    session.commit()
    login_as("researcher")
    page = client.get("/walks/figures").get_data(as_text=True)
    assert "&lt;5" in page
    assert lead.display_name not in page


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("night_walker", 200),
        ("association_lead", 200),
        ("interrupter", 200),
        ("supervisor", 200),
        ("briefing_author", 403),
        ("researcher", 403),
        ("admin", 403),
    ],
)
def test_who_lists_walks(client, login_as, role, status):
    login_as(role)
    assert client.get("/walks/").status_code == status
