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
PYTHONPATH can be measured, an older one included. The throwaway cluster neither syncs
nor waits for its disk (as the tests' cluster); ``--durable`` turns fsync,
synchronous_commit and full_page_writes back on, as a real server has them, and
``PGOPTIONS="-c synchronous_commit=off"`` (say) tries a setting for leakscan's sessions.
``--latency-ms`` puts a proxy between leakscan and the server that delays every packet
by that much each way, as a server on another host would (the cluster has no network).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import tempfile
import threading
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


class DelayProxy:
    """A TCP port on 127.0.0.1 that forwards to the cluster's Unix socket, each chunk of
    bytes ``delay`` seconds late in either direction (latency, not a bandwidth limit)."""

    def __init__(self, socket_path: str, delay: float):
        self.socket_path, self.delay = socket_path, delay
        self.loop = asyncio.new_event_loop()
        self.port = 0
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        started.wait()

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        started.set()
        self.loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        to_reader, to_writer = await asyncio.open_unix_connection(self.socket_path)
        await asyncio.gather(self._pipe(reader, to_writer), self._pipe(to_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    break
                await asyncio.sleep(max(0.0, due - self.loop.time()))
                writer.write(data)
                await writer.drain()
            writer.close()

        delivering = asyncio.ensure_future(deliver())
        try:
            while data := await reader.read(1 << 16):
                queue.put_nowait((self.loop.time() + self.delay, data))
        except ConnectionError:
            pass
        queue.put_nowait((0.0, b""))
        await delivering

    def url(self, database_url: str) -> str:
        """The URL of a database of the cluster, through the proxy."""
        name = database_url.split("/")[3].split("?")[0]
        return f"postgresql://leakscan@127.0.0.1:{self.port}/{name}"

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def round_trip_ms(url: str) -> float:
    """The median time of ``SELECT 1`` at ``url``, in milliseconds."""
    with psycopg.connect(url, autocommit=True) as db:
        times = []
        for _ in range(50):
            started = time.perf_counter()
            db.execute("SELECT 1").fetchone()
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


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


def writer(
    counts: list[int], words: int, trials: int, durable: bool = False, latency_ms: float = 0
) -> None:
    texts = documents(max(counts), words)
    with Index.create("memory://", key=_KEY) as scratch:
        fingerprints = [scratch.fingerprinter.fingerprint(text) for text in texts]
        prepared = [
            (f, encode_alignment(f, _KEY, hashlib.sha256(t.encode()).hexdigest()))
            for f, t in zip(fingerprints, texts, strict=True)
        ]
    per_document = sum(len(f.hashes) for f in fingerprints) / len(fingerprints)
    print(f"{words} words, {per_document:.0f} fingerprints per document", flush=True)
    settings = dict.fromkeys(("fsync", "synchronous_commit", "full_page_writes"), "on")
    with (
        throwaway_server(settings if durable else None) as server,
        tempfile.TemporaryDirectory() as folder,
    ):
        proxy = None
        if latency_ms:
            proxy = DelayProxy(str(server.socket_dir / ".s.PGSQL.5432"), latency_ms / 1000)
            direct = round_trip_ms(server.url())
            through = round_trip_ms(proxy.url(server.url()))
            print(f"round trip: {direct:.2f} ms on the socket, {through:.2f} ms through the proxy")
        for trial in range(trials):
            for count in counts:
                for mode, given in (("add_text", None), ("add_hashes", prepared)):
                    file = f"{folder}/t{trial}-{count}-{mode}.sqlite"
                    took = load(file, texts[:count], given)
                    print(
                        f"trial {trial}: {count} documents, {mode}: SQLite {count / took:.0f}/s",
                        flush=True,
                    )
                    database = server.new_database()
                    with counting() as sent:
                        took = load(
                            proxy.url(database) if proxy else database, texts[:count], given
                        )
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
    parser.add_argument("--durable", action="store_true", help="a cluster that syncs")
    parser.add_argument("--latency-ms", type=float, default=0, help="added each way")
    args = parser.parse_args()
    if args.writer:
        writer(args.documents, args.words, args.trials, args.durable, args.latency_ms)
    else:
        postings(args.rows, args.trials)


if __name__ == "__main__":
    main()
