"""Closed-accounts policy: follows the log and ends the live subscription of every account that is closed.

A closed account can no longer use what it pays for, so nothing more is billed: its subscription is
canceled at the moment of the closing (reason ``account_closed``) and its slot is given back. Run again
over the same events (a replay, a restart before the position was stored) it finds the subscription
ended and writes nothing. The command carries the closing request's correlation id, and the closing
event as its cause, so an auditor finds both under one correlation.

Like the free-plan policy it handles the accounts context's event without importing it: the
composition root names the event classes (``closed_account_events``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from application.shared.commands import SYSTEM_ACTOR, CommandContext
from application.shared.follower import EventHandlers
from application.subscriptions.application import SubscriptionsApplication


class ClosedAccountsPolicy(EventHandlers[None]):
    """Ends the subscription of each account that an event of ``closed_account_events`` closes."""

    name = "closed_accounts"

    def __init__(self, subscriptions: SubscriptionsApplication, closed_account_events: Iterable[type[Any]]) -> None:
        super().__init__()
        self.subscriptions = subscriptions
        for event_class in closed_account_events:
            self.also_handle(event_class, ClosedAccountsPolicy.account_closed)

    def account_closed(self, e: Any, view: None, meta: dict[str, Any]) -> None:
        cause = f"{e.originator_id}:{e.originator_version}"
        correlation = str(meta.get("correlation_id") or cause)
        ctx = CommandContext(actor=SYSTEM_ACTOR, correlation_id=correlation, causation_id=cause, now=e.timestamp)
        self.subscriptions.end_for_closed_account(ctx, e.originator_id)
