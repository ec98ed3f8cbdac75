"""Personal data in events: which fields hold it, and what they read as once erased.

An event class lists its personal fields in ``personal_fields`` (field name -> the value the
field takes once its subject is erased); an aggregate lists the personal parts of its snapshot
state in ``personal_state`` (dotted paths: ``"profile.first_name"``). The event store's mapper
(application/shared/metadata.py) seals these values with a key of the event's stream before they
are stored, and opens them when they are read: the domain only declares them, and sees them in
clear, or as ``ERASED`` once the stream's key was destroyed (crypto-shredding).
"""

from __future__ import annotations

from typing import Any

from domain.shared.errors import DomainError

# What an erased text field reads as, in the aggregate, the read models and the audit API.
ERASED = "[erased]"

PersonalFields = dict[str, Any]


class PersonalDataErased(DomainError):
    """Personal data was to be stored for a subject erased meanwhile (a command that lost a race with an
    erasure): nothing is stored, the command is refused as a conflict."""

    code = "account_erased"
    title = "The account's personal data was erased"
