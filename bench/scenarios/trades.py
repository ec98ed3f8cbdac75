"""Trade opens per second with the plan's ``trades_per_day`` check, beside plain opens without it, same run.

Set-up (not timed): one container on the scratch database, its free plan limited to a billion trades a
day (so every open goes through the quota stream and none is refused); ``THREADS`` accounts. Timed, in
turn within each run:
- plain: ``THREADS`` threads, one account each, open trades through a ``TradesApplication`` on the same
  log, asking the same plans, that are answered without ``trades_per_day`` (the open path without the
  quota stream: one stream per save);
- quota: the same through the container's application (the trade and its account's day quota, loaded
  and saved together);
- quota, one account: the ``THREADS`` threads open for one account (in one process they take turns on
  its quota; a race with another process would reload it and decide again).
Then checked: the log holds every trade opened and each quota counts its account's quota opens exactly.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg

from application.shared.commands import CommandContext
from application.shared.ports import Entitlements, PlanEntitlements
from application.trades.application import TRADES_PER_DAY, TradesApplication
from bench.core import BenchConfig, Result, bench_settings, median, spread, wipe
from domain.trades.quota import TradeQuota, quota_day, quota_id_for
from infrastructure.root import Chronicle

THREADS = 8
OPENED_TOPIC = "domain.trades.trade:Trade.Opened"


class Unlimited:
    """The plans as the subscriptions read side answers them (the same query), with no ``trades_per_day``:
    the open path without the quota stream, and nothing else left out."""

    def __init__(self, plans: Entitlements) -> None:
        self.plans = plans

    def limits_for(self, account_id: uuid.UUID) -> PlanEntitlements:
        found = self.plans.limits_for(account_id)
        limits = {name: value for name, value in found.limits.items() if name != TRADES_PER_DAY}
        return PlanEntitlements(found.plan_code, limits, found.features)


def opens(app: TradesApplication, accounts: list[uuid.UUID], per_thread: int) -> float:
    """Opens per second: each of ``THREADS`` threads opens ``per_thread`` trades for its account."""
    now = datetime.now(UTC)

    def work(n: int) -> None:
        account = accounts[n % len(accounts)]
        for i in range(per_thread):
            ctx = CommandContext(actor=str(account), correlation_id=f"bench-{n}-{i}", causation_id="bench", now=now)
            app.open_trade(
                ctx,
                account_id=account,
                symbol="BTC/USDT",
                side="buy" if i % 2 else "sell",
                quantity=Decimal("0.01"),
                price=Decimal("60000.5"),
                leverage=10,
                market_type="crypto",
                fee=Decimal("0.06"),
            )

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(work, range(THREADS)))
    return THREADS * per_thread / (time.perf_counter() - began)


def trade_open(config: BenchConfig) -> list[Result]:
    per_thread = config.scale(250, 10)
    wipe(config.database_url)
    settings = bench_settings(
        config.database_url, free_plan_trades_per_day=10**9, postgres_pool_size=THREADS, postgres_max_overflow=0
    )
    container = Chronicle(settings)
    container.open()
    plain_app = TradesApplication(Unlimited(container.subscription_queries), shares_log_with=container.log)
    plain: list[float] = []
    quota: list[float] = []
    contended: list[float] = []
    expected: dict[uuid.UUID, int] = {}
    try:
        for run in range(config.runs):
            own = [uuid.uuid5(uuid.NAMESPACE_URL, f"bench-trader-{run}-{n}") for n in range(THREADS)]
            shared = [uuid.uuid5(uuid.NAMESPACE_URL, f"bench-trader-{run}-shared")]
            others = [uuid.uuid5(uuid.NAMESPACE_URL, f"plain-{run}-{n}") for n in range(THREADS)]
            plain.append(opens(plain_app, others, per_thread))
            quota.append(opens(container.trades, own, per_thread))
            contended.append(opens(container.trades, shared, per_thread))
            expected.update(dict.fromkeys(own, per_thread))
            expected[shared[0]] = THREADS * per_thread
        exact, checked = check(config.database_url, container, expected, 3 * config.runs * THREADS * per_thread)
        lost = container.trades.quota_races_lost
    finally:
        plain_app.close()
        container.close()
    base = median(plain)
    common: dict[str, Any] = {
        "scenario": "trade-open",
        "unit": "opens/s",
        "baseline": base,
        "baseline_label": f"plain opens, no trades_per_day ({THREADS} threads, one account each; opens/s)",
        "target": "beside plain opens; every quota exact",
        "met": exact,
    }
    return [
        Result(
            figure=f"trade opens with the quota check, {THREADS} threads, one account each (opens/s)",
            value=median(quota),
            notes=[spread(quota), "plain " + spread(plain), checked],
            **common,
        ),
        Result(
            figure=f"trade opens with the quota check, {THREADS} threads on one account (opens/s)",
            value=median(contended),
            notes=[
                spread(contended),
                "the threads of one process take turns on the account's quota (a lock), so none of them races;"
                f" quota races lost: {lost}",
            ],
            **common,
        ),
    ]


def check(database_url: str, container: Chronicle, expected: dict[uuid.UUID, int], total: int) -> tuple[bool, str]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM chronicle_events WHERE topic = %s", (OPENED_TOPIC,)).fetchone()
    opened = int(row[0]) if row else 0
    day = quota_day(datetime.now(UTC))
    wrong = sum(
        1
        for account, count in expected.items()
        if container.trades.load(quota_id_for(account, day), TradeQuota).used != count
    )
    return opened == total and wrong == 0, f"{opened:,} trades in the log of {total:,} opened; {wrong} quotas off"
