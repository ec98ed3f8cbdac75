"""The rule agent: a price in, buy/sell/hold out by two thresholds, Decimal throughout."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from application.flows.agents import AgentFailed, InvalidAgentConfig, StepCall, TradeSignal
from application.flows.builtin.rule import RuleAgent

CONFIG = {"symbol": "BTC/USDT", "quantity": "0.5", "buy_below": "30000", "sell_above": "40000", "price_input": "price"}


def step(inputs: dict[str, Any], outputs: list[dict[str, Any]] | None = None, **config: Any) -> StepCall:
    return StepCall(
        flow_id=uuid.uuid4(),
        run_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        step_index=1,
        attempt=1,
        prompt="",
        config=RuleAgent().validate_config({**CONFIG, **config}),
        inputs=inputs,
        outputs=outputs or [],
    )


def test_a_price_below_buy_below_signals_a_buy_of_the_configured_quantity() -> None:
    result = RuleAgent().run(step({"price": "29999.99"}, leverage=5, market_type="crypto"))

    assert result.output == {"action": "buy", "price": "29999.99"}
    assert result.signal == TradeSignal(
        action="buy",
        symbol="BTC/USDT",
        quantity=Decimal("0.5"),
        price=Decimal("29999.99"),
        leverage=5,
        market_type="crypto",
    )


def test_a_price_above_sell_above_signals_a_sell() -> None:
    result = RuleAgent().run(step({"price": 40001}))

    assert result.output == {"action": "sell", "price": "40001"}
    assert result.signal is not None and result.signal.action == "sell"


@pytest.mark.parametrize("price", ["30000", "35000", "40000"])
def test_a_price_between_the_thresholds_or_on_one_holds_without_a_signal(price: str) -> None:
    result = RuleAgent().run(step({"price": price}))

    assert result.output == {"action": "hold", "price": price}
    assert result.signal is None


def test_the_latest_earlier_output_holding_the_key_wins_over_older_ones_and_the_inputs() -> None:
    result = RuleAgent().run(step({"price": "50000"}, [{"price": "10"}, {"text": "x"}, {"price": "35000"}]))

    assert result.output["price"] == "35000"


def test_a_price_in_a_http_agents_recorded_body_is_not_looked_into_only_top_level_keys_count() -> None:
    with pytest.raises(AgentFailed, match="no price"):
        RuleAgent().run(step({}, [{"status": 200, "body": {"price": "1"}}]))


def test_decimal_comparison_is_exact_where_a_float_would_round() -> None:
    # As floats, 0.1 + 0.2 > 0.3 and 0.30000001 is barely distinguishable; as decimals the edges are exact.
    agent = RuleAgent()
    assert agent.run(step({"price": "0.30000001"}, buy_below="0.1", sell_above="0.3")).output["action"] == "sell"
    assert agent.run(step({"price": "0.30000000"}, buy_below="0.1", sell_above="0.3")).output["action"] == "hold"
    assert agent.run(step({"price": "0.09999999"}, buy_below="0.1", sell_above="0.3")).output["action"] == "buy"


def test_a_price_with_more_places_than_a_trade_holds_fails_the_step() -> None:
    with pytest.raises(AgentFailed, match="8 decimal places"):
        RuleAgent().run(step({"price": "0.300000001"}))


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({}, "no price"),
        ({"price": None}, "no price"),
        ({"price": "abc"}, "decimal string"),
        ({"price": 0.5}, "as a string"),
        ({"price": "-3"}, "positive"),
        ({"price": "0"}, "positive"),
        ({"price": "NaN"}, "finite"),
        ({"price": "Infinity"}, "finite"),
        ({"price": True}, "as a string"),
        ({"price": ["1"]}, "decimal string"),
    ],
)
def test_a_missing_or_invalid_price_fails_the_step_for_good(inputs: dict[str, Any], message: str) -> None:
    with pytest.raises(AgentFailed) as failed:
        RuleAgent().run(step(inputs))

    assert not failed.value.retryable
    assert message in failed.value.message


def test_a_valid_config_is_normalised_decimals_as_strings() -> None:
    config = RuleAgent().validate_config({**CONFIG, "symbol": "eth/usdt", "quantity": 2, "market_type": "crypto"})

    assert config == {
        "symbol": "ETH/USDT",
        "quantity": "2",
        "buy_below": "30000",
        "sell_above": "40000",
        "price_input": "price",
        "leverage": 1,
        "market_type": "crypto",
    }


@pytest.mark.parametrize(
    ("change", "loc", "message"),
    [
        ({"symbol": "BTCUSDT"}, "symbol", "BASE/QUOTE"),
        ({"symbol": "BTC/US-DT"}, "symbol", "BASE/QUOTE"),
        ({"symbol": ""}, "symbol", "non-empty"),
        ({"symbol": 7}, "symbol", "non-empty string"),
        ({"quantity": "0"}, "quantity", "positive"),
        ({"quantity": "-1"}, "quantity", "positive"),
        ({"quantity": 0.5}, "quantity", "as a string"),
        ({"quantity": "1000000000.1"}, "quantity", "at most 1000000000"),
        ({"quantity": "0.000000001"}, "quantity", "8 decimal places"),
        ({"symbol": "ABCDEFGHIJK/USDT"}, "symbol", "BASE/QUOTE"),
        ({"buy_below": "x"}, "buy_below", "decimal"),
        ({"sell_above": "30000"}, "sell_above", "above buy_below"),
        ({"sell_above": "100"}, "sell_above", "above buy_below"),
        ({"price_input": "1price"}, "price_input", "key"),
        ({"price_input": "a" * 65}, "price_input", "at most 64"),
        ({"leverage": 0}, "leverage", "from 1 to 125"),
        ({"leverage": 126}, "leverage", "from 1 to 125"),
        ({"leverage": "2"}, "leverage", "integer"),
        ({"market_type": "stocks"}, "market_type", "crypto, forex"),
        ({"colour": "red"}, "colour", "not a setting"),
    ],
)
def test_a_config_the_agent_cannot_use_is_refused_with_the_problem_at_its_loc(
    change: dict[str, Any], loc: str, message: str
) -> None:
    with pytest.raises(InvalidAgentConfig) as invalid:
        RuleAgent().validate_config({**CONFIG, **change})

    (problem,) = invalid.value.problems
    assert problem.loc == (loc,)
    assert message in problem.msg


def test_every_missing_field_is_listed() -> None:
    with pytest.raises(InvalidAgentConfig) as invalid:
        RuleAgent().validate_config({})

    assert sorted(p.loc for p in invalid.value.problems) == [
        ("buy_below",),
        ("price_input",),
        ("quantity",),
        ("sell_above",),
        ("symbol",),
    ]


def test_a_config_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidAgentConfig) as invalid:
        RuleAgent().validate_config(["x"])  # type: ignore[arg-type]

    assert invalid.value.problems[0].loc == ()
