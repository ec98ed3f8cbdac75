"""Free-plan policy: follows the log and subscribes every new account to the free plan, exactly once.

The runner records the policy's position after each batch. Run again over the same events (a
replay, a restart after a crash before the position was stored), it finds the account's slot
already opened and writes nothing; two copies racing write the same first event of the same
subscription and slot streams, and one of them is refused. The subscription starts when the
account was registered (the event's time), so every run decides the same; its events carry the
registration's correlation id, with the registering event as their cause.

It handles the accounts context's registration event without importing it: the composition root
names the event classes (``new_account_events``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from application.shared.follower import EventHandlers
from application.subscriptions.application import SubscriptionsApplication


class FreePlanPolicy(EventHandlers[None]):
    """Subscribes each account that an event of ``new_account_events`` opens to the free plan."""

    name = "free_plan"

    def __init__(self, subscriptions: SubscriptionsApplication, new_account_events: Iterable[type[Any]]) -> None:
        super().__init__()
        self.subscriptions = subscriptions
        for event_class in new_account_events:
            self.also_handle(event_class, FreePlanPolicy.account_opened)

    def account_opened(self, e: Any, view: None, meta: dict[str, Any]) -> None:
        cause = f"{e.originator_id}:{e.originator_version}"
        correlation = meta.get("correlation_id")
        self.subscriptions.grant_free_plan(
            e.originator_id, e.timestamp, correlation_id=str(correlation) if correlation else None, causation_id=cause
        )
