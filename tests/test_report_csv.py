"""The CSV report: the example's findings through Python's csv module and back, Urdu intact."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from leakscan import Index, build
from leakscan.cli import EXIT_ERROR, EXIT_FINDINGS, cli
from leakscan.records import Finding, LeadRecord, Passage
from leakscan.report import CsvWriter, ReportOptions
from leakscan.report.csv import FINDING_COLUMNS, PASSAGE_COLUMNS
from tests import report_helpers

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _leakscan(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example scanned twice by the CLI: as JSONL, and as CSV with a passage file."""
    work = tmp_path_factory.mktemp("csv-report")
    with Index.create(work / "index.sqlite") as index:
        build(index, [EXAMPLES / "archive"])
    index = work / "index.sqlite"
    for output, extra in (
        ("findings.jsonl", ("--format", "jsonl")),
        ("findings.csv", ("--format", "csv", "--csv-passages", work / "passages.csv")),
    ):
        result = _leakscan(
            "scan", EXAMPLES / "export", "--index", index, "-o", work / output, *extra
        )
        assert result.exit_code == EXIT_FINDINGS, result.output
    return work


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _findings(path: Path) -> list[dict[str, object]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r["type"] == "finding"]


def test_csv_files_start_with_a_byte_order_mark(scanned: Path) -> None:
    for name in ("findings.csv", "passages.csv"):
        assert (scanned / name).read_bytes().startswith(b"\xef\xbb\xbf" + b"finding,")


def test_one_row_per_finding_with_the_jsonl_fields(scanned: Path) -> None:
    rows = _rows(scanned / "findings.csv")
    findings = _findings(scanned / "findings.jsonl")
    assert len(rows) == len(findings) == 13  # two of them read by OCR
    assert tuple(rows[0]) == FINDING_COLUMNS
    for row, finding in zip(rows, findings, strict=True):
        assert set(finding) - {"type"} <= set(FINDING_COLUMNS)
        for key, value in finding.items():
            if key in ("type", "passages"):
                continue
            if isinstance(value, list | dict):  # lists, and the ocr object
                assert json.loads(row[key]) == value
            elif isinstance(value, bool):
                assert row[key] == ("true" if value else "false")
            elif isinstance(value, int | float):
                assert float(row[key]) == value
            else:
                assert row[key] == value
        assert int(row["passages"]) == len(finding["passages"])  # type: ignore[arg-type]


def test_one_row_per_passage_with_urdu_intact(scanned: Path) -> None:
    rows = _rows(scanned / "passages.csv")
    findings = _findings(scanned / "findings.jsonl")
    expected = [
        (number, index, passage)
        for number, finding in enumerate(findings, start=1)
        for index, passage in enumerate(finding["passages"], start=1)  # type: ignore[arg-type]
    ]
    assert tuple(rows[0]) == PASSAGE_COLUMNS and len(rows) == len(expected)
    for row, (number, index, passage) in zip(rows, expected, strict=True):
        assert (int(row["finding"]), int(row["passage"])) == (number, index)
        assert row["text"] == passage["text"] and row["text_cut"] == "false"
        assert int(row["source_start"]) == passage["source_start"]
    # words from the middle of the pasted Urdu paragraph (its ends move with the index's key)
    urdu = [r["text"] for r in rows if "ہر کشتی کو ایک دھاتی پلیٹ" in r["text"]]
    assert urdu and all("\ufffd" not in text for text in urdu)


def test_formula_like_names_are_defused_and_long_texts_cut() -> None:
    text = "=cmd|' /C calc'!A0 " + "word " * 10_000
    finding = Finding(
        suspect="@SUM(1+1).txt",
        suspect_sha256="0" * 64,
        source="+memo.txt",
        source_sha256="1" * 64,
        kind="excerpt",
        score=0.9,
        containment=0.5,
        coverage=0.5,
        simhash_distance=3,
        matched_tokens=10,
        passages=(Passage(0, len(text), 0, 10, text, 10),),
        sender="-Bilal",
    )
    out, passages = io.StringIO(), io.StringIO()
    writer = CsvWriter(out, ReportOptions(csv_passages=passages))
    writer.write(finding)
    writer.close()
    [row] = list(csv.DictReader(io.StringIO(out.getvalue().lstrip("\ufeff"))))
    assert (row["suspect"], row["source"], row["sender"]) == (
        "'@SUM(1+1).txt",
        "'+memo.txt",
        "'-Bilal",
    )
    assert row["score"] == "0.9"
    [passage] = list(csv.DictReader(io.StringIO(passages.getvalue().lstrip("\ufeff"))))
    assert passage["text"].startswith("'=cmd") and passage["text_cut"] == "true"
    assert len(passage["text"]) <= 32_001


def test_report_command_writes_the_same_csv_again(scanned: Path, tmp_path: Path) -> None:
    result = _leakscan(
        "report",
        scanned / "findings.jsonl",
        "--format",
        "csv",
        "-o",
        tmp_path / "a.csv",
        "--csv-passages",
        tmp_path / "p.csv",
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a.csv").read_bytes() == (scanned / "findings.csv").read_bytes()
    assert (tmp_path / "p.csv").read_bytes() == (scanned / "passages.csv").read_bytes()


def test_csv_passages_without_csv_format_is_a_usage_error(scanned: Path, tmp_path: Path) -> None:
    result = _leakscan(
        "scan",
        EXAMPLES / "export" / "Desktop",
        "--index",
        scanned / "index.sqlite",
        "--csv-passages",
        tmp_path / "p.csv",
    )
    assert result.exit_code == EXIT_ERROR
    assert "--csv-passages needs --format csv" in result.output
    assert not (tmp_path / "p.csv").exists()


#: The columns before leads and weighted evidence came: they keep their places.
COLUMNS_BEFORE_LEADS = (
    "finding",
    "suspect",
    "suspect_sha256",
    "member_sha256",
    "source",
    "source_sha256",
    "kind",
    "score",
    "containment",
    "coverage",
    "simhash_distance",
    "matched_tokens",
    "passages",
    "source_also_at",
    "sender",
    "sent_at",
    "conversation",
    "from_me",
    "deleted",
    "app",
    "sent_in",
    "messages",
    "attachment",
    "attachment_pages",
    "device_path",
    "source_label",
    "message_text",
    "ocr",
)


def test_new_columns_come_after_the_old_ones() -> None:
    assert FINDING_COLUMNS[: len(COLUMNS_BEFORE_LEADS)] == COLUMNS_BEFORE_LEADS
    assert FINDING_COLUMNS[len(COLUMNS_BEFORE_LEADS) :] == (
        "type",
        "evidence",
        "discounted_tokens",
        "matches",
        "senders",
        "below_min_score",
    )


@pytest.fixture(scope="module")
def lead_scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report_helpers.lead_case scanned by the CLI with --min-score 0.7, as JSONL and CSV."""
    work = tmp_path_factory.mktemp("csv-leads")
    archive, export = report_helpers.lead_case(work)
    with Index.create(work / "index.sqlite") as index:
        build(index, [archive])
    for output, extra in (
        ("findings.jsonl", ("--format", "jsonl")),
        ("findings.csv", ("--format", "csv", "--csv-passages", work / "passages.csv")),
    ):
        result = _leakscan(
            "scan", export, "--index", work / "index.sqlite", "--min-score", "0.7", "-o",
            work / output, *extra,
        )  # fmt: skip
        assert result.exit_code == EXIT_FINDINGS, result.output
    return work


def test_a_lead_is_a_row_of_type_lead(lead_scan: Path) -> None:
    rows = _rows(lead_scan / "findings.csv")
    saved = [
        json.loads(line) for line in (lead_scan / "findings.jsonl").read_text("utf-8").splitlines()
    ]
    [lead] = [r for r in saved if r["type"] == "lead"]
    [finding] = _findings(lead_scan / "findings.jsonl")
    assert sorted(r["type"] for r in rows) == ["finding", "lead"]
    [lead_row] = [r for r in rows if r["type"] == "lead"]
    [finding_row] = [r for r in rows if r["type"] == "finding"]
    for key in ("suspect", "suspect_sha256", "source", "source_sha256"):
        assert lead_row[key] == lead[key]
    assert float(lead_row["score"]) == lead["score"]
    assert float(lead_row["evidence"]) == lead["evidence"]
    assert json.loads(lead_row["matches"]) == lead["matches"]
    assert json.loads(lead_row["senders"]) == lead["senders"]
    assert "<script>" in lead_row["senders"]  # a spreadsheet shows text as text: kept as it was
    assert lead_row["below_min_score"] == "3"
    # what a lead does not have stays empty: no number, no passages, no kind
    assert lead_row["finding"] == lead_row["passages"] == lead_row["kind"] == ""
    assert finding_row["finding"] == "1" and int(finding_row["passages"]) >= 1
    assert float(finding_row["evidence"]) == finding["evidence"]
    assert int(finding_row["discounted_tokens"]) == finding["discounted_tokens"]
    assert finding_row["matches"] == finding_row["below_min_score"] == ""
    passages = _rows(lead_scan / "passages.csv")
    assert {p["finding"] for p in passages} == {"1"}  # only the finding has passage rows


def test_report_command_writes_the_same_csv_with_leads_again(
    lead_scan: Path, tmp_path: Path
) -> None:
    result = _leakscan(
        "report", lead_scan / "findings.jsonl", "--format", "csv", "-o", tmp_path / "a.csv"
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a.csv").read_bytes() == (lead_scan / "findings.csv").read_bytes()


def test_formula_like_values_of_a_lead_are_defused() -> None:
    lead = LeadRecord(
        suspect="=HYPERLINK(1).txt",
        suspect_sha256="0" * 64,
        source="@memo.txt",
        source_sha256="1" * 64,
        score=0.8,
        evidence=9.0,
        matches=("=HYPERLINK(1).txt#L2",),
        senders=("-Bilal",),
        source_label="+label",
    )
    out = io.StringIO()
    writer = CsvWriter(out)
    writer.write(lead)
    writer.close()
    [row] = list(csv.DictReader(io.StringIO(out.getvalue().lstrip("\ufeff"))))
    assert (row["suspect"], row["source"], row["source_label"]) == (
        "'=HYPERLINK(1).txt",
        "'@memo.txt",
        "'+label",
    )
    assert json.loads(row["senders"]) == ["-Bilal"]  # JSON text starts with "[": no formula
    assert row["type"] == "lead" and row["below_min_score"] == "0"
