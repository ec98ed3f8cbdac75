"""The FastAPI application factory: nothing connects until the lifespan starts.

Each context contributes its routers (one line here); the shared mechanisms (problems, request
context, the documented problem responses, offline docs) apply to all of them alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from application.work_orders.importing import MAX_UPLOAD_BYTES
from infrastructure.root import Chronicle
from infrastructure.shared.collector import tune_collector
from infrastructure.shared.settings import Settings
from interfaces.http import accounts, flows, inventory, operations, subscriptions, trades, work_orders
from interfaces.http.shared import idempotency, problems
from interfaces.http.shared.inputs import storable_parameters
from interfaces.http.shared.middleware import (
    MULTIPART_ENVELOPE_BYTES,
    BodyLimitMiddleware,
    RefusingCORSMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
)
from interfaces.http.shared.openapi import document_problems, install_openapi
from interfaces.http.shared.problems import JsonResponse
from interfaces.http.shared.ratelimit import RateLimited, RateLimitHeaders

DOCS_ASSETS = "/static-offline-docs"
# What a browser page of an allowed origin may send and read (beyond the CORS-safelisted ones).
CORS_REQUEST_HEADERS = ("Authorization", "Content-Type", "If-Match", "Idempotency-Key", "X-Request-ID")
CORS_RESPONSE_HEADERS = ("ETag", "Location", "Retry-After", "X-Request-ID", "RateLimit", "RateLimit-Policy")

ROUTERS = (
    *accounts.routers,
    *work_orders.routers,
    *inventory.routers,
    *operations.routers,
    *subscriptions.routers,
    *trades.routers,
    *flows.routers,
)


def create_app(
    settings: Settings | None = None, *, root: Chronicle | None = None, tune_process: bool = False
) -> FastAPI:
    """Build the API. Pass a started ``root`` to share one (tests); otherwise the lifespan owns one.
    ``tune_process``: the app has a process of its own (``serve_app``), whose collector it sets once started."""
    configured = root.settings if root is not None else settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = root is None
        chronicle = root or Chronicle(configured)
        if owned:
            chronicle.start()
        if tune_process:
            tune_collector(configured.gc_young_threshold)
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
        static_url=DOCS_ASSETS,
        dependencies=[Depends(storable_parameters)],
    )
    problems.install(app)
    for router in ROUTERS:
        document_problems(router, [RateLimited])
        app.include_router(router, dependencies=[RateLimited])
    install_openapi(app)
    app.add_middleware(
        BodyLimitMiddleware,
        json_bytes=configured.max_json_body_bytes,
        upload_bytes=MAX_UPLOAD_BYTES + MULTIPART_ENVELOPE_BYTES,
    )
    app.add_middleware(
        RefusingCORSMiddleware,
        allow_origins=configured.cors_origins,
        allow_methods=["GET", "POST", "PATCH", "DELETE"],
        allow_headers=CORS_REQUEST_HEADERS,
        expose_headers=CORS_RESPONSE_HEADERS,
    )
    idempotency.install(app)
    app.add_middleware(RateLimitHeaders)
    # Outermost last: the proxy's word on the scheme first, then the headers of every answer, then the request id.
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, cacheable_prefixes=(DOCS_ASSETS,))
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=configured.forwarded_allow_ips)
    return app


def serve_app() -> FastAPI:
    """What ``chronicle serve`` runs in each worker process (uvicorn's factory): the API from the environment,
    which sets the process's garbage collector once started (``GC_YOUNG_THRESHOLD``)."""
    return create_app(tune_process=True)
