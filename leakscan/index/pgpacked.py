"""Fingerprints packed in leaves: the PostgreSQL index's compact postings (schema 3).

A row per posting costs PostgreSQL about 93 bytes (a heap tuple and its B-tree entry),
four bytes of index for every byte of source text. A leaf holds many:
``packed(lo, most, hashes, counts, ids)`` is one row per range of fingerprints, from its
``lo`` up to the next leaf's. ``hashes`` are the distinct fingerprints in it, sorted
(6 bytes each: scheme 3's are 48 bits), ``counts`` how many contents hold each (4 bytes),
``ids`` those contents, sorted, one list after the other (4 bytes each), and ``most`` the
largest count (for ``index stats``). The first leaf's ``lo`` is the smallest BIGINT, so
every fingerprint has the one leaf that may hold it: the one with the greatest ``lo`` at or
below it (:data:`COVERING`). Leaves are cut at about :data:`LEAF_BYTES`, well below the
size at which PostgreSQL moves a value out of the row; a fingerprint held by many contents
makes a leaf of its own, its ids kept out of line (read only when its postings are).

Writers add postings to the ``postings`` table one row each, as before; :func:`pack` moves
those of recomputable contents (their position is 0, their fingerprints are computed again
to remove them) into the leaves when a build ends or a writer closes. A (fingerprint,
content) pair is in one place or the other, so a fingerprint's document frequency is its
count here plus its count there, read in one statement (one snapshot) by the backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg

from .pgconn import Int8Array

__all__ = [
    "COVERING",
    "GENERATION_KEY",
    "LEAF_BYTES",
    "LeafMap",
    "Leaves",
    "cut",
    "encode",
    "pack",
    "remove_content",
]

#: Bytes a leaf is cut at (a fingerprint and its holders are never split). A look-up reads
#: whole leaves: at 1,800 bytes a page's look-up (about 90 leaves) took 1.96 ms, at 400
#: bytes 1.5 (the slowest tenth: 4.2 and 3.4), for some 60 bytes more a leaf.
LEAF_BYTES = 512
#: Postings read from the delta per round of :func:`pack`.
PACK_ROWS = 250_000
#: A round of :func:`pack` reads each fingerprint's leaf (one index probe each) while it
#: has fewer fingerprints than this share of the leaves its span crosses, else that span.
RANGE_FACTOR = 4
_MIN = -(2**63)  # the first leaf's lo
_HASH_BYTES = 6
_HASH_LIMIT = 2**48  # scheme 3's fingerprints are below it: larger ones stay row by row
_ID_LIMIT = 2**32

#: Meta entry counting the changes of the leaves' ``lo`` (see :class:`LeafMap`).
GENERATION_KEY = "postgres_leaves"

#: The leaves that may hold the fingerprints of the bigint array parameter ``hashes``
#: (a sub-query a fingerprint: about 10 µs each; readers use a :class:`LeafMap`).
COVERING = (
    "ARRAY(SELECT (SELECT lo FROM packed WHERE lo <= h ORDER BY lo DESC LIMIT 1) "
    "FROM unnest(%(hashes)b::bigint[]) AS h)"
)
#: Postings a leaf may hold: those of recomputable contents (position 0), in range.
_PACKABLE = (
    "FROM postings AS p JOIN contents AS c ON c.id = p.content_id "
    "WHERE c.fingerprints = ''::bytea AND c.n_fingerprints > 0 "
    f"AND p.hash >= 0 AND p.hash < {_HASH_LIMIT} AND p.content_id < {_ID_LIMIT}"
)


def encode(hashes: np.ndarray, counts: np.ndarray, ids: np.ndarray) -> tuple[bytes, bytes, bytes]:
    """A leaf's three columns from its distinct sorted fingerprints, their counts and the
    ids (sorted per fingerprint).

    >>> [len(column) for column in encode(np.array([5, 9]), np.array([1, 2]), np.array([3, 1, 4]))]
    [12, 8, 12]
    """
    wide = np.ascontiguousarray(hashes, dtype="<u8").view(np.uint8).reshape(-1, 8)
    return (
        wide[:, :_HASH_BYTES].tobytes(),
        np.asarray(counts, dtype="<u4").tobytes(),
        np.asarray(ids, dtype="<u4").tobytes(),
    )


def _hashes(column: bytes) -> np.ndarray:
    narrow = np.frombuffer(column, dtype=np.uint8).reshape(-1, _HASH_BYTES)
    wide = np.zeros((len(narrow), 8), dtype=np.uint8)
    wide[:, :_HASH_BYTES] = narrow
    return wide.view("<u8").ravel().astype(np.int64)


@dataclass(frozen=True)
class Leaves:
    """Leaves read back, in order: every fingerprint they hold, its count, and (when read)
    where its ids start in ``ids``."""

    hashes: np.ndarray
    counts: np.ndarray
    starts: np.ndarray
    ids: np.ndarray | None

    @classmethod
    def decode(cls, rows: Sequence[tuple[Any, ...]]) -> Leaves:
        """From rows ``(lo, hashes, counts[, ids])`` in any order."""
        rows = sorted(rows, key=lambda row: int(row[0]))
        hashes = _hashes(b"".join(bytes(row[1]) for row in rows))
        counts = np.frombuffer(b"".join(bytes(row[2]) for row in rows), dtype="<u4").astype(
            np.int64
        )
        starts = np.cumsum(counts) - counts
        ids = None  # (no leaves: no ids either)
        if not rows or len(rows[0]) > 3:
            ids = np.frombuffer(b"".join(bytes(row[3]) for row in rows), dtype="<u4").astype(
                np.int64
            )
        return cls(hashes, counts, starts, ids)

    def where(self, wanted: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The wanted fingerprints held here, and their places."""
        query = np.unique(np.asarray(wanted, dtype=np.int64))
        places = np.searchsorted(self.hashes, query)
        inside = places < len(self.hashes)
        held = np.zeros(len(query), dtype=bool)
        held[inside] = self.hashes[places[inside]] == query[inside]
        return query[held], places[held]

    def frequencies(self, wanted: Sequence[int] | np.ndarray) -> dict[int, int]:
        found, places = self.where(wanted)
        return dict(zip(found.tolist(), self.counts[places].tolist(), strict=True))

    def postings(self, wanted: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(fingerprint, content id) of every posting of the wanted fingerprints."""
        assert self.ids is not None, "read the leaves with their ids"
        found, places = self.where(wanted)
        lengths = self.counts[places]
        first = np.repeat(self.starts[places] - (np.cumsum(lengths) - lengths), lengths)
        return np.repeat(found, lengths), self.ids[first + np.arange(int(lengths.sum()))]

    def flat(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (fingerprint, content id) held, sorted."""
        assert self.ids is not None, "read the leaves with their ids"
        return np.repeat(self.hashes, self.counts), self.ids


class LeafMap:
    """Which leaf may hold each fingerprint, worked out here from every leaf's ``lo``:
    a look-up then asks for leaves by their key, one probe of the primary key each, not
    through :data:`COVERING`'s sub-query per fingerprint (measured: 1.35 ms of a page's
    2 ms look-up). The map holds while the :data:`GENERATION_KEY` a look-up reads in
    the same statement is the one it was loaded with; otherwise it is loaded again."""

    def __init__(self) -> None:
        self.los: np.ndarray | None = None
        self.generation: str | None = None

    def load(self, db: psycopg.Connection[Any]) -> None:
        """Every leaf's ``lo`` and the generation, from one snapshot."""
        with db.cursor(binary=True) as cursor:
            rows = cursor.execute(
                "SELECT lo, NULL::text FROM packed "
                "UNION ALL SELECT NULL, value FROM meta WHERE key = %s",
                (GENERATION_KEY,),
            ).fetchall()
        self.generation = next((str(g) for lo, g in rows if lo is None), None)
        self.los = np.sort(np.array([lo for lo, _ in rows if lo is not None], dtype=np.int64))

    def leaves(self, hashes: np.ndarray) -> np.ndarray:
        """The ``lo`` of the leaves that may hold these fingerprints (none if none may)."""
        assert self.los is not None, "load the map first"
        places = np.searchsorted(self.los, hashes, side="right") - 1
        return np.unique(self.los[places[places >= 0]])

    def holds(self, generation: str | None) -> bool:
        return self.los is not None and generation == self.generation


def cut(
    hashes: np.ndarray, ids: np.ndarray, bounds: np.ndarray
) -> list[tuple[int, int, bytes, bytes, bytes]]:
    """Leaf rows ``(lo, most, hashes, counts, ids)`` for sorted distinct (fingerprint,
    content id) pairs. ``bounds`` are the sorted ``lo`` of the leaves they replace: a new
    leaf never spans two of them (the leaves between were not read), and the first one cut
    from each keeps its ``lo``, so that every fingerprint keeps the leaf that holds it."""
    if not len(hashes):
        return []
    starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
    distinct = hashes[starts]
    counts = np.diff(np.r_[starts, len(hashes)])
    owner = np.searchsorted(bounds, distinct, side="right") - 1
    size = _HASH_BYTES + 4 + 4 * counts
    before = np.cumsum(size) - size
    owner_first = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    within = before - np.repeat(before[owner_first], np.diff(np.r_[owner_first, len(owner)]))
    piece = within // LEAF_BYTES
    first = np.flatnonzero(np.r_[True, (owner[1:] != owner[:-1]) | (piece[1:] != piece[:-1])])
    los = distinct[first].copy()
    opens_owner = np.r_[True, owner[first][1:] != owner[first][:-1]]
    los[opens_owner] = bounds[owner[first][opens_owner]]
    ends = np.r_[first[1:], len(distinct)]
    id_starts = np.r_[starts, len(hashes)]
    rows = []
    for lo, a, b in zip(los.tolist(), first.tolist(), ends.tolist(), strict=True):
        leaf_counts = counts[a:b]
        columns = encode(distinct[a:b], leaf_counts, ids[id_starts[a] : id_starts[b]])
        rows.append((lo, int(leaf_counts.max()), *columns))
    return rows


def _read(db: psycopg.Connection[Any], hashes: np.ndarray, leaves: int) -> list[tuple[Any, ...]]:
    """The leaves that may hold these sorted fingerprints, with their ids: each one's
    leaf when they are few for the leaves their span crosses, else every leaf in it."""
    columns = "SELECT lo, hashes, counts, ids FROM packed"
    span = (int(hashes[-1]) - int(hashes[0]) + 1) / _HASH_LIMIT
    if len(hashes) * RANGE_FACTOR < leaves * span:
        return db.execute(
            f"{columns} WHERE lo = ANY({COVERING})", {"hashes": Int8Array(hashes)}
        ).fetchall()
    return db.execute(
        f"{columns} WHERE lo >= coalesce((SELECT max(lo) FROM packed WHERE lo <= %s), %s) "
        "AND lo <= %s",
        (int(hashes[0]), _MIN, int(hashes[-1])),
    ).fetchall()


def _write(
    db: psycopg.Connection[Any], gone: Sequence[int], rows: Sequence[tuple[Any, ...]]
) -> None:
    if gone or rows:  # readers' leaf maps are out of date once this commits
        db.execute(
            "INSERT INTO meta (key, value) VALUES (%s, '1') ON CONFLICT (key) "
            "DO UPDATE SET value = (meta.value::bigint + 1)::text",
            (GENERATION_KEY,),
        )
    if gone:
        db.execute("DELETE FROM packed WHERE lo = ANY(%b::bigint[])", (list(gone),))
    if rows:
        db.execute(
            "INSERT INTO packed (lo, most, hashes, counts, ids) "
            "SELECT * FROM unnest(%b::bigint[], %b::integer[], %b::bytea[], %b::bytea[], "
            "%b::bytea[])",
            tuple(list(column) for column in zip(*rows, strict=True)),
        )


def _merge(db: psycopg.Connection[Any], hashes: np.ndarray, ids: np.ndarray, leaves: int) -> int:
    """Add sorted (fingerprint, content id) pairs to the leaves; the leaves there are now."""
    read = _read(db, np.unique(hashes), leaves) if leaves else []
    old_hashes, old_ids = Leaves.decode(read).flat()
    bounds = np.array(sorted(int(row[0]) for row in read) or [_MIN], dtype=np.int64)
    all_hashes = np.concatenate([old_hashes, hashes])
    all_ids = np.concatenate([old_ids, ids])
    order = np.lexsort((all_ids, all_hashes))
    all_hashes, all_ids = all_hashes[order], all_ids[order]
    keep = np.r_[True, (all_hashes[1:] != all_hashes[:-1]) | (all_ids[1:] != all_ids[:-1])]
    rows = cut(all_hashes[keep], all_ids[keep], bounds)
    _write(db, [int(row[0]) for row in read], rows)
    return leaves - len(read) + len(rows)


def pack(db: psycopg.Connection[Any]) -> bool:
    """Move the postings of recomputable contents into the leaves, in the open write
    transaction. The postings table (and its frequencies) is emptied when nothing else is
    left in it, else the moved rows are deleted: True then, as the frequencies of the rows
    left must be counted again."""
    row = db.execute("SELECT count(*) FROM packed").fetchone()
    leaves = int(row[0]) if row else 0
    moved = 0
    db.execute(
        "DECLARE leakscan_pack NO SCROLL CURSOR FOR "
        f"SELECT p.hash, p.content_id {_PACKABLE} ORDER BY p.hash, p.content_id"
    )
    held_hashes = np.empty(0, dtype=np.int64)  # the last fingerprint's pairs: more may come
    held_ids = np.empty(0, dtype=np.int64)
    with db.cursor(binary=True) as cursor:
        while True:
            fetched = cursor.execute(f"FETCH {PACK_ROWS} FROM leakscan_pack").fetchall()
            pairs = np.array(fetched, dtype=np.int64).reshape(-1, 2)
            hashes = np.concatenate([held_hashes, pairs[:, 0]])
            ids = np.concatenate([held_ids, pairs[:, 1]])
            if len(fetched) == PACK_ROWS and len(hashes):
                last = int(np.searchsorted(hashes, hashes[-1]))
                if last:
                    held_hashes, held_ids = hashes[last:], ids[last:]
                    hashes, ids = hashes[:last], ids[:last]
                else:  # one fingerprint so far: keep reading
                    held_hashes, held_ids = hashes, ids
                    continue
            if len(hashes):
                leaves = _merge(db, hashes, ids, leaves)
                moved += len(hashes)
            if len(fetched) < PACK_ROWS:
                break
    db.execute("CLOSE leakscan_pack")
    if not moved:
        return False
    row = db.execute("SELECT count(*) FROM postings").fetchone()
    if row is not None and int(row[0]) == moved:
        db.execute("TRUNCATE postings")
        db.execute("TRUNCATE frequencies")
    else:
        db.execute(
            f"DELETE FROM postings AS d USING (SELECT p.hash, p.content_id {_PACKABLE}) "
            "AS m WHERE d.hash = m.hash AND d.content_id = m.content_id"
        )
        return True
    return False


def remove_content(db: psycopg.Connection[Any], content_id: int, hashes: Sequence[int]) -> int:
    """Take a content out of the leaves holding its fingerprints; how many postings of it
    were there."""
    if not len(hashes):
        return 0
    read = db.execute(
        f"SELECT lo, hashes, counts, ids FROM packed WHERE lo = ANY({COVERING})",
        {"hashes": Int8Array(sorted(set(hashes)))},
    ).fetchall()
    if not read:
        return 0
    flat_hashes, flat_ids = Leaves.decode(read).flat()
    drop = (flat_ids == content_id) & np.isin(flat_hashes, np.asarray(hashes, dtype=np.int64))
    removed = int(drop.sum())
    if removed:
        bounds = np.array(sorted(int(row[0]) for row in read), dtype=np.int64)
        rows = cut(flat_hashes[~drop], flat_ids[~drop], bounds)
        if bounds[0] == _MIN and (not rows or rows[0][0] != _MIN):
            rows.insert(0, (_MIN, 0, b"", b"", b""))  # the first leaf stays, held or not
        _write(db, bounds.tolist(), rows)
    return removed
