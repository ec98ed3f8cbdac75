"""The Trades context's named errors: bad input is invalid (422), a move the state forbids a conflict (409)."""

from __future__ import annotations

from domain.shared.errors import Category, DomainError, NotFound


class InvalidTrade(DomainError):
    """A trade's terms that no state could accept (symbol, side, quantity, price, leverage, market, fee)."""

    code = "invalid_trade"
    title = "The trade is not valid"
    category = Category.INVALID


class InvalidMark(DomainError):
    code = "invalid_mark"
    title = "The mark price is not valid"
    category = Category.INVALID


class TradeNotFound(NotFound):
    """No such trade, or not the caller's (the same answer: another's trade is not shown to exist)."""

    code = "trade_not_found"
    title = "No such trade"


class TradeNotOpen(DomainError):
    code = "trade_not_open"
    title = "The trade is not open: it was closed or canceled"


class CloseExceedsPosition(DomainError):
    code = "close_exceeds_position"
    title = "The quantity to close is more than the trade still holds"


class TradePartlyClosed(DomainError):
    code = "trade_partly_closed"
    title = "A trade part of which was closed cannot be canceled: close the rest instead"


class TradesPerDayReached(DomainError):
    """The plan's ``trades_per_day`` for this UTC day is used up (decided at append time, exactly)."""

    code = "trades_per_day_reached"
    title = "Your plan's trades per day are used up for today (UTC)"


class QuotaContended(DomainError):
    """The day's quota stream kept changing under this open (lost every bounded retry): try again."""

    code = "trade_quota_contended"
    title = "Too many trades are being opened at once on this account; retry"


class TradeIdTaken(DomainError):
    """A signal's trade id names a stream that is not a trade of this account (never reused)."""

    code = "trade_id_taken"
    title = "The trade id is already used by something else"
