"""How long the HTML report of many findings takes to render, and to open in Chromium.

Run by hand, never by the test suite::

    .venv/bin/python benchmarks/report.py                  # 10,000 findings
    .venv/bin/python benchmarks/report.py --findings 2000 --details 0

The findings are synthetic (tests/report_helpers.py): 1-3 passages each,
cut from 40 generated source files (a quarter Urdu) written to a temporary
archive, so the report reads and quotes every source as it would a real
one. Measured: rendering in Python (sources re-read and quoted, shared words
marked), the size of the file, and in headless Chromium the time from
asking for the page to its load event (median of ``--runs``, measured by a
page holding the report in a frame, so the browser's own start is left out),
the time a copy of the page takes, once parsed, to lay all of it out, to
scroll to its end and to open 500 findings, and the wall time of a
screenshot (browser start included). Printed as Markdown.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from leakscan.report import HtmlWriter, ReportOptions  # noqa: E402
from tests import report_helpers  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--findings", type=int, default=10_000)
    parser.add_argument("--details", type=int, default=ReportOptions().detailed)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leakscan-report-bench-") as folder:
        work = Path(folder)
        records = report_helpers.synthetic_records(work / "archive", args.findings)
        page = work / "report.html"
        started = time.monotonic()
        with page.open("w", encoding="utf-8") as out:
            options = ReportOptions(archive_dirs=(str(work / "archive"),), detailed=args.details)
            writer = HtmlWriter(out, options)
            for record in records:
                writer.write(record)
            writer.close()
        render = time.monotonic() - started
        rows = [
            ("findings", f"{args.findings:,}"),
            ("shown with passages", "all" if args.details <= 0 else f"{args.details:,}"),
            ("render (Python)", f"{render:.1f} s"),
            ("file size", f"{page.stat().st_size / 1e6:.1f} MB"),
        ]
        if report_helpers.chromium() is None:
            rows.append(("Chromium", "not installed: not opened"))
        else:
            loads = [report_helpers.load_seconds(page) for _ in range(args.runs)]
            shot = report_helpers.screenshot(page, work / "shot.png")
            timings = report_helpers.page_timings(page)
            rows += [
                (f"load event (median of {args.runs})", f"{statistics.median(loads):.2f} s"),
                ("load event (each run)", ", ".join(f"{s:.2f}" for s in loads)),
                (
                    "lay out the page (closed findings off screen are skipped)",
                    f"{timings['layout_ms']:.0f} ms",
                ),
                ("scroll to the end", f"{timings['scroll_ms']:.0f} ms"),
                ("open 500 findings and lay out again", f"{timings['open_500_ms']:.0f} ms"),
                ("page height", f"{timings['height_px']:,.0f} px"),
                ("screenshot, browser start included", f"{shot.seconds:.1f} s"),
                ("console messages", str(len(shot.console))),
            ]
        load = os.getloadavg()[0]
        rows.append(("machine", f"{os.cpu_count()} cores, load average {load:.1f} at the end"))
    print("| measure | value |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
