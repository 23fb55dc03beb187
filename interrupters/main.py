"""The start page: what each role does first."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from interrupters.authz import PUBLIC, SIGNED_IN, guard
from interrupters.enums import Role

bp = Blueprint("main", __name__)
guard(bp, {"home": SIGNED_IN, "health": PUBLIC})


@bp.get("/")
def home() -> str | Response:
    if current_user.has_role(Role.interrupter):
        return redirect(url_for("participants.caseload"))
    if current_user.has_role(Role.supervisor):
        return redirect(url_for("contacts.review_queue"))
    if current_user.has_role(Role.admin):
        return redirect(url_for("admin.users"))
    return render_template("home.html")


@bp.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}
