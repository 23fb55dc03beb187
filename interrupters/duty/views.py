"""Going on and off duty: escalations in the areas of a shift reach the worker at once."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import IntegerField
from wtforms.validators import DataRequired, NumberRange

from interrupters.authz import guard
from interrupters.db import get_session
from interrupters.duty import services
from interrupters.errors import InvalidInput
from interrupters.forms import MultiCheckboxField, options
from interrupters.places.services import area_names, areas_with_places

bp = Blueprint("duty", __name__, url_prefix="/duty")
guard(bp, {"index": set(services.DUTY_ROLES), "end": set(services.DUTY_ROLES)})


class DutyForm(FlaskForm):
    area_ids = MultiCheckboxField(_l("Areas"), coerce=int, validate_choice=False)
    hours = IntegerField(
        _l("Hours"), default=6, validators=[DataRequired(), NumberRange(min=1, max=16)]
    )


@bp.route("/", methods=["GET", "POST"])
def index() -> Any:
    session = get_session()
    form = DutyForm()
    groups = areas_with_places(session=session)
    form.area_ids.choices = options((g.area.id, g.area.name) for g in groups)
    if form.validate_on_submit():
        try:
            services.start_duty(
                session=session,
                actor=current_user,
                area_ids=form.area_ids.data or [],
                hours=form.hours.data or 0,
            )
        except InvalidInput as error:
            form.area_ids.errors = [str(m) for m in error.errors.values()]
        else:
            session.commit()
            flash(_("You are on duty. Escalations in your areas reach you at once."), "success")
            return redirect(url_for("conflicts.index"), 303)
    current = services.current_duty(session=session, actor=current_user)
    return render_template(
        "duty/index.html", form=form, current=current, areas=area_names(session=session)
    ), (422 if form.errors else 200)


@bp.post("/end")
def end() -> Response:
    session = get_session()
    services.end_duty(session=session, actor=current_user)
    session.commit()
    flash(_("You are off duty."), "success")
    return redirect(url_for("conflicts.index"), 303)
