"""What a command route needs besides its body: the command's context, the expected version, the answer."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request, Response

from application.shared.commands import Clock, CommandContext, CommandResult
from interfaces.http.shared.auth import OptionalPrincipal
from interfaces.http.shared.idempotency import IdempotencyKeyHeader, claim_key, settling_refusals
from interfaces.http.shared.problems import Problem
from interfaces.http.shared.ratelimit import client_address
from interfaces.http.shared.schemas import CommandAccepted
from interfaces.http.shared.services import provide

ANONYMOUS = "anonymous"
IF_MATCH_PATTERN = r'^\s*(\*|(W/)?"?\d+"?)\s*$'
_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')

Now = Annotated[Clock, provide(Clock)]


def _context(request: Request, clock: Clock, actor: str) -> CommandContext:
    request_id: str = request.state.request_id
    request.state.command = True  # counted by outcome in the metrics (RequestContextMiddleware)
    return CommandContext(actor=actor, correlation_id=request_id, causation_id=request_id, now=clock())


def _anonymous_scope(request: Request) -> str:
    """Whose key an anonymous command's Idempotency-Key is: the client address and the route."""
    route = request.scope.get("route")
    return f"address:{client_address(request)}:{getattr(route, 'path', '')}"


async def command_context(
    request: Request, principal: OptionalPrincipal, idempotency_key: IdempotencyKeyHeader = None
) -> AsyncIterator[CommandContext]:
    clock: Clock = request.app.state.services[Clock]  # read here, not declared: one dependency fewer per command
    if principal is None:
        ctx, scope = _context(request, clock, ANONYMOUS), _anonymous_scope(request)
    else:
        ctx, scope = _context(request, clock, str(principal.account_id)), f"account:{principal.account_id}"
    claimed = await claim_key(request, ctx, idempotency_key, scope)
    async with settling_refusals(request, claimed):
        yield claimed


async def anonymous_context(
    request: Request, clock: Now, idempotency_key: IdempotencyKeyHeader = None
) -> AsyncIterator[CommandContext]:
    """The context of a public command (register, verify email): no token is read."""
    claimed = await claim_key(request, _context(request, clock, ANONYMOUS), idempotency_key, _anonymous_scope(request))
    async with settling_refusals(request, claimed):
        yield claimed


async def credentials_context(request: Request, clock: Now) -> CommandContext:
    """The context of a command that answers tokens (log in, refresh): it takes no Idempotency-Key,
    because its answer is a secret that must not be kept in the log."""
    return _context(request, clock, ANONYMOUS)


Ctx = Annotated[CommandContext, Depends(command_context)]
PublicCtx = Annotated[CommandContext, Depends(anonymous_context)]
CredentialsCtx = Annotated[CommandContext, Depends(credentials_context)]


async def expected_version(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            # Documented, not enforced by the schema: a malformed value is answered 400 invalid_if_match.
            json_schema_extra={"pattern": IF_MATCH_PATTERN},
            description='Optimistic concurrency: the version you read (its ETag, e.g. "3"), or * for any',
            examples=['"3"'],
        ),
    ] = None,
) -> int | None:
    """``If-Match: "<version>"`` for optimistic concurrency; absent or ``*`` means any version."""
    if if_match is None or if_match.strip() == "*":
        return None
    match = _IF_MATCH.match(if_match)
    if not match:
        raise Problem(400, "invalid_if_match", "If-Match must carry a version", 'Send If-Match: "<version>"')
    return int(match.group(1))


@dataclass(frozen=True)
class Command:
    """A command request's context, the version its If-Match expects, and its response (for the ETag)."""

    ctx: CommandContext
    expected_version: int | None
    response: Response

    def accepted(self, result: CommandResult) -> CommandAccepted:
        """The command's answer, with the stream's new version as ``ETag``."""
        self.response.headers["ETag"] = f'"{result.version}"'
        return accepted(result)


async def command(ctx: Ctx, version: Annotated[int | None, Depends(expected_version)], response: Response) -> Command:
    return Command(ctx, version, response)


async def public_command(ctx: PublicCtx, response: Response) -> Command:
    return Command(ctx, None, response)


Cmd = Annotated[Command, Depends(command)]
PublicCmd = Annotated[Command, Depends(public_command)]  # a public command that answers an ETag (register)


def accepted(result: CommandResult) -> CommandAccepted:
    return CommandAccepted(id=result.id, version=result.version, position=result.position)
