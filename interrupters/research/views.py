"""Research projects: the researcher's list, request form and downloads; the supervisor's review.

Nothing here is person-level: a project's pages show its terms and the files' definitions, and
the files themselves are pseudonymised, coarsened and k-anonymised (datasets.py).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from interrupters.auth.services import display_names
from interrupters.auth.values import Role
from interrupters.authz import guard
from interrupters.db import get_session, utcnow
from interrupters.errors import InvalidInput
from interrupters.research import datasets, forms, services
from interrupters.research.sealing import research_key

logger = logging.getLogger(__name__)

bp = Blueprint("research", __name__, url_prefix="/research")

BOTH = {Role.researcher, Role.supervisor}
guard(
    bp,
    {
        "index": BOTH,
        "new": {Role.researcher},
        "detail": BOTH,
        "review": {Role.supervisor},
        "withdraw": {Role.supervisor},
        "download": {Role.researcher},
    },
)


def _key() -> bytes:
    return research_key(current_app.config, current_app.instance_path)


@bp.get("/")
def index() -> Any:
    session = get_session()
    now = utcnow()
    projects = services.visible_projects(session=session, actor=current_user)
    return render_template(
        "research/index.html",
        projects=projects,
        statuses={p.id: services.status_of(p, now=now) for p in projects},
        names=display_names(session=session, user_ids=[p.requested_by_id for p in projects]),
        may_request=bool(services.programmes_of(session=session, actor=current_user)),
    )


@bp.route("/new", methods=["GET", "POST"])
def new() -> Any:
    session = get_session()
    form = forms.ProjectForm()
    programmes = services.programmes_of(session=session, actor=current_user)
    form.organisation_id.choices = [(str(p.id), p.name) for p in programmes]
    if request.method == "POST" and form.validate_on_submit():
        try:
            project = services.request_project(
                session=session,
                actor=current_user,
                data=forms.project_input(form),
            )
        except InvalidInput as error:
            forms.show_errors(form, error.errors)
        else:
            session.commit()
            flash(_("The project is sent to the programme's supervisors for review."), "success")
            return redirect(url_for("research.detail", project_id=project.id), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("research/new.html", form=form, programmes=programmes), status


def _render_detail(
    project_id: int, review_form: Any = None, withdraw_form: Any = None, status: int = 200
) -> Any:
    session = get_session()
    now = utcnow()
    project = services.get_project(session=session, actor=current_user, project_id=project_id)
    reviewer = project.organisation_id in current_user.organisations(Role.supervisor)
    owner = project.requested_by_id == current_user.user_id
    if review_form is None:
        review_form = forms.ReviewForm(approved_files=project.requested_files)
    review_form.approved_files.choices = [
        c for c in forms.FILE_CHOICES if c.value in project.requested_files
    ]
    return (
        render_template(
            "research/detail.html",
            project=project,
            status_code=services.status_of(project, now=now),
            is_open=services.is_open(project, now=now),
            owner=owner,
            reviewer=reviewer,
            downloads=services.downloads_of(project),
            datasets=datasets.DATASETS,
            file_labels=forms.FILE_LABELS,
            names=display_names(
                session=session,
                user_ids=[project.requested_by_id, project.reviewed_by_id or 0],
            ),
            review_form=review_form,
            withdraw_form=withdraw_form or forms.WithdrawForm(),
        ),
        status,
    )


@bp.get("/<int:project_id>")
def detail(project_id: int) -> Any:
    return _render_detail(project_id)


@bp.post("/<int:project_id>/review")
def review(project_id: int) -> Any:
    session = get_session()
    project = services.get_project(session=session, actor=current_user, project_id=project_id)
    form = forms.ReviewForm()
    form.approved_files.choices = [
        c for c in forms.FILE_CHOICES if c.value in project.requested_files
    ]
    if form.validate_on_submit():
        try:
            services.review_project(
                session=session,
                actor=current_user,
                project_id=project_id,
                data={
                    "decision": form.decision.data,
                    "approved_files": form.approved_files.data or [],
                    "note": form.note.data or "",
                },
            )
        except InvalidInput as error:
            forms.show_errors(form, error.errors)
        else:
            session.commit()
            flash(_("The decision is saved."), "success")
            return redirect(url_for("research.detail", project_id=project_id), 303)
    return _render_detail(project_id, review_form=form, status=422)


@bp.post("/<int:project_id>/withdraw")
def withdraw(project_id: int) -> Any:
    session = get_session()
    services.get_project(session=session, actor=current_user, project_id=project_id)
    form = forms.WithdrawForm()
    if form.validate_on_submit():
        try:
            services.withdraw_project(
                session=session,
                actor=current_user,
                project_id=project_id,
                note=form.note.data or "",
            )
        except InvalidInput as error:
            forms.show_errors(form, error.errors)
        else:
            session.commit()
            flash(_("The approval is withdrawn: nothing more can be downloaded."), "success")
            return redirect(url_for("research.detail", project_id=project_id), 303)
    return _render_detail(project_id, withdraw_form=form, status=422)


@bp.get("/<int:project_id>/files/<file_name>.<any(csv, xlsx):file_format>")
def download(project_id: int, file_name: str, file_format: str) -> Response:
    session = get_session()
    found = services.export_file(
        session=session,
        actor=current_user,
        project_id=project_id,
        name=file_name,
        fmt=file_format,
        key=_key(),
    )
    session.commit()  # the audited download
    response = Response(found.body, mimetype=found.mimetype)
    response.headers["Content-Type"] = found.mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
