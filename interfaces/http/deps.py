"""Dependencies shared by the routers, as ``Annotated`` aliases.

Dependencies that neither block nor touch a database are ``async def``: FastAPI runs a plain ``def``
dependency in its thread pool, and each such hop costs a thread hand-off under the interpreter lock
(py-spy showed the event loop spending ~30 % of its time waking worker threads). Those that do I/O
(the access-state lookup, waiting for a projection) stay ``def``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Header, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from application.accounts import AccountsApplication
from application.base import CommandContext, CommandResult
from application.work_orders import WorkOrdersApplication
from domain.errors import NotFound
from domain.permissions import permissions_for
from infrastructure.container import Container
from infrastructure.security import AccessClaims, InvalidJwt
from interfaces.http.problems import Problem
from interfaces.http.schemas import CommandAccepted

ANONYMOUS = "anonymous"


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_accounts(container: ContainerDep) -> AccountsApplication:
    return container.accounts


AccountsApp = Annotated[AccountsApplication, Depends(get_accounts)]


async def get_work_orders(container: ContainerDep) -> WorkOrdersApplication:
    return container.work_orders


WorkOrdersApp = Annotated[WorkOrdersApplication, Depends(get_work_orders)]

_bearer = HTTPBearer(auto_error=False, description="An access token from /api/v1/auth/login")


@dataclass(frozen=True)
class Principal:
    """The caller of an authenticated request."""

    account_id: UUID
    session_id: UUID
    roles: tuple[str, ...]
    permissions: frozenset[str]


def _unauthenticated(code: str, detail: str) -> Problem:
    return Problem(401, code, "Authentication required", detail, headers={"WWW-Authenticate": "Bearer"})


def optional_principal(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    if credentials is None:
        return None
    try:
        claims: AccessClaims = container.tokens.read_access(credentials.credentials)
    except InvalidJwt as error:
        raise _unauthenticated("invalid_token", f"The access token is not valid: {error}") from None
    status, roles, revoked = container.account_queries.access_state(claims.account_id, claims.session_id)
    if revoked:
        raise _unauthenticated("session_revoked", "The session of this token has been revoked; log in again")
    if status in {"suspended", "closed"}:
        raise Problem(403, f"account_{status}", "The account cannot act", f"The account is {status}")
    # Roles from the read model take effect at once; a brand-new login not yet projected uses its token's.
    effective = tuple(roles) if roles is not None else claims.roles
    return Principal(claims.account_id, claims.session_id, effective, permissions_for(effective))


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


async def current_principal(principal: OptionalPrincipal) -> Principal:
    if principal is None:
        raise _unauthenticated("not_authenticated", "Send an access token as 'Authorization: Bearer <token>'")
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require(permission: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits callers holding ``permission``; routes declare it in their signature."""

    async def check(principal: CurrentUser) -> Principal:
        if permission not in principal.permissions:
            raise Problem(403, "forbidden", "Permission denied", f"This needs the permission {permission!r}")
        return principal

    check.permission = permission  # type: ignore[attr-defined]
    check.__name__ = f"require_{permission.replace(':', '_')}"
    return check


async def public() -> None:
    """Marks a route as open to anonymous callers (the permission check walks for it)."""


Public = Depends(public)


async def command_context(request: Request, container: ContainerDep, principal: OptionalPrincipal) -> CommandContext:
    request_id: str = request.state.request_id
    return CommandContext(
        actor=str(principal.account_id) if principal else ANONYMOUS,
        correlation_id=request_id,
        causation_id=request_id,
        now=container.clock(),
    )


Ctx = Annotated[CommandContext, Depends(command_context)]

_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


async def expected_version(if_match: Annotated[str | None, Header(alias="If-Match")] = None) -> int | None:
    """``If-Match: "<version>"`` for optimistic concurrency; absent or ``*`` means any version."""
    if if_match is None or if_match.strip() == "*":
        return None
    match = _IF_MATCH.match(if_match)
    if not match:
        raise Problem(400, "invalid_if_match", "If-Match must carry a version", 'Send If-Match: "<version>"')
    return int(match.group(1))


ExpectedVersion = Annotated[int | None, Depends(expected_version)]


def waits_for(projection: str) -> Callable[..., None]:
    """Read-your-writes: with ``min_position``, wait (bounded) until ``projection`` has reached it."""

    def wait(
        container: ContainerDep,
        min_position: Annotated[
            int | None, Query(ge=0, description="Wait until the read model includes this log position")
        ] = None,
    ) -> None:
        if min_position is None or min_position == 0:
            return
        timeout = container.settings.read_your_writes_timeout_seconds
        if not container.board.wait(projection, min_position, timeout):
            raise Problem(
                503,
                "projection_behind",
                "The read model has not caught up yet",
                f"The {projection} projection did not reach position {min_position} within {timeout:g} s; retry",
                headers={"Retry-After": "1"},
            )

    return wait


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def found(row: dict[str, Any] | None, what: str, ident: UUID, response: Response) -> dict[str, Any]:
    """A read model's row, with its version as ``ETag``; a 404 problem when there is none."""
    if row is None:
        raise NotFound(f"No {what} with id {ident} (if you just wrote it, pass min_position)")
    response.headers.update(etag(row["version"]))
    return row


def accepted(result: CommandResult, response: Response | None = None) -> CommandAccepted:
    """A command's answer; with ``response``, also the stream's new version as ``ETag``."""
    if response is not None:
        response.headers.update(etag(result.version))
    return CommandAccepted(id=result.id, version=result.version, position=result.position)


async def paging(
    limit: Annotated[int, Query(ge=1, le=500, description="Page size (max 500)")] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> tuple[int, int]:
    return limit, offset


Paging = Annotated[tuple[int, int], Depends(paging)]


def page_body(page: Any) -> dict[str, Any]:
    return {
        "items": page.items,
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
        "has_more": page.has_more,
    }
