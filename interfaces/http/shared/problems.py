"""RFC 9457 problem details: one mapping from errors to responses, a stable ``code`` on each.

Domain errors are mapped by their ``category``, never by their class: a new context's errors are
answered correctly without a line here.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.shared.errors import Category, DomainError
from infrastructure.shared.outages import CONNECTION_ERRORS, store_unavailable

log = logging.getLogger("chronicle.http")

PROBLEM_JSON = "application/problem+json"

CATEGORY_STATUS: dict[Category, int] = {
    Category.BAD_TOKEN: 400,
    Category.UNAUTHENTICATED: 401,
    Category.FORBIDDEN: 403,
    Category.NOT_FOUND: 404,
    Category.CONFLICT: 409,
    Category.STALE: 412,
    Category.TOO_LARGE: 413,
    Category.UNSUPPORTED: 415,
    Category.INVALID: 422,
    Category.LOCKED: 423,
}

HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    423: "locked",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


class JsonResponse(JSONResponse):
    """JSON with a closing newline, so a terminal prompt does not run into the body."""

    def render(self, content: Any) -> bytes:
        return super().render(content) + b"\n"


class ProblemResponse(JsonResponse):
    media_type = PROBLEM_JSON


class Problem(Exception):
    """An error the edge itself raises (authentication, permissions, bounded waits)."""

    def __init__(
        self, status: int, code: str, title: str, detail: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail or title
        self.headers = headers or {}


def problem_body(
    status: int, code: str, title: str, detail: str, instance: str, request_id: str | None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:chronicle:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": instance,
    }
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return body


def problem_bytes(body: dict[str, Any]) -> bytes:
    """The bytes of a problem body, as every problem response sends them (for middleware that answers itself)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def problem_response(
    request: Request,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> ProblemResponse:
    request_id = getattr(request.state, "request_id", None)
    request.state.problem_code = code  # for the request's log line and metrics (a command's conflicts)
    body = problem_body(status, code, title, detail, request.url.path, request_id, **extra)
    return ProblemResponse(body, status_code=status, headers=headers)


def status_for(error: DomainError) -> int:
    return CATEGORY_STATUS[error.category]


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    headers: dict[str, str] = {}
    if error.retry_at is not None:
        headers["Retry-After"] = str(max(1, int((error.retry_at - datetime.now(UTC)).total_seconds())))
    if error.current_version is not None:
        headers["ETag"] = f'"{error.current_version}"'
    return problem_response(
        request, status_for(error), error.code, error.title, error.detail, headers, **error.extensions()
    )


async def _problem(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, Problem)
    return problem_response(request, error.status, error.code, error.title, error.detail, error.headers)


async def _validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(part) for part in item.get("loc", ())),
            "message": item.get("msg", "invalid"),
            "type": item.get("type", "value_error"),
        }
        for item in error.errors()
    ]
    return problem_response(
        request,
        422,
        "validation_failed",
        "The request is not valid",
        f"{len(errors)} invalid field(s)",
        errors=errors,
    )


async def _http(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = HTTP_CODES.get(error.status_code, "http_error")
    title = str(error.detail) if error.detail else code.replace("_", " ").capitalize()
    return problem_response(request, error.status_code, code, title, title, dict(error.headers or {}))


# How soon a client may try again when a store is unreachable: about what a restart or a failover takes.
STORE_RETRY_AFTER_SECONDS = 2


async def _store_error(request: Request, error: Exception) -> JSONResponse:
    """A store that cannot be reached answers 503 with Retry-After; any other store error is ours (500).

    Neither carries the library's text: it may hold SQL, host names or data."""
    if store_unavailable(error):
        log.warning("store unavailable: %s", type(error).__name__)
        return problem_response(
            request,
            503,
            "store_unavailable",
            "A store is unavailable",
            "The service cannot reach its data store right now; retry shortly.",
            {"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
        )
    log.error("store error", exc_info=error)
    return problem_response(
        request,
        500,
        "internal_error",
        "Internal server error",
        "Something went wrong on our side; quote the request id when reporting it.",
    )


def install(app: FastAPI) -> None:
    for kind in (*CONNECTION_ERRORS, DBAPIError):
        app.add_exception_handler(kind, _store_error)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
