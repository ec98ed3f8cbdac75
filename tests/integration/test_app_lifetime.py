"""An app the suite is done with is freed, and the Chronicle behind it, once FastAPI's callable caches are
cleared as every test's teardown clears them (tests/conftest.py): nothing else in the process keeps it. Were
FastAPI to keep them somewhere new, every test's container would pile up again (a heap of millions of
objects, garbage collections of seconds); this fails first."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from fastapi.testclient import TestClient

from infrastructure.root import Chronicle
from interfaces.http.app import create_app
from tests.conftest import make_settings, release_app_caches


def _serve_once(tmp_path: Path, redis_url: str) -> weakref.ref[Chronicle]:
    container = Chronicle(make_settings(tmp_path, None, redis_url))
    container.start()
    try:
        with TestClient(create_app(root=container)) as client:
            # Through the middleware, the rate limit and a route's dependencies, as every request goes.
            assert client.get("/api/v1/plans").status_code == 200
    finally:
        container.close()
    return weakref.ref(container)


def test_a_finished_app_and_its_container_are_freed(tmp_path: Path, redis_url: str) -> None:
    freed = _serve_once(tmp_path, redis_url)
    release_app_caches()
    gc.collect()
    assert freed() is None, "something still holds a closed container and its app"
