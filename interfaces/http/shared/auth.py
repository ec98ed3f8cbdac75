"""Authentication and permissions, as ``Annotated`` dependencies.

A bearer token names the account and its session; what the caller may do is read from the
accounts read model at every request (roles and status take effect at once).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from application.shared.ports import AccessStates
from domain.shared.access import AccessPolicy
from infrastructure.shared.tokens import AccessClaims, InvalidJwt, JwtTokens
from interfaces.http.shared.problems import Problem
from interfaces.http.shared.services import provide

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 - a path, not a secret

# OAuth2's password flow, so that Swagger's Authorize dialog logs in with the token endpoint.
_bearer = OAuth2PasswordBearer(
    tokenUrl=TOKEN_URL, auto_error=False, description="An access token from /api/v1/auth/login or /auth/token"
)

Tokens = Annotated[JwtTokens, provide(JwtTokens)]
Access = Annotated[AccessStates, provide(AccessStates)]
Policy = Annotated[AccessPolicy, provide(AccessPolicy)]


@dataclass(frozen=True)
class Principal:
    """The caller of an authenticated request."""

    account_id: UUID
    session_id: UUID
    roles: tuple[str, ...]
    permissions: frozenset[str]


def unauthenticated(code: str, detail: str) -> Problem:
    return Problem(401, code, "Authentication required", detail, headers={"WWW-Authenticate": "Bearer"})


def optional_principal(
    tokens: Tokens, access: Access, policy: Policy, token: Annotated[str | None, Depends(_bearer)]
) -> Principal | None:
    if token is None:
        return None
    try:
        claims: AccessClaims = tokens.read_access(token)
    except InvalidJwt as error:
        raise unauthenticated("invalid_token", f"The access token is not valid: {error}") from None
    state = access.access_state(claims.account_id, claims.session_id)
    if state.session_revoked:
        raise unauthenticated("session_revoked", "The session of this token has been revoked; log in again")
    if state.barred is not None:
        raise Problem(403, f"account_{state.barred}", "The account cannot act", f"The account is {state.barred}")
    # Roles from the read model take effect at once; a brand-new login not yet projected uses its token's.
    effective = state.roles if state.roles is not None else claims.roles
    return Principal(claims.account_id, claims.session_id, effective, policy.permissions_for(effective))


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


async def current_principal(principal: OptionalPrincipal) -> Principal:
    if principal is None:
        raise unauthenticated("not_authenticated", "Send an access token as 'Authorization: Bearer <token>'")
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
