"""The weekend briefing: drafting, refusing identifying text, publishing exactly once,
expiry, receipts through the outbox, who may see what, and the screens."""

from __future__ import annotations

import html
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from interrupters.briefings import jobs, services
from interrupters.briefings.models import Acknowledgement, Briefing, BriefingReceipt
from interrupters.errors import InvalidInput, NotAllowed, NotVisible
from interrupters.places.models import Place
from interrupters.push.models import Notification
from interrupters.sync import crypto

from . import factories
from .test_sync import Phone

STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def people(session, world):
    """A municipal author, and readers: the association and the programme serve Järva."""
    factories.serve(session, world, "municipal")
    factories.serve(session, world, "association")
    make = lambda role, **kw: factories.create_user(session, world, role, **kw)  # noqa: E731
    people = {
        "author": make("briefing_author"),
        "supervisor": make("supervisor"),
        "interrupter": make("interrupter"),
        "lead": make("association_lead"),
        "walker": make("night_walker"),
        "walker2": make("night_walker"),
        "outsider": make("interrupter", organisation="other_programme"),
        "researcher": make("researcher"),
    }
    session.commit()
    return people


def actor(session, user):
    return factories.principal(session, user)


def notifications(session, briefing_id):
    return session.exec(
        select(Notification).where(Notification.subject == f"briefing:{briefing_id}")
    ).all()


# Drafting --------------------------------------------------------------------------------


def test_draft_is_saved_with_places_and_rows(session, world, people):
    briefing = factories.create_briefing(session, world, people["author"])
    session.commit()
    assert (
        briefing.state == "draft"
        and briefing.organisation_id == world.organisations["municipal"].id
    )
    statuses = services.place_statuses(session=session, briefing_id=briefing.id)
    assert {(p.name, s.status) for p, s in statuses} == {
        ("Rinkeby torg", "tense"),
        ("Tensta centrum", "watch"),
    }
    assert briefing.expected_events[0]["what"] == "Football match"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("summary", "Keep an eye on P-7K3Q by the square"),
        ("title", "Weekend p-2m9d"),
        ("summary", "Saw 200101-1234 near the metro"),
        ("safety_reminders", "Call about 19900101 1239"),
    ],
)
def test_text_that_identifies_someone_is_refused(session, world, people, field, value):
    with pytest.raises(InvalidInput) as error:
        factories.create_briefing(session, world, people["author"], **{field: value})
    assert field in error.value.errors
    assert "identifies no one" in str(error.value.errors[field])


def test_codes_in_rows_are_refused(session, world, people):
    place = world.places["Rinkeby torg"].id
    with pytest.raises(InvalidInput) as error:
        factories.create_briefing(
            session,
            world,
            people["author"],
            place_statuses=[{"place_id": place, "status": "tense", "note": "P-2M9D hangs here"}],
            on_call=[{"who": "Ask 850101-1236", "phone": "112"}],
        )
    assert {"place_statuses", "on_call"} <= set(error.value.errors)


def test_confirmation_is_required_and_window_must_be_ordered(session, world, people):
    now = datetime.now(UTC)
    with pytest.raises(InvalidInput) as error:
        factories.create_briefing(
            session,
            world,
            people["author"],
            identifies_no_one=False,
            valid_to=now - timedelta(days=1),
        )
    assert {"identifies_no_one", "valid_to"} <= set(error.value.errors)


def test_places_outside_the_districts_are_refused(session, world, people):
    far = world.places["Bredängs centrum"].id
    with pytest.raises(InvalidInput) as error:
        factories.create_briefing(
            session,
            world,
            people["author"],
            place_statuses=[{"place_id": far, "status": "calm", "note": ""}],
        )
    assert "place_statuses" in error.value.errors


def test_only_writers_draft(session, world, people):
    with pytest.raises(NotAllowed):
        services.draft_briefing(
            session=session,
            actor=actor(session, people["walker"]),
            data=factories.briefing_input(world),
        )


def test_edit_while_draft_or_scheduled_only(session, world, people):
    author = actor(session, people["author"])
    briefing = factories.create_briefing(session, world, people["author"])
    data = factories.briefing_input(world, title="Changed")
    services.update_briefing(session=session, actor=author, briefing_id=briefing.id, data=data)
    assert briefing.title == "Changed"
    services.publish_briefing(session=session, actor=author, briefing_id=briefing.id)
    with pytest.raises(Exception, match="cannot be changed"):
        services.update_briefing(session=session, actor=author, briefing_id=briefing.id, data=data)


# Publishing ------------------------------------------------------------------------------


def test_publish_now_sets_place_statuses_and_pushes_each_member_once(session, world, people):
    author = actor(session, people["author"])
    briefing = factories.create_briefing(session, world, people["author"])
    assert services.publish_briefing(session=session, actor=author, briefing_id=briefing.id)
    assert not services.publish_briefing(session=session, actor=author, briefing_id=briefing.id)
    session.commit()
    assert briefing.state == "published" and briefing.published_at is not None
    assert session.get(Place, world.places["Rinkeby torg"].id).status == "tense"
    recipients = sorted(n.recipient_id for n in notifications(session, briefing.id))
    expected = sorted(
        people[k].id for k in ("supervisor", "interrupter", "lead", "walker", "walker2")
    )
    assert recipients == expected  # not the author, the outsider nor the researcher
    texts = {(n.kind, n.url) for n in notifications(session, briefing.id)}
    assert texts == {("briefing_published", "/briefings/current")}


def test_scheduled_briefing_is_published_once_by_the_job_and_expires(session, world, people):
    author = actor(session, people["author"])
    now = datetime.now(UTC)
    briefing = factories.create_briefing(
        session, world, people["author"], valid_to=now + timedelta(hours=3)
    )
    services.schedule_briefing(
        session=session,
        actor=author,
        briefing_id=briefing.id,
        publish_at=now + timedelta(minutes=10),
    )
    session.commit()
    assert jobs.publish_due(session=session, now=now) == 0
    later = now + timedelta(minutes=11)
    assert jobs.publish_due(session=session, now=later) == 1
    assert jobs.publish_due(session=session, now=later) == 0
    session.refresh(briefing)
    assert briefing.state == "published"
    assert len(notifications(session, briefing.id)) == 5
    # The validity ends: expired by the job, kept on the server.
    assert jobs.expire_due(session=session, now=now + timedelta(hours=2)) == 0
    assert jobs.expire_due(session=session, now=now + timedelta(hours=3)) == 1
    session.refresh(briefing)
    assert briefing.state == "expired" and briefing.expired_at is not None
    assert jobs.expire_due(session=session, now=now + timedelta(hours=4)) == 0


def test_two_schedulers_racing_publish_once(app, session, world, people):
    author = actor(session, people["author"])
    now = datetime.now(UTC)
    briefing = factories.create_briefing(session, world, people["author"])
    services.schedule_briefing(
        session=session, actor=author, briefing_id=briefing.id, publish_at=now
    )
    session.commit()
    results: list[int] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        with app.app_context(), Session(app.extensions["db_engine"]) as own:
            barrier.wait()
            for _attempt in range(5):
                try:
                    results.append(jobs.publish_due(session=own, now=now + timedelta(seconds=1)))
                    return
                except Exception:  # SQLite: "database is locked" for the loser; try again
                    own.rollback()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]
    assert len(notifications(session, briefing.id)) == 5


def test_unschedule_goes_back_to_draft(session, world, people):
    author = actor(session, people["author"])
    briefing = factories.create_briefing(session, world, people["author"])
    services.schedule_briefing(
        session=session,
        actor=author,
        briefing_id=briefing.id,
        publish_at=datetime.now(UTC) + timedelta(hours=1),
    )
    services.unschedule_briefing(session=session, actor=author, briefing_id=briefing.id)
    assert briefing.state == "draft" and briefing.publish_at is None
    session.commit()
    assert jobs.publish_due(session=session, now=datetime.now(UTC) + timedelta(hours=2)) == 0


# Who sees what ---------------------------------------------------------------------------


def test_visibility_by_role_and_district(session, world, people):
    briefing = factories.create_briefing(session, world, people["author"])
    session.commit()
    for name in ("supervisor", "walker", "interrupter"):
        with pytest.raises(NotVisible):  # a draft is the author organisation's
            services.get_briefing(
                session=session, actor=actor(session, people[name]), briefing_id=briefing.id
            )
    services.publish_briefing(
        session=session, actor=actor(session, people["author"]), briefing_id=briefing.id
    )
    session.commit()
    for name in ("supervisor", "walker", "lead", "interrupter", "author"):
        services.get_briefing(
            session=session, actor=actor(session, people[name]), briefing_id=briefing.id
        )
    with pytest.raises(NotVisible):
        services.get_briefing(
            session=session, actor=actor(session, people["outsider"]), briefing_id=briefing.id
        )
    # A supervisor of a serving programme follows it (receipts) but does not change it.
    supervisor = actor(session, people["supervisor"])
    services.receipts(session=session, actor=supervisor, briefing_id=briefing.id)
    with pytest.raises(NotAllowed):
        services.unschedule_briefing(session=session, actor=supervisor, briefing_id=briefing.id)
    with pytest.raises(NotAllowed):
        services.receipts(
            session=session, actor=actor(session, people["walker"]), briefing_id=briefing.id
        )


def test_the_list_holds_what_each_role_may_open(session, world, people):
    """list_briefings follows the same rules as get_briefing, for drafts, published and expired."""
    draft = factories.create_briefing(session, world, people["author"])
    published = factories.create_briefing(session, world, people["author"], publish=True)
    expired = factories.create_briefing(session, world, people["author"], publish=True)
    published.valid_to = expired.valid_to + timedelta(days=7)
    session.add(published)
    session.flush()
    services.expire_briefings(session=session, now=expired.valid_to + timedelta(seconds=1))
    session.commit()
    session.refresh(expired)
    assert expired.state == "expired"
    later = expired.valid_to + timedelta(seconds=1)

    def listed(name: str) -> set[int]:
        found = services.list_briefings(
            session=session, actor=actor(session, people[name]), now=later
        )
        return {b.id for b in found.items}

    assert listed("author") == {draft.id, published.id, expired.id}
    # A serving programme's supervisor follows what is out; readers read what is valid.
    assert listed("supervisor") == {published.id, expired.id}
    for name in ("walker", "lead", "interrupter"):
        assert listed(name) == {published.id}, name
    assert listed("outsider") == set() and listed("researcher") == set()
    for name in ("author", "supervisor", "walker", "outsider"):
        for briefing_id in listed(name):
            services.get_briefing(
                session=session,
                actor=actor(session, people[name]),
                briefing_id=briefing_id,
                now=later,
            )


def test_current_briefing_is_the_newest_valid_one(session, world, people):
    walker = actor(session, people["walker"])
    assert services.current_briefings(session=session, actor=walker) == []
    now = datetime.now(UTC)
    old = factories.create_briefing(session, world, people["author"], publish=True)
    new = factories.create_briefing(session, world, people["author"], publish=True)
    session.commit()
    assert [b.id for b in services.current_briefings(session=session, actor=walker)] == [new.id]
    later = now + timedelta(days=3)
    assert services.current_briefings(session=session, actor=walker, now=later) == []
    assert old.id != new.id


# Receipts --------------------------------------------------------------------------------


def receipt(briefing_id, kind="acknowledged", at=None):
    return services.ReceiptInput(
        briefing_id=briefing_id, kind=kind, at=at or datetime.now(UTC) - timedelta(minutes=5)
    )


def test_receipts_are_idempotent_and_keep_the_earliest_read(session, world, people):
    briefing = factories.create_briefing(session, world, people["author"], publish=True)
    walker = actor(session, people["walker"])
    key = str(uuid.uuid4())
    first_read = datetime.now(UTC) - timedelta(hours=2)
    services.record_receipt(
        session=session,
        actor=walker,
        data=receipt(briefing.id, "read", first_read),
        client_uuid=str(uuid.uuid4()),
    )
    data = receipt(briefing.id)
    _r, created = services.record_receipt(session=session, actor=walker, data=data, client_uuid=key)
    _r, again = services.record_receipt(session=session, actor=walker, data=data, client_uuid=key)
    session.commit()
    assert created and not again
    assert len(session.exec(select(BriefingReceipt)).all()) == 2
    ack = session.exec(select(Acknowledgement)).one()
    assert ack.read_at == first_read and ack.acknowledged_at == data.at
    organisations = services.receipts(
        session=session, actor=actor(session, people["author"]), briefing_id=briefing.id
    )
    association = next(o for o in organisations if o.name == "Nattvandrare")
    assert (association.read, association.acknowledged, len(association.members)) == (1, 1, 3)


def test_receipts_view_is_audited(session, world, people):
    from interrupters.audit.models import AuditEvent

    briefing = factories.create_briefing(session, world, people["author"], publish=True)
    services.receipts(
        session=session, actor=actor(session, people["author"]), briefing_id=briefing.id
    )
    session.commit()
    events = session.exec(
        select(AuditEvent).where(AuditEvent.event == "briefing_receipts_viewed")
    ).all()
    assert len(events) == 1 and events[0].object_id in (briefing.id, str(briefing.id))


def test_attendance_is_ticked_per_organisation(session, world, people):
    briefing = factories.create_briefing(session, world, people["author"], publish=True)
    author = actor(session, people["author"])
    count = services.set_attendance(
        session=session,
        actor=author,
        briefing_id=briefing.id,
        organisation_id=world.organisations["association"].id,
        attended_user_ids=[people["walker"].id, people["outsider"].id],
    )
    session.commit()
    assert count == 1
    rows = session.exec(select(Acknowledgement).where(col(Acknowledgement.attended))).all()
    assert [r.user_id for r in rows] == [people["walker"].id]
    with pytest.raises(InvalidInput):
        services.set_attendance(
            session=session,
            actor=author,
            briefing_id=briefing.id,
            organisation_id=world.organisations["municipal"].id,
            attended_user_ids=[],
        )


def ack_payload(briefing_id, minutes_ago=5):
    at = datetime.now(STOCKHOLM) - timedelta(minutes=minutes_ago)
    return {"briefing_id": str(briefing_id), "at": at.strftime("%Y-%m-%dT%H:%M")}


def test_acknowledgement_through_the_outbox_once_and_409_on_other_content(
    client, session, world, people
):
    briefing = factories.create_briefing(session, world, people["author"], publish=True)
    session.commit()
    client.post("/login", data={"email": people["walker"].email, "password": factories.PASSWORD})
    phone = Phone(client)
    key = str(uuid.uuid4())
    payload = ack_payload(briefing.id)
    first = phone.send(payload, client_uuid=key, kind="briefing_ack")
    assert first.status_code == 201, first.get_json()
    again = phone.send(payload, client_uuid=key, kind="briefing_ack")
    assert again.status_code == 200 and again.get_json()["status"] == "replayed"
    other = phone.send(ack_payload(briefing.id, 30), client_uuid=key, kind="briefing_ack")
    assert other.status_code == 409
    read = phone.send(ack_payload(briefing.id, 60), kind="briefing_read")
    assert read.status_code == 201
    assert len(session.exec(select(BriefingReceipt)).all()) == 2
    ack = session.exec(select(Acknowledgement)).one()
    assert ack.acknowledged_at is not None and ack.read_at < ack.acknowledged_at


def test_outsider_cannot_acknowledge_through_the_outbox(client, session, world, people):
    briefing = factories.create_briefing(session, world, people["author"], publish=True)
    session.commit()
    client.post("/login", data={"email": people["outsider"].email, "password": factories.PASSWORD})
    phone = Phone(client)
    response = phone.send(ack_payload(briefing.id), kind="briefing_ack")
    # Held for its author, as for a briefing that does not exist: nothing is told or stored.
    assert response.status_code == 200 and response.get_json()["status"] == "needs_correction"
    assert session.exec(select(BriefingReceipt)).all() == []


# Screens ---------------------------------------------------------------------------------


def login(client, user):
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 302


def local(moment):
    return moment.astimezone(STOCKHOLM).strftime("%Y-%m-%dT%H:%M")


def form_data(world, **overrides):
    now = datetime.now(UTC)
    rinkeby = world.places["Rinkeby torg"].id
    return {
        "title": "Helgens lägesbild",
        "valid_from": local(now),
        "valid_to": local(now + timedelta(days=2)),
        "district_ids": str(world.districts["Järva"].id),
        "summary": "A football match on Saturday.",
        f"status-{rinkeby}": "tense",
        f"note-{rinkeby}": "Large gathering expected after the match",
        "event-0-what": "Football match",
        "event-0-where": "Rinkeby IP",
        "oncall-0-who": "Emergency",
        "oncall-0-phone": "112",
        "identifies_no_one": "y",
    } | overrides


def test_draft_preview_publish_and_read_through_the_screens(client, app, session, world, people):
    login(client, people["author"])
    page = client.get("/briefings/new")
    assert page.status_code == 200 and "114 14" in page.get_data(as_text=True)
    refused = client.post("/briefings/new", data=form_data(world, summary="Watch P-7K3Q"))
    assert refused.status_code == 422
    assert "deltagarkod" in refused.get_data(as_text=True)
    unconfirmed = form_data(world)
    del unconfirmed["identifies_no_one"]
    assert client.post("/briefings/new", data=unconfirmed).status_code == 422
    saved = client.post("/briefings/new", data=form_data(world))
    assert saved.status_code == 303
    briefing = session.exec(select(Briefing)).one()
    assert client.get(f"/briefings/{briefing.id}/edit").status_code == 200
    preview = client.get(f"/briefings/{briefing.id}/preview").get_data(as_text=True)
    assert "Large gathering expected after the match" in preview
    assert client.post(f"/briefings/{briefing.id}/publish").status_code == 303
    session.refresh(briefing)
    assert briefing.state == "published"
    assert client.get(f"/briefings/{briefing.id}/present").status_code == 200
    assert client.get(f"/briefings/{briefing.id}/receipts").status_code == 200

    walker = app.test_client()
    login(walker, people["walker"])
    current = walker.get("/briefings/current")
    body = current.get_data(as_text=True)
    assert "Large gathering expected after the match" in body
    assert 'data-outbox="briefing_ack"' in body and "data-briefing-read" in body
    expires = datetime.fromisoformat(current.headers["X-Expires-At"])
    assert abs(expires - briefing.valid_to) < timedelta(seconds=1)
    assert "no-store" in current.headers.get("Cache-Control", "")
    acknowledged = walker.post(
        f"/briefings/{briefing.id}/acknowledge", data={"briefing_id": str(briefing.id)}
    )
    assert acknowledged.status_code == 303
    assert session.exec(select(Acknowledgement)).one().acknowledged_at is not None
    # After its window the page says so (and sends no expiry: nothing to keep).
    briefing.valid_to = datetime.now(UTC) - timedelta(minutes=1)
    session.add(briefing)
    session.commit()
    gone = walker.get("/briefings/current")
    assert "ingen aktuell lägesbild" in gone.get_data(as_text=True)
    assert "X-Expires-At" not in gone.headers


def test_new_draft_starts_from_the_last_published(client, session, world, people):
    last = factories.create_briefing(
        session,
        world,
        people["author"],
        publish=True,
        on_call=[{"who": "Fältassistenterna Järva", "phone": "08-508 00 000"}],
    )
    session.commit()
    login(client, people["author"])
    body = client.get("/briefings/new").get_data(as_text=True)
    assert "Fältassistenterna Järva" in body and last.title in body
    rinkeby = world.places["Rinkeby torg"].id
    select_ = body.split(f'name="status-{rinkeby}"')[1].split("</select>")[0]
    assert '<option value="tense" selected>' in select_


def test_new_draft_shows_walk_observations_since_the_last(session, world, people, monkeypatch):
    import collections

    calls = {}

    def fake(*, session, district_ids, since, until):
        calls["since"] = since
        return {world.places["Rinkeby torg"].id: collections.Counter({"fight": 2})}

    last = factories.create_briefing(session, world, people["author"], publish=True)
    session.commit()
    try:
        import interrupters.walks.services as walks_services
    except ImportError:
        pytest.skip("the walks package has no services yet")
    monkeypatch.setattr(walks_services, "observations_by_place", fake, raising=False)
    found = services.observations_since(
        session=session,
        district_ids=[world.districts["Järva"].id],
        since=last.published_at,
        until=datetime.now(UTC),
    )
    assert found[world.places["Rinkeby torg"].id]["fight"] == 2
    assert calls["since"] == last.published_at


def test_readers_cannot_write_and_others_cannot_read(client, app, session, world, people):
    briefing = factories.create_briefing(session, world, people["author"], publish=True)
    session.commit()
    login(client, people["walker"])
    assert client.get("/briefings/new").status_code == 403
    assert client.get(f"/briefings/{briefing.id}/receipts").status_code == 403
    researcher = app.test_client()
    login(researcher, people["researcher"])
    assert researcher.get("/briefings/current").status_code == 403
    outsider = app.test_client()
    login(outsider, people["outsider"])
    assert outsider.get(f"/briefings/{briefing.id}").status_code == 404
    assert "ingen aktuell lägesbild" in outsider.get("/briefings/current").get_data(as_text=True)


def test_service_worker_keeps_the_current_briefing(client, session, world, people):
    login(client, people["walker"])
    # The worker's URL as the page registers it: a module worker's script comes without cookies.
    url = re.search(r'data-service-worker="([^"]+)"', client.get("/").get_data(as_text=True))
    assert url is not None
    sw = client.get(html.unescape(url.group(1))).get_data(as_text=True)
    assert '"/briefings/current"' in sw
    # With the read receipt's module and what it imports (the sealing for the outbox).
    assert "/js/components/briefing-read.js" in sw and "/js/lib/seal.js" in sw


def test_envelope_kind_is_bound(session, world, people, client):
    """A sealed read cannot be replayed as an acknowledgement (the kind is sealed in)."""
    briefing = factories.create_briefing(session, world, people["author"], publish=True)
    session.commit()
    login(client, people["walker"])
    phone = Phone(client)
    phone.refresh()
    key = str(uuid.uuid4())
    envelope = crypto.seal(
        phone.config["public_key"], ack_payload(briefing.id), kind="briefing_read", client_uuid=key
    )
    response = phone.send({}, client_uuid=key, kind="briefing_ack", envelope=envelope)
    assert response.status_code == 422
