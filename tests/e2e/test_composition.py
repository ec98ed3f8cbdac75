"""The composition root builds every context from settings, and any adapter can be passed in instead."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from application.accounts.application import AccountsApplication
from application.shared.commands import Clock as ClockPort
from application.shared.commands import CommandContext
from application.shared.ports import Mailer, MailMessage
from domain.accounts.values import Profile
from infrastructure.accounts.tables import accounts
from infrastructure.root import Adapters, Chronicle
from infrastructure.shared.readstore import create_read_engine
from tests.conftest import Clock, make_settings


class CollectingMailer(Mailer):
    """A mail sender that keeps what it is given (the outside world's SMTP server, faked)."""

    def __init__(self) -> None:
        self.sent: list[MailMessage] = []

    def send(self, message: MailMessage) -> None:
        self.sent.append(message)


def test_building_the_root_connects_to_nothing_until_it_is_opened(tmp_path: Path) -> None:
    Chronicle(make_settings(tmp_path, None, None))

    assert not (tmp_path / "data").exists()


def test_a_mailer_clock_and_read_store_passed_in_are_the_ones_used(tmp_path: Path) -> None:
    mailer, clock = CollectingMailer(), Clock()
    elsewhere = tmp_path / "elsewhere.sqlite3"
    engine = create_read_engine(f"sqlite+pysqlite:///{elsewhere}", writer=True)
    settings = make_settings(tmp_path, None, None, superadmin_email=None)
    chronicle = Chronicle(settings, clock=clock, adapters=Adapters(mailer=mailer, write_engine=engine))
    chronicle.start(run_projections=False)
    try:
        result = chronicle.accounts.register_account(
            CommandContext.system("test", clock()),
            email="ada@example.com",
            password="Passw0rd!",
            profile=Profile("A", "L"),
        )
        chronicle.runners["mail"].catch_up()
        chronicle.runners["accounts"].catch_up()

        assert [message.to for message in mailer.sent] == ["ada@example.com"]
        assert not settings.mail_folder.exists()  # the built-in .eml mailer was never used
        with engine.connect() as conn:  # the projection wrote into the read store it was given
            assert conn.execute(select(accounts.c.id)).scalars().all() == [result.id]
        assert chronicle.services[ClockPort] is clock
        assert chronicle.services[AccountsApplication] is chronicle.accounts
    finally:
        chronicle.close()
