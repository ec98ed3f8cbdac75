"""Routes for auditors and operators: the audit log, liveness, readiness, projection positions and rebuilds."""

from interfaces.http.operations import audit, health

routers = (audit.router, health.router)
