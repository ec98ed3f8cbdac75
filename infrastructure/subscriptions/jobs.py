"""The subscriptions context's background work: a sweep of the subscriptions due, one task per subscription.

Every ``BILLING_SWEEP_SECONDS`` the sweep asks the read model which live subscriptions have their next
action due (``SubscriptionQueries.due``: a renewal, a trial's end, a dunning retry, a scheduled downgrade
or cancellation, an expiry) and hands out ``chronicle.subscriptions.advance(subscription_id, as_of)``
for each. The task calls ``SubscriptionsApplication.advance``, which does what is due at ``as_of`` and
nothing else: run twice (a redelivery after a worker died, two sweeps finding the same subscription
before the read model caught up) it writes nothing the second time and the gateway is asked with the
same deterministic attempt id, so nothing is charged twice. The command's correlation id is derived
from (subscription, as_of), so every event a run writes can be traced to the one sweep item.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID, uuid5

from application.shared.commands import CommandContext
from infrastructure.shared.jobs import Jobs, TaskArgs

ADVANCE_TASK = "chronicle.subscriptions.advance"
SWEEP = "subscriptions"
JOBS_ACTOR = "jobs"
# Fixed forever: correlation ids of past runs are derived from it.
CORRELATION_NAMESPACE = UUID("6f7b1c2e-3d0a-5b8e-9c41-7a2d5e0f1b36")


class Advancing(Protocol):
    """What the task needs of ``SubscriptionsApplication``."""

    def advance(self, ctx: CommandContext, subscription_id: UUID, as_of: datetime) -> object: ...


class DueSubscriptions(Protocol):
    """What the sweep needs of ``SubscriptionQueries``."""

    def due(self, as_of: datetime, limit: int) -> list[UUID]: ...


def advance_context(subscription_id: UUID, as_of: datetime, now: datetime) -> CommandContext:
    """The command context of one sweep item: the same (subscription, as_of) always gets the same ids."""
    correlation = str(uuid5(CORRELATION_NAMESPACE, f"advance:{subscription_id}:{as_of.isoformat()}"))
    return CommandContext(actor=JOBS_ACTOR, correlation_id=correlation, causation_id=correlation, now=now)


def add_subscription_jobs(
    jobs: Jobs, app: Advancing, queries: DueSubscriptions, *, interval_seconds: float, limit: int
) -> None:
    """Registers the advance task and the sweep of due subscriptions (called from the context's wiring)."""

    def advance(subscription_id: str, as_of: str) -> None:
        subscription, when = UUID(subscription_id), datetime.fromisoformat(as_of)
        app.advance(advance_context(subscription, when, jobs.clock()), subscription, when)

    def due(as_of: datetime) -> list[TaskArgs]:
        return [(str(subscription), as_of.isoformat()) for subscription in queries.due(as_of, limit)]

    jobs.add_task(ADVANCE_TASK, advance)
    jobs.add_sweep(SWEEP, interval_seconds, ADVANCE_TASK, due)
