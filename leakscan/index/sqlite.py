"""SQLite index backend: one file, WAL, many concurrent readers and one writer.

Layout (schema version 2), also described in ``fingerprints/README.md``:

* ``meta(key, value)``: scheme, key id, index id, versions, the state of the last build;
* ``contents``: one row per distinct file content (sha256), with its token and
  fingerprint counts, simhash and its own fingerprints as a little-endian
  blob of (int64 hash, int32 position) pairs, used to remove it again;
* ``documents``: one row per indexed file (archive root, relative path);
* ``postings(hash, content_id, position)``: clustered by hash for lookups;
* ``frequencies(hash, contents)``: how many contents hold each fingerprint;
* ``bands(band, value, content_id)``: simhash slices for near-duplicate lookup;
* ``ocr_contents(sha256)``: contents whose text was read by OCR. Added after schema
  version 1 without changing it: a table apart from the fingerprint tables, created
  by the first build that opens an older index (which held no OCR'd text, so it
  starts empty); readers of an index without it count no OCR'd documents, and
  older leakscans ignore it;
* ``image_hashes(content_id, view, kind, hash)``: perceptual hashes of pictures
  (schema version 2), one row per view of the picture and hash kind;
* ``image_bands(band, value, content_id, view)``: the 16-bit slices of each view's
  primary hash, for multi-index look-up (see :mod:`leakscan.imagescan`);
* ``contents.alignment`` (schema version 3): the content's alignment units, compressed
  and encrypted under the index key (:mod:`leakscan.align`); NULL for contents stored
  by an older version.
* Schema version 4 stores each fingerprint once: ``frequencies`` holds only fingerprints
  two or more contents share (the others are counted from ``postings``), and a content
  whose fingerprints can be computed again from its alignment units (fingerprint scheme
  3, ``NewContent.recomputable``) keeps an empty ``contents.fingerprints`` and postings at
  position 0; removing it computes them again (:attr:`SQLiteBackend.recompute`).

Versions: a connection that may write migrates an older index in one
transaction (:data:`_MIGRATIONS`); a read-only one reads versions
:data:`READABLE_SCHEMA_VERSIONS` as they are (a version 1 index has no
pictures: look-ups find none).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

import numpy as np

from ..errors import IndexNotFoundError, LeakscanIndexError
from .base import (
    ContentRecord,
    DocumentRecord,
    NewContent,
    Posting,
    Recompute,
    band_values,
    look_up_separately,
    put_one_by_one,
    recomputed,
    sources_separately,
    to_signed,
    to_unsigned,
)

__all__ = [
    "READABLE_SCHEMA_VERSIONS",
    "SCHEMA_VERSION",
    "SQLiteBackend",
    "no_index_at",
    "sqlite_cause",
]

SCHEMA_VERSION = 4
#: Versions this code reads; older ones than SCHEMA_VERSION are migrated by writers.
READABLE_SCHEMA_VERSIONS = (1, 2, 3, 4)
_CHUNK = 500  # hashes per IN (...) query: far below SQLite's variable limit
_FLUSH_ROWS = 2_000_000  # buffered postings written at once, in hash order (~50 MB)
_INSERT_ROWS = 100_000  # postings handed to one executemany (Python objects: ~10 MB)
_EXPORT_PAGE = 256  # contents read per query by export_contents

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contents (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    n_tokens INTEGER NOT NULL,
    n_fingerprints INTEGER NOT NULL,
    simhash INTEGER NOT NULL,
    public INTEGER NOT NULL DEFAULT 0,
    fingerprints BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    content_id INTEGER NOT NULL REFERENCES contents(id),
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    mime TEXT NOT NULL,
    UNIQUE (root, path)
);
CREATE INDEX IF NOT EXISTS documents_content ON documents(content_id);
CREATE TABLE IF NOT EXISTS postings (
    hash INTEGER NOT NULL,
    content_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (hash, content_id, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS frequencies (
    hash INTEGER PRIMARY KEY,
    contents INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bands (
    band INTEGER NOT NULL,
    value INTEGER NOT NULL,
    content_id INTEGER NOT NULL,
    PRIMARY KEY (band, value, content_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ocr_contents (sha256 TEXT PRIMARY KEY) WITHOUT ROWID;
"""

#: Statements that bring an index of version ``n - 1`` to version ``n``, by ``n``. An old
#: leakscan refuses the migrated index (its version check), so it cannot remove documents
#: and leave their pictures' rows behind.
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: (
        """CREATE TABLE IF NOT EXISTS image_hashes (
            content_id INTEGER NOT NULL,
            view TEXT NOT NULL,
            kind TEXT NOT NULL,
            hash INTEGER NOT NULL,
            PRIMARY KEY (content_id, view, kind)
        ) WITHOUT ROWID""",
        """CREATE TABLE IF NOT EXISTS image_bands (
            band INTEGER NOT NULL,
            value INTEGER NOT NULL,
            content_id INTEGER NOT NULL,
            view TEXT NOT NULL,
            PRIMARY KEY (band, value, content_id, view)
        ) WITHOUT ROWID""",
    ),
    # Contents stored before version 3 have no alignment units (NULL): matched as before,
    # by fingerprint spans, until they are indexed again.
    3: ("ALTER TABLE contents ADD COLUMN alignment BLOB",),
    # A fingerprint one content holds is counted from postings (document_frequencies).
    4: ("DELETE FROM frequencies WHERE contents < 2",),
}
#: A frequencies row is kept for fingerprints held by this many contents or more.
_SHARED = 2

_BLOB_DTYPE = np.dtype([("hash", "<i8"), ("position", "<i4")])


P = ParamSpec("P")
R = TypeVar("R")


def no_index_at(path: str | Path) -> IndexNotFoundError:
    return IndexNotFoundError(
        f"no index at {path}: build one with 'leakscan index build ARCHIVE_DIR'"
    )


def sqlite_cause(exc: sqlite3.Error) -> str:
    """One line saying what went wrong, in words for the person at the keyboard."""
    text = " ".join(str(exc).split())
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name == "SQLITE_FULL":
        return f"the disk is full ({text})"
    if name.startswith("SQLITE_IOERR"):
        return f"{text} ({name}: the disk may be full, or the file larger than allowed)"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return f"another process keeps the index locked ({text})"
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return f"the file is damaged or not a leakscan index ({text})"
    return text


def _mapped(
    doing: str,
) -> Callable[
    [Callable[Concatenate[SQLiteBackend, P], R]], Callable[Concatenate[SQLiteBackend, P], R]
]:
    """sqlite3 errors leave as one-line :class:`LeakscanIndexError`; a write transaction
    that met one is rolled back (SQLite may already have done so on a full disk)."""

    def decorate(
        method: Callable[Concatenate[SQLiteBackend, P], R],
    ) -> Callable[Concatenate[SQLiteBackend, P], R]:
        @functools.wraps(method)
        def wrapper(self: SQLiteBackend, /, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(self, *args, **kwargs)
            except sqlite3.Error as exc:
                self.rollback()
                raise LeakscanIndexError(
                    f"cannot {doing} index {self.path}: {sqlite_cause(exc)}"
                ) from exc

        return wrapper

    return decorate


def _chunks(values: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])


class SQLiteBackend:
    """An index in one SQLite file."""

    def __init__(self, path: str | Path, *, create: bool = False, readonly: bool = False):
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self._in_transaction = False
        self.recompute: Recompute | None = None
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._pending_rows = 0
        self._pictures: bool | None = None  # whether the picture tables exist (read lazily)
        self._alignment: bool | None = None  # whether contents have alignment units
        if not self.path.exists() and not create:
            raise no_index_at(self.path)
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=60.0)
        except (OSError, sqlite3.Error) as exc:
            cause = sqlite_cause(exc) if isinstance(exc, sqlite3.Error) else exc.strerror
            raise LeakscanIndexError(f"cannot open index {self.path}: {cause}") from exc
        try:
            if readonly:
                # A reader leaves the journal mode alone: the builder set WAL, and a
                # reader asking for it could need a write lock on a new file.
                self._db.execute("PRAGMA query_only=1")
            else:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                # Postings land at random places in the B-tree: a large page cache keeps
                # inserts from re-reading pages (measured 2x at 100k docs). Readers do
                # well with the default (measured: same latency, 250 MB less memory).
                self._db.execute("PRAGMA cache_size=-262144")
                self._db.execute("PRAGMA temp_store=MEMORY")
                self._db.executescript(_SCHEMA)
                self._migrate()
        except sqlite3.Error as exc:
            self._db.close()
            raise LeakscanIndexError(f"cannot open index {self.path}: {sqlite_cause(exc)}") from exc

    def _stored_version(self) -> int | None:
        """The schema version the meta records; None before the Index wrote its meta."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            return None
        try:
            return int(row[0])
        except ValueError:
            return SCHEMA_VERSION  # not ours to change: the Index says what is wrong

    def _migrate(self) -> None:
        """Bring an older index to SCHEMA_VERSION in one transaction. A new index (no meta
        yet) gets every table; the Index writes its version with the rest of its meta."""
        stored = self._stored_version()
        if stored is None:
            for version in sorted(_MIGRATIONS):
                for statement in _MIGRATIONS[version]:
                    self._apply(statement)
            return
        if stored >= SCHEMA_VERSION:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            stored = self._stored_version() or SCHEMA_VERSION  # another writer may have been first
            for version in sorted(_MIGRATIONS):
                if stored < version <= SCHEMA_VERSION:
                    for statement in _MIGRATIONS[version]:
                        self._apply(statement)
            if stored < SCHEMA_VERSION:
                self._db.execute(
                    "UPDATE meta SET value = ? WHERE key = 'schema_version'",
                    (str(SCHEMA_VERSION),),
                )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _apply(self, statement: str) -> None:
        """One migration statement; a column a half-made new index already has is kept."""
        try:
            self._db.execute(statement)
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc):
                raise

    def _write(self) -> sqlite3.Connection:
        """The connection, inside a write transaction (committed by :meth:`commit`)."""
        if not self._in_transaction:
            self._db.execute("BEGIN IMMEDIATE")
            self._in_transaction = True
        return self._db

    def read_meta(self) -> dict[str, str]:
        try:
            return dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.Error as exc:
            self.rollback()
            if isinstance(exc, sqlite3.OperationalError) and "no such table" in str(exc):
                raise LeakscanIndexError(f"{self.path} is not a leakscan index: {exc}") from exc
            raise LeakscanIndexError(f"cannot read index {self.path}: {sqlite_cause(exc)}") from exc

    @_mapped("write")
    def write_meta(self, values: dict[str, str]) -> None:
        self._write().executemany(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            sorted(values.items()),
        )

    @_mapped("create")
    def create_meta(self, values: dict[str, str]) -> dict[str, str]:
        """Store ``values`` as the meta of a new index, in one transaction, unless the index
        has meta already (then it is left alone); the meta the index holds afterwards."""
        self.commit()
        db = self._write()
        if db.execute("SELECT 1 FROM meta LIMIT 1").fetchone() is None:
            db.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", sorted(values.items()))
        self.commit()
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    @_mapped("scrub")
    def erase_meta(self, keys: Sequence[str], *, wait_seconds: float = 3.0) -> None:
        """Delete meta entries so that no copy of their values is left in the files.

        SQLite leaves deleted bytes in free pages, in the unused parts of
        pages and in the WAL: the rows are deleted with ``secure_delete``,
        ``VACUUM`` rewrites every page, and the WAL is checkpointed and
        truncated. Another process reading the index keeps the WAL from being
        truncated: then this raises, and running it again later finishes it.
        """
        self.commit()
        self._db.execute("PRAGMA secure_delete=ON")
        self._write().executemany("DELETE FROM meta WHERE key = ?", [(k,) for k in keys])
        self.commit()
        self._db.execute("VACUUM")
        # A truncating checkpoint waits (busy timeout) for readers to leave the WAL: a
        # few seconds lets short scan queries pass, and a long-lived reader is reported.
        self._db.execute(f"PRAGMA busy_timeout={int(wait_seconds * 1000)}")
        try:
            busy, frames, copied = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            self._db.execute("PRAGMA busy_timeout=60000")
        wal = Path(f"{self.path}-wal")
        if busy or (wal.exists() and wal.stat().st_size):
            raise LeakscanIndexError(
                f"another process has {self.path} open (a scan or watch?): old copies of what "
                f"was deleted may remain in {wal} ({copied} of {frames} pages written back); "
                "run the command again when nothing else uses the index"
            )

    def _document(self, row: tuple[int, str, str, int, int, int, str]) -> DocumentRecord:
        doc_id, root, path, content_id, size, mtime_ns, mime = row
        return DocumentRecord(root, path, content_id, size, mtime_ns, mime, id=doc_id)

    @_mapped("read")
    def find_document(self, root: str, path: str) -> DocumentRecord | None:
        row = self._db.execute(
            "SELECT id, root, path, content_id, size, mtime_ns, mime FROM documents "
            "WHERE root = ? AND path = ?",
            (root, path),
        ).fetchone()
        return self._document(row) if row else None

    @_mapped("read")
    def documents(self, root: str | None = None) -> Iterator[DocumentRecord]:
        query = "SELECT id, root, path, content_id, size, mtime_ns, mime FROM documents"
        rows = (
            self._db.execute(query + " WHERE root = ? ORDER BY path", (root,))
            if root is not None
            else self._db.execute(query + " ORDER BY root, path")
        )
        return iter([self._document(row) for row in rows.fetchall()])

    @_mapped("read")
    def documents_below(self, root: str, prefix: str) -> list[DocumentRecord]:
        if not prefix:
            return list(self.documents(root))
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # a range on the (root, path) index
        rows = self._db.execute(
            "SELECT id, root, path, content_id, size, mtime_ns, mime FROM documents "
            "WHERE root = ? AND path >= ? AND path < ? ORDER BY path",
            (root, prefix, upper),
        )
        return [self._document(row) for row in rows.fetchall()]

    @_mapped("read")
    def find_content(self, sha256: str) -> int | None:
        row = self._db.execute("SELECT id FROM contents WHERE sha256 = ?", (sha256,)).fetchone()
        return int(row[0]) if row else None

    @_mapped("write")
    def add_content(self, content: NewContent, bands: int) -> int:
        db = self._write()
        if content.recomputable:
            blob = np.empty(0, dtype=_BLOB_DTYPE)
            positions = np.zeros(len(content.hashes), dtype=np.int64)
        else:
            blob = np.empty(len(content.hashes), dtype=_BLOB_DTYPE)
            blob["hash"] = content.hashes
            blob["position"] = content.positions
            positions = np.asarray(content.positions, dtype=np.int64)
        cursor = db.execute(
            "INSERT INTO contents(sha256, n_tokens, n_fingerprints, simhash, public, fingerprints,"
            " alignment) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                content.sha256,
                content.n_tokens,
                len(content.hashes),
                to_signed(content.simhash),
                int(content.public),
                blob.tobytes(),
                content.alignment or None,
            ),
        )
        content_id = int(cursor.lastrowid or 0)
        if not len(content.hashes):
            return content_id  # no text (a picture's look alone): no postings, no simhash bands
        self._pending.append(
            (
                np.asarray(content.hashes, dtype=np.int64),
                np.full(len(content.hashes), content_id, dtype=np.int64),
                positions,
            )
        )
        self._pending_rows += len(content.hashes)
        if self._pending_rows >= _FLUSH_ROWS:
            self._flush()
        db.executemany(
            "INSERT OR IGNORE INTO bands(band, value, content_id) VALUES (?, ?, ?)",
            (
                (band, value, content_id)
                for band, value in enumerate(band_values(content.simhash, bands))
            ),
        )
        return content_id

    def _flush(self) -> None:
        """Write buffered postings and counts in hash order: B-tree pages are then
        visited once per batch, not once per document (measured 2x faster builds)."""
        if not self._pending:
            return
        db = self._write()
        hashes = np.concatenate([batch[0] for batch in self._pending])
        contents = np.concatenate([batch[1] for batch in self._pending])
        positions = np.concatenate([batch[2] for batch in self._pending])
        self._pending, self._pending_rows = [], 0
        order = np.lexsort((positions, contents, hashes))
        hashes, contents, positions = hashes[order], contents[order], positions[order]
        # Each content counts once per hash: keep the first row of every (hash, content).
        first = np.ones(len(hashes), dtype=bool)
        first[1:] = (hashes[1:] != hashes[:-1]) | (contents[1:] != contents[:-1])
        distinct_hashes = hashes[first]
        starts = np.flatnonzero(np.r_[True, distinct_hashes[1:] != distinct_hashes[:-1]])
        counts = np.diff(np.r_[starts, len(distinct_hashes)])
        self._count_shared(distinct_hashes[starts], counts)
        for at in range(0, len(hashes), _INSERT_ROWS):
            part = slice(at, at + _INSERT_ROWS)
            db.executemany(
                "INSERT OR IGNORE INTO postings(hash, content_id, position) VALUES (?, ?, ?)",
                zip(
                    hashes[part].tolist(),
                    contents[part].tolist(),
                    positions[part].tolist(),
                    strict=True,
                ),
            )

    def _count_shared(self, hashes: np.ndarray, added: np.ndarray) -> None:
        """Raise the counts of fingerprints that ``added`` new contents now hold, before
        their postings are written. A fingerprint without a frequencies row is held by at
        most one content (its postings say which): it gets a row once two hold it. Three
        statements in SQLite's own loop, whatever the batch's size."""
        db = self._write()
        db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS leakscan_added"
            " (hash INTEGER PRIMARY KEY, contents INTEGER NOT NULL)"
        )
        db.execute("DELETE FROM temp.leakscan_added")
        db.executemany(
            "INSERT INTO temp.leakscan_added(hash, contents) VALUES (?, ?)",
            zip(hashes.tolist(), added.tolist(), strict=True),
        )
        db.execute(
            "UPDATE frequencies SET contents = frequencies.contents + a.contents"
            " FROM temp.leakscan_added a WHERE frequencies.hash = a.hash"
        )
        db.execute(
            "INSERT INTO frequencies(hash, contents) SELECT hash, held FROM ("
            " SELECT a.hash AS hash, a.contents + (SELECT count(DISTINCT p.content_id)"
            "  FROM postings p WHERE p.hash = a.hash) AS held"
            " FROM temp.leakscan_added a"
            " WHERE NOT EXISTS (SELECT 1 FROM frequencies f WHERE f.hash = a.hash))"
            f" WHERE held >= {_SHARED}"
        )
        db.execute("DELETE FROM temp.leakscan_added")

    @_mapped("write")
    def add_document(self, document: DocumentRecord) -> int:
        cursor = self._write().execute(
            "INSERT INTO documents(root, path, content_id, size, mtime_ns, mime)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                document.root,
                document.path,
                document.content_id,
                document.size,
                document.mtime_ns,
                document.mime,
            ),
        )
        return int(cursor.lastrowid or 0)

    @_mapped("write")
    def put_document(
        self, document: DocumentRecord, content: NewContent, bands: int, *, ocr: bool = False
    ) -> int:
        """One by one: SQLite is in this process, a look-up costs no round trip."""
        return put_one_by_one(self, document, content, bands, ocr=ocr)

    @_mapped("write")
    def remove_document(self, document_id: int) -> None:
        self._flush()
        db = self._write()
        row = db.execute("SELECT content_id FROM documents WHERE id = ?", (document_id,)).fetchone()
        if row is None:
            return
        content_id = int(row[0])
        still_held = db.execute(
            "SELECT 1 FROM documents WHERE content_id = ? AND id != ? LIMIT 1",
            (content_id, document_id),
        ).fetchone()
        # The content's fingerprints first: without them (no key) nothing is changed.
        hashes = None if still_held else self._stored_hashes(content_id)
        db.execute("DELETE FROM documents WHERE id = ?", (document_id,))
        if hashes is None:
            return
        distinct = [(h,) for h in sorted(set(hashes.tolist()))]
        db.executemany(
            "DELETE FROM postings WHERE hash = ? AND content_id = ?",
            [(h, content_id) for (h,) in distinct],
        )
        db.executemany("UPDATE frequencies SET contents = contents - 1 WHERE hash = ?", distinct)
        db.executemany(f"DELETE FROM frequencies WHERE hash = ? AND contents < {_SHARED}", distinct)
        db.execute("DELETE FROM bands WHERE content_id = ?", (content_id,))
        if self._has_pictures():
            db.execute("DELETE FROM image_hashes WHERE content_id = ?", (content_id,))
            db.execute("DELETE FROM image_bands WHERE content_id = ?", (content_id,))
        sha_row = db.execute("SELECT sha256 FROM contents WHERE id = ?", (content_id,)).fetchone()
        db.execute("DELETE FROM ocr_contents WHERE sha256 = ?", (sha_row[0],))
        db.execute("DELETE FROM contents WHERE id = ?", (content_id,))

    def _stored_hashes(self, content_id: int) -> np.ndarray:
        """A stored content's signed hashes: from its blob, or computed again from its
        alignment units when it keeps none (scheme 3)."""
        sha256, n_fingerprints, blob = self._db.execute(
            "SELECT sha256, n_fingerprints, fingerprints FROM contents WHERE id = ?",
            (content_id,),
        ).fetchone()
        if blob or not n_fingerprints:
            hashes: np.ndarray = np.frombuffer(blob, dtype=_BLOB_DTYPE)["hash"].astype(np.int64)
            return hashes
        alignment = self.alignments([content_id]).get(content_id, b"")
        return recomputed(self.recompute, sha256, alignment, str(self.path))

    @_mapped("write")
    def set_ocr(self, sha256: str) -> None:
        self._write().execute("INSERT OR IGNORE INTO ocr_contents(sha256) VALUES (?)", (sha256,))

    @_mapped("read")
    def count_ocr_documents(self) -> int:
        try:
            row = self._db.execute(
                "SELECT count(*) FROM documents d JOIN contents c ON c.id = d.content_id "
                "WHERE c.sha256 IN (SELECT sha256 FROM ocr_contents)"
            ).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):  # built before OCR: nothing in it was OCR'd
                return 0
            raise
        return int(row[0])

    @_mapped("read")
    def document_frequencies(self, hashes: Sequence[int]) -> dict[int, int]:
        self._flush()
        result: dict[int, int] = {}
        for chunk in _chunks(hashes):
            marks = ",".join("?" * len(chunk))
            result.update(
                self._db.execute(
                    f"SELECT hash, contents FROM frequencies WHERE hash IN ({marks})", chunk
                ).fetchall()
            )
        # The others are held by one content at most: whether postings have them says which.
        alone = [h for h in dict.fromkeys(hashes) if h not in result]
        for chunk in _chunks(alone):
            marks = ",".join("?" * len(chunk))
            for (h,) in self._db.execute(
                f"SELECT DISTINCT hash FROM postings WHERE hash IN ({marks})", chunk
            ):
                result[h] = 1
        return result

    @_mapped("read")
    def postings(
        self, hashes: Sequence[int], content_ids: Sequence[int] | None = None
    ) -> list[Posting]:
        self._flush()
        result: list[Posting] = []
        only = ""
        if content_ids is not None:
            if not content_ids:
                return result
            only = " AND content_id IN ({})".format(",".join(str(int(c)) for c in content_ids))
        for chunk in _chunks(hashes):
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT hash, content_id, position FROM postings WHERE hash IN ({marks}){only}",
                chunk,
            ).fetchall()
            result.extend(Posting(*row) for row in rows)
        return result

    @_mapped("read")
    def simhash_candidates(self, simhash: int, bands: int) -> dict[int, int]:
        found: dict[int, int] = {}
        for band, value in enumerate(band_values(simhash, bands)):
            for content_id, stored in self._db.execute(
                "SELECT b.content_id, c.simhash FROM bands AS b "
                "JOIN contents AS c ON c.id = b.content_id WHERE b.band = ? AND b.value = ?",
                (band, value),
            ):
                found[content_id] = to_unsigned(stored)
        return found

    @_mapped("read")
    def simhashes(self, ids: Sequence[int]) -> dict[int, int]:
        self._flush()
        found: dict[int, int] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for content_id, simhash in self._db.execute(
                f"SELECT id, simhash FROM contents WHERE id IN ({marks})", chunk
            ):
                found[content_id] = to_unsigned(simhash)
        return found

    @_mapped("read")
    def documents_named(self, file_name: str) -> list[DocumentRecord]:
        escaped = file_name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._db.execute(
            "SELECT id, root, path, content_id, size, mtime_ns, mime FROM documents "
            "WHERE path LIKE ? ESCAPE '\\' OR path LIKE ? ESCAPE '\\' OR path LIKE ? ESCAPE '\\' "
            "ORDER BY root, path",
            (escaped, "%/" + escaped, "%!" + escaped),
        )
        return [self._document(row) for row in rows.fetchall()]

    @_mapped("read")
    def contents(self, ids: Sequence[int]) -> dict[int, ContentRecord]:
        result: dict[int, ContentRecord] = {}
        for chunk in _chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            paths: dict[int, list[str]] = {}
            roots: dict[int, list[str]] = {}
            for content_id, root, path in self._db.execute(
                f"SELECT content_id, root, path FROM documents WHERE content_id IN ({marks})"
                " ORDER BY path, root",
                chunk,
            ):
                paths.setdefault(content_id, []).append(path)
                roots.setdefault(content_id, []).append(root)
            for row in self._db.execute(
                "SELECT id, sha256, n_tokens, n_fingerprints, simhash, public FROM contents"
                f" WHERE id IN ({marks})",
                chunk,
            ):
                content_id, sha256, n_tokens, n_fps, simhash, public = row
                result[content_id] = ContentRecord(
                    content_id,
                    sha256,
                    n_tokens,
                    n_fps,
                    to_unsigned(simhash),
                    bool(public),
                    tuple(paths.get(content_id, ())),
                    tuple(roots.get(content_id, ())),
                )
        return result

    @_mapped("read")
    def look_up(
        self, hashes: Sequence[int], max_holders: int
    ) -> tuple[dict[int, int], list[Posting]]:
        return look_up_separately(self, hashes, max_holders)

    @_mapped("read")
    def sources(self, ids: Sequence[int]) -> dict[int, tuple[ContentRecord, bytes]]:
        return sources_separately(self, ids)

    @_mapped("read")
    def alignments(self, ids: Sequence[int]) -> dict[int, bytes]:
        result: dict[int, bytes] = {}
        if not self._has_alignment():
            return result
        for chunk in _chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            for content_id, blob in self._db.execute(
                f"SELECT id, alignment FROM contents WHERE id IN ({marks})", chunk
            ):
                result[content_id] = bytes(blob or b"")
        return result

    def _has_alignment(self) -> bool:
        """Whether contents have the alignment column (not in a version 2 index read as is)."""
        if self._alignment is None:
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(contents)")}
            self._alignment = "alignment" in columns
        return self._alignment

    @_mapped("read")
    def _content_page(self, after: int) -> list[tuple[int, str, int, int, int, int, bytes]]:
        return self._db.execute(
            "SELECT id, sha256, n_tokens, simhash, public, n_fingerprints, fingerprints"
            " FROM contents"
            " WHERE id > ? ORDER BY id LIMIT ?",
            (after, _EXPORT_PAGE),
        ).fetchall()

    @_mapped("read")
    def export_contents(self) -> Iterator[tuple[int, NewContent]]:
        """Every content by id, :data:`_EXPORT_PAGE` rows per query (keyset paging: no
        cursor is held open between pages, so other reads may run in between)."""
        self._flush()
        return self._export_pages()

    def _export_pages(self) -> Iterator[tuple[int, NewContent]]:
        after = -1
        while page := self._content_page(after):
            blobs = self.alignments([row[0] for row in page])
            for content_id, sha256, n_tokens, simhash, public, n_fingerprints, blob in page:
                stored = np.frombuffer(blob, dtype=_BLOB_DTYPE)
                hashes = stored["hash"].astype(np.int64)
                positions = stored["position"].astype(np.int64)
                # A recomputable content's fingerprints are computed again by the import.
                recomputable = not blob and n_fingerprints > 0
                yield (
                    content_id,
                    NewContent(
                        sha256=sha256,
                        hashes=hashes,
                        positions=positions,
                        recomputable=recomputable,
                        simhash=to_unsigned(simhash),
                        n_tokens=n_tokens,
                        public=bool(public),
                        alignment=blobs.get(content_id, b""),
                    ),
                )
            after = page[-1][0]

    @_mapped("read")
    def ocr_marked(self, sha256s: Sequence[str]) -> set[str]:
        found: set[str] = set()
        wanted = list(sha256s)
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            try:
                rows = self._db.execute(
                    f"SELECT sha256 FROM ocr_contents WHERE sha256 IN ({marks})", chunk
                ).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):  # built before OCR: nothing in it was OCR'd
                    return found
                raise
            found.update(row[0] for row in rows)
        return found

    def _has_pictures(self) -> bool:
        """Whether the picture tables exist: a version 1 index read as it is has none."""
        if self._pictures is None:
            self._pictures = (
                self._db.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'image_hashes'"
                ).fetchone()
                is not None
            )
        return self._pictures

    @_mapped("write")
    def add_image_hashes(
        self,
        content_id: int,
        hashes: Sequence[tuple[str, str, int]],
        bands: Sequence[tuple[int, int, str]],
    ) -> None:
        db = self._write()
        if not self._has_pictures():
            raise LeakscanIndexError(
                f"{self.path} has no picture tables (opened read-only?): cannot add pictures"
            )
        db.executemany(
            "INSERT OR IGNORE INTO image_hashes(content_id, view, kind, hash) VALUES (?, ?, ?, ?)",
            ((content_id, view, kind, value) for view, kind, value in hashes),
        )
        db.executemany(
            "INSERT OR IGNORE INTO image_bands(band, value, content_id, view) VALUES (?, ?, ?, ?)",
            ((band, value, content_id, view) for band, value, view in bands),
        )

    @_mapped("read")
    def image_candidates(
        self, probes: Sequence[tuple[int, Sequence[int]]]
    ) -> list[tuple[int, str, str, int]]:
        found: list[tuple[int, str, str, int]] = []
        if not self._has_pictures():
            return found
        for band, values in probes:
            for chunk in _chunks(sorted(set(values))):
                marks = ",".join("?" * len(chunk))
                # the hashes come with the band rows: one query, primary-key look-ups
                found.extend(
                    self._db.execute(
                        "SELECT b.content_id, b.view, h.kind, h.hash FROM image_bands AS b "
                        "JOIN image_hashes AS h ON h.content_id = b.content_id AND h.view = b.view "
                        f"WHERE b.band = ? AND b.value IN ({marks})",
                        (band, *chunk),
                    ).fetchall()
                )
        return found

    @_mapped("read")
    def image_hashes(self, content_ids: Sequence[int]) -> dict[int, list[tuple[str, str, int]]]:
        result: dict[int, list[tuple[str, str, int]]] = {}
        if not self._has_pictures():
            return result
        for chunk in _chunks(list(content_ids)):
            marks = ",".join("?" * len(chunk))
            for content_id, view, kind, value in self._db.execute(
                "SELECT content_id, view, kind, hash FROM image_hashes"
                f" WHERE content_id IN ({marks})",
                chunk,
            ):
                result.setdefault(content_id, []).append((view, kind, value))
        return result

    @_mapped("read")
    def image_bands(self, content_ids: Sequence[int]) -> dict[int, list[tuple[int, int, str]]]:
        result: dict[int, list[tuple[int, int, str]]] = {}
        if not self._has_pictures():
            return result
        for chunk in _chunks(list(content_ids)):
            marks = ",".join("?" * len(chunk))
            for band, value, content_id, view in self._db.execute(
                "SELECT band, value, content_id, view FROM image_bands"
                f" WHERE content_id IN ({marks}) ORDER BY content_id, view, band, value",
                chunk,
            ):
                result.setdefault(content_id, []).append((band, value, view))
        return result

    @_mapped("read")
    def count_pictures(self) -> int:
        """Contents indexed by their look (pictures)."""
        if not self._has_pictures():
            return 0
        row = self._db.execute("SELECT count(DISTINCT content_id) FROM image_hashes").fetchone()
        return int(row[0])

    @_mapped("read")
    def most_common(self, limit: int) -> list[tuple[int, int]]:
        self._flush()
        rows = self._db.execute(
            "SELECT hash, contents FROM frequencies ORDER BY contents DESC, hash LIMIT ?",
            (int(limit),),
        )
        return [(int(h), int(n)) for h, n in rows.fetchall()]

    @_mapped("read")
    def count_public_documents(self) -> int:
        row = self._db.execute(
            "SELECT count(*) FROM documents d JOIN contents c ON c.id = d.content_id "
            "WHERE c.public != 0"
        ).fetchone()
        return int(row[0])

    @_mapped("read")
    def count_contents(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM contents").fetchone()[0])

    @_mapped("read")
    def counts(self) -> dict[str, int]:
        self._flush()

        def count(table: str) -> int:
            return int(self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

        return {
            "documents": count("documents"),
            "contents": count("contents"),
            "fingerprints": count("postings"),
        }

    @_mapped("read")
    def count_documents(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM documents").fetchone()[0])

    @_mapped("write")
    def commit(self) -> None:
        self._flush()
        if self._in_transaction:
            self._db.execute("COMMIT")
            self._in_transaction = False

    def rollback(self) -> bool:
        """Drop every change since the last commit (True: there is nothing left of them).

        After a full disk SQLite may have rolled back already: then there is
        nothing to do, and that is no error.
        """
        self._pending, self._pending_rows = [], 0
        self._in_transaction = False
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        return True

    def close(self) -> None:
        try:
            self.commit()
        finally:
            self._db.close()
