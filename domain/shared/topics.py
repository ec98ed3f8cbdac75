"""Old topics of moved classes: events are stored contracts, so a stored topic must keep resolving.

A stored event names its class by topic (``module:QualName``). When a class moves to another
module, the old topic is registered here, beside the class, so logs written before the move
still load (``eventsourcing.utils.register_topic``).
"""

from __future__ import annotations

from eventsourcing.utils import register_topic


def moved(old_module: str, cls: type, *, as_name: str | None = None) -> None:
    """``cls`` (and its nested event classes) used to live in ``old_module``, named ``as_name``."""
    register_topic(f"{old_module}:{as_name or cls.__qualname__}", cls)
