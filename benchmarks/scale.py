"""Scale benchmark (issue 11): build rate, index size, query latency and recall at 10k, 100k
(and, when asked, 1M) documents, on the SQLite and the PostgreSQL backend.

Run by hand, never by the test suite::

    PYTHONPATH=. .venv/bin/python benchmarks/scale.py --quick      # about a minute
    PYTHONPATH=. .venv/bin/python benchmarks/scale.py --docs 10000,100000 --backends sqlite
    PYTHONPATH=. .venv/bin/python benchmarks/scale.py --docs 100000 --backends postgresql \
        --archives overlap --merge --profile
    PYTHONPATH=. .venv/bin/python benchmarks/scale.py --docs 1000000 --archives overlap

Archives (:mod:`scale_text`): an overlap-heavy one, documents of 12-22 sentences drawn
from a pool of 26,000 (each sentence recurs in many documents), and a plain one. Each
build, size count, query run and shared-index run is a subprocess of its own, so its
peak memory is its own. PostgreSQL runs in a throwaway cluster
(``tests/postgres_server.py``); a PostgreSQL build that would take longer than
``--pg-max-build-minutes`` stops early and says so. Writes
``benchmarks/results/scale.md`` (and ``scale.json``; ``--merge`` adds to the figures
already there; ``--quick`` writes ``scale-quick.*`` instead) and prints the report;
``--profile`` adds a cProfile of the page queries at the largest size.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path[:0] = [str(REPO), str(BENCH_DIR)]


from bench import _machine_busy_seconds, machine, peak_rss_mb, run_in_child  # noqa: E402
from scale_query import KEY, log, step_query, step_share  # noqa: E402
from scale_report import render  # noqa: E402
from scale_text import Archive  # noqa: E402

import leakscan  # noqa: E402
from leakscan.build import COMMIT_DOCUMENTS  # noqa: E402

WORKER_CHUNK = 250  # documents per task of the parallel build
RESULTS = BENCH_DIR / "results"
#: PostgreSQL settings for the benchmark cluster (the tests' cluster keeps 32 MB buffers).
PG_SETTINGS = {
    "shared_buffers": "2GB",
    "maintenance_work_mem": "512MB",
    "work_mem": "16MB",
    "effective_cache_size": "8GB",
    "max_wal_size": "4GB",
}


def current_rss_mb() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# -- build ----------------------------------------------------------------------------


class BuildStopped(Exception):
    """The build would take longer than allowed."""


_worker: tuple[Archive, leakscan.Fingerprinter] | None = None


def _init_worker(kind: str, seed: int) -> None:
    global _worker
    _worker = (Archive(kind, seed), leakscan.Fingerprinter(KEY))


def _fingerprint_range(start: int, stop: int) -> tuple[list[tuple[Any, ...]], float]:
    """Documents [start, stop) made and fingerprinted as ``leakscan.build``'s workers do."""
    from leakscan.align import encode_alignment

    assert _worker is not None
    archive, fingerprinter = _worker
    t0 = time.process_time()
    out = []
    for doc_id in range(start, stop):
        data = archive.text(doc_id).encode("utf-8")
        sha256 = hashlib.sha256(data).hexdigest()
        fp = fingerprinter.fingerprint(data.decode("utf-8"))
        blob = encode_alignment(fp, KEY, sha256)
        out.append((doc_id, fp.hashes, fp.starts, fp.simhash, fp.n_tokens, sha256, len(data), blob))
    return out, time.process_time() - t0


def _parallel_batches(a: dict[str, Any]) -> Iterator[tuple[list[tuple[Any, ...]], float]]:
    """Fingerprinted batches of COMMIT_DOCUMENTS documents; the next batch is being made in the
    workers while the writer stores this one."""
    n, jobs = a["n_docs"], a["jobs"]
    every = a.get("commit_every", COMMIT_DOCUMENTS)
    starts = range(0, n, every)
    with ProcessPoolExecutor(
        jobs, initializer=_init_worker, initargs=(a["archive"], a["seed"])
    ) as pool:

        def submit(start: int) -> list[Future[tuple[list[tuple[Any, ...]], float]]]:
            stop = min(n, start + every)
            return [
                pool.submit(_fingerprint_range, s, min(stop, s + WORKER_CHUNK))
                for s in range(start, stop, WORKER_CHUNK)
            ]

        ahead = submit(0)
        for i in range(len(starts)):
            current, ahead = ahead, (submit(starts[i + 1]) if i + 1 < len(starts) else [])
            docs: list[tuple[Any, ...]] = []
            cpu = 0.0
            for future in current:
                part, seconds = future.result()
                docs.extend(part)
                cpu += seconds
            yield docs, cpu


def step_build(a: dict[str, Any]) -> dict[str, Any]:
    """Build one index through ``Index.add_text`` (path ``text``) or through worker processes
    and ``Index.add_hashes`` (path ``parallel``, as ``leakscan.build`` stores documents)."""
    archive = Archive(a["archive"], a["seed"])
    n = a["n_docs"]
    limit = a.get("max_seconds") or float("inf")
    index = leakscan.Index.create(a["location"], key=KEY)
    writing_s = worker_cpu = generate_s = generate_cpu = 0.0
    source_bytes = done = 0
    checkpoints: list[dict[str, float]] = []
    commits: list[tuple[int, float]] = []  # (documents so far, writer seconds so far)
    started, cpu_started = time.perf_counter(), time.process_time()
    stopped = None
    finish_s = 0.0

    def after_document() -> None:
        nonlocal writing_s
        if done % a.get("commit_every", COMMIT_DOCUMENTS) == 0:
            t0 = time.perf_counter()
            index.commit()
            writing_s += time.perf_counter() - t0
            commits.append((done, writing_s))
            elapsed = time.perf_counter() - started
            if done >= max(2000, n // 50) and elapsed / done * n > limit:
                raise BuildStopped(
                    f"stopped after {done} documents: {done / elapsed:.0f} docs/s, "
                    f"{elapsed / done * n / 60:.0f} minutes projected"
                )
        if done % max(1, n // 10) == 0:
            checkpoints.append(
                {
                    "docs": done,
                    "peak_rss_mb": peak_rss_mb(),
                    "rss_mb": current_rss_mb(),
                    "writer_s": writing_s,
                    "wall_s": time.perf_counter() - started,
                }
            )

    try:
        with index.writing():
            if a["path"] == "text":
                for doc_id in range(n):
                    t0, c0 = time.perf_counter(), time.process_time()
                    text = archive.text(doc_id)
                    t1 = time.perf_counter()
                    generate_cpu += time.process_time() - c0
                    index.add_text(text, path=archive.path(doc_id))
                    writing_s += time.perf_counter() - t1
                    generate_s += t1 - t0
                    source_bytes += len(text.encode("utf-8"))
                    done += 1
                    after_document()
            else:
                for batch, cpu in _parallel_batches(a):
                    worker_cpu += cpu
                    for doc_id, hashes, starts, simhash, n_tokens, sha256, size, blob in batch:
                        t0 = time.perf_counter()
                        index.add_hashes(
                            hashes,
                            starts,
                            simhash,
                            n_tokens,
                            path=archive.path(doc_id),
                            sha256=sha256,
                            size=size,
                            alignment=blob,
                        )
                        writing_s += time.perf_counter() - t0
                        source_bytes += size
                        done += 1
                        after_document()
            finish_started = time.perf_counter()
        finish_s = time.perf_counter() - finish_started  # final commit, build marked complete
    except BuildStopped as exc:
        stopped = str(exc)
        log(stopped)
    writing_s += finish_s
    wall = time.perf_counter() - started
    writer_cpu = time.process_time() - cpu_started - generate_cpu
    if stopped is None and a["backend"] == "sqlite":
        # Everything in the main file: sizes are read from it.
        backend = index.backend
        backend._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[attr-defined]
    fingerprints = index.backend.counts()["fingerprints"] if stopped is None else 0
    index.close()
    first = commits[0] if commits else (done, writing_s)
    last = (
        (commits[-1][0] - commits[-2][0], commits[-1][1] - commits[-2][1])
        if len(commits) > 1
        else first
    )
    return {
        "docs": done,
        "stopped": stopped,
        "source_bytes": source_bytes,
        "fingerprints": fingerprints,
        "wall_s": wall,
        "wall_docs_per_s": done / wall,
        "writer_s": writing_s,
        "writer_docs_per_s": done / writing_s if writing_s else 0.0,
        "writer_cpu_s": writer_cpu,
        "writer_cpu_docs_per_s": done / writer_cpu if writer_cpu else 0.0,
        "first_commit_docs_per_s": first[0] / first[1] if first[1] else 0.0,
        "last_commit_docs_per_s": last[0] / last[1] if last[1] else 0.0,
        "finish_s": finish_s,
        "generate_s": generate_s,
        "worker_cpu_s": worker_cpu,
        "checkpoints": checkpoints,
        "peak_rss_mb": peak_rss_mb(),
        "worker_peak_rss_mb": peak_rss_mb(resource.RUSAGE_CHILDREN),
    }


# -- size -----------------------------------------------------------------------------

#: Tables fingerprint look-ups read (bands: near-duplicates; image tables are empty here).
LOOKUP_TABLES = ("postings", "packed", "frequencies", "bands", "image_hashes", "image_bands")


def step_size(a: dict[str, Any]) -> dict[str, Any]:
    """Bytes of the index by what they are for."""
    if a["backend"] == "sqlite":
        return _sqlite_sizes(a["location"])
    return _postgres_sizes(a["location"])


def _sqlite_sizes(path: str) -> dict[str, Any]:
    """From SQLite's ``dbstat`` table: pages of each table and index. The contents table's
    pages are split between its columns in proportion to their bytes."""
    import sqlite3

    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        pages = dict(db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
        owners = dict(
            db.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')")
        )
        payload = db.execute("SELECT sum(payload) FROM dbstat WHERE name = 'contents'").fetchone()[
            0
        ]
        blob, align = db.execute(
            "SELECT sum(length(fingerprints)), sum(coalesce(length(alignment), 0)) FROM contents"
        ).fetchone()
        counts = {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("postings", "frequencies", "contents", "documents")
        }
    finally:
        db.close()
    by_table: dict[str, int] = defaultdict(int)
    for name, size in pages.items():
        by_table[owners.get(name, name)] += int(size)
    contents_table = int(pages.get("contents", 0))
    blob_bytes = contents_table * (blob or 0) / (payload or 1)
    align_bytes = contents_table * (align or 0) / (payload or 1)
    return _split(dict(by_table), blob_bytes, align_bytes, counts, os.path.getsize(path))


def _postgres_sizes(url: str) -> dict[str, Any]:
    """``pg_total_relation_size`` of each table (with its indexes and TOAST); the contents
    table's fingerprint and alignment columns by ``pg_column_size`` (as stored)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        db.execute("VACUUM ANALYZE")
        rows = db.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        ).fetchall()
        blob, align = db.execute(
            "SELECT sum(pg_column_size(fingerprints)), sum(pg_column_size(alignment)) FROM contents"
        ).fetchone() or (0, 0)
        counts = {
            table: int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            for table in ("postings", "frequencies", "contents", "documents", "packed")
        }
        ids, hashes = db.execute(
            "SELECT coalesce(sum(octet_length(ids)), 0), coalesce(sum(octet_length(hashes)), 0) "
            "FROM packed"
        ).fetchone()  # type: ignore[misc]
        # Every posting, in rows and in leaves (4 bytes of ids each, 6 of a fingerprint).
        counts["fingerprints"] = counts["postings"] + int(ids) // 4
        row = db.execute("SELECT count(DISTINCT hash) FROM postings").fetchone()
        counts["distinct"] = int(hashes) // 6 + int(row[0])  # type: ignore[index]
        database = db.execute("SELECT pg_database_size(current_database())").fetchone()
    return _split(
        {str(r[0]): int(r[1]) for r in rows},
        float(blob or 0),
        float(align or 0),
        counts,
        int(database[0]) if database else 0,
    )


def _split(
    by_table: dict[str, int], blob: float, align: float, counts: dict[str, int], on_disk: int
) -> dict[str, Any]:
    lookup = sum(by_table.get(t, 0) for t in LOOKUP_TABLES)
    total = sum(by_table.values())
    return {
        "tables": by_table,
        "lookup_bytes": lookup,
        "blob_bytes": blob,
        "alignment_bytes": align,
        "rows_bytes": total - lookup - blob - align,
        "total_bytes": total,
        "on_disk_bytes": on_disk,
        "counts": counts,
    }


STEPS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "build": step_build,
    "size": step_size,
    "query": step_query,
    "share": step_share,
}


def run_step(name: str, a: dict[str, Any]) -> dict[str, Any]:
    """One step in a fresh interpreter (its own peak memory), with the machine's load; a
    step that fails says so in its result and the others go on."""
    try:
        return _run_step(name, a)
    except subprocess.CalledProcessError as exc:
        log(f"step {name} {a.get('label')} failed: exit status {exc.returncode}")
        return {"error": f"exit status {exc.returncode}"}


def _run_step(name: str, a: dict[str, Any]) -> dict[str, Any]:
    busy, before, t0 = _machine_busy_seconds(), load(), time.perf_counter()
    result = run_in_child(Path(__file__).resolve(), "step", name, a)
    wall = time.perf_counter() - t0
    cores = len(os.sched_getaffinity(0))
    result["machine"] = {
        "load_before": before,
        "load_after": load(),
        "seconds": wall,
        "machine_busy_share": (_machine_busy_seconds() - busy) / (wall * cores),
    }
    return result


# -- PostgreSQL cluster ----------------------------------------------------------------


def tune_postgres(server: Any) -> None:
    """Give the throwaway cluster a server's memory settings and restart it."""
    from tests.postgres_server import _runner

    for name, value in PG_SETTINGS.items():
        server.psql(f"ALTER SYSTEM SET {name} = '{value}'")
    prefix, _ = _runner()
    data = server.socket_dir / "data"
    subprocess.run(
        [
            *prefix,
            str(server.bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(server.socket_dir / "server.log"),
            "-w",
            "-t",
            "60",
            "restart",
            "-m",
            "fast",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


# -- main ------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 documents, few queries")
    parser.add_argument("--docs", default="10000,100000", help="archive sizes (comma-separated)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--archives", default="overlap,plain")
    parser.add_argument(
        "--paths",
        default="text,parallel",
        help="SQLite build paths: text (Index.add_text) and parallel (workers fingerprint, "
        "Index.add_hashes stores, as leakscan.build)",
    )
    parser.add_argument("--pg-paths", default="text", help="PostgreSQL build paths")
    parser.add_argument("--pg-max-build-minutes", type=float, default=25.0)
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--queries", type=int, default=300, help="warm queries of each kind")
    parser.add_argument("--cold", type=int, default=100, help="cold queries of each kind")
    parser.add_argument("--share-queries", type=int, default=150, help="per scanner process")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--commit-every",
        type=int,
        default=COMMIT_DOCUMENTS,
        help=f"documents per commit (default {COMMIT_DOCUMENTS}, as leakscan.build)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the page queries")
    parser.add_argument("--work", type=Path, help="keep indexes here (default: a temp dir)")
    parser.add_argument("--merge", action="store_true", help="add to results/scale.json")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse SQLite indexes an earlier run left in --work"
    )
    parser.add_argument("--run-step", help=argparse.SUPPRESS)
    parser.add_argument("--step-args", help=argparse.SUPPRESS)
    parser.add_argument("--step-out", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.quick:
        options.docs = "1000"
        options.queries, options.cold, options.share_queries = 20, 5, 10
    return options


def measure(
    options: argparse.Namespace,
    backend: str,
    location: Callable[[str], str],
    extra: dict[str, Any],
    runs: dict[str, Any],
    save: Callable[[], None],
) -> None:
    """Build, size and query every archive and size on one backend; results are saved as
    they come."""

    def record(step: str, label: str, result: dict[str, Any]) -> bool:
        key = f"{step} {label}" if "error" not in result else f"failed {step} {label}"
        runs[key] = {**base, **result}
        save()
        return "error" not in result

    sizes = [int(n) for n in options.docs.split(",")]
    paths = (options.pg_paths if backend == "postgresql" else options.paths).split(",")
    for kind in options.archives.split(","):
        for n in sizes:
            base = {
                **extra,
                "backend": backend,
                "archive": kind,
                "seed": options.seed,
                "n_docs": n,
                "jobs": options.jobs,
                "commit_every": options.commit_every,
                "results": str(RESULTS),
                "max_seconds": options.pg_max_build_minutes * 60 if backend == "postgresql" else 0,
            }
            built = None
            for path in paths:
                label = f"{backend}-{kind}-{n}-{path}"
                where = location(label)
                sidecar = Path(f"{where}.build.json")  # SQLite only: kept with --work
                if options.reuse and backend == "sqlite" and sidecar.exists():
                    log(f"reusing {where}")
                    build = json.loads(sidecar.read_text())
                else:
                    log(f"building {label}")
                    args = {**base, "path": path, "location": where, "label": label}
                    build = run_step("build", args)
                    if "error" in build:
                        continue
                    if backend == "sqlite":
                        sidecar.write_text(json.dumps(build))
                record("build", label, {"path": path, **build})
                if build["stopped"] is None:
                    built = (where, label)
            if built is None:
                continue
            where, label = built
            a = {
                **base,
                "location": where,
                "label": label,
                "queries": options.queries,
                "cold": options.cold,
                "profile": options.profile and n == max(sizes) and kind == "overlap",
                "share_queries": options.share_queries,
            }
            record("size", label, run_step("size", a))
            log(f"querying {label}")
            record("query", label, run_step("query", a))
            if n == max(sizes) and kind == "overlap":
                record("share", label, run_step("share", a))


def main() -> int:
    options = parse_args()
    if options.run_step:
        result = STEPS[options.run_step](json.loads(options.step_args))
        options.step_out.write_text(json.dumps(result))
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "scale-quick" if options.quick else "scale"  # a smoke run keeps the real figures
    out = RESULTS / f"{name}.json"
    results: dict[str, Any] = json.loads(out.read_text()) if options.merge and out.exists() else {}
    results.setdefault("runs", {})
    results["machine"] = machine()
    sessions = results.setdefault("sessions", [])
    session: dict[str, Any] = {
        "command": " ".join(sys.argv[1:]),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_before": load(),
    }
    started = time.perf_counter()
    sessions.append(session)

    def save() -> None:
        session["load_after"] = load()
        session["seconds"] = time.perf_counter() - started
        out.write_text(json.dumps(results, indent=2))

    with tempfile.TemporaryDirectory(prefix="leakscan-scale-") as tmp:
        work = options.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        backends = options.backends.split(",")
        if "sqlite" in backends:
            measure(
                options,
                "sqlite",
                lambda label: str(work / f"{label}.sqlite"),
                {},
                results["runs"],
                save,
            )
        if "postgresql" in backends:
            from tests.postgres_server import ServerUnavailable, throwaway_server

            try:
                with throwaway_server() as server:
                    tune_postgres(server)
                    measure(
                        options,
                        "postgresql",
                        lambda label: server.new_database(),
                        {"pg_data": str(server.socket_dir / "data")},
                        results["runs"],
                        save,
                    )
            except ServerUnavailable as exc:
                session["postgresql"] = f"not measured: {exc}"
                log(session["postgresql"])
    save()
    report = render(results)
    (RESULTS / f"{name}.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
