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
from leakscan.records import Finding, LeadRecord, Passage, Record, Summary
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


# -- leads, matches hidden by --min-score, discounted words ---------------------------


@pytest.fixture(scope="module")
def lead_scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report_helpers.lead_case scanned by the real CLI with --min-score 0.7: a lead (one
    of its senders hostile), a weak match hidden, and a finding whose letterhead was
    discounted; JSONL and the HTML report beside it."""
    work = tmp_path_factory.mktemp("lead-report")
    archive, export = report_helpers.lead_case(work)
    with Index.create(work / "index.sqlite") as index:
        assert not build(index, [archive]).errors
    result = _leakscan(
        "scan",
        export,
        "--index",
        work / "index.sqlite",
        "--min-score",
        "0.7",
        "--format",
        "jsonl",
        "-o",
        work / "findings.jsonl",
        "--report",
        work / "report.html",
    )
    assert result.exit_code == EXIT_FINDINGS, result.output
    return work


def _saved(work: Path, kind: str) -> list[dict[str, object]]:
    lines = (work / "findings.jsonl").read_text(encoding="utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r["type"] == kind]


def test_the_lead_case_gives_a_lead_a_hidden_match_and_discounted_words(lead_scan: Path) -> None:
    """What the other lead tests rely on: the scan itself made these records."""
    [lead] = _saved(lead_scan, "lead")
    [finding] = _saved(lead_scan, "finding")
    [summary] = _saved(lead_scan, "summary")
    assert lead["source"] == finding["source"] == "customs/quay-roster.txt"
    assert [str(m).rsplit("#", 1)[1] for m in lead["matches"]] == ["L2", "L3", "L4"]  # type: ignore[attr-defined]
    assert lead["senders"] == ["Imran", report_helpers.HOSTILE_SENDER.replace("\u202e", "")]
    assert lead["below_min_score"] == 3
    assert isinstance(finding["discounted_tokens"], int) and finding["discounted_tokens"] >= 20
    assert (summary["leads"], summary["hidden_findings"], summary["min_score"]) == (1, 1, 0.7)


def _section(page: str, anchor: str) -> str:
    return page.split(f'<h2 id="{anchor}">', 1)[1].split("<h2 ", 1)[0]


def _plain(page: str) -> str:
    """Visible text with lists read as lists (a tag closed before a comma adds no space)."""
    return _text(page).replace(" ,", ",")


def test_leads_hidden_matches_and_evidence_are_shown(lead_scan: Path) -> None:
    page = (lead_scan / "report.html").read_text(encoding="utf-8")
    [lead] = _saved(lead_scan, "lead")
    [finding] = _saved(lead_scan, "finding")
    counts = _text(page.split('<div class="counts">', 1)[1].split('</div>\n<div class="grid">')[0])
    assert "1 findings 1 lead " in counts
    assert "1 weaker match hidden by --min-score 0.7" in counts
    leads = _section(page, "leads")
    row = re.search(r'<tr class="lead" id="lead-1" data-score="([0-9.]+)">(.*?)</tr>', leads, re.S)
    assert row and float(row.group(1)) == lead["score"]
    cells = _plain(row.group(2))
    assert f"{lead['score']:.2f} customs/quay-roster.txt" in cells
    assert f"{lead['evidence']:.1f} weighted words" in cells
    assert "3 matches, 3 of them below --min-score on their own: line 2, line 3, line 4" in cells
    assert report_helpers.LEAD_CHAT in cells and lead["suspect_sha256"] in cells
    assert "Imran, Bilal" in cells
    # the lead's source has a finding too: each points at the other
    assert '<a href="#source-1"><bdi class="name">customs/quay-roster.txt</bdi></a>' in row.group(2)
    group = page.split('<section class="source" id="source-1">', 1)[1].split("</section>", 1)[0]
    assert '<tr><th>Leads</th><td><a href="#lead-1">lead 1</a>' in group
    block = _finding_block(page, "letter.txt")
    evidence = f"{finding['evidence']:.1f} weighted words; {finding['discounted_tokens']} matched"
    assert evidence in _text(block)
    assert "common in the archive (letterheads, standard clauses)" in _text(block)
    assert '(and <a href="#leads">1 lead</a> after them)' in page


def test_a_hostile_sender_in_a_lead_cannot_write_markup(lead_scan: Path) -> None:
    page = (lead_scan / "report.html").read_text(encoding="utf-8")
    assert page.count("<script") == 1 and "<img" not in page
    leads = _section(page, "leads")
    escaped = "Bilal &lt;script&gt;alert(&#34;lead&#34;)&lt;/script&gt;&lt;img src=x onerror"
    assert escaped in leads


def test_hostile_values_of_a_lead_record_are_escaped() -> None:
    """Straight from a (possibly edited) record: markup and bidi controls anywhere in a lead."""
    hostile = report_helpers.HOSTILE_SENDER
    lead = LeadRecord(
        suspect=f"export/{hostile}.txt",
        suspect_sha256="2" * 64,
        source="<b>memo</b>\u202e.txt",
        source_sha256="3" * 64,
        score=0.9,
        evidence=12.5,
        matches=(f"export/{hostile}.txt#L4", "other.mbox!<i>x</i>.eml"),
        senders=(hostile, "\u202eNaveed"),
        below_min_score=2,
        source_label="<u>label</u>",
    )
    page = _render([lead, Summary(leads=1)])
    leads = _section(page, "leads")
    assert page.count("<script") == 1
    assert "<img" not in page and not re.search(r"<(b|i|u)>", leads)
    assert "\u202e" not in page and "\\u202eNaveed" in leads and "\\u202egpj.exe" in leads
    assert "line 4, other.mbox!<i>x</i>.eml" in _plain(leads)
    assert "&lt;u&gt;label&lt;/u&gt;/" in leads
    assert 'href="#source-' not in leads  # its source has no findings here
    assert "No findings: no single match reaches --min-score" in page


def test_a_lead_with_many_matches_names_the_first_two_hundred() -> None:
    lead = LeadRecord(
        suspect="export/chat.txt",
        suspect_sha256="2" * 64,
        source="memo.txt",
        source_sha256="3" * 64,
        score=0.99,
        evidence=400.0,
        matches=tuple(f"export/chat.txt#L{n}" for n in range(1, 1001)),
    )
    leads = _section(_render([lead]), "leads")
    shown = _plain(leads)
    assert "line 199, line 200 and 800 more (the JSONL lists them all)" in shown
    assert "line 201" not in shown
    assert "1000 matches: line 1," in shown  # none below --min-score: no such clause


def test_report_command_renders_leads_again(lead_scan: Path, tmp_path: Path) -> None:
    out = tmp_path / "again.html"
    result = _leakscan("report", lead_scan / "findings.jsonl", "-o", out)
    assert result.exit_code == 0, result.output
    first, again = (lead_scan / "report.html").read_text("utf-8"), out.read_text("utf-8")
    assert _section(again, "leads") == _section(first, "leads")  # the same, rounding and all
    [lead], [finding] = _saved(lead_scan, "lead"), _saved(lead_scan, "finding")
    assert f'<tr class="lead" id="lead-1" data-score="{lead["score"]}">' in again
    assert "1 weaker match hidden by --min-score 0.7" in _text(again)
    assert f"{finding['discounted_tokens']} matched words counted as nothing" in _text(again)


@needs_chromium
def test_chromium_shows_the_lead_with_and_without_javascript(lead_scan: Path) -> None:
    page = (lead_scan / "report.html").read_text(encoding="utf-8")
    no_script = lead_scan / "report-no-script.html"
    no_script.write_text(page.replace("script-src 'unsafe-inline'", "script-src 'none'"), "utf-8")
    for path, console in ((lead_scan / "report.html", 0), (no_script, 1)):
        opened = report_helpers.open_page(path)
        assert len(opened.console) == console, opened.console
        dom = _plain(opened.dom)
        assert "Leads: weak matches added up" in dom
        assert "line 2, line 3, line 4" in dom and "1 weaker match hidden by --min-score 0.7" in dom
        assert opened.dom.count('<tr class="lead"') == 1
        assert "<script>alert" not in opened.dom  # the sender stayed text in the DOM too
    assert (
        '<span id="shown" class="muted small">1 findings</span>'
        in report_helpers.open_page(lead_scan / "report.html").dom
    )
