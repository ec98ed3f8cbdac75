"""Request and response shapes every context's routes share (pydantic lives only at this edge)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.shared.quantity import MAX_QUANTITY, QUANTITY_PLACES

T = TypeVar("T")

# Quantities travel as JSON numbers or strings; decimals keep them exact (positive, at most three places).
Quantity = Annotated[
    Decimal,
    Field(gt=0, le=MAX_QUANTITY, max_digits=13, decimal_places=QUANTITY_PLACES, examples=["2.5"]),
]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReasonBody(Strict):
    """Why an order is sent back or cancelled, an account suspended or closed."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "client withdrew the job"}]})

    reason: Reason


class CommandAccepted(BaseModel):
    """What every command answers: the stream, its new version, the log position of its last event."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": "4f1c2a7e-0d3b-4c55-9a61-2b8e5f0c9d11", "version": 3, "position": 42}]}
    )

    id: UUID
    version: int
    position: int = Field(description="Pass it as min_position to a query to read your own write")


class Page(BaseModel, Generic[T]):
    """One page of a list, and how many there are in all."""

    items: list[T]
    total: int
    limit: int
    offset: int
    has_more: bool


class FieldError(BaseModel):
    """One invalid field: where it is (``body.email``, ``query.limit``), what is wrong, and pydantic's error type."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "field": "body.password",
                    "message": "String should have at least 8 characters",
                    "type": "string_too_short",
                }
            ]
        }
    )

    field: str
    message: str
    type: str | None = None


class ProblemDetails(BaseModel):
    """An RFC 9457 problem: every error the API answers has this shape (``application/problem+json``)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:chronicle:problem:not_found",
                    "title": "No such resource",
                    "status": 404,
                    "detail": "No work order with id 4f1c2a7e-0d3b-4c55-9a61-2b8e5f0c9d11 "
                    "(if you just wrote it, pass min_position)",
                    "code": "not_found",
                    "instance": "/api/v1/work-orders/4f1c2a7e-0d3b-4c55-9a61-2b8e5f0c9d11",
                    "request_id": "8c1775cc17a14280bb667e66fe3ff86d",
                },
                {
                    "type": "urn:chronicle:problem:version_mismatch",
                    "title": "The resource has changed since the version you sent",
                    "status": 412,
                    "detail": "Expected version 2, but the current version is 5",
                    "code": "version_mismatch",
                    "instance": "/api/v1/work-orders/4f1c2a7e-0d3b-4c55-9a61-2b8e5f0c9d11/complete",
                    "request_id": "20c7e1fb230b4491ad5615f268a6a393",
                },
            ]
        },
    )

    type: str = Field(examples=["urn:chronicle:problem:not_found"])
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable, machine-readable: branch on this, not on the title")
    instance: str
    request_id: str | None = None


class ValidationProblem(ProblemDetails):
    """A 422 for a request the schema refuses: one entry per invalid field."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:chronicle:problem:validation_failed",
                    "title": "The request is not valid",
                    "status": 422,
                    "detail": "2 invalid field(s)",
                    "code": "validation_failed",
                    "instance": "/api/v1/auth/register",
                    "request_id": "8d2b28bba5964d0eb1f1df4472ed1c27",
                    "errors": [
                        {
                            "field": "body.email",
                            "message": "value is not a valid email address: There must be something after the @-sign.",
                            "type": "value_error",
                        },
                        {
                            "field": "body.password",
                            "message": "String should have at least 8 characters",
                            "type": "string_too_short",
                        },
                    ],
                }
            ]
        },
    )

    type: str = Field(examples=["urn:chronicle:problem:validation_failed"])
    errors: list[FieldError]


def page_of(page: Any) -> dict[str, Any]:
    """A read store's page, in the shape of ``Page``."""
    return {
        "items": page.items,
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
        "has_more": page.has_more,
    }
