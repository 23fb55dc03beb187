"""Readiness for load balancers (/readyz) and the admin's health page (/health).

Liveness is /healthz (interrupters/main.py): it answers as long as the process serves, and
touches nothing else, so a restart is never ordered because the database blinked.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from interrupters.auth.values import Role
from interrupters.authz import PUBLIC, guard
from interrupters.db import get_engine, get_session, utcnow
from interrupters.health import services
from interrupters.keys import key_id
from interrupters.push.webpush import vapid_key

logger = logging.getLogger(__name__)

bp = Blueprint("health", __name__)
guard(bp, {"ready": PUBLIC, "page": {Role.admin}})


def _local_probe() -> bool:
    """A probe from this machine that no proxy passed on (a proxy on the same machine makes
    every visitor look local: its requests carry X-Forwarded-For)."""
    if request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded"):
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def _vapid_key_id() -> str | None:
    try:
        return key_id(vapid_key(current_app._get_current_object()))  # type: ignore[attr-defined]
    except Exception:
        logger.exception("readiness: could not read the VAPID key")
        return None


def host_report(now: Any = None) -> services.Readiness:
    """This host's readiness, as /readyz, /health and the admin's start page read it."""
    return services.readiness(
        engine=get_engine(), config=current_app.config, now=now, vapid_key_id=_vapid_key_id()
    )


def _admin() -> bool:
    try:
        return bool(current_user.is_authenticated and current_user.has_role(Role.admin))
    except Exception:
        # The database is what is down: the sign-in cannot be read either.
        logger.warning("readiness: could not read the sign-in")
        return False


@bp.get("/readyz")
def ready() -> tuple[dict[str, Any], int, dict[str, str]]:
    """200 ready or degraded, 503 unready or draining; the checks only for admins and local
    probes (host names and figures are for the operations team, not the world)."""
    report = host_report()
    body = report.detail() if _local_probe() or _admin() else report.summary()
    return body, report.http_status, {"Cache-Control": "no-store"}


@bp.get("/health")
def page() -> str:
    """The admin's health page: the same checks, every scheduler process, the figures."""
    now = utcnow()
    report = host_report(now)
    session = get_session()
    return render_template(
        "health/page.html",
        report=report,
        checks={check.name: check for check in report.checks},
        heartbeats=services.heartbeats(session=session),
        stale_after=services.stale_after(current_app.config),
        now=now,
    )
