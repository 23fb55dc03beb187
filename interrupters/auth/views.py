"""Sign in and out, the pledge, invitations, the profile and the person's own devices."""

from __future__ import annotations

import math
from datetime import datetime
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from interrupters.auth import services, throttle
from interrupters.auth.forms import (
    ChangePasswordForm,
    LanguageForm,
    LoginForm,
    PledgeForm,
    SetPasswordForm,
)
from interrupters.authz import PUBLIC, SIGNED_IN, guard
from interrupters.db import get_session, utcnow
from interrupters.errors import InvalidInput
from interrupters.extensions import limiter
from interrupters.push import services as push_services

bp = Blueprint("auth", __name__)

guard(
    bp,
    {
        "login": PUBLIC,
        "invitation": PUBLIC,
        "language": PUBLIC,
        "logout": SIGNED_IN,
        "pledge": SIGNED_IN,
        "profile": SIGNED_IN,
        "password": SIGNED_IN,
        "revoke_device": SIGNED_IN,
    },
)


def _safe_next(target: str | None) -> str:
    """Follow `next` only to a path on this site."""
    if target:
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
        ):
            return target
    return url_for("main.home")


def _device_label() -> str:
    agent = request.user_agent
    platform = (agent.platform or "").capitalize()
    browser = (agent.browser or "").capitalize()
    return " / ".join(part for part in (browser, platform) if part) or (agent.string or "")[:60]


def _now() -> datetime:
    """The time; tests set CLOCK to move it without sleeping."""
    clock = current_app.config.get("CLOCK") or utcnow
    return clock()


def _known_device_cookie() -> str:
    return "__Host-known_device" if current_app.config["SESSION_COOKIE_SECURE"] else "known_device"


def _remember_device(response: Response, token: str) -> None:
    """This browser has signed in to the account: its attempts are counted on their own."""
    secure = bool(current_app.config["SESSION_COOKIE_SECURE"])
    response.set_cookie(
        _known_device_cookie(),
        token,
        max_age=int(throttle.KNOWN_DEVICE_AGE.total_seconds()),
        path="/",
        secure=secure,
        httponly=True,
        samesite="Lax",
    )


@bp.route("/login", methods=["GET", "POST"])
# Per address, in Flask-Limiter's shared storage; per account, in the database (throttle.py).
@limiter.limit("30 per minute", methods=["POST"])
def login() -> str | Response | tuple[str, int, dict[str, str]]:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        db = get_session()
        email = services.normalise_email(form.email.data or "")
        now = _now()
        secret = current_app.config["SECRET_KEY"]
        bucket = throttle.known_device_bucket(
            secret=secret, token=request.cookies.get(_known_device_cookie()), email=email
        ) or throttle.account_bucket(email)
        wait = throttle.login_wait(session=db, bucket=bucket, now=now)
        if wait is not None:
            throttle.record_throttled_login(session=db, email=email, now=now)
            db.commit()
            seconds = max(1, math.ceil(wait.total_seconds()))
            form.password.errors = [
                _("Too many wrong passwords. Try again in %(seconds)d seconds.", seconds=seconds)
            ]
            status, headers = 429, {"Retry-After": str(seconds)}
        else:
            user = services.authenticate(session=db, email=email, password=form.password.data or "")
            if user is None:
                # No e-mail address and no password in the log: the account's id at most.
                throttle.record_failed_login(session=db, bucket=bucket, email=email, now=now)
                db.commit()
                form.password.errors = [_("Wrong e-mail or password.")]
            else:
                throttle.clear_failed_logins(session=db, bucket=bucket)
                token = services.start_device_session(
                    session=db, user=user, device_label=_device_label()
                )
                db.commit()
                session.clear()
                principal = services.principal_for_token(session=db, token=token)
                assert principal is not None
                login_user(principal)
                response = redirect(_safe_next(request.args.get("next")))
                _remember_device(response, throttle.known_device_token(secret=secret, email=email))
                return response
    page = render_template(
        "auth/login.html",
        form=form,
        language_form=LanguageForm(),
        wipe_phone=bool(request.args.get("signed_out") or request.args.get("wipe")),
    )
    return page, status, headers


@bp.post("/logout")
def logout() -> Response:
    db = get_session()
    services.end_device_session(session=db, actor=current_user._get_current_object())
    db.commit()
    logout_user()
    session.clear()
    response = redirect(url_for("auth.login", signed_out=1))
    # Wipe what this browser kept of the app; the login page wipes too (data-wipe), for
    # browsers that ignore the header.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@bp.route("/pledge", methods=["GET", "POST"])
def pledge() -> str | Response:
    form = PledgeForm()
    if form.validate_on_submit():
        db = get_session()
        services.accept_pledge(session=db, actor=current_user)
        db.commit()
        return redirect(url_for("main.home"))
    return render_template("auth/pledge.html", form=form)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def invitation(token: str) -> str | Response:
    db = get_session()
    found = services.find_invitation(session=db, token=token)
    if found is None:
        return render_template("auth/invitation_invalid.html"), 404  # type: ignore[return-value]
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            services.accept_invitation(session=db, token=token, password=form.password.data or "")
        except InvalidInput as error:
            form.password.errors = [error.errors["password"]]
        else:
            db.commit()
            if current_user.is_authenticated:
                logout_user()
            flash(_("Your password is set. Sign in with it."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/invitation.html", form=form)


@bp.post("/language")
def language() -> Response:
    form = LanguageForm()
    if form.validate_on_submit():
        locale = form.locale.data or "sv"
        if current_user.is_authenticated:
            db = get_session()
            services.set_locale(session=db, actor=current_user, locale=locale)
            db.commit()
        else:
            session["locale"] = locale
    return redirect(_safe_next(request.form.get("next")))


def _profile(password_form: ChangePasswordForm) -> str:
    db = get_session()
    return render_template(
        "auth/profile.html",
        devices=services.list_devices(session=db, actor=current_user),
        language_form=LanguageForm(locale=current_user.locale),
        password_form=password_form,
        push_subscriptions=push_services.subscriptions_of(session=db, actor=current_user),
    )


@bp.get("/profile")
def profile() -> str:
    return _profile(ChangePasswordForm())


@bp.post("/profile/password")
def password() -> str | Response:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            services.change_password(
                session=db,
                actor=current_user,
                current=form.current.data or "",
                new=form.password.data or "",
            )
        except InvalidInput as error:
            form.current.errors = [error.errors["current"]] if "current" in error.errors else []
            form.password.errors = [error.errors["new"]] if "new" in error.errors else []
        else:
            db.commit()
            flash(_("Your password is changed. Your other devices are signed out."), "success")
            return redirect(url_for("auth.profile"))
    return _profile(form), 422  # type: ignore[return-value]


@bp.post("/profile/devices/<int:device_id>/revoke")
def revoke_device(device_id: int) -> Response:
    db = get_session()
    services.revoke_device(session=db, actor=current_user, device_session_id=device_id)
    db.commit()
    if device_id == current_user.device_session_id:
        logout_user()
        session.clear()
        response = redirect(url_for("auth.login", signed_out=1))
        response.headers["Clear-Site-Data"] = '"cache", "storage"'
        return response
    flash(_("The device is signed out."), "success")
    return redirect(url_for("auth.profile"))
