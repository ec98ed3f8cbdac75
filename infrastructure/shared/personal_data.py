"""Crypto-shredding: personal values sealed (AES-256-GCM) with a key per subject, the keys wrapped by a master key.

- Each subject (an account: the stream whose events hold its personal data) gets a random 256-bit
  key on first use, stored in the ``pii_keys`` table wrapped (sealed) under a key derived from
  ``PII_MASTER_KEY``; the wrap's associated data is the subject id, so a wrapped key copied to another
  row does not open.
- A value is sealed as ``pii:v1:<subject id hex>:<base64url(nonce + ciphertext + tag)>`` with the
  subject id and the field's path as associated data; its plaintext is tagged with its type
  (``s`` text, ``d`` an ISO date), so it opens to what was sealed.
- ``destroy`` replaces the wrapped key with NULL and stamps ``erased_at`` (the row stays as a
  tombstone, so the subject never gets a new key): from then on its values open as ``None``, and
  ``erased`` says so, which the mapper uses to hide the values older code stored in clear too. A
  sealed value whose subject has no row (a key store lost) also opens as ``None``, never an error.
- Opened keys are cached in the process for ``cache_seconds``: another process may still open a
  destroyed subject's values for that long (this one forgets at once).
- A bulk load makes many subjects' keys at once (``ensure_keys``: one multi-row insert that keeps every
  row already there, keys and tombstones alike, then one lookup), so its seals look nothing up.

The same mechanism (``infrastructure.shared.sealing``) seals TOTP seeds.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, date, datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Insert,
    LargeBinary,
    MetaData,
    Table,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy import Uuid as SqlUuid
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from domain.shared.personal_data import PersonalDataErased
from infrastructure.shared.event_store import retry_lost_connections
from infrastructure.shared.sealing import Sealer, derive_key, new_key

PREFIX = "pii:v1:"
WRAP_INFO = b"chronicle/pii/key-wrap/v1"
EMAIL_CLAIM_INFO = b"chronicle/accounts/email-claim/v1"
_TEXT, _DATE = "s", "d"
# The opened keys kept at most: the oldest is forgotten first (a long export or catch-up stays flat in memory).
_CACHE_MAX = 10_000
# Rows per multi-row INSERT of ``add_many`` (three parameters a row: within SQLite's and PostgreSQL's limits).
_INSERT_ROWS = 1000

# The keys' own table: never part of the read models (a rebuild must not touch it).
key_metadata = MetaData()
pii_keys = Table(
    "pii_keys",
    key_metadata,
    Column("subject_id", SqlUuid, primary_key=True),
    Column("wrapped_key", LargeBinary),  # NULL once destroyed
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("erased_at", DateTime(timezone=True)),
)
# The lookups, built once and given their ids when run: a statement built with its values (``in_(ids)``) holds
# them in a reference cycle of SQLAlchemy's bind parameters, garbage that only a full collection frees. Built per
# page of an export, it kept every page's ids until then: the traced peak grew with the log (in a long test run,
# where full collections are rare).
_GET = select(pii_keys.c.wrapped_key).where(pii_keys.c.subject_id == bindparam("subject_id"))
_GET_MANY = select(pii_keys.c.subject_id, pii_keys.c.wrapped_key).where(
    pii_keys.c.subject_id.in_(bindparam("subject_ids", expanding=True))
)


class KeyStore(Protocol):
    """Where the wrapped keys live: ``SqlKeyStore`` (PostgreSQL, SQLite), ``MemoryKeyStore`` (in-memory stores)."""

    def get(self, subject_id: UUID) -> tuple[bool, bytes | None]:
        """(whether a row exists, the wrapped key or None once destroyed)."""
        ...

    def get_many(self, subject_ids: Collection[UUID]) -> dict[UUID, tuple[bool, bytes | None]]:
        """``get`` of each subject, at once (missing subjects are absent from the answer)."""
        ...

    def add(self, subject_id: UUID, wrapped: bytes) -> None:
        """Store a new key; a key already there (another process made one first) is kept."""
        ...

    def add_many(self, wrapped_keys: Mapping[UUID, bytes]) -> None:
        """``add`` of each subject's new key, at once: every row already there (a key, a tombstone) is kept."""
        ...

    def destroy(self, subject_id: UUID) -> None: ...


class SqlKeyStore:
    """The ``pii_keys`` table through SQLAlchemy (created if missing)."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine = engine
        self._clock = clock
        key_metadata.create_all(engine)

    def get(self, subject_id: UUID) -> tuple[bool, bytes | None]:
        with self.engine.connect() as conn:
            row = conn.execute(_GET, {"subject_id": subject_id}).first()
        return (False, None) if row is None else (True, None if row[0] is None else bytes(row[0]))

    def get_many(self, subject_ids: Collection[UUID]) -> dict[UUID, tuple[bool, bytes | None]]:
        found: dict[UUID, tuple[bool, bytes | None]] = {}
        ids = list(subject_ids)
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 1000):
                for subject_id, wrapped in conn.execute(_GET_MANY, {"subject_ids": ids[start : start + 1000]}):
                    found[subject_id] = (True, None if wrapped is None else bytes(wrapped))
        return found

    def add(self, subject_id: UUID, wrapped: bytes) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(pii_keys).values(subject_id=subject_id, wrapped_key=wrapped, created_at=self._clock())
                )
        except IntegrityError:
            pass  # another process made the subject's key first: theirs is the key

    def add_many(self, wrapped_keys: Mapping[UUID, bytes]) -> None:
        # In the subjects' order: two processes inserting some of the same subjects wait on each other's rows in
        # one order, never in a cycle (a deadlock), and the later one keeps the earlier one's keys.
        rows = sorted(wrapped_keys.items())
        if not rows:
            return
        now = self._clock()
        with self.engine.begin() as conn:
            for start in range(0, len(rows), _INSERT_ROWS):
                values = [
                    {"subject_id": subject_id, "wrapped_key": wrapped, "created_at": now}
                    for subject_id, wrapped in rows[start : start + _INSERT_ROWS]
                ]
                conn.execute(self._insert_keeping_existing(values))

    def _insert_keeping_existing(self, values: list[dict[str, object]]) -> Insert:
        """One multi-row INSERT ... ON CONFLICT DO NOTHING: a subject's row made first (by another process, or
        its tombstone) stays, as with ``add``."""
        dialect = self.engine.dialect.name
        if dialect == "postgresql":
            return postgresql.insert(pii_keys).values(values).on_conflict_do_nothing(index_elements=["subject_id"])
        if dialect == "sqlite":
            return sqlite.insert(pii_keys).values(values).on_conflict_do_nothing(index_elements=["subject_id"])
        raise NotImplementedError(f"No bulk key insert for the {dialect} dialect")

    def destroy(self, subject_id: UUID) -> None:
        now = self._clock()
        with self.engine.begin() as conn:
            done = conn.execute(
                update(pii_keys)
                .where(pii_keys.c.subject_id == subject_id)
                .values(wrapped_key=None, erased_at=now)
                .returning(pii_keys.c.subject_id)
            ).first()
            if done is None:  # no key was ever made: a tombstone, so none is made later either
                conn.execute(
                    insert(pii_keys).values(subject_id=subject_id, wrapped_key=None, created_at=now, erased_at=now)
                )


class PostgresKeyStore(SqlKeyStore):
    """``SqlKeyStore`` whose lookups go through the event store's own connections (psycopg, autocommit,
    prepared): one round trip each. A command that seals a field looks its subject's key up on its way from
    the load to the save; through the read engine that cost a ping, a BEGIN, the SELECT and a ROLLBACK.
    Keys are written (rarely) through the engine as before."""

    _GET_SQL = "SELECT wrapped_key FROM pii_keys WHERE subject_id = %s"
    # A batch's ids as one array: a third of the CPU of an IN list of one parameter per id.
    _GET_MANY_SQL = "SELECT subject_id, wrapped_key FROM pii_keys WHERE subject_id = ANY(%s)"

    retry_seconds = 2.0  # a lookup that lost its connection is tried again on a fresh one this long, as a load is

    def __init__(
        self, datastore: PostgresDatastore, engine: Engine, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        super().__init__(engine, clock)
        self.datastore = datastore

    @retry_lost_connections
    def get(self, subject_id: UUID) -> tuple[bool, bytes | None]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._GET_SQL, (subject_id,), prepare=True)
            row = curs.fetchone()
        if row is None:
            return False, None
        wrapped = row["wrapped_key"]
        return True, None if wrapped is None else bytes(wrapped)

    @retry_lost_connections
    def get_many(self, subject_ids: Collection[UUID]) -> dict[UUID, tuple[bool, bytes | None]]:
        found: dict[UUID, tuple[bool, bytes | None]] = {}
        ids = list(subject_ids)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            for start in range(0, len(ids), 1000):
                curs.execute(self._GET_MANY_SQL, (ids[start : start + 1000],), prepare=True)
                for row in curs.fetchall():
                    wrapped = row["wrapped_key"]
                    found[row["subject_id"]] = (True, None if wrapped is None else bytes(wrapped))
        return found


class MemoryKeyStore:
    """Keys in this process's memory, for the in-memory event store (tests, property machines)."""

    def __init__(self) -> None:
        self._keys: dict[UUID, bytes | None] = {}
        self._lock = threading.Lock()

    def get(self, subject_id: UUID) -> tuple[bool, bytes | None]:
        with self._lock:
            return (subject_id in self._keys, self._keys.get(subject_id))

    def get_many(self, subject_ids: Collection[UUID]) -> dict[UUID, tuple[bool, bytes | None]]:
        with self._lock:
            return {i: (True, self._keys[i]) for i in subject_ids if i in self._keys}

    def add(self, subject_id: UUID, wrapped: bytes) -> None:
        with self._lock:
            self._keys.setdefault(subject_id, wrapped)

    def add_many(self, wrapped_keys: Mapping[UUID, bytes]) -> None:
        with self._lock:
            for subject_id, wrapped in wrapped_keys.items():
                self._keys.setdefault(subject_id, wrapped)

    def destroy(self, subject_id: UUID) -> None:
        with self._lock:
            self._keys[subject_id] = None


class SubjectErased(PersonalDataErased):
    """A value was to be sealed for a subject whose key was destroyed (fail closed: nothing is stored)."""


class PersonalDataKeys:
    """The ``PersonalDataCipher`` port, and the keyed hash that email claims are made of."""

    def __init__(self, master_key: str, store: KeyStore, cache_seconds: float = 5.0) -> None:
        self._wrap = Sealer(derive_key(master_key, WRAP_INFO))
        self._claim_key = derive_key(master_key, EMAIL_CLAIM_INFO)
        self.store = store
        self._cache_seconds = cache_seconds
        # By the subject id's integer (a UUID hashes and compares in Python), read without the lock (a dict
        # lookup is atomic under the GIL: opening is the hot path of every fold); every write takes it.
        self._cache: dict[int, _Key] = {}
        self._lock = threading.Lock()

    # --- the port ---------------------------------------------------------------------------

    def is_sealed(self, value: object) -> bool:
        return isinstance(value, str) and value.startswith(PREFIX)

    def seal(self, subject_id: UUID, path: str, value: str | date) -> str:
        if isinstance(value, str):
            plaintext = _TEXT + value
        elif isinstance(value, date) and not isinstance(value, datetime):
            plaintext = _DATE + value.isoformat()
        else:
            raise TypeError(f"Personal field {path!r} holds a {type(value).__name__}: only text and dates are sealed")
        key = self._key(subject_id, create=True)
        if key.sealer is None:
            raise SubjectErased(f"The personal data of {subject_id} was erased: nothing is sealed for it")
        return key.prefix + key.sealer.seal(plaintext.encode(), key.associated(path))

    def open(self, subject_id: UUID, path: str, sealed: str) -> str | date | None:
        key = self._cache.get(subject_id.int)
        if key is None or time.monotonic() - key.at >= self._cache_seconds:
            key = self._key(subject_id, create=False)
        if sealed.startswith(key.prefix) and len(sealed) > key.cut:
            body = sealed[key.cut :]
        else:  # not as ``seal`` writes this subject's values: the general check (it raises for another subject's)
            body = _body(subject_id, path, sealed)
        if key.sealer is None:
            return None
        associated = key.paths.get(path) or key.associated(path)
        plaintext = key.sealer.open(body, associated).decode()
        kind, text = plaintext[:1], plaintext[1:]
        return date.fromisoformat(text) if kind == _DATE else text

    def erased(self, subject_id: UUID) -> bool:
        key = self._key(subject_id, create=False)
        return key.exists and key.sealer is None

    def destroy(self, subject_id: UUID) -> None:
        self.store.destroy(subject_id)
        self._remember({subject_id: _Key(subject_id, time.monotonic(), True, None)})

    # --- email claims -----------------------------------------------------------------------

    def email_claim_key(self, email_key: str) -> str:
        """HMAC-SHA256 of a normalized address under a key derived from the master key: what the email's
        unique claim is made of, so the log's uniqueness keys never hold the address itself."""
        return hmac.new(self._claim_key, email_key.encode(), hashlib.sha256).hexdigest()

    # --- keys -------------------------------------------------------------------------------

    def prefetch(self, subject_ids: Collection[UUID]) -> None:
        """Bring the keys of ``subject_ids`` into the cache with one query (a projection's batch of events:
        one lookup per batch instead of one per account). Subjects without a key row are left to ``_key``."""
        now = time.monotonic()
        cache = self._cache
        wanted = [i for i in subject_ids if (c := cache.get(i.int)) is None or now - c.at >= self._cache_seconds]
        if not wanted:
            return
        found = self.store.get_many(wanted)
        self._remember({subject: self._opened(subject, now, wrapped) for subject, (_, wrapped) in found.items()})

    def prime(self, subject_id: UUID, wrapped: bytes | None) -> None:
        """A subject's key row read along with something else (a load of its stream): cached as ``_key`` would
        have cached it, unless the cache already holds a fresh entry."""
        now = time.monotonic()
        cached = self._cache.get(subject_id.int)
        if cached is not None and now - cached.at < self._cache_seconds:
            return
        self._remember({subject_id: self._opened(subject_id, now, wrapped)})

    def ensure_keys(self, subject_ids: Collection[UUID]) -> None:
        """Make the keys of many subjects at once, ahead of sealing their values (a bulk load): one insert of a
        new key for each (``KeyStore.add_many``: a key another process made first is kept, and so is an erased
        subject's tombstone, so no key comes back to life) and one lookup, the answers left in the cache so that
        the seals that follow look nothing up. The cache keeps ``_CACHE_MAX`` keys: ask per chunk of fewer."""
        now = time.monotonic()
        cache = self._cache
        wanted = [
            i
            for i in dict.fromkeys(subject_ids)
            if (c := cache.get(i.int)) is None or not c.exists or now - c.at >= self._cache_seconds
        ]
        if not wanted:
            return
        self.store.add_many({i: self._new_wrapped(i) for i in wanted})
        found = self.store.get_many(wanted)
        self._remember({subject: self._opened(subject, now, wrapped) for subject, (_, wrapped) in found.items()})

    def _opened(self, subject_id: UUID, at: float, wrapped: bytes | None) -> _Key:
        """The cache entry of a subject whose key row was read at ``at`` (``wrapped``: None once destroyed)."""
        return _Key(subject_id, at, True, None if wrapped is None else Sealer(self._unwrap(subject_id, wrapped)))

    def _new_wrapped(self, subject_id: UUID) -> bytes:
        """A new random key for ``subject_id``, wrapped under the master key (as stored)."""
        return self._wrap.seal(new_key(), _wrap_associated(subject_id)).encode()

    def _unwrap(self, subject_id: UUID, wrapped: bytes) -> bytes:
        return self._wrap.open(wrapped.decode(), _wrap_associated(subject_id))

    def _key(self, subject_id: UUID, *, create: bool) -> _Key:
        """The subject's cache entry (whether it has a key row, its opened key or None once destroyed), kept a while."""
        now = time.monotonic()
        cached = self._cache.get(subject_id.int)
        if cached is not None and now - cached.at < self._cache_seconds and (cached.exists or not create):
            return cached
        exists, wrapped = self.store.get(subject_id)
        if not exists and create:
            self.store.add(subject_id, self._new_wrapped(subject_id))
            exists, wrapped = self.store.get(subject_id)
        sealer = None
        if wrapped is not None:
            sealer = Sealer(self._unwrap(subject_id, wrapped))
        key = _Key(subject_id, now, exists, sealer)
        self._remember({subject_id: key})
        return key

    def _remember(self, entries: dict[UUID, _Key]) -> None:
        """Cache ``entries`` as the newest; beyond ``_CACHE_MAX`` the oldest go (a dict keeps insertion order)."""
        with self._lock:
            for subject_id, entry in entries.items():
                self._cache.pop(subject_id.int, None)
                self._cache[subject_id.int] = entry
            while len(self._cache) > _CACHE_MAX:
                del self._cache[next(iter(self._cache))]


class _Key:
    """A subject's entry in the key cache: when it was looked up, whether the subject has a key row, the opened
    key (None once destroyed), and what opening its values needs again and again (the text its sealed values
    begin with, the associated data of each path), computed once per entry rather than once per value."""

    __slots__ = ("at", "cut", "exists", "paths", "prefix", "sealer", "subject_id")

    def __init__(self, subject_id: UUID, at: float, exists: bool, sealer: Sealer | None) -> None:
        self.subject_id, self.at, self.exists, self.sealer = subject_id, at, exists, sealer
        self.prefix = f"{PREFIX}{subject_id.hex}:"
        self.cut = len(self.prefix)
        self.paths: dict[str, bytes] = {}  # each path's associated data

    def associated(self, path: str) -> bytes:
        data = self.paths.get(path)
        if data is None:
            data = self.paths[path] = _associated(self.subject_id, path)
        return data


def _body(subject_id: UUID, path: str, sealed: str) -> str:
    """The sealed part of ``sealed`` if its key id names ``subject_id`` (in any spelling a UUID takes), else raises."""
    key_id, _, body = sealed.removeprefix(PREFIX).partition(":")
    if not sealed.startswith(PREFIX) or not body or UUID(hex=key_id) != subject_id:
        raise ValueError(f"Not a sealed value of {subject_id}'s {path!r}")
    return body


def _associated(subject_id: UUID, path: str) -> bytes:
    return b"chronicle-pii:" + subject_id.bytes + b":" + path.encode()


def _wrap_associated(subject_id: UUID) -> bytes:
    return b"chronicle-pii-key:" + subject_id.bytes
