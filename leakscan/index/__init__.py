"""The fingerprint index: scheme and key checks over a pluggable storage backend.

``Index.open`` picks the backend from the location: a plain path or
``sqlite:///path`` is a SQLite file, ``memory://`` lives in this process.
Every index records the scheme and key id it was built with; opening it with
other parameters or another key raises instead of silently missing matches.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

from .._version import __version__
from ..errors import (
    ConfigurationError,
    KeyMismatchError,
    LeakscanIndexError,
    SchemeMismatchError,
)
from ..fingerprint import Fingerprint, Fingerprinter, Scheme, key_id
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
from .memory import MemoryBackend
from .sqlite import SCHEMA_VERSION, SQLiteBackend

__all__ = ["DEFAULT_INDEX", "SIMHASH_BANDS", "Index", "IndexStats"]

DEFAULT_INDEX = os.path.join("fingerprints", "index.sqlite")
#: Slices a simhash is cut into; near-duplicates within SIMHASH_BANDS - 1 bits are always found.
SIMHASH_BANDS = 4


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

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _open_backend(location: str, *, create: bool, readonly: bool) -> IndexBackend:
    if location.startswith("memory:"):
        return MemoryBackend()
    if location.startswith("sqlite:///"):
        return SQLiteBackend(location[len("sqlite:///") - 1 :], create=create, readonly=readonly)
    if location.startswith(("postgresql:", "postgres:")):
        raise ConfigurationError(
            "PostgreSQL indexes are not supported by this version of leakscan; "
            "use a SQLite index file"
        )
    if "://" in location:
        raise ConfigurationError(f"unknown index location {location!r}: give a file path")
    return SQLiteBackend(location, create=create, readonly=readonly)


class Index:
    """A fingerprint index of a case archive."""

    def __init__(self, backend: IndexBackend, key: bytes, scheme: Scheme, meta: dict[str, str]):
        self.backend = backend
        self.scheme = scheme
        self.key = key
        self.fingerprinter = Fingerprinter(key, scheme)
        self.index_id = meta["index_id"]
        self.key_id = meta["key_id"]
        self.bands = int(meta.get("simhash_bands", SIMHASH_BANDS))

    @classmethod
    def open(
        cls,
        location: str | os.PathLike[str] = DEFAULT_INDEX,
        *,
        create: bool = False,
        key: bytes | None = None,
        scheme: Scheme | None = None,
        readonly: bool = False,
    ) -> Index:
        """Open an index, creating it if ``create`` and it does not exist yet.

        ``key`` and ``scheme`` default to the ones the index records; given
        explicitly, they must match it.
        """
        backend = _open_backend(os.fspath(location), create=create, readonly=readonly)
        try:
            meta = backend.read_meta()
            if not meta:
                if not create:
                    raise LeakscanIndexError(f"{location} is empty: not a leakscan index")
                meta = cls._initial_meta(key or secrets.token_bytes(32), scheme or Scheme())
                backend.write_meta(meta)
                backend.commit()
            index_key, index_scheme = cls._check(meta, key, scheme, location)
            return cls(backend, index_key, index_scheme, meta)
        except BaseException:
            backend.close()
            raise

    @classmethod
    def create(
        cls,
        location: str | os.PathLike[str] = DEFAULT_INDEX,
        *,
        key: bytes | None = None,
        scheme: Scheme | None = None,
    ) -> Index:
        """Open an index for writing, creating it if needed."""
        return cls.open(location, create=True, key=key, scheme=scheme)

    @staticmethod
    def _initial_meta(key: bytes, scheme: Scheme) -> dict[str, str]:
        Fingerprinter(key, scheme)  # validates the key
        return {
            "format": "leakscan-index",
            "schema_version": str(SCHEMA_VERSION),
            "scheme": json.dumps(scheme.to_dict(), sort_keys=True),
            "key_id": key_id(key),
            "key": key.hex(),
            "index_id": str(uuid.uuid4()),
            "simhash_bands": str(SIMHASH_BANDS),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "created_by": f"leakscan {__version__}",
        }

    @staticmethod
    def _check(
        meta: dict[str, str], key: bytes | None, scheme: Scheme | None, location: object
    ) -> tuple[bytes, Scheme]:
        if meta.get("format") != "leakscan-index":
            raise LeakscanIndexError(f"{location} is not a leakscan index")
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            raise SchemeMismatchError(
                f"{location} has index schema version {meta.get('schema_version')}; "
                f"this leakscan reads version {SCHEMA_VERSION}: rebuild the index"
            )
        stored = Scheme.from_dict(json.loads(meta["scheme"]))
        if stored.version != Scheme().version or stored.normalization != Scheme().normalization:
            raise SchemeMismatchError(
                f"{location} was built with fingerprint scheme {stored.version} and "
                f"normalization {stored.normalization}; this leakscan uses "
                f"{Scheme().version}/{Scheme().normalization}: rebuild the index"
            )
        if scheme is not None and scheme != stored:
            raise SchemeMismatchError(
                f"{location} was built with scheme {stored.to_dict()}, not {scheme.to_dict()}"
            )
        if key is not None and key_id(key) != meta["key_id"]:
            raise KeyMismatchError(
                f"the key given does not match {location} (index key id {meta['key_id']}, "
                f"given {key_id(key)})"
            )
        if key is None:
            if "key" not in meta:
                raise KeyMismatchError(f"{location} does not hold its key: give the key")
            key = bytes.fromhex(meta["key"])
        return key, stored

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
        wanted = unicodedata.normalize("NFC", file_name_of(file_name)).casefold()
        if not wanted:
            return []
        return [
            document
            for document in self.backend.documents_named(wanted)
            if unicodedata.normalize("NFC", file_name_of(document.path)).casefold() == wanted
        ]

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
    ) -> int:
        """Store fingerprints (unsigned hashes, token positions) of the document at ``path``."""
        existing = self.backend.find_document(root, path)
        if existing is not None:
            self.backend.remove_document(existing.id)
        content_id = self.backend.find_content(sha256)
        if content_id is None:
            content_id = self.backend.add_content(
                NewContent(
                    sha256=sha256,
                    hashes=to_signed_array(hashes),
                    positions=np.asarray(positions, dtype=np.int64),
                    simhash=simhash,
                    n_tokens=n_tokens,
                    public=public,
                ),
                self.bands,
            )
        return self.backend.add_document(
            DocumentRecord(root, path, content_id, size, mtime_ns, mime)
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
        from ..build import build

        report = build(self, [Path(path)], public=public)
        return report.summary_line()

    def remove(self, path: str, root: str = "") -> bool:
        """Remove the document at ``path`` below ``root``; False if there was none."""
        existing = self.backend.find_document(root, path)
        if existing is None:
            return False
        self.backend.remove_document(existing.id)
        return True

    def commit(self) -> None:
        self.backend.commit()

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

    def near_duplicates(self, simhash: int) -> set[int]:
        """Contents whose simhash may be within ``bands - 1`` bits of this one."""
        return self.backend.simhash_candidates(simhash, self.bands)

    def contents(self, ids: Sequence[int]) -> dict[int, ContentRecord]:
        return self.backend.contents(ids)

    def content_count(self) -> int:
        return self.backend.count_contents()

    def stats(self) -> IndexStats:
        counts = self.backend.counts()
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
        )

    def describe(self) -> dict[str, object]:
        """Index id and scheme, as findings' summaries carry them."""
        return {"index_id": self.index_id, "key_id": self.key_id, "scheme": self.scheme.to_dict()}

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
