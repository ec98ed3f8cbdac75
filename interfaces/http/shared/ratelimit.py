"""Rate limits at the edge: per account for authenticated calls (admins unlimited), per client address
for anonymous ones, and stricter per address and per target email where credentials are tried.

Every answer of a limited route carries the IETF draft's fields (draft-ietf-httpapi-ratelimit-headers-10,
structured fields): ``RateLimit-Policy: "anonymous";q=120;w=60`` (quota ``q`` per window ``w`` seconds)
and ``RateLimit: "anonymous";r=37;t=21`` (``r`` requests remaining, ``t`` seconds until the window
resets), one list member per policy the request counted against. Refused requests are 429
``rate_limited`` with ``Retry-After``. Operational routes outside ``/api/`` (health, readiness,
metrics, docs) are not limited.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infrastructure.shared.ratelimit import AccountQuotas, Quota, RateLimiter, RequestQuotas, Usage
from interfaces.http.shared.auth import Auth, resolve_principal
from interfaces.http.shared.problems import Problem
from interfaces.http.shared.services import provide

API_PREFIX = "/api/"
_STATE_KEY = "rate_limits"

Limiter = Annotated[RateLimiter, provide(RateLimiter)]
PerAddress = Annotated[RequestQuotas, provide(RequestQuotas)]


def client_address(request: Request) -> str:
    """The client's address: the socket peer, or whom a proxy in ``FORWARDED_ALLOW_IPS`` forwarded (uvicorn's
    ``ProxyHeadersMiddleware`` put it in the scope)."""
    return request.client.host if request.client else "unknown"


def _count(request: Request, limiter: RateLimiter, quota: Quota, *identifiers: str) -> None:
    usage = limiter.hit(quota, *identifiers)
    if usage is None:  # the counters are out of reach: serve (the limiter logged it)
        return
    usages: list[Usage] = request.scope.setdefault("state", {}).setdefault(_STATE_KEY, [])
    usages.append(usage)
    if not usage.allowed:
        retry = max(1, usage.reset_after)
        raise Problem(
            429,
            "rate_limited",
            "Too many requests",
            f"The {quota.name} limit is {quota.amount} requests per {quota.window} s; retry in {retry} s",
            headers={"Retry-After": str(retry)},
        )


def _bearer_token(request: Request) -> str | None:
    """The bearer token, read as the OAuth2 scheme of ``auth.py`` reads it (FastAPI's own parser)."""
    scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
    return token or None if scheme.lower() == "bearer" else None


def rate_limited(request: Request, auth: Auth) -> None:
    """Every API call: counted per account when authenticated (its quota may be none), else per address.

    Its services are read from the root here, not declared: this runs on every request, and FastAPI pays
    for each dependency it visits."""
    if not request.url.path.startswith(API_PREFIX):
        return
    services = request.app.state.services
    limiter: RateLimiter = services[RateLimiter]
    quotas: AccountQuotas = services[AccountQuotas]
    per_address: RequestQuotas = services[RequestQuotas]
    # The route resolves its caller again through its own dependencies; reading the header here (not
    # through the OAuth2 scheme) keeps public routes documented as needing no token.
    token = _bearer_token(request)
    principal = resolve_principal(request, auth, token) if token else None
    if principal is not None:
        quota = quotas.quota_for(principal.account_id, principal.roles)
        if quota is not None:
            _count(request, limiter, quota, str(principal.account_id))
        return
    _count(request, limiter, per_address.anonymous, client_address(request))


async def _target_email(request: Request) -> str | None:
    """The email a credentials request names (JSON ``email`` or the OAuth2 form's ``username``)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body: Any = json.loads(await request.body())
        except ValueError:
            return None
        value = body.get("email") if isinstance(body, dict) else None
    else:
        value = (await request.form()).get("username")
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


async def credential_attempts(request: Request, limiter: Limiter, per_address: PerAddress) -> None:
    """Where credentials or accounts are tried: a stricter limit per address, and one per target email."""
    address = client_address(request)
    email = await _target_email(request)
    await run_in_threadpool(_count, request, limiter, per_address.credentials, address)
    if email is not None:
        await run_in_threadpool(_count, request, limiter, per_address.credentials_email, email)


RateLimited = Depends(rate_limited)
CredentialAttempts = Depends(credential_attempts)


def _fields(usages: list[Usage]) -> list[tuple[bytes, bytes]]:
    policy = ", ".join(f'"{u.quota.name}";q={u.quota.amount};w={u.quota.window}' for u in usages)
    state = ", ".join(f'"{u.quota.name}";r={u.remaining};t={u.reset_after}' for u in usages)
    return [(b"ratelimit-policy", policy.encode()), (b"ratelimit", state.encode())]


class RateLimitHeaders:
    """Adds ``RateLimit`` and ``RateLimit-Policy`` to every answer a limit counted, refusals and errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_limits(message: Message) -> None:
            usages = scope.get("state", {}).get(_STATE_KEY)
            if message["type"] == "http.response.start" and usages:
                message["headers"] = [*message.get("headers", []), *_fields(usages)]
            await send(message)

        await self.app(scope, receive, send_with_limits)
