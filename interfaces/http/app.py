"""The FastAPI application factory: nothing connects until the lifespan starts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from infrastructure.container import Container
from infrastructure.settings import Settings
from interfaces.http import problems
from interfaces.http.commands import accounts as account_commands
from interfaces.http.commands import auth as auth_commands
from interfaces.http.commands import inventory as inventory_commands
from interfaces.http.commands import work_orders as work_order_commands
from interfaces.http.middleware import RequestContextMiddleware
from interfaces.http.queries import accounts as account_queries
from interfaces.http.queries import audit, ops
from interfaces.http.queries import work_orders as work_order_queries


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> FastAPI:
    """Build the API. Pass a ``container`` to share one (tests); otherwise the lifespan owns one."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = container is None
        app.state.container = container or Container(settings or Settings())
        if owned:
            app.state.container.start()
        try:
            yield
        finally:
            if owned:
                app.state.container.close()

    app = FastAPI(
        title="Chronicle",
        version="0.1.0",
        description="Event-sourced CQRS backend. Commands answer {id, version, position}; "
        "queries accept min_position to read their own writes.",
        lifespan=lifespan,
    )
    problems.install(app)
    for router in (
        auth_commands.router,
        account_commands.router,
        account_queries.router,
        work_order_commands.router,
        inventory_commands.router,
        work_order_queries.router,
        audit.router,
        ops.router,
    ):
        app.include_router(router)
    app.add_middleware(RequestContextMiddleware)
    return app
