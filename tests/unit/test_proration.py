"""Proration and money: the lines of a plan change sum to the pro-rata difference, to the minor unit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.subscriptions.errors import InvalidPlan
from domain.subscriptions.proration import minor_unit, prorate, to_minor_unit, unused_fraction

START = datetime(2024, 2, 1, tzinfo=UTC)
END = datetime(2024, 3, 1, tzinfo=UTC)
CURRENCIES = ["USD", "EUR", "JPY", "KWD"]


def prices(currency: str) -> st.SearchStrategy[Decimal]:
    places = minor_unit(currency)
    return st.integers(min_value=0, max_value=10**9).map(lambda n: Decimal(n).scaleb(-places))


@st.composite
def changes(draw: st.DrawFn) -> tuple[Decimal, Decimal, str, datetime, datetime, datetime]:
    currency = draw(st.sampled_from(CURRENCIES))
    start = START + timedelta(seconds=draw(st.integers(0, 10**8)))
    length = timedelta(microseconds=draw(st.integers(1, 400 * 86_400 * 10**6)))
    at = start + timedelta(microseconds=draw(st.integers(-(10**6), length // timedelta(microseconds=1) + 10**6)))
    return draw(prices(currency)), draw(prices(currency)), currency, start, start + length, at


@settings(max_examples=300, deadline=None)
@given(changes())
def test_the_lines_sum_to_the_pro_rata_difference_rounded_to_the_minor_unit(
    change: tuple[Decimal, Decimal, str, datetime, datetime, datetime],
) -> None:
    old, new, currency, start, end, at = change
    lines = prorate(old, new, currency, start, end, at)

    expected = to_minor_unit((new - old) * unused_fraction(start, end, at), currency)
    assert sum((line.amount for line in lines), Decimal(0)) == expected
    places = Decimal(1).scaleb(-minor_unit(currency))
    for line in lines:
        assert line.amount == line.amount.quantize(places) and line.amount != 0
        if line.kind == "credit":
            assert line.amount < 0
        else:
            assert line.kind == "charge" and line.amount > 0
    if new < old:  # a downgrade: the credit is never positive and the total not above zero
        assert expected <= 0


def test_half_way_through_a_period_half_of_each_price_counts() -> None:
    lines = prorate(Decimal("20.00"), Decimal("50.00"), "USD", START, END, START + (END - START) / 2)

    assert [(line.kind, line.amount) for line in lines] == [("credit", Decimal("-10.00")), ("charge", Decimal("25.00"))]


def test_the_charge_line_takes_the_rounding() -> None:
    third = START + (END - START) / 3  # two thirds left
    lines = prorate(Decimal("10.00"), Decimal("20.01"), "USD", START, END, third)

    assert [line.amount for line in lines] == [Decimal("-6.67"), Decimal("13.34")]  # 20.01 x 2/3 = 13.34
    assert sum(line.amount for line in lines) == to_minor_unit(Decimal("10.01") * 2 / 3, "USD")


@pytest.mark.parametrize(("at", "fraction"), [(START - timedelta(days=1), 1), (END, 0), (END + timedelta(days=1), 0)])
def test_outside_the_period_the_unused_part_is_all_or_nothing(at: datetime, fraction: int) -> None:
    assert unused_fraction(START, END, at) == fraction


@pytest.mark.parametrize(("currency", "places"), [("USD", 2), ("JPY", 0), ("KWD", 3), ("EUR", 2)])
def test_minor_units(currency: str, places: int) -> None:
    assert minor_unit(currency) == places


def test_a_currency_is_three_capital_letters() -> None:
    with pytest.raises(InvalidPlan):
        minor_unit("usd")
