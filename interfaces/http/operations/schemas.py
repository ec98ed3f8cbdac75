"""Response shapes of the audit and operations routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

_ORDER_ID = "4f1c2a7e-0d3b-4c55-9a61-2b8e5f0c9d11"
_WELDER_ID = "3b9d2f4e-8a1c-4e7b-9f20-5c6d7e8f9a01"
_MANAGER_ID = "c2bb2ab8-d7ab-44f9-8293-ac618ef3fecb"
_EVENTS: list[Any] = [
    {
        "position": 31,
        "version": 1,
        "type": "WorkOrder.Created",
        "timestamp": "2026-12-01T08:12:40Z",
        "actor": _MANAGER_ID,
        "correlation_id": "6e886fcb63194e9899559fa6215a189e",
        "causation_id": "6e886fcb63194e9899559fa6215a189e",
        "payload": {
            "order_number": "WO-1001",
            "client": "Acme Steel",
            "description": "Weld the cracked bracket of the press frame",
            "machine": "press-7",
            "due_date": "2026-12-15",
            "priority": "high",
        },
    },
    {
        "position": 34,
        "version": 2,
        "type": "WorkOrder.WelderAssigned",
        "timestamp": "2026-12-01T08:15:09Z",
        "actor": _MANAGER_ID,
        "correlation_id": "93ce919eb1844d05bf7d216156ce0949",
        "causation_id": "93ce919eb1844d05bf7d216156ce0949",
        "payload": {"welder_id": _WELDER_ID, "status": "assigned"},
    },
]
_PROJECTIONS = ("accounts", "mail", "inventory", "work_orders", "work_order_timeline", "workshop_dashboard")


class AuditEvent(BaseModel):
    """A stored event: its log position, the stream's version, who wrote it and why (secrets redacted)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EVENTS[1]]})

    position: int
    version: int
    type: str
    timestamp: datetime | None
    actor: str | None
    correlation_id: str | None
    causation_id: str | None
    payload: dict[str, Any]


_LOG_EVENT: dict[str, Any] = {
    "stream_id": _ORDER_ID,
    **{key: value for key, value in _EVENTS[1].items() if key != "payload"},
    "timestamp": "2026-12-01T08:15:09.412077+00:00",
    "data": _EVENTS[1]["payload"],
}


class AuditLogEvent(BaseModel):
    """An event of the global log, as an export line has it (without ``stored_state``; secrets redacted)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_LOG_EVENT]})

    position: int
    stream_id: UUID
    version: int
    type: str
    timestamp: str | None
    actor: str | None
    correlation_id: str | None
    causation_id: str | None
    data: dict[str, Any]


class AuditLog(BaseModel):
    """A page of the global log: pass ``next_after`` as ``after`` for the next one while ``has_more``.

    ``indexed_to`` is the position the audit index has reached when a filter was given (the page
    holds nothing beyond it; ``min_position`` waits for it), and null for the log read directly.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"items": [_LOG_EVENT], "after": 33, "limit": 1, "next_after": 34, "has_more": True, "indexed_to": 1210}
            ]
        }
    )

    items: list[AuditLogEvent]
    after: int
    limit: int
    next_after: int
    has_more: bool
    indexed_to: int | None


class AuditStream(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"stream_id": _ORDER_ID, "events": _EVENTS}]})

    stream_id: UUID
    events: list[AuditEvent]


class AuditState(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "stream_id": _ORDER_ID,
                    "type": "WorkOrder",
                    "version": 2,
                    "state": {
                        "id": _ORDER_ID,
                        "version": 2,
                        "created_on": "2026-12-01T08:12:40+00:00",
                        "modified_on": "2026-12-01T08:15:09+00:00",
                        **_EVENTS[0]["payload"],
                        "status": "assigned",
                        "welder_id": _WELDER_ID,
                        "materials": {},
                        "inspections": 0,
                        "completed_at": None,
                        "cancel_reason": None,
                    },
                }
            ]
        }
    )

    stream_id: UUID
    type: str
    version: int
    state: dict[str, Any]


class ProjectionError(BaseModel):
    """Why a projection stopped: the error's class and a short message in our words (no SQL, no data)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "psycopg.DataError",
                    "message": "inventory could not apply InventoryItem.Registered at position 1188 (DataError)",
                }
            ]
        }
    )

    type: str
    message: str


_WORKER: dict[str, Any] = {"pid": 4711, "host": "projector-1"}
_TABLE: dict[str, Any] = {
    "table": "rm_work_orders",
    "live_rows": 50010,
    "new_rows": 50010,
    "live_checksum": "28823037615171174402",
    "new_checksum": "28823037615171174402",
    "same": True,
}
_REPORT: dict[str, Any] = {
    "position": 100025,
    "live_position": 100025,
    "tables": [_TABLE],
    "code_changed": False,
    "differs": False,
    "forced": False,
    "swapped": True,
}
_JOB = "5b0c6c1e-8a53-4b0e-9d77-0f0e0b8c2a11"
_REBUILD_RUNNING: dict[str, Any] = {
    "job_id": _JOB,
    "state": "running",
    "position": 42000,
    "head": 100020,
    "worker": "812@api-1",
    "error": None,
    "report": None,
}
_REBUILD_SWAPPED: dict[str, Any] = {
    **_REBUILD_RUNNING,
    "state": "swapped",
    "position": 100025,
    "head": 100025,
    "report": _REPORT,
}


class ActiveWorkerStatus(BaseModel):
    """The process running a projection (the one holding its PostgreSQL advisory lock)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_WORKER]})

    pid: int | None
    host: str


class TableDifference(BaseModel):
    """One table of the live and the rebuilt model, compared before the swap."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TABLE]})

    table: str
    live_rows: int
    new_rows: int
    live_checksum: str
    new_checksum: str
    same: bool


class RebuildReportOut(BaseModel):
    """What a rebuild found before the swap: per-table counts and checksums, and whether the code changed."""

    model_config = ConfigDict(json_schema_extra={"examples": [_REPORT]})

    position: int
    live_position: int
    tables: list[TableDifference]
    code_changed: bool
    differs: bool
    forced: bool
    swapped: bool


class RebuildStatus(BaseModel):
    """A projection's last rebuild job: ``running`` (with its position and the head), ``swapped``,
    ``refused`` (rows differ, code unchanged, not forced), ``failed``, or ``interrupted`` (its process
    ended mid-rebuild: the live model stayed as it was)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_REBUILD_RUNNING, _REBUILD_SWAPPED]})

    job_id: str
    state: Literal["running", "swapped", "refused", "failed", "interrupted"]
    position: int
    head: int
    worker: str
    error: str | None = None
    report: RebuildReportOut | None = None


class RebuildAccepted(BaseModel):
    """A rebuild job was started; ``GET /api/v1/projections`` shows its progress."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"job_id": "5b0c6c1e-8a53-4b0e-9d77-0f0e0b8c2a11", "name": "work_orders"}]}
    )

    job_id: str
    name: str
    state: Literal["running"] = "running"


class ProjectionStatus(BaseModel):
    """A projection's position and lag; ``failed`` (with the position it stopped at) while it cannot apply an event."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "work_orders",
                    "position": 1204,
                    "head": 1210,
                    "lag": 6,
                    "state": "running",
                    "failed_position": None,
                    "error": None,
                    "retries": 0,
                    "failed_since": None,
                    "last_attempt_at": None,
                    "active_worker": _WORKER,
                    "rebuild": _REBUILD_RUNNING,
                },
                {
                    "name": "inventory",
                    "position": 1187,
                    "head": 1210,
                    "lag": 23,
                    "state": "failed",
                    "failed_position": 1188,
                    "error": {
                        "type": "psycopg.DataError",
                        "message": "inventory could not apply InventoryItem.Registered at position 1188 (DataError)",
                    },
                    "retries": 7,
                    "failed_since": "2026-12-01T08:12:40Z",
                    "last_attempt_at": "2026-12-01T08:13:45Z",
                },
            ]
        }
    )

    name: str
    position: int
    head: int
    lag: int
    state: Literal["running", "failed"]
    failed_position: int | None = None
    error: ProjectionError | None = None
    retries: int = 0
    failed_since: datetime | None = None
    last_attempt_at: datetime | None = None
    active_worker: ActiveWorkerStatus | None = None
    rebuild: RebuildStatus | None = None


class Liveness(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: str


class Readiness(BaseModel):
    """Each dependency's check; ``ready`` (200) when all pass, else ``not_ready`` (503)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ready",
                    "checks": {
                        "event_store": {"ok": True, "head": 1210},
                        "read_store": {"ok": True},
                        "redis": {"ok": True},
                        "projections": {
                            "ok": True,
                            "lag": {name: 0 for name in _PROJECTIONS},
                            "max_lag": 10000,
                        },
                    },
                },
                {
                    "status": "not_ready",
                    "checks": {
                        "event_store": {"ok": False, "error": "OperationalError"},
                        "read_store": {"ok": True},
                        "redis": {"ok": True},
                    },
                },
            ]
        }
    )

    status: str
    checks: dict[str, Any]


class ChainCheckpoint(BaseModel):
    """A signed checkpoint of the hash chain (docs/auditing.md, "What the chain proves")."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "format": "chronicle-checkpoint:v1",
                    "position": 1042,
                    "chain": "5f0c1d2e3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f",
                    "time": "2026-12-01T14:05:00.123456+00:00",
                    "key_id": "9c1b5e2d7a3f4c60",
                    "signature": "q8N2m0Zr3Q5y9kF1vP7b3d2Lx0a8e4g6h1j5k9m3n7p2r6t0w4y8A2C6E0"
                    "G4I8K1M5O9Q3S7U0W4Y8a2c6e0g0A==",
                }
            ]
        }
    )

    format: str
    position: int
    chain: str
    time: str
    key_id: str
    signature: str


class ChainVerdict(BaseModel):
    """What verifying a range of the stored chain found."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ok": False,
                    "checked": 311,
                    "head_position": 311,
                    "head": "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
                    "first_bad_position": 312,
                    "problem": "the event's link does not follow from the one before it: this event was altered, "
                    "or an event before it was removed, inserted or moved",
                }
            ]
        }
    )

    ok: bool
    checked: int
    head_position: int | None
    head: str | None
    first_bad_position: int | None
    problem: str | None


class ChainPublicKey(BaseModel):
    """The key checkpoints are signed with; ``public_key_pem`` is what ``chronicle audit verify --public-key`` reads."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "algorithm": "Ed25519",
                    "key_id": "9c1b5e2d7a3f4c60",
                    "public_key_pem": "-----BEGIN PUBLIC KEY-----\n"
                    "MCowBQYDK2VwAyEATbmWTHGZ+aze9KHaJgP2AL/Ja3/XJO52Vth7bbnPIB8=\n-----END PUBLIC KEY-----\n",
                }
            ]
        }
    )

    algorithm: Literal["Ed25519"]
    key_id: str
    public_key_pem: str
