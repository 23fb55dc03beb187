"""Logs: JSON lines or readable text, a request id on every line, and nothing personal in them.

DESIGN.md (Security): logs never hold personal data. What keeps them so, in layers:
- what is logged at all: access lines carry the method, the route (the rule, or the path when
  every part of it is a number), the status, the time and the size, never a query string, a
  form, an address or an agent; SQLAlchemy hides statement parameters (`db.make_engine`);
- exceptions are logged by type and frames only (file, line, function, source line), never with
  their messages: an error's text can carry what the request sent (a database's "Key (code)=
  (P-7K3Q) already exists", a validator's "unexpected origin ...");
- a filter on every handler we install, as the last line of defence, that replaces e-mail
  addresses, participant codes, identity numbers and IP addresses in every line and field, and
  drops a message that still looks identifying after `identifying.normalise`.

Every line written during a request carries its id (`request_id`): the proxy's X-Request-ID when
the app trusts a proxy and the value is well-formed, else a new one; the answer carries it back
in X-Request-ID. The same format and filter serve the development server, `flask` commands (the
scheduler), and gunicorn through `GunicornLogger` (`interrupters/gunicorn_conf.py`).

Settings (the environment, or the app's config in tests): LOG_FORMAT `json` or `text` (default:
json in production, text otherwise), LOG_LEVEL (default INFO).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
import traceback
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from types import MethodType, TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from flask import Flask, has_request_context, request
from flask.logging import default_handler
from gunicorn import glogging
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map
from werkzeug.wsgi import ClosingIterator

from interrupters.identifying import Identifier, find_identifier

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

FORMATS = ("json", "text")
REQUEST_ID_HEADER = "X-Request-ID"
# Where the request id and the safe route wait for gunicorn's access line.
ENVIRON_REQUEST_ID = "interrupters.request_id"
ENVIRON_ROUTE = "interrupters.route"
# The name of the handler `configure` installs on the root logger (replaced, never stacked).
HANDLER_NAME = "interrupters"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# A record this module has made safe (a record passes every handler of its logger's chain).
_SAFE = "_interrupters_safe"

# Hex and dashes only (a UUID, nginx's $request_id): no code, address or word fits in one.
_WELL_FORMED_ID = re.compile(r"[0-9A-Fa-f][0-9A-Fa-f-]{15,63}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_request_id: ContextVar[str | None] = ContextVar("interrupters_request_id", default=None)
_route: ContextVar[str | None] = ContextVar("interrupters_route", default=None)
_method: ContextVar[str | None] = ContextVar("interrupters_method", default=None)


def current_request_id() -> str | None:
    """The id of the request being served in this thread, or None outside one."""
    return _request_id.get()


def accepted_request_id(value: str | None) -> str | None:
    """A request id sent by the proxy, if it is well-formed; None makes the app generate one."""
    if not value or not _WELL_FORMED_ID.fullmatch(value):
        return None
    # Hex digits can still spell an identity number ("199001011234abcd").
    if find_identifier(value) is not None:
        return None
    return value


def safe_method(method: str | None) -> str:
    """The request's method if it is one of HTTP's own; a made-up one says nothing more."""
    return method if method in _METHODS else "OTHER"


def safe_route(url_map: Map, environ: WSGIEnvironment) -> str:
    """What an access line may say of the path: the path when the matched rule's parts are all
    numbers (`/contacts/12`), the rule itself otherwise (`/invitation/<token>`), "-" when no
    rule matched (the path is then whatever the client typed)."""
    adapter = url_map.bind_to_environ(environ)
    try:
        rule, args = adapter.match(return_rule=True)
    except MethodNotAllowed as error:
        allowed = next(iter(error.valid_methods or ()), None)
        if allowed is None:
            return "-"
        try:
            rule, args = adapter.match(method=allowed, return_rule=True)
        except HTTPException:
            return "-"
    except HTTPException:
        # Not found, or a redirect to the slash-ended rule.
        return "-"
    if all(isinstance(value, int) for value in args.values()):
        path: str = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        return path or "/"
    return rule.rule


class RequestIdMiddleware:
    """Give each request its id (in the log context, the environ and the answer's header) and
    the safe route that access lines print."""

    def __init__(self, wsgi_app: WSGIApplication, *, url_map: Map, trust_header: bool) -> None:
        self.wsgi_app = wsgi_app
        self.url_map = url_map
        self.trust_header = trust_header

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        offered = environ.get("HTTP_X_REQUEST_ID") if self.trust_header else None
        request_id = accepted_request_id(offered) or uuid.uuid4().hex
        try:
            route = safe_route(self.url_map, environ)
        except Exception:  # a log line's detail must never fail a request (a bad Host header)
            route = "-"
        environ[ENVIRON_REQUEST_ID] = request_id
        environ[ENVIRON_ROUTE] = route
        _request_id.set(request_id)
        _route.set(route)
        _method.set(safe_method(environ.get("REQUEST_METHOD")))

        def _start_response(
            status: str,
            headers: list[tuple[str, str]],
            exc_info: tuple[type[BaseException], BaseException, TracebackType]
            | tuple[None, None, None]
            | None = None,
        ) -> Callable[[bytes], object]:
            headers = [(k, v) for k, v in headers if k.lower() != REQUEST_ID_HEADER.lower()]
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(status, headers, exc_info)

        try:
            body = self.wsgi_app(environ, _start_response)
        except BaseException:
            _clear_context()
            raise
        # Cleared when the server closes the body: the development server and gunicorn write
        # their access lines before that, so those lines carry the id too.
        return ClosingIterator(body, _clear_context)


def _clear_context() -> None:
    # Set, not reset with a token: a threaded server may close the body in another context.
    _request_id.set(None)
    _route.set(None)
    _method.set(None)


# --- Exceptions without their messages ---------------------------------------------------------

_SQLSTATE = re.compile(r"[0-9A-Z]{5}")


def describe_exception(error: BaseException) -> str:
    """The exception's qualified type, with a database's SQLSTATE or an OS errno when it has
    one: what an operator needs, and never the message."""
    kind = type(error)
    name = kind.__qualname__
    if kind.__module__ not in ("builtins", "__main__"):
        name = f"{kind.__module__}.{name}"
    original = getattr(error, "orig", None)
    for candidate in (error, original):
        state = getattr(candidate, "sqlstate", None)
        if isinstance(state, str) and _SQLSTATE.fullmatch(state):
            return f"{name} [sqlstate {state}]"
    if isinstance(error, OSError) and isinstance(error.errno, int):
        return f"{name} [errno {error.errno}]"
    return name


def safe_location(error: BaseException) -> str:
    """The innermost frame in the app's own code (else the innermost): file, line, function."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "-"
    ours = [frame for frame in frames if f"{os.sep}interrupters{os.sep}" in frame.filename]
    frame = (ours or frames)[-1]
    filename = frame.filename
    marker = f"{os.sep}interrupters{os.sep}"
    if marker in filename:
        filename = "interrupters" + os.sep + filename.rsplit(marker, 1)[1]
    else:
        filename = os.path.basename(filename)
    return f"{filename}:{frame.lineno} in {frame.name}"


def safe_traceback(error: BaseException) -> str:
    """The traceback of the exception and its causes, each ending in its type, not its text."""
    # Newest first; each with the sentence Python prints before it when it has an older one.
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        older: BaseException | None = None
        link = ""
        if current.__cause__ is not None:
            older, link = current.__cause__, "The above exception was the direct cause of:"
        elif current.__context__ is not None and not current.__suppress_context__:
            older, link = current.__context__, "During handling of the above exception:"
        chain.append((current, link if older is not None and id(older) not in seen else ""))
        current = older
    parts: list[str] = []
    for item, link in reversed(chain):
        if link:
            parts.append(f"\n\n{link}\n\n")
        stack = traceback.extract_tb(item.__traceback__)
        if stack:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_list(stack))
        parts.append(describe_exception(item))
    return "".join(parts)


_TRACEBACK_EXCEPTION_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::.*)?$")


def safe_traceback_text(text: str) -> str:
    """A traceback that is only text (werkzeug's "Error on request"): the frames (the "File"
    lines and the source under them) kept, every exception line cut to its type, any other
    line (a message's further lines, however indented) dropped."""
    kept: list[str] = []
    in_frame = False
    for line in text.splitlines():
        if line.startswith("  File "):
            kept.append(line)
            in_frame = True
        elif in_frame and line.startswith("    "):
            kept.append(line)
        elif line.startswith(("Traceback ", "The above exception", "During handling")):
            kept.append(line)
            in_frame = False
        else:
            in_frame = False
            match = _TRACEBACK_EXCEPTION_LINE.match(line)
            if match and not line.startswith(" "):
                kept.append(match.group("type"))
    return "\n".join(kept)


# --- Redaction: the last line of defence --------------------------------------------------------

REDACTED_MESSAGE = "[redacted: the line looked as if it held a participant code or identity number]"
_EMAIL = re.compile(r"[^\s@<>()\[\]\"',;:]+@[^\s@<>()\[\]\"',;:]+\.[^\s@<>()\[\]\"',;:]+")
# Wider than a code on purpose (any letter or digit): `find_identifier` decides on each match.
_CODE_SHAPE = re.compile(
    r"(?<![0-9A-Za-z])P[\s\-_.\u2010-\u2015\u2212]?"
    r"(?:[0-9A-Za-z]{4}|[0-9A-Za-z](?:[\s\-_.][0-9A-Za-z]){3})(?![0-9A-Za-z])",
    re.IGNORECASE,
)
_NUMBER_SHAPE = re.compile(r"(?<!\d)(?:\d{2})?\d{6}[-+ ]?\d{4}(?!\d)")
_METHOD_WORDS = re.compile(r"\b(?:" + "|".join(sorted(_METHODS)) + r")\b")
# What `find_identifier` could still find in ASCII text: a P and four letters or digits with
# any of its separators between them, or ten digits so.
_SEPARATORS = r"[-+./\\_~|'\s]*"
_SUSPECT = re.compile(
    rf"(?<![A-Za-z0-9])[Pp]{_SEPARATORS}(?:[A-Za-z0-9]{_SEPARATORS}){{4}}"
    rf"|\d(?:{_SEPARATORS}\d){{9}}"
)
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")


def _code(match: re.Match[str]) -> str:
    text = match.group(0)
    if text in _METHODS:  # "PATCH" is P and four letters of the codes' alphabet
        return text
    return "[code]" if find_identifier(text) is Identifier.participant_code else text


def _number(match: re.Match[str]) -> str:
    return "[id-number]" if find_identifier(match.group(0)) is Identifier.identity_number else ""


def _ipv4(match: re.Match[str]) -> str:
    text = match.group(0)
    # The server's own "listening at 127.0.0.1:8000" is no one's address.
    return text if text.startswith("127.") or text == "0.0.0.0" else "[address]"  # noqa: S104


def _ipv6(match: re.Match[str]) -> str:
    text = match.group(0)
    # "12:30:45" is a time; an address has a "::" or seven colons.
    if text == "::1" or text == "::":
        return text
    return "[address]" if "::" in text or text.count(":") == 7 else text


def redact(text: str) -> str:
    """The text with e-mail addresses, participant codes, identity numbers and IP addresses
    replaced; all of it replaced when it still looks identifying after normalisation (a code
    written with look-alike letters or invisible characters)."""
    if not text:
        return text
    if "@" in text:
        text = _EMAIL.sub("[email]", text)
    text = _CODE_SHAPE.sub(_code, text)
    text = _NUMBER_SHAPE.sub(lambda m: _number(m) or m.group(0), text)
    text = _IPV4.sub(_ipv4, text)
    if ":" in text:
        text = _IPV6.sub(_ipv6, text)
    # The full check normalises every character: only for text that could still hide a code
    # or a number (plain ASCII without such a shape cannot). It runs on every line.
    rest = _METHOD_WORDS.sub(" ", text)
    if rest.isascii() and not _SUSPECT.search(rest):
        return text
    if find_identifier(rest) is not None:
        return REDACTED_MESSAGE
    return text


# --- The filter on every handler ----------------------------------------------------------------

_STANDARD_ATTRIBUTES = frozenset(RESERVED_ATTRS) | {"message", "asctime", _SAFE}
# werkzeug's development server: '<address> - - [<date>] "GET /path?query HTTP/1.1" 200 -'.
_WERKZEUG_PREFIX = re.compile(r"^\S+ - - \[[^\]]*\] ")
_WERKZEUG_ACCESS = '"%s" %s %s'
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_GUNICORN_INVALID = re.compile(r"^Invalid request from ip=[^:]*: (?P<error>[^'\":(]*)")


class SafeRecords(logging.Filter):
    """Adds the request id, rewrites the servers' own request lines, strips exception messages
    and redacts every text of a record. On every handler: a logger's filter would not see the
    records its children pass up."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _SAFE, False):
            return True
        request_id = current_request_id()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        if record.name == "werkzeug":
            _rewrite_werkzeug(record)
        elif record.name == "gunicorn.error":
            _rewrite_gunicorn(record)
        elif record.name.startswith("sqlalchemy.engine") and record.msg == "Row %r":
            # At DEBUG SQLAlchemy prints every row it reads: a note, a code, an address.
            record.msg = "Row (values hidden)"
            record.args = None
        _strip_exception(record)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: keep what was meant, not the arguments
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        for key, value in list(record.__dict__.items()):
            if _known_safe(key, value):
                continue
            if (
                key in _STANDARD_ATTRIBUTES
                or value is None
                or isinstance(value, bool | int | float)
            ):
                continue
            # A dict or a list passed in `extra` is written out whole: as redacted text.
            setattr(record, key, redact(value if isinstance(value, str) else repr(value)))
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        setattr(record, _SAFE, True)
        return True


def _known_safe(key: str, value: Any) -> bool:
    """The fields this module sets itself, in their own shapes (spares the redaction's time)."""
    if key == "request_id":
        return isinstance(value, str) and _WELL_FORMED_ID.fullmatch(value) is not None
    if key == "method":
        return value in _METHODS or value in ("OTHER", "-")
    return False


def _strip_exception(record: logging.LogRecord) -> None:
    if record.exc_info:
        error = record.exc_info[1]
        record.exc_text = safe_traceback(error) if error is not None else None
        # Formatters would otherwise format the exception again, messages and all.
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = safe_traceback_text(record.exc_text)


def _rewrite_werkzeug(record: logging.LogRecord) -> None:
    if not isinstance(record.msg, str):
        return
    # The development server colours its lines for a terminal.
    record.msg = _ANSI.sub("", record.msg)
    if record.msg.startswith("Error on request"):
        # An exception that left the app, as text: "Error on request:\n<traceback>".
        record.msg = "Error on request:\n" + safe_traceback_text(record.msg)
        record.args = None
        return
    if not _WERKZEUG_PREFIX.match(record.msg):
        return  # the banner ("Running on ..."), not a request
    template = _WERKZEUG_PREFIX.sub("", record.msg).rstrip()
    args = record.args if isinstance(record.args, tuple) else ()
    if template == _WERKZEUG_ACCESS and len(args) == 3:
        status = str(args[1])
        record.msg = "%s %s %s"
        record.args = (_method.get() or "-", _route.get() or "-", status)
        record.method = _method.get() or "-"
        record.route = _route.get() or "-"
        record.status = int(status) if status.isdigit() else status
        return
    # "code 400, message Bad request syntax ('GET /?email=...')": numbers stay, text goes.
    record.msg = template
    record.args = tuple(arg if isinstance(arg, int) else "-" for arg in args) or None


def _rewrite_gunicorn(record: logging.LogRecord) -> None:
    if not isinstance(record.msg, str):
        return
    if record.msg.startswith("Error handling request"):
        # "... %s %s" with the method and the URI, query string and all.
        record.msg = "Error handling request"
        record.args = None
        return
    args = record.args if isinstance(record.args, tuple) else ()
    if record.msg == "%s %s" and len(args) == 2:
        # The default pre_request hook: the method and the raw path, at DEBUG.
        record.args = (safe_method(str(args[0])), "-")
        return
    match = _GUNICORN_INVALID.match(record.msg)
    if match:
        # gunicorn formats the client's address and the bad request line into the message.
        record.msg = "Invalid request refused: %s"
        record.args = (match.group("error").strip() or "-",)


# --- Formatters, handlers, configuration --------------------------------------------------------


def make_formatter(fmt: str) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter(
            ["levelname", "name", "message"],
            timestamp="time",
            rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
            reserved_attrs=[*RESERVED_ATTRS, _SAFE],
        )
    if fmt == "text":
        return logging.Formatter(TEXT_FORMAT, defaults={"request_id": "-"})
    raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {fmt!r}")


def make_handler(fmt: str, stream: TextIO | None = None) -> logging.Handler:
    """A handler that writes this app's lines (the format, the request id, the redaction)."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(make_formatter(fmt))
    handler.addFilter(SafeRecords())
    return handler


def log_format(env_name: str, configured: str | None = None) -> str:
    fmt = (configured or os.environ.get("LOG_FORMAT") or "").strip().lower()
    if not fmt:
        return "json" if env_name == "production" else "text"
    if fmt not in FORMATS:
        raise RuntimeError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return fmt


def log_level(configured: str | int | None = None) -> int:
    value = configured or os.environ.get("LOG_LEVEL") or "INFO"
    if isinstance(value, int):
        return value
    level = logging.getLevelName(value.strip().upper())
    if not isinstance(level, int):
        raise RuntimeError(f"LOG_LEVEL {value!r} is not a level (DEBUG, INFO, WARNING, ERROR)")
    return level


def configure(*, fmt: str, level: int, stream: TextIO | None = None) -> None:
    """Send every logger's lines through one handler on the root logger.

    Under gunicorn `GunicornLogger` has already put its error log's handlers there: then the
    app's lines go where gunicorn's go, and nothing is added."""
    root = logging.getLogger()
    if any(getattr(handler, "_interrupters_gunicorn", False) for handler in root.handlers):
        return
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    handler = make_handler(fmt, stream)
    handler.set_name(HANDLER_NAME)
    root.addHandler(handler)
    root.setLevel(level)
    # Every process that builds the app would otherwise list alembic's plugins at INFO.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def init_app(app: Flask) -> None:
    """Request ids for every request, exceptions logged safely, and (outside tests, which leave
    logging to pytest) the root logger's handler."""
    fmt = log_format(app.config.get("ENV_NAME", "production"), app.config.get("LOG_FORMAT"))
    level = log_level(app.config.get("LOG_LEVEL"))
    if not app.testing:
        configure(fmt=fmt, level=level)
    # Flask gives its logger a handler of its own when it finds none above it (tests, a
    # process that configured nothing): its lines would skip the filter. They go up instead.
    app.logger.removeHandler(default_handler)
    app.wsgi_app = RequestIdMiddleware(  # type: ignore[method-assign]
        app.wsgi_app,
        url_map=app.url_map,
        # The proxy sets (and overwrites) X-Request-ID; a client's own is not believed.
        trust_header=bool(app.config.get("TRUSTED_PROXIES")),
    )
    app.log_exception = MethodType(_log_exception, app)  # type: ignore[method-assign]


def _log_exception(
    app: Flask,
    exc_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None],
) -> None:
    """Flask's 500 log line without `request.path` (a client's text) or the error's message."""
    error = exc_info[1]
    if error is None:
        app.logger.error("unhandled error on %s", _where())
        return
    app.logger.error(
        "unhandled %s on %s at %s",
        describe_exception(error),
        _where(),
        safe_location(error),
        exc_info=exc_info,
    )


def _where() -> str:
    if not has_request_context():
        return "-"
    return f"{safe_method(request.method)} {request.endpoint or '-'}"


# --- gunicorn -----------------------------------------------------------------------------------


class GunicornLogger(glogging.Logger):
    """gunicorn's logger in the app's format: its error log, its access log and the app's own
    lines (the root logger) all go to gunicorn's targets (`--error-logfile`, `--access-logfile`)
    through the same formatter and filter. Access lines carry no address, agent, referrer or
    query string."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        formatter = make_formatter(log_format(os.environ.get("INTERRUPTERS_ENV", "production")))
        root = logging.getLogger()
        for handler in list(root.handlers):
            if getattr(handler, "_interrupters_gunicorn", False):
                root.removeHandler(handler)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if not isinstance(handler, logging.handlers.SysLogHandler):
                    handler.setFormatter(formatter)
                if not any(isinstance(f, SafeRecords) for f in handler.filters):
                    handler.addFilter(SafeRecords())
        for handler in self.error_log.handlers:
            handler._interrupters_gunicorn = True
            root.addHandler(handler)
        root.setLevel(self.loglevel)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        method = safe_method(getattr(req, "method", None))
        route = environ.get(ENVIRON_ROUTE) or "-"
        duration_ms = round(request_time.total_seconds() * 1000, 1)
        extra: dict[str, Any] = {
            "method": method,
            "route": route,
            "status": int(status) if str(status).isdigit() else str(status),
            "duration_ms": duration_ms,
            "bytes": getattr(resp, "sent", None),
        }
        request_id = environ.get(ENVIRON_REQUEST_ID)
        if request_id:
            extra["request_id"] = request_id
        self.access_log.info("%s %s %s %sms", method, route, status, duration_ms, extra=extra)


def gunicorn_pre_request(worker: Any, req: Any) -> None:
    """Nothing: gunicorn's default logs the raw path at DEBUG; the access line, written after
    the answer, says the method and the route safely."""
