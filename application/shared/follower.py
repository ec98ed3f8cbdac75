"""Event handlers that follow the log: projections and policies name the events they handle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from eventsourcing.persistence import Notification
from eventsourcing.utils import TopicError, get_topic, resolve_topic

from application.shared.metadata import MetadataMapper

TView = TypeVar("TView")
Handler = Callable[..., None]


def handles(event_class: type[Any]) -> Callable[[Handler], Handler]:
    """Mark a method as the handler of ``event_class``."""

    def mark(method: Handler) -> Handler:
        method.__dict__.setdefault("_handles", []).append(event_class)
        return method

    return mark


class EventHandlers(Generic[TView]):
    """Follows the log under a ``name``, with one handler per event type it cares about.

    A runner feeds it batches; each handler gets the event, the batch's view (a read
    model's writer, or nothing for a policy) and the event's metadata. The runner commits
    the batch's writes with the tracking position, so a batch is applied wholly or not at all.
    """

    name: ClassVar[str]
    _handlers: ClassVar[dict[str, Handler]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._handlers = {}
        for attribute in vars(cls).values():
            for event_class in getattr(attribute, "_handles", []):
                cls._handlers[get_topic(event_class)] = attribute

    def __init__(self) -> None:
        # What this instance handles: the class's handlers, and those given by ``also_handle``.
        self._handling: dict[str, Handler] = dict(self._handlers)
        # Stored topics seen so far, and whether this follower handles them. A stored topic may be
        # an old name of a moved class (see domain.shared.topics): it is resolved once, then known.
        self._wanted: dict[str, bool] = dict.fromkeys(self._handling, True)

    def also_handle(self, event_class: type[Any], handler: Handler) -> None:
        """Handle ``event_class`` with ``handler`` (a method of this class, unbound): for an event of
        another context, which the composition root names, so the follower need not import it."""
        topic = get_topic(event_class)
        self._handling[topic] = handler
        self._wanted = dict.fromkeys(self._handling, True)

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(self._handling)

    def wants(self, stored_topic: str) -> bool:
        """Whether an event stored under ``stored_topic`` is handled (without decoding it)."""
        wanted = self._wanted.get(stored_topic)
        if wanted is None:
            try:
                wanted = get_topic(resolve_topic(stored_topic)) in self._handling
            except TopicError:  # a class no module of this process defines: not one of ours
                wanted = False
            self._wanted[stored_topic] = wanted
        return wanted

    def take(self, notification: Notification, mapper: MetadataMapper, view: TView) -> None:
        """Apply one stored event this follower wants: decoded, with its metadata, by its handler.

        A follower of the log itself rather than of its events (the audit index) overrides this and
        ``wants``, and reads the stored record as it is."""
        event, metadata = mapper.to_event_and_metadata(notification)
        self.process(event, view, metadata)

    def process(self, event: Any, view: TView, meta: dict[str, Any]) -> None:
        handler = self._handling.get(get_topic(type(event)))
        if handler is not None:
            handler(self, event, view, meta)
