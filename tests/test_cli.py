"""The command line: contracts of DESIGN.md (JSONL records, exit codes) through click."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from leakscan import __version__
from leakscan.cli import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, cli
from tests.texts import prose

SOURCE = prose(21, 500)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "archive").mkdir()
    (tmp_path / "archive" / "memo.txt").write_text(SOURCE, encoding="utf-8")
    (tmp_path / "archive" / "other.txt").write_text(prose(22, 300), encoding="utf-8")
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "copy.txt").write_text(SOURCE, encoding="utf-8")
    (tmp_path / "export" / "bad.docx").write_bytes(bytes(range(256)) * 4)  # binary, not a ZIP
    (tmp_path / "clean").mkdir()
    (tmp_path / "clean" / "note.txt").write_text(prose(23, 300), encoding="utf-8")
    result = CliRunner().invoke(cli, ["index", "build", "archive"])
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output
    return tmp_path


def test_build_uses_the_default_index_location(workspace: Path) -> None:
    assert (workspace / "fingerprints" / "index.sqlite").exists()
    result = CliRunner().invoke(cli, ["index", "build", "archive"])
    assert "2 unchanged" in result.output


def test_scan_jsonl_records_and_exit_code_one(workspace: Path) -> None:
    result = CliRunner().invoke(cli, ["scan", "export", "--format", "jsonl"])
    assert result.exit_code == EXIT_FINDINGS, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["type"] for r in records] == ["error", "finding", "summary"]
    error, finding, summary = records
    assert error["suspect"] == "export/bad.docx" and error["error"]
    assert finding["suspect"] == "export/copy.txt"
    assert finding["source"] == "memo.txt"
    assert finding["kind"] == "exact-copy"
    for field in (
        "suspect_sha256",
        "source_sha256",
        "score",
        "containment",
        "coverage",
        "simhash_distance",
        "matched_tokens",
        "passages",
    ):
        assert field in finding
    passage = finding["passages"][0]
    assert set(passage) >= {"suspect_start", "suspect_end", "source_start", "source_end", "text"}
    assert summary["items"] == 2 and summary["findings"] == 1 and summary["errors"] == 1
    assert summary["index"]["index_id"] and summary["tool_version"]


def test_scan_without_findings_exits_zero(workspace: Path) -> None:
    result = CliRunner().invoke(cli, ["scan", "clean"])
    assert result.exit_code == EXIT_CLEAN, result.output
    assert "1 items: 1 scanned" in result.output


def test_text_report_is_readable(workspace: Path) -> None:
    result = CliRunner().invoke(cli, ["scan", "export"])
    assert "FOUND   export/copy.txt" in result.output
    assert "exact-copy of memo.txt" in result.output
    assert "ERROR   export/bad.docx" in result.output


def test_output_file(workspace: Path) -> None:
    result = CliRunner().invoke(cli, ["scan", "export", "--format", "jsonl", "-o", "out.jsonl"])
    assert result.exit_code == EXIT_FINDINGS
    assert result.output == ""
    lines = (workspace / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[-1])["type"] == "summary"


@pytest.mark.parametrize(
    "arguments",
    [
        ["scan", "export", "--index", "missing.sqlite"],
        ["scan", "no-such-folder"],
        ["scan", "export", "--min-score", "2"],
        ["scan"],
    ],
    ids=["no-index", "no-target", "bad-option", "no-arguments"],
)
def test_usage_and_fatal_errors_exit_two(workspace: Path, arguments: list[str]) -> None:
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == EXIT_ERROR, result.output


def test_index_stats(workspace: Path) -> None:
    result = CliRunner().invoke(cli, ["index", "stats"])
    stats = json.loads(result.output)
    assert stats["documents"] == 2 and stats["scheme"]["word_k"] == 5
    assert stats["bytes_on_disk"] > 0


def test_compare_two_files(workspace: Path) -> None:
    suspect = workspace / "suspect.txt"
    suspect.write_text(prose(24, 200) + "\n\n" + " ".join(SOURCE.split(" ")[:100]), "utf-8")
    result = CliRunner().invoke(
        cli, ["compare", str(suspect), "archive/memo.txt", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    comparison = json.loads(result.output)
    assert 0.25 < comparison["a_in_b"] < 0.5  # a third of the suspect is the memo
    assert 0.15 < comparison["b_in_a"] < 0.3  # a fifth of the memo is in the suspect
    [passage] = comparison["passages"]
    memo = (workspace / "archive" / "memo.txt").read_text("utf-8")
    assert memo[passage["b_start"] : passage["b_end"]].split()[:5] == passage["text"].split()[:5]
    text = CliRunner().invoke(cli, ["compare", str(suspect), "archive/memo.txt"])
    assert "simhash distance" in text.output


def test_compare_unreadable_file_exits_two(workspace: Path) -> None:
    result = CliRunner().invoke(cli, ["compare", "export/bad.docx", "archive/memo.txt"])
    assert result.exit_code == EXIT_ERROR
    assert "not a valid DOCX" in result.output


def test_fingerprint_command_uses_the_index_key(workspace: Path) -> None:
    result = CliRunner().invoke(cli, ["fingerprint", "archive/memo.txt"])
    signature = json.loads(result.output)
    stats = json.loads(CliRunner().invoke(cli, ["index", "stats"]).output)
    assert signature["key_id"] == stats["key_id"] and not signature["ephemeral_key"]
    assert signature["tokens"] == 500 and len(signature["fingerprints"]) > 100
    assert len(signature["simhash"]) == 16


def test_archive_limits_and_isolation_options_reach_the_scan(workspace: Path) -> None:
    import zipfile

    nested = workspace / "nested.zip"
    inner = workspace / "inner.zip"
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("copy.txt", SOURCE)
    with zipfile.ZipFile(nested, "w") as archive:
        archive.write(inner, "inner.zip")
        archive.writestr("second.txt", "x")
    found = CliRunner().invoke(cli, ["scan", "nested.zip", "--format", "jsonl", "--timeout", "30"])
    assert found.exit_code == EXIT_FINDINGS, found.output
    records = [json.loads(line) for line in found.output.splitlines()]
    assert records[0]["suspect"] == "nested.zip!inner.zip!copy.txt"
    assert records[0]["member_sha256"] and records[-1]["containers"] == 2
    limited = CliRunner().invoke(
        cli, ["scan", "nested.zip", "--format", "jsonl", "--max-depth", "1", "--max-members", "5"]
    )
    assert limited.exit_code == EXIT_CLEAN, limited.output
    records = [json.loads(line) for line in limited.output.splitlines()]
    assert records[0] == {
        "type": "error",
        "suspect": "nested.zip!inner.zip",
        "error": "refused: containers nested more than 1 deep (decompression bomb?)",
        "suspect_sha256": records[0]["suspect_sha256"],
    }
    bad = CliRunner().invoke(cli, ["scan", "nested.zip", "--worker-memory", "100"])
    assert bad.exit_code == EXIT_ERROR and "256 MiB" in bad.output


# --- a CLI that behaves -----------------------------------------------------


def run(
    *arguments: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real command, as a user runs it (``python -m leakscan``)."""
    return subprocess.run(
        [sys.executable, "-m", "leakscan", *arguments],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_version_and_python_dash_m(workspace: Path) -> None:
    short, long = run("scan", "-h", cwd=workspace), run("scan", "--help", cwd=workspace)
    assert short.returncode == 0 and short.stdout == long.stdout
    for command in ("report", "verify", "index stats"):
        assert run(*command.split(), "-h", cwd=workspace).returncode == 0, command
    for heading in ("Output:", "Matching:", "Limits:", "Logging:"):
        assert heading in short.stdout
    assert "LEAKSCAN_INDEX" in short.stdout
    version = run("-V", cwd=workspace)
    assert version.returncode == 0 and __version__ in version.stdout
    assert "legacy .doc" in run("index", "build", "-h", cwd=workspace).stdout


def test_every_option_has_help(workspace: Path) -> None:
    for command in (
        "scan",
        "watch",
        "compare",
        "fingerprint",
        "index build",
        "index stats",
        "report",
        "verify",
    ):
        text = run(*command.split(), "--help", cwd=workspace).stdout
        options = [line for line in text.splitlines() if line.lstrip().startswith("-")]
        assert options, command
        for line in options:
            assert len(line.split("  ")) > 1 or line.rstrip().endswith(("]", ".")), (command, line)


def test_verbosity_after_the_subcommand_and_a_log_file(workspace: Path) -> None:
    log = workspace / "scan.log"
    result = run("scan", "export", "-v", "--log", str(log), cwd=workspace)
    assert result.returncode == EXIT_FINDINGS, result.stderr
    assert "read export/copy.txt" in result.stderr
    assert "read export/copy.txt" in log.read_text(encoding="utf-8")
    quiet = run("scan", "export", "-q", cwd=workspace)
    assert "read export" not in quiet.stderr


def test_index_from_the_environment_in_another_folder(workspace: Path) -> None:
    elsewhere = workspace / "clean"
    index = workspace / "fingerprints" / "index.sqlite"
    missing = run("scan", "../export", cwd=elsewhere)
    assert missing.returncode == EXIT_ERROR
    found = run("scan", "../export", cwd=elsewhere, env={"LEAKSCAN_INDEX": str(index)})
    assert found.returncode == EXIT_FINDINGS, found.stderr


def test_an_output_that_cannot_be_written_is_one_line_and_exit_two(workspace: Path) -> None:
    result = run(
        "scan", "export", "-o", str(workspace / "no" / "such" / "report.txt"), cwd=workspace
    )
    assert result.returncode == EXIT_ERROR
    assert result.stderr.strip().count("\n") == 0 and "cannot write the report" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_scan_that_examined_nothing_is_not_clean(workspace: Path) -> None:
    unreadable = workspace / "unreadable"
    unreadable.mkdir()
    (unreadable / "bad.docx").write_bytes(bytes(range(256)) * 4)
    (unreadable / "picture.bin").write_bytes(os.urandom(512))
    result = run("scan", "unreadable", "--format", "jsonl", cwd=workspace)
    assert result.returncode == EXIT_ERROR
    assert "nothing could be examined" in result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["type"] == "summary" and summary["scanned"] == 0 and summary["items"] == 2


def test_index_build_exits_one_and_names_what_it_could_not_index(workspace: Path) -> None:
    (workspace / "archive" / "broken.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(300))
    result = run("index", "build", "archive", cwd=workspace)
    assert result.returncode == EXIT_FINDINGS
    assert "broken.pdf" in result.stderr and "could not be indexed" in result.stderr


def test_two_archive_roots_are_told_apart_by_their_labels(workspace: Path) -> None:
    for name in ("north", "south"):
        folder = workspace / name / "memos"
        folder.mkdir(parents=True)
        (folder / "same.txt").write_text(prose(31 if name == "north" else 32, 400), "utf-8")
    (workspace / "suspect.txt").write_text(prose(32, 400), encoding="utf-8")
    index = str(workspace / "two.sqlite")
    clash = run("index", "build", "--index", index, "north", "north/memos", cwd=workspace)
    assert clash.returncode == EXIT_CLEAN  # names "north" and "memos": no clash
    built = run("index", "build", "--index", index, "south", "--label", "S", cwd=workspace)
    assert built.returncode == EXIT_CLEAN, built.stderr
    again = run("index", "build", "--index", index, "south/memos", "--label", "S", cwd=workspace)
    assert again.returncode == EXIT_ERROR and "both be labelled 'S'" in again.stderr
    result = run("scan", "--index", index, "--format", "jsonl", "suspect.txt", cwd=workspace)
    [finding] = [json.loads(x) for x in result.stdout.splitlines() if '"finding"' in x]
    assert (finding["source"], finding["source_label"]) == ("memos/same.txt", "S")
    stats = json.loads(run("index", "stats", "--index", index, cwd=workspace).stdout)
    roots = {r["label"]: r for r in stats["roots"]}
    assert set(roots) == {"north", "memos", "S"}
    assert roots["S"]["documents"] == 1 and roots["S"]["root"] == str(workspace / "south")
    assert roots["S"]["built_at"]


def test_a_progress_line_on_a_terminal_and_none_in_a_pipe(workspace: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios

    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    try:
        process = subprocess.run(
            [sys.executable, "-m", "leakscan", "scan", "export"],
            cwd=workspace,
            stdout=subprocess.PIPE,
            stderr=terminal,
            timeout=120,
        )
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal's other end is closed: all was read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
    assert process.returncode == EXIT_FINDINGS
    assert b"items" in shown and b"findings" in shown  # the progress line, on the terminal
    assert b"items" not in process.stdout.split(b"\n\n")[0]  # the report itself has no bar
    piped = run("scan", "export", cwd=workspace)
    assert "items/s" not in piped.stderr and " items" not in piped.stderr
