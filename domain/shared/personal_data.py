"""Personal data in events: which fields hold it, and what they read as once erased.

An event class lists its personal fields in ``personal_fields`` (field name -> the value the
field takes once its subject is erased); an aggregate lists the personal parts of its snapshot
state in ``personal_state`` (dotted paths: ``"profile.first_name"``). The event store's mapper
(application/shared/metadata.py) seals these values with a key of the event's stream before they
are stored, and opens them when they are read: the domain only declares them, and sees them in
clear, or as ``ERASED`` once the stream's key was destroyed (crypto-shredding).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.shared.errors import DomainError

# What an erased text field reads as, in the aggregate, the read models and the audit API.
ERASED = "[erased]"

PersonalFields = dict[str, Any]


class PersonalDataErased(DomainError):
    """Personal data was to be stored for a subject erased meanwhile (a command that lost a race with an
    erasure): nothing is stored, the command is refused as a conflict."""

    code = "account_erased"
    title = "The account's personal data was erased"


_object_setattr = object.__setattr__

# Where an aggregate keeps the personal attributes a load left unopened (see ``DefersPersonalState``).
DEFERRED_STATE = "_deferred_personal_state"


class DefersPersonalState:
    """An aggregate whose personal attributes may be opened only when read.

    Opening a sealed value (decrypting it) is most of what a load costs, and most commands read no
    personal field, so a load hands the aggregate over with the attributes that hold personal values
    (the roots of ``personal_state``: ``email``, ``profile``) kept aside, still sealed; the first read
    of one opens it, with the same result an eager load would have had (the value, or the field's
    erased value once its subject's key was destroyed). An assignment replaces it as usual, and
    comparing two aggregates opens what either kept aside.

    Events' ``apply`` methods see such values still sealed while a load folds them: they pass personal
    values on as they are and never compute on them (a name's emptiness was checked when it was made).
    """

    if not TYPE_CHECKING:  # keeps mypy checking every attribute access on the aggregate

        def __getattr__(self, name: str) -> Any:
            deferred = self.__dict__.get(DEFERRED_STATE)
            if deferred:
                opening = deferred.pop(name, None)
                if opening is not None:
                    if not deferred:
                        del self.__dict__[DEFERRED_STATE]
                    value = opening()
                    self.__dict__[name] = value
                    return value
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # ``__setattr__`` below goes straight to ``object.__setattr__`` (every assignment of a load's fold passes
        # through it, ~40 a load; ``super()`` cost a third of it): no class after this one may define its own.
        mro = cls.__mro__
        for base in mro[mro.index(DefersPersonalState) + 1 : -1]:
            if "__setattr__" in vars(base):
                raise TypeError(f"{cls.__qualname__}: {base.__qualname__}.__setattr__ would be passed over")

    def __setattr__(self, name: str, value: Any) -> None:
        deferred = self.__dict__.get(DEFERRED_STATE)
        if deferred and deferred.pop(name, None) is not None and not deferred:
            del self.__dict__[DEFERRED_STATE]
        _object_setattr(self, name, value)

    def __eq__(self, other: object) -> bool:
        self.open_personal_state()
        if isinstance(other, DefersPersonalState):
            other.open_personal_state()
        return bool(super().__eq__(other))

    def __hash__(self) -> int:  # what the aggregate's other base says (defining __eq__ would drop it)
        return super().__hash__()

    def open_personal_state(self) -> None:
        """Open every personal attribute kept aside (as an eager load would have had them)."""
        deferred = self.__dict__.pop(DEFERRED_STATE, None)
        for name, opening in (deferred or {}).items():
            self.__dict__.setdefault(name, opening())
