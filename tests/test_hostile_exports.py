"""Hostile exports against the whole scan: nothing stalls it, nothing crashes it, nothing is lost.

Each test builds a real crafted input (FIFOs, deep folders, slow members,
damaged containers) and runs the real scanner or the real CLI; a planted
leak beside or after the hostile part must still be found.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leakscan import ErrorRecord, Finding, Index, Scanner, ScanOptions, SkippedRecord, Summary
from leakscan.records import NoteRecord
from tests.indexes import build_text_index
from tests.processes import alive_with
from tests.texts import prose

KEY = b"h" * 32
SOURCE = prose(71, 600)
LEAK = " ".join(SOURCE.split(" ")[300:380])


@pytest.fixture
def index_path(tmp_path: Path) -> Path:
    return build_text_index(tmp_path, {"ops/plan.txt": SOURCE, "other.txt": prose(72, 300)}, KEY)


def scan(index_path: Path, *targets: Path, **options: object) -> list[object]:
    with Index.open(index_path, readonly=True) as index:
        return list(Scanner(index, ScanOptions(**options)).scan(list(targets)))  # type: ignore[arg-type]


def leak_note(seed: int) -> str:
    return prose(seed, 150) + "\n\n" + LEAK + "\n\n" + prose(seed + 1, 80)


def summary_of(records: list[object]) -> Summary:
    summary = records[-1]
    assert isinstance(summary, Summary)
    assert summary.items == summary.scanned + summary.skipped + summary.errors
    return summary


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leakscan.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_fifos_named_like_chats_never_stall_a_scan(index_path: Path, tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "note.txt").write_text(leak_note(1), encoding="utf-8")
    os.mkfifo(export / "something.txt")  # beside a scanned file: chat detection looks at it
    os.mkfifo(export / "result.json")
    result = run_cli("scan", "--format", "jsonl", "--index", str(index_path), str(export))
    assert result.returncode == 1, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    skipped = {Path(r["suspect"]).name: r["reason"] for r in records if r["type"] == "skipped"}
    assert "FIFO" in skipped["something.txt"] and "FIFO" in skipped["result.json"]
    assert [Path(r["suspect"]).name for r in records if r["type"] == "finding"] == ["note.txt"]


def test_nineteen_hundred_nested_folders_are_walked_without_recursion(
    index_path: Path, tmp_path: Path
) -> None:
    export = tmp_path / "e"
    deep = str(export)
    os.mkdir(deep)
    for _ in range(1900):  # os.makedirs and pathlib themselves recurse on this
        deep += "/d"
        os.mkdir(deep)
    with open(os.path.join(deep, "x.txt"), "w", encoding="utf-8") as handle:
        handle.write(leak_note(2))
    try:
        records = scan(index_path, export)
    finally:  # shutil.rmtree (and so pytest's clean-up) recurses too: undo it by hand
        os.remove(os.path.join(deep, "x.txt"))
        while deep != str(export):
            os.rmdir(deep)
            deep = os.path.dirname(deep)
    findings = [r for r in records if isinstance(r, Finding)]
    assert len(findings) == 1 and findings[0].suspect.endswith("/d/x.txt")
    assert summary_of(records).items == 1


def _slow_text(words: int) -> bytes:
    """Text that takes seconds to fingerprint, but compresses to almost nothing."""
    return (prose(5, 2000) + "\n").encode() * (words // 2000)


def test_a_member_that_times_out_costs_only_itself(index_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a_before.txt", leak_note(3))
        archive.writestr("b_slow.txt", _slow_text(6_000_000))
        archive.writestr("c_after.txt", leak_note(4))
    records = scan(index_path, path, timeout_seconds=1.5, max_file_bytes=256 << 20)
    findings = sorted(r.suspect for r in records if isinstance(r, Finding))
    assert findings == [f"{path}!a_before.txt", f"{path}!c_after.txt"]
    errors = {r.suspect: r.error for r in records if isinstance(r, ErrorRecord)}
    assert "timed out after 1.5 s" in errors[f"{path}!b_slow.txt"]
    summary = summary_of(records)
    assert (summary.scanned, summary.errors, summary.containers) == (2, 1, 1)


def test_damaged_containers_become_records_and_the_scan_goes_on(
    index_path: Path, tmp_path: Path
) -> None:
    export = tmp_path / "export"
    export.mkdir()
    good = io.BytesIO()
    with zipfile.ZipFile(good, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("memo.txt", prose(9, 3000))
    data = bytearray(good.getvalue())
    data[60:90] = b"\xff" * 30  # inside the deflate stream
    (export / "a_corrupt.zip").write_bytes(bytes(data))
    (export / "b_truncated.tar.gz").write_bytes(b"\x1f\x8b\x08\x00" + os.urandom(200))
    (export / "c_note.txt").write_text(leak_note(5), encoding="utf-8")
    records = scan(index_path, export)
    names = {Path(r.suspect.split("!")[0]).name for r in records if isinstance(r, ErrorRecord)}
    assert {"a_corrupt.zip", "b_truncated.tar.gz"} <= names
    assert [Path(r.suspect).name for r in records if isinstance(r, Finding)] == ["c_note.txt"]
    summary_of(records)


def test_traversal_member_names_are_read_and_flagged(index_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("../../outside/leak.txt", leak_note(6))
    records = scan(index_path, path)
    findings = [r for r in records if isinstance(r, Finding)]
    assert [f.suspect for f in findings] == [f"{path}!../../outside/leak.txt"]
    notes = [r for r in records if isinstance(r, NoteRecord)]
    assert notes and "traversal" in notes[0].note
    assert summary_of(records).notes == 1


def test_duplicate_member_names_get_distinct_locators(index_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("memo.txt", prose(7, 200))
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("memo.txt", leak_note(7))
    records = scan(index_path, path)
    suspects = [r.suspect for r in records if isinstance(r, Finding)]
    assert suspects == [f"{path}!memo.txt#2"]
    assert summary_of(records).scanned == 2


def test_empty_files_are_skipped_not_errors(index_path: Path, tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    for number in range(5):
        (export / f"empty{number}.txt").write_bytes(b"")
    records = scan(index_path, export)
    assert all(isinstance(r, SkippedRecord) and "empty" in r.reason for r in records[:-1])
    assert summary_of(records).skipped == 5


def test_sparse_decoy_posing_as_an_archive_is_judged_without_reading_its_holes(
    index_path: Path, tmp_path: Path
) -> None:
    path = tmp_path / "decoy.zip"
    with path.open("wb") as handle:
        handle.write(b"PK\x03\x04" + b"\x00" * 100)
        handle.truncate(64 << 30)  # 64 GiB long, a few KiB stored
    started = time.monotonic()
    records = scan(index_path, path)
    assert time.monotonic() - started < 20
    kinds = sorted(type(r).__name__ for r in records[:-1])
    assert kinds == ["ErrorRecord", "NoteRecord"]  # damaged ZIP; sparse, not hashed
    assert summary_of(records).items == 1


def test_a_leak_in_a_sparse_archive_is_still_read(index_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "holes.tar"
    with tarfile.open(path, "w") as archive:
        data = leak_note(9).encode()
        info = tarfile.TarInfo("memo.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    with path.open("r+b") as handle:
        handle.truncate(1 << 30)  # a 1 GiB hole after the archive: not hashed, not a hiding place
    records = scan(index_path, path)
    assert [r.suspect for r in records if isinstance(r, Finding)] == [f"{path}!memo.txt"]
    (note,) = [r for r in records if isinstance(r, NoteRecord)]
    assert "sparse" in note.note and note.suspect == str(path)


def test_ctrl_c_stops_a_scan_at_once_and_leaves_no_process(
    index_path: Path, tmp_path: Path
) -> None:
    export = tmp_path / "ctrl-c-export"
    export.mkdir()
    (export / "big.txt").write_bytes(_slow_text(12_000_000))  # tens of seconds of work
    (export / "a-note.txt").write_text(leak_note(11), encoding="utf-8")  # read first: a finding
    command = ["scan", "--index", str(index_path), "--format", "jsonl", str(export)]
    process = subprocess.Popen(
        [sys.executable, "-m", "leakscan", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(3)
        assert process.poll() is None, process.communicate()
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=20)
        stopped_in = time.monotonic() - started
    finally:
        process.kill()
    assert stopped_in < 10
    assert process.returncode == 130 and "interrupted" in stderr
    written = [json.loads(line) for line in stdout.splitlines()]
    assert written[-1]["type"] == "summary" and written[-1]["interrupted"] is True
    assert any(r["type"] == "finding" for r in written), "what was found before is kept"
    time.sleep(0.5)
    assert alive_with(str(export)) == []


def test_a_killed_scan_leaves_no_worker_behind(index_path: Path, tmp_path: Path) -> None:
    export = tmp_path / "kill-9-export"
    export.mkdir()
    (export / "big.txt").write_bytes(_slow_text(12_000_000))
    process = subprocess.Popen(
        [sys.executable, "-m", "leakscan.cli", "scan", "--index", str(index_path), str(export)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(3)
        assert len(alive_with(str(export))) >= 2, "a worker is busy"
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        deadline = time.monotonic() + 10
        while alive_with(str(export)) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        process.kill()
    assert alive_with(str(export)) == []


def test_compare_and_fingerprint_refuse_a_fifo_instead_of_hanging(tmp_path: Path) -> None:
    pipe = tmp_path / "looks-like.txt"
    os.mkfifo(pipe)
    note = tmp_path / "note.txt"
    note.write_text(leak_note(8), encoding="utf-8")
    index = str(tmp_path / "none.sqlite")
    for args in (["compare", str(note), str(pipe)], ["fingerprint", str(pipe), "--index", index]):
        result = run_cli(*args, timeout=60)
        assert result.returncode == 2, result.stderr
        assert "not a regular file" in result.stderr


def _seed_containers() -> list[tuple[str, bytes]]:
    """Small real containers of every kind the expander opens, to be damaged."""
    memo = leak_note(10).encode()
    seeds = []
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.txt", memo)
        inner = io.BytesIO()
        with zipfile.ZipFile(inner, "w") as nested:
            nested.writestr("b.txt", memo[:500])
        archive.writestr("inner.zip", inner.getvalue())
    seeds.append(("x.zip", zipped.getvalue()))
    tarred = io.BytesIO()
    with tarfile.open(fileobj=tarred, mode="w:gz") as archive:
        info = tarfile.TarInfo("c.txt")
        info.size = len(memo)
        archive.addfile(info, io.BytesIO(memo))
    seeds.append(("x.tar.gz", tarred.getvalue()))
    mail = (
        b"From: a@example.org\nTo: b@example.org\nSubject: s\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="q"\n\n--q\nContent-Type: text/plain\n\n'
        + memo[:400]
        + b"\n--q\nContent-Type: application/zip\nContent-Disposition: attachment; "
        b'filename="y.zip"\nContent-Transfer-Encoding: base64\n\n'
        + __import__("base64").encodebytes(zipped.getvalue())
        + b"--q--\n"
    )
    seeds.append(("x.eml", mail))
    return seeds


SEEDS = _seed_containers()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(range(len(SEEDS))),
    cuts=st.lists(st.tuples(st.integers(0, 1 << 16), st.binary(max_size=8)), max_size=6),
    truncate=st.one_of(st.none(), st.integers(0, 1 << 16)),
)
def test_any_damage_to_a_container_gives_records_never_an_exception(
    seed: int, cuts: list[tuple[int, bytes]], truncate: int | None, tmp_path_factory: Any
) -> None:
    from leakscan.exports.expand import Expander
    from leakscan.exports.folders import FileJob

    name, data = SEEDS[seed]
    damaged = bytearray(data)
    for offset, replacement in cuts:
        at = offset % max(1, len(damaged))
        damaged[at : at + len(replacement)] = replacement
    if truncate is not None:
        del damaged[truncate % max(1, len(damaged)) :]
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(bytes(damaged))
    entries = list(Expander().expand_file(FileJob(str(path), str(path))))
    assert entries, "every file gives at least one entry"


_MAIN_MEMORY = """
import atexit, sys

def report() -> None:
    with open("/proc/self/status") as status:  # this process alone, not its workers
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    sys.stderr.write(f"\\nscanning process peak: {peak} KiB\\n")

atexit.register(report)
sys.argv = ["leakscan", *sys.argv[1:]]
from leakscan.cli import main
main()
"""


def test_the_scanning_process_never_holds_a_member(index_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "big.tar"
    with tarfile.open(path, "w") as archive:
        for number, size in enumerate((150 << 20, 1000)):
            data = os.urandom(1 << 20) * (size >> 20) if size > 1 << 20 else leak_note(11).encode()
            info = tarfile.TarInfo(f"{number}.bin" if number == 0 else "memo.txt")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    result = subprocess.run(
        [sys.executable, "-c", _MAIN_MEMORY, "scan", "--index", str(index_path), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    path.unlink()
    assert result.returncode == 1, result.stderr
    assert "memo.txt" in result.stdout
    peak_kib = int(result.stderr.rsplit("scanning process peak: ", 1)[1].split()[0])
    assert peak_kib < 150 << 10, f"the scanning process reached {peak_kib >> 10} MiB"


def test_documents_named_with_locator_characters_are_still_found_by_name(tmp_path: Path) -> None:
    location = build_text_index(
        tmp_path, {"plan #2.txt": prose(12, 200), "budget!final.txt": prose(13, 200)}, KEY
    )
    with Index.open(location, readonly=True) as index:
        assert [d.path for d in index.documents_named("plan #2.txt")] == ["plan %232.txt"]
        assert [d.path for d in index.documents_named("Budget!Final.txt")] == ["budget%21final.txt"]
        assert index.documents_named("final.txt") == []
