"""Loading postings into a fresh PostgreSQL index: the postings index kept up to date during
the load, or made once the load is done (what ``leakscan.index.postgres`` does for a fresh
index's first build).

Run by hand, never by the test suite (needs Debian's ``postgresql`` binaries; starts its
own throwaway cluster, as the tests do)::

    PYTHONPATH=. .venv/bin/python benchmarks/postgres_bulk_load.py [--rows 2000000] [--trials 3]

Rows are random signed hashes (each recurring about three times), content ids and token
positions, written in four sorted binary COPY batches, as the backend flushes them.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import psycopg

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    data = batches(args.rows)
    with throwaway_server() as server:
        for trial in range(args.trials):
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
                    f"trial {trial}: {how}: {took:.2f} s for {args.rows} postings; "
                    f"heap {heap >> 20} MiB, index {index >> 20} MiB",
                    flush=True,
                )


if __name__ == "__main__":
    main()
