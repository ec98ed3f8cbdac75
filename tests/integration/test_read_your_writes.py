"""Read-your-writes: a command's position is a ticket a query can wait on, bounded by a timeout."""

from __future__ import annotations

from infrastructure.root import Chronicle
from tests.conftest import Clock
from tests.integration.conftest import ContainerFactory, register, register_result


def test_given_in_process_projections_when_a_command_returns_position_p_then_waiting_for_p_sees_the_row(
    container: Chronicle, clock: Clock
) -> None:
    container.start(run_projections=True)
    result = register_result(container, clock, "ryw@example.com")

    assert container.board.wait("accounts", result.position, timeout=2.0) is True
    row = container.account_queries.get(result.id)
    assert row is not None
    assert row["version"] == result.version
    assert container.stored_position("accounts") >= result.position


def test_given_no_projection_running_when_waiting_for_a_new_position_then_the_wait_gives_up_with_false(
    container: Chronicle, clock: Clock
) -> None:
    container.start(run_projections=False)
    result = register_result(container, clock, "nobody-projects@example.com")

    assert container.board.wait("accounts", result.position, timeout=0.2) is False
    assert container.account_queries.get(result.id) is None
    assert container.stored_position("accounts") == 0


def test_given_a_serving_process_and_a_separate_projection_worker_then_the_server_reads_its_own_write(
    make_container: ContainerFactory, clock: Clock
) -> None:
    serving = make_container()
    # A minute-long poll: only LISTEN/NOTIFY can wake this worker within the 2 s the test allows.
    worker = make_container(projection_poll_seconds=60)
    serving.start(run_projections=False)
    worker.start(run_projections=True)

    result = register_result(serving, clock, "two-processes@example.com")

    assert serving.board.wait("accounts", result.position, timeout=2.0) is True
    row = serving.account_queries.get(result.id)
    assert row is not None
    assert row["email"] == "two-processes@example.com"
    account_id = register(serving, clock, "second@example.com")
    assert serving.board.wait("accounts", serving.head_position(), timeout=2.0) is True
    assert serving.account_queries.get(account_id) is not None
