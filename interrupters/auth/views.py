"""Sign in and out, the pledge, invitations, the profile and the person's own devices."""

from __future__ import annotations

import math
from datetime import datetime

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

from interrupters import security
from interrupters.auth import passkeys, services, throttle, twofactor
from interrupters.auth.forms import (
    ChangePasswordForm,
    CodeForm,
    LanguageForm,
    LoginForm,
    PledgeForm,
    RemovePasskeyForm,
    SetPasswordForm,
    StartTotpForm,
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
        # After the password: the second factor, or setting one up (issue 9, item 1).
        "second_factor": SIGNED_IN,
        "enrol_totp": SIGNED_IN,
        "start_totp": SIGNED_IN,
        "passkey_options": SIGNED_IN,
        "passkey_verify": SIGNED_IN,
        "passkey_register_options": SIGNED_IN,
        "passkey_register": SIGNED_IN,
        "remove_passkey": SIGNED_IN,
    },
)


def _safe_next(target: str | None) -> str:
    """Follow `next` only to a path on this site."""
    return security.local_path(target) or url_for("main.home")


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
                principal = services.principal_for_token(
                    session=db,
                    token=token,
                    two_factor_required=bool(current_app.config["TWO_FACTOR_REQUIRED"]),
                )
                assert principal is not None
                login_user(principal)
                response = redirect(
                    _second_factor_step(principal.second_factor, request.args.get("next"))
                    or _safe_next(request.args.get("next"))
                )
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
        passkeys=passkeys.passkeys_of(session=db, user_id=current_user.user_id),
        has_totp=twofactor.has_totp(session=db, user_id=current_user.user_id),
        recovery_codes_left=twofactor.recovery_codes_left(session=db, user_id=current_user.user_id),
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


# The second factor (issue 9, item 1) ----------------------------------------------------------


def _second_factor_step(step: str | None, target: str | None) -> str | None:
    """Where a device that has not passed its second factor goes next, keeping `next`."""
    if step is None:
        return None
    endpoint = "auth.second_factor" if step == twofactor.VERIFY else "auth.enrol_totp"
    return url_for(endpoint, next=_safe_next(target))


def _no_store(page: str, status: int = 200) -> tuple[str, int, dict[str, str]]:
    # Secrets and one-time codes: never kept by a cache or the back button.
    return page, status, {"Cache-Control": "no-store"}


@bp.route("/login/second-factor", methods=["GET", "POST"])
# Per address; per account the wrong codes wait in the database (twofactor.verify_code).
@limiter.limit("30 per minute", methods=["POST"])
def second_factor() -> Response | tuple[str, int, dict[str, str]]:
    if current_user.second_factor != twofactor.VERIFY:
        return redirect(
            _second_factor_step(current_user.second_factor, request.args.get("next"))
            or _safe_next(request.args.get("next"))
        )
    db = get_session()
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        now = _now()
        passed = twofactor.verify_code(
            session=db,
            actor=current_user,
            code=form.code.data or "",
            secret=current_app.config["SECRET_KEY"],
            now=now,
        )
        db.commit()
        if passed:
            return redirect(_safe_next(request.args.get("next")))
        wait = twofactor.second_factor_wait(session=db, actor=current_user, now=now)
        if wait is not None:
            seconds = max(1, math.ceil(wait.total_seconds()))
            form.code.errors = [
                _("Too many wrong codes. Try again in %(seconds)d seconds.", seconds=seconds)
            ]
            status = 429
        else:
            form.code.errors = [_("The code is wrong.")]
            status = 422
    page = render_template(
        "auth/second_factor.html",
        form=form,
        has_totp=twofactor.has_totp(session=db, user_id=current_user.user_id),
        has_passkey=bool(passkeys.passkeys_of(session=db, user_id=current_user.user_id)),
        next=_safe_next(request.args.get("next")),
    )
    return _no_store(page, status)


@bp.route("/login/authenticator", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def enrol_totp() -> Response | tuple[str, int, dict[str, str]]:
    if current_user.second_factor == twofactor.VERIFY:
        # Has a factor already: a new one is set up only after passing it (or an admin's reset).
        return redirect(url_for("auth.second_factor", next=_safe_next(request.args.get("next"))))
    db = get_session()
    secret = current_app.config["SECRET_KEY"]
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            codes = twofactor.confirm_totp(
                session=db,
                actor=current_user,
                code=form.code.data or "",
                secret=secret,
                now=_now(),
            )
        except InvalidInput as error:
            form.code.errors = [str(error.errors["code"])]
            status = 422
        else:
            db.commit()
            page = render_template(
                "auth/recovery_codes.html",
                codes=codes,
                next=_safe_next(request.args.get("next")),
            )
            return _no_store(page)
    if twofactor.has_totp(session=db, user_id=current_user.user_id):
        flash(_("You already have an authenticator app."), "info")
        return redirect(url_for("auth.profile"))
    totp_secret = twofactor.pending_totp_secret(session=db, actor=current_user, secret=secret)
    qr = None
    if totp_secret:
        qr = twofactor.qr_svg(
            twofactor.provisioning_uri(email=current_user.email, totp_secret=totp_secret)
        )
    page = render_template(
        "auth/enrol_totp.html",
        form=form,
        start_form=StartTotpForm(),
        totp_secret=totp_secret,
        qr=qr,
        required=current_user.second_factor == twofactor.ENROL,
        next=_safe_next(request.args.get("next")),
    )
    return _no_store(page, status)


@bp.post("/login/authenticator/start")
def start_totp() -> Response:
    if current_user.second_factor == twofactor.VERIFY:
        return redirect(url_for("auth.second_factor"))
    form = StartTotpForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            twofactor.start_totp(
                session=db, actor=current_user, secret=current_app.config["SECRET_KEY"]
            )
        except InvalidInput:
            return redirect(url_for("auth.profile"))
        db.commit()
    return redirect(url_for("auth.enrol_totp", next=_safe_next(request.args.get("next"))))


# Passkeys (issue 9, item 1): JSON for static/js/components/passkey.js --------------------------

_CHALLENGE = "webauthn_challenge"


def _rp_id() -> str:
    """The relying party: configured, or this request's host name."""
    return str(current_app.config.get("WEBAUTHN_RP_ID") or request.host.partition(":")[0])


def _origin() -> str:
    return f"{request.scheme}://{request.host}"


def _json_answer(
    body: dict[str, str], status: int = 200
) -> tuple[dict[str, str], int, dict[str, str]]:
    return body, status, {"Cache-Control": "no-store"}


def _options(options: str, challenge: bytes) -> Response:
    # The challenge lives in the signed session cookie, spent by the answer (one use).
    session[_CHALLENGE] = challenge.hex()
    return Response(options, mimetype="application/json", headers={"Cache-Control": "no-store"})


def _spend_challenge() -> bytes | None:
    value = session.pop(_CHALLENGE, None)
    try:
        return bytes.fromhex(value) if isinstance(value, str) else None
    except ValueError:
        return None


@bp.post("/login/passkey/options")
@limiter.limit("30 per minute")
def passkey_options() -> Response | tuple[dict[str, str], int, dict[str, str]]:
    db = get_session()
    if not passkeys.passkeys_of(session=db, user_id=current_user.user_id):
        return _json_answer({"status": "none"}, 422)
    options, challenge = passkeys.authentication_options(
        session=db, actor=current_user, rp_id=_rp_id()
    )
    return _options(options, challenge)


@bp.post("/login/passkey")
@limiter.limit("30 per minute")
def passkey_verify() -> tuple[dict[str, str], int, dict[str, str]]:
    target = _safe_next(request.args.get("next"))
    if current_user.second_factor != twofactor.VERIFY:
        return _json_answer({"status": "ok", "next": target})
    challenge = _spend_challenge()
    if challenge is None:
        return _json_answer({"status": "wrong"}, 422)
    db = get_session()
    passed = passkeys.verify_passkey(
        session=db,
        actor=current_user,
        credential=request.get_data(as_text=True)[:20_000],
        challenge=challenge,
        rp_id=_rp_id(),
        origin=_origin(),
        now=_now(),
    )
    db.commit()
    if passed:
        return _json_answer({"status": "ok", "next": target})
    return _json_answer({"status": "wrong"}, 422)


@bp.post("/profile/passkeys/options")
@limiter.limit("30 per minute")
def passkey_register_options() -> Response | tuple[dict[str, str], int, dict[str, str]]:
    try:
        options, challenge = passkeys.registration_options(
            session=get_session(), actor=current_user, rp_id=_rp_id()
        )
    except InvalidInput:
        return _json_answer({"status": "second_factor"}, 422)
    return _options(options, challenge)


@bp.post("/profile/passkeys")
@limiter.limit("30 per minute")
def passkey_register() -> tuple[dict[str, str], int, dict[str, str]]:
    challenge = _spend_challenge()
    if challenge is None:
        # No challenge in this browser's session: options were never asked, or spent.
        return _json_answer({"status": "wrong", "reason": "no_challenge"}, 422)
    db = get_session()
    try:
        passkeys.register_passkey(
            session=db,
            actor=current_user,
            credential=request.get_data(as_text=True)[:20_000],
            challenge=challenge,
            rp_id=_rp_id(),
            origin=_origin(),
            label=_device_label(),
            now=_now(),
        )
    except InvalidInput:
        return _json_answer({"status": "wrong"}, 422)
    db.commit()
    return _json_answer({"status": "ok", "next": _safe_next(request.args.get("next"))})


@bp.post("/profile/passkeys/remove")
def remove_passkey() -> Response:
    form = RemovePasskeyForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            passkeys.remove_passkey(
                session=db, actor=current_user, passkey_id=int(form.passkey_id.data or 0)
            )
        except InvalidInput as error:
            flash(str(error.errors["passkey"]), "error")
        else:
            db.commit()
            flash(_("The passkey is removed."), "success")
    return redirect(url_for("auth.profile") + "#passkeys")
