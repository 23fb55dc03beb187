"""Sign in and out, the pledge, invitations, the profile and the person's own devices."""

from __future__ import annotations

import math
from datetime import datetime

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from interrupters import security
from interrupters.auth import cookies, passkeys, pin, services, throttle, twofactor
from interrupters.auth.forms import (
    ActionForm,
    ChangePasswordForm,
    CodeForm,
    LanguageForm,
    LoginForm,
    NewPinForm,
    PinForm,
    PledgeForm,
    RemovePasskeyForm,
    RenewCodesForm,
    SetPasswordForm,
    StartTotpForm,
)
from interrupters.auth.models import DeviceSession
from interrupters.auth.principal import Principal
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
        # Signing in with a passkey alone, which counts as both factors (issue 9).
        "passkey_login_options": PUBLIC,
        "passkey_login": PUBLIC,
        "recovery_codes": SIGNED_IN,
        # A field phone's PIN (issue 9, item 5): set after sign-in, asked after a restart or
        # idle; forgetting it ends the session (the outbox stays) for a password sign-in.
        "new_pin": SIGNED_IN,
        "skip_pin": SIGNED_IN,
        "unlock": SIGNED_IN,
        "forget_pin": SIGNED_IN,
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
                response = redirect(_after_sign_in(principal, request.args.get("next")))
                _remember_device(response, throttle.known_device_token(secret=secret, email=email))
                return response
    page = render_template(
        "auth/login.html",
        form=form,
        language_form=LanguageForm(),
        wipe_phone=bool(request.args.get("signed_out") or request.args.get("wipe")),
        wipe_pages=bool(request.args.get("pin_forgotten")),
        next=_safe_next(request.args.get("next")),
    )
    return page, status, headers


def _after_sign_in(principal: Principal, target: str | None) -> str:
    """Where a new session goes first: its second factor, the offer of a PIN on a field
    phone (issue 9, item 5), or where the person was going."""
    step = _second_factor_step(principal.second_factor, target)
    if step:
        return step
    if principal.offer_pin:
        return url_for("auth.new_pin", next=_safe_next(target))
    return _safe_next(target)


def _signed_out(response: Response, *, wipe: bool = True) -> Response:
    """End this browser's session in the answer: its cookies, and (wipe) what it kept of
    the app; the login page wipes too (data-wipe), for browsers that ignore the header."""
    logout_user()
    session.clear()
    cookies.clear(response)
    g.pin_cookies_done = True
    response.headers["Clear-Site-Data"] = '"cache", "storage"' if wipe else '"cache"'
    return response


@bp.post("/logout")
def logout() -> Response:
    db = get_session()
    services.end_device_session(session=db, actor=current_user._get_current_object())
    db.commit()
    return _signed_out(redirect(url_for("auth.login", signed_out=1)))


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


def _profile(password_form: ChangePasswordForm, codes_form: RenewCodesForm | None = None) -> str:
    db = get_session()
    return render_template(
        "auth/profile.html",
        codes_form=codes_form or RenewCodesForm(),
        pin_idle_minutes=int(cookies.pin_idle().total_seconds() // 60),
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
        return _signed_out(redirect(url_for("auth.login", signed_out=1)))
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


@bp.post("/login/passkey/start")
@limiter.limit("30 per minute")
def passkey_login_options() -> Response | tuple[dict[str, str], int, dict[str, str]]:
    if current_user.is_authenticated:
        return _json_answer({"status": "signed_in", "next": url_for("main.home")}, 422)
    options, challenge = passkeys.sign_in_options(rp_id=_rp_id())
    return _options(options, challenge)


@bp.post("/login/passkey/finish")
@limiter.limit("30 per minute")
def passkey_login() -> tuple[dict[str, str], int, dict[str, str]]:
    """Sign in with a passkey alone: the passkey (with its screen lock) is both factors."""
    if current_user.is_authenticated:
        return _json_answer({"status": "signed_in", "next": url_for("main.home")}, 422)
    challenge = _spend_challenge()
    if challenge is None:
        return _json_answer({"status": "wrong", "reason": "no_challenge"}, 422)
    db = get_session()
    now = _now()
    user = passkeys.sign_in_with_passkey(
        session=db,
        credential=request.get_data(as_text=True)[:20_000],
        challenge=challenge,
        rp_id=_rp_id(),
        origin=_origin(),
        now=now,
    )
    if user is None:
        db.commit()
        return _json_answer({"status": "wrong"}, 422)
    token = services.start_device_session(
        session=db, user=user, device_label=_device_label(), now=now
    )
    db.flush()
    principal = services.principal_for_token(session=db, token=token, now=now)
    assert principal is not None
    twofactor.pass_device(session=db, actor=principal, method="passkey_sign_in", now=now)
    db.commit()
    session.clear()
    principal = services.principal_for_token(
        session=db,
        token=token,
        two_factor_required=bool(current_app.config["TWO_FACTOR_REQUIRED"]),
    )
    assert principal is not None
    login_user(principal)
    return _json_answer(
        {"status": "ok", "next": _after_sign_in(principal, request.args.get("next"))}
    )


@bp.post("/profile/recovery-codes")
@limiter.limit("10 per minute")
def recovery_codes() -> Response | tuple[str, int, dict[str, str]]:
    """Ten new recovery codes, shown once; the old ones stop working."""
    form = RenewCodesForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            codes = twofactor.renew_recovery_codes(
                session=db,
                actor=current_user,
                password=form.password.data or "",
                secret=current_app.config["SECRET_KEY"],
                now=_now(),
            )
        except InvalidInput as error:
            form.password.errors = [str(error.errors["password"])]
        else:
            db.commit()
            page = render_template(
                "auth/recovery_codes.html", codes=codes, next=url_for("auth.profile")
            )
            return _no_store(page)
    return _no_store(_profile(ChangePasswordForm(), form), 422)


# A field phone's PIN (issue 9, item 5; the rules are in pin.py) --------------------------------


def _with_pin_cookies(response: Response, token: str | None) -> Response:
    """The answer that opens the app: the rotated resume cookie and the unlocked time."""
    db = get_session()
    device = db.get(DeviceSession, current_user.device_session_id)
    assert device is not None
    if token:
        cookies.set_resume(response, token, device.expires_at)
    cookies.set_until(response, _now() + cookies.pin_idle())
    g.pin_cookies_done = True
    return response


@bp.route("/pin/new", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def new_pin() -> Response | tuple[str, int, dict[str, str]]:
    """Choose (or change) this phone's PIN: the session then outlives a browser restart."""
    target = _safe_next(request.args.get("next"))
    if not current_user.field:
        flash(_("A PIN is for the phones of interrupters and night walkers."), "info")
        return redirect(url_for("auth.profile"))
    form = NewPinForm()
    status = 200
    if form.validate_on_submit():
        db = get_session()
        try:
            token = pin.set_pin(
                session=db,
                actor=current_user,
                pin=form.pin.data or "",
                current=form.current.data if current_user.pin else None,
                now=_now(),
            )
        except InvalidInput as error:
            for name, message in error.errors.items():
                getattr(form, name).errors = [str(message)]
            # A wrong current PIN counts like one on the lock screen.
            if "current" in error.errors:
                result = pin.unlock(
                    session=db, actor=current_user, pin=form.current.data or "", now=_now()
                )
                db.commit()
                if result.outcome == "locked_out":
                    return _locked_out()
            status = 422
        else:
            db.commit()
            flash(_("Your PIN is set. This phone stays signed in."), "success")
            return _with_pin_cookies(redirect(target), token)
    elif request.method == "POST":
        status = 422
    page = render_template(
        "auth/new_pin.html",
        form=form,
        skip_form=ActionForm(),
        changing=current_user.pin,
        next=target,
        idle_minutes=int(cookies.pin_idle().total_seconds() // 60),
    )
    return _no_store(page, status)


@bp.post("/pin/skip")
def skip_pin() -> Response:
    """No PIN on this device (a shared computer): the session ends with the browser."""
    form = ActionForm()
    if form.validate_on_submit():
        db = get_session()
        pin.decline_pin(session=db, actor=current_user, now=_now())
        db.commit()
    return redirect(_safe_next(request.args.get("next")))


def _locked_out() -> Response:
    """Five wrong PINs: the session is over and the phone is wiped."""
    response = _signed_out(redirect(url_for("auth.login", wipe=1)))
    flash(
        _(
            "Five wrong PINs: this phone is signed out and what the app kept on it is "
            "removed. Sign in with your password."
        ),
        "error",
    )
    return response


@bp.route("/pin", methods=["GET", "POST"])
# Per address; per device the wrong PINs are counted in the database (pin.unlock).
@limiter.limit("20 per minute", methods=["POST"])
def unlock() -> Response | tuple[str, int, dict[str, str]]:
    target = _safe_next(request.args.get("next"))
    if not current_user.locked:
        return redirect(target)
    form = PinForm()
    status = 200
    if form.validate_on_submit():
        db = get_session()
        result = pin.unlock(session=db, actor=current_user, pin=form.pin.data or "", now=_now())
        db.commit()
        if result.outcome == "ok":
            return _with_pin_cookies(redirect(target), result.resume_token)
        if result.outcome == "locked_out":
            return _locked_out()
        if result.outcome == "wait" and result.wait is not None:
            seconds = max(1, math.ceil(result.wait.total_seconds()))
            form.pin.errors = [_("Wait %(seconds)d seconds before the next try.", seconds=seconds)]
            status = 429
        else:
            form.pin.errors = [
                ngettext(
                    "Wrong PIN. %(num)d try left, then this phone is signed out and wiped.",
                    "Wrong PIN. %(num)d tries left, then this phone is signed out and wiped.",
                    result.tries_left,
                )
            ]
            status = 422
    elif request.method == "POST":
        status = 422
    page = render_template("auth/unlock.html", form=form, forget_form=ActionForm(), next=target)
    return _no_store(page, status)


@bp.post("/pin/forgot")
def forget_pin() -> Response:
    """Forgot the PIN: sign in with the password again. What waits in the outbox stays (it is
    sealed); the pages the phone kept are removed."""
    form = ActionForm()
    if not current_user.pin or not form.validate_on_submit():
        return redirect(url_for("auth.profile"))
    db = get_session()
    pin.forget_pin(session=db, actor=current_user, now=_now())
    db.commit()
    return _signed_out(redirect(url_for("auth.login", pin_forgotten=1)), wipe=False)
