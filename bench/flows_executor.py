"""An ad-hoc measure of the durable step executor on PostgreSQL, in one process (not yet a ``make bench``
scenario; issue 11's through-the-worker figure is still to be measured):

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<scratch db> PII_MASTER_KEY=... JWT_SECRET=... \\
        python -m bench.flows_executor --runs 300

``--runs`` runs of a three-step flow (echo → signal → echo, the signal opening a trade on a desk that only
counts) are started, then every ``advance`` is run from the in-process queue, each timed: runs per second
and the latency of one step (load, record its start, call the agent, record its result, enqueue the next),
beside the same three agent calls made directly, with no log. The database is emptied first.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg

from application.flows.agents import AgentRegistry, Json, StepCall, StepResult, TradeSignal
from application.shared.commands import CommandContext
from infrastructure.root import Adapters, Chronicle
from infrastructure.shared.settings import Settings


class Echo:
    name = "echo"

    def validate_config(self, config: Mapping[str, Json]) -> dict[str, Json]:
        return dict(config)

    def run(self, call: StepCall) -> StepResult:
        signal = TradeSignal("buy", "BTC/USDT", Decimal("0.1"), Decimal("64000")) if call.config.get("signal") else None
        return StepResult({"seen": len(call.outputs), "prompt": call.prompt}, signal)


class CountingDesk:
    def __init__(self) -> None:
        self.opened: set[UUID] = set()

    def open_signal_trade(self, ctx: CommandContext, *, trade_id: UUID, **fields: Any) -> UUID:
        self.opened.add(trade_id)
        return trade_id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    settings = Settings(  # type: ignore[call-arg]
        data_dir=Path(tempfile.mkdtemp(prefix="flows-bench-")),
        jobs_in_process=True,
        run_projections_in_process=False,
        superadmin_email=None,
    )
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        if tables:
            conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
    desk, agent = CountingDesk(), Echo()
    chronicle = Chronicle(settings, adapters=Adapters(trade_desk=desk, agents=AgentRegistry.of([agent])))
    chronicle.open()
    try:
        app, account = chronicle.flows, uuid4()
        ctx = CommandContext.system("bench", chronicle.clock())
        steps = [
            {"prompt": "look", "agent": "echo", "config": {}},
            {"prompt": "trade", "agent": "echo", "config": {"signal": True}},
            {"prompt": "report", "agent": "echo", "config": {}},
        ]
        flow = app.define_flow(ctx, account_id=account, title="bench", description="", steps=steps).id
        app.activate_flow(ctx, flow, account_id=account)
        runs = [app.start_run(ctx, flow, account_id=account, inputs={"i": i}).id for i in range(args.runs)]
        latencies: list[float] = []
        began = time.perf_counter()
        while chronicle.jobs.pending:
            step_began = time.perf_counter()
            chronicle.jobs.run_pending(ignore_countdown=True, limit=1)
            latencies.append(time.perf_counter() - step_began)
        elapsed = time.perf_counter() - began
        assert all(app.run(run).status == "completed" for run in runs) and len(desk.opened) == args.runs
        direct_began = time.perf_counter()
        for run in runs:
            outputs: list[Mapping[str, Json]] = []
            for index, step in enumerate(steps):
                call = StepCall(flow, run, account, index, 1, step["prompt"], step["config"], {}, outputs)  # type: ignore[arg-type]
                outputs.append(agent.run(call).output)
        direct = time.perf_counter() - direct_began
        quantiles = statistics.quantiles(latencies, n=100)
        print(f"{args.runs} runs x 3 steps through the executor: {elapsed:.2f} s, {args.runs / elapsed:.1f} runs/s")
        print(f"step latency p50 {quantiles[49] * 1000:.2f} ms, p99 {quantiles[98] * 1000:.2f} ms")
        print(f"the same agent calls directly: {direct * 1000:.2f} ms in all")
    finally:
        chronicle.close()


if __name__ == "__main__":
    main()
