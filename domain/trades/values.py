"""The values a trade is made of: symbols, sides, markets, and the bounded decimals of quantities and money.

Quantities, prices and fees are exact decimals with at most ``PLACES`` (8) decimal places and at most
``MAX_AMOUNT`` (a billion); products of two of them (a notional, a gross P&L) are computed in a decimal
context wide enough to be exact, then rounded once to 8 places, half to even (``round_amount``).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from enum import StrEnum
from typing import Final

from domain.trades.errors import InvalidTrade

PLACES: Final = 8
MAX_AMOUNT: Final = Decimal("1000000000")
QUANTUM: Final = Decimal(1).scaleb(-PLACES)
MIN_LEVERAGE: Final = 1
MAX_LEVERAGE: Final = 125
# BASE/QUOTE, each 2 to 10 upper-case letters or digits: BTC/USDT, EUR/USD, 1INCH/USDT.
SYMBOL_PATTERN: Final = r"^[A-Z0-9]{2,10}/[A-Z0-9]{2,10}$"
SYMBOL_MAX: Final = 21
AGENT_MAX: Final = 100
_SYMBOL = re.compile(SYMBOL_PATTERN)
_AGENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
# Wide enough that every product and sum of bounded amounts is exact before its one rounding.
_EXACT_DIGITS: Final = 60


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy (a long gains when the price rises), -1 for a sell (a short gains when it falls)."""
        return 1 if self is Side.BUY else -1


class MarketType(StrEnum):
    CRYPTO = "crypto"
    FOREX = "forex"


class TradeStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    CANCELED = "canceled"


def check_symbol(symbol: str) -> str:
    if not isinstance(symbol, str) or len(symbol) > SYMBOL_MAX or not _SYMBOL.match(symbol):
        raise InvalidTrade(f"A symbol is BASE/QUOTE in upper-case letters or digits, 2 to 10 each: {symbol!r:.40}")
    return symbol


def check_side(side: str) -> Side:
    try:
        return Side(side)
    except ValueError:
        raise InvalidTrade(f"The side is buy or sell, not {side!r:.20}") from None


def check_market_type(market_type: str) -> MarketType:
    try:
        return MarketType(market_type)
    except ValueError:
        raise InvalidTrade(f"The market type is crypto or forex, not {market_type!r:.20}") from None


def check_leverage(leverage: int) -> int:
    if isinstance(leverage, bool) or not isinstance(leverage, int) or not MIN_LEVERAGE <= leverage <= MAX_LEVERAGE:
        raise InvalidTrade(f"Leverage is a whole number from {MIN_LEVERAGE} to {MAX_LEVERAGE}")
    return leverage


def check_agent(agent: str | None) -> str | None:
    if agent is not None and (not isinstance(agent, str) or not _AGENT.match(agent)):
        raise InvalidTrade("An agent's name is 1 to 100 letters, digits, '_', '.', ':' or '-'")
    return agent


def check_amount(value: Decimal, what: str, *, zero: bool = False) -> Decimal:
    """A quantity, price or fee: a finite Decimal, positive (or zero when ``zero``), bounded, at most 8 places."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidTrade(f"The {what} must be a finite decimal number")
    if value < 0 or (value == 0 and not zero):
        raise InvalidTrade(f"The {what} must be {'zero or more' if zero else 'more than zero'}")
    # Bounded first, so that quantizing stays within the context's precision and compares exactly.
    if value > MAX_AMOUNT or value != value.quantize(QUANTUM):
        raise InvalidTrade(f"The {what} has at most {PLACES} decimal places and is at most {MAX_AMOUNT}")
    return value


def round_amount(value: Decimal) -> Decimal:
    """``value`` to 8 places, half to even: the one rounding every computed figure gets."""
    with localcontext() as ctx:
        ctx.prec = _EXACT_DIGITS
        return value.quantize(QUANTUM, rounding=ROUND_HALF_EVEN)


def exact(value: Decimal) -> Decimal:
    """Unary plus in the wide context: a value computed from bounded amounts, not rounded."""
    with localcontext() as ctx:
        ctx.prec = _EXACT_DIGITS
        return +value


def share(total: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """``total * part / whole``, to 8 places: a closed part's share of the entry fee, cost or margin."""
    with localcontext() as ctx:
        ctx.prec = _EXACT_DIGITS
        return round_amount(total * part / whole)


def margin_of(quantity: Decimal, price: Decimal, leverage: int) -> Decimal:
    """The margin a position holds: its notional (quantity * price) / leverage, to 8 places."""
    with localcontext() as ctx:
        ctx.prec = _EXACT_DIGITS
        return round_amount(quantity * price / leverage)


def notional_of(quantity: Decimal, price: Decimal) -> Decimal:
    """quantity * price, to 8 places (the cost an open position's average entry is computed from)."""
    with localcontext() as ctx:
        ctx.prec = _EXACT_DIGITS
        return round_amount(quantity * price)
