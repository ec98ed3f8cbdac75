"""Named domain errors. Each carries a stable ``code`` and a ``category`` the edges map once.

A context's errors subclass ``DomainError`` (or one of the generic ones below) and set their
category; the HTTP layer turns a category into a status, so a new context never edits the mapping.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any


class Category(StrEnum):
    """What kind of refusal an error is; the edges decide how each kind is answered."""

    NOT_FOUND = "not_found"
    CONFLICT = "conflict"  # the command breaks a rule against the current state
    INVALID = "invalid"  # the command's input is not acceptable, whatever the state
    FORBIDDEN = "forbidden"  # the caller may not do this to this resource
    UNAUTHENTICATED = "unauthenticated"  # the credentials or session are not (or no longer) good
    LOCKED = "locked"  # refused for a while; ``retry_at`` says until when
    STALE = "stale"  # the caller's expected version is not the current one
    BAD_TOKEN = "bad_token"  # noqa: S105 - a category name: an emailed token that is malformed, forged, used or expired
    TOO_LARGE = "too_large"
    UNSUPPORTED = "unsupported"  # a payload of a kind that is not read


class DomainError(Exception):
    """A business rule refused a command."""

    code = "domain_error"
    title = "The command breaks a business rule"
    category = Category.CONFLICT
    # When the refusal ends (a lockout), and the version that is current (a stale If-Match), if known.
    retry_at: datetime | None = None
    current_version: int | None = None

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.title
        super().__init__(self.detail)

    def extensions(self) -> dict[str, Any]:
        """Further members of the problem (e.g. a list of invalid fields); none by default."""
        return {}


class NotFound(DomainError):
    code = "not_found"
    title = "No such resource"
    category = Category.NOT_FOUND


class InvalidInput(DomainError):
    """Input a command cannot take, whatever the state (a generic base for a context's own errors)."""

    code = "invalid_input"
    title = "The input is not valid"
    category = Category.INVALID


class ConcurrencyConflict(DomainError):
    """Another command changed the same stream first (a lost write race)."""

    code = "concurrency_conflict"
    title = "Another change was written first; reload and retry"


class VersionMismatch(DomainError):
    """The client's expected version (If-Match) is not the current one."""

    code = "version_mismatch"
    title = "The resource has changed since the version you sent"
    category = Category.STALE

    def __init__(self, expected: int, actual: int) -> None:
        self.expected = expected
        self.actual = actual
        self.current_version = actual
        super().__init__(f"Expected version {expected}, but the current version is {actual}")


class CheckpointsUnavailable(NotFound):
    """No key signs the hash chain's checkpoints here (``CHAIN_SIGNING_KEY`` is unset on a server)."""

    code = "checkpoints_unconfigured"
    title = "This deployment signs no checkpoints: CHAIN_SIGNING_KEY is not set"


class ChainBroken(DomainError):
    """The log's last event has no chain link, so no checkpoint can vouch for it; verifying says why."""

    code = "chain_broken"
    title = "The stored hash chain is broken at its head: verify the log"
    category = Category.CONFLICT
