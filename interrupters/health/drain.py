"""The draining state: after SIGTERM a worker answers readiness 503 while it still serves.

A load balancer that probes readiness stops sending new requests during the drain; requests
already in flight, and those that arrive before it notices, are served as usual. Only then does
the worker stop accepting (gunicorn's graceful stop), and finishes what it has. The hook for
gunicorn is in interrupters/gunicorn_conf.py; the flag is per process, as each worker gets its
own SIGTERM from gunicorn's master.
"""

from __future__ import annotations

import threading

_draining = threading.Event()


def start_draining() -> None:
    _draining.set()


def stop_draining() -> None:
    """For tests: the process is back to serving."""
    _draining.clear()


def draining() -> bool:
    return _draining.is_set()
