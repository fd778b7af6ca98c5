"""Make docs/report.png: the HTML report of the bundled example, as headless Chromium shows it.

Run by hand after a change to the report's look::

    .venv/bin/python docs/make_report_screenshot.py

The example archive and export are copied to a temporary folder, the archive
indexed and the export scanned by the real CLI (``--report``); the picture
is the top of the report (case, run, counts, targets) above the first Urdu
finding with its source quoted beside it. Only the times, the temporary
folder's name and the index id change from one run to the next.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from PIL import Image  # noqa: E402

from leakscan import Index, build  # noqa: E402
from leakscan.cli import cli  # noqa: E402
from tests import report_helpers  # noqa: E402

WIDTH = 1400
#: Finds, in a copy of the report, where the parts to show begin and end on the page; the copy
#: lays out every finding at once, so the places hold in a window of any height.
_PLACES = """<style>details.finding { content-visibility: visible !important; }</style><script>
(function () {
  function y(element, end) {
    var box = element.getBoundingClientRect();
    return Math.round((end ? box.bottom : box.top) + window.scrollY);
  }
  var urdu = document.querySelector("details.finding[open] .text[lang=ur]").closest("section");
  var places = {
    findings: y(document.getElementById("findings"), false),
    urdu_top: y(urdu, false),
    urdu_end: y(urdu.querySelector("details.finding"), true),
    height: document.documentElement.scrollHeight
  };
  document.body.setAttribute("data-places", JSON.stringify(places));
}());
</script></body>"""


def _scan(work: Path) -> Path:
    with Index.create(work / "index.sqlite") as index:
        build(index, [work / "archive"])
    arguments = [
        "scan",
        "export",
        "--index",
        "index.sqlite",
        "--format",
        "jsonl",
        "-o",
        "findings.jsonl",
        "--report",
        "report.html",
        "--case",
        "HARBOUR-17 (example)",
        "--examiner",
        "Insp. Farah Malik",
        "--note",
        "Laptop and phone of a harbour clerk, seized 6 March.",
    ]
    here = os.getcwd()
    os.chdir(work)
    sys.argv = ["leakscan", *arguments]
    try:
        with contextlib.suppress(SystemExit):
            cli.main(arguments, prog_name="leakscan")
    finally:
        os.chdir(here)
    return work / "report.html"


def main() -> None:
    if report_helpers.chromium() is None:
        sys.exit("Chromium is not installed (Debian package chromium)")
    with tempfile.TemporaryDirectory(prefix="leakscan-example-") as folder:
        work = Path(folder)
        shutil.copytree(REPO / "examples" / "archive", work / "archive")
        shutil.copytree(REPO / "examples" / "export", work / "export")
        report = _scan(work)
        measured = work / "measured.html"
        measured.write_text(report.read_text("utf-8").replace("</body>", _PLACES), "utf-8")
        opened = report_helpers.open_page(measured, f"--window-size={WIDTH},1000")
        found = re.search(r'data-places="([^"]+)"', opened.dom)
        assert found, f"the report did not say where its parts are: {opened.console}"
        places = json.loads(found.group(1).replace("&quot;", '"'))
        png = work / "report.png"
        report_helpers.screenshot(measured, png, WIDTH, places["height"])
        with Image.open(png) as page:
            top = page.crop((0, 0, WIDTH, places["findings"]))
            urdu = page.crop((0, places["urdu_top"], WIDTH, places["urdu_end"] + 16))
            picture = Image.new("RGB", (WIDTH, top.height + urdu.height + 12), "#8a94a0")
            picture.paste(top, (0, 0))
            picture.paste(urdu, (0, top.height + 12))
            picture.save(DOCS / "report.png", optimize=True)
    print(f"wrote {DOCS / 'report.png'} ({picture.width}x{picture.height})")


if __name__ == "__main__":
    main()
