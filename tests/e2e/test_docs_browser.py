"""The API's own pages in a real headless Chromium: /docs and /redoc render under the CSP the API sends.

The security headers allow the docs pages only their own inline scripts (by hash) and assets from
the API itself; a browser that refused a script would leave the page empty. Chromium (Debian's
``chromium`` package) is required: a missing browser fails the run, it never skips it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.helpers import embedded_server


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is not installed (Debian: apt-get install chromium)", pytrace=False)
    return found


def rendered(url: str, profile: Path) -> tuple[str, str]:
    """The DOM after the page's scripts ran, and what the browser logged (CSP refusals among it)."""
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=15000",
        "--dump-dom",
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


def test_swagger_ui_and_redoc_render_their_operations_under_the_content_security_policy(tmp_path: Path) -> None:
    with embedded_server(tmp_path) as (port, _):
        docs, docs_log = rendered(f"http://127.0.0.1:{port}/docs", tmp_path / "profile-docs")
        redoc, redoc_log = rendered(f"http://127.0.0.1:{port}/redoc", tmp_path / "profile-redoc")

    refused = [line for line in (docs_log + redoc_log).splitlines() if "Content Security Policy" in line]
    # ReDoc's bundle asks for its logo from its CDN: the policy keeps every page on the API's own origin.
    unexpected = [line for line in refused if "Loading the image 'https://cdn.redoc.ly/" not in line]
    assert unexpected == [], unexpected
    # Swagger UI built its operation blocks from /openapi.json (its script and the spec both loaded).
    assert 'class="swagger-ui' in docs and "opblock" in docs, docs[:2000]
    assert "/api/v1/auth/register" in docs
    # ReDoc rendered its menu of operations.
    assert "/api/v1/auth/register" in redoc or "Register" in redoc, redoc[:2000]
    assert "menu-content" in redoc or "api-content" in redoc, redoc[:2000]
