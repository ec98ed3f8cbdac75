"""Random command sequences against an Account, checked against a model of what each command should do.

Every rule runs the domain command and accepts only the one DomainError the model predicts.
After every step the invariants hold, and the account rebuilt from its events (in memory and
through the event store) equals the live one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.accounts.account import Account
from domain.accounts.errors import (
    AccountAlreadyErased,
    AccountAlreadySuspended,
    AccountClosed,
    AccountLocked,
    AccountNotSuspended,
    AccountSuspended,
    DefaultRoleRequired,
    EmailAlreadyVerified,
    EmailNotVerified,
    InvalidLoginChallenge,
    InvalidSecondFactor,
    InvalidToken,
    RoleAlreadyAssigned,
    RoleNotAssigned,
    SecondFactorRequired,
    TwoFactorAlreadyEnabled,
    TwoFactorNotEnabled,
    TwoFactorNotEnrolled,
    UnknownRole,
)
from domain.accounts.two_factor import TwoFactor
from domain.accounts.values import AccountStatus, LoginPolicy, PendingToken, Profile
from domain.shared.access import DEFAULT_ROLE, ROLES
from domain.shared.errors import DomainError
from domain.shared.personal_data import ERASED
from tests.property.replay import Recorder, rebuild, run_command
from tests.unit.builders import ACCOUNT_ID, NOW, SESSION_ID

POLICY = LoginPolicy()
STATUSES = {AccountStatus.PENDING, AccountStatus.ACTIVE, AccountStatus.SUSPENDED, AccountStatus.CLOSED}
NONCES = ["n-1", "n-2", "n-3"]
NEVER_ISSUED = "never-issued"
SEALED = ["sealed-1", "sealed-2"]
RECOVERY_HASHES = ["h-0", "h-1", "h-2"]
USED_ONE = "a recovery code already used"
# A code's step as the application finds it: ``None`` for a wrong code; small numbers meet used ones.
code_steps = st.one_of(st.none(), st.integers(min_value=0, max_value=12))
# The second login step mostly presents the pending challenge, so it often gets as far as the code.
challenge_choices = st.sampled_from(["right", "right", "right", "wrong", NONCES[0]])

names = st.text(alphabet="abcdefghij ÄÖ-'", min_size=1, max_size=8).filter(str.strip)
phones = st.one_of(
    st.none(), st.tuples(st.sampled_from(["+1", "+44", "+49"]), st.from_regex(r"\d{6,10}", fullmatch=True))
)


def a_profile(first: str, last: str, phone: tuple[str, str] | None, birthday: date | None) -> Profile:
    code, number = phone or (None, None)
    return Profile(first, last, code, number, birthday)


profiles = st.builds(
    a_profile,
    names,
    names,
    phones,
    st.one_of(st.none(), st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31))),
)
password_hashes = st.text(min_size=1, max_size=24)
roles = st.sampled_from([*sorted(ROLES), "wizard"])
# Lifetimes and clock steps are mostly short, so tokens and locks are often still live when used;
# the exact instants of expiry come from ``moments``.
ttls = st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(hours=2))
steps = st.one_of(
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(minutes=20)),
    st.sampled_from([timedelta(hours=3), timedelta(days=2)]),
)
# "right" is the pending nonce, "wrong" one never issued; a named nonce may be a superseded one.
nonce_choices = st.sampled_from(["right", "wrong", *NONCES])
# Expiries are exclusive, so a command that meets a deadline may first move the clock to just
# before it or exactly onto it.
moments = st.sampled_from(["now", "just before the deadline", "at the deadline"])


@dataclass
class Model:
    """What the account should look like, kept by the rules independently of the aggregate."""

    profile: Profile
    password_hash: str
    roles: set[str]
    status: str = AccountStatus.PENDING
    verified: bool = False
    failed_logins: int = 0
    locked_until: datetime | None = None
    last_login_at: datetime | None = None
    verification: PendingToken | None = None
    password_reset: PendingToken | None = None
    two_factor: TwoFactor = field(default_factory=TwoFactor)
    challenge: PendingToken | None = None
    erased: bool = False

    def refusal_of_code(self, step: int | None) -> type[DomainError] | None:
        last = self.two_factor.last_step
        return InvalidSecondFactor if step is None or (last is not None and step <= last) else None

    def refusal_unless_can_log_in(self, now: datetime) -> type[DomainError] | None:
        return (
            self.refusal_unless_usable()
            or (AccountLocked if self.locked(now) else None)
            or (None if self.verified else EmailNotVerified)
        )

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def refusal_unless_open(self) -> type[DomainError] | None:
        return AccountClosed if self.status == AccountStatus.CLOSED else None

    def refusal_unless_usable(self) -> type[DomainError] | None:
        if self.status == AccountStatus.CLOSED:
            return AccountClosed
        return AccountSuspended if self.status == AccountStatus.SUSPENDED else None


def pending_nonce(pending: PendingToken | None, choice: str) -> str:
    if choice == "right":
        return pending.nonce if pending else NEVER_ISSUED
    return NEVER_ISSUED if choice == "wrong" else choice


def matches(pending: PendingToken | None, nonce: str, now: datetime) -> bool:
    return pending is not None and pending.nonce == nonce and now < pending.expires_at


class AccountMachine(RuleBasedStateMachine):
    account: Account
    model: Model

    def __init__(self) -> None:
        super().__init__()
        self.now = NOW
        self.recorder = Recorder()
        self.ever_closed = False
        self.confirmed_since_enrolment = False
        self.recovery_hashes_used: set[str] = set()

    # --- driving the aggregate ---------------------------------------------------------------

    def run(self, refusal: type[DomainError] | None, command: Any, *emitted: type) -> bool:
        """Run ``command``; it must raise exactly ``refusal`` (emitting nothing) or emit ``emitted``."""
        return run_command(self.recorder, self.account, refusal, command, *emitted)

    @initialize(
        profile=profiles,
        password_hash=password_hashes,
        granted=st.lists(roles, max_size=3),
        two_factor_on=st.sampled_from([True, True, True, False]),
    )
    def register(self, profile: Profile, password_hash: str, granted: list[str], two_factor_on: bool) -> None:
        def register() -> Account:
            return Account.register(
                account_id=ACCOUNT_ID,
                email=" Ada@Example.com",
                profile=profile,
                password_hash=password_hash,
                now=self.now,
                roles=granted,
            )

        if "wizard" in granted:
            try:
                register()
            except UnknownRole:
                pass
            else:
                raise AssertionError("registering with an unknown role was accepted")
            granted = [role for role in granted if role != "wizard"]
        self.account = register()
        self.model = Model(profile=profile, password_hash=password_hash, roles={DEFAULT_ROLE, *granted})
        self.recorder.record(self.account)
        if two_factor_on:  # most runs start verified with two-factor login on: its steps get explored
            self.verify_email("auto", "now")
            self.enrol_two_factor(SEALED[0])
            self.confirm_two_factor(0)

    @rule(step=steps)
    def time_passes(self, step: timedelta) -> None:
        self.now += step

    def move_clock(self, moment: str, deadline: datetime | None) -> None:
        if deadline is None or moment == "now":
            return
        target = deadline - timedelta(microseconds=1) if moment == "just before the deadline" else deadline
        self.now = max(self.now, target)

    @rule(nonce=st.sampled_from(NONCES), ttl=ttls)
    def request_email_verification(self, nonce: str, ttl: timedelta) -> None:
        m = self.model
        refusal = m.refusal_unless_open() or (EmailAlreadyVerified if m.verified else None)
        if self.run(
            refusal,
            lambda: self.account.request_email_verification(nonce=nonce, expires_at=self.now + ttl, now=self.now),
            Account.EmailVerificationRequested,
        ):
            m.verification = PendingToken(nonce, self.now + ttl)

    @rule(choice=st.one_of(nonce_choices, st.just("auto")), moment=moments)
    def verify_email(self, choice: str, moment: str) -> None:
        m = self.model
        self.move_clock(moment, m.verification.expires_at if m.verification else None)
        nonce = None if choice == "auto" else pending_nonce(m.verification, choice)
        refusal = m.refusal_unless_open() or (EmailAlreadyVerified if m.verified else None)
        if refusal is None and nonce is not None and not matches(m.verification, nonce, self.now):
            refusal = InvalidToken
        if self.run(refusal, lambda: self.account.verify_email(nonce=nonce, now=self.now), Account.EmailVerified):
            m.verified, m.verification = True, None
            m.status = AccountStatus.ACTIVE if m.status == AccountStatus.PENDING else m.status

    @rule(attempts=st.integers(min_value=1, max_value=POLICY.max_failures), moment=moments)
    def record_failed_logins(self, attempts: int, moment: str) -> None:
        self.move_clock(moment, self.model.locked_until)
        for _ in range(attempts):
            self.record_failed_login()

    def record_failed_login(self) -> None:
        m = self.model
        refusal = m.refusal_unless_open() or (AccountLocked if m.locked(self.now) else None)
        failures = m.failed_logins + 1
        locks = failures >= POLICY.max_failures
        emitted = [Account.LoginFailed, Account.LockedOut] if locks else [Account.LoginFailed]
        if self.run(refusal, lambda: self.account.record_failed_login(now=self.now, policy=POLICY), *emitted):
            m.failed_logins = 0 if locks else failures
            m.locked_until = self.now + POLICY.lockout if locks else m.locked_until

    @rule(moment=moments)
    def record_login(self, moment: str) -> None:
        m = self.model
        self.move_clock(moment, m.locked_until)
        refusal = m.refusal_unless_can_log_in(self.now) or (SecondFactorRequired if m.two_factor.enabled else None)
        if self.run(
            refusal, lambda: self.account.record_login(session_id=SESSION_ID, now=self.now), Account.LoginSucceeded
        ):
            self.logged_in()

    def logged_in(self) -> None:
        m = self.model
        m.failed_logins, m.locked_until, m.last_login_at, m.challenge = 0, None, self.now, None

    # --- two-factor login -----------------------------------------------------------------------

    @rule(sealed=st.sampled_from(SEALED))
    def enrol_two_factor(self, sealed: str) -> None:
        m = self.model
        refusal = m.refusal_unless_usable() or (TwoFactorAlreadyEnabled if m.two_factor.enabled else None)
        if self.run(
            refusal,
            lambda: self.account.enrol_two_factor(sealed_secret=sealed, now=self.now),
            Account.TwoFactorEnrolled,
        ):
            m.two_factor = TwoFactor(sealed_secret=sealed)
            self.confirmed_since_enrolment = False
            self.recovery_hashes_used = set()

    @rule(step=code_steps)
    def confirm_two_factor(self, step: int | None) -> None:
        m = self.model
        refusal = (
            m.refusal_unless_usable()
            or (TwoFactorAlreadyEnabled if m.two_factor.enabled else None)
            or (None if m.two_factor.pending else TwoFactorNotEnrolled)
            or m.refusal_of_code(step)
        )
        if self.run(
            refusal,
            lambda: self.account.confirm_two_factor(step=step, recovery_code_hashes=RECOVERY_HASHES, now=self.now),
            Account.TwoFactorEnabled,
        ):
            m.two_factor = TwoFactor(m.two_factor.sealed_secret, True, list(RECOVERY_HASHES), [], step)
            self.confirmed_since_enrolment = True
            self.recovery_hashes_used = set()

    @rule(step=code_steps)
    def disable_two_factor(self, step: int | None) -> None:
        m = self.model
        refusal = (
            m.refusal_unless_usable()
            or (None if m.two_factor.enabled else TwoFactorNotEnabled)
            or m.refusal_of_code(step)
        )
        if self.run(
            refusal, lambda: self.account.disable_two_factor(step=step, now=self.now), Account.TwoFactorDisabled
        ):
            m.two_factor, m.challenge = TwoFactor(), None
            self.recovery_hashes_used = set()

    @rule(nonce=st.sampled_from(NONCES), ttl=ttls)
    def challenge_second_factor(self, nonce: str, ttl: timedelta) -> None:
        m = self.model
        refusal = m.refusal_unless_can_log_in(self.now) or (None if m.two_factor.enabled else TwoFactorNotEnabled)
        if self.run(
            refusal,
            lambda: self.account.challenge_second_factor(nonce=nonce, expires_at=self.now + ttl, now=self.now),
            Account.SecondFactorChallenged,
        ):
            m.challenge = PendingToken(nonce, self.now + ttl)

    def refusal_of_second_step(
        self, choice: str, moment: str, challenged_first: bool
    ) -> tuple[str, type[DomainError] | None]:
        if challenged_first:  # the password step just before, as a login does it
            self.challenge_second_factor(NONCES[1], timedelta(minutes=5))
        m = self.model
        self.move_clock(moment, m.challenge.expires_at if m.challenge else None)
        nonce = pending_nonce(m.challenge, choice)
        refusal = m.refusal_unless_can_log_in(self.now) or (
            None if m.two_factor.enabled and matches(m.challenge, nonce, self.now) else InvalidLoginChallenge
        )
        return nonce, refusal

    @rule(choice=challenge_choices, step=code_steps, moment=moments, challenged_first=st.booleans())
    def log_in_with_code(self, choice: str, step: int | None, moment: str, challenged_first: bool) -> None:
        nonce, refusal = self.refusal_of_second_step(choice, moment, challenged_first)
        m = self.model
        if self.run(
            refusal or m.refusal_of_code(step),
            lambda: self.account.record_login_with_code(nonce=nonce, step=step, session_id=SESSION_ID, now=self.now),
            Account.OneTimeCodeUsed,
            Account.LoginSucceeded,
        ):
            m.two_factor = TwoFactor(**{**vars(m.two_factor), "last_step": step})
            self.logged_in()

    @rule(
        choice=challenge_choices,
        code_hash=st.sampled_from([*RECOVERY_HASHES, NEVER_ISSUED, USED_ONE]),
        moment=moments,
        challenged_first=st.booleans(),
    )
    def log_in_with_recovery_code(self, choice: str, code_hash: str, moment: str, challenged_first: bool) -> None:
        nonce, refusal = self.refusal_of_second_step(choice, moment, challenged_first)
        m = self.model
        if code_hash == USED_ONE:
            code_hash = min(self.recovery_hashes_used, default=RECOVERY_HASHES[0])
        unused = code_hash in m.two_factor.recovery_code_hashes and code_hash not in self.recovery_hashes_used
        if self.run(
            refusal or (None if unused else InvalidSecondFactor),
            lambda: self.account.record_login_with_recovery_code(
                nonce=nonce, code_hash=code_hash, session_id=SESSION_ID, now=self.now
            ),
            Account.RecoveryCodeUsed,
            Account.LoginSucceeded,
        ):
            index = m.two_factor.recovery_code_hashes.index(code_hash)
            used = sorted({*m.two_factor.recovery_codes_used, index})
            m.two_factor = TwoFactor(**{**vars(m.two_factor), "recovery_codes_used": used})
            self.recovery_hashes_used.add(code_hash)
            self.logged_in()

    @rule(password_hash=password_hashes)
    def change_password(self, password_hash: str) -> None:
        if self.run(
            self.model.refusal_unless_usable(),
            lambda: self.account.change_password(password_hash=password_hash, now=self.now),
            Account.PasswordChanged,
        ):
            self.model.password_hash = password_hash
            self.model.challenge = None

    @rule(nonce=st.sampled_from(NONCES), ttl=ttls)
    def request_password_reset(self, nonce: str, ttl: timedelta) -> None:
        if self.run(
            self.model.refusal_unless_usable(),
            lambda: self.account.request_password_reset(nonce=nonce, expires_at=self.now + ttl, now=self.now),
            Account.PasswordResetRequested,
        ):
            self.model.password_reset = PendingToken(nonce, self.now + ttl)

    @rule(choice=nonce_choices, password_hash=password_hashes, moment=moments)
    def reset_password(self, choice: str, password_hash: str, moment: str) -> None:
        m = self.model
        self.move_clock(moment, m.password_reset.expires_at if m.password_reset else None)
        nonce = pending_nonce(m.password_reset, choice)
        refusal = m.refusal_unless_usable() or (None if matches(m.password_reset, nonce, self.now) else InvalidToken)
        if self.run(
            refusal,
            lambda: self.account.reset_password(nonce=nonce, password_hash=password_hash, now=self.now),
            Account.PasswordReset,
        ):
            m.password_hash, m.password_reset, m.failed_logins, m.locked_until = password_hash, None, 0, None
            m.challenge = None

    @rule(profile=profiles)
    def update_profile(self, profile: Profile) -> None:
        if self.run(
            self.model.refusal_unless_usable(),
            lambda: self.account.update_profile(profile=profile, now=self.now),
            Account.ProfileUpdated,
        ):
            self.model.profile = profile

    @rule(role=roles)
    def assign_role(self, role: str) -> None:
        m = self.model
        refusal = (
            m.refusal_unless_open()
            or (UnknownRole if role not in ROLES else None)
            or (RoleAlreadyAssigned if role in m.roles else None)
        )
        if self.run(refusal, lambda: self.account.assign_role(role=role, now=self.now), Account.RoleAssigned):
            m.roles.add(role)

    @rule(role=roles)
    def revoke_role(self, role: str) -> None:
        m = self.model
        refusal = (
            m.refusal_unless_open()
            or (UnknownRole if role not in ROLES else None)
            or (RoleNotAssigned if role not in m.roles else DefaultRoleRequired if role == DEFAULT_ROLE else None)
        )
        if self.run(refusal, lambda: self.account.revoke_role(role=role, now=self.now), Account.RoleRevoked):
            m.roles.discard(role)

    @rule(reason=st.sampled_from(["fraud check", "chargeback"]))
    def suspend(self, reason: str) -> None:
        m = self.model
        refusal = m.refusal_unless_open() or (AccountAlreadySuspended if m.status == AccountStatus.SUSPENDED else None)
        if self.run(refusal, lambda: self.account.suspend(reason=reason, now=self.now), Account.Suspended):
            m.status = AccountStatus.SUSPENDED

    @rule()
    def reactivate(self) -> None:
        m = self.model
        refusal = m.refusal_unless_open() or (AccountNotSuspended if m.status != AccountStatus.SUSPENDED else None)
        if self.run(refusal, lambda: self.account.reactivate(now=self.now), Account.Reactivated):
            m.status = AccountStatus.ACTIVE if m.verified else AccountStatus.PENDING

    @rule(by_owner=st.booleans())
    def close(self, by_owner: bool) -> None:
        m = self.model
        if self.run(
            m.refusal_unless_open(),
            lambda: self.account.close(reason="requested", by_owner=by_owner, now=self.now),
            Account.Closed,
        ):
            m.status, m.verification, m.password_reset, m.challenge = AccountStatus.CLOSED, None, None, None
            self.ever_closed = True

    @rule(by_owner=st.booleans())
    def erase(self, by_owner: bool) -> None:
        m = self.model
        emitted = (Account.Erased,) if m.status == AccountStatus.CLOSED else (Account.Closed, Account.Erased)
        refusal = AccountAlreadyErased if m.erased else None
        if self.run(refusal, lambda: self.account.erase(by_owner=by_owner, now=self.now), *emitted):
            m.status, m.verification, m.password_reset, m.challenge = AccountStatus.CLOSED, None, None, None
            m.profile, m.password_hash, m.two_factor, m.erased = Profile(ERASED, ERASED), "", TwoFactor(), True
            self.ever_closed = True
            self.recovery_hashes_used = set()  # erasure drops the second factor with the rest
            # As the application does once the event is saved: the store now reads every earlier event erased.
            personal = self.recorder.app.metadata_mapper.personal
            assert personal is not None
            personal.destroy(self.account.id)

    # --- after every step ----------------------------------------------------------------------

    @invariant()
    def the_account_agrees_with_the_model(self) -> None:
        a, m = self.account, self.model
        assert a.status == m.status
        assert a.roles == sorted(m.roles)
        assert a.email_verified is m.verified
        assert a.failed_logins == m.failed_logins
        assert a.locked_until == m.locked_until
        assert a.last_login_at == m.last_login_at
        assert a.verification == m.verification
        assert a.password_reset == m.password_reset
        assert a.password_hash == m.password_hash
        assert a.profile == m.profile
        assert a.two_factor == m.two_factor
        assert a.login_challenge == m.challenge
        assert a.erased is m.erased
        assert (a.email == ERASED) is m.erased

    @invariant()
    def two_factor_is_on_only_after_a_confirmation(self) -> None:
        two_factor = self.account.two_factor
        assert not two_factor.enabled or self.confirmed_since_enrolment
        assert not two_factor.enabled or (two_factor.sealed_secret is not None and two_factor.recovery_code_hashes)

    @invariant()
    def a_used_recovery_code_is_never_unused_again(self) -> None:
        two_factor = self.account.two_factor
        used = {two_factor.recovery_code_hashes[i] for i in two_factor.recovery_codes_used}
        assert used == self.recovery_hashes_used
        assert two_factor.recovery_codes_left == len(two_factor.recovery_code_hashes) - len(used)

    @invariant()
    def roles_are_known_and_include_the_user_role(self) -> None:
        assert set(self.account.roles) <= ROLES
        assert DEFAULT_ROLE in self.account.roles

    @invariant()
    def the_status_is_one_of_the_four(self) -> None:
        assert self.account.status in STATUSES

    @invariant()
    def failed_logins_stay_below_the_limit(self) -> None:
        assert 0 <= self.account.failed_logins < POLICY.max_failures

    @invariant()
    def a_closed_account_stays_closed(self) -> None:
        assert not self.ever_closed or self.account.status == AccountStatus.CLOSED

    @invariant()
    def a_phone_has_both_parts_or_neither(self) -> None:
        profile = self.account.profile
        assert (profile.phone_country_code is None) == (profile.phone_number is None)

    @invariant()
    def the_account_rebuilt_from_its_events_equals_the_live_one(self) -> None:
        assert rebuild(self.recorder.events) == self.account

    @invariant()
    def the_account_read_back_from_the_store_equals_the_live_one(self) -> None:
        assert self.recorder.stored(self.account) == self.account


AccountMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestAccountMachine = AccountMachine.TestCase
