"""Request, review and withdraw research projects; hand out their files, every one audited."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidTag
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from sqlalchemy import update
from sqlmodel import Session, col, or_, select

from interrupters.audit.services import record_event
from interrupters.auth.models import Organisation
from interrupters.auth.principal import Principal
from interrupters.auth.values import OrganisationType, Role
from interrupters.db import utcnow
from interrupters.errors import InvalidInput, InvalidState, NotAllowed, NotVisible
from interrupters.identifying import identifying_problem
from interrupters.reports.services import MAX_MONTHS
from interrupters.research import aggregates, datasets, files
from interrupters.research.models import EventFile, ProjectState, ResearchProject
from interrupters.research.sealing import new_sealed_secret, unseal

logger = logging.getLogger(__name__)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
AGGREGATES = "aggregates"
CODEBOOK = "codebook"
# What a download may be: the aggregates, an event-level file, the codebook.
DOWNLOADS = (AGGREGATES, *(f.value for f in EventFile), CODEBOOK)
FORMATS = ("csv", "xlsx")


def local_today(now: datetime) -> date:
    return now.astimezone(STOCKHOLM).date()


# Requests ------------------------------------------------------------------------------------


class ProjectInput(BaseModel):
    organisation_id: int
    title: str = Field(min_length=3, max_length=200)
    institution: str = Field(min_length=2, max_length=200)
    ethics_reference: str = Field(min_length=3, max_length=80)
    aim: str = Field(default="", max_length=1000)
    period_start: date
    period_end: date
    expires_on: date
    requested_files: list[EventFile] = Field(default_factory=list)

    @field_validator("title", "institution", "ethics_reference", "aim", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _dates(self) -> ProjectInput:
        if self.period_end < self.period_start:
            raise ValueError(_l("The period ends before it starts."))
        if self.expires_on < self.period_start:
            raise ValueError(_l("Access would end before the period starts."))
        months = (self.period_end.year - self.period_start.year) * 12 + (
            self.period_end.month - self.period_start.month
        )
        if months >= MAX_MONTHS:
            # The figures are computed for at most this many months at a time.
            raise ValueError(_l("The period covers at most %(count)d months.", count=MAX_MONTHS))
        return self


def programmes_of(*, session: Session, actor: Principal) -> list[Organisation]:
    """The programmes (cv_programme organisations) where `actor` is a researcher."""
    ids = actor.organisations(Role.researcher)
    if not ids:
        return []
    return list(
        session.exec(
            select(Organisation)
            .where(col(Organisation.id).in_(ids))
            .where(Organisation.type == OrganisationType.cv_programme.value)
            .order_by(col(Organisation.name))
        )
    )


def request_project(
    *, session: Session, actor: Principal, data: dict[str, Any], now: datetime | None = None
) -> ResearchProject:
    """A researcher asks a programme for a project; its supervisors review it."""
    now = now or utcnow()
    try:
        valid = ProjectInput.model_validate(data)
    except ValidationError as error:
        raise InvalidInput.from_validation(error) from error
    if valid.organisation_id not in {o.id for o in programmes_of(session=session, actor=actor)}:
        raise InvalidInput({"organisation_id": _l("Choose a programme you are a researcher of.")})
    if valid.expires_on <= local_today(now):
        raise InvalidInput({"expires_on": _l("Access must end after today.")})
    project = ResearchProject(
        organisation_id=valid.organisation_id,
        title=valid.title,
        institution=valid.institution,
        ethics_reference=valid.ethics_reference,
        aim=valid.aim,
        period_start=valid.period_start,
        period_end=valid.period_end,
        expires_on=valid.expires_on,
        requested_files=[f.value for f in EventFile if f in valid.requested_files],
        approved_files=[],
        state=ProjectState.requested.value,
        requested_by_id=actor.user_id,
        requested_at=now,
    )
    session.add(project)
    session.flush()
    record_event(
        session=session,
        event="research_project_requested",
        actor_id=actor.user_id,
        object_type="research_project",
        object_id=project.id,
        organisation_id=project.organisation_id,
        detail={"files": project.requested_files},
        now=now,
    )
    return project


# Who sees which project ---------------------------------------------------------------------


def visible_projects(*, session: Session, actor: Principal) -> list[ResearchProject]:
    """A researcher's own projects; the projects of a supervisor's programmes."""
    conditions: list[Any] = []
    if actor.has_role(Role.researcher):
        conditions.append(col(ResearchProject.requested_by_id) == actor.user_id)
    supervised = actor.organisations(Role.supervisor)
    if supervised:
        conditions.append(col(ResearchProject.organisation_id).in_(supervised))
    if not conditions:
        return []
    return list(
        session.exec(
            select(ResearchProject)
            .where(or_(*conditions))
            .order_by(col(ResearchProject.requested_at).desc())
        )
    )


def _is_owner(actor: Principal, project: ResearchProject) -> bool:
    return project.requested_by_id == actor.user_id and project.organisation_id in (
        actor.organisations(Role.researcher)
    )


def _is_reviewer(actor: Principal, project: ResearchProject) -> bool:
    return project.organisation_id in actor.organisations(Role.supervisor)


def get_project(*, session: Session, actor: Principal, project_id: int) -> ResearchProject:
    """The project, for its researcher or a supervisor of its programme; 404 for anyone else."""
    project = session.get(ResearchProject, project_id)
    if project is None or not (_is_owner(actor, project) or _is_reviewer(actor, project)):
        raise NotVisible()
    return project


def is_open(project: ResearchProject, *, now: datetime) -> bool:
    """Approved and not expired: the only state in which anything is handed out."""
    return project.state == ProjectState.approved.value and local_today(now) <= project.expires_on


def status_of(project: ResearchProject, *, now: datetime) -> str:
    """The state as a reader needs it: an approved project past its expiry is "expired"."""
    if project.state == ProjectState.approved.value and not is_open(project, now=now):
        return "expired"
    return project.state


# Review --------------------------------------------------------------------------------------


class ReviewInput(BaseModel):
    decision: str = Field(pattern="^(approve|refuse)$")
    approved_files: list[EventFile] = Field(default_factory=list)
    note: str = Field(default="", max_length=500)

    @field_validator("note", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value


def review_project(
    *,
    session: Session,
    actor: Principal,
    project_id: int,
    data: dict[str, Any],
    now: datetime | None = None,
) -> ResearchProject:
    """A supervisor of the programme approves the project (for the files chosen, at most those
    asked for) or refuses it with a reason."""
    now = now or utcnow()
    project = get_project(session=session, actor=actor, project_id=project_id)
    # One role per organisation (auth.models.Membership): the researcher who asked is never
    # also a supervisor of the programme, so no one approves their own project.
    if not _is_reviewer(actor, project):
        raise NotAllowed()
    if project.state != ProjectState.requested.value:
        raise InvalidState()
    try:
        valid = ReviewInput.model_validate(data)
    except ValidationError as error:
        raise InvalidInput.from_validation(error) from error
    # The reason goes to someone outside the programme: no participant code, no identity number.
    problem = identifying_problem(valid.note) if valid.note else None
    if problem is not None:
        raise InvalidInput({"note": problem})
    if valid.decision == "refuse":
        if not valid.note:
            raise InvalidInput({"note": _l("Say why the project is refused.")})
        project.state = ProjectState.refused.value
        project.approved_files = []
    else:
        if local_today(now) > project.expires_on:
            raise InvalidInput({"decision": _l("The project's access has already ended.")})
        asked = set(project.requested_files)
        extra = [f.value for f in valid.approved_files if f.value not in asked]
        if extra:
            raise InvalidInput({"approved_files": _l("Approve only files the project asked for.")})
        project.state = ProjectState.approved.value
        project.approved_files = [f.value for f in EventFile if f in valid.approved_files]
    project.reviewed_by_id = actor.user_id
    project.reviewed_at = now
    project.review_note = valid.note
    session.add(project)
    record_event(
        session=session,
        event=f"research_project_{project.state}",
        actor_id=actor.user_id,
        object_type="research_project",
        object_id=project.id,
        organisation_id=project.organisation_id,
        detail={"files": project.approved_files},
        now=now,
    )
    return project


def withdraw_project(
    *,
    session: Session,
    actor: Principal,
    project_id: int,
    note: str,
    now: datetime | None = None,
) -> ResearchProject:
    """A supervisor ends an approved project's access before its expiry."""
    now = now or utcnow()
    project = get_project(session=session, actor=actor, project_id=project_id)
    if not _is_reviewer(actor, project):
        raise NotAllowed()
    if project.state != ProjectState.approved.value:
        raise InvalidState()
    note = note.strip()
    if not note:
        raise InvalidInput({"note": _l("Say why the approval is withdrawn.")})
    if len(note) > 500:
        raise InvalidInput({"note": _l("Use at most %(count)d characters.", count=500)})
    problem = identifying_problem(note)
    if problem is not None:
        raise InvalidInput({"note": problem})
    project.state = ProjectState.withdrawn.value
    project.reviewed_by_id = actor.user_id
    project.reviewed_at = now
    project.review_note = note
    session.add(project)
    record_event(
        session=session,
        event="research_project_withdrawn",
        actor_id=actor.user_id,
        object_type="research_project",
        object_id=project.id,
        organisation_id=project.organisation_id,
        now=now,
    )
    return project


# The project's secret ----------------------------------------------------------------------


def project_secret(*, session: Session, project: ResearchProject, key: bytes) -> bytes:
    """The project's pseudonym secret, made (random, sealed) the first time it is needed.

    Two first downloads at once must not make two secrets: only the update that finds the
    column still empty writes, and both then read what was stored."""
    if not project.sealed_secret:
        session.execute(
            update(ResearchProject)
            .where(col(ResearchProject.id) == project.id)
            .where(col(ResearchProject.sealed_secret) == "")
            .values(sealed_secret=new_sealed_secret(key))
        )
        session.flush()
        session.refresh(project)
    try:
        return unseal(key, project.sealed_secret)
    except InvalidTag as error:
        # The instance folder's research.key is not the one that sealed it (a restore
        # without the instance folder): new pseudonyms would silently break the project's
        # joins, so nothing is handed out until the key is back.
        logger.error("research.key does not open project %s's secret", project.id)
        raise InvalidState() from error


# Downloads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    filename: str
    body: bytes
    mimetype: str
    rows: int


def downloads_of(project: ResearchProject) -> list[str]:
    """What the project may take: the aggregates, its approved files, the codebook."""
    return [AGGREGATES, *(f for f in DOWNLOADS if f in project.approved_files), CODEBOOK]


def open_project(
    *, session: Session, actor: Principal, project_id: int, now: datetime
) -> ResearchProject:
    """The project, for its own researcher, while approved and unexpired; nothing otherwise."""
    project = get_project(session=session, actor=actor, project_id=project_id)
    if not _is_owner(actor, project) or not is_open(project, now=now):
        raise NotAllowed()
    return project


def export_file(
    *,
    session: Session,
    actor: Principal,
    project_id: int,
    name: str,
    fmt: str,
    key: bytes,
    now: datetime | None = None,
) -> Download:
    """One file of an open project, as CSV or XLSX; the download is audited with the project."""
    now = now or utcnow()
    project = open_project(session=session, actor=actor, project_id=project_id, now=now)
    if fmt not in FORMATS or name not in downloads_of(project):
        raise NotVisible()
    header: tuple[str, ...]
    table: list[list[Any]]
    if name == CODEBOOK:
        book = codebook(session=session, project=project, key=key, now=now)
        body = (
            # One table in a CSV: each file's own line (column empty) before its columns.
            files.csv_file(book.header, book.with_files())
            if fmt == "csv"
            else files.xlsx_file(
                {
                    str(_l("Codebook")): (book.header, book.rows),
                    str(_l("Files")): (book.file_header, book.file_rows),
                }
            )
        )
        rows = len(book.rows)
    else:
        if name == AGGREGATES:
            header, table = aggregate_table(session=session, project=project, now=now)
        else:
            built = datasets.build_event_files(
                session=session,
                project=project,
                secret=project_secret(session=session, project=project, key=key),
                now=now,
            )
            header, table = built.table(name)
        body = (
            files.csv_file(header, table)
            if fmt == "csv"
            else files.xlsx_file({name: (header, table)})
        )
        rows = len(table)
    record_event(
        session=session,
        event="research_export",
        actor_id=actor.user_id,
        object_type="research_project",
        object_id=project.id,
        organisation_id=project.organisation_id,
        detail={"file": name, "format": fmt, "rows": rows},
        now=now,
    )
    return Download(
        filename=f"project-{project.id}-{name}.{fmt}",
        body=body,
        mimetype=files.MIMETYPES[fmt],
        rows=rows,
    )


# Aggregates ----------------------------------------------------------------------------------


def aggregate_table(
    *, session: Session, project: ResearchProject, now: datetime
) -> tuple[tuple[str, ...], list[list[Any]]]:
    """The programme's area-month figures of the project's period, small counts suppressed."""
    return aggregates.table(session=session, project=project, now=now)


# The codebook ----------------------------------------------------------------------------------


@dataclass
class Codebook:
    header: tuple[str, ...]
    rows: list[list[Any]]
    file_header: tuple[str, ...]
    file_rows: list[list[Any]]

    def with_files(self) -> list[list[Any]]:
        """The column lines with a line per file first (its column empty): what one row is,
        which records, and the disclosure control applied."""
        out: list[list[Any]] = []
        for name, title, row, selection, _count, disclosure in self.file_rows:
            out.append([name, "", f"{title}. {row} {selection}", "", "", disclosure])
            out.extend(line for line in self.rows if line[0] == name)
        return out


CODEBOOK_HEADER = ("file", "column", "meaning", "type", "allowed_values", "treatment")
FILES_HEADER = ("file", "title", "row", "selection", "rows", "disclosure_control")


def codebook(*, session: Session, project: ResearchProject, key: bytes, now: datetime) -> Codebook:
    """Every column of every file the project may take, from the files' own definitions,
    with what this project's anonymisation did to each."""
    places = datasets.Places.load(session)
    built = datasets.build_event_files(
        session=session,
        project=project,
        secret=project_secret(session=session, project=project, key=key),
        now=now,
    )
    rows: list[list[Any]] = []
    file_rows: list[list[Any]] = []
    header, table = aggregate_table(session=session, project=project, now=now)
    for line in aggregates.columns(header):
        rows.append([AGGREGATES, *line])
    file_rows.append(
        [
            AGGREGATES,
            str(_l("Area-month figures")),
            str(_l("One indicator of one area (or district) in one month.")),
            str(_l("The programme's figures in the project's period.")),
            len(table),
            str(aggregates.DISCLOSURE),
        ]
    )
    for name, dataset in datasets.DATASETS.items():
        if name not in project.approved_files:
            continue
        outcome = built.outcomes.get(name)
        for column_name in dataset.columns:
            column = datasets.COLUMNS[column_name]
            rows.append(
                [
                    name,
                    column.name,
                    str(column.meaning),
                    f"{column.kind.value}: {datasets.KIND_TEXT[column.kind]}",
                    datasets.allowed_values(column, dataset, outcome, places),
                    datasets.treatment(column, dataset, outcome),
                ]
            )
        file_rows.append(
            [
                name,
                str(dataset.title),
                str(dataset.row),
                str(dataset.selection),
                len(built.rows.get(name, [])),
                disclosure_text(outcome, name),
            ]
        )
    return Codebook(
        header=CODEBOOK_HEADER, rows=rows, file_header=FILES_HEADER, file_rows=file_rows
    )


def disclosure_text(outcome: datasets.Outcome | None, name: str) -> str:
    if outcome is None:
        return ""
    levels = ", ".join(f"{column}: {level}" for column, level in outcome.levels.items())
    return str(
        _l(
            "k-anonymity with k=5 over %(units)d units (participants, or conflicts). "
            "Generalisation chosen: %(levels)s. Units suppressed: %(suppressed)d. "
            "Rows withheld: %(withheld)d.",
            units=outcome.units,
            levels=levels,
            suppressed=outcome.suppressed_units,
            withheld=outcome.withheld_rows.get(name, 0),
        )
    )
