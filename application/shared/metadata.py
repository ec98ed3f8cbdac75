"""How events are stored: the command's metadata inside each event, personal fields sealed, Chronicle's transcodings.

Personal fields (``personal_fields`` of an event class, ``personal_state`` of an aggregate for its
snapshots: see domain/shared/personal_data.py) are sealed here, before the transcoder sees the
event, and opened here after it decoded one: they are plain strings in the stored state, so the
encryption does not depend on the transcoder. A value stored in clear by older code stays as it is
(stored bytes are never rewritten) and is read as it is until its subject is erased; a value whose
subject's key was destroyed reads as the field's erased value, whether it was sealed or in clear.

A load (the repository, ``to_domain_event_deferred``) opens nothing: the sealed values are folded
into the aggregate as ``Unopened`` strings (their stored text) and, after the fold, the attributes
holding them are kept aside (``defer_personal_state``) and opened when first read
(``DefersPersonalState``). Followers, auditors and historical loads (snapshots are taken from those)
get every value opened, as before.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import fields, is_dataclass, replace
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Snapshot
from eventsourcing.persistence import Mapper, Notification, StoredEvent, Transcoding
from eventsourcing.utils import TopicError, resolve_topic

from application.shared.commands import CommandContext
from application.shared.ports import PersonalDataCipher
from domain.shared.personal_data import DEFERRED_STATE, ERASED, DefersPersonalState, PersonalFields

METADATA_KEY = "__meta__"

_metadata: ContextVar[dict[str, str] | None] = ContextVar("chronicle_event_metadata", default=None)


@contextmanager
def recording_metadata(ctx: CommandContext) -> Iterator[None]:
    """Events encoded inside this block carry ``ctx``'s actor, correlation and causation ids."""
    token = _metadata.set(ctx.metadata())
    try:
        yield
    finally:
        _metadata.reset(token)


class PersonalDataUnprotected(RuntimeError):
    """An event with personal fields was to be stored, or a sealed one read, without a cipher."""


class MetadataMapper(Mapper[UUID]):
    """Stores the command's metadata (actor, correlation, causation) inside each event's state,
    and seals the personal fields of events and snapshots with their stream's key (``personal``)."""

    personal: PersonalDataCipher | None = None

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        metadata = _metadata.get()
        state = self._sealed(domain_event)
        if metadata is not None or state is not None:
            domain_event = copy.copy(domain_event)
            new_state = state if state is not None else dict(vars(domain_event))
            if metadata is not None:
                new_state[METADATA_KEY] = metadata
            object.__setattr__(domain_event, "__dict__", new_state)
        return super().to_stored_event(domain_event)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return self.to_event_and_metadata(stored_event)[0]

    def to_event_and_metadata(self, stored_event: StoredEvent) -> tuple[Any, dict[str, str]]:
        """The domain event, and the metadata it was stored with (empty for older events)."""
        event = super().to_domain_event(stored_event)
        metadata: dict[str, str] = vars(event).pop(METADATA_KEY, None) or {}
        self._open(type(event), vars(event), _uuid(stored_event.originator_id), typed=True)
        return event, metadata

    def to_domain_event_deferred(self, stored_event: StoredEvent) -> Any:
        """The domain event for a load's fold: its sealed personal values left sealed, as ``Unopened``."""
        event = super().to_domain_event(stored_event)
        vars(event).pop(METADATA_KEY, None)
        self._open(type(event), vars(event), _uuid(stored_event.originator_id), typed=True, defer=True)
        return event

    def decode_state(self, stored_event: StoredEvent | Notification) -> dict[str, Any]:
        """The stored state as a dict, metadata included (for auditors): personal fields opened, or
        ``ERASED`` once their key was destroyed."""
        state = stored_event.state
        if self.cipher:
            state = self.cipher.decrypt(state)
        if self.compressor:
            state = self.compressor.decompress(state)
        decoded: dict[str, Any] = self.transcoder.decode(state)
        try:
            cls = resolve_topic(stored_event.topic)
        except TopicError:
            return decoded  # a class no module defines any more: no declared personal fields to open
        self._open(cls, decoded, _uuid(stored_event.originator_id), typed=False)
        return decoded

    # --- personal fields ------------------------------------------------------------------

    def prefetch_keys(
        self, notifications: Iterable[Notification | StoredEvent], wants: Callable[[str], bool] | None = None
    ) -> None:
        """Ahead of decoding a batch or a page of events (those of them ``wants``, by topic): the personal-data
        keys of their streams in one lookup, for the events that hold personal values. Other events need no
        key: asking for theirs found none, batch after batch (a work order's stream has no key row)."""
        if self.personal is None:
            return
        holds = holds_personal_values
        subjects = {
            _uuid(n.originator_id) for n in notifications if (wants is None or wants(n.topic)) and holds(n.topic)
        }
        if subjects:
            self.personal.prefetch(subjects)

    def ensure_keys(self, subject_ids: Collection[UUID]) -> None:
        """Ahead of storing many new streams' events (a bulk load): their personal-data keys made at once."""
        if self.personal is not None and subject_ids:
            self.personal.ensure_keys(subject_ids)

    def _sealed(self, domain_event: Any) -> dict[str, Any] | None:
        """The event's state with its personal values sealed, or None when it has none."""
        paths, root = _personal_paths(type(domain_event), vars(domain_event))
        if not paths:
            return None
        if root and DEFERRED_STATE in domain_event.state:  # a snapshot of a lazily loaded aggregate
            aggregate_state = dict(domain_event.state)
            for name, opening in aggregate_state.pop(DEFERRED_STATE).items():
                aggregate_state.setdefault(name, opening())
            domain_event = copy.copy(domain_event)
            object.__setattr__(domain_event, "__dict__", {**vars(domain_event), "state": aggregate_state})
        if self.personal is None:
            raise PersonalDataUnprotected(
                f"{type(domain_event).__qualname__} holds personal data: no cipher to seal it"
            )
        subject = domain_event.originator_id
        state = dict(vars(domain_event))
        container = dict(state[root]) if root else state
        for path, _erased, _dotted in paths:
            value = _get(container, path)
            if isinstance(value, Unopened):  # sealed for where a load found it: sealed anew for this path
                value = value.open()
                container = _set(container, path, value)
            if value is not None and value != ERASED and not self.personal.is_sealed(value):
                container = _set(container, path, self.personal.seal(subject, path, value))
        if root:
            state[root] = container
            return state
        return container

    def _open(self, cls: type[Any], state: dict[str, Any], subject: UUID, *, typed: bool, defer: bool = False) -> None:
        """Open the sealed personal values of ``state`` in place; ``typed``: erased as the field's erased
        value (a domain object), else as ``ERASED`` whatever the field (what an auditor reads); ``defer``
        (typed only): sealed values become ``Unopened``, opened when read."""
        paths, root = _personal_paths(cls, state)
        if not paths:
            return
        container = state[root] if root else state
        if not isinstance(container, dict):
            return
        if root:  # a snapshot's aggregate state: copied once, then opened in place like an event's state
            container = state[root] = dict(container)
        personal = self.personal
        hidden: bool | None = None  # whether the subject is erased: asked once, for a value stored in clear
        for path, erased, dotted in paths:
            value = _get(container, path) if dotted else container.get(path)
            if value is None or value == ERASED:
                continue
            if personal is None:
                if isinstance(value, str) and value.startswith(SEALED_PREFIX):
                    raise PersonalDataUnprotected("A sealed personal value was read: no cipher to open it")
                continue
            if isinstance(value, str) and value.startswith(SEALED_PREFIX):
                if defer:
                    _put(container, path, dotted, Unopened(value, personal, subject, path, erased))
                    continue
                try:
                    opened = personal.open(subject, path, value)
                except Exception:
                    if typed:
                        raise  # an aggregate or a projection never decides on a value that does not open
                    # An auditor reads on: the value was altered, or copied from another stream (the hash
                    # chain says which event changed); the rest of the log stays readable and exportable.
                    _put(container, path, dotted, UNREADABLE)
                    continue
            else:  # stored in clear by older code: shown while the subject is not erased
                if hidden is None:
                    hidden = personal.erased(subject)
                opened = None if hidden else value
            if opened is None:
                opened = erased if typed else ERASED
            elif not typed and isinstance(opened, date):
                opened = opened.isoformat()
            _put(container, path, dotted, opened)


class Unopened(str):
    """A sealed personal value on its way through a load's fold: its stored text, and how it opens.

    It is immutable and holds no clear text, so copies of an aggregate share it.
    """

    _personal: PersonalDataCipher
    _subject: UUID
    _path: str
    _erased: Any

    def __new__(cls, sealed: str, personal: PersonalDataCipher, subject: UUID, path: str, erased: Any) -> Unopened:
        value = super().__new__(cls, sealed)
        value._personal, value._subject, value._path, value._erased = personal, subject, path, erased
        return value

    def open(self) -> Any:
        """What an eager load reads: the value, or the field's erased value; raises for a value that does not
        open under its stream's key (an aggregate never decides on it)."""
        opened = self._personal.open(self._subject, self._path, str(self))
        return self._erased if opened is None else opened

    def __copy__(self) -> Unopened:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Unopened:
        return self


class _Deferred:
    """An aggregate attribute kept aside with the unopened values inside it (at ``paths`` within it, ``""``
    for the attribute itself); opened once, when first read through any copy of the aggregate."""

    __slots__ = ("_opened", "_paths", "_value")

    def __init__(self, value: Any, paths: list[str]) -> None:
        self._value = value
        self._paths = paths
        self._opened: tuple[Any] | None = None

    def __call__(self) -> Any:
        if self._opened is None:
            value = self._value
            for path in self._paths:
                value = _set(value, path, _get(value, path).open()) if path else value.open()
            self._opened = (value,)  # immutable values only (text, dates, frozen dataclasses): shared by copies
        return self._opened[0]

    def __repr__(self) -> str:
        return "<unopened>"

    def __copy__(self) -> _Deferred:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Deferred:
        return self


def defer_personal_state(aggregate: Any) -> None:
    """After a load's fold: keep aside the attributes of ``aggregate`` that hold ``Unopened`` values, to be
    opened when read (``DefersPersonalState``); an aggregate class without that opens them now."""
    state = vars(aggregate)
    roots: dict[str, list[str]] = {}
    for root, rest, parts in _deferrable_paths(type(aggregate)):
        if isinstance(_get_parts(state, parts), Unopened):
            roots.setdefault(root, []).append(rest)
    if roots:
        deferred = {root: _Deferred(state.pop(root), paths) for root, paths in roots.items()}
        if isinstance(aggregate, DefersPersonalState):
            state.setdefault(DEFERRED_STATE, {}).update(deferred)
        else:
            state.update({root: opening() for root, opening in deferred.items()})
    for name, value in state.items():  # one left where personal_state does not say: opened at once
        if isinstance(value, Unopened):
            state[name] = value.open()


# Per aggregate class: each path of its ``personal_state`` as (root attribute, the rest, its parts), worked out
# once (every load asks; the classes declare them as constants, like their events' ``personal_fields``).
_DEFERRABLE: dict[type[Any], tuple[tuple[str, str, tuple[str, ...]], ...]] = {}


def _deferrable_paths(cls: type[Any]) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    paths = _DEFERRABLE.get(cls)
    if paths is None:
        declared = getattr(cls, "personal_state", None) or ()
        paths = _DEFERRABLE[cls] = tuple(
            (path.partition(".")[0], path.partition(".")[2], tuple(path.split("."))) for path in declared
        )
    return paths


def open_deferred(aggregate: Any) -> Any:
    """``aggregate`` with every personal attribute a load kept aside opened (as an eager load had it)."""
    if isinstance(aggregate, DefersPersonalState):
        aggregate.open_personal_state()
    return aggregate


# What an auditor reads for a sealed value that does not open under its stream's key (altered or moved).
UNREADABLE = "[unreadable]"

# How a sealed value begins (the cipher's format: ``pii:v1:<key id>:<base64>``).
SEALED_PREFIX = "pii:"


# A path of an event's or a snapshot's personal values, the value it reads as once erased, whether it is dotted.
PersonalPaths = tuple[tuple[str, Any, bool], ...]

# Per class: its events' personal paths, or None for a snapshot class (whose paths are its aggregate's, per
# topic below). Every decoded event asks, so they are worked out once; the classes declare them as constants.
_EVENT_PATHS: dict[type[Any], PersonalPaths | None] = {}
_STATE_PATHS: dict[str, PersonalPaths] = {}


_PERSONAL_TOPICS: dict[str, bool] = {}


def holds_personal_values(topic: str) -> bool:
    """Whether a stored event of ``topic`` may hold sealed personal values: its class declares personal fields,
    or it is a snapshot (of an aggregate that may declare a personal state). A topic no module defines any
    more opens nothing (``decode_state``), so it holds none to open."""
    known = _PERSONAL_TOPICS.get(topic)
    if known is None:
        try:
            cls = resolve_topic(topic)
        except TopicError:
            known = False
        else:
            snapshot = isinstance(cls, type) and issubclass(cls, Snapshot)
            known = snapshot or bool(_personal_paths(cls, {})[0])
        _PERSONAL_TOPICS[topic] = known
    return known


def _personal_paths(cls: type[Any], state: dict[str, Any]) -> tuple[PersonalPaths, str]:
    """The personal paths of an event class (within its state), or of a snapshot's aggregate (within ``state``)."""
    paths = _EVENT_PATHS.get(cls)
    if paths is None:
        if cls in _EVENT_PATHS or (isinstance(cls, type) and issubclass(cls, Snapshot)):
            _EVENT_PATHS[cls] = None
            topic = state.get("topic")
            if not isinstance(topic, str):
                return (), "state"
            paths = _STATE_PATHS.get(topic)
            if paths is None:
                paths = _STATE_PATHS[topic] = _paths(getattr(resolve_topic(topic), "personal_state", None))
            return paths, "state"
        paths = _EVENT_PATHS[cls] = _paths(getattr(cls, "personal_fields", None))
    return paths, ""


def _paths(declared: PersonalFields | None) -> PersonalPaths:
    return tuple((path, erased, "." in path) for path, erased in (declared or {}).items())


def _put(container: dict[str, Any], path: str, dotted: bool, new: Any) -> None:
    """Set the value at ``path`` of ``container`` in place (what lies deeper is copied or replaced, as ``_set``)."""
    if dotted:
        head, _, rest = path.partition(".")
        container[head] = _set(container[head], rest, new)
    else:
        container[path] = new


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _get(container: Any, path: str) -> Any:
    return _get_parts(container, path.split("."))


def _get_parts(container: Any, parts: Collection[str]) -> Any:
    value = container
    for part in parts:
        if isinstance(value, dict):
            value = value.get(part)
        elif is_dataclass(value) and not isinstance(value, type):
            value = getattr(value, part, None)
        else:
            return None
    return value


def _set(container: Any, path: str, new: Any) -> Any:
    """``container`` with the value at ``path`` replaced (dicts copied, frozen dataclasses replaced)."""
    head, _, rest = path.partition(".")
    current = container.get(head) if isinstance(container, dict) else getattr(container, head)
    value = _set(current, rest, new) if rest else new
    if isinstance(container, dict):
        return {**container, head: value}
    return replace(container, **{head: value})


class DateAsISO(Transcoding):
    """Calendar dates (a birthday, a due date) in events, as ISO strings."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class DataclassAsDict(Transcoding):
    """A frozen dataclass value object (in a snapshot), as a dict of its fields."""

    def __init__(self, cls: type[Any], name: str) -> None:
        self.type = cls
        self.name = name

    def encode(self, obj: Any) -> dict[str, Any]:
        return {field.name: getattr(obj, field.name) for field in fields(obj)}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)
