"""One guard per blueprint: each endpoint names the roles that may reach it; unlisted is denied."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any, Final, NoReturn
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, jsonify, redirect, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from interrupters.audit.services import DENIALS_IN_FULL, denial_window, record_denial
from interrupters.auth.services import WIPE_REASONS, session_end_reason
from interrupters.auth.values import Role
from interrupters.db import get_session

logger = logging.getLogger(__name__)

PUBLIC: Final = "public"
SIGNED_IN: Final = "signed_in"
Access = str | Collection[Role]

# Reachable before the confidentiality pledge is accepted.
_BEFORE_PLEDGE = {"auth.pledge", "auth.logout", "auth.language", "auth.new_pin", "auth.skip_pin"}
# Reachable after the password and before the second factor (office roles, issue 9): the
# device does not count as signed in until then.
_BEFORE_SECOND_FACTOR = {
    "auth.second_factor",
    "auth.enrol_totp",
    "auth.start_totp",
    "auth.passkey_options",
    "auth.passkey_verify",
    "auth.passkey_register_options",
    "auth.passkey_register",
    "auth.logout",
    "auth.language",
}
# Reachable while a field phone is locked (issue 9, item 5): the PIN, leaving, and the outbox,
# which keeps sending what was written before (its records are sealed).
_WHILE_LOCKED = {
    "auth.unlock",
    "auth.forget_pin",
    "auth.logout",
    "auth.language",
    "sync.config",
    "sync.receive",
}
# Every guarded endpoint's rule ("blueprint.view" -> access), so a page can offer a person
# only what they may reach (the offline page, issue 10).
_RULES: dict[str, Access] = {}


def may_reach(person: Any, endpoint: str) -> bool:
    """Whether `person` (a Principal or the anonymous user) passes `endpoint`'s guard."""
    access = _RULES.get(endpoint)
    if access is None:
        return False
    if access == PUBLIC:
        return True
    if not person.is_authenticated or person.restricted:
        return False
    if access == SIGNED_IN:
        return True
    assert not isinstance(access, str)
    return bool(person.has_role(*access))


def audit_denial(status: int) -> None:
    """Write this request's denial to the audit log and commit it (the request ends here).

    Past a number of denials by one person within a window they are only counted, and summed
    up in one event when the window closes (see audit.services.record_denial)."""
    session = get_session()
    record_denial(
        session=session,
        actor_id=current_user.user_id if current_user.is_authenticated else None,
        endpoint=request.endpoint,
        method=request.method,
        status=status,
        in_full=int(current_app.config.get("AUDIT_DENIALS_IN_FULL", DENIALS_IN_FULL)),
        window=denial_window(current_app.config),
    )
    session.commit()


def deny(status: int = 403) -> NoReturn:
    """Write the denial to the audit log (committed at once: the request ends here) and abort."""
    audit_denial(status)
    abort(status)


def _json(body: dict[str, str], status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def _end_reason() -> str | None:
    """Why this browser's session ended: from its session cookie, or from its resume cookie
    (a field phone after a restart, see auth.cookies)."""
    token = session.get("_user_id")
    if token:
        return session_end_reason(session=get_session(), token=token)
    reason = g.get("resume_ended")
    return str(reason) if reason else None


def signed_out_answer() -> Response:
    """401 for a script: "revoked" (wipe the phone) or "login" (keep everything, sign in)."""
    wipe = _end_reason() in WIPE_REASONS
    response = _json({"status": "revoked" if wipe else "login"}, 401)
    if wipe:
        # A device signed out from elsewhere (lost phone) or a deactivated account.
        response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


def _to_the_pin() -> Response:
    """A locked field phone (issue 9, item 5): pages go to the PIN and come back; htmx is
    told to go there as a whole page (a swapped-in error would hide the lock screen); the
    outbox's own requests never get here (they are allowed while locked)."""
    if request.headers.get("HX-Request"):
        # The page the person is on, to come back to after the PIN.
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        back = current.path + (f"?{current.query}" if current.query else "")
        response = Response(status=204)
        response.headers["HX-Redirect"] = url_for("auth.unlock", next=back or "/")
        return response
    if request.accept_mimetypes.best == "application/json":
        return _json({"status": "locked"}, 403)
    return redirect(url_for("auth.unlock", next=request.full_path.rstrip("?")))


def guard(bp: Blueprint, policy: Mapping[str, Access]) -> None:
    """Check every request to `bp` against `policy`: endpoint -> PUBLIC, SIGNED_IN or roles."""
    _RULES.update({f"{bp.name}.{name}": access for name, access in policy.items()})

    @bp.before_request
    def _check() -> Response | None:
        endpoint = (request.endpoint or "").rpartition(".")[2]
        access = policy.get(endpoint)
        if access is None:
            logger.warning("endpoint %s has no access rule", request.endpoint)
            deny(403)
        if access == PUBLIC:
            return None
        scripted = bool(
            request.headers.get("HX-Request") or request.accept_mimetypes.best == "application/json"
        )
        if not current_user.is_authenticated:
            if scripted:
                return signed_out_answer()
            if _end_reason() in WIPE_REASONS:
                # This device was signed out from elsewhere: the login page wipes the phone.
                response = redirect(url_for("auth.login", wipe=1))
                response.headers["Clear-Site-Data"] = '"cache", "storage"'
                session.clear()
                return response
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if current_user.second_factor and request.endpoint not in _BEFORE_SECOND_FACTOR:
            if scripted:
                return _json({"status": "second_factor"}, 403)
            return redirect(
                url_for(
                    "auth.second_factor"
                    if current_user.second_factor == "verify"
                    else "auth.enrol_totp",
                    next=request.full_path.rstrip("?"),
                )
            )
        if current_user.locked and request.endpoint not in _WHILE_LOCKED:
            return _to_the_pin()
        if not current_user.pledge_accepted and request.endpoint not in _BEFORE_PLEDGE:
            if scripted:
                # Never a redirect to a script: a followed redirect would look like success.
                return _json({"status": "pledge"}, 403)
            return redirect(url_for("auth.pledge"))
        if access == SIGNED_IN:
            return None
        assert not isinstance(access, str)
        if not current_user.has_role(*access):
            deny(403)
        return None
