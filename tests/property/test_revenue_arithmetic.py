"""MRR arithmetic: random changes of many subscriptions, folded into counters by their movements only,
always equal a recomputation from the subscriptions' current states."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.subscriptions.mrr import ARRIVALS, Contribution, Movement, contribution, movements

CENT = Decimal("0.01")
STATUSES = ["trialing", "incomplete", "active", "past_due", "unpaid", "canceled", "paused", "expired"]
PLANS = {"free": ("EUR", "0"), "pro": ("EUR", "29.99"), "team": ("EUR", "99.00"), "gold": ("USD", "1000.01")}

states = st.tuples(
    st.sampled_from(STATUSES),
    st.sampled_from(sorted(PLANS)),
    st.sampled_from(["month", "year"]),
    st.sampled_from(["0", "9.99", "29.99", "100", "1000.01", "0.05"]),
)
steps = st.lists(st.tuples(st.integers(0, 5), states), max_size=60)


def value(state: tuple[str, str, str, str]) -> Contribution | None:
    status, plan, interval, price = state
    return contribution(status, plan, Decimal(price), interval, PLANS[plan][0], CENT, "free")


@settings(max_examples=60, deadline=None)
@given(steps)
def test_counters_kept_by_movements_equal_a_recomputation_from_the_rows(changes: list[tuple[int, tuple]]) -> None:
    rows: dict[int, Contribution | None] = {}
    paid: set[int] = set()  # accounts (one per subscription here) that ever counted
    by_plan: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    subscribers: dict[tuple[str, str], int] = defaultdict(int)
    moved: dict[str, Decimal] = defaultdict(Decimal)
    arrivals = churned = 0
    for subscription, state in changes:
        old, new = rows.get(subscription), value(state)
        for m in movements(old, new, subscription in paid):
            moved[m.currency] += m.amount
            assert (m.amount < 0) == (m.kind in {Movement.CHURNED, Movement.CONTRACTION})
            arrivals += m.kind in ARRIVALS
            churned += m.kind is Movement.CHURNED
        if old is not None:
            by_plan[old.plan_code, old.currency] -= old.mrr
            subscribers[old.plan_code, old.currency] -= 1
        if new is not None:
            by_plan[new.plan_code, new.currency] += new.mrr
            subscribers[new.plan_code, new.currency] += 1
            paid.add(subscription)
        rows[subscription] = new

    live = [c for c in rows.values() if c is not None]
    recomputed: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for c in live:
        recomputed[c.plan_code, c.currency] += c.mrr
    assert {k: v for k, v in by_plan.items() if v} == {k: v for k, v in recomputed.items() if v}
    assert sum(subscribers.values()) == len(live) == arrivals - churned
    for currency in {"EUR", "USD"}:
        assert moved[currency] == sum((c.mrr for c in live if c.currency == currency), Decimal(0))
    assert ("free", "EUR") not in recomputed


def test_a_yearly_price_counts_a_twelfth_rounded_to_the_minor_unit() -> None:
    assert contribution("active", "pro", Decimal("100"), "year", "EUR", CENT, "free") == Contribution(
        "pro", "EUR", Decimal("8.33")
    )


def test_trials_free_plans_and_ended_subscriptions_add_nothing() -> None:
    for status in ["trialing", "incomplete", "unpaid", "canceled", "paused", "expired"]:
        assert contribution(status, "pro", Decimal("10"), "month", "EUR", CENT, "free") is None
    assert contribution("active", "free", Decimal("0"), "month", "EUR", CENT, "free") is None
    assert contribution("past_due", "pro", Decimal("10"), "month", "EUR", CENT, "free") is not None


def test_a_comeback_is_a_reactivation_and_a_first_payment_is_new() -> None:
    pro = Contribution("pro", "EUR", Decimal("10"))
    assert [m.kind for m in movements(None, pro, paid_before=False)] == [Movement.NEW]
    assert [m.kind for m in movements(None, pro, paid_before=True)] == [Movement.REACTIVATION]
    assert [m.kind for m in movements(pro, None, paid_before=True)] == [Movement.CHURNED]
    team = Contribution("team", "EUR", Decimal("30"))
    assert movements(pro, team, True)[0].kind is Movement.EXPANSION
    assert movements(team, pro, True)[0].kind is Movement.CONTRACTION
