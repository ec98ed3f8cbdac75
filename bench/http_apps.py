"""The two ASGI apps the HTTP scenario serves with uvicorn (the same worker count and uvicorn options).

``chronicle`` is the product's app from its own factory, logging one JSON line per request and setting
its process's garbage collector as ``chronicle serve`` does; ``baseline`` is a minimal FastAPI app doing one
INSERT per request.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI

BASELINE_TABLE = "bench_baseline_http"


def chronicle() -> Any:
    from bench.core import bench_settings
    from infrastructure.shared.log_format import configure_logging
    from interfaces.http.app import create_app

    configure_logging("INFO")
    return create_app(bench_settings(os.environ["BENCH_DATABASE_URL"]), tune_process=True)


def projector() -> None:
    """The projection worker beside the API, as a deployment runs one (``chronicle project``): the API's
    authorization reads the accounts read model, which must follow the log (logins, and the head moving)."""
    from bench.core import bench_settings
    from infrastructure.root import Chronicle
    from infrastructure.shared.collector import tune_collector

    chronicle = Chronicle(bench_settings(os.environ["BENCH_DATABASE_URL"]))
    chronicle.open()
    tune_collector(chronicle.settings.gc_young_threshold)
    chronicle.run_projections_forever()


if __name__ == "__main__":
    projector()


def baseline() -> FastAPI:
    from contextlib import asynccontextmanager
    from uuid import uuid4

    from psycopg_pool import ConnectionPool

    low, high = (
        int(os.environ.get("BENCH_BASELINE_POOL_MIN", "20")),
        int(os.environ.get("BENCH_BASELINE_POOL_MAX", "30")),
    )
    pool = ConnectionPool(os.environ["BENCH_DATABASE_URL"], min_size=low, max_size=high, open=False)
    state = bytes(300)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        pool.open(wait=True)
        yield
        pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/api/v1/work-orders", status_code=201)
    def create(body: dict[str, Any]) -> dict[str, Any]:
        with pool.connection() as conn:
            row = conn.execute(
                f"INSERT INTO {BASELINE_TABLE} (originator_id, originator_version, topic, state) "  # noqa: S608
                "VALUES (%s, 1, %s, %s) RETURNING notification_id",
                (uuid4(), "bench:Baseline", state),
            ).fetchone()
        return {"id": "baseline", "version": 1, "position": row[0] if row else 0}

    return app
