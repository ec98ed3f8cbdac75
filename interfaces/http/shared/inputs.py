"""The text rule for what is not a JSON body: query strings, path segments and form fields.

Bodies are checked by their models (``Strict``); every other string a request carries passes
through ``storable_parameters``, an app-wide dependency, so a new route (or a parameter a route
does not even declare) is covered without a line of its own. A refusal is the usual 422, naming
``query.<name>``, ``path.<name>`` or ``body.<name>``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from domain.shared.text import unstorable

# Longer than any filter, id or token a route takes; a route's own max_length is usually tighter.
MAX_PARAMETER_LENGTH = 1000
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _problem(where: str, name: str, value: str) -> dict[str, Any] | None:
    if len(value) > MAX_PARAMETER_LENGTH:
        message = f"String should have at most {MAX_PARAMETER_LENGTH} characters"
        return {"type": "string_too_long", "loc": (where, name), "msg": message, "input": value[:64]}
    reason = unstorable(value)
    if reason is None:
        return None
    return {"type": "unstorable_text", "loc": (where, name), "msg": f"Text {reason}", "input": value[:64]}


async def storable_parameters(request: Request) -> None:
    """Refuse a query, path or form value the stores cannot hold (see ``domain.shared.text``)."""
    values: list[tuple[str, str, Any]] = [("query", k, v) for k, v in request.query_params.multi_items()]
    values += [("path", k, v) for k, v in request.path_params.items()]
    if request.headers.get("content-type", "").startswith(_FORMS):
        # FastAPI has parsed the form already (it is cached on the request): no second read.
        values += [("body", k, v) for k, v in (await request.form()).multi_items()]
    errors = [
        problem
        for where, name, value in values
        if isinstance(value, str) and (problem := _problem(where, name, value)) is not None
    ]
    if errors:
        raise RequestValidationError(errors)
