"""Helpers for the trades end-to-end tests: opening, closing and reading trades over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.e2e.workshop import Member, ok

TRADES = "/api/v1/trades"


def trade_body(**fields: Any) -> dict[str, Any]:
    return {
        "symbol": "BTC/USDT",
        "side": "buy",
        "quantity": "3",
        "price": "100",
        "leverage": 3,
        "market_type": "crypto",
        "fee": "1",
        **fields,
    }


def open_trade(client: TestClient, who: Member, **fields: Any) -> dict[str, Any]:
    return ok(client.post(TRADES, json=trade_body(**fields), headers=who.headers), 201)


def read(client: TestClient, who: Member, path: str, position: int | None = None, **params: Any) -> Any:
    if position:
        params["min_position"] = position
    answer = client.get(f"{TRADES}{path}", params=params, headers=who.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()
