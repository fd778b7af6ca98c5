"""Documents the PostgreSQL backend keeps back and writes many at a time.

One document at a time, :meth:`Index.add_hashes <leakscan.index.Index.add_hashes>`
cost four round trips to the server (is a document at this path? is this content
stored? store it; store the document), and a round trip costs more than the rest of
the work. :meth:`PostgresBackend.put_document
<leakscan.index.postgres.PostgresBackend.put_document>` keeps documents back in a
:class:`PutBatch` instead; a batch is written in three statements over all of it
(:func:`documents_at`, :func:`insert_contents`, :func:`insert_documents`), whose
``ON CONFLICT`` clauses settle races with other writers as the statements of one
document did. Document ids are taken from the table's sequence in advance
(:func:`allocate_ids`), so that a document kept back has its id at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg

from .base import DocumentRecord, NewContent, to_signed

__all__ = [
    "BLOB_DTYPE",
    "Put",
    "PutBatch",
    "allocate_ids",
    "check_names",
    "documents_at",
    "fingerprint_blob",
    "insert_contents",
    "insert_documents",
]

#: A content's own fingerprints, kept to remove them again: little-endian (hash, position).
BLOB_DTYPE = np.dtype([("hash", "<i8"), ("position", "<i4")])


def fingerprint_blob(content: NewContent) -> bytes:
    """The ``contents.fingerprints`` value of a content: empty for a recomputable one
    (its fingerprints are held once, in the postings, and computed again to remove it)."""
    if content.recomputable:
        return b""
    blob = np.empty(len(content.hashes), dtype=BLOB_DTYPE)
    blob["hash"] = content.hashes
    blob["position"] = content.positions
    return blob.tobytes()


def check_names(document: DocumentRecord) -> None:
    """Raise now, as writing the document would later, if a name cannot be stored: the
    error then names the call that brought it, not the one that wrote the batch."""
    for name in (document.root, document.path, document.mime):
        name.encode("utf-8")  # a lone surrogate: UnicodeEncodeError
        if "\x00" in name:
            raise psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")


@dataclass(frozen=True)
class Put:
    """A document kept back, with its content and the id it will have."""

    id: int
    document: DocumentRecord
    content: NewContent
    bands: int
    ocr: bool


class PutBatch:
    """The documents kept back, one per (root, path)."""

    def __init__(self) -> None:
        self._puts: dict[tuple[str, str], Put] = {}
        #: Fingerprints of the contents kept back (memory is bounded by them too).
        self.rows = 0

    def __len__(self) -> int:
        return len(self._puts)

    def add(self, put: Put) -> None:
        key = (put.document.root, put.document.path)
        assert key not in self._puts, "write the batch before putting a path again"
        self._puts[key] = put
        self.rows += len(put.content.hashes)

    def holds(self, root: str, path: str) -> bool:
        return (root, path) in self._puts

    def holds_below(self, root: str | None, prefix: str = "") -> bool:
        """Whether a document kept back is below ``prefix`` in ``root`` (None: any root)."""
        return any((root is None or r == root) and p.startswith(prefix) for r, p in self._puts)

    def take(self) -> list[Put]:
        """The documents kept back, in the order they came; the batch is empty afterwards."""
        puts = list(self._puts.values())
        self.clear()
        return puts

    def clear(self) -> None:
        self._puts, self.rows = {}, 0


def allocate_ids(db: psycopg.Connection[Any], count: int) -> list[int]:
    """``count`` new document ids from the table's sequence (never handed out twice,
    whoever asks, and never given back: a rolled back batch leaves a gap)."""
    rows = db.execute(
        "SELECT nextval(pg_get_serial_sequence('documents', 'id')) FROM generate_series(1, %s)",
        (count,),
    ).fetchall()
    return [int(row[0]) for row in rows]


# The arrays below go in binary (%b): in text, a batch's fingerprint blobs took four times
# as long to send (hex) and parse as the statement took to run (measured: 330 against 80 ms
# for 1,000 contents).


def documents_at(db: psycopg.Connection[Any], puts: Sequence[Put]) -> list[int]:
    """Ids of the stored documents at the puts' paths: they make way for the puts."""
    rows = db.execute(
        "SELECT d.id FROM documents AS d "
        "JOIN unnest(%b::text[], %b::text[]) AS q(root, path) "
        'ON d.root = q.root COLLATE "C" AND d.path = q.path COLLATE "C" '
        "ORDER BY d.root, d.path",
        ([p.document.root for p in puts], [p.document.path for p in puts]),
    ).fetchall()
    return [int(row[0]) for row in rows]


def insert_contents(db: psycopg.Connection[Any], puts: Sequence[Put]) -> dict[str, int]:
    """Store the puts' contents the index lacks, in sha256 order (two writers storing
    the same contents wait for each other in the same order, never in a circle); the
    ids of the contents stored now, by sha256. A content stored already, or by another
    writer meanwhile, is left as it is (and its fingerprints are not counted again)."""
    first: dict[str, NewContent] = {}
    for put in puts:
        first.setdefault(put.content.sha256, put.content)
    contents = [first[sha256] for sha256 in sorted(first)]
    rows = db.execute(
        "INSERT INTO contents (sha256, n_tokens, n_fingerprints, simhash, public, "
        "fingerprints, alignment) "
        "SELECT * FROM unnest(%b::text[], %b::integer[], %b::integer[], %b::bigint[], "
        "%b::boolean[], %b::bytea[], %b::bytea[]) "
        "AS q(sha256, n_tokens, n_fingerprints, simhash, public, fingerprints, alignment) "
        'ORDER BY sha256 COLLATE "C" '
        "ON CONFLICT (sha256) DO NOTHING RETURNING id, sha256",
        (
            [c.sha256 for c in contents],
            [c.n_tokens for c in contents],
            [len(c.hashes) for c in contents],
            [to_signed(c.simhash) for c in contents],
            [c.public for c in contents],
            [fingerprint_blob(c) for c in contents],
            [c.alignment for c in contents],
        ),
    ).fetchall()
    return {str(sha256): int(content_id) for content_id, sha256 in rows}


def insert_documents(db: psycopg.Connection[Any], puts: Sequence[Put]) -> set[int]:
    """Store the puts' documents, each holding the stored content of its sha256, in path
    order; the ids stored. A put is not stored if another writer took its path meanwhile
    (or removed its content): the caller clears the way and tries it again."""
    rows = db.execute(
        "INSERT INTO documents (id, root, path, content_id, size, mtime_ns, mime) "
        "SELECT q.id, q.root, q.path, c.id, q.size, q.mtime_ns, q.mime "
        "FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::text[], %b::bigint[], "
        "%b::bigint[], %b::text[]) AS q(id, root, path, sha256, size, mtime_ns, mime) "
        'JOIN contents AS c ON c.sha256 = q.sha256 COLLATE "C" '
        'ORDER BY q.root COLLATE "C", q.path COLLATE "C" '
        "ON CONFLICT (root, path) DO NOTHING RETURNING id",
        (
            [p.id for p in puts],
            [p.document.root for p in puts],
            [p.document.path for p in puts],
            [p.content.sha256 for p in puts],
            [p.document.size for p in puts],
            [p.document.mtime_ns for p in puts],
            [p.document.mime for p in puts],
        ),
    ).fetchall()
    return {int(row[0]) for row in rows}
