"""Structured logs (interrupters/logs.py): JSON lines and text with the request's id, the
proxy's id taken only when trusted and well-formed, exceptions without their messages, the
last-line redaction, the development server's and gunicorn's request lines."""

from __future__ import annotations

import http.client
import io
import json
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from interrupters import create_app, logs
from interrupters.cli import upgrade_database
from interrupters.contacts import services as contact_services

ROOT = Path(__file__).resolve().parent.parent
HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logs.make_handler("json", stream)
    root = logging.getLogger()
    level = root.level
    engine = logging.getLogger("sqlalchemy.engine")
    engine_level = engine.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # Each request's statements (without their parameters), so every request logs lines.
    engine.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)
    engine.setLevel(engine_level)


def lines_since(stream: io.StringIO, offset: int) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue()[offset:].splitlines() if line]


# Request ids ---------------------------------------------------------------------------------


def test_every_json_line_of_a_request_carries_its_id(app, login_as, json_log, monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a 500 is logged, as in production
    client = app.test_client()
    login_as("interrupter", client=client)

    def fails(**_kwargs: Any) -> Any:
        raise ValueError("P-7K3Q")

    monkeypatch.setattr(contact_services, "own_contacts", fails)
    seen: set[str] = set()
    logged = 0
    requests = [
        ("GET", "/", {}),
        ("GET", "/contacts", {}),  # the forced 500
        ("GET", "/participants/99999999", {}),  # a 404, audited
        ("POST", "/sync/records", {"json": {"kind": "contact"}}),
        ("GET", "/no/such/page", {}),
    ]
    for method, url, kwargs in requests:
        offset = len(json_log.getvalue())
        response = client.open(url, method=method, **kwargs)
        response.close()
        request_id = response.headers["X-Request-ID"]
        assert HEX_ID.fullmatch(request_id)
        assert request_id not in seen
        seen.add(request_id)
        lines = lines_since(json_log, offset)
        logged += bool(lines)
        for line in lines:
            assert line["request_id"] == request_id, line
            assert {"time", "level", "logger", "message"} <= line.keys()
    # All but the unknown page read the database at least.
    assert logged >= 4
    # A line outside any request has no id.
    offset = len(json_log.getvalue())
    logging.getLogger("interrupters.test").info("between requests")
    (line,) = lines_since(json_log, offset)
    assert "request_id" not in line


def test_a_server_error_is_one_line_with_the_type_and_where(app, login_as, json_log, monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    login_as("interrupter", client=client)

    said = "cannot list P-7K3Q for kim@example.org: she said so"

    def fails(**_kwargs: Any) -> Any:
        raise ValueError(said)

    monkeypatch.setattr(contact_services, "own_contacts", fails)
    offset = len(json_log.getvalue())
    response = client.get("/contacts")
    assert response.status_code == 500
    (line,) = [x for x in lines_since(json_log, offset) if x["level"] == "ERROR"]
    assert line["message"] == (
        "unhandled ValueError on GET contacts.mine at interrupters/contacts/views.py:"
        + line["message"].rsplit(":", 1)[1]
    )
    assert " in mine" in line["message"]
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert "Traceback (most recent call last)" in line["exception"]
    assert line["exception"].endswith("ValueError")
    assert "she said so" not in json_log.getvalue()


def proxied_app(database_url: str, tmp_path: Path, trusted: int) -> Flask:
    from .conftest import _test_config

    config = _test_config(database_url, INSTANCE_PATH=str(tmp_path / "i"), TRUSTED_PROXIES=trusted)
    return create_app(config)


def test_the_proxys_request_id_is_taken_only_when_trusted_and_well_formed(
    database_url, tmp_path, json_log
):
    theirs = uuid.uuid4().hex
    dashed = str(uuid.uuid4())
    behind_proxy = proxied_app(database_url, tmp_path, trusted=1).test_client()
    for offered in (theirs, dashed):
        response = behind_proxy.get("/login", headers={"X-Request-ID": offered})
        assert response.headers["X-Request-ID"] == offered
    for hostile in (
        "P-7K3Q",
        "kim@example.org",
        "not hex at all, but long enough",
        "199001011239abcd",  # hex digits that spell an identity number
        "0" * 65,
        "abc",
    ):
        offset = len(json_log.getvalue())
        response = behind_proxy.get("/login", headers={"X-Request-ID": hostile})
        generated = response.headers["X-Request-ID"]
        assert generated != hostile and HEX_ID.fullmatch(generated), hostile
        assert all(line["request_id"] == generated for line in lines_since(json_log, offset))
    # Straight from the internet, no header is believed: anyone could set it.
    direct = proxied_app(database_url, tmp_path / "direct", trusted=0).test_client()
    response = direct.get("/login", headers={"X-Request-ID": theirs})
    assert response.headers["X-Request-ID"] != theirs


def test_the_text_format_is_readable_and_carries_the_id():
    stream = io.StringIO()
    handler = logs.make_handler("text", stream)
    logger = logging.getLogger("interrupters.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    request_id = uuid.uuid4().hex
    # The test client leaves a request's context until its answer is closed; a server closes it.
    logs._clear_context()
    try:
        logger.info("outside")
        token = logs._request_id.set(request_id)
        logger.info("inside %s", "a request")
        logs._request_id.reset(token)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    first, second = stream.getvalue().splitlines()
    assert re.fullmatch(r"\S+ \S+ INFO interrupters\.test \[-\] outside", first)
    assert second.endswith(f"INFO interrupters.test [{request_id}] inside a request")


def test_log_format_and_level_settings(monkeypatch):
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    assert logs.log_format("production") == "json"
    assert logs.log_format("development") == "text"
    assert logs.log_format("production", "text") == "text"
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    assert logs.log_format("development") == "json"
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(RuntimeError, match="LOG_FORMAT"):
        logs.log_format("production")
    assert logs.log_level("warning") == logging.WARNING
    with pytest.raises(RuntimeError, match="LOG_LEVEL"):
        logs.log_level("loud")


def test_configure_replaces_its_handler_rather_than_stacking():
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        logs.configure(fmt="json", level=logging.INFO, stream=io.StringIO())
        logs.configure(fmt="text", level=logging.WARNING, stream=io.StringIO())
        ours = [h for h in root.handlers if h.get_name() == logs.HANDLER_NAME]
        assert len(ours) == 1
        assert root.level == logging.WARNING
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)


# What a line may hold ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("code P-7K3Q seen", "code [code] seen"),
        ("code p7k3q seen", "code [code] seen"),
        ("spaced P 7 K 3 Q", "spaced [code]"),
        ("mail Kim.Svensson+x@example.org now", "mail [email] now"),
        ("born 19900101-1239 or 900101-1239", "born [id-number] or [id-number]"),
        ("from 10.1.2.3 and 2001:db8::7", "from [address] and [address]"),
        ("listening at 127.0.0.1:8000", "listening at 127.0.0.1:8000"),
        ("PATCH /contacts/12 200 at 12:30:45", "PATCH /contacts/12 200 at 12:30:45"),
        ("P-vakt and p-hus are Swedish words", "P-vakt and p-hus are Swedish words"),
        ("call 070-123 45 67", "call 070-123 45 67"),
        ("job 550e8400-e29b-41d4-a716-446655440000 done", None),
    ],
)
def test_redact(text, expected):
    assert logs.redact(text) == (text if expected is None else expected)


def test_a_disguised_code_takes_the_whole_line():
    # A Cyrillic capital Er and a zero-width space: found after normalisation, not by the patterns.
    assert logs.redact("note: \u0420-7\u200bK3Q") == logs.REDACTED_MESSAGE


def test_exceptions_keep_their_frames_and_types_but_no_messages():
    address, said = "kim@example.org", "P-7K3Q said a secret"

    def inner() -> None:
        raise KeyError(address)

    try:
        try:
            inner()
        except KeyError as error:
            raise ValueError(said) from error
    except ValueError as error:
        text = logs.safe_traceback(error)
        where = logs.safe_location(error)
    assert "kim@example.org" not in text and "P-7K3Q" not in text and "secret" not in text
    assert "in inner" in text and "The above exception was the direct cause of:" in text
    assert text.endswith("ValueError")
    assert where.startswith("test_logs.py:") and where.endswith(
        "in test_exceptions_keep_their_frames_and_types_but_no_messages"
    )


def test_a_database_error_says_its_sqlstate_never_its_detail():
    class UniqueViolation(Exception):
        sqlstate = "23505"

    class IntegrityError(Exception):
        def __init__(self) -> None:
            super().__init__("Key (code)=(P-7K3Q) already exists.")
            self.orig = UniqueViolation()

    assert logs.describe_exception(IntegrityError()).endswith("IntegrityError [sqlstate 23505]")
    assert logs.describe_exception(ConnectionRefusedError(111, "refused")) == (
        "ConnectionRefusedError [errno 111]"
    )


def test_a_traceback_in_text_loses_its_messages():
    text = (
        "Traceback (most recent call last):\n"
        '  File "/srv/app/interrupters/x.py", line 3, in view\n'
        "    store(note)\n"
        "ValueError: the note says P-7K3Q\n"
        "  and goes on: kim@example.org\n"
    )
    assert logs.safe_traceback_text(text) == (
        "Traceback (most recent call last):\n"
        '  File "/srv/app/interrupters/x.py", line 3, in view\n'
        "    store(note)\n"
        "ValueError"
    )


def test_the_development_servers_request_line_says_the_route_not_the_query(app):
    """werkzeug logs '<address> - - [<date>] "GET /path?query HTTP/1.1" 200 -' while the
    answer is written: the line becomes the method, the safe route and the status."""
    stream = io.StringIO()
    handler = logs.make_handler("json", stream)
    werkzeug = logging.getLogger("werkzeug")
    werkzeug.addHandler(handler)
    werkzeug.setLevel(logging.INFO)
    werkzeug.propagate = False
    ids = []
    try:
        for path, query in (("/invitation/P-7K3Q", "x=1"), ("/login", "email=kim@example.org")):
            environ = {
                "REQUEST_METHOD": "GET",
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "SERVER_NAME": "localhost",
                "SERVER_PORT": "80",
                "wsgi.url_scheme": "http",
                "wsgi.input": io.BytesIO(),
                "wsgi.errors": sys.stderr,
            }
            headers: list[Any] = []
            body = app.wsgi_app(environ, lambda status, h, exc_info=None: headers.extend(h))
            b"".join(body)
            werkzeug.info(
                '10.0.0.9 - - [05/Dec/2026 10:00:00] "%s" %s %s',
                f"GET {path}?{query} HTTP/1.1",
                "200",
                "-",
            )
            body.close()  # type: ignore[attr-defined]
            ids.append(dict(headers)["X-Request-ID"])
        werkzeug.info(
            "10.0.0.9 - - [05/Dec/2026 10:00:00] code %d, message %s",
            400,
            "Bad request syntax ('GET /?e=kim@example.org')",
        )
    finally:
        werkzeug.removeHandler(handler)
        werkzeug.propagate = True
    first, second, third = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "GET /invitation/<token> 200" and first["request_id"] == ids[0]
    assert second["message"] == "GET /login 200" and second["request_id"] == ids[1]
    assert third["message"] == "code 400, message -" and "request_id" not in third
    assert "10.0.0.9" not in stream.getvalue()


# gunicorn ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def gunicorn_server(tmp_path: Path) -> Iterator[tuple[int, Path, Path]]:
    """gunicorn with the app's settings (interrupters/gunicorn_conf.py), on SQLite, production
    settings, JSON lines, every logger at DEBUG."""
    database = tmp_path / "g.db"
    upgrade_database(f"sqlite:///{database}")
    (tmp_path / "leak_wsgi.py").write_text(
        "from interrupters import create_app\n"
        f"app = create_app({{'INSTANCE_PATH': {str(tmp_path / 'instance')!r}}})\n"
    )
    port = _free_port()
    out, err = tmp_path / "access.log", tmp_path / "error.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "INTERRUPTERS_ENV": "production",
        "LOG_FORMAT": "json",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": f"sqlite:///{database}",
        "SECURE_COOKIES": "0",
        "RATELIMIT_ALLOW_MEMORY": "1",
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "python:interrupters.gunicorn_conf"]
    command += ["--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "1", "--log-level", "debug", "--pythonpath", str(tmp_path)]
    command += ["leak_wsgi:app"]
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, err.read_text()[-3000:]
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not answer"
            time.sleep(0.3)
        yield port, out, err
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_gunicorns_access_and_error_logs_are_json_with_ids_and_nothing_planted(gunicorn_server):
    port, out, err = gunicorn_server
    code, email, note = "P-7K3Q", "planted.kim@example.org", f"plantednote{uuid.uuid4().hex[:12]}"
    query = f"?email={email}&note={note}&code={code}"
    ids = []

    def send(method: str, path: str, body: str | None = None, **headers: str) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        ids.append(response.getheader("X-Request-ID"))

    send("GET", "/login" + query)
    send("POST", "/login" + query, f"email={email}&password={note}")
    send("GET", f"/invitation/{code}{query}")
    send("GET", f"/{code}/{note}{query}", **{"X-Request-ID": uuid.uuid4().hex})
    send("POST", "/sync/records", json.dumps({"kind": note, "client_uuid": code}))
    # A request line gunicorn refuses itself, with the planted values in it.
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        raw.sendall(f"GET /{code}?e={email} HTTP/1.1 {note}\r\n\r\n".encode())
        raw.recv(1024)
    time.sleep(0.5)

    access = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    errors = [json.loads(line) for line in err.read_text().splitlines() if line.strip()]
    routes = {line["request_id"]: line for line in access if line["logger"] == "gunicorn.access"}
    for request_id in ids:
        assert request_id and HEX_ID.fullmatch(request_id)
        assert request_id in routes, f"no access line for {request_id}"
    assert [routes[i]["route"] for i in ids] == [
        "/login",
        "/login",
        "/invitation/<token>",
        "-",
        "/sync/records",
    ]
    line = routes[ids[0]]
    assert line["method"] == "GET" and line["status"] == 200 and line["duration_ms"] >= 0
    assert line["message"].startswith("GET /login 200 ")
    assert any(e["message"].startswith("Invalid request refused") for e in errors), errors
    # The app's own lines (Flask-WTF's refusal of the POST) go to gunicorn's error log.
    assert any(e["logger"] == "flask_wtf.csrf" and e.get("request_id") == ids[1] for e in errors)
    everything = (out.read_text() + err.read_text()).lower()
    for needle in (code.lower(), "p7k3q", email, "planted.kim", note):
        assert needle not in everything, needle


def test_the_development_servers_error_traceback_loses_its_messages():
    """werkzeug's "Error on request" (an exception that left the app) is text, not exc_info."""
    stream = io.StringIO()
    handler = logs.make_handler("text", stream)
    werkzeug = logging.getLogger("werkzeug")
    werkzeug.addHandler(handler)
    werkzeug.propagate = False
    try:
        werkzeug.error(
            "Error on request:\nTraceback (most recent call last):\n"
            '  File "/srv/interrupters/sync/views.py", line 9, in receive\n'
            "    store(payload)\n"
            "ValueError: the note said plantednote-in-werkzeug"
        )
    finally:
        werkzeug.removeHandler(handler)
        werkzeug.propagate = True
    written = stream.getvalue()
    assert "plantednote" not in written and "P-7K3Q" not in written
    assert 'File "/srv/interrupters/sync/views.py", line 9, in receive' in written
    assert "\nValueError\n" in written


def test_a_structure_passed_as_extra_is_written_redacted():
    stream = io.StringIO()
    handler = logs.make_handler("json", stream)
    logger = logging.getLogger("interrupters.test")
    logger.addHandler(handler)
    try:
        logger.warning("held", extra={"payload": {"note": "P-7K3Q", "by": "kim@example.org"}})
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line["payload"] == "{'note': '[code]', 'by': '[email]'}"
