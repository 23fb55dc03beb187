"""gunicorn's settings and hooks: `gunicorn -c python:interrupters.gunicorn_conf app:app`.

Everything here can be overridden on the command line (`--bind`, `--workers`,
`--access-logfile`, `--error-logfile`, `--log-level`, ...).

Logging (interrupters/logs.py): gunicorn's error log, its access log and the app's own lines in
one format (LOG_FORMAT: JSON lines by default in production, text otherwise), each line of a
request with its id, and no personal data.

The drain (docs/deploy.md, "Health"): on SIGTERM (a deploy, `systemctl stop`, a scale-down) each
worker first answers readiness with 503 for DRAIN_SECONDS while it goes on serving, so the load
balancer takes the host out before it stops accepting; then gunicorn's graceful stop lets the
requests in flight finish.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
from typing import Any

from interrupters.health.drain import draining, start_draining
from interrupters.logs import gunicorn_pre_request

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
# Processes of one request each, a core and one more: the app's requests are Python's work,
# and threads of one process take turns at its lock, so a request waits behind its
# neighbours (bench/sync_load.py on 2 cores, 1,000 records/s: p95 47-90 ms with 3 such
# workers, 94-202 ms with 2 of 4 threads). nginx reads a slow phone's upload whole before a
# worker sees it (docs/deploy.md), so no worker waits on one. WEB_THREADS above 1 makes them
# threaded workers (gunicorn's gthread), for a deployment whose requests mostly wait.
workers = int(os.environ.get("WEB_CONCURRENCY", str((os.cpu_count() or 1) + 1)))
worker_class = "sync"
threads = int(os.environ.get("WEB_THREADS", "1"))
# Threaded workers only (one-request workers close each connection): a proxy keeps its
# connections to the app open for a while; phones send again within seconds.
keepalive = 75
timeout = 60
drain_seconds = float(os.environ.get("DRAIN_SECONDS", "10"))
# The drain, then up to 30 s for what is still in flight; past that gunicorn kills the worker.
graceful_timeout = int(drain_seconds) + 30
# gunicorn 24+'s control socket is one path per user: two servers on a machine would share it.
control_socket_disable = True

logger_class = "interrupters.logs.GunicornLogger"
# Access lines on standard output (ACCESS_LOG: a file, or empty for none), error and app lines
# on standard error: journald or the container's log driver takes both.
accesslog = os.environ.get("ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# gunicorn's default hook logs each request's raw path (what a client typed) at DEBUG.
pre_request = gunicorn_pre_request


def post_worker_init(worker: Any) -> None:
    """Replace the worker's SIGTERM handler with drain-then-stop, and keep the app as loaded
    out of the garbage collector's way."""
    # What the worker holds once the app is loaded (modules, the app, its templates and
    # catalogues) lives as long as the worker: frozen, the collector never walks it again.
    # The collector took 8 % of the sync endpoint's time in one process, 3 % frozen.
    gc.freeze()
    stop = worker.handle_exit

    def drain_then_stop(signum: int, frame: Any) -> None:
        if draining():
            return  # a second SIGTERM changes nothing; SIGQUIT or SIGKILL stop at once
        start_draining()
        if drain_seconds <= 0:
            stop(signum, frame)
            return
        worker.log.info("draining for %.0f s before stopping", drain_seconds)
        timer = threading.Timer(drain_seconds, stop, args=(signum, frame))
        timer.daemon = True
        timer.start()

    signal.signal(signal.SIGTERM, drain_then_stop)
