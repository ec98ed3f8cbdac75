"""What a query route needs besides its filters: paging, reading its own writes, a row or a 404."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import Depends, Query, Response

from domain.shared.errors import NotFound
from infrastructure.shared.runner import Freshness
from interfaces.http.shared.problems import Problem
from interfaces.http.shared.services import provide

MinPosition = Annotated[
    int | None, Query(ge=0, description="Wait (briefly) until the read model includes this log position")
]


def waits_for(*projections: str) -> Any:
    """Read-your-writes: with ``min_position``, wait (bounded) until every one of ``projections`` reached it."""

    def wait(freshness: Annotated[Freshness, provide(Freshness)], min_position: MinPosition = None) -> None:
        if not min_position:
            return
        for projection in projections:
            if not freshness.reached(projection, min_position):
                raise Problem(
                    503,
                    "projection_behind",
                    "The read model has not caught up yet",
                    f"The {projection} projection did not reach position {min_position} "
                    f"within {freshness.timeout_seconds:g} s; retry",
                    headers={"Retry-After": "1"},
                )

    wait.__name__ = "wait_for_" + "_".join(projections)
    return Depends(wait)


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
