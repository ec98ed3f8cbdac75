"""Routes for auditors and operators: the audit log, liveness, readiness and projection positions."""

from interfaces.http.operations import audit, health, metrics

routers = (audit.router, health.router, metrics.router)
