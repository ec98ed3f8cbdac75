"""``GET /metrics``: Prometheus's text format, for the addresses METRICS_ALLOW_IPS names or a METRICS_TOKEN.

Who may read it: a client whose address (the socket peer, or whom a proxy in FORWARDED_ALLOW_IPS
forwarded) is in ``METRICS_ALLOW_IPS`` (loopback by default), or any client sending
``Authorization: Bearer <METRICS_TOKEN>``. Anyone else gets 403 ``metrics_forbidden``. The metrics
name routes, projections and pools, never a raw path, an account or a token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool

from infrastructure.shared.metrics import CONTENT_TYPE, MetricsAccess, ProjectionStates, exposition
from infrastructure.shared.operations import Operations
from interfaces.http.shared.auth import Public
from interfaces.http.shared.problems import Problem
from interfaces.http.shared.services import provide

router = APIRouter(tags=["operations"])

Ops = Annotated[Operations, provide(Operations)]
Access = Annotated[MetricsAccess, provide(MetricsAccess)]


def _projection_states(ops: Operations) -> ProjectionStates:
    def read() -> tuple[int, list[tuple[str, int, bool]]]:
        states = ops.projections()
        head = states[0].head if states else ops.head_position()
        return head, [(state.name, state.position, state.failure is not None) for state in states]

    return ProjectionStates(read)


@router.get("/metrics", dependencies=[Public], include_in_schema=False)
async def metrics(request: Request, ops: Ops, access: Access) -> Response:
    """Every metric of every worker of this server, and the projections' state read from the store now."""
    scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
    bearer = token if scheme.lower() == "bearer" else None
    if not access.allows(request.client.host if request.client else None, bearer):
        raise Problem(403, "metrics_forbidden", "Metrics are not public", "This address may not read the metrics")
    body = await run_in_threadpool(exposition, _projection_states(ops))
    return Response(body, media_type=CONTENT_TYPE)
