"""Local mail delivery: each message becomes one .eml file named by its message id."""

from __future__ import annotations

import os
import tempfile
from email.message import EmailMessage
from pathlib import Path

from application.shared.ports import MailMessage


class EmlFolderMailer:
    """Writes ``<message_id>.eml`` atomically; delivering the same id again replaces, never duplicates."""

    def __init__(self, folder: Path, sender: str = "Chronicle <no-reply@chronicle.local>") -> None:
        self.folder = folder
        self.sender = sender

    def send(self, message: MailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Message-ID"] = f"<{message.message_id}@chronicle.local>"
        # 7bit keeps the token on one line, so it can be copied out of the file as it is.
        mail.set_content(message.body, cte="7bit")
        target = self.folder / f"{message.message_id}.eml"
        fd, temp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(bytes(mail))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
