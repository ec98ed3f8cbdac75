"""A self-describing API: every route's OpenAPI entry lists the problems it can answer.

The problems are read off what a route depends on (a token, a permission, an If-Match, a path
id, a body, a bounded wait, an upload), so a new route is documented by the same mechanism
that guards it; a route names only what its dependencies cannot tell (a lockout, an emailed
token) with ``responses=problems(...)``. Every problem is ``application/problem+json`` with the
schema the server really sends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, UploadFile, params
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from interfaces.http.shared.problems import PROBLEM_JSON
from interfaces.http.shared.schemas import ProblemDetails, ValidationProblem

DESCRIPTIONS = {
    400: "Malformed: an If-Match without a version, or an emailed token that is forged, used or expired",
    401: "No valid access token (or credentials), or its session was revoked",
    403: "The caller lacks the permission, or the account is suspended or closed",
    404: "No such resource (if you just wrote it, pass min_position)",
    409: "The command breaks a rule against the current state, or lost a race; reload and retry",
    412: "If-Match names a version that is no longer current (the current one is in ETag)",
    413: "The request body or upload is too large",
    415: "The upload is not a table that is read (.xlsx or UTF-8 .csv)",
    422: "The request is not valid: one entry per invalid field, or the rule it breaks",
    423: "Locked for a while after too many failed logins (see Retry-After)",
    429: "Too many requests: a rate limit is reached (see Retry-After, RateLimit and RateLimit-Policy)",
    500: "Something went wrong on the server; quote the request id (X-Request-ID) when reporting it",
    503: "A read model this answer depends on is behind: min_position not reached yet, the accounts read "
    "model too far behind the log to authorize on, or too many requests waiting (see Retry-After)",
}

_COMMAND_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


_PROBLEM = {"$ref": "#/components/schemas/ProblemDetails"}
# A 422 is either a request the schema refuses (one entry per field), or input a domain rule refuses:
# a problem whose own members say what (``errors`` by field of a work order, by row of an import).
_PROBLEM_422 = {"anyOf": [{"$ref": "#/components/schemas/ValidationProblem"}, _PROBLEM]}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Problems a route answers that its dependencies do not show (``responses=problems(423)``)."""
    return {status: {"description": DESCRIPTIONS[status]} for status in statuses}


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for child in dependant.dependencies:
        yield from _dependants(child)


def statuses_of(route: APIRoute, extra: Sequence[params.Depends] = ()) -> set[int]:
    """The problem statuses a route can answer, from its method and its dependency tree (and ``extra``
    dependencies the app adds when it includes the route's router)."""
    found: set[int] = {500}  # the request middleware answers anything unexpected with a problem
    names: set[str] = {getattr(depends.dependency, "__name__", "") for depends in extra}
    has_input = False
    for dependant in _dependants(route.dependant):
        names.add(getattr(dependant.call, "__name__", ""))
        if dependant.path_params:
            found.add(404)
        if dependant.query_params or dependant.path_params or dependant.header_params or dependant.body_params:
            has_input = True
        if dependant.body_params:
            found.add(413)
        if any(param.field_info.annotation is UploadFile for param in dependant.body_params):
            found |= {413, 415}
    if has_input:
        found.add(422)
    if "optional_principal" in names:
        found |= {401, 403, 503}  # 503: authorization does not decide on a stale read model
    if "expected_version" in names:
        found |= {400, 412}
    if any(name.startswith("wait_for_") for name in names):
        found.add(503)
    if (route.methods or set()) & _COMMAND_METHODS:
        found.add(409)
    if ("rate_limited" in names and route.path.startswith("/api/")) or "credential_attempts" in names:
        found.add(429)
    return found


def document_problems(router: APIRouter, dependencies: Sequence[params.Depends] = ()) -> None:
    """Add the problem responses of every route of ``router`` (before it is included in the app with
    ``dependencies``)."""
    for route in router.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for status in statuses_of(route, dependencies):
            route.responses.setdefault(status, {"description": DESCRIPTIONS[status]})
        for key, response in route.responses.items():
            code = int(key)
            # A response declared with its own model (readiness's 503) is that model, not a problem.
            if code >= 400 and "model" not in response:
                response.setdefault("description", DESCRIPTIONS.get(code, "A problem"))
                response["content"] = {PROBLEM_JSON: {"schema": _PROBLEM_422 if code == 422 else _PROBLEM}}


def install_openapi(app: FastAPI) -> None:
    """Build the schema once, with the problem schemas among its components."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (ProblemDetails, ValidationProblem):
                body = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(body.pop("$defs", {}))
                components[model.__name__] = body
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
