"""Every context appends to the one global log."""

from application.accounts.application import AccountsApplication
from application.shared.application import ChronicleApplication


def test_every_context_application_is_named_after_the_one_log() -> None:
    class AnotherContext(ChronicleApplication):
        pass

    assert AccountsApplication.name == AnotherContext.name == "Chronicle"
