"""How fast and in how much memory ``leakscan scan`` refuses each class of hostile archive.

Run by hand, never by the test suite::

    .venv/bin/python benchmarks/bombs.py               # every bomb of tests/bomb_factories.py
    .venv/bin/python benchmarks/bombs.py --only tar    # those whose name holds "tar"
    .venv/bin/python benchmarks/bombs.py --cli-limits  # the CLI's own limit options

Each bomb is built into a temporary folder (small on disk: the sparse ones
are large only in appearance) and scanned by the real CLI as a whole
process, ``python -m leakscan.cli scan --format jsonl``, against a tiny
index built once with ``leakscan index build``. Every scan runs under a
fresh wrapper process, so the peak resident memory reported
(``RUSAGE_CHILDREN``: the largest of the scan process and its workers) is
that bomb's alone. By default the scan is given the library's limits
(``--max-archive-size 400 --max-depth 17``); ``--cli-limits`` keeps the
CLI's own defaults. If the CLI fails (it is changed by others in
parallel), the bomb is timed through ``read_archive`` directly instead and
the table says so. Every bomb is also timed through ``read_archive`` alone
(nested archives opened as the scanner opens them), to tell the reader's cost
from the rest of the pipeline's. Results are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from tests import bomb_factories  # noqa: E402

#: Runs one command and reports its wall time and its descendants' peak RSS.
_WRAPPER = textwrap.dedent(
    """
    import json, resource, subprocess, sys, time
    start = time.perf_counter()
    done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=900)
    print(json.dumps({
        "seconds": time.perf_counter() - start,
        "max_rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        "returncode": done.returncode,
        "stderr": done.stderr[-4000:],
    }))
    """
)

#: Times read_archive on one file, nested archives included as the scanner opens them.
_DIRECT = textwrap.dedent(
    """
    import io, json, os, resource, sys, time
    sys.path.insert(0, sys.argv[2])
    from leakscan.errors import ExtractionError
    from leakscan.exports.archives import ArchiveLimits, Budget, Member, archive_kind, read_archive

    def walk(kind, handle, name, size, budget, depth, outcome):
        try:
            for item in read_archive(kind, handle, name, size, budget):
                if not isinstance(item, Member):
                    outcome["refused"] += 1
                    continue
                inner = archive_kind(item.data[:8192], io.BytesIO(item.data), item.name)
                if inner and depth < budget.limits.max_depth:
                    data, size = io.BytesIO(item.data), len(item.data)
                    walk(inner, data, f"{name}!{item.name}", size, budget, depth + 1, outcome)
                else:
                    outcome["members"] += 1
        except ExtractionError as exc:
            outcome["errors"].append(str(exc))

    path = sys.argv[1]
    start = time.perf_counter()
    outcome = {"members": 0, "refused": 0, "errors": []}
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        kind = archive_kind(handle.read(8192), handle, path)
        walk(kind, handle, path, size, Budget(ArchiveLimits(), on_disk=size), 1, outcome)
    outcome["seconds"] = time.perf_counter() - start
    outcome["max_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(outcome))
    """
)


def build_index(folder: Path) -> Path:
    archive = folder / "archive"
    archive.mkdir()
    (archive / "memo.txt").write_text(
        "The harbour warden's memo on the night ferry schedule for Kestrel Bay: crates are "
        "counted twice, signed off at the gate, and logged before the ferry leaves.\n",
        encoding="utf-8",
    )
    index = folder / "index.sqlite"
    command = [sys.executable, "-m", "leakscan.cli", "index", "build", "--index", str(index)]
    subprocess.run(
        [*command, str(archive)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return index


def scan(bomb: Path, index: Path, cli_limits: bool) -> dict[str, object]:
    report = bomb.with_name("report.jsonl")
    command = [sys.executable, "-m", "leakscan.cli", "scan", "--format", "jsonl"]
    command += ["--index", str(index), "--output", str(report)]
    if not cli_limits:
        command += ["--max-archive-size", "400", "--max-depth", "17"]
    command.append(str(bomb))
    wrapped = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *command], cwd=REPO, capture_output=True, text=True
    )
    result: dict[str, object] = json.loads(wrapped.stdout)
    records = []
    lines = report.read_text(encoding="utf-8").splitlines() if report.exists() else []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    result["records"] = records
    result["ok"] = result["returncode"] in (0, 1) and any(
        r.get("type") == "summary" for r in records
    )
    return result


def direct(bomb: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _DIRECT, str(bomb), str(REPO)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    outcome: dict[str, object] = json.loads(done.stdout)
    return outcome


def outcome_of(records: list[dict[str, object]]) -> str:
    """The archive's own error record if any, else a count of records by type."""
    counts: dict[str, int] = {}
    for record in records:
        kind = str(record.get("type"))
        counts[kind] = counts.get(kind, 0) + 1
    errors = [r for r in records if r.get("type") == "error"]
    shown = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()) if kind != "summary")
    if errors:
        last = str(errors[-1].get("error", ""))
        shown += f"; last error: {last[:110]}"
    return shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="Only bombs whose name holds this text.")
    parser.add_argument(
        "--cli-limits", action="store_true", help="Keep the CLI's own limit defaults."
    )
    options = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="leakscan-bombs-") as temp:
        root = Path(temp)
        index = build_index(root)
        for name, make in bomb_factories.BOMBS.items():
            if options.only not in name:
                continue
            folder = root / f"bomb-{len(rows)}"
            folder.mkdir()
            started = time.perf_counter()
            bomb = make(folder)
            built = time.perf_counter() - started
            info = os.stat(bomb)
            alone = direct(bomb)
            result = scan(bomb, index, options.cli_limits)
            how = "CLI"
            if not result["ok"]:
                stderr = str(result["stderr"]).strip().splitlines()
                why = stderr[-1][:60] if stderr else f"exit {result['returncode']}"
                how = f"read_archive (CLI failed: {why})"
                result = alone
                errors = list(result.get("errors") or [])  # type: ignore[call-overload]
                outcome = f"{result['members']} members, {result['refused']} refused" + (
                    f"; error: {str(errors[-1])[:110]}" if errors else ""
                )
            else:
                outcome = outcome_of(result["records"])  # type: ignore[arg-type]
            rows.append(
                (
                    name,
                    f"{info.st_size / 1e6:,.1f} MB",
                    f"{info.st_blocks * 512 / 1e6:,.2f} MB",
                    f"{built:.2f}",
                    f"{float(alone['seconds']):.2f}",  # type: ignore[arg-type]
                    f"{int(alone['max_rss_kib']) / 1024:,.0f}",  # type: ignore[call-overload]
                    f"{float(result['seconds']):.2f}",  # type: ignore[arg-type]
                    f"{int(result['max_rss_kib']) / 1024:,.0f}",  # type: ignore[call-overload]
                    how,
                    outcome,
                )
            )
            bomb.unlink()
    limits = "CLI defaults" if options.cli_limits else "--max-archive-size 400 --max-depth 17"
    print(
        f"Bombs refused by `leakscan scan --format jsonl` ({limits}), one fresh process each; "
        "`read_archive` columns: the archive reader alone (nested archives opened as the "
        "scanner does), in its own process.\n"
    )
    header = (
        "bomb",
        "apparent size",
        "on disk",
        "build s",
        "read_archive s",
        "read_archive RSS MiB",
        "scan wall s",
        "scan peak RSS MiB",
        "timed through",
        "outcome",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")


if __name__ == "__main__":
    main()
