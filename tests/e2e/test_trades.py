"""Trades through HTTP, on PostgreSQL and the embedded store: open, partial close, close; realized P&L by day and
by symbol; open positions with their margin; a mark price and the unrealized P&L at it; filters and paging."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID, uuid4

from fastapi.testclient import TestClient

from application.shared.commands import CommandContext
from infrastructure.root import Chronicle
from tests.e2e.subscriptions_helpers import admin
from tests.e2e.trades_helpers import TRADES, open_trade, read
from tests.e2e.workshop import Member, ok, staff


def test_open_then_close_in_two_parts_realizes_pnl_net_of_fees_by_day_and_by_symbol(
    client: TestClient, container: Chronicle
) -> None:
    trader = staff(client, container, "user")
    opened = open_trade(client, trader)  # buy 3 BTC/USDT at 100, leverage 3, entry fee 1
    trade_id = opened["id"]

    part = {"quantity": "1", "price": "110", "fee": "0.5"}
    first = ok(client.post(f"{TRADES}/{trade_id}/close", json=part, headers=trader.headers))
    partial = read(client, trader, f"/{trade_id}", first["position"])
    # (110 - 100) * 1 - 1/3 of the entry fee (0.33333333) - the exit fee 0.5
    assert partial["realized_pnl"] == "9.16666667"
    assert (partial["status"], partial["remaining_quantity"], partial["margin"]) == (
        "open",
        "2.00000000",
        "66.66666667",
    )

    last = ok(client.post(f"{TRADES}/{trade_id}/close", json={"price": "90", "fee": "0.5"}, headers=trader.headers))
    closed = read(client, trader, f"/{trade_id}", last["position"])
    # the whole trade: (110-100)*1 + (90-100)*2 - entry fee 1 - exit fees 1 = -12, exactly
    assert (closed["status"], closed["realized_pnl"], closed["fees"]) == ("closed", "-12.00000000", "2.00000000")
    assert closed["remaining_quantity"] == "0.00000000"

    today = container.clock().date().isoformat()
    daily = read(client, trader, "/pnl/daily", last["position"])
    assert daily == [{"day": today, "realized_pnl": "-12.00000000", "fees": "2.00000000", "closes": 2}]
    by_symbol = read(client, trader, "/pnl/symbols", last["position"])
    assert by_symbol == [{"symbol": "BTC/USDT", "realized_pnl": "-12.00000000", "fees": "2.00000000", "closes": 2}]
    assert read(client, trader, "/positions", last["position"]) == []


def test_positions_net_the_open_trades_per_symbol_with_margin_and_unrealized_pnl_once_a_mark_exists(
    client: TestClient, container: Chronicle
) -> None:
    trader = staff(client, container, "user")
    open_trade(client, trader, quantity="2", price="100", leverage=2, fee="0")
    open_trade(client, trader, quantity="1", price="130", leverage=1, fee="0.9")
    euro = {"symbol": "EUR/USD", "side": "sell", "market_type": "forex", "fee": "0.5"}
    short = open_trade(client, trader, quantity="1000", price="1.1", leverage=50, **euro)

    held = {p["symbol"]: p for p in read(client, trader, "/positions", short["position"])}
    btc, eur = held["BTC/USDT"], held["EUR/USD"]
    assert btc["net_quantity"] == "3.00000000"
    assert btc["long"] == {"quantity": "3.00000000", "average_entry": "110.00000000", "open_trades": 2}
    assert btc["margin"] == "230.00000000"  # 2*100/2 + 1*130/1
    assert (btc["mark_price"], btc["unrealized_pnl"]) == (None, None)
    assert eur["net_quantity"] == "-1000.00000000"
    assert eur["short"]["average_entry"] == "1.10000000"
    assert eur["margin"] == "22.00000000"  # 1000 * 1.1 / 50

    boss = Member("admin", admin(client))
    marked = ok(client.post("/api/v1/marks", json={"symbol": "EUR/USD", "price": "1.05"}, headers=boss.headers))
    again = ok(client.post("/api/v1/marks", json={"symbol": "BTC/USDT", "price": "120"}, headers=boss.headers))
    assert again["position"] > marked["position"]

    held = {p["symbol"]: p for p in read(client, trader, "/positions", again["position"])}
    # short: 1000 * (1.1 - 1.05) - the unallocated entry fee 0.5
    assert (held["EUR/USD"]["mark_price"], held["EUR/USD"]["unrealized_pnl"]) == ("1.05000000", "49.50000000")
    # long: 3 * 120 - (200 + 130) - 0.9
    assert held["BTC/USDT"]["unrealized_pnl"] == "29.10000000"
    marks = ok(client.get("/api/v1/marks", headers=trader.headers))
    assert [(m["symbol"], m["price"]) for m in marks] == [("BTC/USDT", "120.00000000"), ("EUR/USD", "1.05000000")]


def test_my_trades_filter_sort_and_page(client: TestClient, container: Chronicle) -> None:
    trader = staff(client, container, "user")
    ids = [open_trade(client, trader, quantity=str(n))["id"] for n in (1, 2, 3)]
    euro = open_trade(client, trader, symbol="EUR/USD", market_type="forex", side="sell")
    canceled = ok(client.post(f"{TRADES}/{ids[0]}/cancel", headers=trader.headers))
    position = max(canceled["position"], euro["position"])

    everything = read(client, trader, "", position, sort="quantity", limit=2)
    assert (everything["total"], everything["has_more"], len(everything["items"])) == (4, True, 2)
    assert [t["quantity"] for t in everything["items"]] == ["1.00000000", "2.00000000"]
    rest = read(client, trader, "", position, sort="quantity", limit=2, offset=2)
    assert (rest["has_more"], [t["quantity"] for t in rest["items"]]) == (False, ["3.00000000", "3.00000000"])
    assert [t["id"] for t in read(client, trader, "", position, symbol="EUR/USD")["items"]] == [euro["id"]]
    assert [t["id"] for t in read(client, trader, "", position, status="canceled")["items"]] == [ids[0]]
    assert read(client, trader, "", position, side="sell")["total"] == 1
    today = container.clock().date()
    assert read(client, trader, "", position, opened_from=today.isoformat(), opened_to=today.isoformat())["total"] == 4
    assert read(client, trader, "", position, opened_to="2000-01-01")["total"] == 0
    flow_id, run_id = uuid4(), uuid4()
    signalled = container.trades.open_signal_trade(
        CommandContext.system("flow-run", container.clock()),
        trade_id=uuid4(),
        account_id=UUID(trader.id),
        symbol="ETH/USDT",
        side="buy",
        quantity=Decimal("0.5"),
        price=Decimal("3000"),
        leverage=2,
        market_type="crypto",
        flow_id=flow_id,
        run_id=run_id,
        agent="rule",
    )
    head = container.head_position()
    (tagged,) = read(client, trader, "", head, flow_id=str(flow_id))["items"]
    assert (tagged["id"], tagged["run_id"], tagged["agent"], tagged["fees"]) == (
        str(signalled),
        str(run_id),
        "rule",
        "0.00000000",
    )
    refused = client.get(TRADES, params={"sort": "account_id"}, headers=trader.headers)
    assert refused.status_code == 422
    canceled_row = read(client, trader, f"/{ids[0]}", position)
    assert (canceled_row["status"], canceled_row["fees"], canceled_row["margin"]) == (
        "canceled",
        "0.00000000",
        "0.00000000",
    )
