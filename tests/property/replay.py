"""Replaying an aggregate: from its events in memory, and through a real (in-memory) event store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar
from uuid import uuid4

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder

from application.accounts.application import register_account_transcodings
from application.shared.application import ChronicleApplication
from application.shared.commands import CommandContext
from domain.accounts.account import Account
from domain.accounts.session import Session
from domain.flows.flow import ActiveFlowSlots, Flow
from domain.flows.run import FlowRun
from domain.inventory.item import InventoryItem
from domain.shared.errors import DomainError
from domain.shared.unique_key import UniqueKey
from domain.subscriptions.plan import Plan
from domain.subscriptions.subscription import Subscription, SubscriptionSlot
from domain.trades.mark import Mark
from domain.trades.quota import TradeQuota
from domain.trades.trade import Trade
from domain.work_orders.work_order import WorkOrder
from infrastructure.shared.personal_data import MemoryKeyStore, PersonalDataKeys
from tests.unit.builders import NOW

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


class InMemoryChronicle(ChronicleApplication):
    """The production base application (mapper, transcodings, metadata) over the in-memory store.

    It snapshots every few events, so reloads also go through snapshots of every state the
    machines reach (a value object the transcoder cannot store fails here, not in production).
    """

    snapshotting_intervals: ClassVar = {
        **{Account: 3, Session: 3, WorkOrder: 3, InventoryItem: 3, UniqueKey: 3},
        **{Plan: 3, Subscription: 3, SubscriptionSlot: 3},
        **{Trade: 3, TradeQuota: 3, Mark: 3},
        **{Flow: 3, FlowRun: 3, ActiveFlowSlots: 3},
    }

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_account_transcodings(transcoder)


def rebuild(events: Sequence[Any]) -> Aggregate:
    """The aggregate that ``events`` describe, rebuilt by mutating in order from nothing."""
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    assert isinstance(aggregate, Aggregate)
    return aggregate


class Recorder:
    """Saves an aggregate after each step, with command metadata, and keeps its events in order."""

    def __init__(self) -> None:
        self.app = InMemoryChronicle(env=POPO)
        # Personal fields are sealed as in production (keys in memory), snapshots included.
        self.app.metadata_mapper.personal = PersonalDataKeys("a-property-test-pii-master-key-0123", MemoryKeyStore())
        self.events: list[Any] = []

    def record(self, aggregate: Aggregate) -> None:
        pending = list(aggregate.pending_events)
        ctx = CommandContext(actor="property-test", correlation_id=str(uuid4()), causation_id="step", now=NOW)
        result = self.app.record(ctx, aggregate)
        assert result.version == aggregate.version
        assert aggregate.pending_events == []
        self.events += pending

    def stored(self, aggregate: Aggregate) -> Any:
        return self.app.repository.get(aggregate.id)


def run_command(
    recorder: Recorder,
    aggregate: Aggregate,
    refusal: type[DomainError] | None,
    command: Callable[[], object],
    *emitted: type,
) -> bool:
    """Run ``command``: it raises exactly ``refusal`` and emits nothing, or emits ``emitted`` and is recorded."""
    if refusal is not None:
        try:
            command()
        except DomainError as error:
            assert type(error) is refusal, f"expected {refusal.__name__}, got {type(error).__name__}: {error}"
        else:
            raise AssertionError(f"expected {refusal.__name__}, but the command was accepted")
        assert aggregate.pending_events == []
        return False
    command()
    assert [type(event) for event in aggregate.pending_events] == list(emitted)
    recorder.record(aggregate)
    return True
