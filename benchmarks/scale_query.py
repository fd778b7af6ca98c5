"""Query steps of ``benchmarks/scale.py``: latency (warm and cold), recall, where a query's
time goes, and several scanner processes sharing one index."""

from __future__ import annotations

import cProfile
import functools
import hashlib
import io
import multiprocessing
import os
import pstats
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from bench import peak_rss_mb, percentile
from scale_text import Archive, Query, queries

import leakscan

#: The benchmark's key (any 32 bytes; the builder and the scanners share it).
KEY = hashlib.sha256(b"leakscan scale benchmark key").digest()


def log(message: str) -> None:
    print(f"[scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Stages:
    """Exclusive time spent in chosen functions (wrapped in place), and counts they report."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self._stack: list[float] = []
        self._undo: list[tuple[Any, str, Any]] = []

    def wrap(
        self,
        owner: Any,
        name: str,
        label: str,
        count: Callable[[tuple[Any, ...], Any], dict[str, int]] | None = None,
    ) -> None:
        original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        stages = self

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            stages._stack.append(0.0)
            t0 = time.perf_counter()
            try:
                result = original(*args, **kwargs)
            finally:
                took = time.perf_counter() - t0
                inner = stages._stack.pop()
                stages.seconds[label] += took - inner
                if stages._stack:
                    stages._stack[-1] += took
            if count is not None:
                for key, value in count(args, result).items():
                    stages.counts[key] += value
            return result

        self._undo.append((owner, name, original))
        setattr(owner, name, timed)

    def reset(self) -> None:
        self.seconds.clear()
        self.counts.clear()

    def undo(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()


def instrument(index: leakscan.Index) -> Stages:
    """Wrap the steps of a scan: fingerprinting, each look-up, alignment, scoring."""
    import leakscan.index as index_module
    import leakscan.match as match_module
    from leakscan.fingerprint import Fingerprinter
    from leakscan.index import Index
    from leakscan.match import Matcher

    scan_module = sys.modules["leakscan.scan"]  # leakscan.scan is also a function's name
    stages = Stages()
    backend = type(index.backend)
    stages.wrap(Fingerprinter, "fingerprint", "fingerprint")
    stages.wrap(
        Index,
        "frequencies",
        "frequencies (conversion)",
        lambda args, result: {"hashes looked up": len(args[1])},
    )
    stages.wrap(backend, "document_frequencies", "frequencies (SQL)")
    stages.wrap(backend, "look_up", "look-up (SQL)")
    stages.wrap(
        Index,
        "postings",
        "postings (conversion)",
        lambda args, result: {
            "rare hashes": len(list(args[1])) if len(args) < 3 or args[2] is None else 0,
            "postings rows": len(result),
            "candidates": len({p.content_id for p in result}),
        },
    )
    stages.wrap(backend, "postings", "postings (SQL)")
    stages.wrap(
        Index,
        "look_up",
        "look-up (conversion)",
        lambda args, result: {
            "hashes looked up": len(list(args[1])),
            "rare hashes": len({p.hash for p in result[1]}),
            "postings rows": len(result[1]),
            "candidates": len({p.content_id for p in result[1]}),
        },
    )
    stages.wrap(Index, "near_duplicates", "simhash bands")
    stages.wrap(
        Index, "sources", "sources (decode)", lambda args, result: {"aligned": len(result[0])}
    )
    stages.wrap(backend, "sources", "contents and alignment blobs (SQL)")
    stages.wrap(index_module, "decode_alignments", "alignment decode")
    stages.wrap(match_module, "common_runs_many", "common_runs_many")
    stages.wrap(match_module, "_chain_pieces", "chaining")
    stages.wrap(Matcher, "_align", "alignment (rest)")
    stages.wrap(Matcher, "_verdicts", "scoring")
    stages.wrap(Matcher, "match", "match (rest: ranking)")
    stages.wrap(scan_module, "findings_for", "findings")
    return stages


def _files(a: dict[str, Any]) -> list[Path]:
    """The files holding the index (SQLite file and WAL; a PostgreSQL cluster's data)."""
    if a["backend"] == "sqlite":
        return [p for p in (Path(a["location"]), Path(a["location"] + "-wal")) if p.exists()]
    return [p for p in Path(a["pg_data"]).rglob("*") if p.is_file()]


#: What a PostgreSQL scan reads, loaded into the server's shared buffers for warm queries
#: (as a server that has answered scans for a while holds them): the leaves, the bands,
#: and the contents and documents rows and indexes.
PREWARMED = (
    "packed",
    "packed_pkey",
    "bands_simhash",
    "contents",
    "contents_pkey",
    "documents",
    "documents_content",
    "frequencies_pkey",
    "postings_hash",
)


def prewarm(location: str) -> None:
    """Load :data:`PREWARMED` into the shared buffers (``pg_prewarm``), as far as they go."""
    import psycopg

    with psycopg.connect(location, autocommit=True) as db:
        db.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        for relation in PREWARMED:
            if db.execute("SELECT to_regclass(%s)", (relation,)).fetchone() != (None,):
                db.execute("SELECT pg_prewarm(%s)", (relation,))


def warm_files(files: list[Path], location: str | None = None) -> None:
    """Read the index's files into the OS page cache; a PostgreSQL index (``location``)
    into the server's shared buffers too."""
    if location is not None:
        prewarm(location)
    for path in files:
        try:
            with open(path, "rb") as handle:
                while handle.read(1 << 22):
                    pass
        except FileNotFoundError:  # PostgreSQL removes temporary files as it goes
            continue


def evict_files(files: list[Path]) -> None:
    """Drop these files' pages from the OS page cache (the rest of the machine is untouched)."""
    for path in files:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def diagnose(index: leakscan.Index, missed: list[Query]) -> dict[str, Any]:
    """Why planted excerpts were not reported: never nominated (no rare fingerprint of the
    source), nominated but ranked below the sources aligned, or aligned and scored below
    the default ``--min-score`` (or explained away by a stronger source)."""
    from leakscan.fingerprint import distinct

    matcher = leakscan.Scanner(index).matcher
    everything = leakscan.Scanner(index, leakscan.ScanOptions(min_score=0.0))
    reasons: dict[str, int] = defaultdict(int)
    scores = []
    for query in missed:
        document = index.find_document(query.source)
        if document is None:
            reasons["source not in the index"] += 1
            continue
        fingerprint = index.fingerprinter.fingerprint(query.text)
        unique = distinct(fingerprint.hashes).tolist()
        frequencies = index.frequencies(unique)
        rare = sorted(h for h, n in frequencies.items() if n < matcher.cutoff())
        hits: dict[int, set[int]] = defaultdict(set)
        for posting in index.postings(rare):
            hits[posting.content_id].add(posting.hash)
        ranked = sorted(hits, key=lambda cid: (-len(hits[cid]), cid))
        if document.content_id not in hits:
            reasons["not nominated (no rare fingerprint)"] += 1
            continue
        rank = ranked.index(document.content_id)
        if rank >= matcher.params.max_aligned_sources:
            reasons[
                f"nominated, ranked below the {matcher.params.max_aligned_sources} aligned"
            ] += 1
            continue
        found = [f for f in everything.scan_text(query.text) if f.source == query.source]
        if found:
            reasons["aligned, scored below 0.5"] += 1
            scores.append(found[0].score)
        else:
            reasons["aligned, no finding (no passage, or explained away)"] += 1
    return {
        "count": len(missed),
        "reasons": dict(reasons),
        "scores": sorted(round(s, 3) for s in scores),
    }


def _summary(latencies: list[float]) -> dict[str, float]:
    return {
        "n": len(latencies),
        "p50_ms": percentile(latencies, 50),
        "p90_ms": percentile(latencies, 90),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies),
        "mean_ms": float(np.mean(latencies)),
    }


def step_query(a: dict[str, Any]) -> dict[str, Any]:
    """Latency of ``Scanner.scan_text``, warm and cold, recall of planted excerpts, and where
    a page query's time goes."""
    archive = Archive(a["archive"], a["seed"])
    n_docs = a["n_docs"]
    made = {
        kind: queries(archive, n_docs, kind, a["queries"] + a["cold"], a["seed"])
        for kind in ("page", "excerpt")
    }
    files = _files(a)
    rss_before = peak_rss_mb()
    index = leakscan.Index.open(a["location"], key=KEY, readonly=True)
    scanner = leakscan.Scanner(index)
    stages = instrument(index)
    pg = a["location"] if a["backend"] == "postgresql" else None
    warm_files(files, pg)
    for query in made["page"][-10:]:  # warm-up: first content count, caches
        scanner.scan_text(query.text)
    stages.reset()
    result: dict[str, Any] = {"kinds": {}}
    outcomes: dict[str, list[bool]] = defaultdict(list)  # warm queries: excerpt found
    for kind, listed in made.items():
        warm, cold = listed[: a["queries"]], listed[a["queries"] :]
        latencies, cpu, found, findings = [], [], [], 0
        by_length: dict[str, list[bool]] = defaultdict(list)
        if kind == "page":
            stages.reset()
        # The previous kind's cold queries dropped the index from the page cache.
        warm_files(files, pg)
        for query in warm:
            t0, c0 = time.perf_counter(), time.process_time()
            hits = scanner.scan_text(query.text)
            latencies.append((time.perf_counter() - t0) * 1e3)
            cpu.append((time.process_time() - c0) * 1e3)
            ok = any(f.source == query.source for f in hits)
            found.append(ok)
            outcomes[kind].append(ok)
            findings += len(hits)
            bucket = "< 50" if query.excerpt_words < 50 else "50-99"
            by_length[bucket if query.excerpt_words < 100 else ">= 100"].append(ok)
        if kind == "page":
            result["stages_ms"] = {k: v * 1e3 / len(warm) for k, v in stages.seconds.items()}
            result["stage_counts"] = {k: v / len(warm) for k, v in stages.counts.items()}
            result["stages_total_ms"] = float(np.mean(latencies))
        cold_latencies = []
        for query in cold:
            evict_files(files)
            t0 = time.perf_counter()
            scanner.scan_text(query.text)
            cold_latencies.append((time.perf_counter() - t0) * 1e3)
        result["kinds"][kind] = {
            "warm": _summary(latencies),
            "cold": _summary(cold_latencies) if cold_latencies else None,
            "cpu_ms": {"p50": percentile(cpu, 50), "mean": float(np.mean(cpu))},
            "recall": sum(found) / len(found),
            "recall_by_words": {k: [sum(v), len(v)] for k, v in sorted(by_length.items())},
            "findings_per_query": findings / len(warm),
            "excerpt_words_mean": float(np.mean([q.excerpt_words for q in warm])),
        }
        log(
            f"{a['label']} {kind}: warm p50 {result['kinds'][kind]['warm']['p50_ms']:.1f} ms, "
            f"p99 {result['kinds'][kind]['warm']['p99_ms']:.1f} ms, "
            f"recall {result['kinds'][kind]['recall']:.0%}"
        )
    stages.undo()
    result["misses"] = {
        kind: diagnose(index, [q for q, ok in zip(made[kind], hit, strict=False) if not ok])
        for kind, hit in outcomes.items()
    }
    if a.get("profile"):
        profiler = cProfile.Profile()
        profiler.enable()
        for query in made["page"][: a["queries"]]:
            scanner.scan_text(query.text)
        profiler.disable()
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(30)
        out = Path(a["results"]) / f"scale-profile-{a['label']}.txt"
        out.write_text(text.getvalue())
        result["profile"] = str(out)
    index.close()
    result["peak_rss_mb"] = peak_rss_mb()
    result["rss_before_open_mb"] = rss_before
    return result


# -- several scanners sharing one index -----------------------------------------------


def _scanner_process(a: dict[str, Any], texts: list[str], barrier: Any, out: Any) -> None:
    index = leakscan.Index.open(a["location"], key=KEY, readonly=True)
    scanner = leakscan.Scanner(index)
    for text in texts[:5]:
        scanner.scan_text(text)
    barrier.wait()
    t0, c0 = time.perf_counter(), time.process_time()
    for text in texts:
        scanner.scan_text(text)
    out.put((len(texts), t0, time.perf_counter(), time.process_time() - c0))
    index.close()


def step_share(a: dict[str, Any]) -> dict[str, Any]:
    """Page queries per second, in total, from one and from two scanner processes."""
    archive = Archive(a["archive"], a["seed"])
    per = a["share_queries"]
    texts = [q.text for q in queries(archive, a["n_docs"], "page", 2 * per, a["seed"] + 1)]
    warm_files(_files(a))
    context = multiprocessing.get_context("fork")
    result: dict[str, Any] = {}
    for processes in (1, 2):
        barrier, out = context.Barrier(processes), context.Queue()
        children = [
            context.Process(
                target=_scanner_process, args=(a, texts[i * per : (i + 1) * per], barrier, out)
            )
            for i in range(processes)
        ]
        for child in children:
            child.start()
        done = [out.get() for _ in children]
        for child in children:
            child.join()
        total = sum(d[0] for d in done)
        wall = max(d[2] for d in done) - min(d[1] for d in done)
        result[str(processes)] = {
            "queries": total,
            "seconds": wall,
            "per_s": total / wall,
            "cpu_ms_per_query": sum(d[3] for d in done) / total * 1e3,
        }
        log(f"{a['label']}: {processes} scanner(s): {total / wall:.1f} queries/s")
    return result
