"""Rebuilding the accounts read model from the log reproduces exactly what the live projection wrote."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy import delete, update

from domain.accounts.errors import InvalidCredentials
from domain.accounts.values import Profile
from infrastructure.accounts.tables import accounts, sessions
from infrastructure.root import Chronicle
from tests.conftest import TEST_JWT_SECRET, TEST_PII_MASTER_KEY, Clock
from tests.integration.conftest import PASSWORD, context, read_model_rows, register

ROOT = Path(__file__).parents[2]


def verify(container: Chronicle, clock: Clock, account_id: UUID) -> None:
    nonce = container.accounts.repository.get(account_id).verification.nonce
    container.accounts.verify_email(context(clock), account_id, nonce)


def varied_history(container: Chronicle, clock: Clock) -> None:
    app = container.accounts
    ids = [register(container, clock, f"history-{n}@Example.com") for n in range(6)]
    for account_id in ids[:5]:
        clock.advance(minutes=1)
        verify(container, clock, account_id)
    clock.advance(minutes=1)
    app.assign_role(context(clock), ids[0], "manager")
    app.assign_role(context(clock), ids[0], "auditor")
    app.revoke_role(context(clock), ids[0], "manager")
    app.assign_role(context(clock), ids[1], "operator")
    clock.advance(minutes=1)
    app.suspend_account(context(clock), ids[2], "abuse report")
    clock.advance(minutes=1)
    app.reactivate_account(context(clock), ids[2])
    app.suspend_account(context(clock), ids[3], "chargeback")
    app.close_account(context(clock), ids[4], "requested by support")
    app.update_profile(context(clock), ids[1], Profile(first_name="Grace", last_name="Hopper", birthday=None))
    clock.advance(minutes=1)
    grant = app.log_in(context(clock), email="HISTORY-0@example.com", password=PASSWORD)
    clock.advance(minutes=1)
    app.log_in(context(clock), email="history-1@example.com", password=PASSWORD)
    app.refresh_session(context(clock), session_id=grant.session_id, token_id=grant.token_id)
    clock.advance(minutes=1)
    app.log_out(context(clock), session_id=grant.session_id)
    with pytest.raises(InvalidCredentials):  # a failed login is part of the history too
        app.log_in(context(clock), email="history-1@example.com", password="Wr0ngpassword")


def chronicle(args: list[str], database_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Runs the installed ``chronicle`` command against ``database_url``, in a clean environment."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),  # this checkout's code, whichever checkout the venv was installed from
        "HOME": str(tmp_path),
        "DATABASE_URL": database_url,
        "JWT_SECRET": TEST_JWT_SECRET,
        "PII_MASTER_KEY": TEST_PII_MASTER_KEY,
        "DATA_DIR": str(tmp_path / "cli"),
        "COLUMNS": "200",
    }
    return subprocess.run(  # noqa: S603
        [str(ROOT / ".venv/bin/chronicle"), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_given_a_varied_history_when_the_accounts_projection_is_reset_and_replayed_then_every_row_is_the_same(
    container: Chronicle, clock: Clock
) -> None:
    varied_history(container, clock)
    runner = container.runners["accounts"]
    runner.catch_up()
    live = read_model_rows(container)
    assert len(live["rm_accounts"]) == 6
    assert len(live["rm_sessions"]) == 2
    assert len(live["rm_account_roles"]) == 6 + 2  # the 'user' floor, plus auditor and operator

    runner.reset()
    assert read_model_rows(container) == {"rm_accounts": [], "rm_account_roles": [], "rm_sessions": []}
    runner.catch_up()

    assert read_model_rows(container) == live
    assert container.stored_position("accounts") == container.head_position()


def test_given_a_damaged_read_model_when_the_cli_rebuilds_it_then_it_refuses_unless_forced_and_forced_repairs_it(
    container: Chronicle, clock: Clock, postgres_url: str, tmp_path: Path
) -> None:
    varied_history(container, clock)
    container.runners["accounts"].catch_up()
    live = read_model_rows(container)
    with container.write_engine.begin() as conn:  # damage the read model: the rebuild must repair it
        conn.execute(delete(sessions))
        conn.execute(update(accounts).values(status="garbled"))
    assert read_model_rows(container) != live

    damaged = read_model_rows(container)

    # The code did not change but the rows differ: reported, and not swapped unless forced.
    refused = chronicle(["projections", "rebuild", "accounts"], postgres_url, tmp_path)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "Not swapped" in refused.stdout
    assert "rm_sessions" in refused.stdout
    assert read_model_rows(container) == damaged

    rebuilt = chronicle(["projections", "rebuild", "accounts", "--force"], postgres_url, tmp_path)

    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "Rebuilt accounts" in rebuilt.stdout
    assert read_model_rows(container) == live
    assert container.stored_position("accounts") == container.head_position()


def test_given_an_unknown_projection_name_when_the_cli_rebuilds_it_then_it_exits_non_zero_and_names_the_valid_ones(
    container: Chronicle, postgres_url: str, tmp_path: Path
) -> None:
    refused = chronicle(["projections", "rebuild", "nosuch"], postgres_url, tmp_path)

    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert "nosuch" in output
    assert "accounts" in output
