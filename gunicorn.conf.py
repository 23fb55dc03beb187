"""gunicorn's settings for Interrupters, read by `gunicorn app:app` from this folder.

Logging (interrupters/logs.py): gunicorn's error log, its access log and the app's own lines in
one format (LOG_FORMAT: json lines by default in production, text otherwise), with a request id
and no personal data. Command-line flags still win (`--access-logfile`, `--log-level`).
"""

logger_class = "interrupters.logs.GunicornLogger"
# Access lines on standard output, error and app lines on standard error (journald, containers).
accesslog = "-"
errorlog = "-"


def pre_request(worker, req):
    """Nothing: gunicorn's default logs the raw path at DEBUG; the access line (written after
    the answer) says the method and the route safely."""
