"""Routes for auditors and operators: the audit log, liveness, readiness and projection positions."""

from interfaces.http.operations import audit, chain, health

routers = (audit.router, health.router, chain.router)
