"""How decoded stored values leave for auditors: JSON values, exact, and secrets redacted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

from infrastructure.shared.export import REDACTED, plain, redact


@dataclass(frozen=True)
class Phone:
    country_code: str
    number: str


def test_decimals_and_ids_are_exact_text_and_instants_are_utc() -> None:
    moment = datetime(2026, 12, 1, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    stream = UUID("4f1c2a7e-0d3b-4c55-9a61-2b8e5f0c9d11")

    values = plain({"quantity": Decimal("2.500"), "id": stream, "at": moment, "due": date(2026, 12, 15)})

    assert values == {
        "quantity": "2.500",
        "id": "4f1c2a7e-0d3b-4c55-9a61-2b8e5f0c9d11",
        "at": "2026-12-01T08:30:00+00:00",
        "due": "2026-12-15",
    }


def test_value_objects_bytes_and_collections_become_json_values() -> None:
    values = plain({"phone": Phone("+44", "7700900123"), "blob": b"\x00\x01", "tags": ("a", "b"), "n": None})

    assert values == {
        "phone": {"country_code": "+44", "number": "7700900123"},
        "blob": "AAE=",
        "tags": ["a", "b"],
        "n": None,
    }


def test_every_key_naming_a_secret_is_redacted_at_any_depth() -> None:
    data = {
        "password_hash": "$argon2id$...",
        "verification": {"nonce": "n"},
        "two_factor": {"sealed_secret": "s", "enabled": True},
        "items": [{"reset_token": "t", "sku": "ROD-1"}],
        "at": datetime(2026, 1, 1, tzinfo=UTC),
    }

    assert redact(data) == {
        "password_hash": REDACTED,
        "verification": REDACTED,
        "two_factor": {"sealed_secret": REDACTED, "enabled": True},
        "items": [{"reset_token": REDACTED, "sku": "ROD-1"}],
        "at": datetime(2026, 1, 1, tzinfo=UTC),
    }
