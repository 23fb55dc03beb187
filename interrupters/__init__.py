"""Interrupters: a progressive web app for violence interrupters and night walkers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from flask import Flask, render_template, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from interrupters import db, extensions, i18n, security
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
    app.config.update(settings.as_flask_config(Path(app.instance_path)))
    if config:
        app.config.update(config)
    if click.get_current_context(silent=True) is None:
        # A server imports the app; `flask scheduler`, `flask backup`, ... (and the one-process
        # development server) build it inside a command and serve no sign-ins.
        check_limits(app.config)
    if app.config["TRUSTED_PROXIES"]:
        # Behind N proxies the client's address is the Nth from the right of X-Forwarded-For;
        # without this every client shares the proxy's address (PITFALLS.md).
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )

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
    return app


def _init_login(app: Flask) -> None:
    from interrupters.auth.services import principal_for_token

    login_manager = extensions.login_manager
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # Sessions are rows of their own (see auth.models.DeviceSession); Flask-Login's
    # fingerprinting would log out phones whose address changes between cells.
    login_manager.session_protection = None

    @login_manager.user_loader
    def _load(token: str) -> Any:
        return principal_for_token(session=db.get_session(), token=token)


def _commit_session_touch(response: Response) -> Response:
    """Commit a device's last-seen time when the view itself made no write (GET pages)."""
    from flask import g

    session = g.get("db_session")
    if session is not None and session.dirty and request.method in ("GET", "HEAD"):
        session.commit()
    return response


def _register_blueprints(app: Flask) -> None:
    # Each domain registers the record kinds its phones may send.
    import interrupters.briefings.sync
    import interrupters.conflicts.sync
    import interrupters.contacts.sync
    import interrupters.walks.sync  # noqa: F401
    from interrupters.admin.views import bp as admin_bp
    from interrupters.auth.views import bp as auth_bp
    from interrupters.briefings.views import bp as briefings_bp
    from interrupters.conflicts.views import bp as conflicts_bp
    from interrupters.contacts.views import bp as contacts_bp
    from interrupters.main import bp as main_bp
    from interrupters.participants.views import bp as participants_bp
    from interrupters.push.views import bp as push_bp
    from interrupters.pwa.views import bp as pwa_bp
    from interrupters.sync.views import bp as sync_bp
    from interrupters.walks.views import bp as walks_bp

    for bp in (
        main_bp,
        auth_bp,
        admin_bp,
        participants_bp,
        contacts_bp,
        conflicts_bp,
        briefings_bp,
        walks_bp,
        push_bp,
        sync_bp,
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
        if request.accept_mimetypes.best == "application/json":
            return {"error": error.name}, error.code
        return render_template("errors/error.html", error=error), error.code

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"user": current_user}


def _audit_denial(status: int) -> None:
    """A service refused a record (another organisation's, a colleague's): every denial is
    audited, like the guard's. The request's own changes are dropped first."""
    from interrupters.audit.services import record_event

    session = db.get_session()
    session.rollback()
    record_event(
        session=session,
        event="access_denied",
        actor_id=current_user.user_id if current_user.is_authenticated else None,
        detail={"endpoint": request.endpoint, "method": request.method, "status": status},
    )
    session.commit()


def _register_cli(app: Flask) -> None:
    from interrupters.cli import register

    register(app)
