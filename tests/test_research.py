"""Research projects (issue 11, item 3): request, review, and exports that give no one away.

The exports are checked from the files as downloaded (CSV and XLSX), cell by cell, against
free text, codes and dates planted in the records they come from.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from cryptography.exceptions import InvalidTag
from sqlmodel import Session, col, select

from interrupters.audit.models import AuditEvent
from interrupters.conflicts import services as conflicts
from interrupters.errors import InvalidState
from interrupters.exports import BOM_BYTES
from interrupters.research import anonymity, services
from interrupters.research.anonymity import SUPPRESSED, UNIT, anonymise
from interrupters.research.datasets import DATASETS, iso_week
from interrupters.research.models import ResearchProject
from interrupters.research.sealing import KEY_FILE, Pseudonymiser, research_key, unseal

from . import factories

EVENT_FILES = tuple(DATASETS)
WEEK = re.compile(r"^\d{4}-W\d{2}$")
# Anything finer than a week: a date, a time, a day and month.
FINE_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}|\d{8}|\d{1,2}/\d{1,2}|\d{4}-\d{2}(?!\d)(?<!W\d{2})"
)
PARTICIPANT_CODE = re.compile(r"P-[2-9A-Z]{4}")
CONFLICT_CODE = re.compile(r"C-\d{4}")
PSEUDONYM = re.compile(r"^[pwc][0-9a-f]{20}$")


# Helpers ---------------------------------------------------------------------------------------


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(BOM_BYTES)
    return list(csv.reader(io.StringIO(body[len(BOM_BYTES) :].decode("utf-8")), delimiter=";"))


def read_xlsx(body: bytes) -> dict[str, list[list[Any]]]:
    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    return {
        sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)]
        for sheet in book.worksheets
    }


def download(client, project_id: int, name: str, fmt: str):
    return client.get(f"/research/{project_id}/files/{name}.{fmt}")


def table_of(client, project_id: int, name: str, fmt: str = "csv") -> list[dict[str, Any]]:
    response = download(client, project_id, name, fmt)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    if fmt == "csv":
        header, *rows = read_csv(response.data)
    else:
        ((header, *rows),) = read_xlsx(response.data).values()
    return [dict(zip(header, row, strict=True)) for row in rows]


class Programme:
    """Participants, contacts, referrals and conflicts with free text, codes and dates planted."""

    def __init__(self, session: Session, world: factories.World) -> None:
        self.session, self.world = session, world
        self.worker = factories.create_user(session, world, "interrupter")
        self.service = factories.create_service(session, world, name=factories.marker("Svc"))
        self.planted: list[str] = []
        self.codes: list[str] = []
        self.participants: list[Any] = []

    def mark(self, prefix: str) -> str:
        text = factories.marker(prefix)
        self.planted.append(text)
        return text

    def participant(self, area: str, age_band: str, gender: str | None, contacts: int = 2) -> Any:
        participant = factories.create_participant_for(
            self.session,
            self.world,
            self.worker,
            area_id=self.world.areas[area].id,
            age_band=age_band,
            gender=gender,
            nickname=self.mark("nick")[:40],
            consent_scope=self.mark("scope"),
        )
        self.participants.append(participant)
        self.codes.append(participant.code)
        for number in range(contacts):
            factories.create_contact(
                self.session,
                self.world,
                self.worker,
                subject="participant",
                participant_id=participant.id,
                note=f"{self.mark('note')} {participant.code} 2026-03-17 21:45",
                occurred_at=datetime.now(UTC) - timedelta(days=number + 1, hours=3),
                follow_up_on=date.today() + timedelta(days=3),
            )
        factories.create_referral(
            self.session,
            self.worker,
            participant,
            self.service,
            follow_up_on=date.today() + timedelta(days=5),
        )
        return participant

    def conflict(self, area: str) -> Any:
        actor = factories.principal(self.session, self.worker)
        place = next(
            p for p in self.world.places.values() if p.area_id == self.world.areas[area].id
        )
        conflict, _ = conflicts.flag_conflict(
            session=self.session,
            actor=actor,
            data=conflicts.ConflictInput.model_validate(
                {
                    "area_id": place.area_id,
                    "place_id": place.id,
                    "detected_via": "street",
                    "catalyst": "territory",
                    "type": "group_vs_group",
                    "parties_count": 2,
                    "party_labels": [self.mark("label")],
                    "risk_level": 2,
                    "note": self.mark("flagnote"),
                    "occurred_at": datetime.now(UTC) - timedelta(days=3),
                }
            ),
            client_uuid=str(uuid.uuid4()),
        )
        self.codes.append(conflict.code)
        conflicts.update_conflict(
            session=self.session,
            actor=actor,
            conflict_id=conflict.id,
            data=conflicts.ConflictUpdateInput(
                risk_level=3,
                text=self.mark("why"),
                occurred_at=datetime.now(UTC) - timedelta(days=2),
            ),
            client_uuid=str(uuid.uuid4()),
        )
        conflicts.record_mediation(
            session=self.session,
            actor=actor,
            conflict_id=conflict.id,
            data=conflicts.MediationInput(
                mediator_ids=[self.worker.id],
                occurred_at=datetime.now(UTC) - timedelta(days=1),
                strategies=["separate_parties", "face_saving"],
                outcome="temporarily_resolved",
                follow_up_on=date.today() + timedelta(days=2),
                note=self.mark("mednote"),
            ),
            client_uuid=str(uuid.uuid4()),
        )
        return conflict


@pytest.fixture
def programme(session, world):
    data = Programme(session, world)
    # Six alike (they stay as they are) and three who stand out (they must be generalised).
    for _ in range(6):
        data.participant("Rinkeby", "15-17", "male")
    data.participant("Tensta", "18-20", "female")
    data.participant("Tensta", "21-24", "female")
    data.participant("Bredäng", "25+", None)
    for area in ("Rinkeby", "Rinkeby", "Tensta", "Tensta", "Rinkeby", "Bredäng"):
        data.conflict(area)
    session.commit()
    return data


@pytest.fixture
def researcher_client(app, session, world, login_as):
    client = app.test_client()
    researcher = login_as("researcher", client=client)
    return client, researcher


# Pseudonyms -----------------------------------------------------------------------------------


def test_pseudonyms_are_stable_within_a_project_and_differ_across_projects(
    app, session, world, programme, researcher_client
):
    client, researcher = researcher_client
    first = factories.create_research_project(session, world, researcher)
    second = factories.create_research_project(session, world, researcher)
    session.commit()

    def pseudonyms(project_id: int, name: str, fmt: str = "csv") -> set[str]:
        return {
            r["participant"] for r in table_of(client, project_id, name, fmt) if r["participant"]
        }

    in_first = pseudonyms(first.id, "contacts")
    assert len(in_first) == len(programme.participants)
    # The same in a second download, in the XLSX and in the referrals file of the project.
    assert pseudonyms(first.id, "contacts") == in_first
    assert pseudonyms(first.id, "contacts", "xlsx") == in_first
    assert pseudonyms(first.id, "referrals") == in_first
    # Another project's are all different.
    in_second = pseudonyms(second.id, "contacts")
    assert len(in_second) == len(programme.participants)
    assert not in_first & in_second
    # Workers and conflicts too.
    workers = {r["worker"] for r in table_of(client, first.id, "contacts")}
    assert workers.isdisjoint({r["worker"] for r in table_of(client, second.id, "contacts")})
    conflicts_first = {r["conflict"] for r in table_of(client, first.id, "mediations")}
    assert conflicts_first == {r["conflict"] for r in table_of(client, first.id, "level_changes")}
    assert conflicts_first.isdisjoint(
        {r["conflict"] for r in table_of(client, second.id, "mediations")}
    )


def test_a_pseudonym_is_the_keyed_hash_of_the_id_under_the_projects_secret(app, session, world):
    researcher = factories.create_user(session, world, "researcher")
    project = factories.create_research_project(session, world, researcher)
    key = research_key(app.config, app.instance_path)
    secret = services.project_secret(session=session, project=project, key=key)
    assert len(secret) == 32
    # Sealed at rest: the stored value is not the secret, and opens only with the instance key.
    assert secret.hex() not in project.sealed_secret
    assert unseal(key, project.sealed_secret) == secret
    with pytest.raises(InvalidTag):
        unseal(b"\0" * 32, project.sealed_secret)
    # A second call keeps the secret made by the first.
    assert services.project_secret(session=session, project=project, key=key) == secret
    pseudonym = Pseudonymiser(secret)
    assert pseudonym("participant", 7) == pseudonym("participant", 7)
    assert pseudonym("participant", 7) != pseudonym("worker", 7)
    # Another instance key (a restore without the instance folder): refused, not re-keyed.
    with pytest.raises(InvalidState):
        services.project_secret(session=session, project=project, key=b"\1" * 32)
    key_file = Path(app.instance_path) / KEY_FILE
    assert key_file.read_bytes() == key and key_file.stat().st_mode & 0o077 == 0


# Nothing that identifies ------------------------------------------------------------------------


def every_cell(client, project_id: int) -> list[tuple[str, str, Any]]:
    """(file and format, column, value) for every cell of every file of the project."""
    cells: list[tuple[str, str, Any]] = []
    for name in (*EVENT_FILES, "aggregates", "codebook"):
        csv_response = download(client, project_id, name, "csv")
        assert csv_response.status_code == 200
        header, *rows = read_csv(csv_response.data)
        cells += [(f"{name}.csv", "header", h) for h in header]
        cells += [(f"{name}.csv", c, v) for row in rows for c, v in zip(header, row, strict=True)]
        xlsx_response = download(client, project_id, name, "xlsx")
        assert xlsx_response.status_code == 200
        for sheet, (sheet_header, *sheet_rows) in read_xlsx(xlsx_response.data).items():
            cells += [
                (f"{name}.xlsx:{sheet}", str(c), v)
                for row in sheet_rows
                for c, v in zip(sheet_header, row, strict=True)
            ]
    return cells


def test_no_free_text_no_code_and_no_date_finer_than_a_week_in_any_file(
    session, world, programme, researcher_client
):
    client, researcher = researcher_client
    project = factories.create_research_project(session, world, researcher)
    session.commit()
    cells = every_cell(client, project.id)
    assert len(cells) > 500
    service_name = programme.service.name
    for where, column, value in cells:
        text = "" if value is None else str(value)
        for planted in (*programme.planted, service_name):
            assert planted not in text, f"{where} {column}: free text {planted!r}"
        for code in programme.codes:
            assert code not in text, f"{where} {column}: code {code}"
        if where.startswith("codebook"):
            continue  # the codebook's own words (it names no record)
        assert not PARTICIPANT_CODE.search(text), f"{where} {column}: {text!r}"
        assert not CONFLICT_CODE.search(text), f"{where} {column}: {text!r}"
        if column in ("participant", "worker", "conflict"):
            assert PSEUDONYM.match(text) or not text, f"{where} {column}: {text!r}"
            continue
        if where.startswith("aggregates") and column == "month":
            assert re.fullmatch(r"\d{4}-\d{2}", text), text  # a month, coarser than a week
            continue
        assert not FINE_DATE.search(text), f"{where} {column}: a date finer than a week {text!r}"
        if column in ("week", "status_week", "closed_week") and text:
            assert WEEK.match(text), f"{where} {column}: {text!r}"
    # The weeks are the records' own weeks.
    weeks = {r["week"] for r in table_of(client, project.id, "contacts")}
    assert iso_week(datetime.now(UTC) - timedelta(days=1, hours=3)) in weeks


# k-anonymity ------------------------------------------------------------------------------------


def combinations(rows: list[dict[str, Any]]) -> dict[tuple, set]:
    groups: dict[tuple, set] = defaultdict(set)
    for row in rows:
        # A community contact (no participant) is a person of its own.
        who = row["participant"] or id(row)
        groups[(row["area"], row["age_band"], row["gender"])].add(who)
    return groups


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_no_combination_of_area_age_band_and_gender_holds_fewer_than_5(
    session, world, programme, researcher_client, fmt
):
    client, researcher = researcher_client
    # A community contact with a rare age band: a person of its own, and alone.
    factories.create_contact(session, world, programme.worker, subject="person", age_band="<15")
    project = factories.create_research_project(session, world, researcher)
    session.commit()
    for name in ("contacts", "referrals"):
        rows = table_of(client, project.id, name, fmt)
        assert rows
        for combination, people in combinations(rows).items():
            assert len(people) >= 5, f"{name}: {combination} holds {len(people)}"
        # Generalised, not emptied: the nine participants are all there, under one key.
        assert len({r["participant"] for r in rows if r["participant"]}) == 9
    # Conflicts are the unit of the conflict files: six conflicts, every area value >= 5 of them.
    for name in ("mediations", "level_changes"):
        rows = table_of(client, project.id, name, fmt)
        by_area: dict[str, set] = defaultdict(set)
        for row in rows:
            by_area[row["area"]].add(row["conflict"])
        assert all(len(c) >= 5 for c in by_area.values()), by_area


def test_the_same_person_has_the_same_generalised_values_in_every_file(
    session, world, programme, researcher_client
):
    """Two files of a project cannot be laid over each other to narrow a person down."""
    client, researcher = researcher_client
    project = factories.create_research_project(session, world, researcher)
    session.commit()
    seen: dict[str, set] = defaultdict(set)
    for row in table_of(client, project.id, "contacts") + table_of(client, project.id, "referrals"):
        if row["participant"]:
            seen[row["participant"]].add((row["age_band"], row["gender"]))
    assert seen and all(len(values) == 1 for values in seen.values())


def _rows(spec: list[tuple[str, str, str, int]]) -> list[dict[str, Any]]:
    """Synthetic rows: (area, age band, gender, how many people)."""
    rows, unit = [], 0
    for area, band, gender, count in spec:
        for _ in range(count):
            unit += 1
            rows.append({UNIT: unit, "area": area, "age_band": band, "gender": gender, "x": unit})
    return rows


def _hierarchies():
    district = {"Rinkeby": "Järva", "Tensta": "Järva", "Bredäng": "Skärholmen"}
    from interrupters.research.datasets import PERSON_HIERARCHIES_REST

    area = anonymity.Hierarchy(
        "area",
        (
            anonymity.Level("area", lambda a: a),
            anonymity.Level("district", lambda a: district[a]),
            anonymity.Level("programme", lambda _a: "all"),
        ),
        cost=3,
    )
    return (area, *PERSON_HIERARCHIES_REST)


def test_anonymise_keeps_what_is_common_and_generalises_the_least_it_must():
    # Large groups everywhere: nothing to do.
    outcome = anonymise(
        {"f": _rows([("Rinkeby", "15-17", "male", 6), ("Tensta", "18-20", "female", 5)])},
        _hierarchies(),
    )
    assert outcome.levels == {"area": "area", "age_band": "band", "gender": "recorded"}
    assert outcome.suppressed_units == 0
    # Genders split the groups: gender goes to "any" first (it costs least).
    outcome = anonymise(
        {
            "f": _rows(
                [
                    ("Rinkeby", "15-17", "male", 3),
                    ("Rinkeby", "15-17", "female", 3),
                    ("Tensta", "18-20", "male", 3),
                    ("Tensta", "18-20", "female", 2),
                ]
            )
        },
        _hierarchies(),
    )
    assert outcome.levels == {"area": "area", "age_band": "band", "gender": "any"}
    assert {(r["area"], r["age_band"], r["gender"]) for r in outcome.files["f"]} == {
        ("Rinkeby", "15-17", "any"),
        ("Tensta", "18-20", "any"),
    }


def test_anonymise_suppresses_and_withholds_a_lone_outlier():
    """One person of forty-one stands out: suppressing them beats generalising everyone, and
    alone among the suppressed they are withheld."""
    rows = _rows([("Rinkeby", "15-17", "male", 40), ("Bredäng", "25+", "female", 1)])
    outcome = anonymise({"f": rows}, _hierarchies())
    assert outcome.levels == {"area": "area", "age_band": "band", "gender": "recorded"}
    assert outcome.suppressed_units == 1
    assert outcome.withheld_rows == {"f": 1}
    assert len(outcome.files["f"]) == 40
    assert all(r["area"] == "Rinkeby" for r in outcome.files["f"])


def test_anonymise_shows_suppressed_rows_when_they_are_five_or_more():
    rows = _rows(
        [("Rinkeby", "15-17", "male", 200)]
        + [
            (area, band, "female", 1)
            for area, band in (
                ("Tensta", "<15"),
                ("Tensta", "21-24"),
                ("Bredäng", "18-20"),
                ("Bredäng", "<15"),
                ("Rinkeby", "25+"),
                ("Rinkeby", "21-24"),
            )
        ]
    )
    outcome = anonymise({"f": rows}, _hierarchies())
    suppressed = [r for r in outcome.files["f"] if r["area"] == SUPPRESSED]
    assert len(suppressed) == 6 and outcome.withheld_rows == {"f": 0}
    assert all(r["age_band"] == SUPPRESSED and r["gender"] == SUPPRESSED for r in suppressed)


def test_anonymise_suppresses_a_person_in_every_file_at_once():
    """A person whose combination fails in one file is suppressed in the other too, and the
    check repeats until every file holds."""
    a = _rows([("Rinkeby", "15-17", "male", 5)])
    b = [dict(r) for r in a[:3]]  # three of the five in a second file: too few there
    outcome = anonymise({"a": a, "b": b}, _hierarchies(), budget=1.0)
    for rows in outcome.files.values():
        groups: dict[tuple, int] = defaultdict(int)
        for row in rows:
            groups[(row["area"], row["age_band"], row["gender"])] += 1
        assert all(count >= 5 for count in groups.values()), groups


# The codebook ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_codebook_names_every_column_of_every_file(
    session, world, programme, researcher_client, fmt
):
    client, researcher = researcher_client
    project = factories.create_research_project(session, world, researcher)
    session.commit()
    book = table_of(client, project.id, "codebook", "csv") if fmt == "csv" else None
    if fmt == "xlsx":
        sheets = read_xlsx(download(client, project.id, "codebook", "xlsx").data)
        codebook_sheet = next(
            rows for title, rows in sheets.items() if len(rows[0]) == 6 and rows[0][1] == "column"
        )
        header, *rows = codebook_sheet
        book = [dict(zip(header, row, strict=True)) for row in rows]
    described = {(r["file"], r["column"]) for r in book if r["column"]}
    if fmt == "csv":
        # Each file has a line of its own (no column) saying what was done to it.
        file_lines = {r["file"]: r for r in book if not r["column"]}
        assert set(file_lines) == {*EVENT_FILES, "aggregates"}
        assert "k=5" in file_lines["contacts"]["treatment"]
        book = [r for r in book if r["column"]]
    written = set()
    for name in (*EVENT_FILES, "aggregates"):
        response = download(client, project.id, name, fmt)
        header = (
            read_csv(response.data)[0]
            if fmt == "csv"
            else next(iter(read_xlsx(response.data).values()))[0]
        )
        written |= {(name, column) for column in header}
    assert written == described
    for row in book:
        assert row["meaning"] and row["type"] and row["treatment"], row
    # Every column says what it may hold (the pseudonyms as a pattern the files match).
    assert all(row["allowed_values"] for row in book), [r for r in book if not r["allowed_values"]]
    participant = next(r for r in book if r["file"] == "contacts" and r["column"] == "participant")
    assert re.fullmatch(participant["allowed_values"].strip("^$"), "p" + "0" * 20)
    # The generalisation is told where it was done, with the steps.
    area = next(r for r in book if r["file"] == "contacts" and r["column"] == "area")
    assert "k=5" in area["treatment"]


def test_the_codebook_describes_only_the_files_the_project_may_take(
    session, world, programme, researcher_client
):
    client, researcher = researcher_client
    project = factories.create_research_project(session, world, researcher, files=("mediations",))
    session.commit()
    files = {r["file"] for r in table_of(client, project.id, "codebook")}
    assert files == {"aggregates", "mediations"}
    assert download(client, project.id, "contacts", "csv").status_code == 404


# Who gets what --------------------------------------------------------------------------------


def events(session: Session, event: str, project_id: int) -> list[AuditEvent]:
    session.expire_all()
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.event == event, AuditEvent.object_id == str(project_id))
            .order_by(col(AuditEvent.id))
        )
    )


@pytest.mark.parametrize("state", ["requested", "refused", "withdrawn", "expired"])
def test_an_unapproved_refused_withdrawn_or_expired_project_gets_nothing(
    session, world, programme, researcher_client, state
):
    client, researcher = researcher_client
    project = factories.create_research_project(
        session, world, researcher, state="approved" if state == "expired" else state
    )
    if state == "expired":
        project.expires_on = date.today() - timedelta(days=1)
        session.add(project)
    session.commit()
    for name in ("aggregates", *EVENT_FILES, "codebook"):
        for fmt in ("csv", "xlsx"):
            response = download(client, project.id, name, fmt)
            assert response.status_code == 403, (state, name, fmt)
            assert response.mimetype == "text/html"
    assert events(session, "research_export", project.id) == []
    page = client.get(f"/research/{project.id}").get_data(as_text=True)
    assert "/files/" not in page


def test_another_researchers_project_is_not_found(session, world, programme, researcher_client):
    client, _researcher = researcher_client
    other = factories.create_user(session, world, "researcher")
    project = factories.create_research_project(session, world, other)
    session.commit()
    assert client.get(f"/research/{project.id}").status_code == 404
    assert download(client, project.id, "contacts", "csv").status_code == 404
    assert project.title not in client.get("/research/").get_data(as_text=True)


def test_every_download_is_in_the_audit_log_with_its_project(
    session, world, programme, researcher_client
):
    client, researcher = researcher_client
    project = factories.create_research_project(session, world, researcher)
    session.commit()
    wanted = []
    for name in ("aggregates", *EVENT_FILES, "codebook"):
        for fmt in ("csv", "xlsx"):
            response = download(client, project.id, name, fmt)
            assert response.status_code == 200
            assert "no-store" in response.headers["Cache-Control"]
            wanted.append((name, fmt))
    logged = events(session, "research_export", project.id)
    assert [(e.detail["file"], e.detail["format"]) for e in logged] == wanted
    assert all(e.actor_id == researcher.id for e in logged)
    assert all(e.organisation_id == world.organisations["programme"].id for e in logged)


# Request and review -----------------------------------------------------------------------------


def request_form(world, **overrides: str) -> dict[str, Any]:
    today = date.today()
    return {
        "organisation_id": str(world.organisations["programme"].id),
        "title": "Utvärdering av Järva fredsbyggare",
        "institution": "Kriminologiska institutionen, Stockholms universitet",
        "ethics_reference": "Dnr 2026-01234-01",
        "aim": "Do mediations cool conflicts?",
        "period_start": (today - timedelta(days=90)).isoformat(),
        "period_end": (today + timedelta(days=90)).isoformat(),
        "expires_on": (today + timedelta(days=365)).isoformat(),
        "requested_files": ["contacts", "mediations"],
    } | overrides


def test_a_researcher_requests_and_a_supervisor_approves(app, session, world, login_as):
    researcher_client = app.test_client()
    researcher = login_as("researcher", client=researcher_client)
    response = researcher_client.post("/research/new", data=request_form(world))
    assert response.status_code == 303
    project = session.exec(
        select(ResearchProject).where(ResearchProject.requested_by_id == researcher.id)
    ).one()
    assert project.state == "requested" and project.requested_files == ["contacts", "mediations"]
    assert events(session, "research_project_requested", project.id)
    assert download(researcher_client, project.id, "aggregates", "csv").status_code == 403

    # A supervisor of another programme does not see it; one of this programme reviews it.
    outsider = app.test_client()
    login_as("supervisor", client=outsider, organisation="other_programme")
    assert outsider.get(f"/research/{project.id}").status_code == 404
    assert (
        outsider.post(f"/research/{project.id}/review", data={"decision": "approve"}).status_code
        == 404
    )
    supervisor_client = app.test_client()
    supervisor = login_as("supervisor", client=supervisor_client)
    page = supervisor_client.get("/research/")
    assert project.title in page.get_data(as_text=True)
    # The researcher cannot approve their own project.
    assert (
        researcher_client.post(
            f"/research/{project.id}/review", data={"decision": "approve"}
        ).status_code
        == 403
    )
    response = supervisor_client.post(
        f"/research/{project.id}/review",
        data={"decision": "approve", "approved_files": ["mediations"], "note": "Mediations only."},
    )
    assert response.status_code == 303
    session.refresh(project)
    assert project.state == "approved" and project.approved_files == ["mediations"]
    assert project.reviewed_by_id == supervisor.id
    (approved,) = events(session, "research_project_approved", project.id)
    assert approved.detail == {"files": ["mediations"]}
    assert download(researcher_client, project.id, "mediations", "csv").status_code == 200
    assert download(researcher_client, project.id, "contacts", "csv").status_code == 404
    # Decided once.
    again = supervisor_client.post(
        f"/research/{project.id}/review", data={"decision": "refuse", "note": "x"}
    )
    assert again.status_code == 409

    # Withdrawn: nothing more.
    response = supervisor_client.post(
        f"/research/{project.id}/withdraw", data={"note": "The ethics approval lapsed."}
    )
    assert response.status_code == 303
    assert events(session, "research_project_withdrawn", project.id)
    assert download(researcher_client, project.id, "mediations", "csv").status_code == 403


def test_a_refusal_needs_a_reason_that_names_no_one(app, session, world, login_as, programme):
    researcher = factories.create_user(session, world, "researcher")
    project = factories.create_research_project(session, world, researcher, state="requested")
    session.commit()
    client = app.test_client()
    login_as("supervisor", client=client)
    url = f"/research/{project.id}/review"
    assert client.post(url, data={"decision": "refuse"}).status_code == 422
    code = programme.participants[0].code
    response = client.post(url, data={"decision": "refuse", "note": f"Ask about {code}"})
    assert response.status_code == 422
    assert (
        client.post(
            url, data={"decision": "refuse", "note": "No ethics approval for events."}
        ).status_code
        == 303
    )
    session.refresh(project)
    assert project.state == "refused" and project.approved_files == []
    assert events(session, "research_project_refused", project.id)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"period_end": "2020-01-01"}, "period"),
        ({"expires_on": (date.today() - timedelta(days=1)).isoformat()}, "expires"),
        ({"ethics_reference": ""}, "ethics"),
        ({"period_start": "2019-01-01"}, "too long"),
    ],
)
def test_a_request_with_wrong_dates_or_no_ethics_reference_is_refused(
    app, session, world, login_as, overrides, field
):
    client = app.test_client()
    login_as("researcher", client=client)
    response = client.post("/research/new", data=request_form(world, **overrides))
    assert response.status_code == 422, field
    assert session.exec(select(ResearchProject)).first() is None


def test_research_pages_show_no_person_level_data(app, session, world, programme, login_as):
    """The project pages, for the researcher and the supervisor, show terms and definitions:
    no code, no note, no nickname."""
    for role in ("researcher", "supervisor"):
        client = app.test_client()
        user = login_as(role, client=client)
        owner = (
            user if role == "researcher" else factories.create_user(session, world, "researcher")
        )
        project = factories.create_research_project(session, world, owner)
        session.commit()
        for url in ("/research/", f"/research/{project.id}", "/research/new"):
            body = client.get(url).get_data(as_text=True)
            for text in (*programme.codes, *programme.planted):
                assert text not in body, (role, url, text)


def test_the_aggregates_come_from_the_figures_with_small_counts_suppressed(
    session, world, programme, researcher_client
):
    client, researcher = researcher_client
    project = factories.create_research_project(session, world, researcher, files=())
    session.commit()
    rows = table_of(client, project.id, "aggregates")
    totals = [r["contacts"] for r in rows if r["area"] == "all" and r["contacts"] not in ("0",)]
    # Eighteen participant contacts (nine participants, two each) in the last days: shown.
    assert sum(int(t) for t in totals if t.isdigit()) >= 18
    # One participant of Bredäng met (by the participant's area): suppressed.
    bredang = [r["participants_active"] for r in rows if r["area"] == "Bredäng"]
    assert bredang and set(bredang) <= {"<5", "0"} and "<5" in bredang
    # Every column of the figures is an indicator of the reports package, in its order.
    from interrupters.reports.indicators import INDICATORS

    assert list(rows[0])[3:] == [i.name for i in INDICATORS]
