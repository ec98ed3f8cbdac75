"""``ChronicleTranscoder`` reads what the library's ``JSONTranscoder`` reads, as it reads it: for any value the
library can store, and for any bytes at all, the same objects (types included) or the same kind of error.
Every event of the stored logs under tests/fixtures decodes the same with both."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from datetime import UTC, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from hypothesis import given, settings
from hypothesis import strategies as st

from application.accounts.application import register_account_transcodings
from application.shared.metadata import DataclassAsDict, DateAsISO
from application.shared.transcoder import ChronicleTranscoder

FIXTURES = Path(__file__).parents[1] / "fixtures"


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str


def transcoder(kind: type[JSONTranscoder]) -> JSONTranscoder:
    """The transcodings of Chronicle's applications, and one more dataclass's."""
    made = kind()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO(), DataclassAsDict(Money, "money")):
        made.register(transcoding)
    register_account_transcodings(made)
    return made


LIBRARY, OURS = transcoder(JSONTranscoder), transcoder(ChronicleTranscoder)


def decoded(chosen: JSONTranscoder, data: bytes) -> Any:
    """What ``chosen`` makes of ``data``: the value, or the type of the error it raised."""
    try:
        return chosen.decode(data)
    except (Exception, RecursionError) as error:
        return type(error)


def same(left: Any, right: Any) -> bool:
    """Equal, of the same types all the way down (1 and 1.0 and True differ), NaN equal to NaN."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, float) and math.isnan(left):
        return math.isnan(right)
    return bool(left == right)


zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))])
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # unbounded: beyond 64 bits json stays exact, orjson would not
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(),  # NaN and infinities too: json writes them, orjson refuses them
    st.text(max_size=20),
    st.uuids(),
    st.decimals(allow_nan=False),
    st.datetimes(timezones=st.none() | zones),
    st.dates(),
    st.builds(Money, st.decimals(allow_nan=False, allow_infinity=False, places=2), st.text(max_size=3)),
)
# Keys the format gives a meaning to, so that look-alikes of a transcoded object are among the dicts.
keys = st.one_of(st.sampled_from(["_type_", "_data_", "money", "uuid_hex"]), st.text(max_size=8))
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400)
@given(values)
def test_whatever_the_library_stores_reads_back_the_same(value: Any) -> None:
    data = LIBRARY.encode(value)
    assert same(decoded(OURS, data), decoded(LIBRARY, data))


# JSON's own characters, digits and the format's names, so that most texts come near to valid JSON.
TOKENS = [*'{}[]:,"\\ -.eE0123456789tfnulNaIiy_', '"_type_"', '"_data_"', '"uuid_hex"', "é", "\\u"]
JSONISH = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)


@settings(max_examples=400)
@given(st.one_of(st.binary(max_size=60), JSONISH.map(str.encode)))
def test_any_bytes_read_as_the_library_reads_them_or_fail_as_it_fails(data: bytes) -> None:
    assert same(decoded(OURS, data), decoded(LIBRARY, data))


@pytest.mark.parametrize(
    "data",
    [
        b'{"n":123456789012345678901234567890}',  # beyond 64 bits: exact, not a float
        b'{"n":18446744073709551616,"t":{"_type_":"uuid_hex","_data_":"' + b"0" * 32 + b'"}}',
        b'{"x":NaN}',
        b'{"x":1e400}',
        b'"\\ud800"',
        b'{"_type_":"unknown","_data_":1}',
        b'{"_type_":"uuid_hex","_data_":"not a uuid"}',
    ],
)
def test_what_orjson_reads_otherwise_is_read_by_the_library(data: bytes) -> None:
    assert same(decoded(OURS, data), decoded(LIBRARY, data))


@pytest.mark.parametrize("log", ["legacy_log", "plain_log"])
def test_every_stored_event_and_snapshot_of_the_fixture_logs_decodes_the_same(log: str) -> None:
    with sqlite3.connect(FIXTURES / log / "events.sqlite3") as db:
        states = [
            bytes(row[0])
            for table in ("stored_events", "stored_snapshots")
            for row in db.execute(
                f"SELECT state FROM {table}"  # noqa: S608 - two fixed table names
            )
        ]
    assert states
    for state in states:
        assert same(OURS.decode(state), LIBRARY.decode(state))
