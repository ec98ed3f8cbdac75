"""The access state every authorized request reads, from the statement built once (a cut of the request path):
the same answers as before for every kind of account and session, on both stores."""

from __future__ import annotations

from uuid import uuid4

from application.accounts.application import SessionGrant
from application.shared.commands import CommandContext
from application.shared.ports import AccessState
from domain.accounts.values import Profile
from infrastructure.root import Chronicle
from tests.conftest import Clock

PASSWORD = "Passw0rd-access-1"


def _ctx(clock: Clock) -> CommandContext:
    return CommandContext(actor="test", correlation_id="c", causation_id="c", now=clock())


def _member(container: Chronicle, clock: Clock, email: str, roles: list[str]) -> SessionGrant:
    container.accounts.register_account(
        _ctx(clock), email=email, password=PASSWORD, profile=Profile("Ada", "L"), roles=roles, verified=True
    )
    grant = container.accounts.log_in(_ctx(clock), email=email, password=PASSWORD)
    assert isinstance(grant, SessionGrant)
    return grant


def test_access_states_answer_roles_sessions_revocations_and_bars_as_before(container: Chronicle, clock: Clock) -> None:
    ada = _member(container, clock, "ada@example.com", ["operator", "manager"])
    bob = _member(container, clock, "bob@example.com", ["viewer"])
    carol = _member(container, clock, "carol@example.com", ["inspector"])
    container.accounts.log_out(_ctx(clock), session_id=bob.session_id)
    container.accounts.suspend_account(_ctx(clock), carol.account_id, reason="audit")
    # The container's own runner follows the log in its thread: wait for it (a catch_up from here would run the
    # same runner object in two threads at once, and a fresh-clone CI run saw it answer before the suspension).
    assert container.board.wait("accounts", container.head_position(), timeout=10.0)
    state = container.account_queries.access_state

    assert state(ada.account_id, ada.session_id) == AccessState(("manager", "operator", "user"), True, False, None)
    assert state(bob.account_id, bob.session_id) == AccessState(("user", "viewer"), True, True, None)
    assert state(carol.account_id, carol.session_id) == AccessState(("inspector", "user"), True, False, "suspended")
    # Another account's session is not this account's; unknown ids are unknown.
    assert state(ada.account_id, bob.session_id) == AccessState(("manager", "operator", "user"), False, True, None)
    assert state(ada.account_id, uuid4()) == AccessState(("manager", "operator", "user"), False, False, None)
    assert state(uuid4(), ada.session_id) == AccessState(None, False, False, None)
    assert not state(uuid4(), uuid4()).known
    # The statement is shared between calls: parameters of one call never leak into the next.
    assert state(bob.account_id, bob.session_id).roles == ("user", "viewer")
    assert state(ada.account_id, ada.session_id).roles == ("manager", "operator", "user")
