"""Random rotations (with the current, a superseded or a foreign token), revocations and clock steps
against a Session, checked against a model; the session rebuilt from its events equals the live one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from domain.accounts.session import RefreshTokenReused, Session, SessionExpired, SessionRevoked
from domain.shared.errors import DomainError
from tests.property.replay import Recorder, rebuild
from tests.unit.builders import ACCOUNT_ID, NOW, SESSION_ID

FOREIGN_TOKEN = UUID(int=0)
ttls = st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=14))
steps = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=7))


class SessionMachine(RuleBasedStateMachine):
    session: Session

    def __init__(self) -> None:
        super().__init__()
        self.now = NOW
        self.recorder = Recorder()
        self.issued: list[UUID] = []
        self.expires_at: datetime = NOW
        self.revoked = False
        self.ever_revoked = False
        self.reason: str | None = None

    @property
    def next_token(self) -> UUID:
        return UUID(int=len(self.issued) + 1)

    @initialize(ttl=ttls)
    def start(self, ttl: timedelta) -> None:
        self.expires_at = self.now + ttl
        self.session = Session.start(
            session_id=SESSION_ID,
            account_id=ACCOUNT_ID,
            token_id=self.next_token,
            expires_at=self.expires_at,
            now=self.now,
        )
        self.issued.append(self.session.token_id)
        self.recorder.record(self.session)

    @rule(step=steps)
    def time_passes(self, step: timedelta) -> None:
        self.now += step

    @rule(ttl=ttls, at_expiry=st.booleans())
    def rotate_with_the_current_token(self, ttl: timedelta, at_expiry: bool) -> None:
        if at_expiry:
            self.now = max(self.now, self.expires_at)
        refusal = SessionRevoked if self.revoked else SessionExpired if self.now >= self.expires_at else None
        if self.rotate(refusal, self.issued[-1], self.next_token, ttl):
            self.issued.append(self.next_token)
            self.expires_at = self.now + ttl

    @precondition(lambda self: len(self.issued) > 1)
    @rule(data=st.data())
    def rotate_with_a_superseded_token(self, data: st.DataObject) -> None:
        stale = data.draw(st.sampled_from(self.issued[:-1]), label="stale token")
        self.present_a_stale_token(stale)

    @rule()
    def rotate_with_a_token_never_issued(self) -> None:
        self.present_a_stale_token(FOREIGN_TOKEN)

    def present_a_stale_token(self, stale: UUID) -> None:
        assert self.session.is_reuse(stale) is not self.revoked
        self.rotate(SessionRevoked if self.revoked else RefreshTokenReused, stale, self.next_token, timedelta(days=1))

    @rule(reason=st.sampled_from(["logout", "refresh_token_reused"]))
    def revoke(self, reason: str) -> None:
        self.session.revoke(reason=reason, now=self.now)
        emitted = [type(e) for e in self.session.pending_events]
        assert emitted == ([] if self.revoked else [Session.Revoked])
        self.recorder.record(self.session)
        if not self.revoked:
            self.revoked, self.ever_revoked, self.reason = True, True, reason

    def rotate(self, refusal: type[DomainError] | None, presented: UUID, new_token: UUID, ttl: timedelta) -> bool:
        def command() -> Any:
            return self.session.rotate(
                presented=presented, new_token_id=new_token, expires_at=self.now + ttl, now=self.now
            )

        if refusal is None:
            command()
            assert [type(e) for e in self.session.pending_events] == [Session.Rotated]
            self.recorder.record(self.session)
            return True
        try:
            command()
        except DomainError as error:
            assert type(error) is refusal, f"expected {refusal.__name__}, got {type(error).__name__}"
        else:
            raise AssertionError(f"expected {refusal.__name__}, but the rotation was accepted")
        assert self.session.pending_events == []
        return False

    @invariant()
    def the_session_agrees_with_the_model(self) -> None:
        assert self.session.token_id == self.issued[-1]
        assert self.session.expires_at == self.expires_at
        assert self.session.revoked is self.revoked
        assert self.session.revoked_reason == self.reason

    @invariant()
    def a_revoked_session_stays_revoked(self) -> None:
        assert not self.ever_revoked or self.session.revoked

    @invariant()
    def the_session_rebuilt_from_its_events_equals_the_live_one(self) -> None:
        assert rebuild(self.recorder.events) == self.session

    @invariant()
    def the_session_read_back_from_the_store_equals_the_live_one(self) -> None:
        assert self.recorder.stored(self.session) == self.session


SessionMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=25, deadline=None)
TestSessionMachine = SessionMachine.TestCase
