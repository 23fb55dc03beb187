"""Interrupters: a progressive web app for violence interrupters and night walkers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app, render_template, request
from flask_login import current_user
from sqlalchemy.exc import DataError
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response

from interrupters import compression, db, extensions, i18n, keys, logs, security
from interrupters.config import Settings, check_limits
from interrupters.errors import NotAllowed, NotVisible

logger = logging.getLogger(__name__)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; `config` overrides the environment (tests pass their own)."""
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_relative_config=True,
        # Keys and the SQLite file live here; tests give each app its own folder.
        instance_path=(config or {}).get("INSTANCE_PATH"),
    )
    settings = Settings.from_env()
    if config and config.get("SECRET_KEY"):
        settings.secret_key = config["SECRET_KEY"]
    if config and "MULTI_HOST" in config:
        settings.multi_host = bool(config["MULTI_HOST"])
    app.config.update(settings.as_flask_config(Path(app.instance_path)))
    if config:
        app.config.update(config)
    # First, so that what the rest of the set-up logs is in the configured format.
    logs.init_app(app)
    if click.get_current_context(silent=True) is None:
        # A server imports the app; `flask scheduler`, `flask backup`, ... (and the one-process
        # development server) build it inside a command and serve no sign-ins.
        check_limits(app.config)
        # Several hosts: refuse to serve on keys that would be this host's own. (`flask keys
        # init` must run to make them; `flask scheduler` checks them itself.)
        keys.check_shared_keys(app.config, Path(app.instance_path))
    if app.config["TRUSTED_PROXIES"]:
        # Behind N proxies the client's address is the Nth from the right of X-Forwarded-For;
        # without this every client shares the proxy's address (PITFALLS.md).
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )

    # Ids in URLs fit the database's integer: /contacts/99999999999999999999 is a 404, not a
    # database error.
    app.url_map.converters["int"] = BoundedInt
    # First of the after-request hooks, so it runs last: it compresses the finished answer.
    compression.init_app(app)
    db.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    # Through the module: `interrupters.htmx` (the helpers) would shadow a bare `htmx` here.
    extensions.csrf.init_app(app)
    extensions.htmx.init_app(app)
    extensions.limiter.init_app(app)
    _init_login(app)
    _register_blueprints(app)
    _register_error_pages(app)
    _register_cli(app)
    app.after_request(_commit_session_touch)
    compression.serve_static(app)
    return app


class BoundedInt(IntegerConverter):
    """`<int:...>` limited to what a 32-bit integer column holds."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def _init_login(app: Flask) -> None:
    from interrupters.auth import cookies
    from interrupters.auth.services import principal_for_token

    login_manager = extensions.login_manager
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # Sessions are rows of their own (see auth.models.DeviceSession); Flask-Login's
    # fingerprinting would log out phones whose address changes between cells.
    login_manager.session_protection = None

    @login_manager.user_loader
    def _load(token: str) -> Any:
        return principal_for_token(
            session=db.get_session(),
            token=token,
            # The app serving this request: the login manager is one object shared by every
            # app a process builds (tests build several), so never the one captured here.
            two_factor_required=bool(current_app.config.get("TWO_FACTOR_REQUIRED", True)),
            # The outbox sending by itself is not the person using the app (the PIN's idle).
            active=request.endpoint not in cookies.BACKGROUND_ENDPOINTS,
            resume_token=request.cookies.get(cookies.resume_name()),
            pin_idle=cookies.pin_idle(),
        )

    # No session in the cookie: a field phone's browser restarted (issue 9, item 5).
    login_manager.request_loader(lambda _request: cookies.load_from_resume())
    app.after_request(cookies.after_request)
    app.jinja_env.globals["pin_cookie_prefix"] = cookies.prefix


def _commit_session_touch(response: Response) -> Response:
    """Commit a device's last-seen time when the view itself made no write (GET pages)."""
    from flask import g

    session = g.get("db_session")
    if session is None or request.method not in ("GET", "HEAD"):
        return response
    # `touched`: the session row changed and a later query has already flushed it (so it is
    # no longer dirty), as principal_for_token's lookups do.
    if session.dirty or session.info.pop("touched", False):
        session.commit()
    return response


def _register_blueprints(app: Flask) -> None:
    # Each domain declares the record kinds its phones may send; push listens to what the
    # records path announces (a held escalation).
    import interrupters.briefings.records
    import interrupters.conflicts.records
    import interrupters.contacts.records
    import interrupters.picture.listeners
    import interrupters.picture.records
    import interrupters.push.listeners
    import interrupters.referrals.records
    import interrupters.walks.records  # noqa: F401
    from interrupters.admin.views import bp as admin_bp
    from interrupters.audit.views import bp as audit_bp
    from interrupters.auth.views import bp as auth_bp
    from interrupters.briefings.views import bp as briefings_bp
    from interrupters.conflicts.views import bp as conflicts_bp
    from interrupters.contacts.views import bp as contacts_bp
    from interrupters.duty.views import bp as duty_bp
    from interrupters.health.views import bp as health_bp
    from interrupters.main import bp as main_bp
    from interrupters.participants.views import bp as participants_bp
    from interrupters.picture.views import bp as picture_bp
    from interrupters.push.views import bp as push_bp
    from interrupters.pwa.views import bp as pwa_bp
    from interrupters.records.views import bp as records_bp
    from interrupters.referrals.views import bp as referrals_bp
    from interrupters.reports.views import bp as reports_bp
    from interrupters.research.views import bp as research_bp
    from interrupters.sync.views import bp as sync_bp
    from interrupters.walks.views import bp as walks_bp

    for bp in (
        main_bp,
        auth_bp,
        admin_bp,
        audit_bp,
        participants_bp,
        contacts_bp,
        conflicts_bp,
        duty_bp,
        health_bp,
        briefings_bp,
        walks_bp,
        push_bp,
        sync_bp,
        records_bp,
        referrals_bp,
        reports_bp,
        research_bp,
        picture_bp,
        pwa_bp,
    ):
        app.register_blueprint(bp)


def _register_error_pages(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        if error.code is None or error.code < 400 or request.endpoint == "static":
            return error
        if isinstance(error, NotVisible | NotAllowed):
            _audit_denial(error.code)
        if error.code >= 500:
            # A failed statement leaves PostgreSQL's transaction aborted: the error page's own
            # reads (the navigation's badges) would fail again, past every handler.
            db.get_session().rollback()
        if request.accept_mimetypes.best == "application/json":
            return {"error": error.name}, error.code
        return render_template("errors/error.html", error=error), error.code

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def _out_of_range(error: Exception) -> Any:
        # A value the database or the calendar cannot hold came from the request (a year
        # 99999, an id past 2**63): the request's fault, a 400, whatever page let it through.
        logger.warning("%s on %s: answered 400", type(error).__name__, request.endpoint)
        db.get_session().rollback()
        return _http_error(BadRequest())

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"user": current_user}


def _audit_denial(status: int) -> None:
    """A service refused a record (another organisation's, a colleague's): every denial is
    audited, like the guard's. The request's own changes are dropped first."""
    from interrupters.authz import audit_denial

    db.get_session().rollback()
    audit_denial(status)


def _register_cli(app: Flask) -> None:
    from interrupters.cli import register

    register(app)
