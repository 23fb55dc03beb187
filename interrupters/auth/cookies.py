"""The cookies of a field phone's long session (issue 9, item 5; the rules are in pin.py).

- resume: HttpOnly, persistent until the session's absolute end; brings the session back,
  locked, after a browser restart. Its value is known only to the browser.
- pin: readable by the page, persistent like resume: "this browser has a PIN-locked session",
  so the phone's own pages know to hide participant codes while locked, even offline.
- pin_until: readable by the page, gone with the browser (no expiry): the time (seconds since
  the epoch) until which the app counts as unlocked without activity. After a restart it is
  missing, so the phone's kept pages count as locked until the server has checked the PIN.

With Secure cookies (production) all three carry the `__Host-` prefix.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from flask import current_app, g, request, session
from flask_login import current_user
from werkzeug.wrappers import Response

from interrupters import db
from interrupters.auth import pin
from interrupters.auth.models import DeviceSession
from interrupters.auth.principal import Principal

# The outbox's and the push subscription's requests: not the person's activity (the PIN's idle
# time runs on while the phone sends by itself) and allowed while locked.
BACKGROUND_ENDPOINTS = frozenset({"sync.config", "sync.receive"})
# Requests that never bring back a session: static files and what makes the app installable.
_NO_RESUME_PREFIXES = ("static", "pwa.")


def _name(base: str) -> str:
    return f"__Host-{base}" if current_app.config["SESSION_COOKIE_SECURE"] else base


def resume_name() -> str:
    return _name("resume")


def pin_name() -> str:
    return _name("pin")


def until_name() -> str:
    return _name("pin_until")


def prefix() -> str:
    """What the page's script puts before "pin" and "pin_until"."""
    return "__Host-" if current_app.config["SESSION_COOKIE_SECURE"] else ""


def load_from_resume() -> Principal | None:
    """Flask-Login's request loader: no session in the cookie, but a resume cookie (a browser
    restart). The session comes back locked; the new cookies go out with the answer."""
    if g.get("resume_tried"):
        return None
    g.resume_tried = True
    endpoint = request.endpoint or ""
    token = request.cookies.get(resume_name())
    if not token or not endpoint or endpoint.startswith(_NO_RESUME_PREFIXES):
        return None
    from interrupters.auth.services import principal_for_token

    database = db.get_session()
    resumed = pin.resume(
        session=database, token=token[:200], secret=current_app.config["SECRET_KEY"]
    )
    if resumed is None:
        database.commit()  # a copied cookie's sign-out (pin.resume) holds
        g.resume_ended = pin.resume_end_reason(session=database, token=token[:200])
        g.clear_pin_cookies = True
        return None
    device_token, next_token = resumed
    database.commit()
    session["_user_id"] = device_token
    session["_fresh"] = False
    g.resume_token = next_token
    return principal_for_token(
        session=database,
        token=device_token,
        two_factor_required=bool(current_app.config.get("TWO_FACTOR_REQUIRED", True)),
        active=False,
        pin_idle=pin_idle(),
    )


def pin_idle() -> timedelta:
    minutes = current_app.config.get("PIN_IDLE_MINUTES")
    return timedelta(minutes=float(minutes)) if minutes else pin.PIN_IDLE


def set_resume(response: Response, token: str, expires_at: datetime) -> None:
    """The persistent cookies of a PIN-locked session, until the session's absolute end."""
    secure = bool(current_app.config["SESSION_COOKIE_SECURE"])
    age = max(0, math.floor((expires_at - db.utcnow()).total_seconds()))
    response.set_cookie(
        resume_name(), token, max_age=age, path="/", secure=secure, httponly=True, samesite="Lax"
    )
    response.set_cookie(
        pin_name(), "1", max_age=age, path="/", secure=secure, httponly=False, samesite="Lax"
    )


def clear(response: Response) -> None:
    """Forget the long session on this browser (sign-out, a session that ended)."""
    secure = bool(current_app.config["SESSION_COOKIE_SECURE"])
    for name, httponly in ((resume_name(), True), (pin_name(), False), (until_name(), False)):
        if name in request.cookies:
            response.delete_cookie(name, path="/", secure=secure, httponly=httponly, samesite="Lax")


def after_request(response: Response) -> Response:
    """Send the cookies this request's session state calls for."""
    endpoint = request.endpoint or ""
    if endpoint.startswith(_NO_RESUME_PREFIXES) or g.get("pin_cookies_done"):
        return response
    if g.get("clear_pin_cookies"):
        clear(response)
        return response
    user = current_user._get_current_object() if current_user else None
    if user is None or not user.is_authenticated or not user.pin:
        return response
    token = g.get("resume_token")
    if token:
        device = db.get_session().get(DeviceSession, user.device_session_id)
        if device is not None:
            set_resume(response, token, device.expires_at)
    secure = bool(current_app.config["SESSION_COOKIE_SECURE"])
    if user.locked or user.unlocked_until is None:
        if until_name() in request.cookies:
            response.delete_cookie(until_name(), path="/", secure=secure, samesite="Lax")
        return response
    set_until(response, user.unlocked_until)
    return response


def set_until(response: Response, until: datetime) -> None:
    """Tell the phone's pages until when the app counts as unlocked."""
    value = str(math.floor(until.timestamp()))
    if request.cookies.get(until_name()) != value:
        secure = bool(current_app.config["SESSION_COOKIE_SECURE"])
        # No expiry: a browser restart forgets it, and the kept pages count as locked.
        response.set_cookie(
            until_name(), value, path="/", secure=secure, httponly=False, samesite="Lax"
        )
