"""``Idempotency-Key`` on every command (draft-ietf-httpapi-idempotency-key-header).

The command's context dependency reads the key: a retry with the same key and request gets the
first answer (status, body, ETag) without the command running again; the same key with another
method, path or body is 422 ``idempotency_key_reused``; a retry while the first is still running
is 409 ``idempotency_key_in_flight``. Keys belong to the caller: the account, or for an anonymous
command the client address and the route. The key's stream is written in the same atomic save as
the command's events (``ChronicleApplication.record``), then the answer is kept on it before it
is sent (``KeepAnswers``). Keys are events in the log, so they are kept as long as the log (at
least the 24 h the draft suggests). Commands that answer tokens (login, its second step, token, refresh) take no
key: their answer is a secret that must not be stored in the log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Annotated

from fastapi import FastAPI, Header, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.shared.application import EventLog
from application.shared.commands import CommandContext, IdempotencyClaim
from domain.shared.errors import DomainError
from domain.shared.idempotency import IdempotencyKey, RecordedAnswer
from infrastructure.shared.eventlog import StreamReader
from interfaces.http.shared.problems import Problem

log = logging.getLogger("chronicle.http")

# How long a claimed key whose answer is not kept yet counts as in flight; after that the process
# that ran it is taken to have stopped in between, and the answer is rebuilt from the claim.
IN_FLIGHT = timedelta(seconds=30)
_STATE_KEY = "idempotency"
# A structured-field string ("...") as the draft sends it, or the bare value: visible ASCII, 1..255.
_KEY = re.compile(r'^"([\x21\x23-\x7e]{1,255})"$|^([\x21\x23-\x7e]{1,255})$')

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Makes a retried command safe: the same key with the same request answers the first answer "
        "again without writing; at most 255 visible ASCII characters (a UUID is a good key)",
        examples=['"8e03978e-40d5-43e8-bc93-6894a57f9324"'],
    ),
]


class Replayed(Exception):
    """Answer the first answer again (raised by the command's context dependency)."""

    def __init__(self, answer: RecordedAnswer) -> None:
        super().__init__("replayed")
        self.answer = answer


def parse_key(value: str) -> str:
    match = _KEY.match(value.strip())
    if not match:
        raise Problem(
            422,
            "invalid_idempotency_key",
            "The Idempotency-Key is not valid",
            "An Idempotency-Key has 1 to 255 visible ASCII characters",
        )
    return match.group(1) or match.group(2)


async def _request_bytes(request: Request) -> bytes:
    try:
        return await request.body()
    except RuntimeError:  # a form or upload: its stream was read into the parsed form
        parts: list[bytes] = []
        for name, value in (await request.form()).multi_items():
            if isinstance(value, UploadFile):
                value.file.seek(0)
                content = value.file.read()
                value.file.seek(0)
                parts.append(f"{name}\0{value.filename}\0".encode() + hashlib.sha256(content).digest())
            else:
                parts.append(f"{name}\0{value}".encode())
        return b"\0\0".join(sorted(parts))


async def fingerprint(request: Request) -> str:
    """sha256 of the method, the path (with its query) and the body."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    digest = hashlib.sha256(f"{request.method}\n{target}\n".encode())
    digest.update(await _request_bytes(request))
    return digest.hexdigest()


def _rebuilt(log_: EventLog, key: IdempotencyKey) -> RecordedAnswer:
    """The answer of a command that committed but whose answer was never kept: ``{id, version, position}``."""
    position = StreamReader(log_.recorder).read(key.id)[0].id
    body = json.dumps({"id": str(key.result_id), "version": key.result_version, "position": position})
    return RecordedAnswer(key.status, body, f'"{key.result_version}"')


async def _replay(log_: EventLog, existing: IdempotencyKey, print_: str, ctx: CommandContext) -> None:
    answer = existing.replay_for(print_, ctx.now, IN_FLIGHT)
    if answer is None:
        answer = await run_in_threadpool(_rebuilt, log_, existing)
    raise Replayed(answer)


@asynccontextmanager
async def settling_refusals(request: Request, ctx: CommandContext) -> AsyncIterator[None]:
    """A command refused before it claimed its key: if another request with the key committed meanwhile
    (a race), answer as that request (replay, or in flight), not with this one's refusal."""
    try:
        yield
    except DomainError:
        claim = ctx.idempotency
        if claim is not None and claim.claimed is None:
            log_: EventLog = request.app.state.services[EventLog]
            existing = await run_in_threadpool(log_.idempotency_key, claim.scope, claim.key)
            if existing is not None:
                await _replay(log_, existing, claim.fingerprint, ctx)
        raise


async def claim_key(request: Request, ctx: CommandContext, value: str | None, scope: str) -> CommandContext:
    """The command's context with the caller's key claimed; a known key is answered (``Replayed``) or refused."""
    if value is None:
        return ctx
    key = parse_key(value)
    print_ = await fingerprint(request)
    log_: EventLog = request.app.state.services[EventLog]
    existing = await run_in_threadpool(log_.idempotency_key, scope, key)
    if existing is not None:
        await _replay(log_, existing, print_, ctx)
    route = request.scope.get("route")
    status = getattr(route, "status_code", None) or 200
    claimed = replace(ctx, idempotency=IdempotencyClaim(scope, key, print_, status))
    request.scope.setdefault("state", {})[_STATE_KEY] = claimed
    return claimed


async def _replayed(request: Request, error: Exception) -> Response:
    assert isinstance(error, Replayed)
    answer = error.answer
    headers = {"ETag": answer.etag} if answer.etag else {}
    return Response(answer.body, status_code=answer.status, media_type="application/json", headers=headers)


class KeepAnswers:
    """Keeps the answer of a command that claimed an Idempotency-Key on the key, before sending it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def keep_then_send(message: Message) -> None:
            ctx = scope.get("state", {}).get(_STATE_KEY)
            claim = ctx.idempotency if isinstance(ctx, CommandContext) else None
            if claim is None or claim.claimed is None or not message["type"].startswith("http.response"):
                await send(message)
                return
            held.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                await _keep(scope, ctx, held)
                for each in held:
                    await send(each)

        await self.app(scope, receive, keep_then_send)


async def _keep(scope: Scope, ctx: CommandContext, held: list[Message]) -> None:
    start = held[0]
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in start.get("headers", [])}
    body = b"".join(message.get("body", b"") for message in held[1:])
    answer = RecordedAnswer(start["status"], body.decode(), headers.get("etag"))
    log_: EventLog = scope["app"].state.services[EventLog]
    try:
        await run_in_threadpool(log_.keep_answer, ctx, answer)
    except Exception:  # the command is committed: a retry rebuilds the answer from the claim
        log.exception("could not keep the answer of an idempotent command")


def install(app: FastAPI) -> None:
    app.add_exception_handler(Replayed, _replayed)
    app.add_middleware(KeepAnswers)
