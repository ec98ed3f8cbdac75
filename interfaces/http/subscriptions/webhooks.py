"""The payment provider's webhooks: signed (HMAC-SHA256 over timestamp and body), fresh, applied once per event id.

The signature is checked before the body is read as JSON; a bad, malformed or stale one is a 400
problem and changes nothing. A replay of an event id the log already holds answers 200 with
``applied: false`` (so the provider stops retrying) and writes nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from application.shared.commands import CommandContext
from application.subscriptions.application import SubscriptionsApplication
from infrastructure.subscriptions.signatures import SIGNATURE_HEADER, BadSignature, WebhookSecrets
from interfaces.http.shared.auth import Public
from interfaces.http.shared.commands import Now
from interfaces.http.shared.openapi import problems
from interfaces.http.shared.problems import Problem
from interfaces.http.shared.services import provide
from interfaces.http.subscriptions.schemas import WebhookAccepted, WebhookEvent

router = APIRouter(tags=["billing: webhooks"])

Subscriptions = Annotated[SubscriptionsApplication, provide(SubscriptionsApplication)]
Secrets = Annotated[WebhookSecrets, provide(WebhookSecrets)]
_REFUSED = {
    "missing": f"The request carries no {SIGNATURE_HEADER} header",
    "malformed": f"{SIGNATURE_HEADER} must be 't=<unix seconds>,v1=<hex HMAC-SHA256>'",
    "mismatch": "The signature does not match the body",
    "stale": "The signature's timestamp is outside the tolerance",
    "not_configured": "WEBHOOK_SECRET is not set",
}


@router.post(
    "/api/v1/billing/webhooks/{provider}", dependencies=[Public], responses=problems(400, 503), status_code=200
)
async def webhook(
    provider: Annotated[str, Path(max_length=40, pattern=r"^[a-z][a-z0-9_-]*$")],
    request: Request,
    secrets: Secrets,
    app: Subscriptions,
    clock: Now,
    signature: Annotated[
        str | None, Header(alias=SIGNATURE_HEADER, max_length=1024, description="t=<unix>,v1=<hex>")
    ] = None,
) -> WebhookAccepted:
    """A payment provider's event on a pending charge (signed); applied once per provider event id."""
    if provider not in secrets.providers:
        raise Problem(404, "unknown_provider", "No such payment provider", f"No webhooks are taken from {provider!r}")
    if not secrets.configured:
        raise Problem(503, "webhooks_not_configured", "Webhooks are not configured", "WEBHOOK_SECRET is not set")
    body = await request.body()
    try:
        secrets.verify(signature, body)
    except BadSignature as refused:
        code = "stale_signature" if refused.reason == "stale" else "invalid_signature"
        raise Problem(400, code, "The webhook's signature is refused", _REFUSED[refused.reason]) from None
    try:
        event = WebhookEvent.model_validate_json(body)
    except ValidationError as invalid:
        errors = invalid.errors(include_url=False, include_context=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None
    request_id: str = request.state.request_id
    ctx = CommandContext(actor=f"provider:{provider}", correlation_id=request_id, causation_id=request_id, now=clock())
    outcome = await run_in_threadpool(
        app.apply_gateway_event, ctx, provider, event.id, event.type, event.data.attempt_id, event.data.reason
    )
    position = outcome.result.position if outcome.result is not None else None
    return WebhookAccepted(event_id=event.id, applied=not outcome.duplicate, changed=outcome.changed, position=position)
