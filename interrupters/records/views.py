"""Records the server holds for correction: the author's list, its correction, its discarding,
and who in the team has records waiting (DESIGN.md, guarantee 3)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from interrupters.auth.values import Role
from interrupters.authz import SIGNED_IN, guard
from interrupters.db import get_session
from interrupters.errors import NotVisible
from interrupters.records import KINDS
from interrupters.records import services as records
from interrupters.records.models import HeldRecord

bp = Blueprint("records", __name__, url_prefix="/records")
guard(
    bp,
    {
        "held": SIGNED_IN,
        "held_detail": SIGNED_IN,
        "discard": SIGNED_IN,
        "team": {Role.supervisor},
    },
)


@bp.app_context_processor
def _waiting() -> dict[str, Any]:
    def held_waiting() -> int:
        """The signed-in person's records that wait for correction (a page asks once)."""
        if not current_user.is_authenticated:
            return 0
        if "held_waiting" not in g:
            g.held_waiting = records.held_count(session=get_session(), actor=current_user)
        return int(g.held_waiting)

    return {"held_waiting": held_waiting}


def correction_url(held: HeldRecord) -> str | None:
    """Where the author corrects a held record: its kind's own form, filled from it."""
    kind = KINDS.get(held.kind)
    if kind is None:
        return None
    return url_for(kind.correct, held=held.id, **kind.correct_args(held.payload))


def _view(held: HeldRecord) -> dict[str, Any]:
    kind = KINDS.get(held.kind)
    return {
        "row": held,
        "label": kind.label if kind else held.kind,
        "errors": records.shown_errors(held.errors),
        "correct": correction_url(held),
    }


@bp.get("/held")
def held() -> str:
    """The person's records that need correction, every kind in one list."""
    rows = records.held_records(session=get_session(), actor=current_user)
    return render_template("records/held.html", held=[_view(row) for row in rows])


@bp.get("/held/<int:held_id>")
def held_detail(held_id: int) -> str:
    row = records.get_held(session=get_session(), actor=current_user, held_id=held_id)
    if row is None:
        raise NotVisible()
    return render_template("records/held_detail.html", held=_view(row))


@bp.post("/held/<int:held_id>/discard")
def discard(held_id: int) -> Response:
    session = get_session()
    records.discard_held(session=session, actor=current_user, held_id=held_id)
    session.commit()
    flash(_("The record is discarded. The audit log notes that it was."), "success")
    return redirect(url_for("records.held"), 303)


@bp.get("/held/team")
def team() -> str:
    """Who in the supervisor's organisation has records waiting for correction."""
    waiting = records.team_waiting(session=get_session(), actor=current_user)
    return render_template("records/team.html", waiting=waiting)
