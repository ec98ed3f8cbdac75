"""The Subscriptions application: plans, each account's subscription, its payments and its schedule.

Charges go through the ``PaymentGateway`` port with deterministic attempt ids (the gateway's
idempotency key), so a command or job that runs twice is charged once:
- a renewal, a trial end or a dunning retry (``advance``) asks the gateway before saving; a rerun
  (a redelivered job, a lost race) asks again with the same id and gets the same answer;
- a new subscription is saved first (taking the account's slot: of racing subscribes one commits,
  the others are refused before anything is charged), then its first invoice is charged;
- an upgrade is charged first and applied only when the charge did not fail (Stripe's
  ``pending_if_incomplete``): a declined upgrade changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar, Final
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate
from eventsourcing.utils import EnvType

from application.shared.application import ChronicleApplication
from application.shared.commands import SYSTEM_ACTOR, CommandContext, CommandResult
from application.shared.locks import KeyedLocks, LocalLocks
from application.subscriptions.ports import PaymentGateway
from domain.shared.errors import ConcurrencyConflict, NotFound
from domain.shared.unique_key import UniqueKey, unique_id
from domain.subscriptions.errors import (
    AlreadySubscribed,
    InvalidGatewayEvent,
    PaymentDeclined,
    PlanCodeTaken,
    PlanNotFound,
    SubscriptionNotFound,
    UnknownPaymentAttempt,
)
from domain.subscriptions.plan import FREE_PLAN_CODE, Plan, check_features, check_limits
from domain.subscriptions.proration import Line
from domain.subscriptions.subscription import (
    CANCEL_AT_PERIOD_END,
    CHARGE_STATUSES,
    DECLINED,
    ENDED,
    EXPIRE,
    FIRST_CHARGE,
    INSUFFICIENT_FUNDS,
    NO_PAYMENT_METHOD,
    PENDING,
    RENEW,
    RETRY,
    SUCCEEDED,
    DunningLadder,
    PaymentAttempt,
    Subscription,
    SubscriptionSlot,
    attempt_id_for,
    slot_id_for,
)

# Scopes of the unique keys this context claims: a pending attempt names its subscription (for the
# webhook that settles it), and a provider's event id is applied once.
ATTEMPT_SCOPE: Final = "payment-attempt"
GATEWAY_EVENT_SCOPE: Final = "gateway-event"
# What a webhook may say about a payment attempt.
GATEWAY_KINDS: Final = {"payment_succeeded": SUCCEEDED, "payment_failed": DECLINED}
FAILURE_REASONS: Final = frozenset({DECLINED, INSUFFICIENT_FUNDS})
# A subscription missed by the jobs for a long time catches up at most this many moves per call.
MAX_MOVES_PER_ADVANCE: Final = 24
_FREE_NAMESPACE: Final = UUID("6f0b8f3e-5d1c-4f4e-9a57-2f0f2d6a4c11")
# A policy command that loses a race decides again on the winner's state, this many times at most.
_POLICY_RETRIES: Final = 5


class GatewayFailure(Exception):
    """The gateway answered something that is not a charge status: nothing is written, the job retries."""


@dataclass(frozen=True)
class FreePlanConfig:
    """The free plan as the first start creates it (later changes are the admins')."""

    name: str = "Free"
    currency: str = "USD"
    limits: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AdvanceOutcome:
    """What ``advance`` did: the moves made, in order (none: nothing was due, nothing written)."""

    subscription_id: UUID
    actions: tuple[str, ...]
    result: CommandResult | None

    @property
    def written(self) -> bool:
        return self.result is not None


@dataclass(frozen=True)
class GatewayEventOutcome:
    """A webhook's effect: applied (the subscription changed), or a replay / an attempt already settled."""

    subscription_id: UUID
    duplicate: bool
    changed: bool
    result: CommandResult | None


def free_subscription_id(account_id: UUID) -> UUID:
    """The id of the subscription the free-plan policy starts for a new account (the same on every replay)."""
    return uuid5(_FREE_NAMESPACE, str(account_id))


class SubscriptionsApplication(ChronicleApplication):
    """Commands of the Subscriptions context: load, decide, save."""

    snapshotting_intervals: ClassVar = {Subscription: 50, Plan: 50, SubscriptionSlot: 50}

    def __init__(
        self,
        gateway: PaymentGateway,
        ladder: DunningLadder | None = None,
        free_plan: FreePlanConfig | None = None,
        env: EnvType | None = None,
        *,
        shares_log_with: ChronicleApplication | None = None,
        locks: KeyedLocks | None = None,
    ) -> None:
        super().__init__(env, shares_log_with=shares_log_with)
        self.gateway = gateway
        # Held by every command that charges, from its load to its save (application/shared/locks.py): of two
        # that race on one subscription the second decides on what the first wrote, and is charged for that.
        self.locks: KeyedLocks = locks or LocalLocks()
        self.ladder = ladder or DunningLadder()
        self.free_plan = free_plan or FreePlanConfig()

    # --- plans ----------------------------------------------------------------------------

    def create_plan(
        self,
        ctx: CommandContext,
        *,
        code: str,
        name: str,
        price: Decimal,
        currency: str,
        interval: str,
        trial_days: int = 0,
        features: list[str] | None = None,
        limits: dict[str, int] | None = None,
    ) -> CommandResult:
        if self.existing([Plan.id_for(code)]):
            raise PlanCodeTaken(f"A plan {code.strip()} already exists")
        plan = Plan.create(
            code=code,
            name=name,
            price=price,
            currency=currency,
            interval=interval,
            trial_days=trial_days,
            features=features,
            limits=limits,
            now=ctx.now,
        )
        try:
            return self.record(ctx, plan)
        except ConcurrencyConflict:
            raise PlanCodeTaken(f"A plan {code.strip()} already exists") from None

    def ensure_free_plan(self, ctx: CommandContext | None = None) -> CommandResult | None:
        """Create the free plan unless it exists (every start calls it; a plan admins changed is kept)."""
        if self.existing([Plan.id_for(FREE_PLAN_CODE)]):
            return None
        ctx = ctx or CommandContext.system("bootstrap", datetime.now(UTC))
        config = self.free_plan
        try:
            return self.create_plan(
                ctx,
                code=FREE_PLAN_CODE,
                name=config.name,
                price=Decimal(0),
                currency=config.currency,
                interval="month",
                limits=check_limits(dict(config.limits)),
            )
        except PlanCodeTaken:  # another process created it meanwhile
            return None

    def plan(self, code: str) -> Plan:
        try:
            return self.load(Plan.id_for(code), Plan)
        except NotFound:
            raise PlanNotFound(f"No plan {code.strip()}") from None

    def change_plan_price(
        self, ctx: CommandContext, code: str, price: Decimal, expected_version: int | None = None
    ) -> CommandResult:
        plan = self._plan(code, expected_version)
        plan.change_price(price=price, now=ctx.now)
        return self.record(ctx, plan)

    def change_plan_limits(
        self,
        ctx: CommandContext,
        code: str,
        *,
        limits: dict[str, int],
        features: list[str],
        expected_version: int | None = None,
    ) -> CommandResult:
        plan = self._plan(code, expected_version)
        plan.change_limits(limits=check_limits(limits), features=check_features(features), now=ctx.now)
        return self.record(ctx, plan)

    def retire_plan(self, ctx: CommandContext, code: str, expected_version: int | None = None) -> CommandResult:
        plan = self._plan(code, expected_version)
        plan.retire(now=ctx.now)
        return self.record(ctx, plan)

    def _plan(self, code: str, expected_version: int | None) -> Plan:
        try:
            return self.load(Plan.id_for(code), Plan, expected_version)
        except NotFound:
            raise PlanNotFound(f"No plan {code.strip()}") from None

    def _plan_by_id(self, plan_id: UUID) -> Plan:
        try:
            return self.load(plan_id, Plan)
        except NotFound:
            raise PlanNotFound(f"No plan with id {plan_id}") from None

    # --- reading subscriptions ---------------------------------------------------------------

    def subscription_id_of(self, account_id: UUID) -> UUID | None:
        """The account's live subscription, else its latest one; None if it never had one."""
        slot = self._slot(account_id)
        if slot is None:
            return None
        return slot.subscription_id or slot.latest_id

    def subscription(self, subscription_id: UUID) -> Subscription:
        try:
            return self.load(subscription_id, Subscription)
        except NotFound:
            raise SubscriptionNotFound(f"No subscription with id {subscription_id}") from None

    def subscription_of(self, account_id: UUID) -> Subscription:
        """The account's live (else latest) subscription; ``SubscriptionNotFound`` if it never had one."""
        return self.subscription(self._subscription_id_of(account_id))

    @contextmanager
    def _holding(self, account_id: UUID) -> Iterator[Subscription]:
        """The account's subscription, loaded under its lock, held until the block ends (the owner's commands)."""
        subscription_id = self._subscription_id_of(account_id)
        with self.locks.hold(subscription_id):
            yield self.subscription(subscription_id)

    def _subscription_id_of(self, account_id: UUID) -> UUID:
        subscription_id = self.subscription_id_of(account_id)
        if subscription_id is None:
            raise SubscriptionNotFound("The account has no subscription")
        return subscription_id

    def _slot(self, account_id: UUID) -> SubscriptionSlot | None:
        try:
            return self.load(slot_id_for(account_id), SubscriptionSlot)
        except NotFound:
            return None

    # --- starting a subscription -----------------------------------------------------------------

    def subscribe(
        self,
        ctx: CommandContext,
        account_id: UUID,
        plan_code: str,
        payment_method: str | None = None,
        *,
        subscription_id: UUID | None = None,
    ) -> CommandResult:
        """Start a subscription; the account's slot is taken in the same save, so only one can be live."""
        if plan_code.strip().casefold() == FREE_PLAN_CODE:
            self.ensure_free_plan(ctx)
        plan = self.plan(plan_code)
        slot = self._slot(account_id) or SubscriptionSlot.open(account_id=account_id, now=ctx.now)
        sub_id = subscription_id or uuid4()
        # Held from before the start to the first payment's save: a write of the new subscription (its id is
        # in the slot once the start is stored) waits for the payment, never makes its save lose.
        with self.locks.hold(sub_id):
            slot.take(sub_id, now=ctx.now)
            sub = Subscription.start(
                subscription_id=sub_id, account_id=account_id, plan=plan, payment_method=payment_method, now=ctx.now
            )
            try:
                result = self.record(ctx, sub, slot)
            except ConcurrencyConflict:
                current = self._slot(account_id)
                if current is not None and current.subscription_id is not None:
                    raise AlreadySubscribed(f"Subscription {current.subscription_id} is live") from None
                raise
            if sub.open_invoice_id is None:
                return result
            # The first payment, once the subscription is stored: a lost race above charged nothing.
            extra = self._collect(sub, sub.next_attempt(), at=ctx.now, now=ctx.now)
            return self._save(ctx, sub, *extra)

    # --- the owner's commands ----------------------------------------------------------------------

    def preview_plan_change(self, account_id: UUID, plan_code: str, at: datetime) -> list[Line]:
        """The lines an immediate change would invoice now (none for a change at the period end)."""
        sub = self.subscription_of(account_id)
        return sub.plan_change(self.plan(plan_code), at).lines

    def change_subscription_plan(self, ctx: CommandContext, account_id: UUID, plan_code: str) -> CommandResult:
        """Upgrade now (prorated, charged before it applies), or downgrade at the period end."""
        plan = self.plan(plan_code)
        with self._holding(account_id) as sub:
            return self._change_plan(ctx, sub, plan)

    def _change_plan(self, ctx: CommandContext, sub: Subscription, plan: Plan) -> CommandResult:
        change = sub.plan_change(plan, ctx.now)
        if not (change.immediate and change.total > 0):
            sub.change_plan(plan, change, now=ctx.now)
            return self._save(ctx, sub)
        if sub.payment_method is not None:
            # Asked before anything is written: a declined card changes nothing. The id is the
            # subscription's version and the plan, so a retry of this request is not charged again;
            # the subscription's lock, held since the load, keeps that version current until the save.
            first = PaymentAttempt(
                invoice_id=uuid4(),  # not used by the gateway
                attempt_id=attempt_id_for(sub.id, change.invoice_key, 1),
                attempt=1,
                amount=change.total,
                currency=sub.currency,
            )
            status = self._charge(sub, first)
            if status not in (SUCCEEDED, PENDING):
                raise PaymentDeclined(status)
        else:
            status = NO_PAYMENT_METHOD
        sub.change_plan(plan, change, now=ctx.now)  # refuses without a payment method
        attempt = sub.next_attempt()
        sub.record_attempt(attempt, status, at=ctx.now, ladder=self.ladder, now=ctx.now)
        return self._save(ctx, sub, *self._attempt_claims(sub, attempt, status, ctx.now))

    def cancel_subscription(self, ctx: CommandContext, account_id: UUID, at_period_end: bool) -> CommandResult:
        with self._holding(account_id) as sub:
            sub.cancel(at_period_end=at_period_end, now=ctx.now)
            return self._save(ctx, sub)

    def revoke_cancellation(self, ctx: CommandContext, account_id: UUID) -> CommandResult:
        with self._holding(account_id) as sub:
            sub.revoke_cancellation(now=ctx.now)
            return self._save(ctx, sub)

    def pause_subscription(self, ctx: CommandContext, account_id: UUID) -> CommandResult:
        with self._holding(account_id) as sub:
            sub.pause(now=ctx.now)
            return self._save(ctx, sub)

    def resume_subscription(self, ctx: CommandContext, account_id: UUID) -> CommandResult:
        with self._holding(account_id) as sub:
            sub.resume(now=ctx.now)
            return self._save(ctx, sub)

    def update_payment_method(self, ctx: CommandContext, account_id: UUID, payment_method: str) -> CommandResult:
        """A new payment method; an invoice waiting for payment (incomplete, past due, unpaid) is charged at once."""
        with self._holding(account_id) as sub:
            sub.update_payment_method(payment_method=payment_method, now=ctx.now)
            extra: list[Aggregate] = []
            if sub.collectable:
                extra = self._collect(sub, sub.next_attempt(), at=ctx.now, now=ctx.now)
            return self._save(ctx, sub, *extra)

    # --- the jobs ---------------------------------------------------------------------------------

    def advance(self, ctx: CommandContext, subscription_id: UUID, as_of: datetime) -> AdvanceOutcome:
        """Do what is due at ``as_of``: renew and charge, end a trial, retry a payment, cancel or expire.

        Idempotent by construction: with nothing due nothing is written; the charges' ids follow
        from the subscription and its invoice, so a rerun (or a racing run) is charged once, and
        of two racing runs one saves while the other finds nothing left to do.
        """
        with self.locks.hold(subscription_id):
            return self._advance(ctx, self.subscription(subscription_id), as_of)

    def _advance(self, ctx: CommandContext, sub: Subscription, as_of: datetime) -> AdvanceOutcome:
        subscription_id = sub.id
        actions: list[str] = []
        extra: list[Aggregate] = []
        for _ in range(MAX_MOVES_PER_ADVANCE):
            action = sub.due_action(as_of)
            if action is None:
                break
            actions.append(action)
            extra += self._move(sub, action, ctx.now, as_of)
        if not actions:
            return AdvanceOutcome(subscription_id, (), None)
        try:
            result = self._save(ctx, sub, *extra)
        except ConcurrencyConflict:
            if self.subscription(subscription_id).due_action(as_of) is None:
                return AdvanceOutcome(subscription_id, (), None)  # another run did it
            raise
        return AdvanceOutcome(subscription_id, tuple(actions), result)

    def _move(self, sub: Subscription, action: str, now: datetime, as_of: datetime) -> list[Aggregate]:
        if action == EXPIRE:
            sub.expire(now=now)
            return []
        if action == CANCEL_AT_PERIOD_END:
            sub.cancel_at_end(now=now)
            return []
        if action == FIRST_CHARGE:
            return self._collect(sub, sub.next_attempt(), at=sub.started_at, now=now)
        if action == RENEW:
            due = sub.period_end
            if sub.renew(plan=self._plan_by_id(sub.renewal_plan_id), now=now, through=as_of):
                return self._collect(sub, sub.next_attempt(), at=due, now=now)
            return []
        assert action == RETRY and sub.next_retry_at is not None
        return self._collect(sub, sub.next_attempt(), at=sub.next_retry_at, now=now)

    def _collect(self, sub: Subscription, attempt: PaymentAttempt, *, at: datetime, now: datetime) -> list[Aggregate]:
        """Charge ``attempt`` and record the answer; the aggregates to save with it (a pending attempt's key)."""
        status = self._charge(sub, attempt)
        sub.record_attempt(attempt, status, at=at, ladder=self.ladder, now=now)
        return self._attempt_claims(sub, attempt, status, now)

    def _charge(self, sub: Subscription, attempt: PaymentAttempt) -> str:
        if sub.payment_method is None:
            return NO_PAYMENT_METHOD
        charge = self.gateway.charge(
            attempt.attempt_id, sub.account_id, attempt.amount, attempt.currency, sub.payment_method
        )
        if charge.status not in CHARGE_STATUSES:
            raise GatewayFailure(f"The gateway answered {charge.status!r} for attempt {attempt.attempt_id}")
        return charge.status

    def _attempt_claims(
        self, sub: Subscription, attempt: PaymentAttempt, status: str, now: datetime
    ) -> list[Aggregate]:
        if status != PENDING:
            return []
        key = str(attempt.attempt_id)
        return [UniqueKey.claim(scope=ATTEMPT_SCOPE, key=key, owner_id=sub.id, now=now)]

    # --- webhooks ------------------------------------------------------------------------------------

    def apply_gateway_event(
        self,
        ctx: CommandContext,
        provider: str,
        event_id: str,
        kind: str,
        attempt_id: UUID,
        reason: str | None = None,
    ) -> GatewayEventOutcome:
        """A provider's word on a pending charge; the provider's ``event_id`` is applied at most once."""
        outcome = GATEWAY_KINDS.get(kind)
        if outcome is None or not provider or len(provider) > 40 or not event_id or len(event_id) > 200:
            raise InvalidGatewayEvent(f"Events are one of {sorted(GATEWAY_KINDS)}, from a named provider, with an id")
        if outcome == DECLINED and reason in FAILURE_REASONS:
            outcome = str(reason)
        scope = f"{GATEWAY_EVENT_SCOPE}:{provider}"
        owner = self._attempt_owner(attempt_id)
        if self.existing([unique_id(scope, event_id)]):
            return GatewayEventOutcome(owner, duplicate=True, changed=False, result=None)
        with self.locks.hold(owner):  # a charging command on the subscription saves before this, or after
            sub = self.subscription(owner)
            changed = sub.settle_pending(attempt_id, outcome, ladder=self.ladder, now=ctx.now)
            claim = UniqueKey.claim(scope=scope, key=event_id, owner_id=owner, now=ctx.now)
            try:
                result = self._save(ctx, sub, claim) if changed else self.record(ctx, claim)
            except ConcurrencyConflict:
                if self.existing([claim.id]):
                    return GatewayEventOutcome(owner, duplicate=True, changed=False, result=None)
                raise
        return GatewayEventOutcome(owner, duplicate=False, changed=changed, result=result)

    def _attempt_owner(self, attempt_id: UUID) -> UUID:
        try:
            owner = self.load(unique_id(ATTEMPT_SCOPE, str(attempt_id)), UniqueKey).owner_id
        except NotFound:
            owner = None
        if owner is None:  # never claimed (or, were claims ever released, no longer held)
            raise UnknownPaymentAttempt(f"No pending payment attempt {attempt_id}")
        return owner

    # --- the free-plan policy's command ------------------------------------------------------------------

    def grant_free_plan(
        self, account_id: UUID, at: datetime, *, correlation_id: str | None = None, causation_id: str | None = None
    ) -> CommandResult | None:
        """Subscribe a new account to the free plan, once: an account that ever had a subscription is left
        as it is, and the subscription's id follows from the account (a second run cannot start another).
        The policy passes the registration's correlation id and the registering event as the cause."""
        if self._slot(account_id) is not None:
            return None
        reason = f"free-plan:{account_id}"
        ctx = CommandContext(SYSTEM_ACTOR, correlation_id or reason, causation_id or reason, at)
        try:
            return self.subscribe(ctx, account_id, FREE_PLAN_CODE, subscription_id=free_subscription_id(account_id))
        except (AlreadySubscribed, ConcurrencyConflict):
            return None  # another run (or the owner) was first

    # --- the closed-accounts policy's command ------------------------------------------------------------

    def end_for_closed_account(self, ctx: CommandContext, account_id: UUID) -> CommandResult | None:
        """The account was closed: its live subscription ends now and gives its slot back. Once: a subscription
        already ended is left as it is, and a lost race is decided again on the winner's state.

        An account that never had a subscription gets its slot opened, empty: the free-plan policy, which
        follows the log on its own and may come to the registration later, then finds the slot and starts
        nothing for the closed account."""
        for _ in range(_POLICY_RETRIES):
            slot = self._slot(account_id)
            try:
                if slot is None:
                    return self.record(ctx, SubscriptionSlot.open(account_id=account_id, now=ctx.now))
                if slot.subscription_id is None:
                    return None
                with self.locks.hold(slot.subscription_id):
                    sub = self.subscription(slot.subscription_id)
                    if sub.status in ENDED:
                        return None
                    sub.end_with_account(now=ctx.now)
                    return self._save(ctx, sub)
            except ConcurrencyConflict:
                continue
        raise ConcurrencyConflict(f"The subscription of account {account_id} kept changing")

    # --- saving ----------------------------------------------------------------------------------------

    def _save(self, ctx: CommandContext, sub: Subscription, *others: Aggregate) -> CommandResult:
        """Save the subscription with ``others``; one that ends here gives its account's slot back in the same save."""
        ended = any(isinstance(e, (Subscription.Canceled, Subscription.Expired)) for e in sub.pending_events)
        extra: list[Aggregate] = []
        if ended and sub.status in ENDED:
            slot = self._slot(sub.account_id)
            if slot is not None:
                slot.release(sub.id, now=ctx.now)
                extra.append(slot)
        return self.record(ctx, sub, *others, *extra)
