"""Loading a fresh PostgreSQL index: the postings index kept up to date during the load or
made once it is done (``--postings``), and the index writer against SQLite (``--writer``).

Run by hand, never by the test suite (needs Debian's ``postgresql`` binaries; starts its
own throwaway cluster, as the tests do)::

    PYTHONPATH=. .venv/bin/python benchmarks/postgres_bulk_load.py [--rows 2000000] [--trials 3]
    PYTHONPATH=. .venv/bin/python benchmarks/postgres_bulk_load.py --writer [--documents 5000]

``--postings``: rows are random signed hashes (each recurring about three times), content
ids and token positions, written in four sorted binary COPY batches, as the backend
flushes them.

``--writer``: page-sized documents (``--words`` invented words from a vocabulary of
20,000 with Zipf-like frequencies) indexed into a new SQLite file and a new PostgreSQL
database in turn, inside :meth:`Index.writing` with a commit every 1,000 documents (as
``index build`` does), the end of the build (PostgreSQL: the postings index, ANALYZE)
included. Two timings each: ``add_text`` (fingerprinting included) and ``add_hashes``
with the fingerprints and alignment data made beforehand (the writer alone). PostgreSQL
also counts the statements its connection sent per document. Any leakscan on
PYTHONPATH can be measured, an older one included.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg

from leakscan.align import encode_alignment
from leakscan.index import Index
from leakscan.index.postgres import binary_copy
from tests.postgres_server import throwaway_server

_TABLE = (
    "CREATE TABLE postings (hash BIGINT NOT NULL, content_id BIGINT NOT NULL, "
    "position INTEGER NOT NULL)"
)
_INDEX = "CREATE INDEX postings_hash ON postings (hash, content_id, position)"


def batches(rows: int, seed: int = 1) -> list[bytes]:
    rng = np.random.default_rng(seed)
    pool = rng.integers(-(2**63), 2**63 - 1, size=rows // 3, dtype=np.int64)
    made = []
    for _ in range(4):
        hashes = rng.choice(pool, rows // 4)
        contents = rng.integers(1, 5000, rows // 4)
        positions = rng.integers(0, 10_000, rows // 4)
        order = np.lexsort((positions, contents, hashes))
        made.append(
            binary_copy([(hashes[order], "i8"), (contents[order], "i8"), (positions[order], "i4")])
        )
    return made


_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
_KEY = b"w" * 32
_COMMIT_EVERY = 1000


def documents(count: int, words: int, seed: int = 5) -> list[str]:
    """Invented page-sized texts: Zipf-like word frequencies, sentences of 8-20 words."""
    rng = np.random.default_rng(seed)
    vocabulary = sorted(
        {"".join(rng.choice(_SYLLABLES, size=rng.integers(1, 5))) for _ in range(24_000)}
    )[:20_000]
    weights = 1 / np.arange(1, len(vocabulary) + 1)
    weights /= weights.sum()
    texts = []
    for _ in range(count):
        chosen = [vocabulary[i] for i in rng.choice(len(vocabulary), size=words, p=weights)]
        ends = np.cumsum(rng.integers(8, 21, size=words))
        sentences = [chosen[a:b] for a, b in zip(np.r_[0, ends], ends, strict=False) if a < b]
        texts.append(" ".join(" ".join(s).capitalize() + "." for s in sentences))
    return texts


@dataclass
class Statements:
    """Statements a psycopg connection sent (execute, executemany, COPY): round trips."""

    count: int = 0


@contextmanager
def counting() -> Iterator[Statements]:
    counted = Statements()
    originals: dict[str, Callable[..., Any]] = {}
    for name in ("execute", "executemany", "copy"):
        original = getattr(psycopg.Cursor, name)
        originals[name] = original

        def wrapper(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            counted.count += 1
            return _original(self, *args, **kwargs)

        setattr(psycopg.Cursor, name, wrapper)
    try:
        yield counted
    finally:
        for name, original in originals.items():
            setattr(psycopg.Cursor, name, original)


def load(location: str, texts: list[str], prepared: list[tuple[Any, bytes]] | None) -> float:
    """Seconds to index the texts at ``location`` in one build (``prepared``: their
    fingerprints and alignment data, made beforehand)."""
    with Index.create(location, key=_KEY) as index:
        started = time.perf_counter()
        with index.writing():
            for number, text in enumerate(texts):
                path = f"archive/{number:07d}.txt"
                if prepared is None:
                    index.add_text(text, path=path, root="/case")
                else:
                    fingerprint, alignment = prepared[number]
                    index.add_hashes(
                        fingerprint.hashes,
                        fingerprint.starts,
                        fingerprint.simhash,
                        fingerprint.n_tokens,
                        path=path,
                        root="/case",
                        sha256=hashlib.sha256(text.encode()).hexdigest(),
                        size=len(text),
                        alignment=alignment,
                    )
                if number % _COMMIT_EVERY == _COMMIT_EVERY - 1:
                    index.commit()
        return time.perf_counter() - started


def writer(counts: list[int], words: int, trials: int) -> None:
    texts = documents(max(counts), words)
    with Index.create("memory://", key=_KEY) as scratch:
        fingerprints = [scratch.fingerprinter.fingerprint(text) for text in texts]
        prepared = [
            (f, encode_alignment(f, _KEY, hashlib.sha256(t.encode()).hexdigest()))
            for f, t in zip(fingerprints, texts, strict=True)
        ]
    per_document = sum(len(f.hashes) for f in fingerprints) / len(fingerprints)
    print(f"{words} words, {per_document:.0f} fingerprints per document", flush=True)
    with throwaway_server() as server, tempfile.TemporaryDirectory() as folder:
        for trial in range(trials):
            for count in counts:
                for mode, given in (("add_text", None), ("add_hashes", prepared)):
                    file = f"{folder}/t{trial}-{count}-{mode}.sqlite"
                    took = load(file, texts[:count], given)
                    print(
                        f"trial {trial}: {count} documents, {mode}: SQLite {count / took:.0f}/s",
                        flush=True,
                    )
                    with counting() as sent:
                        took = load(server.new_database(), texts[:count], given)
                    print(
                        f"trial {trial}: {count} documents, {mode}: PostgreSQL "
                        f"{count / took:.0f}/s, {sent.count / count:.2f} statements a document",
                        flush=True,
                    )


def postings(rows: int, trials: int) -> None:
    data = batches(rows)
    with throwaway_server() as server:
        for trial in range(trials):
            for after in (False, True):
                with psycopg.connect(server.new_database(), autocommit=True) as db:
                    db.execute(_TABLE)
                    if not after:
                        db.execute(_INDEX)
                    started = time.perf_counter()
                    for batch in data:
                        with (
                            db.transaction(),
                            db.cursor() as cursor,
                            cursor.copy("COPY postings FROM STDIN (FORMAT BINARY)") as copy,
                        ):
                            copy.write(batch)
                    if after:
                        db.execute(_INDEX)
                    took = time.perf_counter() - started
                    row = db.execute(
                        "SELECT pg_relation_size('postings'), pg_relation_size('postings_hash')"
                    ).fetchone()
                    heap, index = row if row else (0, 0)
                how = "index made after the load" if after else "index kept during the load"
                print(
                    f"trial {trial}: {how}: {took:.2f} s for {rows} postings; "
                    f"heap {heap >> 20} MiB, index {index >> 20} MiB",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writer", action="store_true", help="the index writer, not COPY")
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--documents", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--words", type=int, default=500)
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    if args.writer:
        writer(args.documents, args.words, args.trials)
    else:
        postings(args.rows, args.trials)


if __name__ == "__main__":
    main()
