"""The FastAPI application factory: nothing connects until the lifespan starts.

Each context contributes its routers (one line here); the shared mechanisms (problems, request
context, the documented problem responses, offline docs) apply to all of them alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from infrastructure.root import Chronicle
from infrastructure.shared.settings import Settings
from interfaces.http import accounts, inventory, operations, work_orders
from interfaces.http.shared import idempotency, problems
from interfaces.http.shared.middleware import RequestContextMiddleware
from interfaces.http.shared.openapi import document_problems, install_openapi
from interfaces.http.shared.problems import JsonResponse
from interfaces.http.shared.ratelimit import RateLimited, RateLimitHeaders

ROUTERS = (*accounts.routers, *work_orders.routers, *inventory.routers, *operations.routers)


def create_app(settings: Settings | None = None, *, root: Chronicle | None = None) -> FastAPI:
    """Build the API. Pass a started ``root`` to share one (tests); otherwise the lifespan owns one."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = root is None
        chronicle = root or Chronicle(settings or Settings())
        if owned:
            chronicle.start()
        app.state.services = chronicle.services
        try:
            yield
        finally:
            if owned:
                chronicle.close()

    app = FastAPIOffline(
        title="Chronicle",
        version="0.1.0",
        description="Event-sourced CQRS backend. Commands answer {id, version, position}; "
        "queries accept min_position to read their own writes. Errors are RFC 9457 problems.",
        lifespan=lifespan,
        default_response_class=JsonResponse,
        swagger_ui_parameters={"persistAuthorization": True},
    )
    problems.install(app)
    for router in ROUTERS:
        document_problems(router, [RateLimited])
        app.include_router(router, dependencies=[RateLimited])
    install_openapi(app)
    idempotency.install(app)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(RequestContextMiddleware)
    return app
