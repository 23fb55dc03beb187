"""Fewer bytes over the wire without a proxy (issue 13, item 3).

- Static files under the release's version (`asset()`: /static/v/<version>/...) are served by
  WhiteNoise, outside Flask, from a copy of static/ with gzip and brotli files made beside each
  one: made once per release at start-up in STATIC_CACHE_DIR (instance/static-cache/<version>),
  so a clean clone needs no build step. Immutable for a year: nothing static is fetched twice.
- Pages, fragments, JSON and the service worker are compressed by Flask-Compress (brotli or
  gzip, whichever the client prefers) when larger than COMPRESS_MIN_SIZE.

BREACH: every page carries the CSRF token (a per-session secret), and some pages reflect what is
in the request (a search, a filter). An attacker who can watch the lengths of encrypted answers
and make the victim's browser send many requests could guess the token byte by byte from how
well each answer compresses. Those requests are cross-site; the browser says so in
`Sec-Fetch-Site`. So a dynamic answer is compressed only for requests the app's own pages made
(`same-origin`) or the person made (`none`: typed, a bookmark, the home screen icon); a
cross-site request or a client that does not say gets it uncompressed. Static files hold no
secret and are always compressed. The proxy must not compress on its own (docs/deploy.md).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask, request, url_for
from flask.wrappers import Response
from flask_compress import Compress
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

from interrupters import security

logger = logging.getLogger(__name__)

compress = Compress()

# Who started the request, as the browser tells it: compressing the answer is safe (above).
SAFE_FETCH_SITES = frozenset({"same-origin", "none"})
# Releases whose compressed copy is kept: a worker of the release before may still serve from
# its copy while a rolling restart goes on.
KEEP_RELEASES = 3
MIMETYPES = [
    "text/html",
    "text/css",
    "text/plain",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/manifest+json",
    "image/svg+xml",
]


def init_app(app: Flask) -> None:
    """Serve versioned static files precompressed, and compress the app's own answers."""
    app.config.setdefault("COMPRESS_MIMETYPES", MIMETYPES)
    # brotli first (about 15 % smaller than gzip on the pages); zstd is left out: the static
    # files come in brotli and gzip only, and one choice per client keeps the figures simple.
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "gzip"])
    # Below this an answer fits one packet anyway and compressing only costs time.
    app.config.setdefault("COMPRESS_MIN_SIZE", 500)
    # Registered by hand (below): only for the requests where compressing is safe.
    app.config["COMPRESS_REGISTER"] = False
    compress.init_app(app)
    app.after_request(_compress)


def serve_static(app: Flask) -> None:
    """Put WhiteNoise in front of the app for the release's versioned static files (after the
    blueprints: the versioned URL is pwa.asset's)."""
    if not app.config.get("STATIC_PRECOMPRESSED", True):
        return
    assert app.static_folder is not None
    version = app.config["STATIC_VERSION"]
    cache_dir = Path(app.config.get("STATIC_CACHE_DIR") or Path(app.instance_path) / "static-cache")
    root = precompress_static(Path(app.static_folder), cache_dir, version)
    with app.test_request_context("/"):
        # "/static/v/<version>/" (WhiteNoise matches the path without the app's script root)
        prefix = url_for("pwa.asset", version=version, filename="x")[:-1]
    static = WhiteNoise(
        app.wsgi_app,
        # Every file under a versioned URL: its content never changes under that URL.
        immutable_file_test=lambda _path, _url: True,
        allow_all_origins=False,
        add_headers_function=_static_headers,
    )
    # A year, like the Flask-served answer of pwa.asset (WhiteNoise's own is ten).
    static.FOREVER = security.STATIC_MAX_AGE
    static.add_files(str(root), prefix=prefix)
    app.wsgi_app = static  # type: ignore[method-assign]


def _static_headers(headers: Any, path: str, _url: str) -> None:
    headers["X-Content-Type-Options"] = "nosniff"
    if path.endswith(".svg"):
        # An SVG opened on its own is a document: the same policy as the pages. (Not on
        # scripts and styles: a policy applies to documents only, and it is 330 bytes a file.)
        headers["Content-Security-Policy"] = security.CSP


def precompress_static(static_folder: Path, cache_dir: Path, version: str) -> Path:
    """A copy of `static_folder` with .gz and .br beside each file worth compressing, made
    once per release version in `cache_dir/version` (several workers may race: the first
    complete copy to be renamed into place wins)."""
    target = cache_dir / version
    if target.is_dir():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=cache_dir))
    try:
        shutil.copytree(static_folder, work, dirs_exist_ok=True)
        compressor = Compressor(quiet=True)
        for path in sorted(p for p in work.rglob("*") if p.is_file()):
            if compressor.should_compress(path.name):
                compressor.compress(str(path))
        try:
            work.rename(target)
        except OSError:
            if not target.is_dir():
                raise
            # Another worker finished first: its copy is the same.
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    logger.info("Static files of release %s compressed into %s", version, target)
    _prune(cache_dir, keep=target)
    return target


def _prune(cache_dir: Path, *, keep: Path) -> None:
    """Delete the copies of all but the newest releases (`keep` among them)."""
    others = sorted(
        (p for p in cache_dir.iterdir() if p.is_dir() and not p.name.startswith(".") and p != keep),
        key=lambda p: p.stat().st_mtime_ns,
        reverse=True,
    )
    for old in others[KEEP_RELEASES - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


def _compress(response: Response) -> Response:
    """Compress the answer when the request came from the app's own pages or the person."""
    if request.endpoint in security.STATIC_ENDPOINTS:
        # A file of an older release (served by Flask, not WhiteNoise): no secret in it.
        return _conditional(compress.after_request(response))
    # Whether the answer is compressed depends on who asked: say so to any cache.
    response.vary.add("Sec-Fetch-Site")
    if request.headers.get("Sec-Fetch-Site") in SAFE_FETCH_SITES:
        return _conditional(compress.after_request(_tagged(response)))
    response.vary.add("Accept-Encoding")
    return _conditional(_tagged(response))


def _tagged(response: Response) -> Response:
    """An ETag on answers that are checked before each use (`no-cache`, such as /sw.js): the
    check then costs a 304 instead of the whole answer."""
    if (
        request.method in ("GET", "HEAD")
        and response.status_code == 200
        and response.cache_control.no_cache
        and not response.cache_control.no_store
        and not response.is_streamed
        and not response.get_etag()[0]
    ):
        response.add_etag()
    return response


def _conditional(response: Response) -> Response:
    if (
        request.method in ("GET", "HEAD")
        and response.get_etag()[0]
        and not response.is_streamed
        and response.status_code == 200
    ):
        response.make_conditional(request)
    return response
