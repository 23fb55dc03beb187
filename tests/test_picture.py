"""The shared situational picture (issue 12): observations from every partner merge into one
picture per district, each place against its own previous eight weeks; the cycle closes a
period that then stays as it was; the programme's signals stay in the programme unless shared,
and then leave it only as suppressed counts; the map, the export and the briefing's start."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import func, select

from interrupters.audit.models import AuditEvent
from interrupters.auth.models import Organisation, OrganisationDistrict
from interrupters.auth.values import OrganisationType
from interrupters.errors import InvalidInput, NotAllowed, NotVisible
from interrupters.exports import BOM_BYTES
from interrupters.picture import mapping, services
from interrupters.picture.models import PictureAction, PicturePeriod, PlaceObservation
from interrupters.places.models import Place
from interrupters.records.models import HeldRecord

from . import factories
from .test_sync import Phone

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def count(session, model, *where):
    session.expire_all()
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def police(session, world):
    """A police partner serving Järva (the third organisation)."""
    organisation = world.organisations.get("police")
    if organisation is None:
        organisation = Organisation(
            name="Polisen Järva", type=OrganisationType.police_partner.value
        )
        session.add(organisation)
        session.flush()
        session.add(
            OrganisationDistrict(
                organisation_id=organisation.id or 0,
                district_id=world.districts["Järva"].id or 0,
            )
        )
        session.flush()
        world.organisations["police"] = organisation
    return organisation


@pytest.fixture
def partners(session, world):
    """A field assistant (the municipal unit) and a police liaison, both serving Järva."""
    factories.serve(session, world, "municipal")
    police(session, world)
    assistant = factories.create_user(session, world, "briefing_author")
    liaison = factories.create_user(session, world, "briefing_author", organisation="police")
    session.commit()
    return assistant, liaison


def observe(session, user, place, *, at, kind="gathering", severity="2", source=None, note=""):
    actor = factories.principal(session, user)
    organisation = services.observer_organisation(session=session, actor=actor)
    observation, _created = services.file_observation(
        session=session,
        actor=actor,
        data=services.ObservationInput.model_validate(
            {
                "place_id": place.id,
                "observed_at": at,
                "source": source or services.sources_for(organisation)[0],
                "kind": kind,
                "severity": severity,
                "note": note,
            }
        ),
        client_uuid=str(uuid.uuid4()),
        now=at + timedelta(minutes=1),
    )
    return observation


def signal(session, user, place, *, at, kind="tension_between_groups"):
    row, _created = services.send_place_signal(
        session=session,
        actor=factories.principal(session, user),
        data=services.SignalInput.model_validate(
            {"place_id": place.id, "observed_at": at, "kind": kind, "severity": "2"}
        ),
        client_uuid=str(uuid.uuid4()),
    )
    return row


def picture_for(session, world, user, now=None):
    return services.district_picture(
        session=session,
        actor=factories.principal(session, user),
        district_id=world.districts["Järva"].id,
        now=now,
    )


def row_of(picture, name):
    return next(r for r in picture.rows if r.name == name)


# Observations from every partner --------------------------------------------------------------


def test_observations_from_three_organisations_merge_into_one_picture(session, world, partners):
    assistant, liaison = partners
    torg = world.places["Rinkeby torg"]
    now = datetime.now(UTC)
    observe(session, assistant, torg, at=now - timedelta(minutes=30), kind="gathering")
    observe(session, liaison, torg, at=now - timedelta(minutes=20), kind="threats", severity="3")
    # The association's walk tonight: a fight seen at the square (read from the walk report).
    lead = factories.create_user(session, world, "association_lead")
    walk = factories.create_walk(session, world, lead, planned_start=now - timedelta(hours=2))
    factories.create_walk_report(
        session,
        world,
        factories.create_user(session, world, "night_walker"),
        walk,
        places_visited=[torg.id],
        observations=["fight", "alcohol"],
        environment_faults=[],
        fault_place_id=None,
    )
    session.commit()

    for reader in (assistant, liaison, lead):
        row = row_of(picture_for(session, world, reader), "Rinkeby torg")
        assert row.current == 3, reader.email
        assert dict(row.by_kind) == {"gathering": 1, "threats": 1, "fight": 1}
        assert dict(row.by_organisation) == {
            "Fältassistenter": 1,
            "Polisen Järva": 1,
            "Nattvandrare": 1,
        }
        # Contributions show the organisation, never the person; a walk report reaches
        # other organisations only as counts.
        partners_items = {world.organisations[k].id for k in ("municipal", "police")}
        seen_items = {item.organisation_id for item in row.items}
        if reader is lead:
            assert seen_items == partners_items | {world.organisations["association"].id}
        else:
            assert seen_items == partners_items
    # The walk report is read where it is, never copied.
    assert count(session, PlaceObservation) == 2


def test_a_partner_speaks_only_for_its_own_kind_of_source(session, world, partners):
    assistant, liaison = partners
    torg = world.places["Rinkeby torg"]
    with pytest.raises(InvalidInput) as refused:
        observe(session, liaison, torg, at=datetime.now(UTC), source="field_assistants")
    assert "source" in refused.value.errors
    with pytest.raises(InvalidInput) as refused:
        observe(session, assistant, torg, at=datetime.now(UTC), source="interrupter_signal")
    assert "source" in refused.value.errors


def test_a_note_with_a_participant_code_or_identity_number_is_refused(session, world, partners):
    assistant, _liaison = partners
    torg = world.places["Rinkeby torg"]
    for note in ("Saw P-7K3Q by the stairs", "Asked 19900101-1239 to leave"):
        with pytest.raises(InvalidInput) as refused:
            observe(session, assistant, torg, at=datetime.now(UTC), note=note)
        assert "note" in refused.value.errors


def test_a_place_outside_the_organisations_districts_is_refused(session, world, partners):
    assistant, _liaison = partners
    with pytest.raises(InvalidInput) as refused:
        observe(session, assistant, world.places["Bredängs centrum"], at=datetime.now(UTC))
    assert "place_id" in refused.value.errors


def test_only_partners_file_observations_and_only_the_programme_signals(session, world, partners):
    walker = factories.create_user(session, world, "night_walker")
    interrupter = factories.create_user(session, world, "interrupter")
    with pytest.raises(NotAllowed):
        observe(session, walker, world.places["Rinkeby torg"], at=datetime.now(UTC))
    with pytest.raises(NotAllowed):
        observe(session, interrupter, world.places["Rinkeby torg"], at=datetime.now(UTC))
    assistant, _liaison = partners
    with pytest.raises(NotAllowed):
        signal(session, assistant, world.places["Rinkeby torg"], at=datetime.now(UTC))


# Trends -------------------------------------------------------------------------------------


def test_trends_are_each_places_period_against_its_own_eight_weeks(session, world, partners):
    assistant, _liaison = partners
    now = datetime.now(UTC)
    start = picture_for(session, world, assistant, now=now).period.starts_at
    # (place, days before the period's start; negative: inside the period)
    plan = {
        # Rising: twice a week before, now many.
        "Rinkeby torg": [3, 10, 17, 24, 31, 38, 45, 52] + [-0.1] * 6,
        # Falling: often before, nothing now.
        "Tensta centrum": [d for d in range(1, 56, 2)],
        # New: nothing before.
        "Bredängs centrum": [],
    }
    # Old ones outside the eight weeks never count.
    plan["Rinkeby torg"] += [60, 70]
    for name, days in plan.items():
        if name == "Bredängs centrum":
            continue
        for day in days:
            at = start - timedelta(days=day)
            if at > now:
                at = now - timedelta(minutes=1)
            observe(session, assistant, world.places[name], at=at)
    session.commit()

    picture = picture_for(session, world, assistant, now=now)
    elapsed = max((now - start).total_seconds(), 86400.0)
    for name in ("Rinkeby torg", "Tensta centrum"):
        days = plan[name]
        current = sum(1 for d in days if d < 0)
        baseline = sum(1 for d in days if 0 < d <= 56)
        expected = baseline * elapsed / (56 * 86400)
        row = row_of(picture, name)
        assert (row.current, row.baseline) == (current, baseline), name
        assert row.expected == pytest.approx(expected)
        if current >= 1.5 * expected and current - expected >= 2:
            assert row.trend.value == "rising"
        elif current <= 0.5 * expected and expected - current >= 2:
            assert row.trend.value == "falling"
        else:
            assert row.trend.value == "steady"
    assert row_of(picture, "Rinkeby torg").trend.value == "rising"
    # The phone's list: the most concerning place first.
    assert picture.by_concern()[0].name == "Rinkeby torg"


def test_trend_rule():
    assert services.trend_of(0, 0.0, 0).value == "quiet"
    assert services.trend_of(2, 0.0, 0).value == "new"
    assert services.trend_of(6, 2.0, 8).value == "rising"
    assert services.trend_of(3, 2.0, 8).value == "steady"
    assert services.trend_of(0, 4.0, 16).value == "falling"


# The cycle ----------------------------------------------------------------------------------


def close(session, world, user, *, actions=(), concerns=(), follow_ups=(), now=None):
    return services.close_period(
        session=session,
        actor=factories.principal(session, user),
        district_id=world.districts["Järva"].id,
        data=services.CloseInput.model_validate(
            {
                "summary": "Rising at the square.",
                "concerns": list(concerns),
                "actions": list(actions),
                "follow_ups": list(follow_ups),
            }
        ),
        now=now,
    )


def test_a_closed_period_stays_unchanged_when_later_observations_arrive(
    session, world, partners, client
):
    assistant, liaison = partners
    torg = world.places["Rinkeby torg"]
    now = datetime.now(UTC)
    observe(session, assistant, torg, at=now - timedelta(hours=2))
    observe(session, liaison, torg, at=now - timedelta(hours=1), kind="fight", severity="3")
    due = (now + timedelta(days=5)).astimezone(STOCKHOLM).date()
    period = close(
        session,
        world,
        assistant,
        concerns=[{"place_id": torg.id, "status": "tense", "note": "Gatherings late"}],
        actions=[
            {
                "place_id": torg.id,
                "what": "field_assistant_presence",
                "owner_organisation_id": world.organisations["municipal"].id,
                "due_on": due.isoformat(),
            }
        ],
    )
    session.commit()
    before = json.dumps(period.snapshot, sort_keys=True)
    snapshot_row = next(r for r in period.snapshot["rows"] if r["name"] == "Rinkeby torg")
    assert snapshot_row["current"] == 2 and snapshot_row["by_kind"] == {"gathering": 1, "fight": 1}
    assert period.snapshot["actions"][0]["owner"] == "Fältassistenter"

    # A phone that was offline sends one from inside the closed period; others come after.
    observe(session, liaison, torg, at=now - timedelta(minutes=90), kind="weapon_seen")
    observe(session, assistant, torg, at=datetime.now(UTC) + timedelta(seconds=1))
    session.commit()
    session.expire_all()
    again = session.get(PicturePeriod, period.id)
    assert json.dumps(again.snapshot, sort_keys=True) == before
    assert again.state == "closed" and again.ends_at is not None

    # The next period starts at the close and sees only what came after it.
    picture = picture_for(session, world, assistant, now=datetime.now(UTC) + timedelta(minutes=2))
    assert picture.period.starts_at == again.ends_at and picture.period.id is None
    assert row_of(picture, "Rinkeby torg").current == 1
    # Its open action is followed up in the next period.
    assert [a.what for a in picture.follow_ups] == ["field_assistant_presence"]

    # The page of the closed period shows what was closed.
    session.commit()
    factories_login(client, assistant)
    page = client.get(f"/picture/periods/{period.id}").get_data(as_text=True)
    assert "Gatherings late" in page and "Rinkeby torg" in page


def csrf(page):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)


def factories_login(client, user):
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 302


def test_closing_follows_up_the_previous_periods_actions(session, world, partners):
    assistant, _liaison = partners
    torg = world.places["Rinkeby torg"]
    due = (datetime.now(STOCKHOLM) + timedelta(days=3)).date().isoformat()
    action = services.add_action(
        session=session,
        actor=factories.principal(session, assistant),
        district_id=world.districts["Järva"].id,
        data=services.ActionInput.model_validate(
            {
                "place_id": torg.id,
                "what": "lighting_repair",
                "owner_organisation_id": world.organisations["municipal"].id,
                "due_on": due,
            }
        ),
    )
    first = close(session, world, assistant)
    assert action.period_id == first.id
    second = close(
        session,
        world,
        assistant,
        follow_ups=[{"action_id": action.id, "status": "done", "result_note": "Light fixed"}],
    )
    session.commit()
    session.expire_all()
    done = session.get(PictureAction, action.id)
    assert done.status == "done" and done.settled_in_period_id == second.id
    assert second.snapshot["follow_ups"][0]["result_note"] == "Light fixed"
    # An action of another district, or one already settled, cannot be followed up again.
    with pytest.raises(InvalidInput):
        close(
            session,
            world,
            assistant,
            follow_ups=[{"action_id": action.id, "status": "dropped"}],
        )


def test_only_a_coordinator_of_the_district_runs_the_cycle(session, world, partners):
    supervisor = factories.create_user(session, world, "supervisor")
    walker = factories.create_user(session, world, "night_walker")
    for user in (supervisor, walker):
        with pytest.raises(NotAllowed):
            close(session, world, user)
    # A briefing author of a unit that does not serve the district.
    outsider_unit = Organisation(name="Fältassistenter Skärholmen", type="municipal_unit")
    session.add(outsider_unit)
    session.flush()
    world.organisations["skarholmen"] = outsider_unit
    stranger = factories.create_user(session, world, "briefing_author", organisation="skarholmen")
    with pytest.raises(NotAllowed):
        close(session, world, stranger)
    with pytest.raises(NotVisible):
        picture_for(session, world, stranger)


def test_the_period_setting_is_one_or_two_weeks(session, world, partners):
    assistant, _liaison = partners
    actor = factories.principal(session, assistant)
    district_id = world.districts["Järva"].id
    with pytest.raises(InvalidInput):
        services.set_period_weeks(session=session, actor=actor, district_id=district_id, weeks=3)
    services.set_period_weeks(session=session, actor=actor, district_id=district_id, weeks=1)
    now = datetime.now(UTC)
    period = services.open_period(session=session, district_id=district_id, now=now)
    # A one-week cycle starts on this week's Monday (local time).
    local = period.starts_at.astimezone(STOCKHOLM)
    assert local.weekday() == 0 and (local.hour, local.minute) == (0, 0)
    assert now - period.starts_at < timedelta(days=7)


# Who sees what --------------------------------------------------------------------------------


def test_the_programmes_signals_stay_in_the_programme_unless_shared(session, world, partners, app):
    assistant, _liaison = partners
    interrupter = factories.create_user(session, world, "interrupter")
    supervisor = factories.create_user(session, world, "supervisor")
    torg = world.places["Rinkeby torg"]
    now = datetime.now(UTC)
    for minutes in (50, 40, 30):
        signal(session, interrupter, torg, at=now - timedelta(minutes=minutes))
    session.commit()

    # The programme sees its own signals.
    own = row_of(picture_for(session, world, supervisor), "Rinkeby torg")
    assert own.current == 3 and own.signals is None
    # The partners see nothing of them by default.
    partner_row = row_of(picture_for(session, world, assistant), "Rinkeby torg")
    assert partner_row.current == 0 and partner_row.signals is None and not partner_row.items

    services.set_signal_sharing(
        session=session, actor=factories.principal(session, supervisor), share=True
    )
    session.commit()
    partner_row = row_of(picture_for(session, world, assistant), "Rinkeby torg")
    # Shared: a count for the period only, never items, never in the trend or the source.
    assert partner_row.signals == 3 and partner_row.current == 0 and not partner_row.items
    assert services.suppressed(partner_row.signals) == "<5"
    assert count(session, AuditEvent, AuditEvent.event == "picture_signal_sharing") == 1

    # Only the programme's supervisor may share.
    with pytest.raises(NotAllowed):
        services.set_signal_sharing(
            session=session, actor=factories.principal(session, interrupter), share=True
        )


def test_the_partners_page_shows_shared_signals_only_as_a_suppressed_count(
    session, world, partners, client
):
    assistant, _liaison = partners
    interrupter = factories.create_user(session, world, "interrupter")
    supervisor = factories.create_user(session, world, "supervisor")
    torg = world.places["Rinkeby torg"]
    signal(session, interrupter, torg, at=datetime.now(UTC) - timedelta(minutes=5))
    services.set_signal_sharing(
        session=session, actor=factories.principal(session, supervisor), share=True
    )
    session.commit()
    factories_login(client, assistant)
    page = client.get(f"/picture/district/{world.districts['Järva'].id}").get_data(as_text=True)
    card = page[page.index(f'id="place-{torg.id}"') :]
    card = card[: card.index("</li>")]
    assert "&lt;5" in card
    # No source, no organisation, no person, no time of a signal.
    assert "Fredsbyggare" not in card and "Platssignal " not in card
    assert interrupter.display_name not in page


# Routes: the forms, the phone's outbox --------------------------------------------------------


def observation_fields(place_id, **overrides):
    local = datetime.now(STOCKHOLM) - timedelta(minutes=15)
    return {
        "place_id": str(place_id),
        "observed_at": local.strftime("%Y-%m-%dT%H:%M"),
        "kind": "tension_between_groups",
        "severity": "2",
        "source": "field_assistants",
        "note": "Two groups by the stairs",
    } | overrides


def test_an_observation_sent_from_the_phones_outbox_is_stored_once(
    client, login_as, session, world
):
    factories.serve(session, world, "municipal")
    session.commit()
    login_as("briefing_author")
    phone = Phone(client)
    key = str(uuid.uuid4())
    fields = observation_fields(world.places["Rinkeby torg"].id)
    first = phone.send(fields, client_uuid=key, kind="place_observation")
    assert first.status_code == 201, first.get_json()
    again = phone.send(fields, client_uuid=key, kind="place_observation")
    assert again.status_code == 200 and again.get_json()["status"] == "replayed"
    assert count(session, PlaceObservation) == 1
    # A place outside the unit's districts is held for correction, not dropped.
    held = phone.send(
        observation_fields(world.places["Bredängs centrum"].id), kind="place_observation"
    )
    assert held.get_json()["status"] == "needs_correction"
    record = session.exec(select(HeldRecord).where(HeldRecord.kind == "place_observation")).one()
    page = client.get(f"/picture/observations/new?held={record.id}")
    assert page.status_code == 200 and "Two groups by the stairs" in page.get_data(as_text=True)


def test_an_interrupters_signal_from_the_phone(client, login_as, session, world):
    login_as("interrupter")
    phone = Phone(client)
    local = datetime.now(STOCKHOLM) - timedelta(minutes=5)
    response = phone.send(
        {
            "place_id": str(world.places["Rinkeby torg"].id),
            "kind": "tension_between_groups",
            "severity": "2",
            "observed_at": local.strftime("%Y-%m-%dT%H:%M"),
        },
        kind="place_signal",
    )
    assert response.status_code == 201, response.get_json()
    stored = session.exec(select(PlaceObservation)).one()
    assert stored.source == "interrupter_signal" and stored.note == ""
    # A briefing author's phone may not send a signal.
    other = factories.create_user(session, world, "briefing_author")
    session.commit()
    assert other.id


def test_the_online_forms_work_without_javascript(client, login_as, session, world):
    factories.serve(session, world, "municipal")
    session.commit()
    login_as("briefing_author")
    page = client.get("/picture/observations/new")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'data-outbox="place_observation"' in body
    token = csrf(page)
    response = client.post(
        "/picture/observations/new",
        data=observation_fields(world.places["Rinkeby torg"].id) | {"csrf_token": token},
    )
    assert response.status_code == 303
    assert count(session, PlaceObservation) == 1


def test_coordinator_closes_the_period_through_the_page(client, login_as, session, world):
    factories.serve(session, world, "municipal")
    session.commit()
    user = login_as("briefing_author")
    district_id = world.districts["Järva"].id
    torg = world.places["Rinkeby torg"]
    observe(session, user, torg, at=datetime.now(UTC) - timedelta(minutes=10))
    session.commit()
    page = client.get(f"/picture/district/{district_id}/close")
    assert page.status_code == 200
    token = csrf(page)
    due = (datetime.now(STOCKHOLM) + timedelta(days=4)).date().isoformat()
    data = {
        "csrf_token": token,
        f"status-{torg.id}": "tense",
        f"note-{torg.id}": "Crowds after the match",
        "action-0-place_id": str(torg.id),
        "action-0-what": "field_assistant_presence",
        "action-0-owner_organisation_id": str(world.organisations["municipal"].id),
        "action-0-due_on": due,
        "summary": "Rising at the square.",
    }
    refused = client.post(f"/picture/district/{district_id}/close", data=data)
    assert refused.status_code == 422  # not confirmed
    response = client.post(f"/picture/district/{district_id}/close", data=data | {"confirm": "y"})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    period = session.exec(select(PicturePeriod)).one()
    assert period.state == "closed"
    # The next weekend briefing's draft starts from the picture.
    draft = client.get(f"/briefings/new?district_ids={district_id}").get_data(as_text=True)
    assert re.search(rf'name="status-{torg.id}">.*?<option value="tense" selected>', draft, re.S)
    assert "Crowds after the match" in draft
    assert "Rinkeby torg" in draft and "Fältassistenter" in draft


# The map ------------------------------------------------------------------------------------


SQUARE = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "Rinkeby-Kista"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[17.88, 59.37], [17.98, 59.37], [17.98, 59.42], [17.88, 59.42], [17.88, 59.37]]
                ],
            },
        }
    ],
}


def test_outlines_are_imported_by_district_name_and_drawn_with_the_places(
    session, world, partners, client, login_as
):
    login_as("admin")
    page = client.get("/picture/outlines")
    token = csrf(page)
    response = client.post(
        "/picture/outlines", data={"csrf_token": token, "text": json.dumps(SQUARE)}
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:1000]
    assert services.outline_of(session=session, district_id=world.districts["Järva"].id)
    torg = session.get(Place, world.places["Rinkeby torg"].id)
    torg.latitude, torg.longitude = 59.3885, 17.9283
    session.add(torg)
    session.commit()
    picture = picture_for(session, world, partners[0])
    drawn = mapping.draw(
        outline=services.outline_of(session=session, district_id=world.districts["Järva"].id),
        places=picture.rows,
    )
    assert drawn is not None and len(drawn.outlines) == 1 and len(drawn.points) == 1
    point = drawn.points[0]
    assert 0 < point.x < drawn.width and 0 < point.y < drawn.height
    assert drawn.unplaced == ["Tensta centrum"]


def test_bad_geojson_is_refused():
    for text in ("not json", "[]", json.dumps({"type": "Point", "coordinates": [1, 2]})):
        with pytest.raises(InvalidInput):
            mapping.parse_outlines(text)
    swapped = {
        "type": "Polygon",
        "coordinates": [[[59.3, 917.9], [59.4, 17.9], [59.4, 18.0], [59.3, 917.9]]],
    }
    with pytest.raises(InvalidInput):
        mapping.parse_outlines(json.dumps(swapped))


def test_the_map_page_loads_nothing_from_elsewhere(session, world, partners, client):
    assistant, _liaison = partners
    torg = session.get(Place, world.places["Rinkeby torg"].id)
    torg.latitude, torg.longitude = 59.3885, 17.9283
    session.add(torg)
    session.commit()
    factories_login(client, assistant)
    district_id = world.districts["Järva"].id
    page = client.get(f"/picture/district/{district_id}").get_data(as_text=True)
    assert "<svg" in page and "<circle" in page
    svg = client.get(f"/picture/district/{district_id}/map.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    body = svg.get_data(as_text=True)
    urls = set(re.findall(r'(?:href|src)="([^"#][^"]*)"', body)) | set(
        re.findall(r"https?://[^\s\"'<>]+", body)
    )
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls


@pytest.mark.parametrize(
    "app_config", [{"PICTURE_TILE_URL": "https://tiles.example.se/{z}/{x}/{y}.png"}]
)
def test_a_deployments_own_tile_server_is_used_when_set(session, world, partners, client):
    assistant, _liaison = partners
    torg = session.get(Place, world.places["Rinkeby torg"].id)
    torg.latitude, torg.longitude = 59.3885, 17.9283
    session.add(torg)
    session.commit()
    factories_login(client, assistant)
    response = client.get(f"/picture/district/{world.districts['Järva'].id}")
    assert "https://tiles.example.se/" in response.get_data(as_text=True)
    assert (
        "img-src 'self' data: https://tiles.example.se"
        in response.headers["Content-Security-Policy"]
    )


# The lägesbild for the municipality -------------------------------------------------------------


def test_the_lagesbild_export_opens_in_swedish_excel_and_is_audited(
    session, world, partners, client
):
    assistant, liaison = partners
    torg = world.places["Rinkeby torg"]
    now = datetime.now(UTC)
    for minutes in range(6):
        observe(session, liaison, torg, at=now - timedelta(minutes=10 + minutes), kind="fight")
    observe(session, assistant, world.places["Tensta centrum"], at=now - timedelta(minutes=5))
    session.commit()
    factories_login(client, assistant)
    month = now.astimezone(STOCKHOLM).strftime("%Y-%m")
    response = client.get(
        f"/picture/district/{world.districts['Järva'].id}/lagesbild.csv?month={month}"
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "no-store" in response.headers["Cache-Control"]
    raw = response.get_data()
    assert raw.startswith(BOM_BYTES)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    header = rows[0]
    assert header[:5] == ["Månad", "Stadsdelsområde", "Plats", "Typ av plats", "Observationer"]
    by_place = {r[2]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert by_place["Rinkeby torg"]["Observationer"] == "6"
    assert by_place["Rinkeby torg"]["Slagsmål"] == "6"
    # One observation is a small count: suppressed where the picture leaves the partners.
    assert by_place["Tensta centrum"]["Observationer"] == "<5"
    assert count(session, AuditEvent, AuditEvent.object_type == "picture_lagesbild") == 1


def test_the_lagesbild_hides_what_a_place_types_total_would_give_away(
    session, world, partners, client
):
    """Two squares: one with six fights, one with two. The two is hidden, and so is another
    cell of its column, or the square total minus the six would tell it."""
    assistant, liaison = partners
    torg = world.places["Rinkeby torg"]
    pitch = Place(area_id=torg.area_id, name="Rinkeby bollplan", type=torg.type)
    session.add(pitch)
    session.commit()
    now = datetime.now(UTC)
    for minutes in range(6):
        observe(session, liaison, torg, at=now - timedelta(minutes=10 + minutes), kind="fight")
    for minutes in range(2):
        observe(session, assistant, pitch, at=now - timedelta(minutes=20 + minutes), kind="fight")
    session.commit()
    factories_login(client, assistant)
    month = now.astimezone(STOCKHOLM).strftime("%Y-%m")
    response = client.get(
        f"/picture/district/{world.districts['Järva'].id}/lagesbild.csv?month={month}"
    )
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig")), delimiter=";"))
    header = rows[0]
    table = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    squares = [r for r in table if r["Typ av plats"] == "Torg"]
    assert {r["Plats"] for r in squares} == {
        "Rinkeby torg",
        "Rinkeby bollplan",
        "Alla platser av den här typen",
    }
    for column in ("Observationer", "Slagsmål"):
        cells = [r[column] for r in squares]
        assert cells.count("<5") != 1, (column, cells)
        assert next(r[column] for r in squares if r["Plats"] == "Rinkeby bollplan") == "<5"
    # Within a row, the kinds add up to the observations: never one hidden alone either.
    for row in table:
        kinds = [row[h] for h in header[5 : header.index("Lugna kvällar")]]
        assert [*kinds, row["Observationer"]].count("<5") != 1, row


def test_a_night_walker_reads_the_picture_but_takes_no_export(session, world, client, login_as):
    login_as("night_walker")
    district_id = world.districts["Järva"].id
    assert client.get(f"/picture/district/{district_id}").status_code == 200
    assert client.get(f"/picture/district/{district_id}/lagesbild.csv").status_code == 403
    assert client.get(f"/picture/district/{district_id}/close").status_code == 403


# The demo ---------------------------------------------------------------------------------------


def test_the_demo_rises_at_rinkeby_torg_with_an_open_period_of_two_actions(session, app):
    from interrupters.demo import PLACE_COORDINATES, seed_demo
    from interrupters.places.models import District

    now = datetime(2026, 11, 27, 12, 0, tzinfo=STOCKHOLM)
    assert seed_demo(session=session, now=now)
    session.commit()
    jarva = session.exec(select(District).where(District.name == "Järva")).one()
    period = services.open_period(session=session, district_id=jarva.id, now=now)
    assert period.id is not None and period.state == "open"
    actions = services.period_actions(session=session, period_id=period.id)
    assert sorted(a.what for a in actions) == ["field_assistant_presence", "lighting_repair"]
    picture = services.build_picture(
        session=session, district=jarva, viewer=services.Viewer.partner(), now=now
    )
    torg = row_of(picture, "Rinkeby torg")
    assert torg.trend.value == "rising"
    assert picture.by_concern()[0].name == "Rinkeby torg"
    # Ten weeks of the field assistants' and the guards' observations, and the walk report's.
    sources = set(session.exec(select(PlaceObservation.source)).all())
    assert {"field_assistants", "guards", "interrupter_signal"} <= sources
    oldest = session.exec(select(func.min(PlaceObservation.observed_at))).one()
    assert now - oldest.astimezone(UTC) > timedelta(weeks=8)
    assert any(i.source == "walk_report" for r in picture.rows for i in r.items) or any(
        r.baseline for r in picture.rows
    )
    # The programme's signals stay in the programme by default.
    assert torg.signals is None
    drawn = mapping.draw(outline=[], places=picture.rows)
    assert drawn is not None and len(drawn.points) == len(PLACE_COORDINATES)


def test_the_admin_gives_a_place_its_coordinates(session, world, client, login_as):
    login_as("admin")
    place = world.places["Tensta centrum"]
    page = client.get(f"/admin/places/{place.id}/edit")
    fields = {
        "csrf_token": csrf(page),
        "area_id": str(place.area_id),
        "name": place.name,
        "type": place.type,
        "active": "y",
    }
    refused = client.post(
        f"/admin/places/{place.id}/edit",
        data=fields | {"latitude": "17,9027", "longitude": "59,3949"},  # swapped
    )
    assert refused.status_code == 422
    saved = client.post(
        f"/admin/places/{place.id}/edit",
        data=fields | {"latitude": "59,3949", "longitude": "17.9027"},
    )
    assert saved.status_code == 303
    session.expire_all()
    stored = session.get(Place, place.id)
    assert (stored.latitude, stored.longitude) == (59.3949, 17.9027)


def test_a_period_is_closed_once(session, world, partners, monkeypatch):
    """A second close of the same period (another coordinator a moment later) is refused."""
    from interrupters.errors import InvalidState

    assistant, liaison = partners
    district_id = world.districts["Järva"].id
    now = datetime.now(UTC)
    period = services.open_period(session=session, district_id=district_id, now=now, create=True)
    closed = close(session, world, assistant, now=now)
    assert closed.id == period.id
    # The other coordinator's request had found the same period open a moment before.
    monkeypatch.setattr(services, "open_period", lambda **_kw: closed)
    with pytest.raises(InvalidState):
        close(session, world, liaison, now=now)


def test_small_counts_are_hidden_and_a_true_zero_is_shown():
    assert [services.suppressed(n) for n in (0, 1, 4, 5, 12)] == ["0", "<5", "<5", "5", "12"]
