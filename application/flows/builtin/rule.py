"""The rule agent: turns a price into a trade signal by two thresholds. Pure, Decimal throughout.

Config::

    {"symbol": "BTC/USDT", "quantity": "0.5", "buy_below": "30000", "sell_above": "40000",
     "price_input": "price", "leverage": 1, "market_type": "crypto"}

``price_input`` names the key that holds the price: the latest earlier step's output holding it, else
the run's inputs. A price below ``buy_below`` signals a buy, above ``sell_above`` a sell, anything
between holds (no signal). The output is ``{"action": "buy"|"sell"|"hold", "price": "<decimal>"}``.
A missing or invalid price fails the step for good (the same run would fail the same way).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

from application.flows.agents import Action, AgentFailed, Json, StepCall, StepResult, TradeSignal
from application.flows.builtin.configs import ConfigReader, parse_decimal

SYMBOL = re.compile(r"[A-Z0-9]{2,10}/[A-Z0-9]{2,10}")  # the trades context's symbols
KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
MARKET_TYPES = ("crypto", "forex")
MAX_LEVERAGE = 125
_FIELDS = {"symbol", "quantity", "buy_below", "sell_above", "price_input", "leverage", "market_type"}


class RuleAgent:
    """``rule``: buy below a price, sell above another, hold between."""

    name = "rule"

    def validate_config(self, config: Mapping[str, Json]) -> dict[str, Json]:
        reader = ConfigReader(self.name, config, _FIELDS)
        symbol = reader.text("symbol", max_length=21)
        if symbol is not None:
            symbol = symbol.upper()
            if not SYMBOL.fullmatch(symbol):
                reader.fail("symbol", "must be BASE/QUOTE, 2 to 10 letters or digits each (e.g. BTC/USDT)")
        quantity = reader.decimal("quantity")
        buy_below = reader.decimal("buy_below")
        sell_above = reader.decimal("sell_above")
        if buy_below is not None and sell_above is not None and not buy_below < sell_above:
            reader.fail("sell_above", "must be above buy_below")
        price_input = reader.text("price_input", max_length=64)
        if price_input is not None and not KEY.fullmatch(price_input):
            reader.fail("price_input", "must be a key: a letter or _, then letters, digits or _")
        leverage = reader.integer("leverage", low=1, high=MAX_LEVERAGE, default=1)
        market_type = reader.choice("market_type", MARKET_TYPES, default="crypto")
        reader.done()
        return {
            "symbol": symbol,
            "quantity": str(quantity),
            "buy_below": str(buy_below),
            "sell_above": str(sell_above),
            "price_input": price_input,
            "leverage": leverage,
            "market_type": market_type,
        }

    def run(self, call: StepCall) -> StepResult:
        key = str(call.config["price_input"])
        price = self._price(call, key)
        action: Action = "hold"
        if price < Decimal(str(call.config["buy_below"])):
            action = "buy"
        elif price > Decimal(str(call.config["sell_above"])):
            action = "sell"
        output: dict[str, Json] = {"action": action, "price": str(price)}
        if action == "hold":
            return StepResult(output=output)
        signal = TradeSignal(
            action=action,
            symbol=str(call.config["symbol"]),
            quantity=Decimal(str(call.config["quantity"])),
            price=price,
            leverage=int(call.config.get("leverage", 1)),
            market_type=str(call.config.get("market_type", "crypto")),
        )
        return StepResult(output=output, signal=signal)

    @staticmethod
    def _price(call: StepCall, key: str) -> Decimal:
        sources = [*reversed(call.outputs), call.inputs]
        found = next((source[key] for source in sources if isinstance(source, Mapping) and key in source), None)
        if found is None:
            raise AgentFailed(f"no price: neither the inputs nor an earlier step hold {key!r}", retryable=False)
        price = parse_decimal(found)
        if isinstance(price, str):
            raise AgentFailed(f"the price in {key!r} {price}", retryable=False)
        return price
