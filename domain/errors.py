"""Named domain errors. Each carries a stable ``code`` the HTTP edge turns into a problem."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A business rule refused a command."""

    code = "domain_error"
    title = "The command breaks a business rule"

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.title
        super().__init__(self.detail)

    def extensions(self) -> dict[str, Any]:
        """Further members of the problem (e.g. a list of invalid fields); none by default."""
        return {}


class NotFound(DomainError):
    code = "not_found"
    title = "No such resource"


class ConcurrencyConflict(DomainError):
    """Another command changed the same stream first (a lost write race)."""

    code = "concurrency_conflict"
    title = "Another change was written first; reload and retry"


class VersionMismatch(DomainError):
    """The client's expected version (If-Match) is not the current one."""

    code = "version_mismatch"
    title = "The resource has changed since the version you sent"

    def __init__(self, expected: int, actual: int) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(f"Expected version {expected}, but the current version is {actual}")
