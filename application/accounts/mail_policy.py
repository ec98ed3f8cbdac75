"""Mail policy: follows the log and sends verification and reset mails (outbox style).

The runner records this policy's position after each batch. A crash between sending and
recording resends the same messages under the same ids, which the mailer delivers once, so
no mail is lost and none is repeated.
"""

from __future__ import annotations

from typing import Any

from application.accounts.application import AccountsApplication
from application.accounts.ports import TokenSigner
from application.shared.follower import EventHandlers, handles
from application.shared.ports import Mailer, MailMessage
from domain.accounts.account import Account
from domain.shared.personal_data import ERASED

VERIFY_PURPOSE = "verify-email"
RESET_PURPOSE = "reset-password"


class MailPolicy(EventHandlers[None]):
    """Sends the mails that Account events ask for."""

    name = "mail"

    def __init__(self, accounts: AccountsApplication, mailer: Mailer, signer: TokenSigner, base_url: str) -> None:
        super().__init__()
        self.accounts = accounts
        self.mailer = mailer
        self.signer = signer
        self.base_url = base_url.rstrip("/")

    @handles(Account.EmailVerificationRequested)
    def verification_requested(self, e: Account.EmailVerificationRequested, view: None, meta: dict[str, Any]) -> None:
        token = self.signer.sign(VERIFY_PURPOSE, e.originator_id, e.nonce)
        self._send(
            e,
            subject="Verify your email address",
            body=(
                "Welcome to Chronicle.\n\n"
                f"Verify your email address with this token (valid until {e.expires_at.isoformat()}):\n\n"
                f"    {token}\n\n"
                f'POST it to {self.base_url}/api/v1/auth/verify-email as {{"token": "..."}}.\n'
            ),
        )

    @handles(Account.PasswordResetRequested)
    def reset_requested(self, e: Account.PasswordResetRequested, view: None, meta: dict[str, Any]) -> None:
        token = self.signer.sign(RESET_PURPOSE, e.originator_id, e.nonce)
        self._send(
            e,
            subject="Reset your password",
            body=(
                "Someone asked to reset the password of your Chronicle account.\n\n"
                f"Use this token (valid until {e.expires_at.isoformat()}):\n\n"
                f"    {token}\n\n"
                f"POST it with your new password to {self.base_url}/api/v1/auth/reset-password.\n"
                "If it was not you, ignore this mail.\n"
            ),
        )

    def _send(self, e: Any, *, subject: str, body: str) -> None:
        # The address as of this event: later events (a closure) must not change what was asked.
        account: Account = self.accounts.repository.get(e.originator_id, version=e.originator_version)
        if account.email == ERASED:  # erased before the mail went: there is no address to send it to
            return
        self.mailer.send(
            MailMessage(
                message_id=f"{e.originator_id}-{e.originator_version}",
                to=account.email,
                subject=subject,
                body=body,
            )
        )
