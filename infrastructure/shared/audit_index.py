"""The audit index's table, its writer, its queries, and its wiring (with the export) beside the contexts.

Auditors filter the whole log by stream, event type, actor, correlation id and time. Those values
live inside each event's stored state, so the log's own table cannot be searched by them without
reading every row; this read model keeps them as columns, one row per event, keyed by position,
with an index per filter that leads to positions in order. A query finds the page's positions here,
then reads those events from the log itself (``StreamReader.at_positions``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Column, Connection, Engine, Index, Integer, Table, Text, select
from sqlalchemy import Uuid as SqlUuid

from infrastructure.shared.export import AuditExporter
from infrastructure.shared.platform import Platform
from infrastructure.shared.readstore import BatchView, PendingRows, UtcDateTime, metadata, read_position
from infrastructure.shared.runner import Follower
from projections.operations.audit_index import AuditIndexProjection

audit_index = Table(
    "audit_index",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("stream_id", SqlUuid, nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", Text, nullable=False),
    Column("recorded_at", UtcDateTime),
    Column("actor", Text),
    Column("correlation_id", Text),
    Column("causation_id", Text),
    # Each filter leads to positions in order: a page is a range scan, however large the log.
    Index("ix_audit_index_stream", "stream_id", "position"),
    Index("ix_audit_index_type", "type", "position"),
    Index("ix_audit_index_actor", "actor", "position"),
    Index("ix_audit_index_correlation", "correlation_id", "position"),
    Index("ix_audit_index_recorded_at", "recorded_at"),
)

AUDIT_TABLES = (audit_index,)


class SqlAuditIndexView(BatchView):
    """The audit index's writer: a batch's rows, written by ``flush`` in one statement."""

    def __init__(self, conn: Connection) -> None:
        self._rows = PendingRows(audit_index, "position")
        super().__init__(conn, self._rows)

    def add(
        self,
        position: int,
        stream_id: UUID,
        version: int,
        type: str,
        recorded_at: datetime | None,
        actor: str | None,
        correlation_id: str | None,
        causation_id: str | None,
    ) -> None:
        self._rows.add(
            {
                "position": position,
                "stream_id": stream_id,
                "version": version,
                "type": type,
                "recorded_at": recorded_at,
                "actor": actor,
                "correlation_id": correlation_id,
                "causation_id": causation_id,
            }
        )


@dataclass(frozen=True)
class AuditFilter:
    """What an auditor narrows the log to; every field set must match (``since`` inclusive, ``before`` not)."""

    stream_id: UUID | None = None
    type: str | None = None
    actor: str | None = None
    correlation_id: str | None = None
    since: datetime | None = None
    before: datetime | None = None

    @property
    def empty(self) -> bool:
        return all(value is None for value in vars(self).values())


@dataclass(frozen=True)
class IndexedPage:
    """The positions of one page, whether more follow, and how far the index has got in the log."""

    positions: list[int]
    has_more: bool
    indexed_to: int


class AuditIndexQueries:
    """Positions of the events that match a filter, in log order, a page at a time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def page(self, where: AuditFilter, after: int, limit: int) -> IndexedPage:
        c = audit_index.c
        query = select(c.position).where(c.position > after)
        if where.stream_id is not None:
            query = query.where(c.stream_id == where.stream_id)
        if where.type is not None:
            query = query.where(c.type == where.type)
        if where.actor is not None:
            query = query.where(c.actor == where.actor)
        if where.correlation_id is not None:
            query = query.where(c.correlation_id == where.correlation_id)
        if where.since is not None:
            query = query.where(c.recorded_at >= where.since)
        if where.before is not None:
            query = query.where(c.recorded_at < where.before)
        with self.engine.connect() as conn:
            positions = [int(p) for p in conn.execute(query.order_by(c.position).limit(limit + 1)).scalars()]
            indexed_to = read_position(conn, AuditIndexProjection.name)
        return IndexedPage(positions[:limit], len(positions) > limit, indexed_to)


@dataclass
class Audit:
    """The audit index, wired like a context: its follower and its queries."""

    queries: AuditIndexQueries
    exporter: AuditExporter
    followers: tuple[Follower, ...] = field(default=())

    def services(self) -> dict[type, Any]:
        return {AuditIndexQueries: self.queries, AuditExporter: self.exporter}

    def start(self, platform: Platform) -> None:
        """Nothing to prepare."""


def wire_audit(platform: Platform) -> Audit:
    followers = (Follower(AuditIndexProjection(), SqlAuditIndexView, AUDIT_TABLES),)
    log = platform.log
    exporter = AuditExporter(log.recorder, log.metadata_mapper, platform.settings.audit_export_page_size)
    return Audit(AuditIndexQueries(platform.query_engine), exporter, followers)
