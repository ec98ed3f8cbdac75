"""Which characters a stored text may hold: the one rule every edge (HTTP, uploads) applies.

PostgreSQL's text cannot hold NUL, and its UTF-8 cannot hold a lone surrogate; other control
characters (C0, DEL, C1) have no business in names, numbers or notes, and break whoever later reads
them (terminals, CSV exports, mail headers). Multi-line text keeps its line feeds and tabs.
"""

from __future__ import annotations

import re

_SINGLE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_MULTI_LINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def unstorable(text: str, *, multi_line: bool = False) -> str | None:
    """Why ``text`` may not be stored (its first offending character), or ``None`` when it may."""
    found = (_MULTI_LINE if multi_line else _SINGLE_LINE).search(text)
    if found is None:
        return None
    char = found.group()
    kind = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "a control character"
    return f"contains {kind} (U+{ord(char):04X} at position {found.start()})"
