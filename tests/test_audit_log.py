"""The audit log on screen: filters, keyset pages, hostile queries, verification, CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from interrupters.audit.models import AuditEvent
from interrupters.audit.services import DENIALS_IN_FULL, PAGE_SIZE, record_event, window_start

from . import factories
from .test_audit import deny_many, tamper

ROW_ID = re.compile(r"<tr>\s*<td>(\d+)</td>")


def shown_ids(response) -> list[int]:
    return [int(found) for found in ROW_ID.findall(response.get_data(as_text=True))]


@pytest.fixture
def admin(login_as):
    return login_as("admin")


def test_filters_by_kind_actor_and_dates(client, session, world, admin):
    worker = factories.create_user(session, world, "interrupter")
    old = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    first = record_event(session=session, event="participant_read", actor_id=worker.id, now=old)
    second = record_event(session=session, event="export", actor_id=worker.id)
    third = record_event(session=session, event="export", actor_id=admin.id)
    session.commit()

    assert shown_ids(client.get("/admin/audit?event=export")) == [third.id, second.id]
    assert shown_ids(client.get(f"/admin/audit?actor={worker.id}")) == [second.id, first.id]
    response = client.get("/admin/audit?since=2026-01-10&until=2026-01-10")
    assert shown_ids(response) == [first.id]
    # A Stockholm day: 23:30 UTC on the 9th is already the 10th in Stockholm.
    late = record_event(
        session=session, event="login", now=datetime(2026, 1, 9, 23, 30, tzinfo=UTC)
    )
    session.commit()
    response = client.get("/admin/audit?since=2026-01-10&until=2026-01-10")
    # Newest first by number (the order of the chain), whatever the times say.
    assert shown_ids(response) == [late.id, first.id]
    assert "no-store" in response.headers["Cache-Control"]


def test_pages_are_bounded_and_follow_the_keyset(client, session, admin):
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for index in range(PAGE_SIZE + 7):
        record_event(session=session, event="export", now=start + timedelta(minutes=index))
    session.commit()
    first = client.get("/admin/audit?event=export")
    ids = shown_ids(first)
    assert len(ids) == PAGE_SIZE and ids == sorted(ids, reverse=True)
    older = re.search(r'href="(/admin/audit\?[^"]*before=\d+[^"]*)"', first.get_data(as_text=True))
    assert older is not None
    second = client.get(older.group(1).replace("&amp;", "&"))
    rest = shown_ids(second)
    assert len(rest) == 7 and max(rest) < min(ids)
    # The first page's link comes back from an older page.
    assert 'href="/admin/audit?event=export"' in second.get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    [
        "actor=abc",
        "actor=0",
        "actor=99999999999999999999",
        "before=-1",
        "before=99999999999",
        "since=0001-01-01",
        "until=9999-12-31",
        "since=2026-13-40",
        "since=2026-12-05&until=2026-01-01",
        "event=%00",
        "event=" + "x" * 500,
        "event=drop%20table",
    ],
)
def test_hostile_queries_are_refused_not_errors(client, session, admin, query):
    record_event(session=session, event="login")
    session.commit()
    assert client.get(f"/admin/audit?{query}").status_code == 400
    assert client.get(f"/admin/audit/export.csv?{query}").status_code == 400
    # A refused export is not an export.
    assert not session.exec(select(AuditEvent).where(AuditEvent.event == "export")).all()


def test_unknown_parameters_are_ignored(client, admin):
    assert client.get("/admin/audit?page=-5&sort=1;DROP").status_code == 200


def test_verification_names_the_first_broken_event(client, session, admin):
    events = [record_event(session=session, event="export", detail={"rows": n}) for n in range(3)]
    session.commit()
    page = client.get("/admin/audit/verify").get_data(as_text=True)
    assert 'class="success"' in page and 'class="error"' not in page
    tamper(
        session,
        "UPDATE audit_event SET detail = :detail WHERE id = :id",
        detail='{"rows": 7}',
        id=events[1].id,
    )
    response = client.get("/admin/audit/verify")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'class="error"' in page
    assert f"before={events[1].id + 1}" in page
    assert str(events[1].id) in page


def test_export_is_excel_friendly_formula_safe_and_audited(client, session, world, admin):
    worker = factories.create_user(session, world, "interrupter")
    record_event(
        session=session,
        event="contact_reviewed",
        actor_id=worker.id,
        object_type="contact",
        object_id='=HYPERLINK("http://x")',
        detail={"decision": "approved"},
    )
    record_event(session=session, event="login", actor_id=worker.id)
    session.commit()
    response = client.get(f"/admin/audit/export.csv?event=contact_reviewed&actor={worker.id}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 2  # the header and the one matching event
    header, row = rows
    assert len(header) == len(row) == 10
    assert row[3] == "contact_reviewed"
    assert row[5] == '\'=HYPERLINK("http://x")'
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in row)
    (export,) = session.exec(select(AuditEvent).where(AuditEvent.event == "export")).all()
    assert export.actor_id == admin.id
    assert export.object_type == "audit_log"
    assert export.detail["rows"] == 1
    assert export.detail["event"] == "contact_reviewed"
    assert export.detail["actor_id"] == worker.id


def test_the_page_shows_denials_still_being_counted(client, session, world, admin):
    walker = factories.create_user(session, world, "night_walker")
    session.commit()
    deny_many(session, walker.id, DENIALS_IN_FULL + 17, start=window_start(datetime.now(UTC)))
    page = client.get("/admin/audit").get_data(as_text=True)
    assert f"{DENIALS_IN_FULL + 17}" in page
