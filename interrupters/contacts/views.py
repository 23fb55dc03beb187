"""Log a contact, the worker's own contacts, and the supervisor's review queue."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from interrupters.auth.services import display_names
from interrupters.auth.values import Role
from interrupters.authz import deny, guard
from interrupters.contacts import services
from interrupters.contacts.forms import (
    STOCKHOLM,
    BulkApproveForm,
    ContactForm,
    QueueFilterForm,
    ReviewForm,
    contact_input,
    prepare_contact_form,
)
from interrupters.contacts.models import Contact
from interrupters.contacts.records import CONTACT, bind_form
from interrupters.contacts.values import ReviewDecision, ReviewState
from interrupters.db import get_session
from interrupters.errors import InvalidInput
from interrupters.forms import blank, location_value, options
from interrupters.htmx import is_htmx, render_page_or_block
from interrupters.paging import Cursor
from interrupters.participants import services as participants
from interrupters.places.services import area_names, areas_with_places, place_names
from interrupters.records.correction import held_to_correct, show_errors, submit_form
from interrupters.records.services import held_records, shown_errors

bp = Blueprint("contacts", __name__)

LOG = {Role.interrupter, Role.supervisor}
guard(
    bp,
    {
        "new": LOG,
        "mine": LOG,
        "detail": LOG,
        "edit": LOG,
        "review_queue": {Role.supervisor},
        "team": {Role.supervisor},
        "review": {Role.supervisor},
        "approve_many": {Role.supervisor},
    },
)


# The states whose contacts wait for someone: their headings say how many.
WAITING = (ReviewState.returned, ReviewState.submitted, ReviewState.corrected)


def _cursor() -> Cursor | None:
    """The page asked for: after the `before` cursor (a garbled one is the first page)."""
    return services.read_cursor(request.args.get("before"))


def _list_url(endpoint: str, **changes: Any) -> str:
    """This list's own address with its filters kept and `changes` applied (None drops one)."""
    args: dict[str, Any] = dict(request.view_args or {})
    args |= {k: v for k, v in request.args.items() if k not in ("before", "state", *changes)}
    args |= {k: v for k, v in changes.items() if v is not None}
    return url_for(endpoint, **args)


def _state(value: str | None) -> ReviewState | None:
    try:
        return ReviewState(value or "")
    except ValueError:
        return None


def _prepare_form(form: ContactForm, *include: int | None) -> ContactForm:
    return prepare_contact_form(form, session=get_session(), actor=current_user, include=include)


def _show_errors(form: ContactForm, errors: dict[str, str]) -> None:
    for name, message in errors.items():
        field = getattr(form, "location" if name in ("area_id", "place_id") else name, None)
        target = field if field is not None else form.occurred_at
        target.errors = [*target.errors, message] if isinstance(target.errors, list) else [message]


def _render_form(form: ContactForm, contact: Contact | None, status: int = 200) -> tuple[str, int]:
    if status != 200 and contact is None:
        # Nothing was stored under this UUID: the corrected form gets a new one at submit.
        form.client_uuid.data = ""
    comment = None
    if contact is not None and contact.id is not None:
        review = services.latest_reviews(session=get_session(), contact_ids=[contact.id]).get(
            contact.id
        )
        comment = review.comment if review and review.decision == ReviewDecision.returned else None
    return render_template(
        "contacts/form.html", form=form, contact=contact, reviews_comment=comment
    ), status


@bp.route("/contacts/new", methods=["GET", "POST"])
def new() -> Any:
    session = get_session()
    preselect = request.args.get("participant", type=int)
    form = _prepare_form(ContactForm(), preselect if preselect and preselect < 2**31 else None)
    if request.method == "GET":
        now_local = datetime.now(STOCKHOLM).replace(second=0, microsecond=0)
        form.occurred_at.data = now_local.replace(tzinfo=None)
        area_id, place_id = services.last_location(session=session, actor=current_user)
        form.location.data = location_value(area_id, place_id)
        if preselect is not None:
            form.participant_id.data = str(preselect)
        held = held_to_correct("contact")
        if held is not None:
            # Correcting a record the server held: its content, its reasons, a new UUID.
            form = bind_form(held.payload, session=session, actor=current_user)
            form.held_id.data = str(held.id)
            show_errors(form, shown_errors(held.errors))
        return _render_form(form, None)
    result = submit_form(CONTACT, form)
    if result.errors is not None:
        return _render_form(form, None, 422)
    session.commit()
    flash(
        _("The contact is saved and sent for review.")
        if result.created
        else _("The contact was already saved."),
        "success",
    )
    refer = form.participant_id.data or ""
    if form.referrals.data and refer.isdigit():
        # The referral chips are a shortcut: offer to start a referral for this participant
        # (by id, never the code in a URL); the chips stay on the contact as they are.
        return redirect(url_for("contacts.mine", refer=int(refer)), 303)
    return redirect(url_for("contacts.mine"), 303)


@bp.get("/contacts")
def mine() -> str:
    """The worker's contacts, those that need them first, a page at a time."""
    session = get_session()
    start, cursor = _state(request.args.get("state")), _cursor()
    page = services.own_contacts(session=session, actor=current_user, start=start, cursor=cursor)
    # A later page continues the state the previous one ended in.
    first_page = start is None or cursor is None
    grouped: dict[str, list[Contact]] = {}
    for contact in page.items:
        grouped.setdefault(contact.review_state, []).append(contact)
    continued = None if first_page or not page.items else page.items[0].review_state
    return render_template(
        "contacts/mine.html",
        held=held_records(session=session, actor=current_user, kind="contact")
        if first_page
        else [],
        page=page,
        grouped=grouped,
        # A heading that htmx would append a second time is left out of a later page.
        continued=continued if is_htmx() else None,
        counts=services.own_counts(session=session, actor=current_user, states=WAITING),
        reviews=services.latest_reviews(
            session=session, contact_ids=[c.id for c in page.items if c.id]
        ),
        codes=services.participant_codes(session=session, contacts=page.items),
        refer=request.args.get("refer", type=int),
        more_url=_list_url(
            "contacts.mine", state=page.next_state, before=page.next_cursor, refer=None
        )
        if page.has_more
        else None,
        first_url=None if first_page else url_for("contacts.mine"),
    )


@bp.get("/contacts/<int:contact_id>")
def detail(contact_id: int) -> str:
    session = get_session()
    contact = services.get_contact(session=session, actor=current_user, contact_id=contact_id)
    return render_template(
        "contacts/detail.html",
        contact=contact,
        history=services.review_history(session=session, contact_id=contact_id),
        can_edit=services.can_edit(current_user, contact),
        can_review=(
            current_user.role_in(contact.organisation_id) == Role.supervisor
            and contact.worker_id != current_user.user_id
            and contact.review_state in services.QUEUE_STATES
        ),
        review_form=ReviewForm(),
        codes=services.participant_codes(session=session, contacts=[contact]),
        places=place_names(session=session),
        areas=area_names(session=session),
        names=display_names(session=session, user_ids=[contact.worker_id]),
    )


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
def edit(contact_id: int) -> Any:
    session = get_session()
    contact = services.get_contact(session=session, actor=current_user, contact_id=contact_id)
    if contact.worker_id != current_user.user_id:
        deny(403)  # the team reads; only the author edits, a supervisor returns it
    if not services.can_edit(current_user, contact):
        flash(_("This contact can no longer be changed."), "error")
        return redirect(url_for("contacts.detail", contact_id=contact_id), 303)
    form = _prepare_form(
        ContactForm(obj=contact) if request.method == "GET" else ContactForm(),
        contact.participant_id,
    )
    if request.method == "GET":
        form.occurred_at.data = contact.occurred_at.astimezone(STOCKHOLM).replace(tzinfo=None)
        form.location.data = location_value(contact.area_id, contact.place_id)
        form.participant_id.data = str(contact.participant_id or "")
        return _render_form(form, contact)
    if not form.validate_on_submit():
        return _render_form(form, contact, 422)
    try:
        data = contact_input(form.data, session=session)
        services.update_contact(
            session=session, actor=current_user, contact_id=contact_id, data=data
        )
    except InvalidInput as error:
        _show_errors(form, error.errors)
        return _render_form(form, contact, 422)
    session.commit()
    flash(
        _("The contact is corrected and back for review.")
        if contact.review_state == ReviewState.corrected
        else _("Saved."),
        "success",
    )
    return redirect(url_for("contacts.mine"), 303)


def _chosen(field: Any) -> int | None:
    return int(field.data) if field.data and not field.errors else None


TEAM_WEEKS = 12  # the dashboard's span


@bp.get("/contacts/team")
def team() -> str:
    """The team's contacts of a week (or the dashboard's twelve), of one worker or all."""
    session = get_session()
    week = request.args.get("week", default="")
    try:
        monday = date.fromisoformat(week) if week else None
    except ValueError:
        monday = None
    today = datetime.now(STOCKHOLM).date()
    if monday is not None:
        monday -= timedelta(days=monday.weekday())
        first, last = monday, monday + timedelta(weeks=1)
    else:
        first = today - timedelta(days=today.weekday(), weeks=TEAM_WEEKS - 1)
        last = today + timedelta(days=1)
    workers = participants.organisation_workers(session=session, actor=current_user)
    names = {u.id: u.display_name for u in workers}
    worker_id = request.args.get("worker_id", type=int)
    cursor = _cursor()
    page = services.team_contacts(
        session=session,
        actor=current_user,
        since=datetime.combine(first, time(), STOCKHOLM),
        until=datetime.combine(last, time(), STOCKHOLM),
        worker_id=worker_id if worker_id in names else None,
        cursor=cursor,
    )
    return render_template(
        "contacts/team.html",
        page=page,
        more_url=_list_url("contacts.team", before=page.next_cursor) if page.has_more else None,
        first_url=_list_url("contacts.team") if cursor else None,
        names=names,
        worker=names.get(worker_id) if worker_id else None,
        first=first,
        last=last - timedelta(days=1),
        places=place_names(session=session),
        areas=area_names(session=session),
    )


@bp.get("/review")
def review_queue() -> Any:
    session = get_session()
    filters = QueueFilterForm(request.args)
    workers = participants.organisation_workers(session=session, actor=current_user)
    filters.worker_id.choices = blank(
        options((u.id, u.display_name) for u in workers), _("Everyone")
    )
    filters.area_id.choices = blank(
        options((g.area.id, g.area.name) for g in areas_with_places(session=session)),
        _("All areas"),
    )
    filters.validate()
    chosen: dict[str, Any] = {
        # A filter that is not one of its choices (a hand-made URL) filters nothing.
        "worker_id": _chosen(filters.worker_id),
        "area_id": _chosen(filters.area_id),
        "day_from": filters.day_from.data if not filters.day_from.errors else None,
        "day_to": filters.day_to.data if not filters.day_to.errors else None,
        "local_tz": STOCKHOLM,
    }
    cursor = _cursor()
    page = services.review_queue_page(session=session, actor=current_user, cursor=cursor, **chosen)
    waiting, _oldest = services.review_backlog(session=session, actor=current_user, **chosen)
    queue = page.items
    return render_page_or_block(
        "contacts/review_queue.html",
        "queue",
        filters=filters,
        queue=queue,
        page=page,
        waiting=waiting,
        more_url=_list_url("contacts.review_queue", before=page.next_cursor)
        if page.has_more
        else None,
        reviews=services.latest_reviews(session=session, contact_ids=[c.id for c in queue if c.id]),
        codes=services.participant_codes(session=session, contacts=queue),
        places=place_names(session=session),
        areas=area_names(session=session),
        names={u.id: u.display_name for u in workers},
        bulk_form=BulkApproveForm(),
        review_form=ReviewForm(),
        stale_after=timedelta(days=2),
    )


@bp.post("/review/<int:contact_id>")
def review(contact_id: int) -> Any:
    session = get_session()
    form = ReviewForm()
    if not form.validate_on_submit():
        flash(_("Choose approve or return."), "error")
        return redirect(url_for("contacts.detail", contact_id=contact_id), 303)
    try:
        contact = services.review_contact(
            session=session,
            actor=current_user,
            contact_id=contact_id,
            decision=ReviewDecision(form.decision.data),
            comment=form.comment.data or "",
        )
    except InvalidInput:
        flash(_("Write a comment that tells the worker what to correct."), "error")
        return redirect(url_for("contacts.detail", contact_id=contact_id), 303)
    session.commit()
    flash(
        _("Approved.")
        if contact.review_state == ReviewState.approved
        else _("Returned to the worker."),
        "success",
    )
    return redirect(url_for("contacts.review_queue"), 303)


@bp.post("/review/approve")
def approve_many() -> Response:
    form = BulkApproveForm()
    if form.validate_on_submit() and form.contact_ids.data:
        session = get_session()
        count = services.approve_contacts(
            session=session, actor=current_user, contact_ids=form.contact_ids.data
        )
        session.commit()
        flash(ngettext("%(num)d contact approved.", "%(num)d contacts approved.", count), "success")
    else:
        flash(_("Tick the contacts to approve."), "error")
    return redirect(url_for("contacts.review_queue"), 303)
