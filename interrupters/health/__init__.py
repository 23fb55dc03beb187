"""Health: liveness, readiness, draining on SIGTERM and the scheduler's heartbeat (issue 14)."""
