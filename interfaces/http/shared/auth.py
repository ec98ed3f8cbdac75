"""Authentication and permissions, as ``Annotated`` dependencies.

A bearer token names the account and its session, and the log position that issued it; it grants
nothing by itself. What the caller may do is read from the accounts read model at every request
(roles and status take effect at once), and never decided on a read model that cannot be trusted:

- the read model is too far behind the log (``LogWatch.behind``: it may not know of a logout or a
  suspension yet) or failed: 503 ``access_state_stale``, whatever the token;
- the account or session is unknown: the request waits (bounded) until the read model reaches the
  token's position, then 401 if they are still unknown; a token without a position, or with one
  beyond the log's head, is 401 at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from application.shared.ports import AccessState, AccessStates
from domain.shared.access import AccessPolicy
from infrastructure.shared.logwatch import LogWatch
from infrastructure.shared.runner import Freshness, TooManyWaiting
from infrastructure.shared.tokens import AccessClaims, InvalidJwt, JwtTokens, Reason
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
Watch = Annotated[LogWatch, provide(LogWatch)]
Fresh = Annotated[Freshness, provide(Freshness)]

# What a client hears about a refused token: our words, one per reason, never the library's message.
_REASONS = {
    Reason.MALFORMED: "The {kind} token is malformed",
    Reason.BAD_SIGNATURE: "The {kind} token does not carry a valid signature",
    Reason.EXPIRED: "The {kind} token has expired; refresh it or log in again",
    Reason.WRONG_TYPE: "The token is not {a_kind} token",
}
_A_KIND = {"access": "an access", "refresh": "a refresh"}


@dataclass(frozen=True)
class Principal:
    """The caller of an authenticated request."""

    account_id: UUID
    session_id: UUID
    roles: tuple[str, ...]
    permissions: frozenset[str]
    as_of: int = 0  # the access read model's position (at least) when this was read


def unauthenticated(code: str, detail: str) -> Problem:
    return Problem(401, code, "Authentication required", detail, headers={"WWW-Authenticate": "Bearer"})


def invalid_token(kind: str, error: InvalidJwt) -> Problem:
    """The 401 for a token that cannot be read; ``kind`` is ``access`` or ``refresh``."""
    return unauthenticated("invalid_token", _REASONS[error.reason].format(kind=kind, a_kind=_A_KIND[kind]))


def wait_until_reached(freshness: Freshness, model: str, position: int, behind: str) -> None:
    """Wait (bounded) until ``model`` has reached ``position``: 503 ``projection_behind`` (``behind`` says
    what was waited for) when it does not in time, 503 ``too_many_waiting`` when too many wait already."""
    try:
        reached = freshness.reached(model, position)
    except TooManyWaiting:
        raise Problem(
            503,
            "too_many_waiting",
            "Too many requests are waiting for the read models",
            "Too many requests are waiting for a read model to catch up; retry",
            headers={"Retry-After": "1"},
        ) from None
    if not reached:
        title = "The read model has not caught up yet"
        raise Problem(503, "projection_behind", title, behind, headers={"Retry-After": "1"})


def _stale(read_model: str) -> Problem:
    return Problem(
        503,
        "access_state_stale",
        "Authorization cannot be decided right now",
        f"The {read_model} read model is behind the log, so a recent revocation may not be known yet; retry",
        headers={"Retry-After": "1"},
    )


def _unknown(state: AccessState) -> Problem:
    if state.roles is None:
        return unauthenticated("unknown_account", "The token names an account that does not exist")
    return unauthenticated("unknown_session", "The token names a session that does not exist")


def _access_state(claims: AccessClaims, access: AccessStates, watch: LogWatch, freshness: Freshness) -> AccessState:
    """The state of the token's account and session, from a read model that can be trusted to know them."""
    model = access.read_model
    if watch.behind(model):
        raise _stale(model)
    state = access.access_state(claims.account_id, claims.session_id)
    if state.known:
        return state
    # A session newer than the read model: wait for the position that issued the token, if it was written.
    position = claims.position
    if position is None or position > watch.head(at_least=position):
        raise _unknown(state)
    wait_until_reached(
        freshness, model, position, f"The {model} read model has not reached the session of this token yet; retry"
    )
    state = access.access_state(claims.account_id, claims.session_id)
    if not state.known:
        raise _unknown(state)
    return state


def principal_for(
    claims: AccessClaims, access: AccessStates, policy: AccessPolicy, watch: LogWatch, freshness: Freshness
) -> Principal:
    """Who the token's holder is and what they may do, as the account's state says (401/403/503 otherwise)."""
    as_of = freshness.board.known(access.read_model)
    state = _access_state(claims, access, watch, freshness)
    if state.session_revoked:
        raise unauthenticated("session_revoked", "The session of this token has been revoked; log in again")
    if state.barred is not None:
        raise Problem(403, f"account_{state.barred}", "The account cannot act", f"The account is {state.barred}")
    roles = state.roles or ()
    return Principal(claims.account_id, claims.session_id, roles, policy.permissions_for(roles), as_of)


@dataclass(frozen=True)
class Authorities:
    """What deciding who a caller is takes, as one dependency: FastAPI pays per dependency it visits, on every
    request, and the caller is asked for by the rate limiter and by the route's own checks."""

    tokens: JwtTokens
    access: AccessStates
    policy: AccessPolicy
    watch: LogWatch
    freshness: Freshness


async def authorities(request: Request) -> Authorities:
    services = request.app.state.services
    return Authorities(
        services[JwtTokens], services[AccessStates], services[AccessPolicy], services[LogWatch], services[Freshness]
    )


Auth = Annotated[Authorities, Depends(authorities)]


def resolve_principal(request: Request, auth: Authorities, token: str | None) -> Principal | None:
    """The caller, resolved once per request: the rate limiter asks first, the route's checks reuse it.
    Blocking (it reads the read model, and may wait for it): call it on a worker thread."""
    if token is None:
        return None
    known: tuple[str, Principal] | None = getattr(request.state, "principal", None)
    if known is not None and known[0] == token:
        return known[1]
    try:
        claims = auth.tokens.read_access(token)
    except InvalidJwt as error:
        raise invalid_token("access", error) from None
    principal = principal_for(claims, auth.access, auth.policy, auth.watch, auth.freshness)
    request.state.principal = (token, principal)
    return principal


async def optional_principal(
    request: Request, auth: Auth, token: Annotated[str | None, Depends(_bearer)]
) -> Principal | None:
    """The caller of the request (``resolve_principal``). Async, so that the usual case, a caller the rate
    limiter resolved already, costs no hand-off to a worker thread; only a first resolution takes one."""
    if token is None:
        return None
    known: tuple[str, Principal] | None = getattr(request.state, "principal", None)
    if known is not None and known[0] == token:
        return known[1]
    return await run_in_threadpool(resolve_principal, request, auth, token)


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def authenticated(principal: Principal | None) -> Principal:
    if principal is None:
        raise unauthenticated("not_authenticated", "Send an access token as 'Authorization: Bearer <token>'")
    return principal


def permitted(principal: Principal, permission: str) -> Principal:
    if permission not in principal.permissions:
        raise Problem(403, "forbidden", "Permission denied", f"This needs the permission {permission!r}")
    return principal


async def current_principal(principal: OptionalPrincipal) -> Principal:
    return authenticated(principal)


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require(permission: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits callers holding ``permission``; routes declare it in their signature."""

    async def check(principal: CurrentUser) -> Principal:
        return permitted(principal, permission)

    check.permission = permission  # type: ignore[attr-defined]
    check.__name__ = f"require_{permission.replace(':', '_')}"
    return check


async def public() -> None:
    """Marks a route as open to anonymous callers (the permission check walks for it)."""


Public = Depends(public)
