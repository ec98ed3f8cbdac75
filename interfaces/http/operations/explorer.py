"""The event explorer: a page for auditors over the audit API (``/explorer``).

The page is static: a form to sign in (the login API), then the global log with its filters, a
stream's versions and states, a jump to an instant, and the chain's verification status, all
fetched by one same-origin script with the auditor's bearer token. No build step, nothing from
another origin, no inline script: the page's policy (``SecurityHeadersMiddleware``) allows
scripts from the API's own origin only. The data it shows passes the audit API's permission
checks like any other call; the page itself holds nothing.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from domain.shared.errors import NotFound
from interfaces.http.shared.auth import Public

# Public: the page and its script hold no data; every call they make is authorized by the audit API.
router = APIRouter(prefix="/explorer", include_in_schema=False, dependencies=[Public])

_FILES = Path(__file__).with_name("explorer")
_TYPES = {"explorer.js": "text/javascript; charset=utf-8", "explorer.css": "text/css; charset=utf-8"}


@cache
def _asset(name: str) -> bytes:
    return (_FILES / name).read_bytes()


@router.get("", response_class=HTMLResponse)
def explorer_page() -> HTMLResponse:
    """The explorer's page."""
    return HTMLResponse(_asset("index.html"))


@router.get("/{name}")
def explorer_asset(name: str) -> Response:
    """The explorer's script and style sheet (nothing else is served from here)."""
    media_type = _TYPES.get(name)
    if media_type is None:
        raise NotFound("The explorer has no such file")
    return Response(_asset(name), media_type=media_type)
