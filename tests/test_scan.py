"""Scanning files: records for every item, evidence untouched, workers equal to inline."""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

import docx
import pytest

from leakscan import (
    ErrorRecord,
    Finding,
    Index,
    Scanner,
    ScanOptions,
    SkippedRecord,
    Summary,
    build,
)
from leakscan.errors import ConfigurationError
from tests.texts import prose

KEY = b"s" * 32
SOURCE = prose(11, 600)


@pytest.fixture
def index_path(tmp_path: Path) -> Path:
    archive = tmp_path / "archive"
    (archive / "ops").mkdir(parents=True)
    (archive / "ops" / "plan.txt").write_text(SOURCE, encoding="utf-8")
    (archive / "other.txt").write_text(prose(12, 400), encoding="utf-8")
    location = tmp_path / "index.sqlite"
    with Index.create(location, key=KEY) as index:
        build(index, [archive])
    return location


def write_docx(path: Path, text: str) -> Path:
    document = docx.Document()
    for paragraph in text.split("\n\n"):
        document.add_paragraph(paragraph)
    document.save(str(path))
    return path


@pytest.fixture
def export(tmp_path: Path) -> Path:
    root = tmp_path / "export"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "copy.txt").write_text(SOURCE, encoding="utf-8")
    write_docx(root / "docs" / "as-word.docx", SOURCE)
    (root / "docs" / "renamed.dat").write_bytes((root / "docs" / "as-word.docx").read_bytes())
    (root / "letter.txt").write_text(
        prose(13, 200) + "\n\n" + " ".join(SOURCE.split(" ")[200:270]), encoding="utf-8"
    )
    (root / "innocent.txt").write_text(prose(14, 500), encoding="utf-8")
    (root / "fake.docx").write_bytes(b"PK\x03\x04 this is not really a zip")
    (root / "empty.txt").write_bytes(b"")
    (root / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (root / "image.png").write_bytes(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    )
    (root / "link.txt").symlink_to(root / "docs" / "copy.txt")
    os.mkfifo(root / "pipe")
    return root


def records_by_name(records: list[object]) -> dict[str, list[object]]:
    result: dict[str, list[object]] = {}
    for record in records:
        name = getattr(record, "suspect", None)
        if name is not None:
            result.setdefault(Path(name).name, []).append(record)
    return result


def test_every_item_is_scanned_skipped_or_in_error(index_path: Path, export: Path) -> None:
    with Index.open(index_path, readonly=True) as index:
        records = list(Scanner(index).scan([export]))
    summary = records[-1]
    assert isinstance(summary, Summary)
    by_name = records_by_name(records)
    kinds = {name: sorted(type(r).__name__ for r in rs) for name, rs in by_name.items()}
    assert kinds == {
        "copy.txt": ["Finding"],
        "as-word.docx": ["Finding"],
        "renamed.dat": ["Finding"],
        "letter.txt": ["Finding"],
        "fake.docx": ["ErrorRecord"],
        "empty.txt": ["SkippedRecord"],  # "empty file (0 bytes)": nothing wrong with it
        "binary.txt": ["ErrorRecord"],
        "image.png": ["ErrorRecord"],  # a PNG cut after its header: a damaged picture
        "link.txt": ["SkippedRecord"],
        "pipe": ["SkippedRecord"],
    }
    assert summary.items == 11  # innocent.txt: scanned, nothing found
    assert summary.items == summary.scanned + summary.skipped + summary.errors
    assert (summary.scanned, summary.skipped, summary.errors) == (5, 3, 3)
    assert summary.findings == 4 and summary.suspects_with_findings == 4
    assert summary.skipped_by_type == {"other": 3}
    assert summary.index["scheme"]["word_k"] == 5


def test_findings_name_the_source_and_hash_the_evidence(index_path: Path, export: Path) -> None:
    with Index.open(index_path, readonly=True) as index:
        findings = [r for r in Scanner(index).scan([export]) if isinstance(r, Finding)]
    source_sha = hashlib.sha256(SOURCE.encode()).hexdigest()
    for finding in findings:
        assert finding.source == "ops/plan.txt"
        assert finding.source_sha256 == source_sha
        on_disk = Path(finding.suspect).read_bytes()
        assert finding.suspect_sha256 == hashlib.sha256(on_disk).hexdigest()
        assert finding.suspect.startswith(str(export))
    kinds = {Path(f.suspect).name: f.kind for f in findings}
    assert kinds == {
        "copy.txt": "exact-copy",
        "as-word.docx": "exact-copy",
        "renamed.dat": "exact-copy",
        "letter.txt": "excerpt",
    }


def test_error_records_are_one_actionable_line(index_path: Path, export: Path) -> None:
    with Index.open(index_path, readonly=True) as index:
        errors = {
            Path(r.suspect).name: r.error
            for r in Scanner(index).scan([export])
            if isinstance(r, ErrorRecord)
        }
    assert "not a valid DOCX" in errors["fake.docx"]
    assert "empty.txt" not in errors  # skipped, not an error
    assert "NUL bytes" in errors["binary.txt"]
    assert all("\n" not in message for message in errors.values())


def _snapshot(root: Path) -> dict[str, tuple[bytes, int, int]]:
    result = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        content = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
        result[str(path)] = (content, info.st_mtime_ns, info.st_mode)
    return result


def test_evidence_is_not_modified(index_path: Path, export: Path) -> None:
    before = _snapshot(export)
    with Index.open(index_path, readonly=True) as index:
        list(Scanner(index).scan([export]))
    assert _snapshot(export) == before


def test_worker_processes_give_the_same_records(index_path: Path, export: Path) -> None:
    with Index.open(index_path, readonly=True) as index:
        inline = [r.to_dict() for r in Scanner(index).scan([export])]
        pooled = [r.to_dict() for r in Scanner(index, ScanOptions(jobs=2)).scan([export])]
    for records in (inline, pooled):
        records[-1].pop("elapsed_seconds")
    assert pooled == inline


def test_large_files_are_skipped_by_rule(index_path: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text(SOURCE * 3, encoding="utf-8")
    with Index.open(index_path, readonly=True) as index:
        records = list(Scanner(index, ScanOptions(max_file_bytes=1000)).scan([big]))
    assert isinstance(records[0], SkippedRecord) and "limit" in records[0].reason


def test_missing_target_is_a_usage_error(index_path: Path, tmp_path: Path) -> None:
    with Index.open(index_path, readonly=True) as index, pytest.raises(ConfigurationError):
        list(Scanner(index).scan([tmp_path / "nowhere"]))


def test_socket_is_never_opened(index_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "sock"
    folder.mkdir()
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "s"))
    try:
        with Index.open(index_path, readonly=True) as index:
            records = list(Scanner(index).scan([folder]))
    finally:
        server.close()
    assert isinstance(records[0], SkippedRecord) and "socket" in records[0].reason


def test_undecodable_file_names_are_reported_escaped(index_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "names"
    folder.mkdir()
    raw_name = os.fsencode(folder) + b"/bad-\xff-name.txt"
    with open(raw_name, "wb") as handle:
        handle.write(SOURCE.encode())
    with Index.open(index_path, readonly=True) as index:
        findings = [r for r in Scanner(index).scan([folder]) if isinstance(r, Finding)]
    assert len(findings) == 1 and "\\xff" in findings[0].suspect


def test_library_scan_function_yields_records_and_summary(index_path: Path, export: Path) -> None:
    import leakscan

    records = list(leakscan.scan(export / "docs", index=index_path))
    assert isinstance(records[-1], Summary)
    assert sum(isinstance(r, Finding) for r in records) == 3


def test_sparse_multi_gigabyte_file_is_skipped_unread(index_path: Path, tmp_path: Path) -> None:
    import resource

    sparse = tmp_path / "disk.img"
    with open(sparse, "wb") as handle:
        handle.truncate(6 << 30)  # 6 GiB, no blocks on disk
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with Index.open(index_path, readonly=True) as index:
        records = list(Scanner(index).scan([sparse]))
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert isinstance(records[0], SkippedRecord) and "limit" in records[0].reason
    assert grown_mib < 200, "the file was not read into memory"


def test_symlink_loops_and_links_out_of_the_target_are_not_followed(
    index_path: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SOURCE, encoding="utf-8")
    target = tmp_path / "target"
    (target / "a").mkdir(parents=True)
    (target / "a" / "loop").symlink_to(target)  # a folder loop
    (target / "a" / "escape").symlink_to(outside)  # out of the target
    (target / "a" / "self").symlink_to(target / "a" / "self")  # a link to itself
    (target / "note.txt").write_text(prose(21, 50), encoding="utf-8")
    with Index.open(index_path, readonly=True) as index:
        records = list(Scanner(index).scan([target]))
    skipped = {Path(r.suspect).name for r in records if isinstance(r, SkippedRecord)}
    assert skipped == {"loop", "escape", "self"}
    assert not any(isinstance(r, Finding) for r in records)
    summary = records[-1]
    assert isinstance(summary, Summary) and summary.items == 4 and summary.scanned == 1


def test_read_only_evidence_is_scanned_and_nothing_is_written_beside_it(
    index_path: Path, export: Path
) -> None:
    (export / "pipe").unlink()
    os.chmod(export / "docs" / "copy.txt", 0o444)
    for folder in (export / "docs", export):
        os.chmod(folder, 0o555)
    try:
        before = _snapshot(export)
        with Index.open(index_path, readonly=True) as index:
            records = list(Scanner(index, ScanOptions(jobs=2)).scan([export]))
        assert _snapshot(export) == before
    finally:
        for folder in (export, export / "docs"):
            os.chmod(folder, 0o755)
    assert any(isinstance(r, Finding) and r.suspect.endswith("copy.txt") for r in records)
