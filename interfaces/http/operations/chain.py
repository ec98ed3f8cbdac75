"""The hash chain for auditors: its public key, a signed checkpoint of its head, a range verified."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from domain.shared.access import AUDIT_READ
from infrastructure.shared import checkpoints as chain_keys
from infrastructure.shared.chain_log import Checkpoints
from infrastructure.shared.checkpoints import key_id
from interfaces.http.operations.schemas import ChainCheckpoint, ChainPublicKey, ChainVerdict
from interfaces.http.shared.auth import Principal, require
from interfaces.http.shared.services import provide

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

Auditor = Annotated[Principal, Depends(require(AUDIT_READ))]
Chain = Annotated[Checkpoints, provide(Checkpoints)]
MAX_POSITION = 2**63 - 1


@router.get("/public-key")
def public_key(_: Auditor, chain: Chain) -> ChainPublicKey:
    """The Ed25519 public key (PEM) that checkpoints are signed with: keep it beside them."""
    pem = chain.public_key_pem()
    return ChainPublicKey(algorithm="Ed25519", key_id=key_id(chain_keys.public_key(pem)), public_key_pem=pem)


@router.get("/checkpoint")
def checkpoint(_: Auditor, chain: Chain) -> ChainCheckpoint:
    """A signed checkpoint of the chain's head now (position, link, UTC time): keep it to verify exports later."""
    taken: dict[str, Any] = chain.take().as_dict()
    return ChainCheckpoint.model_validate(taken)


@router.get("/verify")
def verify(
    _: Auditor,
    chain: Chain,
    start: Annotated[int, Query(alias="from", ge=1, le=MAX_POSITION, description="First position checked")] = 1,
    stop: Annotated[
        int | None, Query(alias="to", ge=1, le=MAX_POSITION, description="Last position checked (default: head)")
    ] = None,
) -> ChainVerdict:
    """Recompute every link from ``from`` to ``to`` as stored: ok, how many were checked, the first bad position."""
    return ChainVerdict.model_validate(chain.verify(start, stop).as_dict())
