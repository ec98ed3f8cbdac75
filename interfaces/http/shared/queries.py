"""What a query route needs besides its filters: paging, reading its own writes, a row or a 404."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import Depends, Query, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from domain.shared.errors import NotFound
from infrastructure.shared.runner import Freshness
from infrastructure.shared.tokens import AccessClaims
from interfaces.http.shared.auth import (
    Access,
    OptionalPrincipal,
    Policy,
    Principal,
    Watch,
    authenticated,
    permitted,
    principal_for,
    wait_until_reached,
)
from interfaces.http.shared.problems import Problem
from interfaces.http.shared.services import provide

MinPosition = Annotated[
    int | None, Query(ge=0, description="Wait (briefly) until the read model includes this log position")
]


def waits_for(*projections: str) -> Any:
    """Read-your-writes: with ``min_position``, wait (bounded) until every one of ``projections`` reached it.

    Nothing waits for a caller the route would refuse: the route's own guards (its token and
    permissions, found in its dependencies) are checked first, whatever order FastAPI resolves them in.
    A position the log has not reached is refused at once (422), and at most ``max_waiting`` requests
    wait at once (503 beyond that); so an anonymous or unauthorized caller never holds a thread.
    The caller's own access reads its writes too: the access read model is waited for as well, and
    the caller authorized again on it (a suspension or a revoked role at that position applies).
    """

    def wait(
        request: Request,
        principal: OptionalPrincipal,
        freshness: Annotated[Freshness, provide(Freshness)],
        watch: Watch,
        access: Access,
        policy: Policy,
        min_position: MinPosition = None,
    ) -> None:
        if not min_position:
            return
        needed = _authorize(request, principal)
        names = list(dict.fromkeys((*projections, access.read_model) if principal else projections))
        board = freshness.board
        if any(board.known(name) < min_position for name in names):
            if min_position > watch.head(at_least=min_position):
                raise Problem(
                    422,
                    "min_position_beyond_head",
                    "The position is not in the log",
                    "min_position is beyond the last event written; pass the position a command answered",
                )
            for name in names:
                _wait(freshness, name, min_position)
        if principal is not None and principal.as_of < min_position:
            again = principal_for(
                AccessClaims(principal.account_id, principal.session_id), access, policy, watch, freshness
            )
            for permission in needed:
                permitted(again, permission)

    wait.__name__ = "wait_for_" + "_".join(projections)
    return Depends(wait)


def _wait(freshness: Freshness, name: str, position: int) -> None:
    behind = f"The {name} projection did not reach position {position} within {freshness.timeout_seconds:g} s; retry"
    wait_until_reached(freshness, name, position, behind)


def _permissions(dependant: Dependant) -> Iterator[str]:
    for child in dependant.dependencies:
        permission = getattr(child.call, "permission", None)
        if permission:
            yield str(permission)
        yield from _permissions(child)


def _authorize(request: Request, principal: Principal | None) -> list[str]:
    """Refuse as the route's permission checks will, before anything waits; answers the permissions checked.

    A route without any permission check is public (the route walker makes sure each route has one or
    the other); outside a route, a caller must at least be authenticated.
    """
    route = request.scope.get("route")
    needed = list(_permissions(route.dependant)) if isinstance(route, APIRoute) else None
    if needed is None or needed:
        principal = authenticated(principal)
    for permission in needed or ():
        permitted(authenticated(principal), permission)
    return needed or []


# Past any list this API holds, and within what SQL's OFFSET takes (a 64-bit integer would overflow).
MAX_OFFSET = 2**31 - 1


async def paging(
    limit: Annotated[int, Query(ge=1, le=500, description="Page size (max 500)")] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> tuple[int, int]:
    return limit, offset


Paging = Annotated[tuple[int, int], Depends(paging)]


def sort_pattern(columns: Mapping[str, object]) -> str:
    """The ``sort`` parameter's pattern: one of ``columns``, ``-`` in front for descending."""
    return "^-?(" + "|".join(columns) + ")$"


R = TypeVar("R", bound=Mapping[str, Any])


def found(row: R | None, what: str, ident: UUID, response: Response) -> R:
    """A read model's row, with its version as ``ETag``; a 404 problem when there is none."""
    if row is None:
        raise NotFound(f"No {what} with id {ident} (if you just wrote it, pass min_position)")
    response.headers["ETag"] = f'"{row["version"]}"'
    return row
