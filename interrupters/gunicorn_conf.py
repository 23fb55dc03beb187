"""gunicorn's settings: `gunicorn -c python:interrupters.gunicorn_conf app:app`.

Logging (interrupters/logs.py): gunicorn's error log, its access log and the app's own lines in
one format (LOG_FORMAT: JSON lines by default in production, text otherwise), each line of a
request with its id, and no personal data. Command-line flags still win (`--access-logfile`,
`--error-logfile`, `--log-level`).
"""

from __future__ import annotations

import os

from interrupters.logs import gunicorn_pre_request

logger_class = "interrupters.logs.GunicornLogger"
# Access lines on standard output (ACCESS_LOG: a file, or empty for none), error and app lines
# on standard error: journald or the container's log driver takes both.
accesslog = os.environ.get("ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# gunicorn's default hook logs each request's raw path (what a client typed) at DEBUG.
pre_request = gunicorn_pre_request
