"""The mail policy sends one verification mail per registration, and replaying it sends nothing twice."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from pathlib import Path

from application.accounts.mail_policy import VERIFY_PURPOSE
from infrastructure.root import Chronicle
from infrastructure.shared.readstore import write_position
from tests.conftest import Clock
from tests.integration.conftest import ContainerFactory, context, register

_TOKEN = re.compile(r"^\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)\s*$", re.MULTILINE)


def mails(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())} if folder.exists() else {}


def token_in(raw: bytes) -> str:
    body = message_from_bytes(raw, policy=policy.default).get_content()
    found = _TOKEN.findall(body)
    assert len(found) == 1, body
    return found[0]


def test_given_manual_verification_when_an_account_registers_then_one_mail_carries_a_token_that_verifies_it(
    make_container: ContainerFactory, clock: Clock
) -> None:
    container: Chronicle = make_container(auto_verify_email=False)
    account_id = register(container, clock, "Mail.Me@Example.com")

    container.runners["mail"].catch_up()

    sent = mails(container.settings.mail_folder)
    assert len(sent) == 1
    [(name, raw)] = sent.items()
    assert name.endswith(".eml")
    message = message_from_bytes(raw, policy=policy.default)
    assert message["To"] == "Mail.Me@Example.com"
    token_account, nonce = container.signer.parse(VERIFY_PURPOSE, token_in(raw))
    assert token_account == account_id

    container.accounts.verify_email(context(clock), token_account, nonce)
    assert container.accounts.repository.get(account_id).email_verified is True


def test_given_mails_already_sent_when_the_mail_policy_replays_from_position_zero_then_no_mail_is_duplicated(
    make_container: ContainerFactory, clock: Clock
) -> None:
    container: Chronicle = make_container(auto_verify_email=False)
    for n in range(3):
        register(container, clock, f"replay-{n}@example.com")
    container.accounts.request_password_reset(context(clock), email="replay-0@example.com")
    runner = container.runners["mail"]
    runner.catch_up()
    first = mails(container.settings.mail_folder)
    assert len(first) == 3 + 1  # three verification mails and one reset mail

    with container.write_engine.begin() as conn:
        write_position(conn, "mail", 0)
    assert container.stored_position("mail") == 0
    runner.catch_up()

    again = mails(container.settings.mail_folder)
    assert again == first  # same files, same messages
    assert container.stored_position("mail") == container.head_position()
