"""OCR results kept between runs: a second scan, a watcher's restart or an index rebuild
never reads the same picture twice.

One SQLite file (``<index>.ocr-cache.sqlite`` beside the index), one row per page:
the picture file's sha256, the page number, and a key naming the engine and its
version, the languages and the settings that change what OCR reads; the value
is the page's words, boxes and confidences. It holds OCR output and nothing
else, but that output is the text of the pictures read: a cache built beside
an archive's index holds text read from the archive's scans, and is to be kept
like the archive (deleting it only costs time).

Many workers (and several scans) use it at once: WAL journal, a busy timeout,
each write its own short transaction. Each process opens its own connection
(never one inherited across fork). The cache only saves time: when it cannot
be opened or written (a read-only folder, a full disk) OCR goes on without it,
with one warning in the log.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
import zlib
from typing import Any

from .page import PageText, Word

__all__ = ["OcrCache", "cache_at", "decode_page", "encode_page"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    sha256 TEXT NOT NULL,
    settings TEXT NOT NULL,
    page INTEGER NOT NULL,
    result BLOB NOT NULL,
    read_at TEXT NOT NULL,
    PRIMARY KEY (sha256, settings, page)
) WITHOUT ROWID;
"""
_BUSY_MS = 30_000


def encode_page(page: PageText) -> bytes:
    """A page's OCR as compressed JSON (words: text, confidence, box, line/paragraph end)."""
    data = {
        "languages": page.languages,
        "confidence": page.mean_confidence,
        "size": [page.width, page.height],
        "rotation": page.rotation,
        "skew": page.skew,
        "words": [
            [w.text, round(w.confidence, 1), *w.box, int(w.line_end) + 2 * int(w.paragraph_end)]
            for w in page.words
        ],
    }
    return zlib.compress(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())


def decode_page(blob: bytes) -> PageText:
    data: dict[str, Any] = json.loads(zlib.decompress(blob))
    words = tuple(
        Word(str(t), float(c), (int(x0), int(y0), int(x1), int(y1)), bool(f & 1), bool(f & 2))
        for t, c, x0, y0, x1, y1, f in data["words"]
    )
    width, height = data["size"]
    return PageText(
        words,
        str(data["languages"]),
        float(data["confidence"]),
        int(width),
        int(height),
        int(data["rotation"]),
        float(data["skew"]),
    )


class OcrCache:
    """The cache file at ``path``, opened by this process on first use."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._broken = False

    def _connection(self) -> sqlite3.Connection | None:
        if self._db is None and not self._broken:
            try:
                db = sqlite3.connect(self.path, isolation_level=None, timeout=_BUSY_MS / 1000)
                db.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(_SCHEMA)
                self._db = db
            except (sqlite3.Error, OSError) as exc:
                self._give_up(exc)
        return self._db

    def _give_up(self, exc: Exception) -> None:
        log.warning("OCR cache %s cannot be used (%s): OCR goes on without it", self.path, exc)
        self._broken = True
        if self._db is not None:
            self._db.close()
            self._db = None

    def pages(self, sha256: str, settings: str) -> dict[int, PageText]:
        """The pages of a picture file read before with these settings, by number."""
        db = self._connection()
        if db is None:
            return {}
        try:
            rows = db.execute(
                "SELECT page, result FROM pages WHERE sha256 = ? AND settings = ?",
                (sha256, settings),
            ).fetchall()
        except sqlite3.Error as exc:
            self._give_up(exc)
            return {}
        found: dict[int, PageText] = {}
        for page, blob in rows:
            try:
                found[int(page)] = decode_page(blob)
            except (ValueError, TypeError, KeyError, zlib.error):  # a damaged row: read again
                continue
        return found

    def put(self, sha256: str, settings: str, page: int, text: PageText) -> None:
        db = self._connection()
        if db is None:
            return
        try:
            db.execute(
                "INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?)",
                (
                    sha256,
                    settings,
                    page,
                    encode_page(text),
                    time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                ),
            )
        except sqlite3.Error as exc:
            self._give_up(exc)

    def count(self) -> int:
        db = self._connection()
        if db is None:
            return 0
        return int(db.execute("SELECT count(*) FROM pages").fetchone()[0])

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


_CACHES: dict[tuple[int, str], OcrCache] = {}


def cache_at(path: str | None) -> OcrCache | None:
    """This process's connection to the cache at ``path`` (None: no cache)."""
    if not path:
        return None
    key = (os.getpid(), path)
    cache = _CACHES.get(key)
    if cache is None:
        cache = _CACHES[key] = OcrCache(path)
    return cache
