"""Request and response shapes every context's routes share (pydantic lives only at this edge)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from domain.shared.quantity import MAX_QUANTITY, QUANTITY_PLACES
from domain.shared.text import unstorable

T = TypeVar("T")

# Quantities travel as JSON numbers or strings; decimals keep them exact (positive, at most three places).
Quantity = Annotated[
    Decimal,
    Field(gt=0, le=MAX_QUANTITY, max_digits=13, decimal_places=QUANTITY_PLACES, examples=["2.5"]),
]


class MultiLine:
    """Marks a text field that may hold line feeds and tabs (a description, notes).

    Use: ``Annotated[str, StringConstraints(max_length=...), MULTI_LINE]``.
    """

    def __repr__(self) -> str:
        return "MULTI_LINE"


MULTI_LINE = MultiLine()

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), MULTI_LINE]


def refuse_unstorable(text: str, *, multi_line: bool = False) -> str:
    """``text`` itself, or a validation error when the stores cannot (or should not) hold it."""
    reason = unstorable(text, multi_line=multi_line)
    if reason is not None:
        raise PydanticCustomError("unstorable_text", "Text {reason}", {"reason": reason})
    return text


def _max_length(metadata: list[Any]) -> int | None:
    return next((m.max_length for m in metadata if getattr(m, "max_length", None) is not None), None)


class Strict(BaseModel):
    """The base of every request body: unknown fields refused, and every text field bounded and storable.

    A subclass's text fields must declare a ``max_length`` (checked when the class is defined), and
    every string they receive is refused if it holds NUL, another control character or a lone
    surrogate (line feeds and tabs are kept in fields marked ``MULTI_LINE``).
    """

    model_config = ConfigDict(extra="forbid")
    _TEXT_TYPES: ClassVar[tuple[object, ...]] = (str, str | None)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        unbounded = [
            name
            for name, field in cls.model_fields.items()
            if field.annotation in cls._TEXT_TYPES and _max_length(field.metadata) is None
        ]
        if unbounded:
            raise TypeError(f"{cls.__name__}: text field(s) without a max_length: {', '.join(unbounded)}")

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        multi_line = field is not None and any(isinstance(m, MultiLine) for m in field.metadata)
        _check_texts(value, multi_line)
        return value


def _check_texts(value: Any, multi_line: bool) -> None:
    if isinstance(value, str):
        refuse_unstorable(value, multi_line=multi_line)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_texts(key, False)
            _check_texts(item, multi_line)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _check_texts(item, multi_line)


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
