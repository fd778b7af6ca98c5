"""The one protocol every index backend implements, and the records it stores.

Backends store fingerprints, positions and document ids, never the indexed
text. Hashes cross this boundary as signed 64-bit integers, because SQLite
and PostgreSQL integers are signed; :func:`to_signed` and :func:`to_unsigned`
are the only conversions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..errors import LeakscanIndexError

__all__ = [
    "ContentRecord",
    "DocumentRecord",
    "IndexBackend",
    "NewContent",
    "Posting",
    "Recompute",
    "band_values",
    "file_name_of",
    "look_up_separately",
    "put_one_by_one",
    "recomputed",
    "sources_separately",
    "to_signed",
    "to_signed_array",
    "to_unsigned",
]

_SIGN = 1 << 63
_MOD = 1 << 64


def to_signed(value: int) -> int:
    """Map an unsigned 64-bit integer onto SQL's signed BIGINT, bit for bit.

    >>> to_signed(2**64 - 1), to_signed(5)
    (-1, 5)
    """
    return value - _MOD if value >= _SIGN else value


def to_unsigned(value: int) -> int:
    """Inverse of :func:`to_signed`.

    >>> to_unsigned(-1) == 2**64 - 1
    True
    """
    return value + _MOD if value < 0 else value


def to_signed_array(values: Iterable[int] | np.ndarray) -> np.ndarray:
    """:func:`to_signed` for many values at once (the same bits, viewed as int64).

    >>> to_signed_array([2**64 - 1, 5]).tolist()
    [-1, 5]
    """
    unsigned = values if isinstance(values, np.ndarray) else np.fromiter(values, dtype=np.uint64)
    signed: np.ndarray = unsigned.astype(np.uint64, copy=False).view(np.int64)
    return signed


def file_name_of(path: str) -> str:
    """The last part of a document path, archive members included.

    >>> file_name_of("2026/memos.zip!drafts/Budget memo.pdf")
    'Budget memo.pdf'
    """
    return path.replace("!", "/").rsplit("/", 1)[-1]


def band_values(simhash: int, bands: int) -> list[int]:
    """Split a 64-bit simhash into ``bands`` slices for pigeonhole lookup.

    Two simhashes within Hamming distance ``bands - 1`` agree on at least one slice.

    >>> band_values(0xFFFF_0000_0000_0001, 4)
    [1, 0, 0, 65535]
    """
    width = 64 // bands
    values = []
    for band in range(bands):
        shift = band * width
        bits = 64 - shift if band == bands - 1 else width
        values.append((simhash >> shift) & ((1 << bits) - 1))
    return values


#: Fingerprints of a stored content from its sha256 and alignment blob: signed int64
#: hashes. Set on a backend by the :class:`~leakscan.index.Index` that opened it (it holds
#: the key); None where no key is at hand (then such contents cannot be removed).
Recompute = Callable[[str, bytes], np.ndarray]


@dataclass(frozen=True)
class NewContent:
    """Fingerprints of one distinct file content, ready to store.

    ``hashes`` is a signed int64 array; ``positions`` the token index of each.
    """

    sha256: str
    hashes: np.ndarray
    positions: np.ndarray
    simhash: int
    n_tokens: int
    public: bool = False
    #: The content's alignment units, encrypted (:mod:`leakscan.align`); stored as is.
    alignment: bytes = b""
    #: ``hashes`` can be computed again from ``alignment`` (fingerprint scheme 3): the
    #: backend keeps no per-content copy of them and stores positions as 0; removing or
    #: exporting the content asks :attr:`IndexBackend.recompute` for them.
    recomputable: bool = False


@dataclass(frozen=True)
class ContentRecord:
    """A stored content: what a finding needs to know about its source."""

    id: int
    sha256: str
    n_tokens: int
    n_fingerprints: int
    simhash: int
    public: bool
    paths: tuple[str, ...]
    #: The archive root each of ``paths`` was indexed from (same order).
    roots: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocumentRecord:
    """One indexed file: a path below an archive root, holding a content."""

    root: str
    path: str
    content_id: int
    size: int
    mtime_ns: int
    mime: str
    id: int = 0


@dataclass(frozen=True)
class Posting:
    """One occurrence of a fingerprint (signed) in a content, at a token position."""

    hash: int
    content_id: int
    position: int


class IndexBackend(Protocol):
    """Storage for an index; chosen from the index URL's scheme.

    Document frequencies: a backend may keep counts only for fingerprints held by two
    or more contents (SQLite and PostgreSQL schema 4 do), but
    :meth:`document_frequencies` answers for every stored hash, 1 included.
    """

    url: str
    #: How to compute a recomputable content's fingerprints again (see :class:`NewContent`).
    recompute: Recompute | None

    def read_meta(self) -> dict[str, str]: ...

    def write_meta(self, values: dict[str, str]) -> None: ...

    def create_meta(self, values: dict[str, str]) -> dict[str, str]:
        """Store ``values`` as the meta of a new index unless it has meta already, atomically;
        returns the meta the index holds afterwards (never overwrites a key)."""
        ...

    def find_document(self, root: str, path: str) -> DocumentRecord | None: ...

    def documents(self, root: str | None = None) -> Iterator[DocumentRecord]: ...

    def documents_below(self, root: str, prefix: str) -> list[DocumentRecord]:
        """Documents of a root whose path starts with ``prefix`` (an archive's members)."""
        ...

    def documents_named(self, file_name: str) -> list[DocumentRecord]:
        """Documents whose path ends in this file name (any case); a superset is allowed."""
        ...

    def find_content(self, sha256: str) -> int | None: ...

    def add_content(self, content: NewContent, bands: int) -> int: ...

    def add_document(self, document: DocumentRecord) -> int: ...

    def put_document(
        self, document: DocumentRecord, content: NewContent, bands: int, *, ocr: bool = False
    ) -> int:
        """Store a document at its (root, path), replacing the one there (as
        :meth:`remove_document` does), holding the content whose sha256 ``content`` has:
        the stored one, or ``content`` stored now (``ocr``: marked as read by OCR).
        ``document.content_id`` is ignored. Returns the document's id.

        What :meth:`Index.add_hashes <leakscan.index.Index.add_hashes>` calls: a backend
        may keep it back and write many at once, provided every later call sees it as
        written and :meth:`commit` writes it (see :func:`put_one_by_one`)."""
        ...

    def remove_document(self, document_id: int) -> None:
        """Remove a document, and its content once no document holds it."""

    def set_ocr(self, sha256: str) -> None:
        """Mark a stored content as text read by OCR (for ``index stats``)."""

    def count_ocr_documents(self) -> int:
        """Documents whose content was read by OCR (0 for an index built before OCR)."""
        ...

    def document_frequencies(self, hashes: Sequence[int]) -> dict[int, int]:
        """For each signed hash present, the number of contents holding it."""

    def postings(
        self, hashes: Sequence[int], content_ids: Sequence[int] | None = None
    ) -> list[Posting]:
        """Occurrences of signed hashes, optionally only in the given contents."""

    def look_up(
        self, hashes: Sequence[int], max_holders: int
    ) -> tuple[dict[int, int], list[Posting]]:
        """:meth:`document_frequencies` of these signed hashes, and the :meth:`postings`
        of those at most ``max_holders`` contents hold: a match's first read, in one
        where a read costs a round trip (see :func:`look_up_separately`)."""
        ...

    def simhash_candidates(self, simhash: int, bands: int) -> dict[int, int]:
        """Contents agreeing with ``simhash`` on at least one band, with their (unsigned)
        simhashes: checked bit by bit without another read."""

    def simhashes(self, ids: Sequence[int]) -> dict[int, int]:
        """The (unsigned) simhashes of these contents: a cheap read, without their paths."""
        ...

    def contents(self, ids: Sequence[int]) -> dict[int, ContentRecord]: ...

    def alignments(self, ids: Sequence[int]) -> dict[int, bytes]:
        """The alignment blobs of these contents (b"" or absent: stored without one)."""
        ...

    def sources(self, ids: Sequence[int]) -> dict[int, tuple[ContentRecord, bytes]]:
        """:meth:`contents` with their :meth:`alignments`: what a match aligns, in one
        read where a read costs a round trip (see :func:`sources_separately`)."""
        ...

    def export_contents(self) -> Iterator[tuple[int, NewContent]]:
        """Every stored content as ``(id, content)``, by increasing id, read in batches so
        that memory stays flat however large the index: its signed hashes and positions
        in stored order, simhash (unsigned), n_tokens, public and alignment blob.

        For ``leakscan index export``: what :meth:`add_content` took, given back. A
        recomputable content comes without hashes and positions (``recomputable`` set):
        the export carries its alignment blob, and an import computes them again with
        its key, so an export needs no key."""
        ...

    def ocr_marked(self, sha256s: Sequence[str]) -> set[str]:
        """Those of these contents marked by :meth:`set_ocr` (an index without marks: none)."""
        ...

    def add_image_hashes(
        self,
        content_id: int,
        hashes: Sequence[tuple[str, str, int]],
        bands: Sequence[tuple[int, int, str]],
    ) -> None:
        """Store a picture's hashes, (view, kind, signed hash), and its views' band values,
        (band, value, view); rows already there are kept."""

    def image_candidates(
        self, probes: Sequence[tuple[int, Sequence[int]]]
    ) -> list[tuple[int, str, str, int]]:
        """The hashes, (content id, view, kind, signed hash), of every picture view whose
        band holds one of the values probed, (band, values); a view may come more than once."""

    def image_hashes(self, content_ids: Sequence[int]) -> dict[int, list[tuple[str, str, int]]]:
        """The (view, kind, signed hash) rows of these contents' pictures."""

    def image_bands(self, content_ids: Sequence[int]) -> dict[int, list[tuple[int, int, str]]]:
        """The (band, value, view) rows of these contents' pictures, as
        :meth:`add_image_hashes` took them (contents without pictures are absent)."""

    def count_pictures(self) -> int:
        """Contents indexed by their look (pictures)."""

    def most_common(self, limit: int) -> list[tuple[int, int]]:
        """The ``limit`` fingerprints (signed) held by most contents, with their counts,
        most common first (ties by hash); for ``index stats``, not for scans."""
        ...

    def count_public_documents(self) -> int:
        """Documents registered as public (``--public``)."""
        ...

    def count_contents(self) -> int:
        """Number of distinct contents: cheap, read before every boilerplate decision."""

    def count_documents(self) -> int: ...

    def counts(self) -> dict[str, int]:
        """Numbers of documents, contents and fingerprints."""

    def commit(self) -> None: ...

    def rollback(self) -> bool:
        """Drop the changes since the last commit; False if the backend cannot (they stay)."""
        ...

    def close(self) -> None: ...


def recomputed(
    recompute: Recompute | None, sha256: str, alignment: bytes, where: str
) -> np.ndarray:
    """A recomputable content's fingerprints (signed int64), asked of ``recompute``; one
    line naming the content and ``where`` (the index) when there is no key to ask with."""
    if recompute is None:
        raise LeakscanIndexError(
            f"cannot remove content {sha256[:12]} of {where}: it keeps no copy of its "
            "fingerprints, and computing them again from its alignment units needs the index key"
        )
    return np.asarray(recompute(sha256, alignment), dtype=np.int64)


def look_up_separately(
    backend: IndexBackend, hashes: Sequence[int], max_holders: int
) -> tuple[dict[int, int], list[Posting]]:
    """:meth:`IndexBackend.look_up` as two reads, for a backend in this process."""
    frequencies = backend.document_frequencies(hashes)
    chosen = sorted(h for h, n in frequencies.items() if n <= max_holders)
    return frequencies, backend.postings(chosen) if chosen else []


def sources_separately(
    backend: IndexBackend, ids: Sequence[int]
) -> dict[int, tuple[ContentRecord, bytes]]:
    """:meth:`IndexBackend.sources` as two reads, for a backend in this process."""
    contents = backend.contents(ids)
    blobs = backend.alignments(sorted(contents))
    return {cid: (record, blobs.get(cid, b"")) for cid, record in contents.items()}


def put_one_by_one(
    backend: IndexBackend,
    document: DocumentRecord,
    content: NewContent,
    bands: int,
    *,
    ocr: bool = False,
) -> int:
    """:meth:`IndexBackend.put_document` for a backend that writes each document as it
    comes: its older document makes way, then the content is found or added."""
    existing = backend.find_document(document.root, document.path)
    if existing is not None:
        backend.remove_document(existing.id)
    content_id = backend.find_content(content.sha256)
    if content_id is None:
        content_id = backend.add_content(content, bands)
        if ocr:
            backend.set_ocr(content.sha256)
    return backend.add_document(
        DocumentRecord(
            document.root,
            document.path,
            content_id,
            document.size,
            document.mtime_ns,
            document.mime,
        )
    )
