"""The HTML report: the bundled example rendered, its sources quoted from the archive on disk,
opened in real headless Chromium; hostile names and saved streams; 10,000 findings."""

from __future__ import annotations

import hashlib
import html
import io
import json
import os
import re
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from leakscan import Index, Scanner, build
from leakscan.cli import EXIT_ERROR, EXIT_FINDINGS, cli
from leakscan.records import Finding, Passage, Record, Summary
from leakscan.report import HtmlWriter, ReportOptions
from leakscan.report.saved import read_records
from tests import report_helpers
from tests.texts import prose

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CHANGED = "sources/informant-handling-directive.txt"
#: Words of the example's Urdu boat memo pasted into a WhatsApp message, and of its
#: English port surveillance plan copied whole as a PDF: from the middle of each passage,
#: whose ends move by a few words with the index's random key (winnowing).
URDU_WORDS = "ہر کشتی کو ایک دھاتی پلیٹ بھی دی جائے گی"
ENGLISH_WORDS = "Covert surveillance of the Old Fish Market jetty"

needs_chromium = pytest.mark.skipif(
    report_helpers.chromium() is None,
    reason="Chromium is not installed (Debian package chromium): the report is not opened "
    "in a browser",
)


def _leakscan(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def _text(page: str) -> str:
    """The visible text of an HTML page, roughly: tags out, entities decoded, spaces folded."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example archive copied and indexed, one of its files changed afterwards, the
    example export scanned by the real CLI into JSONL and an HTML report beside it."""
    work = tmp_path_factory.mktemp("example-report")
    archive = work / "archive"
    shutil.copytree(EXAMPLES / "archive", archive)
    with Index.create(work / "index.sqlite") as index:
        assert not build(index, [archive]).errors
    with (archive / CHANGED).open("a", encoding="utf-8") as changed:
        changed.write("\nAmended after the index was built.\n")
    result = CliRunner().invoke(
        cli,
        [
            "scan",
            str(EXAMPLES / "export"),
            "--index",
            str(work / "index.sqlite"),
            "--format",
            "jsonl",
            "-o",
            str(work / "findings.jsonl"),
            "--report",
            str(work / "report.html"),
            "--case",
            "HARBOUR-17",
            "--examiner",
            "Insp. Farah Malik",
            "--note",
            "Laptop and phone of a harbour clerk <b>seized</b> 6 March",
        ],
    )
    assert result.exit_code == EXIT_FINDINGS, result.output
    return work


def _finding_block(page: str, suspect_tail: str) -> str:
    """The HTML of the one finding whose suspect ends with ``suspect_tail``."""
    blocks = re.findall(r'<details class="finding".*?</details>', page, flags=re.S)
    wanted = html.escape(suspect_tail) + "</bdi>"
    [block] = [b for b in blocks if wanted in b.split("</summary>", 1)[0]]
    return block


def test_report_has_the_case_the_run_and_the_counts(example: Path) -> None:
    page = (example / "report.html").read_text(encoding="utf-8")
    text = _text(page)
    assert "HARBOUR-17" in text and "Insp. Farah Malik" in text
    assert "&lt;b&gt;seized&lt;/b&gt;" in page  # the note is text, not markup
    summary = json.loads((example / "findings.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert summary["type"] == "summary"
    for value in (summary["index"]["index_id"], summary["index"]["key_id"], summary["run"]["host"]):
        assert value in text
    assert summary["run"]["targets"] == [
        {
            "path": str(EXAMPLES / "export"),
            "absolute": str(EXAMPLES / "export"),
            "kind": "folder",
        }
    ]
    assert summary["run"]["case"] == "HARBOUR-17"
    assert f"{summary['findings']} findings" in text


def test_sources_are_quoted_from_the_archive_after_their_hash_is_checked(example: Path) -> None:
    page = (example / "report.html").read_text(encoding="utf-8")
    boat = (example / "archive" / "urdu" / "boat-registration-memo.txt").read_text("utf-8")
    block = _finding_block(page, "WhatsApp Chat with Imran Qureshi.txt#L12")
    sides = re.findall(r'<div class="text"( lang="ur")? dir="auto">(.*?)</div>', block, re.S)
    assert len(sides) == 2 and all(lang for lang, _ in sides)
    quoted = html.unescape(re.sub(r"</?mark>", "", sides[1][1]))
    assert quoted in boat and len(quoted.split()) >= 60  # the source's own words, re-read
    assert "<mark>" in sides[1][1]
    assert "its sha256 matches the indexed document" in page


def test_a_source_changed_since_indexing_is_not_quoted(example: Path) -> None:
    page = (example / "report.html").read_text(encoding="utf-8")
    section = page.split(html.escape(CHANGED) + "</bdi></h3>", 1)[1].split("</section>", 1)[0]
    assert "not quoted: " in section and "changed since it was indexed" in section
    # every passage of that source shows the suspect's side only, and says why
    pairs = section.count('<div class="pair">')
    assert pairs == 3  # the letter's paragraph, WhatsApp's message, the phone database's
    assert section.count('<div class="text"') == pairs
    assert section.count('<div class="unquoted">not quoted') == pairs


def test_a_moved_archive_is_found_with_archive_dir(example: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(example / "archive", moved)
    os.rename(example / "archive", example / "archive-away")
    try:
        for extra, expect in (([], "not found"), (["--archive", str(moved)], "re-read from")):
            out = tmp_path / "again.html"
            result = _leakscan(
                "report",
                example / "findings.jsonl",
                "-o",
                out,
                "--index",
                example / "index.sqlite",
                *extra,
            )
            assert result.exit_code == 0, result.output
            page = out.read_text(encoding="utf-8")
            section = page.split("urdu/boat-registration-memo.txt</bdi></h3>", 1)[1]
            assert expect in section.split("</table>", 1)[0]
    finally:
        os.rename(example / "archive-away", example / "archive")


def test_report_command_renders_the_saved_stream_again(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "again.html"
    result = _leakscan(
        "report", example / "findings.jsonl", "-o", out, "--index", example / "index.sqlite"
    )
    assert result.exit_code == 0, result.output
    first, again = (
        _text((example / "report.html").read_text("utf-8")),
        _text(out.read_text("utf-8")),
    )
    drop = re.compile(r"Report made \S+|at \d{4}-\d\d-\d\dT\S+")
    assert drop.sub("", first) == drop.sub("", again)


def test_a_message_finding_shows_the_whole_message(example: Path) -> None:
    """Beside its passages, a chat or database message is shown whole, as the app kept it."""
    findings = [
        json.loads(line)
        for line in (example / "findings.jsonl").read_text("utf-8").splitlines()
        if '"finding"' in line
    ]
    [pasted] = [f for f in findings if f["suspect"].endswith("msgstore.db#message=3")]
    whole = pasted["message_text"]
    assert whole.startswith("6. Payments.") and len(whole.split()) > pasted["matched_tokens"] - 5
    page = _text((example / "report.html").read_text("utf-8"))
    assert " ".join(whole.split()) in page


def test_what_was_not_examined_is_listed_by_type_and_item(example: Path) -> None:
    page = (example / "report.html").read_text(encoding="utf-8")
    part = _text(page.split('id="not-examined"', 1)[1])
    assert "application/octet-stream — 1 item" in part and "notes.bin" in part
    assert "corrupt or truncated PDF — 1 item" in part and "broken.pdf" in part


def test_the_report_loads_nothing_from_anywhere(example: Path) -> None:
    page = (example / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page
    assert page.count("<script") == 1


@needs_chromium
def test_chromium_shows_english_and_urdu_findings_without_console_errors(example: Path) -> None:
    opened = report_helpers.open_page(example / "report.html")
    assert opened.console == []
    dom = _text(opened.dom)
    assert ENGLISH_WORDS in dom and URDU_WORDS in dom
    assert '<span id="shown" class="muted small">13 findings</span>' in opened.dom  # it ran
    assert re.search(
        r'<div class="text" lang="ur" dir="auto">(?:(?!</div>).)*<mark>', opened.dom, re.S
    )


@needs_chromium
def test_chromium_without_javascript_still_shows_the_findings(example: Path) -> None:
    # Headless Chromium cannot dump a page with scripts switched off, so the copy's own
    # policy forbids them: the browser refuses the report's script (and says so).
    page = (example / "report.html").read_text(encoding="utf-8")
    assert "script-src 'unsafe-inline'" in page
    no_script = example / "report-no-script.html"
    no_script.write_text(page.replace("script-src 'unsafe-inline'", "script-src 'none'"), "utf-8")
    opened = report_helpers.open_page(no_script)
    assert (
        len(opened.console) == 1
        and "violates the following Content Security Policy" in opened.console[0]
    )
    assert 'id="controls" hidden' in opened.dom  # the script's controls stay out of the way
    assert '<span id="shown" class="muted small"></span>' in opened.dom
    dom = _text(opened.dom)
    assert ENGLISH_WORDS in dom and URDU_WORDS in dom
    assert opened.dom.count('<details class="finding"') == 13


@needs_chromium
def test_screenshot_of_the_report_is_not_blank(example: Path) -> None:
    from PIL import Image, ImageStat

    png = example / "report.png"
    shot = report_helpers.screenshot(example / "report.html", png, 1400, 3200)
    assert shot.console == []
    with Image.open(png) as image:
        grey = image.convert("L")
        assert grey.size == (1400, 3200)
        assert ImageStat.Stat(grey).stddev[0] > 20  # text on a page, not one flat colour
        colours = image.convert("RGB").getcolors(1 << 20) or []
        assert len(colours) > 50  # antialiased text, marks, borders
        assert any(c[1] == (255, 226, 122) for c in colours)  # the marked words' colour


def _finding(suspect: str, text: str, source: str = "memo.txt", sha: str = "0" * 64) -> Finding:
    return Finding(
        suspect=suspect,
        suspect_sha256="1" * 64,
        source=source,
        source_sha256=sha,
        kind="excerpt",
        score=0.9,
        containment=0.5,
        coverage=0.5,
        simhash_distance=10,
        matched_tokens=40,
        passages=(Passage(0, len(text), 0, 40, text, 40),),
    )


def _render(records: Sequence[Record], options: ReportOptions | None = None) -> str:
    out = io.StringIO()
    writer = HtmlWriter(out, options)
    for record in records:
        writer.write(record)
    writer.close()
    return out.getvalue()


def test_hostile_names_and_text_cannot_write_markup_or_reorder_the_page() -> None:
    name = 'export/<script>alert(1)</script>\u202egnp.exe"><img src=x>.txt'
    text = "harbour \x1b[31m plan </div><script>alert(2)</script> \u202e reversed"
    page = _render([_finding(name, text, source="<b>memo</b>.txt"), Summary(findings=1)])
    assert page.count("<script") == 1  # the report's own
    assert "<img" not in page and "<b>memo" not in page
    assert "\u202e" not in page  # shown as an escape in names, left out (and counted) in text
    assert "\\u202egnp.exe" in page
    assert '<span class="ctl" title="control character">\\x1b</span>' in page
    assert "1 bidirectional control character(s) in this text are not shown" in page


def test_a_source_path_from_an_edited_stream_cannot_leave_the_archive(tmp_path: Path) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text(prose(3, 80), encoding="utf-8")
    archive = tmp_path / "archive"
    archive.mkdir()
    sha = hashlib.sha256(secret.read_bytes()).hexdigest()
    page = _render(
        [_finding("export/a.txt", prose(3, 40), "../outside.txt", sha)],
        ReportOptions(archive_dirs=(str(archive),)),
    )
    assert "its path leaves the archive folder" in page
    assert page.count('<div class="text"') == 1  # the suspect's side only


def test_a_source_inside_an_archive_member_is_quoted(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    memo = prose(41, 400)
    with zipfile.ZipFile(archive / "memos.zip", "w") as bundle:
        bundle.writestr("2024/harbour memo.txt", memo)
    export = tmp_path / "export"
    export.mkdir()
    (export / "copy.txt").write_text(memo[:2000], encoding="utf-8")
    with Index.create(tmp_path / "index.sqlite") as index:
        build(index, [archive])
        records = list(Scanner(index).scan([export]))
        page = _render(records, ReportOptions(index=index))
    [finding] = [r for r in records if isinstance(r, Finding)]
    assert finding.source == "memos.zip!2024/harbour memo.txt"
    assert "memos.zip!2024/harbour memo.txt</bdi>; its sha256 matches" in page
    sides = re.findall(r'<div class="text" dir="auto">(.*?)</div>', page, re.S)
    assert html.unescape(re.sub("</?mark>", "", sides[1])) in memo


def test_a_cut_stream_renders_with_a_warning(example: Path, tmp_path: Path) -> None:
    lines = (example / "findings.jsonl").read_text(encoding="utf-8").splitlines()[:-1]
    page = _render(list(read_records(lines)))
    assert "No summary record" in page and "informant-handling-directive.txt" in page


def test_report_command_refuses_a_stream_that_is_not_records(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "summary"}\nnot json\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", str(bad), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == EXIT_ERROR
    assert "line 2: not JSON" in result.output
    bad.write_text('{"type": "finding", "suspect": "a"}\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", str(bad), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == EXIT_ERROR and "line 1: a finding record" in result.output


def test_an_unwritable_report_path_stops_the_scan_with_one_line(example: Path) -> None:
    result = _leakscan(
        "scan",
        EXAMPLES / "export" / "Desktop",
        "--index",
        example / "index.sqlite",
        "--report",
        example / "no" / "such" / "folder" / "r.html",
    )
    assert result.exit_code == EXIT_ERROR
    assert result.output.strip().startswith("leakscan: error: cannot write")
    assert "Traceback" not in result.output


def test_file_targets_are_recorded_with_their_sha256(example: Path, tmp_path: Path) -> None:
    copied = EXAMPLES / "export" / "Documents" / "creek_notes.txt"
    clean = EXAMPLES / "export" / "Documents" / "kasimabad_herald_article.txt"
    out = tmp_path / "f.jsonl"
    result = _leakscan(
        "scan", copied, clean, "--index", example / "index.sqlite", "--format", "jsonl", "-o", out
    )
    assert result.exit_code == EXIT_FINDINGS, result.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    finding, summary = records
    first, second = summary["run"]["targets"]
    assert first["kind"] == second["kind"] == "file"
    assert first["sha256"] == finding["suspect_sha256"]  # the hash the scan took
    assert second["sha256"] == hashlib.sha256(clean.read_bytes()).hexdigest()  # hashed at the end
    assert (first["size"], second["size"]) == (copied.stat().st_size, clean.stat().st_size)


@pytest.mark.slow
@needs_chromium
def test_ten_thousand_findings_open_in_chromium(tmp_path: Path) -> None:
    records = report_helpers.synthetic_records(tmp_path / "archive", 10_000)
    page = tmp_path / "many.html"
    with page.open("w", encoding="utf-8") as out:
        writer = HtmlWriter(out, ReportOptions(archive_dirs=(str(tmp_path / "archive"),)))
        for record in records:
            writer.write(record)
        writer.close()
    source = page.read_text(encoding="utf-8")
    assert source.count('class="finding"') == 10_000
    # the strongest 1000 and the strongest three of each of the 40 sources, with passages
    assert 1000 <= source.count('<details class="finding"') <= 1120
    assert source.count("<mark>") > 1000
    seconds = report_helpers.load_seconds(page)
    assert seconds < 20, f"10,000 findings took {seconds:.1f} s to load"
    opened = report_helpers.open_page(page)
    assert opened.console == []
    assert '<span id="shown" class="muted small">10000 findings</span>' in opened.dom
