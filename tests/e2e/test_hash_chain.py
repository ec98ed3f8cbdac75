"""The hash chain through the API and offline: every kind of tampering with the stored log is found and located.

Each test writes a log through the applications, takes a signed checkpoint as an auditor would,
then alters the stored rows with SQL behind Chronicle's back (on PostgreSQL and on the embedded
store) and asks ``GET /api/v1/audit/verify`` and the offline verification of an export.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from domain.accounts.values import Profile
from infrastructure.root import Chronicle
from infrastructure.shared.chain import BROKEN_LINK, GENESIS, MISSING_LINK, link, verify_export
from infrastructure.shared.checkpoints import Checkpoint, public_key
from infrastructure.shared.settings import Settings
from interfaces.cli import app as cli
from tests.conftest import policies_settled
from tests.e2e.workshop import Member, staff
from tests.integration.conftest import context

Row = tuple[int, UUID, int, str, bytes, bytes | None]


class StoredLog:
    """The event table of the container's store, altered with SQL as an intruder with database access would."""

    def __init__(self, container: Chronicle) -> None:
        settings = container.settings
        self.postgres = not settings.embedded
        self.url = str(settings.database_url) if self.postgres else str(settings.data_dir / "events.sqlite3")
        self.position = "notification_id" if self.postgres else "rowid"
        self.table = container.log.recorder.events_table_name

    def run(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        statement = statement.replace("{pos}", self.position).replace("chronicle_events", self.table)
        if self.postgres:
            with psycopg.connect(self.url, autocommit=True) as conn:
                cursor = conn.execute(statement.replace("?", "%s").encode(), params)
                return list(cursor.fetchall()) if cursor.description else []
        conn = sqlite3.connect(self.url)
        try:
            rows = conn.execute(statement, params).fetchall()
            conn.commit()
            return rows
        finally:
            conn.close()

    def rows(self) -> list[Row]:
        found = self.run(
            "SELECT {pos}, originator_id, originator_version, topic, state, chain FROM chronicle_events ORDER BY {pos}"
        )
        return [
            (int(p), UUID(str(i)), int(v), str(t), bytes(s), bytes(c) if c is not None else None)
            for p, i, v, t, s, c in found
        ]

    def set_state(self, position: int, state: bytes) -> None:
        self.run("UPDATE chronicle_events SET state = ? WHERE {pos} = ?", (state, position))

    def move(self, position: int, to: int) -> None:
        self.run("UPDATE chronicle_events SET {pos} = ? WHERE {pos} = ?", (to, position))

    def delete(self, position: int) -> None:
        self.run("DELETE FROM chronicle_events WHERE {pos} = ?", (position,))

    def insert(self, row: Row) -> None:
        position, stream, version, topic, state, chain = row
        self.run(
            "INSERT INTO chronicle_events ({pos}, originator_id, originator_version, topic, state, chain) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (position, stream if self.postgres else stream.hex, version, topic, state, chain),
        )


# A fixed test key (base64 of 32 bytes); a server is given its own in CHAIN_SIGNING_KEY.
TEST_CHAIN_KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings (both stores), with a checkpoint signing key as a server is given one."""
    return settings.model_copy(update={"chain_signing_key": SecretStr(TEST_CHAIN_KEY)})


@pytest.fixture
def auditor(client: TestClient, container: Chronicle) -> Member:
    return staff(client, container, "auditor")


@pytest.fixture
def log(container: Chronicle) -> StoredLog:
    for n in range(3):
        account = container.accounts.register_account(
            context(container.clock),
            email=f"chain-{n}-{uuid4().hex[:6]}@example.com",
            password="Passw0rd!",
            profile=Profile("Ada", "Lovelace"),
        )
        container.accounts.update_profile(context(container.clock), account.id, Profile("Ada", f"King{n}"))
    policies_settled(container)  # the free-plan policy's writes land before a test reads or alters the log
    return StoredLog(container)


def verify(client: TestClient, auditor: Member, **params: int) -> dict[str, Any]:
    answer = client.get("/api/v1/audit/verify", params=params, headers=auditor.headers)
    assert answer.status_code == 200, answer.text
    verdict: dict[str, Any] = answer.json()
    return verdict


def signed(client: TestClient, auditor: Member) -> tuple[Checkpoint, Any]:
    checkpoint = client.get("/api/v1/audit/checkpoint", headers=auditor.headers)
    key = client.get("/api/v1/audit/public-key", headers=auditor.headers)
    assert checkpoint.status_code == 200 and key.status_code == 200
    return Checkpoint.from_dict(checkpoint.json()), public_key(key.json()["public_key_pem"])


def exported(client: TestClient, auditor: Member) -> bytes:
    """The log as ``GET /api/v1/audit/export`` gives it (the lines ``chronicle audit export`` writes)."""
    answer = client.get("/api/v1/audit/export", headers=auditor.headers)
    assert answer.status_code == 200
    return answer.content


def offline(client: TestClient, auditor: Member, checkpoint: Checkpoint, key: Any) -> dict[str, Any]:
    return verify_export(exported(client, auditor).splitlines(), checkpoint, key).as_dict()


def test_every_stored_event_carries_the_link_of_the_chain_as_the_python_definition_computes_it(
    client: TestClient, auditor: Member, log: StoredLog
) -> None:
    rows = log.rows()
    head = GENESIS
    for position, stream, version, topic, state, chain in rows:
        head = link(head, position, stream, version, topic, state)
        assert chain == head, position
    verdict = verify(client, auditor)
    assert verdict["ok"] is True and verdict["checked"] == len(rows) and verdict["head"] == head.hex()
    checkpoint, key = signed(client, auditor)
    assert checkpoint.position == rows[-1][0] and checkpoint.chain == head
    assert offline(client, auditor, checkpoint, key)["ok"] is True


def test_a_range_is_verified_from_the_link_before_it(client: TestClient, auditor: Member, log: StoredLog) -> None:
    positions = [row[0] for row in log.rows()]
    middle = positions[len(positions) // 2]
    verdict = verify(client, auditor, **{"from": middle, "to": positions[-2]})
    assert verdict["ok"] is True
    assert verdict["checked"] == len([p for p in positions if middle <= p <= positions[-2]])


def test_an_altered_state_is_found_at_its_position_by_the_api_and_offline(
    client: TestClient, auditor: Member, log: StoredLog
) -> None:
    checkpoint, key = signed(client, auditor)
    position, *_, state, _ = log.rows()[4]
    log.set_state(position, state + b" ")

    verdict = verify(client, auditor)
    assert verdict["ok"] is False and verdict["first_bad_position"] == position and verdict["problem"] == BROKEN_LINK
    assert verdict["checked"] == 4
    assert offline(client, auditor, checkpoint, key)["first_bad_position"] == position


def test_a_deleted_event_is_found_at_the_event_after_it(client: TestClient, auditor: Member, log: StoredLog) -> None:
    checkpoint, key = signed(client, auditor)
    rows = log.rows()
    log.delete(rows[3][0])

    verdict = verify(client, auditor)
    assert verdict["ok"] is False and verdict["first_bad_position"] == rows[4][0]
    assert offline(client, auditor, checkpoint, key)["first_bad_position"] == rows[4][0]


def test_the_last_events_deleted_are_found_by_the_checkpoint_offline(
    client: TestClient, auditor: Member, log: StoredLog
) -> None:
    checkpoint, key = signed(client, auditor)
    rows = log.rows()
    log.delete(rows[-1][0])

    assert verify(client, auditor)["ok"] is True  # the stored chain alone cannot tell a shorter log
    verdict = offline(client, auditor, checkpoint, key)
    assert verdict["ok"] is False and verdict["first_bad_position"] == checkpoint.position
    assert "ends before the checkpoint" in verdict["problem"]


def test_two_swapped_states_are_found_at_the_first_of_them(client: TestClient, auditor: Member, log: StoredLog) -> None:
    checkpoint, key = signed(client, auditor)
    rows = log.rows()
    first, second = rows[2], rows[6]
    log.set_state(first[0], second[4])
    log.set_state(second[0], first[4])

    verdict = verify(client, auditor)
    assert verdict["ok"] is False and verdict["first_bad_position"] == first[0]
    assert offline(client, auditor, checkpoint, key)["first_bad_position"] == first[0]


def test_two_swapped_positions_are_found_at_the_first_of_them(
    client: TestClient, auditor: Member, log: StoredLog
) -> None:
    checkpoint, key = signed(client, auditor)
    rows = log.rows()
    first, second = rows[1][0], rows[5][0]
    log.move(first, -1)
    log.move(second, first)
    log.move(-1, second)

    verdict = verify(client, auditor)
    assert verdict["ok"] is False and verdict["first_bad_position"] == first
    assert offline(client, auditor, checkpoint, key)["first_bad_position"] == first


def test_an_event_inserted_with_sql_is_found_at_its_position(
    client: TestClient, auditor: Member, log: StoredLog
) -> None:
    checkpoint, key = signed(client, auditor)
    rows = log.rows()
    position, _, _, topic, state, _ = rows[-1]
    log.insert((position + 1, uuid4(), 1, topic, state, None))

    verdict = verify(client, auditor)
    assert (
        verdict["ok"] is False and verdict["first_bad_position"] == position + 1 and verdict["problem"] == MISSING_LINK
    )
    assert offline(client, auditor, checkpoint, key)["first_bad_position"] == position + 1


def test_an_event_inserted_between_two_others_with_a_forged_link_breaks_the_next_link(
    client: TestClient, auditor: Member, log: StoredLog
) -> None:
    checkpoint, key = signed(client, auditor)
    rows = log.rows()
    # Make room at a position between two events (as a rolled-back save leaves one on PostgreSQL).
    for row in reversed(rows[5:]):
        log.move(row[0], row[0] + 1)
    before = rows[4]
    gap = before[0] + 1
    stream, topic, state = uuid4(), before[3], before[4]
    log.insert((gap, stream, 1, topic, state, link(before[5] or b"", gap, stream, 1, topic, state)))

    verdict = verify(client, auditor)
    assert verdict["ok"] is False and verdict["first_bad_position"] == gap + 1
    assert offline(client, auditor, checkpoint, key)["first_bad_position"] == gap + 1


def test_a_log_rewritten_whole_with_valid_links_passes_the_database_check_but_not_the_checkpoint(
    client: TestClient, auditor: Member, log: StoredLog
) -> None:
    checkpoint, key = signed(client, auditor)
    rows = log.rows()
    log.set_state(rows[2][0], rows[2][4] + b" ")
    head = GENESIS
    for position, stream, version, topic, state, _ in log.rows():  # a superuser recomputes every link after it
        head = link(head, position, stream, version, topic, state)
        log.run("UPDATE chronicle_events SET chain = ? WHERE {pos} = ?", (head, position))

    assert verify(client, auditor)["ok"] is True
    verdict = offline(client, auditor, checkpoint, key)
    assert verdict["ok"] is False and verdict["first_bad_position"] == checkpoint.position
    assert "rewritten" in verdict["problem"]


def test_the_cli_verifies_an_export_file_against_a_checkpoint_and_the_public_key(
    client: TestClient, auditor: Member, log: StoredLog, tmp_path: Any
) -> None:
    checkpoint = client.get("/api/v1/audit/checkpoint", headers=auditor.headers).json()
    (tmp_path / "checkpoint.json").write_text(json.dumps(checkpoint))
    pem = client.get("/api/v1/audit/public-key", headers=auditor.headers).json()["public_key_pem"]
    (tmp_path / "key.pem").write_text(pem)
    (tmp_path / "log.ndjson").write_bytes(exported(client, auditor))
    args = ["audit", "verify", str(tmp_path / "log.ndjson")]
    args += ["--checkpoint", str(tmp_path / "checkpoint.json"), "--public-key", str(tmp_path / "key.pem")]

    good = CliRunner().invoke(cli, args)
    assert good.exit_code == 0, good.output
    assert json.loads(good.output)["ok"] is True

    rows = log.rows()
    log.set_state(rows[1][0], rows[1][4] + b" ")
    (tmp_path / "log.ndjson").write_bytes(exported(client, auditor))
    bad = CliRunner().invoke(cli, args)
    assert bad.exit_code == 1
    assert json.loads(bad.output)["first_bad_position"] == rows[1][0]


def test_only_auditors_read_the_chain(client: TestClient, container: Chronicle, log: StoredLog) -> None:
    welder = staff(client, container, "operator")
    for path in ("/api/v1/audit/verify", "/api/v1/audit/checkpoint", "/api/v1/audit/public-key"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers=welder.headers).status_code == 403


def test_a_verify_range_out_of_bounds_is_refused(client: TestClient, auditor: Member) -> None:
    for params in ({"from": 0}, {"to": -1}, {"from": "x"}, {"from": 2**64}):
        answer = client.get("/api/v1/audit/verify", params=params, headers=auditor.headers)
        assert answer.status_code == 422, params
