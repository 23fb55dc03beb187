"""The admin's view of the audit log: filter, page, verify the chain, export as CSV."""

from __future__ import annotations

import logging

from flask import Blueprint, make_response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from interrupters.audit import services
from interrupters.audit.forms import AuditFilterForm
from interrupters.auth.values import Role
from interrupters.authz import guard
from interrupters.db import get_session, utcnow

logger = logging.getLogger(__name__)

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

ADMIN = {Role.admin}
guard(bp, {"events": ADMIN, "verify": ADMIN, "export": ADMIN})
FILTER_KEYS = ("event", "actor", "since", "until")


def _filter_form() -> AuditFilterForm:
    form = AuditFilterForm(request.args)
    form.event.choices = [
        SelectChoice(value="", label=_("All kinds")),
        *(
            SelectChoice(value=kind, label=kind)
            for kind in services.event_kinds(session=get_session())
        ),
    ]
    return form


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _events_page(form: AuditFilterForm) -> Response:
    valid = form.validate()
    session = get_session()
    page = (
        services.list_events(session=session, filters=form.filters(), before=form.before.data)
        if valid
        else services.AuditPage(events=[], actors={}, next_before=None)
    )
    # The filter without the page, for the next page's and the export's links.
    query = {key: request.args[key] for key in FILTER_KEYS if valid and request.args.get(key)}
    body = render_template(
        "audit/events.html",
        form=form,
        page=page,
        tallies=services.open_denial_tallies(session=session),
        query=query,
    )
    # A query the filter refuses is the asker's error (400), never a server error.
    return _no_store(make_response(body, 200 if valid else 400))


@bp.get("")
def events() -> Response:
    """Events newest first, filtered by kind, actor and dates, a page at a time."""
    return _events_page(_filter_form())


@bp.get("/verify")
def verify() -> Response:
    """Check every link of the chain; name the first broken one."""
    broken = services.verify_chain(session=get_session())
    return _no_store(make_response(render_template("audit/verify.html", broken=broken)))


@bp.get("/export.csv")
def export() -> Response:
    """The filtered log as a CSV file; the export itself is audited."""
    form = _filter_form()
    if not form.validate():
        return _events_page(form)
    session = get_session()
    now = utcnow()
    body, _count = services.export_events(
        session=session,
        actor_id=current_user.user_id,
        filters=form.filters(),
        headers=[
            _("Number"),
            _("Time"),
            _("Actor (user number)"),
            _("Kind"),
            _("Object type"),
            _("Object"),
            _("Organisation"),
            _("Detail"),
            _("Previous hash"),
            _("Hash"),
        ],
        now=now,
    )
    session.commit()  # the audited export
    response = make_response(body)
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    filename = f"audit-{now:%Y%m%d-%H%M}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return _no_store(response)
