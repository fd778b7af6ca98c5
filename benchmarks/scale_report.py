"""The Markdown report of ``benchmarks/scale.py`` (from its ``scale.json``)."""

from __future__ import annotations

import itertools
from typing import Any

#: Issue 11's targets.
P99_TARGET_MS = {100_000: 10.0, 1_000_000: 20.0}
LOOKUP_TARGET = 1.0  # bytes of fingerprint look-up data per byte of source text
MILLION_IN_AN_HOUR = 1_000_000 / 3600


def _runs(results: dict[str, Any], step: str) -> list[dict[str, Any]]:
    found = [run for key, run in results["runs"].items() if key.startswith(step + " ")]
    return sorted(
        found,
        key=lambda r: (r["backend"] != "sqlite", r["archive"], r["n_docs"], r.get("path", "")),
    )


def _n(n: int) -> str:
    return f"{n:,}"


def _busy(run: dict[str, Any]) -> str:
    m = run.get("machine", {})
    if not m:
        return ""
    return (
        f"{m['machine_busy_share']:.0%} (load {m['load_before'][0]:.1f}→{m['load_after'][0]:.1f})"
    )


def render(results: dict[str, Any]) -> str:
    lines = ["# Scale benchmark (issue 11)", ""]
    for name, value in results["machine"].items():
        lines.append(f"- **{name}**: {value}")
    for session in results.get("sessions", []):
        lines.append(
            f"- **run** `scale.py {session['command']}` at {session['started']}: "
            f"{session['seconds'] / 60:.1f} min; load average (1, 5, 15 min) "
            f"{session['load_before']} before, {session['load_after']} after"
            + (f"; PostgreSQL {session['postgresql']}" if "postgresql" in session else "")
        )
    lines += [
        "",
        "Machine busy: the share of all cores' time the whole machine was busy during the step "
        "(this benchmark, its PostgreSQL server and everyone else), with the 1-minute load "
        "average before and after.",
        "",
        "## Build",
        "",
        "Writer docs/s counts the time in `Index.add_text` (path text: fingerprinting, "
        "alignment data and storing, in this process) or `Index.add_hashes` (path parallel: "
        "documents made, fingerprinted and their alignment data encoded by worker processes "
        "as `leakscan.build`'s workers do), commits every `--commit-every` documents (see "
        "the run line; by default as `leakscan.build` commits) and the end of the "
        "build (final commit; PostgreSQL: the postings index and ANALYZE). Wall docs/s "
        "includes making the text. RSS: peak (current) of the writer at 10%, 50% and 100% "
        "of the documents.",
        "",
        "| backend | archive | documents | path | source MB | writer docs/s (per CPU s) "
        "| wall docs/s "
        "| first / last 1,000 docs/s | end of build s | writer RSS MB 10% → 50% → 100% "
        "| machine busy |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for run in _runs(results, "build"):
        points = run["checkpoints"]
        picks = [points[i] for i in (0, len(points) // 2 - 1, len(points) - 1)] if points else []
        rss = " → ".join(f"{p['peak_rss_mb']:.0f} ({p['rss_mb']:.0f})" for p in picks)
        docs = (
            _n(run["n_docs"]) if not run["stopped"] else f"{_n(run['docs'])} of {_n(run['n_docs'])}"
        )
        lines.append(
            f"| {run['backend']} | {run['archive']} | {docs} | {run['path']} "
            f"| {run['source_bytes'] / 1e6:.0f} | {run['writer_docs_per_s']:.0f} "
            f"({run.get('writer_cpu_docs_per_s', 0):.0f}) "
            f"| {run['wall_docs_per_s']:.0f} "
            f"| {run['first_commit_docs_per_s']:.0f} / {run['last_commit_docs_per_s']:.0f} "
            f"| {run['finish_s']:.1f} | {rss} | {_busy(run)} |"
        )
    lines += ["", "Writer docs/s in each tenth of the build (wall docs/s in brackets):", ""]
    for run in _runs(results, "build"):
        points = [{"docs": 0, "writer_s": 0.0, "wall_s": 0.0}, *run["checkpoints"]]
        if "writer_s" not in points[-1]:
            continue
        rates = [
            f"{(b['docs'] - a['docs']) / max(1e-9, b['writer_s'] - a['writer_s']):.0f} "
            f"({(b['docs'] - a['docs']) / max(1e-9, b['wall_s'] - a['wall_s']):.0f})"
            for a, b in itertools.pairwise(points)
        ]
        lines.append(
            f"- {run['backend']} {run['archive']} {_n(run['n_docs'])} {run['path']}: "
            + ", ".join(rates)
        )
    for run in _runs(results, "build"):
        if run["stopped"]:
            lines.append(
                f"\n{run['backend']} {run['archive']} {_n(run['n_docs'])}: {run['stopped']}."
            )
    builds = {
        (r["backend"], r["archive"], r["n_docs"]): r
        for r in _runs(results, "build")
        if not r["stopped"]
    }
    lines += [
        "",
        "## Size",
        "",
        "Bytes of index per byte of source text (UTF-8). Look-up: the tables a scan's "
        "fingerprint look-ups read (postings, frequencies, simhash bands). Blob: each "
        "content's own fingerprints (12 bytes each), kept to remove it again. Alignment: "
        "`contents.alignment` (issue 12's data, read only for nominated sources). Rows: the "
        "rest (contents and documents rows and their indexes, meta). SQLite: pages counted "
        "by `dbstat`, the contents table's pages shared out between its columns by their "
        "bytes; PostgreSQL: `pg_total_relation_size` per table (indexes and TOAST "
        "included), the two blob columns by `pg_column_size`.",
        "",
        "| backend | archive | documents | fingerprints (per doc) | look-up | blob | alignment "
        "| rows | total | look-up B per fingerprint | file / database on disk per source byte |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in _runs(results, "size"):
        build = builds.get((run["backend"], run["archive"], run["n_docs"]))
        if build is None:
            continue
        src = build["source_bytes"]
        fps = run["counts"].get("fingerprints", run["counts"]["postings"])
        lines.append(
            f"| {run['backend']} | {run['archive']} | {_n(run['n_docs'])} "
            f"| {_n(fps)} ({fps / run['counts']['contents']:.0f}) "
            f"| {run['lookup_bytes'] / src:.2f} | {run['blob_bytes'] / src:.2f} "
            f"| {run['alignment_bytes'] / src:.2f} | {run['rows_bytes'] / src:.2f} "
            f"| {run['total_bytes'] / src:.2f} | {run['lookup_bytes'] / fps:.1f} "
            f"| {run['on_disk_bytes'] / src:.2f} |"
        )
    lines += [
        "",
        "By table (bytes per stored fingerprint, i.e. per posting, in rows or in leaves):",
        "",
    ]
    for run in _runs(results, "size"):
        fps = max(1, run["counts"].get("fingerprints", run["counts"]["postings"]))
        tables = ", ".join(
            f"{name} {size / fps:.1f}"
            for name, size in sorted(run["tables"].items(), key=lambda kv: -kv[1])
            if size
        )
        counts = run["counts"]
        distinct = (
            f"{_n(counts['distinct'])} distinct fingerprints "
            f"({fps / max(1, counts['distinct']):.1f} postings each)"
            if "distinct" in counts
            else f"{_n(counts['frequencies'])} fingerprints held by two or more contents"
        )
        lines.append(
            f"- {run['backend']} {run['archive']} {_n(run['n_docs'])}: {tables}; {distinct}"
        )
    lines += [
        "",
        "## Query latency and recall",
        "",
        "`Scanner(index).scan_text(text)` at the default `--min-score` (0.5), one process. "
        "Page: 12-22 sentences, a planted excerpt of 3-6 consecutive sentences of one archive "
        "document among sentences about half of which other archive documents hold. Excerpt: "
        "the planted sentences between one to three new ones on each side. Recall: share of "
        "queries with a finding naming the planted excerpt's document. Warm: the index files "
        "read once before. Cold: before each query the index's files are dropped from the OS "
        "page cache (`posix_fadvise(DONTNEED)`; SQLite's own 2 MB cache in the process and "
        "PostgreSQL's shared buffers stay).",
        "",
        "| backend | archive | documents | query | warm p50 / p99 ms | CPU ms p50 "
        "| cold p50 / p99 ms | recall | findings per query | excerpt words (mean) "
        "| scanner peak RSS MB | machine busy |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in _runs(results, "query"):
        for kind, q in run["kinds"].items():
            cold = q["cold"]
            cold_text = f"{cold['p50_ms']:.1f} / {cold['p99_ms']:.1f}" if cold else "—"
            lines.append(
                f"| {run['backend']} | {run['archive']} | {_n(run['n_docs'])} | {kind} "
                f"| {q['warm']['p50_ms']:.1f} / {q['warm']['p99_ms']:.1f} "
                f"| {q['cpu_ms']['p50']:.1f} | {cold_text} "
                f"| {q['recall']:.0%} of {q['warm']['n']} | {q['findings_per_query']:.1f} "
                f"| {q['excerpt_words_mean']:.0f} | {run['peak_rss_mb']:.0f} | {_busy(run)} |"
            )
    query_runs = _runs(results, "query")
    misses = [
        f"- {r['backend']} {r['archive']} {_n(r['n_docs'])} {kind}: {m['count']} missed: "
        + ", ".join(f"{why} {n}" for why, n in sorted(m["reasons"].items()))
        + (f" (scores {', '.join(f'{x:.2f}' for x in m['scores'][:12])})" if m["scores"] else "")
        for r in query_runs
        for kind, m in r.get("misses", {}).items()
        if m["count"]
    ]
    if misses:
        lines += ["", "Why planted excerpts were missed:", "", *misses]
    if query_runs:
        heads = [f"{r['backend']} {r['archive']} {_n(r['n_docs'])}" for r in query_runs]
        stages: list[str] = []
        for run in query_runs:
            stages += [s for s in run["stages_ms"] if s not in stages]
        lines += [
            "",
            "## Where a page query's time goes (warm, ms per query)",
            "",
            "Exclusive time in each step (functions wrapped in place by the benchmark); "
            "conversion: the Python around a backend call.",
            "",
            "| step | " + " | ".join(heads) + " |",
            "|---|" + "---:|" * len(heads),
        ]
        order = sorted(stages, key=lambda s: -max(r["stages_ms"].get(s, 0) for r in query_runs))
        for stage in order:
            cells = [f"{r['stages_ms'].get(stage, 0):.2f}" for r in query_runs]
            lines.append(f"| {stage} | " + " | ".join(cells) + " |")
        cells = [f"{r['stages_total_ms'] - sum(r['stages_ms'].values()):.2f}" for r in query_runs]
        lines.append("| other | " + " | ".join(cells) + " |")
        lines.append(
            "| **total** | " + " | ".join(f"{r['stages_total_ms']:.2f}" for r in query_runs) + " |"
        )
        for count in ("hashes looked up", "rare hashes", "postings rows", "candidates", "aligned"):
            cells = [f"{r['stage_counts'].get(count, 0):.0f}" for r in query_runs]
            lines.append(f"| *{count} per query* | " + " | ".join(cells) + " |")
        profiles = [r["profile"] for r in query_runs if r.get("profile")]
        if profiles:
            lines += ["", "cProfile output: " + ", ".join(f"`{p}`" for p in profiles) + "."]
    shares = _runs(results, "share")
    if shares:
        lines += [
            "",
            "## Scanner processes sharing one index",
            "",
            "Page queries, each process its own; total queries per second from the first "
            "query to the last.",
            "",
            "| backend | archive | documents | 1 process q/s | 2 processes q/s (total) | ratio "
            "| scanner CPU ms per query (1 / 2 processes) | machine busy |",
            "|---|---|---:|---:|---:|---:|---:|---|",
        ]
        for run in shares:
            one, two = run["1"]["per_s"], run["2"]["per_s"]
            lines.append(
                f"| {run['backend']} | {run['archive']} | {_n(run['n_docs'])} | {one:.1f} "
                f"| {two:.1f} | {two / one:.2f} "
                f"| {run['1']['cpu_ms_per_query']:.1f} / {run['2']['cpu_ms_per_query']:.1f} "
                f"| {_busy(run)} |"
            )
    failed = [key for key in results["runs"] if key.startswith("failed ")]
    if failed:
        lines += ["", "Steps that failed (see the run's output): " + ", ".join(failed) + "."]
    lines += ["", "## Issue 11's targets", "", "| target | measured | result |", "|---|---|---|"]
    for run in query_runs:
        wanted = P99_TARGET_MS.get(run["n_docs"])
        if wanted is None or run["archive"] != "overlap":
            continue
        p99 = run["kinds"]["page"]["warm"]["p99_ms"]
        lines.append(
            f"| page query p99 < {wanted:.0f} ms, {run['backend']}, {_n(run['n_docs'])} "
            f"overlap | {p99:.1f} ms | {'met' if p99 < wanted else '**not met**'} |"
        )
    for run in _runs(results, "size"):
        build = builds.get((run["backend"], run["archive"], run["n_docs"]))
        if build is None or run["archive"] != "overlap":
            continue
        ratio = run["lookup_bytes"] / build["source_bytes"]
        lines.append(
            f"| look-up ≤ {LOOKUP_TARGET:.1f} B per source byte, {run['backend']}, "
            f"{_n(run['n_docs'])} overlap | {ratio:.2f} | "
            f"{'met' if ratio <= LOOKUP_TARGET else '**not met**'} |"
        )
    for run in _runs(results, "build"):
        if run["archive"] != "overlap" or run["stopped"] or run["n_docs"] < 100_000:
            continue
        rate = min(run["wall_docs_per_s"], run["last_commit_docs_per_s"])
        lines.append(
            f"| 1M documents in an hour (≥ {MILLION_IN_AN_HOUR:.0f} docs/s), {run['backend']} "
            f"{run['path']}: wall rate of the {_n(run['docs'])} build, writer rate at its end "
            f"| {run['wall_docs_per_s']:.0f} / {run['last_commit_docs_per_s']:.0f} docs/s "
            f"| {'on track' if rate >= MILLION_IN_AN_HOUR else '**not met**'} |"
        )
    return "\n".join(lines) + "\n"
