"""Request context: an ``X-Request-ID`` on every response, one JSON log line per request (method, path,
route template, status, actor, duration) and its metrics, and a problem (never a stack trace) when
something unexpected escapes a route; and the body limits, counted as the body streams."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infrastructure.shared.log_format import request_id_var
from infrastructure.shared.metrics import UNMATCHED_ROUTE, RequestRecorder
from interfaces.http.shared.problems import PROBLEM_JSON, problem_body, problem_bytes

log = logging.getLogger("chronicle.http")

_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# Room for the multipart envelope around the largest upload (boundaries, part headers).
MULTIPART_ENVELOPE_BYTES = 64 * 1024
_UPLOAD = b"multipart/form-data"


def _declared_length(scope: Scope) -> int:
    value = dict(scope.get("headers") or []).get(b"content-length", b"0")
    return int(value) if value.isdigit() else 0


async def _send_problem(
    send: Send, scope: Scope, request_id: str, status: int, code: str, title: str, detail: str
) -> None:
    """A problem answered by the middleware itself, before (or instead of) the application."""
    body = problem_bytes(problem_body(status, code, title, detail, scope.get("path", ""), request_id))
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def route_template(scope: Scope) -> str:
    """The template of the route that answered (``/api/v1/work-orders/{order_id}``), never the raw path: the
    metrics' label set stays bounded whatever paths clients send. ``unmatched`` when no route answered."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


def actor(state: dict[str, Any]) -> str:
    """Who made the request: the account its bearer token authorized, else ``anonymous``."""
    known = state.get("principal")  # (token, Principal), set once the token was authorized
    return str(known[1].account_id) if known is not None else "anonymous"


class RequestContextMiddleware:
    """Outermost middleware: it must see every response, including failed ones."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.metrics = RequestRecorder()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False
        finished = False

        def finish() -> None:
            """Count and log the request once: as its last byte goes out (a client that has its answer finds
            it counted), or when the application ended without one."""
            nonlocal finished
            if finished:
                return
            finished = True
            seconds = time.perf_counter() - started
            method, route = scope.get("method", ""), route_template(scope)
            state = scope["state"]
            self.metrics.request(method, route, status, seconds)
            if state.get("command"):
                self.metrics.command(method, route, status, state.get("problem_code"))
            log.info(
                "request",
                extra={
                    "fields": {
                        "method": method,
                        "path": scope.get("path"),
                        "route": route,
                        "status": status,
                        "actor": actor(state),
                        "ms": round(seconds * 1000, 2),
                    }
                },
            )

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                finish()
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error")
            if response_started:
                raise
            await _send_problem(
                send_with_id,
                scope,
                request_id,
                500,
                "internal_error",
                "Internal server error",
                "Something went wrong on our side; quote the request id when reporting it.",
            )
        finally:
            finish()
            request_id_var.reset(token)


class BodyLimitMiddleware:
    """Every request body is counted as it streams, chunked or not: uploads (multipart) up to
    ``upload_bytes``, every other body (JSON, forms) up to ``json_bytes``; past that, a 413.

    A declared ``Content-Length`` over the limit is answered before the body is read; a body that
    grows past it while streaming is cut off by Starlette's counter (FastAPI turns its error into
    the 413 problem) without being read into memory.
    """

    def __init__(self, app: ASGIApp, *, json_bytes: int, upload_bytes: int) -> None:
        self.app = app
        self.limits = {
            False: (json_bytes, RequestBodyLimitMiddleware(app, max_body_size=json_bytes)),
            True: (upload_bytes, RequestBodyLimitMiddleware(app, max_body_size=upload_bytes)),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
        limit, counted = self.limits[content_type.lower().startswith(_UPLOAD)]
        if _declared_length(scope) > limit:
            request_id = scope.get("state", {}).get("request_id", "")
            detail = f"This request carries at most {limit} bytes"
            await _send_problem(
                send, scope, request_id, 413, "payload_too_large", "The request body is too large", detail
            )
            return
        await counted(scope, receive, send)


# What every answer may load: nothing (JSON is not a document). HTML pages (the offline /docs and /redoc)
# load their assets from this origin, run only the inline scripts they were sent with (by hash), and
# let ReDoc start its web worker from a blob. No page of this API may be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_PAGE_CSP = (
    "default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
HSTS = "max-age=31536000; includeSubDomains"
_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def page_csp(html: bytes) -> str:
    """The policy of an HTML page: its own inline scripts allowed by their SHA-256, nothing else inline."""
    digests = [base64.b64encode(hashlib.sha256(script).digest()).decode() for script in _INLINE_SCRIPT.findall(html)]
    return _PAGE_CSP.format(hashes="".join(f" 'sha256-{digest}'" for digest in digests))


class SecurityHeadersMiddleware:
    """Security headers on every answer, the failed ones included.

    ``nosniff``, no framing, no referrer; a CSP (strict for the API, hashed inline scripts for the docs
    pages); HSTS only when the request came over HTTPS (directly, or as a trusted proxy says);
    ``Cache-Control: no-store`` unless the route chose otherwise: answers carry tokens and personal data.
    """

    def __init__(self, app: ASGIApp, *, cacheable_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.cacheable_prefixes = cacheable_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        cacheable = str(scope.get("path", "")).startswith(self.cacheable_prefixes)
        held: Message | None = None
        page = bytearray()

        def secured(start: Message, csp: str) -> Message:
            headers = list(start.get("headers", []))
            names = {name.lower() for name, _ in headers}
            headers += [(name, value) for name, value in _ALWAYS if name not in names]
            headers.append((b"content-security-policy", csp.encode()))
            if https:
                headers.append((b"strict-transport-security", HSTS.encode()))
            if b"cache-control" not in names and not cacheable:
                headers.append((b"cache-control", b"no-store"))
            return {**start, "headers": headers}

        async def send_secured(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    held = message  # the policy depends on the page's inline scripts: wait for its body
                    return
                await send(secured(message, API_CSP))
                return
            if held is not None and message["type"] == "http.response.body":
                page.extend(message.get("body", b""))
                if message.get("more_body", False):
                    return
                start, held = held, None
                await send(secured(start, page_csp(bytes(page))))
                await send({"type": "http.response.body", "body": bytes(page)})
                return
            await send(message)

        await self.app(scope, receive, send_secured)


class RefusingCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, whose refused preflight is a problem like every other refusal (not library text)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        detail = "This origin, method or header is not allowed to call the API from a browser"
        body = problem_bytes(problem_body(403, "cors_refused", "Cross-origin request refused", detail, "", None))
        return Response(body, status_code=403, media_type=PROBLEM_JSON)
