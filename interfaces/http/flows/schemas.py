"""Request and response models of the flows routes (published: other contexts may read them)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from domain.flows.flow import (
    MAX_AGENT_NAME,
    MAX_DESCRIPTION,
    MAX_PROMPT,
    MAX_SCHEDULE_SECONDS,
    MAX_STEPS,
    MAX_TITLE,
    MIN_SCHEDULE_SECONDS,
)
from interfaces.http.shared.schemas import MULTI_LINE, Page, Strict

# A config or a run's inputs: a JSON object of at most this many bytes, nested at most this deep.
MAX_JSON_BYTES = 8192
MAX_JSON_DEPTH = 6
MAX_KEY = 100


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _bounded_object(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, ensure_ascii=False, allow_nan=False, default=str).encode())
    if size > MAX_JSON_BYTES:
        raise PydanticCustomError("json_too_large", "At most {limit} bytes of JSON", {"limit": MAX_JSON_BYTES})
    if _depth(value) > MAX_JSON_DEPTH:
        raise PydanticCustomError("json_too_deep", "Nested at most {limit} levels", {"limit": MAX_JSON_DEPTH})
    if any(len(key) > MAX_KEY for key in _keys(value)):
        raise PydanticCustomError("json_key_too_long", "Keys have at most {limit} characters", {"limit": MAX_KEY})
    return value


def _keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [*value, *(k for v in value.values() for k in _keys(v))]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


JsonObject = Annotated[
    dict[str, Any],
    AfterValidator(_bounded_object),
    Field(description=f"A JSON object: at most {MAX_JSON_BYTES} bytes, {MAX_JSON_DEPTH} levels deep"),
]
AgentName = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_AGENT_NAME, pattern=r"^[a-z0-9_.-]+$"), Field(examples=["rule"])
]


_FLOW_ID = "3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c"
_RUN_ID = "8e1d2c3b-4a59-4f6e-8d7c-1b2a3c4d5e6f"
_ACCOUNT_ID = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
_STEP: dict[str, Any] = {
    "prompt": "{{ inputs.symbol }} trades at {{ inputs.price }}",
    "agent": "rule",
    "config": {"buy_below": "60000", "sell_above": "70000"},
}
_FLOW: dict[str, Any] = {
    "id": _FLOW_ID,
    "account_id": _ACCOUNT_ID,
    "title": "BTC swing",
    "description": "Buy low, sell high",
    "status": "active",
    "steps": [_STEP],
    "schedule_seconds": 300,
    "created_at": "2026-12-01T08:00:00Z",
    "updated_at": "2026-12-01T08:05:00Z",
    "version": 2,
}
_RUN_STEP: dict[str, Any] = {
    "index": 0,
    "agent": "rule",
    "status": "completed",
    "attempts": 1,
    "output": {"action": "buy", "trade_id": "0c9b8a7d-6e5f-5a4b-9c3d-2e1f0a9b8c7d"},
    "error": None,
    "started_at": "2026-12-01T09:00:00.100Z",
    "finished_at": "2026-12-01T09:00:00.180Z",
    "duration_us": 80000,
}
_RUN: dict[str, Any] = {
    "id": _RUN_ID,
    "flow_id": _FLOW_ID,
    "account_id": _ACCOUNT_ID,
    "trigger": "manual",
    "status": "completed",
    "inputs": {"symbol": "BTC/USDT", "price": "59000.00"},
    "steps_total": 1,
    "steps_completed": 1,
    "error": None,
    "started_at": "2026-12-01T09:00:00Z",
    "finished_at": "2026-12-01T09:00:00.200Z",
    "duration_us": 200000,
    "updated_at": "2026-12-01T09:00:00.200Z",
    "version": 4,
    "steps": [_RUN_STEP],
}


class StepIn(Strict):
    """One step: a prompt template, the agent that runs it, and the agent's config."""

    model_config = ConfigDict(json_schema_extra={"examples": [_STEP]})

    prompt: Annotated[str, StringConstraints(max_length=MAX_PROMPT), MULTI_LINE] = Field(
        examples=["Price of {{ inputs.symbol }} is {{ inputs.price }}"]
    )
    agent: AgentName
    config: JsonObject = Field(default_factory=dict, examples=[{"buy_below": "60000", "sell_above": "70000"}])


Steps = Annotated[list[StepIn], Field(min_length=1, max_length=MAX_STEPS)]


class FlowCreate(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"title": "BTC swing", "description": "Buy low, sell high", "steps": [_STEP], "schedule_seconds": 300}
            ]
        }
    )

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TITLE)]
    description: Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION), MULTI_LINE] = ""
    steps: Steps
    schedule_seconds: Annotated[int | None, Field(ge=MIN_SCHEDULE_SECONDS, le=MAX_SCHEDULE_SECONDS)] = None


class StepsEdit(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"steps": [_STEP]}]})

    steps: Steps


class RunStart(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"inputs": {"symbol": "BTC/USDT", "price": "59000.00"}}]})

    inputs: JsonObject = Field(default_factory=dict, examples=[{"symbol": "BTC/USDT", "price": "64000.10"}])


class StepPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_STEP]})

    prompt: str
    agent: str
    config: dict[str, Any]


class FlowPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_FLOW]})

    id: UUID
    account_id: UUID
    title: str
    description: str
    status: str = Field(examples=["active"], description="draft, active, paused or stopped")
    steps: list[StepPublic]
    schedule_seconds: int | None
    created_at: datetime
    updated_at: datetime
    version: int


class RunStepPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_RUN_STEP]})

    index: int
    agent: str
    status: str = Field(description="pending, running, completed or failed")
    attempts: int
    output: dict[str, Any] | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_us: int | None = Field(description="How long the completed attempt took, in microseconds")


class RunPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_RUN]})

    id: UUID
    flow_id: UUID
    account_id: UUID
    trigger: str = Field(description="manual or schedule")
    status: str = Field(description="running, completed or failed")
    inputs: dict[str, Any]
    steps_total: int
    steps_completed: int
    error: str | None
    started_at: datetime
    finished_at: datetime | None
    duration_us: int | None
    updated_at: datetime
    version: int
    steps: list[RunStepPublic]


class FlowStatsPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "flow_id": _FLOW_ID,
                    "runs_started": 12,
                    "runs_completed": 10,
                    "runs_failed": 1,
                    "success_rate": "0.9091",
                    "mean_duration_ms": "212.500",
                }
            ]
        }
    )

    flow_id: UUID
    runs_started: int
    runs_completed: int
    runs_failed: int
    success_rate: Decimal | None = Field(description="completed / (completed + failed); null before a run ended")
    mean_duration_ms: Decimal | None = Field(description="Of the completed runs; null before one completed")


FlowPage = Page[FlowPublic]
RunPage = Page[RunPublic]
