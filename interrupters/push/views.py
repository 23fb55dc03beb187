"""The notification list, acknowledging, and this browser's push subscription."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from interrupters.authz import SIGNED_IN, guard
from interrupters.db import get_session
from interrupters.errors import InvalidInput
from interrupters.htmx import is_htmx
from interrupters.paging import Cursor
from interrupters.push import jobs, services
from interrupters.push.webpush import application_server_key
from interrupters.security import local_path

logger = logging.getLogger(__name__)

bp = Blueprint("push", __name__)
# Everyone signed in manages their own subscriptions and reads their own notifications;
# the services see to "own".
guard(
    bp,
    {
        "notifications": SIGNED_IN,
        "mark_read": SIGNED_IN,
        "acknowledge": SIGNED_IN,
        "subscribe": SIGNED_IN,
        "unsubscribe": SIGNED_IN,
    },
)


@bp.app_template_filter("message")
def _message_filter(message: dict[str, Any]) -> str:
    """A stored notification text in the reader's language."""
    return services.render_message(message)


@bp.app_context_processor
def _unread() -> dict[str, Any]:
    def unread_notifications() -> int:
        """The nav's count, once per request and only for pages that show it."""
        if not current_user.is_authenticated:
            return 0
        if "unread_notifications" not in g:
            g.unread_notifications = services.unread_count(
                session=get_session(), user_id=current_user.user_id
            )
        return int(g.unread_notifications)

    def push_key() -> str:
        """The VAPID public key for PushManager.subscribe() (made on first use)."""
        return application_server_key(current_app)

    return {"unread_notifications": unread_notifications, "push_key": push_key}


@bp.after_app_request
def _deliver_created(response: Response) -> Response:
    """Send at once what this request notified (any blueprint, the sync endpoint too).

    After the view's commit; rows a view did not commit are invisible to the sender's own
    session, so nothing uncommitted is ever sent.
    """
    session = g.get("db_session")
    if session is not None and session.info.get(services.CREATED):
        jobs.deliver_created(session=session)
    return response


def _answer(body: dict[str, Any], status: int) -> tuple[dict[str, Any], int, dict[str, str]]:
    return body, status, {"Cache-Control": "no-store"}


@bp.get("/notifications")
def notifications() -> str:
    session = get_session()
    cursor = Cursor.decode(request.args.get("before"), expect=datetime)
    page = services.list_notifications(session=session, actor=current_user, cursor=cursor)
    repeats = services.repeats_of(session=session, rows=page.items)
    return render_template(
        "push/notifications.html",
        page=page,
        rows=page.items,
        repeats=repeats,
        later_page=cursor is not None,
    )


@bp.post("/notifications/read")
def mark_read() -> Response:
    db = get_session()
    services.mark_all_read(session=db, actor=current_user)
    db.commit()
    return redirect(url_for("push.notifications"), 303)


@bp.post("/notifications/<int:notification_id>/acknowledge")
def acknowledge(notification_id: int) -> str | Response:
    db = get_session()
    row = services.acknowledge(session=db, actor=current_user, notification_id=notification_id)
    db.commit()
    if is_htmx():
        repeats = services.repeats_of(session=db, rows=[row])
        response = Response(render_template("push/_notification.html", row=row, repeats=repeats))
        response.vary.add("HX-Request")
        return response
    flash(_("Acknowledged."), "success")
    # The banner on every page sends its page back (a path in this app only).
    back = local_path(request.form.get("next"))
    if back is not None:
        return redirect(back, 303)
    return redirect(url_for("push.notifications"), 303)


@bp.post("/push/subscriptions")
def subscribe() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Store this browser's subscription (JSON from the opt-in), or renew it ("refresh")."""
    body = request.get_json(silent=True)
    db = get_session()
    if isinstance(body, dict) and body.get("refresh"):
        renewed = services.refresh_subscription(
            session=db, actor=current_user, endpoint=str(body.get("endpoint") or "")
        )
        db.commit()
        # Unknown: removed here (from the profile, gone, expired); the browser unsubscribes.
        return _answer({"status": "subscribed" if renewed else "unknown"}, 200 if renewed else 404)
    try:
        subscription = services.parse_subscription(
            body,
            allowed_hosts=current_app.config["PUSH_SERVICE_HOSTS"],
            allow_http=bool(current_app.config.get("PUSH_ALLOW_HTTP")),
        )
    except InvalidInput as error:
        errors = {field: str(message) for field, message in error.errors.items()}
        return _answer({"status": "invalid", "errors": errors}, 422)
    _row, created = services.subscribe(session=db, actor=current_user, subscription=subscription)
    db.commit()
    return _answer({"status": "subscribed"}, 201 if created else 200)


@bp.post("/push/subscriptions/remove")
def unsubscribe() -> Response | tuple[dict[str, Any], int, dict[str, str]]:
    """Stop pushes to a browser: this one (JSON, from the opt-in) or one listed on the profile."""
    db = get_session()
    body = request.get_json(silent=True) if request.is_json else None
    if isinstance(body, dict):
        services.remove_subscription(
            session=db, actor=current_user, endpoint=str(body.get("endpoint") or "")
        )
        db.commit()
        return _answer({"status": "removed"}, 200)
    removed = services.remove_subscription(
        session=db,
        actor=current_user,
        subscription_id=request.form.get("subscription_id", type=int),
    )
    db.commit()
    if removed:
        flash(_("That device gets no more notifications."), "success")
    return redirect(url_for("auth.profile"), 303)
