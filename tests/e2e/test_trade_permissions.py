"""Who may do what with trades, on both stores: owners act on their own trades only (another's is not found,
admins included), admin and auditor read all, the auditor writes nothing, only admin records marks."""

from __future__ import annotations

from uuid import uuid4

from fastapi.testclient import TestClient

from infrastructure.root import Chronicle
from tests.e2e.subscriptions_helpers import admin
from tests.e2e.trades_helpers import TRADES, open_trade, read, trade_body
from tests.e2e.workshop import Member, ok, staff


def code(response: object) -> tuple[int, str]:
    status: int = response.status_code  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    return status, str(body["code"])


def test_another_accounts_trade_is_not_found_for_reading_closing_or_canceling_even_by_an_admin(
    client: TestClient, container: Chronicle
) -> None:
    owner, stranger = staff(client, container, "user"), staff(client, container, "user")
    boss = Member("admin", admin(client))
    trade = open_trade(client, owner)
    at = {"min_position": trade["position"]}
    missing = f"{TRADES}/{uuid4()}"

    for who in (stranger,):
        assert code(client.get(f"{TRADES}/{trade['id']}", params=at, headers=who.headers)) == (404, "trade_not_found")
    assert code(client.get(missing, params=at, headers=stranger.headers)) == (404, "trade_not_found")
    for who in (stranger, boss):
        closing = client.post(f"{TRADES}/{trade['id']}/close", json={"price": "1"}, headers=who.headers)
        assert code(closing) == (404, "trade_not_found")
        assert code(client.post(f"{TRADES}/{trade['id']}/cancel", headers=who.headers)) == (404, "trade_not_found")
    assert code(client.post(f"{missing}/cancel", headers=stranger.headers)) == (404, "trade_not_found")
    # a stranger's own list holds nothing of it, and naming the owner's account is refused
    assert read(client, stranger, "", trade["position"])["total"] == 0
    named = client.get(TRADES, params={"account_id": owner.id}, headers=stranger.headers)
    assert code(named) == (403, "forbidden")
    everyone = client.get(TRADES, params={"everyone": "true"}, headers=stranger.headers)
    assert code(everyone) == (403, "forbidden")
    for path in ("/positions", "/pnl/daily", "/pnl/symbols"):
        refused = client.get(f"{TRADES}{path}", params={"account_id": owner.id}, headers=stranger.headers)
        assert code(refused) == (403, "forbidden")
    # the owner's trade is untouched
    assert read(client, owner, f"/{trade['id']}", trade["position"])["status"] == "open"


def test_admin_and_auditor_read_every_account_and_the_auditor_writes_nothing(
    client: TestClient, container: Chronicle
) -> None:
    owner, auditor = staff(client, container, "user"), staff(client, container, "auditor")
    boss = Member("admin", admin(client))
    trade = open_trade(client, owner)
    for reader in (auditor, boss):
        assert read(client, reader, f"/{trade['id']}", trade["position"])["account_id"] == owner.id
        assert [t["id"] for t in read(client, reader, "", trade["position"], account_id=owner.id)["items"]] == [
            trade["id"]
        ]
        assert trade["id"] in {t["id"] for t in read(client, reader, "", trade["position"], everyone="true")["items"]}
        assert [p["symbol"] for p in read(client, reader, "/positions", trade["position"], account_id=owner.id)] == [
            "BTC/USDT"
        ]
        assert read(client, reader, "/pnl/daily", trade["position"], account_id=owner.id) == []

    # The auditor writes nothing, not even on its own account (which, like every account, also holds ``user``).
    closing = client.post(f"{TRADES}/{trade['id']}/close", json={"price": "1"}, headers=auditor.headers)
    assert code(closing) == (403, "forbidden")
    assert code(client.post(f"{TRADES}/{trade['id']}/cancel", headers=auditor.headers)) == (403, "forbidden")
    assert code(client.post(TRADES, json=trade_body(), headers=auditor.headers)) == (403, "forbidden")
    mark = {"symbol": "BTC/USDT", "price": "100"}
    for who in (auditor, owner):
        assert code(client.post("/api/v1/marks", json=mark, headers=who.headers)) == (403, "forbidden")
    assert client.post("/api/v1/marks", json=mark, headers=boss.headers).status_code == 200


def test_anonymous_callers_are_refused(client: TestClient) -> None:
    assert client.get(TRADES).status_code == 401
    assert client.get(f"{TRADES}/{uuid4()}").status_code == 401
    assert client.post(TRADES, json=trade_body()).status_code == 401
    assert client.post("/api/v1/marks", json={"symbol": "BTC/USDT", "price": "1"}).status_code == 401


def test_illegal_moves_and_bad_terms_are_named_problems(client: TestClient, container: Chronicle) -> None:
    trader = staff(client, container, "user")
    trade = open_trade(client, trader)
    path = f"{TRADES}/{trade['id']}"
    assert code(client.post(f"{path}/close", json={"quantity": "4", "price": "1"}, headers=trader.headers)) == (
        409,
        "close_exceeds_position",
    )
    ok(client.post(f"{path}/close", json={"quantity": "1", "price": "101"}, headers=trader.headers))
    assert code(client.post(f"{path}/cancel", headers=trader.headers)) == (409, "trade_partly_closed")
    ok(client.post(f"{path}/close", json={"price": "101"}, headers=trader.headers))
    assert code(client.post(f"{path}/close", json={"price": "101"}, headers=trader.headers)) == (409, "trade_not_open")
    stale = client.post(f"{path}/cancel", headers={**trader.headers, "If-Match": '"1"'})
    assert code(stale) == (412, "version_mismatch")

    for bad in (
        {"symbol": "btc/usdt"},
        {"symbol": "BTCUSDT"},
        {"symbol": "B/USDT"},
        {"symbol": "BTC/USDT\u0000"},
        {"side": "long"},
        {"quantity": "0"},
        {"quantity": "-1"},
        {"quantity": "0.000000001"},
        {"price": "1e10"},
        {"leverage": 0},
        {"leverage": 126},
        {"leverage": "5"},
        {"market_type": "stocks"},
        {"fee": "-0.1"},
        {"flow_id": str(uuid4())},
    ):
        answer = client.post(TRADES, json=trade_body(**bad), headers=trader.headers)
        assert code(answer) == (422, "validation_failed"), bad
