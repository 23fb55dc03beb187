"""Response headers every page gets: CSP, no caching of personal data, versioned static files."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, current_app, request, url_for
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask.wrappers import Response as FlaskResponse
from flask_login import current_user
from werkzeug.wrappers import Response

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
STATIC_MAX_AGE = 365 * 24 * 3600
# Characters a browser drops or reads as "/" in a URL: "/\\evil.example" and "/\t/evil.example"
# both become "//evil.example", another site.
_UNSAFE_IN_PATH = re.compile(r"[\\\x00-\x20\x7f]")


def local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site (with its query), else None: a `next` after the
    login or a page to go back to must never lead to another site."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if _UNSAFE_IN_PATH.search(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


# Endpoints that serve static files: no cookies, no Vary on them.
STATIC_ENDPOINTS = frozenset({"static", "pwa.asset"})


def static_version(static_folder: str) -> str:
    """One hash over every static file: a new release gets new URLs for all of them.

    The version is a path segment, not a query, so an ES module's relative imports
    (`./components/x.js`) resolve under the same version and are cached as long.
    """
    digest = hashlib.sha256()
    root = Path(static_folder)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def asset(filename: str) -> str:
    """URL of a static file under the release's version, cacheable for a year."""
    return url_for("pwa.asset", version=current_app.config["STATIC_VERSION"], filename=filename)


class _SessionInterface(SecureCookieSessionInterface):
    def save_session(self, app: Flask, session: SessionMixin, response: FlaskResponse) -> None:
        super().save_session(app, session, response)
        if request.endpoint in STATIC_ENDPOINTS:
            # Flask-Login reads the session on every request, which adds Vary: Cookie; a
            # static file does not depend on the cookie and must stay cached across sign-ins.
            response.vary.discard("Cookie")


def _headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # same-origin, not no-referrer: over HTTPS Flask-WTF refuses a POST without a same-site
    # Referer; no address ever leaves the site.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "geolocation=(), camera=(), microphone=()")
    if current_app.config["SESSION_COOKIE_SECURE"]:
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if request.endpoint in STATIC_ENDPOINTS:
        return response
    if current_user and current_user.is_authenticated:
        # Pages for a signed-in person may hold personal data: never store them.
        response.cache_control.no_store = True
        response.cache_control.private = True
    response.vary.add("Cookie")
    return response


def init_app(app: Flask) -> None:
    assert app.static_folder is not None
    app.config.setdefault("STATIC_VERSION", static_version(app.static_folder))
    app.session_interface = _SessionInterface()
    app.after_request(_headers)
    app.jinja_env.globals["asset"] = asset
