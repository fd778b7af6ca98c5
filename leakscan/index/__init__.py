"""The fingerprint index: scheme and key checks over a pluggable storage backend.

``Index.open`` picks the backend from the location: a plain path or
``sqlite:///path`` is a SQLite file, ``postgresql://…`` (or ``postgres://…``)
a PostgreSQL database, ``memory://`` lives in this process.
Every index records the scheme and key id it was built with; opening it with
other parameters or another key raises instead of silently missing matches.
The key itself is kept in a key file apart from the index (see
:mod:`leakscan.index.keys` for where it is looked for), so a copy of the
index alone cannot confirm guessed text.

One build writes at a time: a writer (``Index.create``, ``writer=True``)
holds an exclusive lock on ``<index>.lock`` (PostgreSQL: an advisory lock)
from before the index is created until it is closed; scanners never take it.
A build (:meth:`Index.writing`) marks the index ``building`` before its first
change and ``complete`` after its last, so an index whose last build died is
refused by scanners instead of reporting a leak "clean".
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np

from .._version import __version__
from ..align import (
    ALIGNMENT_FORMAT,
    SourceUnits,
    decode_alignment,
    decode_alignments,
    encode_alignment,
)
from ..errors import (
    ConfigurationError,
    LeakscanIndexError,
    MissingKeyError,
    SchemeMismatchError,
)
from ..fingerprint import (
    READABLE_SCHEME_VERSIONS,
    Fingerprint,
    Fingerprinter,
    Scheme,
    hamming,
    key_id,
)
from ..names import locator_part
from ..normalize import NORMALIZATION_VERSION
from .base import (
    ContentRecord,
    DocumentRecord,
    IndexBackend,
    NewContent,
    Posting,
    file_name_of,
    to_signed_array,
    to_unsigned,
)
from .keys import META_KEY, FoundKey, key_for_new_index, key_of_index
from .lock import WriterLock, writer_running
from .memory import MemoryBackend
from .sqlite import READABLE_SCHEMA_VERSIONS, SCHEMA_VERSION, SQLiteBackend, no_index_at

if TYPE_CHECKING:
    from .pglock import AdvisoryLock

__all__ = [
    "BUILD_COMPLETE",
    "BUILD_RUNNING",
    "DEFAULT_INDEX",
    "SIMHASH_BANDS",
    "Index",
    "IndexStats",
]

log = logging.getLogger(__name__)

DEFAULT_INDEX = os.path.join("fingerprints", "index.sqlite")
#: Slices a simhash is cut into; near-duplicates within SIMHASH_BANDS - 1 bits are always found.
SIMHASH_BANDS = 4
#: Values of the ``build_state`` meta key.
BUILD_RUNNING = "building"
BUILD_COMPLETE = "complete"
#: Meta key of the archive roots built from (JSON: path → label, built_at).
_ROOTS_META = "roots"
_BUILD_KEYS = ("build_state", "build_started_at", "build_finished_at", "build_documents")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True)
class IndexStats:
    """What an index holds and how it was built."""

    location: str
    index_id: str
    key_id: str
    scheme: dict[str, int]
    documents: int
    contents: int
    fingerprints: int
    bytes_on_disk: int | None
    #: ``building`` or ``complete``; None for an index no build has written to.
    build_state: str | None = None
    build_started_at: str | None = None
    #: When the last *complete* build finished, and the documents it left.
    build_finished_at: str | None = None
    build_documents: int | None = None
    #: Whether a build holds the index's writer lock right now.
    build_running: bool = False
    #: The archive roots built from: path, label, documents, when last built.
    roots: list[dict[str, object]] = field(default_factory=list)
    #: Documents whose text was read by OCR (scans, photographed pages).
    ocr_documents: int = 0
    #: Contents indexed by their look too (pictures: perceptual hashes).
    pictures: int = 0
    #: The key file the key was read from (None: given as bytes, or not found).
    key_file: str | None = None
    #: The index still holds its key (made before key files: run ``index migrate-key``).
    key_in_index: bool = False
    #: Documents registered as public (``--public``): their text never raises findings.
    public_documents: int = 0
    #: The most common fingerprints (when asked for): how many contents hold each, whether
    #: scans ignore it as boilerplate, and the first documents holding it.
    boilerplate: list[dict[str, object]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _sqlite_path(location: str) -> str | None:
    """The file of a SQLite index location; None for other kinds."""
    if location.startswith("sqlite:///"):
        return location[len("sqlite:///") - 1 :]
    if location.startswith(("memory:", "postgresql:", "postgres:")) or "://" in location:
        return None
    return location


_POSTGRES = ("postgresql://", "postgres://")


def _shown(location: str) -> str:
    """The location as messages may show it: a PostgreSQL URL without its password."""
    if not location.startswith(_POSTGRES):
        return location
    from .pgconn import redact  # psycopg is imported only for PostgreSQL indexes

    return redact(location)


def _writer_lock(location: str, file: str | None) -> WriterLock | AdvisoryLock | None:
    """The writer lock of an index: a lock file beside a SQLite file, an advisory lock
    in a PostgreSQL database, none for an index in memory."""
    if file is not None:
        return WriterLock(file, name=location)
    if location.startswith(_POSTGRES):
        from .pglock import AdvisoryLock

        return AdvisoryLock(location)
    return None


def _build_running(backend: IndexBackend, file: str | None) -> bool:
    """Whether some build holds the index's writer lock now (looked at, never taken)."""
    if file is not None:
        return writer_running(file)
    running = getattr(backend, "writer_running", None)
    return bool(running()) if callable(running) else False


def _open_backend(location: str, *, create: bool, readonly: bool) -> IndexBackend:
    if location.startswith("memory:"):
        return MemoryBackend()
    if location.startswith("sqlite:///"):
        return SQLiteBackend(location[len("sqlite:///") - 1 :], create=create, readonly=readonly)
    if location.startswith(_POSTGRES):
        from .postgres import PostgresBackend  # psycopg only for PostgreSQL indexes

        return PostgresBackend(location, create=create, readonly=readonly)
    if "://" in location:
        raise ConfigurationError(f"unknown index location {location!r}: give a file path")
    return SQLiteBackend(location, create=create, readonly=readonly)


#: How :meth:`Index.add_path` indexes files: :mod:`leakscan.build` registers it when it is
#: imported (``import leakscan`` does), so that this stage never imports the one above it.
_path_builder: Callable[[Index, Path, bool], str] | None = None


def register_path_builder(builder: Callable[[Index, Path, bool], str]) -> None:
    """Called by :mod:`leakscan.build`: ``builder(index, path, public)`` indexes a file or a
    folder and returns the build's one-line account."""
    global _path_builder
    _path_builder = builder


class Index:
    """A fingerprint index of a case archive."""

    def __init__(
        self,
        backend: IndexBackend,
        key: bytes | FoundKey,
        scheme: Scheme,
        meta: dict[str, str],
        *,
        location: str | None = None,
        lock: WriterLock | AdvisoryLock | None = None,
        readonly: bool = False,
    ):
        self.backend = backend
        self.scheme = scheme
        found = key if isinstance(key, FoundKey) else FoundKey(key)
        self._key = found.key
        self._missing = found.missing
        #: Where the key was read from, and whether the index itself still holds it.
        self.key_file = found.key_file
        self.key_in_index = found.in_index
        self._fingerprinter = Fingerprinter(found.key, scheme) if found.key is not None else None
        self.index_id = meta["index_id"]
        self.key_id = meta["key_id"]
        self.bands = int(meta.get("simhash_bands", SIMHASH_BANDS))
        self.location = location or backend.url
        self.readonly = readonly
        self._lock = lock
        self._builds = 0  # depth of nested writing() sessions
        self._build_commits = 0  # commits made by the running session
        backend.recompute = self.recompute_fingerprints

    def recomputable(self, alignment: bytes) -> bool:
        """Whether fingerprints stored with this alignment blob can be computed again from it
        (scheme 3 and a blob that says which units are letters): then they are kept once."""
        return self.scheme.units_from_codes and alignment.startswith(ALIGNMENT_FORMAT)

    def recompute_fingerprints(self, sha256: str, alignment: bytes) -> np.ndarray:
        """A stored content's fingerprints (signed), computed again from its alignment
        units: scheme 3 indexes keep no other copy of them (see ``NewContent.recomputable``)."""
        units = decode_alignment(alignment, self.key, sha256)
        if units is None or units.letters is None:
            raise LeakscanIndexError(
                f"content {sha256[:12]}: its fingerprints cannot be computed again "
                "(no alignment units that say which are letters)"
            )
        hashes = self.fingerprinter.hashes_of_units(
            units.codes, units.tokens, units.letters, ocr=units.ocr
        )
        return to_signed_array(hashes)

    @property
    def key(self) -> bytes:
        """The fingerprint key; MissingKeyError if the index was opened without it."""
        if self._key is None:
            raise self._missing or MissingKeyError(f"{self.location}: opened without its key")
        return self._key

    @property
    def fingerprinter(self) -> Fingerprinter:
        """Fingerprints texts with this index's key and scheme (needs the key)."""
        if self._fingerprinter is None:
            raise self._missing or MissingKeyError(f"{self.location}: opened without its key")
        return self._fingerprinter

    @classmethod
    def open(
        cls,
        location: str | os.PathLike[str] = DEFAULT_INDEX,
        *,
        create: bool = False,
        key: bytes | None = None,
        key_file: str | os.PathLike[str] | None = None,
        scheme: Scheme | None = None,
        readonly: bool = False,
        writer: bool = False,
        lock_timeout: float | None = None,
        on_wait: Callable[[str], None] | None = None,
        allow_incomplete: bool = False,
        need_key: bool = True,
    ) -> Index:
        """Open an index, creating it if ``create`` and it does not exist yet.

        The key is ``key``, else the one in ``key_file``, else in the file
        ``LEAKSCAN_KEY_FILE`` names, else in ``<index file>.key`` beside a
        SQLite index; it must have the key id the index records
        (KeyMismatchError). No key at all is a MissingKeyError, unless
        ``need_key`` is false (then only :attr:`key` and :attr:`fingerprinter`
        raise it: enough for stats and reports). Creating an index uses the
        key file's key if the file exists and makes it (mode 0600) if not.
        An index made before key files still holds its key and works, with a
        warning to run ``leakscan index migrate-key``.

        ``scheme`` defaults to the one the index records; given explicitly, it
        must match it. A ``writer`` (implied by ``create``)
        first takes the index's writer lock, waiting up to ``lock_timeout``
        seconds (None: as long as it takes) and telling ``on_wait`` (default:
        the log) that it waits; the lock is held until :meth:`close`. Anyone
        else reads, and is refused an index whose last build did not finish
        unless ``allow_incomplete``.
        """
        index = cls._open(
            location,
            create=create,
            key=key,
            key_file=key_file,
            scheme=scheme,
            readonly=readonly,
            writer=writer,
            lock_timeout=lock_timeout,
            on_wait=on_wait,
            allow_incomplete=allow_incomplete,
            need_key=need_key,
        )
        if index.key_in_index and key is None:  # (workers given the key do not repeat it)
            log.warning(
                "%s still holds its fingerprint key: anyone with a copy of it can confirm "
                "guessed text; run 'leakscan index migrate-key --index %s' to move the key "
                "to a key file",
                index.location,
                index.location,
            )
        return index

    @classmethod
    def _open(
        cls,
        location: str | os.PathLike[str],
        *,
        create: bool,
        key: bytes | None,
        key_file: str | os.PathLike[str] | None,
        scheme: Scheme | None,
        readonly: bool,
        writer: bool,
        lock_timeout: float | None,
        on_wait: Callable[[str], None] | None,
        allow_incomplete: bool,
        need_key: bool,
    ) -> Index:
        """:meth:`open` without the warning about a key kept in the index."""
        where = os.fspath(location)
        location = _shown(where)  # what messages say: never a password
        writer = writer or create
        if writer and readonly:
            raise ConfigurationError("an index cannot be opened both read-only and for writing")
        file = _sqlite_path(where)
        if writer and file is not None and not create and not os.path.exists(file):
            raise no_index_at(file)  # and no lock file left behind for it
        lock = _writer_lock(where, file) if writer else None
        if lock is not None:
            lock.acquire(lock_timeout, on_wait if on_wait is not None else log.warning)
        made: FoundKey | None = None
        try:
            if create and file is not None and not os.path.exists(file):
                # A key that cannot be had leaves no empty index file behind.
                made = key_for_new_index(where, file, key, key_file)
            backend = _open_backend(where, create=create, readonly=readonly)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        try:
            meta = backend.read_meta()
            if not meta:
                if not create:
                    raise LeakscanIndexError(f"{location} is empty: not a leakscan index")
                made = made or key_for_new_index(where, file, key, key_file)
                assert made.key is not None
                meta = backend.create_meta(cls._initial_meta(made.key, scheme or Scheme()))
            index_scheme = cls._check(meta, scheme, location)
            if made is not None and made.key is not None and key_id(made.key) == meta["key_id"]:
                found = made
            else:  # an existing index (or one another creator made first)
                key = made.key if made is not None else key
                found = key_of_index(meta, where, file, key, key_file, need_key=need_key)
            if not writer and not allow_incomplete:
                cls._check_build(meta, location, lambda: _build_running(backend, file))
            return cls(
                backend,
                found,
                index_scheme,
                meta,
                location=location,
                lock=lock,
                readonly=readonly,
            )
        except BaseException:
            try:
                backend.rollback()
                backend.close()
            finally:
                if lock is not None:
                    lock.release()
            raise

    @classmethod
    def create(
        cls,
        location: str | os.PathLike[str] = DEFAULT_INDEX,
        *,
        key: bytes | None = None,
        key_file: str | os.PathLike[str] | None = None,
        scheme: Scheme | None = None,
        lock_timeout: float | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> Index:
        """Open an index for writing, creating it (and its key file, if there is none yet)
        if needed: holds the writer lock until closed."""
        return cls.open(
            location,
            create=True,
            key=key,
            key_file=key_file,
            scheme=scheme,
            lock_timeout=lock_timeout,
            on_wait=on_wait,
        )

    @staticmethod
    def _check_build(meta: dict[str, str], location: str, running: Callable[[], bool]) -> None:
        """Refuse to read an index whose last build did not finish: it may lack documents."""
        state = meta.get("build_state")
        if state is None or state == BUILD_COMPLETE:
            return
        started = meta.get("build_started_at", "unknown time")
        is_running = running()
        if is_running and "build_finished_at" in meta:
            # A build over a complete index commits whole documents: all that the
            # complete build held is still there while it runs.
            return
        if is_running:
            raise LeakscanIndexError(
                f"{location}: an index build (started {started}) is running and no earlier "
                "build of this index completed; scan when it has finished"
            )
        raise LeakscanIndexError(
            f"{location}: the last index build of {started} did not finish; "
            "run `leakscan index build` again"
        )

    @staticmethod
    def _initial_meta(key: bytes, scheme: Scheme) -> dict[str, str]:
        Fingerprinter(key, scheme)  # validates the key
        return {
            "format": "leakscan-index",
            "schema_version": str(SCHEMA_VERSION),
            "scheme": json.dumps(scheme.to_dict(), sort_keys=True),
            "key_id": key_id(key),
            "index_id": str(uuid.uuid4()),
            "simhash_bands": str(SIMHASH_BANDS),
            "created_at": _now(),
            "created_by": f"leakscan {__version__}",
        }

    @staticmethod
    def _check(meta: dict[str, str], scheme: Scheme | None, location: object) -> Scheme:
        if meta.get("format") != "leakscan-index":
            raise LeakscanIndexError(f"{location} is not a leakscan index")
        # An older version opened for writing was migrated on opening; read-only, it is read
        # as it is (a version 1 index holds no pictures).
        if meta.get("schema_version") not in {str(v) for v in READABLE_SCHEMA_VERSIONS}:
            raise SchemeMismatchError(
                f"{location} has index schema version {meta.get('schema_version')}; "
                f"this leakscan reads versions up to {SCHEMA_VERSION}: rebuild the index"
            )
        raw = json.loads(meta["scheme"])
        version = raw.get("version") if isinstance(raw, dict) else None
        if version not in READABLE_SCHEME_VERSIONS:
            raise SchemeMismatchError(
                f"{location} was built with fingerprint scheme {version}; this leakscan "
                f"reads schemes {', '.join(map(str, READABLE_SCHEME_VERSIONS))}: rebuild the index"
            )
        stored = Scheme.from_dict(raw)
        if stored.normalization != NORMALIZATION_VERSION:
            raise SchemeMismatchError(
                f"{location} was built with normalization {stored.normalization}; this "
                f"leakscan uses {NORMALIZATION_VERSION}: rebuild the index"
            )
        if scheme is not None and scheme != stored:
            raise SchemeMismatchError(
                f"{location} was built with scheme {stored.to_dict()}, not {scheme.to_dict()}"
            )
        if "key_id" not in meta:
            raise LeakscanIndexError(f"{location} records no key id: not a leakscan index")
        return stored

    # -- writing ---------------------------------------------------------

    def find_document(self, path: str, root: str = "") -> DocumentRecord | None:
        return self.backend.find_document(root, path)

    def documents(self, root: str | None = None) -> Iterator[DocumentRecord]:
        return self.backend.documents(root)

    def documents_named(self, file_name: str) -> list[DocumentRecord]:
        """Indexed documents with this file name (compared case-insensitively), in path order.

        A chat that lost an attachment still names it; this finds the archive
        documents it may have been.
        """
        # Built indexes store paths as locators (``%``, ``!``, ``#`` escaped); paths given
        # to add_text are stored as given: look for both forms of the name.
        found: dict[int, DocumentRecord] = {}
        for form in dict.fromkeys((locator_part(file_name), file_name)):
            wanted = unicodedata.normalize("NFC", file_name_of(form)).casefold()
            if not wanted:
                continue
            for document in self.backend.documents_named(wanted):
                name = unicodedata.normalize("NFC", file_name_of(document.path)).casefold()
                if name == wanted:
                    found.setdefault(document.id, document)
        return sorted(found.values(), key=lambda d: (d.root, d.path))

    def add_fingerprint(
        self,
        fingerprint: Fingerprint,
        *,
        path: str,
        root: str = "",
        sha256: str,
        size: int = 0,
        mtime_ns: int = 0,
        mime: str = "text/plain",
        public: bool = False,
    ) -> int:
        """Store one document's fingerprints, replacing whatever was at that path."""
        return self.add_hashes(
            fingerprint.hashes,
            fingerprint.starts,
            fingerprint.simhash,
            fingerprint.n_tokens,
            path=path,
            root=root,
            sha256=sha256,
            size=size,
            mtime_ns=mtime_ns,
            mime=mime,
            public=public,
            ocr=fingerprint.ocr,
            alignment=encode_alignment(fingerprint, self.key, sha256),
        )

    def add_hashes(
        self,
        hashes: np.ndarray,
        positions: np.ndarray,
        simhash: int,
        n_tokens: int,
        *,
        path: str,
        root: str = "",
        sha256: str,
        size: int = 0,
        mtime_ns: int = 0,
        mime: str = "text/plain",
        public: bool = False,
        ocr: bool = False,
        alignment: bytes = b"",
    ) -> int:
        """Store fingerprints (unsigned hashes, token positions) of the document at ``path``;
        ``ocr``: its text was read by OCR; ``alignment``: its units' blob
        (:func:`leakscan.align.encode_alignment` under this index's key).

        A document already at ``path`` makes way; a content the index holds already is
        not stored again. The backend may write the document later (PostgreSQL: many in
        one go), but every later call sees it, and :meth:`commit` writes it."""
        return self.backend.put_document(
            DocumentRecord(root, path, 0, size, mtime_ns, mime),
            NewContent(
                sha256=sha256,
                hashes=to_signed_array(hashes),
                positions=np.asarray(positions, dtype=np.int64),
                simhash=simhash,
                n_tokens=n_tokens,
                public=public,
                alignment=alignment,
                recomputable=self.recomputable(alignment),
            ),
            self.bands,
            ocr=ocr,
        )

    def add_text(self, text: str, *, path: str, root: str = "", public: bool = False) -> int:
        """Fingerprint and store a text under a name (its content hash is of its UTF-8)."""
        sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return self.add_fingerprint(
            self.fingerprinter.fingerprint(text),
            path=path,
            root=root,
            sha256=sha256,
            size=len(text.encode("utf-8")),
            public=public,
        )

    def add_path(self, path: str | os.PathLike[str], *, public: bool = False) -> str:
        """Index one file or every file below a folder; returns a one-line account."""
        if _path_builder is None:
            raise LeakscanIndexError("Index.add_path needs leakscan.build: import leakscan")
        return _path_builder(self, Path(path), public)

    def remove(self, path: str, root: str = "") -> bool:
        """Remove the document at ``path`` below ``root``; False if there was none."""
        existing = self.backend.find_document(root, path)
        if existing is None:
            return False
        self.backend.remove_document(existing.id)
        return True

    def commit(self) -> None:
        self.backend.commit()
        if self._builds:
            self._build_commits += 1

    @contextmanager
    def writing(
        self, *, lock_timeout: float | None = None, on_wait: Callable[[str], None] | None = None
    ) -> Iterator[Index]:
        """A build: holds the writer lock and marks the index incomplete until the block ends well.

        Takes the writer lock unless this index holds it already (opened with
        :meth:`create` or ``writer=True``). Commits ``build_state = building``
        before the block and, after it, its changes and ``build_state =
        complete`` with the time and the number of documents. If the block
        fails, its uncommitted changes are rolled back; when none had been
        committed and the index was complete before, it is marked complete
        again (it is as it was), otherwise it stays ``building`` and scanners
        refuse it until a build completes. Nested sessions are part of the
        outer one.
        """
        if self._builds:
            self._builds += 1
            try:
                yield self
            finally:
                self._builds -= 1
            return
        if self.readonly:
            raise LeakscanIndexError(f"{self.location} was opened read-only: cannot build it")
        taken = None
        file = _sqlite_path(self.location)
        # What the caller wrote before the build is not the build's: committed before the
        # writer lock is waited for (PostgreSQL: an open transaction would hold the counts
        # lock, and a build holding the writer lock could wait on it for ever).
        self.commit()
        if self._lock is None:
            # the backend's own URL: the location shown has no password
            taken = _writer_lock(str(getattr(self.backend, "conninfo", self.location)), file)
        if taken is not None:
            taken.acquire(lock_timeout, on_wait if on_wait is not None else log.warning)
            self._lock = taken
        try:
            before = {k: v for k, v in self.backend.read_meta().items() if k in _BUILD_KEYS}
            try:
                self.backend.write_meta({"build_state": BUILD_RUNNING, "build_started_at": _now()})
                self.backend.commit()
            except LeakscanIndexError as exc:
                raise type(exc)(f"{exc}; the build did not start: the index is unchanged") from exc
            self._builds, self._build_commits = 1, 0
            try:
                yield self
                self.commit()
                self.backend.write_meta(
                    {
                        "build_state": BUILD_COMPLETE,
                        "build_finished_at": _now(),
                        "build_documents": str(self.backend.count_documents()),
                    }
                )
                self.backend.commit()
            except BaseException as exc:
                note = self._abandon_build(before)
                if isinstance(exc, LeakscanIndexError):
                    raise type(exc)(f"{exc}; {note}") from exc
                raise
            finally:
                self._builds = 0
        finally:
            if taken is not None:
                self._lock = None
                taken.release()

    def _abandon_build(self, before: dict[str, str]) -> str:
        """Roll a failed build back as far as it goes; says in what state the index is left."""
        discarded = self.backend.rollback()
        if discarded and not self._build_commits and before.get("build_state") == BUILD_COMPLETE:
            try:
                self.backend.write_meta(before)
                self.backend.commit()
                return "the build was rolled back and the index is as it was before it"
            except LeakscanIndexError as exc:
                log.warning("cannot mark %s complete again: %s", self.location, exc)
        return (
            "the index is marked incomplete: scans refuse it until "
            "`leakscan index build` runs to the end"
        )

    # -- reading ---------------------------------------------------------

    def frequencies(self, hashes: Sequence[int]) -> dict[int, int]:
        """Unsigned hash → number of contents holding it (absent if none)."""
        found = self.backend.document_frequencies(to_signed_array(hashes).tolist())
        return {to_unsigned(h): n for h, n in found.items()}

    def postings(
        self, hashes: Iterable[int], content_ids: Sequence[int] | None = None
    ) -> list[Posting]:
        """Occurrences of unsigned hashes (optionally only in some contents), hashes unsigned."""
        signed = to_signed_array(hashes).tolist()
        return [
            Posting(to_unsigned(p.hash), p.content_id, p.position)
            for p in self.backend.postings(signed, content_ids)
        ]

    def look_up(
        self, hashes: Iterable[int], max_holders: int
    ) -> tuple[dict[int, int], list[Posting]]:
        """:meth:`frequencies` of unsigned hashes, and the :meth:`postings` of those at
        most ``max_holders`` contents hold (what a match reads first, in one read of the
        backend)."""
        found, postings = self.backend.look_up(to_signed_array(hashes).tolist(), max_holders)
        return (
            {to_unsigned(h): n for h, n in found.items()},
            [Posting(to_unsigned(p.hash), p.content_id, p.position) for p in postings],
        )

    def near_duplicates(self, simhash: int, within: int | None = None) -> set[int]:
        """Contents whose simhash may be within ``bands - 1`` bits of this one; ``within``:
        those within that many bits, checked (a band of 16 bits is shared by chance with
        one content in 65,536: at a million contents, some sixty a query)."""
        found = self.backend.simhash_candidates(simhash, self.bands)
        if within is None:
            return set(found)
        return {cid for cid, other in found.items() if hamming(simhash, other) <= within}

    def contents(self, ids: Sequence[int]) -> dict[int, ContentRecord]:
        return self.backend.contents(ids)

    def sources(
        self, ids: Sequence[int]
    ) -> tuple[dict[int, ContentRecord], dict[int, SourceUnits]]:
        """These contents, and the alignment units of those stored with them: what a
        match aligns, in one read of the backend."""
        found = self.backend.sources(ids)
        contents = {cid: record for cid, (record, _) in found.items()}
        listed = list(contents.values())
        decoded = decode_alignments([(found[c.id][1], c.sha256) for c in listed], self.key)
        units = {c.id: u for c, u in zip(listed, decoded, strict=True) if u is not None}
        return contents, units

    def content_count(self) -> int:
        return self.backend.count_contents()

    def boilerplate(self, limit: int, cutoff: int) -> list[dict[str, object]]:
        """The ``limit`` most common fingerprints: held by how many contents, ``ignored``
        as boilerplate at this cut-off, and the paths of up to five documents holding it."""
        found = []
        for signed, contents in self.backend.most_common(limit):
            holders = sorted({p.content_id for p in self.backend.postings([signed])})[:5]
            paths = sorted(path for c in self.contents(holders).values() for path in c.paths[:1])
            found.append({"contents": contents, "ignored": contents >= cutoff, "documents": paths})
        return found

    def stats(self, *, boilerplate: int = 0, cutoff: int = 3) -> IndexStats:
        """What the index holds; with ``boilerplate`` > 0, that many of its most common
        fingerprints too (a scan of the frequency table: for ``index stats``)."""
        counts = self.backend.counts()
        meta = self.backend.read_meta()
        file = _sqlite_path(self.location)
        documents = meta.get("build_documents")
        size = None
        if isinstance(self.backend, SQLiteBackend):
            path = self.backend.path
            size = sum(
                p.stat().st_size
                for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
                if p.exists()
            )
        return IndexStats(
            location=self.backend.url,
            index_id=self.index_id,
            key_id=self.key_id,
            scheme=self.scheme.to_dict(),
            documents=counts["documents"],
            contents=counts["contents"],
            fingerprints=counts["fingerprints"],
            bytes_on_disk=size,
            build_state=meta.get("build_state"),
            build_started_at=meta.get("build_started_at"),
            build_finished_at=meta.get("build_finished_at"),
            build_documents=int(documents) if documents is not None else None,
            build_running=self._lock is not None or _build_running(self.backend, file),
            roots=[
                {
                    "root": root,
                    "label": facts.get("label"),
                    "documents": sum(1 for _ in self.documents(root)),
                    "built_at": facts.get("built_at"),
                }
                for root, facts in sorted(self.roots().items())
            ],
            ocr_documents=self.backend.count_ocr_documents(),
            pictures=self.backend.count_pictures(),
            key_file=self.key_file,
            key_in_index=META_KEY in meta,
            public_documents=self.backend.count_public_documents(),
            boilerplate=self.boilerplate(boilerplate, cutoff) if boilerplate > 0 else [],
        )

    def roots(self) -> dict[str, dict[str, str]]:
        """The archive roots built from, by absolute path: their ``label`` and when a
        build last went through them (``built_at``)."""
        raw = self.backend.read_meta().get(_ROOTS_META)
        try:
            roots = json.loads(raw) if raw else {}
        except ValueError:
            return {}
        return roots if isinstance(roots, dict) else {}

    def root_labels(self) -> dict[str, str]:
        """Each archive root's label (what tells two roots' same relative paths apart)."""
        return {root: str(facts.get("label", "")) for root, facts in self.roots().items()}

    def record_root(self, root: str, label: str) -> None:
        """Remember an archive root, its label and that it was built from now."""
        roots = self.roots()
        for other, facts in roots.items():
            if other != root and facts.get("label") == label:
                raise ConfigurationError(
                    f"archive roots {other} and {root} would both be labelled {label!r}: "
                    "give each its own --label"
                )
        roots[root] = {"label": label, "built_at": _now()}
        self.backend.write_meta({_ROOTS_META: json.dumps(roots, sort_keys=True)})

    def describe(self) -> dict[str, object]:
        """Index id and scheme, as findings' summaries carry them."""
        return {"index_id": self.index_id, "key_id": self.key_id, "scheme": self.scheme.to_dict()}

    def close(self) -> None:
        """Commit, close, and let go of the writer lock if this index holds it."""
        try:
            self.backend.close()
        finally:
            lock, self._lock = self._lock, None
            if lock is not None:
                lock.release()

    def __enter__(self) -> Index:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:  # what the failed block wrote is not committed on the way out
            self.backend.rollback()
        self.close()
