"""A flow of the built-in agents trades through the trades context, over HTTP, on PostgreSQL and SQLite.

No fake here: the registry is the built-ins' (``builtin_registry``), the trade desk is the trades
application, and runs execute in the API process (the jobs' in-process queue). define → activate →
run → the rule agent signals a buy → the trade is opened, tagged with the flow, the run and the agent
→ closed → realized P&L by day.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from application.shared.commands import Clock
from domain.flows.run import signal_trade_id
from infrastructure.root import Chronicle
from infrastructure.shared.platform import utc_now
from tests.conftest import eventually
from tests.e2e.workshop import Member, staff

pytestmark = pytest.mark.parametrize("settings", [{"jobs_in_process": True}], indirect=True)

FLOWS = "/api/v1/flows"
RULE = {
    "symbol": "BTC/USDT",
    "quantity": "0.5",
    "buy_below": "30000",
    "sell_above": "40000",
    "price_input": "price",
    "leverage": 2,
}


@pytest.fixture
def clock() -> Clock:
    return utc_now


def finished_run(client: TestClient, who: Member, run_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        answer = client.get(f"/api/v1/flow-runs/{run_id}", headers=who.headers)
        body: dict[str, Any] = answer.json()
        return body if answer.status_code == 200 and body["status"] != "running" else None

    found: dict[str, Any] = eventually(done, timeout=30)
    return found


def flow_trades(client: TestClient, who: Member, flow_id: str) -> dict[str, Any]:
    answer = client.get("/api/v1/trades", params={"flow_id": flow_id}, headers=who.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_rule_signal_opens_a_tagged_trade_whose_close_shows_in_the_pnl_by_day(
    client: TestClient, container: Chronicle
) -> None:
    owner = staff(client, container, "user")
    steps = [
        {"prompt": "BTC/USDT is at {{ inputs.price }}: {{ inputs.note|upper }}", "agent": "template", "config": {}},
        {"prompt": "", "agent": "rule", "config": RULE},
    ]
    defined = client.post(FLOWS, json={"title": "Dip buyer", "steps": steps}, headers=owner.headers)
    assert defined.status_code == 201, defined.text
    flow_id = defined.json()["id"]
    assert client.post(f"{FLOWS}/{flow_id}/activate", headers=owner.headers).status_code == 200

    inputs = {"price": "25000.50", "note": "dip"}
    started = client.post(f"{FLOWS}/{flow_id}/runs", json={"inputs": inputs}, headers=owner.headers)
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]
    run = finished_run(client, owner, run_id)

    assert run["status"] == "completed", run
    assert run["steps"][0]["output"] == {"text": "BTC/USDT is at 25000.50: DIP"}
    trade_id = str(signal_trade_id(UUID(run_id), 1))
    rule_output = run["steps"][1]["output"]
    assert (rule_output["action"], rule_output["price"], rule_output["trade_id"]) == ("buy", "25000.50", trade_id)

    # The executor opened it (no position reached the client): wait for the trades read model.
    trades = eventually(lambda: (t := flow_trades(client, owner, flow_id))["total"] and t)
    assert trades["total"] == 1
    (trade,) = trades["items"]
    assert (trade["id"], trade["flow_id"], trade["run_id"], trade["agent"]) == (trade_id, flow_id, run_id, "rule")
    assert (trade["symbol"], trade["side"], trade["status"], trade["leverage"]) == ("BTC/USDT", "buy", "open", 2)
    assert Decimal(trade["quantity"]) == Decimal("0.5")
    assert Decimal(trade["entry_price"]) == Decimal("25000.50")
    assert Decimal(trade["margin"]) == Decimal("6250.125")  # 0.5 * 25000.50 / 2

    closed = client.post(
        f"/api/v1/trades/{trade_id}/close", json={"price": "26000.50", "fee": "1.25"}, headers=owner.headers
    )
    assert closed.status_code == 200, closed.text
    position = closed.json()["position"]

    pnl = client.get("/api/v1/trades/pnl/daily", params={"min_position": position}, headers=owner.headers).json()
    today = datetime.now(UTC).date().isoformat()
    assert [(row["day"], Decimal(row["realized_pnl"]), Decimal(row["fees"]), row["closes"]) for row in pnl] == [
        (today, Decimal("498.75"), Decimal("1.25"), 1)  # (26000.50 - 25000.50) * 0.5 - 1.25
    ]


def test_a_hold_opens_no_trade(client: TestClient, container: Chronicle) -> None:
    owner = staff(client, container, "user")
    steps = [{"prompt": "", "agent": "rule", "config": RULE}]
    flow_id = client.post(FLOWS, json={"title": "Hold", "steps": steps}, headers=owner.headers).json()["id"]
    client.post(f"{FLOWS}/{flow_id}/activate", headers=owner.headers)

    run_id = client.post(f"{FLOWS}/{flow_id}/runs", json={"inputs": {"price": "35000"}}, headers=owner.headers).json()
    run = finished_run(client, owner, run_id["id"])

    assert run["status"] == "completed"
    assert run["steps"][0]["output"] == {"action": "hold", "price": "35000"}
    # The run's events are in the log: once the trades read model has passed them, still no trade.
    head = container.head_position()
    eventually(lambda: (container.stored_position("trades") or 0) >= head)
    assert flow_trades(client, owner, flow_id)["total"] == 0


def test_a_run_whose_price_is_missing_fails_at_once_with_the_agents_reason(
    client: TestClient, container: Chronicle
) -> None:
    owner = staff(client, container, "user")
    steps = [{"prompt": "", "agent": "rule", "config": RULE}]
    flow_id = client.post(FLOWS, json={"title": "No price", "steps": steps}, headers=owner.headers).json()["id"]
    client.post(f"{FLOWS}/{flow_id}/activate", headers=owner.headers)

    run_id = client.post(f"{FLOWS}/{flow_id}/runs", json={"inputs": {}}, headers=owner.headers).json()["id"]
    run = finished_run(client, owner, run_id)

    assert run["status"] == "failed"
    assert "no price" in run["error"]
    assert [s["attempts"] for s in run["steps"]] == [1]  # not retryable: one attempt


def test_every_problem_of_every_built_in_step_is_a_422_field(client: TestClient, container: Chronicle) -> None:
    owner = staff(client, container, "user")
    steps = [
        {"prompt": "{{ inputs.price ", "agent": "template", "config": {}},
        {"prompt": "", "agent": "rule", "config": {**RULE, "sell_above": "100", "quantity": 0.5}},
        {"prompt": "{{ ''.__class__ }}", "agent": "http", "config": {"url": "https://api.example.com/x"}},
    ]

    answer = client.post(FLOWS, json={"title": "Bad", "steps": steps}, headers=owner.headers)

    assert answer.status_code == 422, answer.text
    errors = {e["field"]: e["message"] for e in answer.json()["errors"]}
    assert sorted(errors) == [
        "steps.0.prompt",
        "steps.1.config.quantity",
        "steps.1.config.sell_above",
        "steps.2.config.url",
    ]
    assert "FLOW_HTTP_AGENT_HOSTS" in errors["steps.2.config.url"]
