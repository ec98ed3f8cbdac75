"""RFC 9457 problem details: one mapping from errors to responses, a stable ``code`` on each."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from application.accounts import InvalidCredentials
from application.work_order_import import ImportRejected
from domain.account import (
    AccountLocked,
    AccountSuspended,
    EmailNotVerified,
    InvalidProfile,
    InvalidToken,
    UnknownRole,
    WeakPassword,
)
from domain.errors import ConcurrencyConflict, DomainError, NotFound, VersionMismatch
from domain.inventory import AdjustmentReasonRequired, InvalidInventoryItem, InvalidQuantity
from domain.session import RefreshTokenReused, SessionExpired, SessionRevoked
from domain.work_order import InvalidWelder, InvalidWorkOrder, NotAssignedWelder, ReasonRequired

log = logging.getLogger("chronicle.http")

PROBLEM_JSON = "application/problem+json"

# Domain errors not listed are rule violations against the current state: 409.
DOMAIN_STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    VersionMismatch: 412,
    ConcurrencyConflict: 409,
    InvalidCredentials: 401,
    SessionRevoked: 401,
    SessionExpired: 401,
    RefreshTokenReused: 401,
    AccountLocked: 423,
    AccountSuspended: 403,
    EmailNotVerified: 403,
    InvalidToken: 400,
    WeakPassword: 422,
    InvalidProfile: 422,
    UnknownRole: 422,
    InvalidWorkOrder: 422,
    InvalidWelder: 422,
    ReasonRequired: 422,
    NotAssignedWelder: 403,
    InvalidInventoryItem: 422,
    InvalidQuantity: 422,
    AdjustmentReasonRequired: 422,
    ImportRejected: 422,
}

_HTTP_CODES = {
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
    429: "too_many_requests",
    503: "service_unavailable",
}


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


def problem_response(
    request: Request | None,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:chronicle:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if request is not None:
        body["instance"] = request.url.path
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def status_for(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]
    return 409


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    headers: dict[str, str] = {}
    if isinstance(error, AccountLocked):
        seconds = max(1, int((error.until - datetime.now(UTC)).total_seconds()))
        headers["Retry-After"] = str(seconds)
    if isinstance(error, VersionMismatch):
        headers["ETag"] = f'"{error.actual}"'
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
    code = _HTTP_CODES.get(error.status_code, "http_error")
    title = str(error.detail) if error.detail else code.replace("_", " ").capitalize()
    return problem_response(request, error.status_code, code, title, title, dict(error.headers or {}))


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
