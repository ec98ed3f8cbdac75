"""Reading an agent's config: each field checked, every problem collected with its loc, nothing coerced from a float.

Decimals in a config are stored in the flow's events, so they are written as strings (``"0.5"``) or
integers; a JSON float (``0.5``) is refused rather than turned into a binary fraction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal, InvalidOperation

from application.flows.agents import ConfigProblem, InvalidAgentConfig, Json
from domain.shared.text import unstorable

# The trades context's bounds on quantities and prices (domain/trades/values.py): a signal past them
# would be refused by the trade desk at run time, so a config past them is refused at define time.
MAX_DECIMAL = Decimal(1_000_000_000)
MAX_PLACES = 8


class ConfigReader:
    """Reads fields of one config; ``done()`` raises ``InvalidAgentConfig`` with every problem found."""

    def __init__(self, agent: str, config: Mapping[str, Json], allowed: Collection[str]) -> None:
        self.agent = agent
        self.config = config
        self.problems: list[ConfigProblem] = []
        if not isinstance(config, Mapping):
            self.problems.append(ConfigProblem((), "must be an object"))
            self.config = {}
        for key in self.config:
            if key not in allowed:
                self.problems.append(ConfigProblem((str(key),), f"is not a setting of the {agent} agent"))

    def fail(self, key: str, msg: str) -> None:
        self.problems.append(ConfigProblem((key,), msg))

    def text(self, key: str, *, max_length: int, default: str | None = None) -> str | None:
        value = self.config.get(key, default)
        if value is None:
            if default is None:
                self.fail(key, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(key, "must be a non-empty string")
            return None
        if len(value) > max_length:
            self.fail(key, f"must be at most {max_length} characters")
            return None
        reason = unstorable(value)
        if reason is not None:
            self.fail(key, reason)
            return None
        return value.strip()

    def decimal(self, key: str, *, required: bool = True) -> Decimal | None:
        value = self.config.get(key)
        if value is None:
            if required:
                self.fail(key, "is required")
            return None
        number = parse_decimal(value)
        if isinstance(number, str):
            self.fail(key, number)
            return None
        return number

    def integer(self, key: str, *, low: int, high: int, default: int) -> int:
        value = self.config.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, "must be an integer")
            return default
        if not low <= value <= high:
            self.fail(key, f"must be from {low} to {high}")
            return default
        return value

    def number(self, key: str, *, low: Decimal, high: Decimal, default: Decimal) -> Decimal:
        """A bounded quantity that may be a JSON number (a timeout): ints, floats or decimal strings."""
        value = self.config.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.fail(key, "must be a number")
            return default
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            self.fail(key, "must be a number")
            return default
        if not number.is_finite() or not low <= number <= high:
            self.fail(key, f"must be from {low} to {high}")
            return default
        return number

    def choice(self, key: str, choices: Collection[str], *, default: str) -> str:
        value = self.config.get(key, default)
        if not isinstance(value, str) or value not in choices:
            self.fail(key, f"must be one of {', '.join(sorted(choices))}")
            return default
        return value

    def done(self) -> None:
        if self.problems:
            raise InvalidAgentConfig(self.agent, self.problems)


def parse_decimal(value: Json) -> Decimal | str:
    """A positive, finite decimal of at most a billion with at most 8 places, or why ``value`` is not one."""
    if isinstance(value, bool | float):
        return 'must be a decimal written as a string (e.g. "0.5") or an integer'
    if not isinstance(value, int | str) or (isinstance(value, str) and len(value) > 40):
        return "must be a decimal string or an integer"
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        return "must be a decimal string or an integer"
    if not number.is_finite():
        return "must be a finite number"
    if number <= 0:
        return "must be positive"
    if number > MAX_DECIMAL:
        return "must be at most 1000000000"
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_PLACES:
        return f"must have at most {MAX_PLACES} decimal places"
    return number
