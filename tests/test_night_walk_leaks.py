"""Nothing of the programme's records reaches the night-walk side (issue 5, DESIGN.md).

A participant code and a conflict's party label are planted in the programme's records (a
participant, a contact note, a conflict's label and note, at the very places the weekend's
briefing and walk reports talk about). Then every role opens every page of the briefings and
the walks (drafts, previews, the new draft that starts from last weekend, the presentation,
receipts, the CSV for the municipality), its notifications and the texts of every push made
on the way, and neither string is in any of them.

The situational picture (issue 12) too: with an interrupter's place signal at the very square
and the programme sharing its signals, every page of the picture (the open and the closed
period, the map, the observation and signal forms the phone keeps offline) and the
lägesbild export for the month, and every stored observation.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlmodel import Session, select

from interrupters.conflicts import services as conflict_services
from interrupters.i18n import render_for
from interrupters.picture import services as picture
from interrupters.picture.models import PicturePeriod, PlaceObservation
from interrupters.push.models import Notification

from . import factories
from .test_access_matrix import COLUMNS, Records, app_rules, make_records, sign_in, url_of

# The pages a night walker, an association lead or a briefing author can reach, and the
# notifications every role gets.
BLUEPRINTS = ("briefings", "walks", "push", "main", "picture")


def plant(session: Session, world: factories.World, records: Records) -> None:
    """Put the code and the label where a careless briefing or report would pick them up."""
    worker = factories.create_user(session, world, "interrupter")
    place = world.places["Rinkeby torg"]
    factories.create_contact(
        session,
        world,
        worker,
        subject="participant",
        participant_id=records.participant_id,
        note=f"Met {records.participant_code} with {records.party_label} at the square.",
    )
    conflict_services.flag_conflict(
        session=session,
        actor=factories.principal(session, worker),
        data=conflict_services.ConflictInput.model_validate(
            {
                "area_id": place.area_id,
                "place_id": place.id,
                "detected_via": "street",
                "catalyst": "online_provocation",
                "type": "group_vs_group",
                "parties_count": 2,
                "party_labels": [records.party_label, "the square group"],
                "risk_level": 4,
                "occurred_at": datetime.now(ZoneInfo("Europe/Stockholm")) - timedelta(hours=2),
                "note": f"{records.participant_code} is close to it.",
            }
        ),
        client_uuid=str(uuid.uuid4()),
    )
    # An urgent walk report from last night (it alerts the programme's supervisor) and a new
    # briefing: both push, and both feed the next draft.
    supervisor = factories.create_user(session, world, "supervisor")
    lead = factories.create_user(session, world, "association_lead")
    walk = factories.create_walk(
        session, world, lead, planned_start=datetime.now(UTC) - timedelta(hours=8)
    )
    factories.create_walk_report(
        session, world, factories.create_user(session, world, "night_walker"), walk, urgent=True
    )
    factories.create_briefing(session, world, supervisor, publish=True)
    # The programme's explicit place signal at the square, shared with the partners.
    picture.send_place_signal(
        session=session,
        actor=factories.principal(session, worker),
        data=picture.SignalInput(
            place_id=place.id or 0,
            observed_at=datetime.now(UTC) - timedelta(minutes=30),
            kind="tension_between_groups",
            severity="3",
        ),
        client_uuid=str(uuid.uuid4()),
    )
    picture.set_signal_sharing(
        session=session, actor=factories.principal(session, supervisor), share=True
    )
    session.commit()


def pages(app: Flask, records: Records) -> list[str]:
    """Every GET page of the night-walk side, with the records' ids filled in."""
    found = []
    for rule in app_rules(app):
        if rule.endpoint.partition(".")[0] not in BLUEPRINTS or "GET" not in (rule.methods or ()):
            continue
        if rule.endpoint == "main.health":
            continue
        found.append(url_of(app, rule, records))
    return found


@pytest.mark.parametrize("column", COLUMNS)
def test_no_page_push_or_csv_of_the_night_walk_side_shows_programme_records(
    app, session, world, login_as, column
):
    client, user = sign_in(app, login_as, column)
    records = make_records(session, world, column, user)
    plant(session, world, records)
    secrets = (records.participant_code, records.party_label)

    urls = pages(app, records)
    assert any(url.startswith("/briefings") for url in urls) and any(
        url.startswith("/walks") for url in urls
    )
    # The season's CSV and figures with a range that holds the planted records.
    year = datetime.now(UTC).year
    urls.append(f"/walks/season.csv?since={year - 1}-01-01&until={year}-12-31")
    # The lägesbild for this month, and a new briefing drafted from the picture.
    month = datetime.now(ZoneInfo("Europe/Stockholm")).strftime("%Y-%m")
    urls.append(f"/picture/district/{records.district_id}/lagesbild.csv?month={month}")
    urls.append(f"/briefings/new?district_ids={records.district_id}")
    assert any(url.startswith("/picture/district/") for url in urls)
    opened = 0
    for url in urls:
        response = client.get(url)
        body = response.get_data(as_text=True)
        for secret in secrets:
            assert secret not in body, f"{column} GET {url} shows {secret}"
        opened += response.status_code == 200
    if column != "anonymous":
        assert opened > 0, f"{column} opened no page at all: the test would prove nothing"

    # Every stored observation and every closed period's snapshot.
    session.expire_all()
    stored = [o.note for o in session.exec(select(PlaceObservation))] + [
        repr(p.snapshot) + p.summary for p in session.exec(select(PicturePeriod))
    ]
    for text in stored:
        for secret in secrets:
            assert secret not in text

    # What every push and in-app notification said, in both languages.
    session.expire_all()
    notifications = session.exec(select(Notification)).all()
    kinds = {n.kind for n in notifications}
    assert {"briefing_published", "walk_report_urgent"} <= kinds, kinds
    for notification in notifications:
        for locale in ("sv", "en"):
            with app.test_request_context():
                texts = render_for(notification.title, locale) + render_for(
                    notification.body, locale
                )
            for secret in secrets:
                assert secret not in texts, f"{notification.kind} push says {secret}"
