"""Routes for auditors and operators: the audit log, the explorer, health, projection positions and rebuilds."""

from interfaces.http.operations import audit, chain, explorer, health, metrics

routers = (audit.router, explorer.router, health.router, chain.router, metrics.router)
