"""`leakscan watch`: a real observer on real folders; every finding exactly once."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from watchdog.observers.polling import PollingObserver

from leakscan import Index, ScanOptions, build
from leakscan.watch import Watcher, WatchOptions
from tests import report_helpers
from tests.processes import alive_with
from tests.texts import prose

KEY = b"w" * 32
SOURCE = prose(61, 500)
OTHER_SOURCE = prose(62, 500)
FAST = WatchOptions(settle_seconds=0.4, poll_seconds=0.05, status_every=3600)


def excerpt(seed: int) -> str:
    """An innocent letter with 70 words of SOURCE pasted in."""
    return prose(seed, 120) + "\n\n" + " ".join(SOURCE.split(" ")[100:170])


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "secret.txt").write_text(SOURCE, encoding="utf-8")
    (archive / "other.txt").write_text(prose(63, 300), encoding="utf-8")
    index = tmp_path / "index.sqlite"
    with Index.create(index, key=KEY) as opened:
        build(opened, [archive])
    drop = tmp_path / "drop"
    drop.mkdir()
    before = set(threading.enumerate())
    yield index, drop
    # Like watchdog's own suite: a test must not leave observer threads behind.
    leaked = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert not leaked, leaked


class Running:
    """A watcher running in a thread, writing JSONL to a file."""

    def __init__(self, index: Path, drop: Path, options: WatchOptions = FAST, **kwargs: object):
        self.output_path = drop.parent / "findings.jsonl"
        self.output = open(self.output_path, "a", encoding="utf-8")  # noqa: SIM115
        self.watcher = Watcher(
            index,
            [drop],
            options=options,
            output=self.output,
            state_path=drop.parent / "state.sqlite",
            **kwargs,  # type: ignore[arg-type]
        )
        self.thread = threading.Thread(target=self.watcher.run)
        self.thread.start()

    def stop(self) -> None:
        self.watcher.stop()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()
        self.watcher.close()
        self.output.close()


def records(output: Path) -> list[dict[str, object]]:
    if not output.exists():
        return []
    return [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]


def findings(output: Path) -> list[dict[str, object]]:
    return [r for r in records(output) if r["type"] == "finding"]


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def settle_and_stop(running: Running, condition: Callable[[], bool]) -> None:
    """Wait for the condition, then a few settle periods in which nothing more may happen."""
    try:
        wait_for(condition)
        time.sleep(FAST.settle_seconds * 4)
    finally:
        running.stop()


def test_file_copied_in_is_found_exactly_once(setup: tuple[Path, Path]) -> None:
    index, drop = setup
    running = Running(index, drop)
    (drop / "letter.txt").write_text(excerpt(1), encoding="utf-8")
    (drop / "innocent.txt").write_text(prose(2, 200), encoding="utf-8")
    settle_and_stop(running, lambda: running.watcher.stats.scanned >= 2)
    found = findings(running.output_path)
    assert [(Path(str(f["suspect"])).name, f["source"]) for f in found] == [
        ("letter.txt", "secret.txt")
    ]
    assert running.watcher.stats.scanned == 2


def test_slowly_written_file_is_scanned_once_complete(setup: tuple[Path, Path]) -> None:
    index, drop = setup
    running = Running(index, drop)
    text = prose(3, 150) + "\n\n" + SOURCE
    data = text.encode("utf-8")
    with open(drop / "growing.txt", "wb") as handle:
        for start in range(0, len(data), len(data) // 8):
            handle.write(data[start : start + len(data) // 8])
            handle.flush()
            time.sleep(FAST.settle_seconds / 3)
    settle_and_stop(running, lambda: running.watcher.stats.scanned >= 1)
    [found] = findings(running.output_path)
    assert found["suspect_sha256"] == __import__("hashlib").sha256(data).hexdigest()
    assert running.watcher.stats.scanned == 1


def test_file_moved_in_is_found(setup: tuple[Path, Path], tmp_path: Path) -> None:
    index, drop = setup
    outside = tmp_path / "elsewhere.txt"
    outside.write_text(excerpt(4), encoding="utf-8")
    running = Running(index, drop)
    time.sleep(0.2)
    os.rename(outside, drop / "moved.txt")
    settle_and_stop(running, lambda: running.watcher.stats.scanned >= 1)
    assert [Path(str(f["suspect"])).name for f in findings(running.output_path)] == ["moved.txt"]


def test_folder_moved_in_is_walked(setup: tuple[Path, Path], tmp_path: Path) -> None:
    index, drop = setup
    folder = tmp_path / "export"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.txt").write_text(excerpt(5), encoding="utf-8")
    (folder / "b.txt").write_text(SOURCE, encoding="utf-8")
    running = Running(index, drop)
    time.sleep(0.2)
    os.rename(folder, drop / "export")
    settle_and_stop(running, lambda: running.watcher.stats.scanned >= 2)
    names = sorted(Path(str(f["suspect"])).name for f in findings(running.output_path))
    assert names == ["a.txt", "b.txt"]


def test_zip_is_taken_only_once_it_opens(setup: tuple[Path, Path], tmp_path: Path) -> None:
    index, drop = setup
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("a.txt", excerpt(6) * 20)
    data = archive.read_bytes()
    running = Running(index, drop)
    with open(drop / "export.zip", "wb") as handle:
        handle.write(data[: len(data) // 2])
        handle.flush()
        time.sleep(FAST.settle_seconds * 3)  # long enough to settle, but it does not open
        assert running.watcher.stats.scanned == 0
        handle.write(data[len(data) // 2 :])
    settle_and_stop(running, lambda: running.watcher.stats.scanned >= 1)
    [record] = records(running.output_path)
    # Taken once, and only when complete: its member is read and found.
    assert record["type"] == "finding"
    assert str(record["suspect"]).endswith("export.zip!a.txt")


def test_burst_of_500_files_each_once(setup: tuple[Path, Path]) -> None:
    index, drop = setup
    options = WatchOptions(
        settle_seconds=0.4, poll_seconds=0.05, status_every=3600, scan=ScanOptions(jobs=2)
    )
    running = Running(index, drop, options)
    expected = set()
    for n in range(500):
        name = f"file{n:03d}.txt"
        if n % 10 == 0:
            (drop / name).write_text(excerpt(1000 + n), encoding="utf-8")
            expected.add(name)
        else:
            (drop / name).write_text(prose(1000 + n, 60), encoding="utf-8")
    settle_and_stop(running, lambda: running.watcher.stats.scanned >= 500)
    names = [Path(str(f["suspect"])).name for f in findings(running.output_path)]
    assert sorted(names) == sorted(expected)
    assert running.watcher.stats.scanned == 500
    state = sqlite3.connect(drop.parent / "state.sqlite")
    assert state.execute("SELECT count(*) FROM scanned").fetchone()[0] == 500
    state.close()


def test_restart_half_way_neither_misses_nor_repeats(setup: tuple[Path, Path]) -> None:
    index, drop = setup
    expected = set()
    for n in range(120):
        name = f"doc{n:03d}.txt"
        text = excerpt(2000 + n) if n % 4 == 0 else prose(2000 + n, 60)
        (drop / name).write_text(text, encoding="utf-8")
        if n % 4 == 0:
            expected.add(name)
    first = Running(index, drop)
    wait_for(lambda: first.watcher.stats.scanned >= 30)
    first.stop()
    assert 30 <= first.watcher.stats.scanned < 120
    second = Running(index, drop)
    settle_and_stop(
        second, lambda: first.watcher.stats.scanned + second.watcher.stats.scanned >= 120
    )
    assert first.watcher.stats.scanned + second.watcher.stats.scanned == 120
    names = [Path(str(f["suspect"])).name for f in findings(first.output_path)]
    assert sorted(names) == sorted(expected)  # each once, across both runs
    third = Running(index, drop)
    settle_and_stop(third, lambda: third.watcher.stats.already_seen >= 120)
    assert third.watcher.stats.scanned == 0


def test_new_only_leaves_what_was_there(setup: tuple[Path, Path]) -> None:
    index, drop = setup
    (drop / "old.txt").write_text(SOURCE, encoding="utf-8")
    options = WatchOptions(settle_seconds=0.4, poll_seconds=0.05, new_only=True)
    running = Running(index, drop, options)
    time.sleep(0.2)
    (drop / "new.txt").write_text(excerpt(7), encoding="utf-8")
    settle_and_stop(running, lambda: running.watcher.stats.scanned >= 1)
    assert [Path(str(f["suspect"])).name for f in findings(running.output_path)] == ["new.txt"]


def test_on_finding_command_gets_json_and_its_failure_is_not_fatal(
    setup: tuple[Path, Path],
) -> None:
    index, drop = setup
    hook_out = drop.parent / "hook.jsonl"
    command = f"tee -a {hook_out} | grep -q first.txt && exit 3; exit 0"
    options = WatchOptions(settle_seconds=0.4, poll_seconds=0.05, on_finding=command)
    running = Running(index, drop, options)
    (drop / "first.txt").write_text(excerpt(8), encoding="utf-8")
    wait_for(lambda: running.watcher.stats.scanned >= 1)
    (drop / "second.txt").write_text(excerpt(9), encoding="utf-8")
    settle_and_stop(running, lambda: running.watcher.stats.scanned >= 2)
    hooked = [json.loads(line) for line in hook_out.read_text(encoding="utf-8").splitlines()]
    assert [Path(h["suspect"]).name for h in hooked] == ["first.txt", "second.txt"]
    assert hooked[0]["source"] == "secret.txt"
    assert running.watcher.stats.findings == 2
    assert running.watcher.stats.hook_failures == 1  # logged, and the watch went on


def test_documents_added_to_the_index_while_watching_are_used(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    index, drop = setup
    running = Running(index, drop)
    more = tmp_path / "more"
    more.mkdir()
    (more / "new-secret.txt").write_text(OTHER_SOURCE, encoding="utf-8")
    with Index.open(index) as writer:
        build(writer, [more])
    (drop / "copy.txt").write_text(OTHER_SOURCE, encoding="utf-8")
    settle_and_stop(running, lambda: running.watcher.stats.scanned >= 1)
    [found] = findings(running.output_path)
    assert found["source"] == "new-secret.txt"


def test_polling_observer_can_be_injected(setup: tuple[Path, Path]) -> None:
    index, drop = setup
    running = Running(index, drop, observer=PollingObserver(timeout=0.1))
    time.sleep(0.3)
    shutil.copy(Path(index).parent / "archive" / "secret.txt", drop / "copy.txt")
    settle_and_stop(running, lambda: running.watcher.stats.scanned >= 1)
    [found] = findings(running.output_path)
    assert found["kind"] == "exact-copy"


def test_fifo_in_the_folder_is_skipped_not_opened(setup: tuple[Path, Path]) -> None:
    index, drop = setup
    os.mkfifo(drop / "pipe")
    running = Running(index, drop)
    settle_and_stop(running, lambda: bool(records(running.output_path)))
    [record] = records(running.output_path)
    assert record["type"] == "skipped" and "FIFO" in str(record["reason"])


def test_cli_watch_reports_and_stops_cleanly_on_sigterm(setup: tuple[Path, Path]) -> None:
    import signal
    import subprocess
    import sys

    index, drop = setup
    output = drop.parent / "cli.jsonl"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "leakscan.cli",
            "watch",
            str(drop),
            "--index",
            str(index),
            "--output",
            str(output),
            "--settle",
            "0.3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)
        (drop / "leak.txt").write_text(excerpt(10), encoding="utf-8")
        wait_for(lambda: bool(findings(output)))
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert "FOUND   " in stdout and "leak.txt" in stdout
    assert "stopped: 1 scanned" in stderr
    [found] = findings(output)
    assert found["source"] == "secret.txt"


def test_known_content_at_a_new_path_is_reported_there_not_rescanned(
    setup: tuple[Path, Path],
) -> None:
    index, drop = setup
    running = Running(index, drop)
    try:
        (drop / "first.txt").write_text(excerpt(20), encoding="utf-8")
        wait_for(lambda: running.watcher.stats.scanned >= 1)
        shutil.copy(drop / "first.txt", drop / "second name.txt")
        wait_for(lambda: running.watcher.stats.already_seen >= 1)
        time.sleep(FAST.settle_seconds * 2)
    finally:
        running.stop()
    assert running.watcher.stats.scanned == 1
    [also] = [r for r in records(running.output_path) if r["type"] == "also-at"]
    assert Path(str(also["suspect"])).name == "second name.txt"
    assert Path(str(also["first_seen_as"])).name == "first.txt" and also["findings"] == 1
    assert [Path(str(f["suspect"])).name for f in findings(running.output_path)] == ["first.txt"]


def test_fifo_named_like_a_zip_or_chat_never_blocks_the_watcher(setup: tuple[Path, Path]) -> None:
    index, drop = setup
    running = Running(index, drop)
    try:
        os.mkfifo(drop / "incoming.zip")
        os.mkfifo(drop / "_chat.txt")
        (drop / "letter.txt").write_text(excerpt(21), encoding="utf-8")
        wait_for(lambda: running.watcher.stats.scanned >= 1)
    finally:
        running.stop()
    skipped = {Path(str(r["suspect"])).name for r in records(running.output_path)}
    assert {"incoming.zip", "_chat.txt", "letter.txt"} <= skipped


def test_sigterm_stops_the_watcher_within_seconds_while_a_worker_is_busy(
    setup: tuple[Path, Path],
) -> None:
    import signal
    import subprocess
    import sys

    index, drop = setup
    (drop / "huge.txt").write_text((prose(22, 2000) + "\n") * 6000, encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "leakscan.cli", "watch", str(drop), "--index", str(index)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(4)  # settled (2 s) and in a worker by now
        assert process.poll() is None
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
        stopped_in = time.monotonic() - started
    finally:
        process.kill()
    assert process.returncode == 0
    assert stopped_in < 5
    time.sleep(0.5)
    assert alive_with(str(drop)) == [], "the busy worker was left running"


def test_a_huge_sparse_file_never_holds_up_the_watcher(setup: tuple[Path, Path]) -> None:
    index, drop = setup
    with (drop / "huge.bin").open("wb") as handle:
        handle.truncate(64 << 30)  # minutes to hash, a few KiB on disk
    options = WatchOptions(
        settle_seconds=0.4, poll_seconds=0.05, status_every=3600, scan=ScanOptions(jobs=2)
    )
    running = Running(index, drop, options)  # one worker hashes it, the other goes on
    try:
        time.sleep(FAST.settle_seconds * 3)  # settled, and its hashing under way in a worker
        (drop / "letter.txt").write_text(excerpt(23), encoding="utf-8")
        wait_for(lambda: bool(findings(running.output_path)), timeout=20)
    finally:
        started = time.monotonic()
        running.stop()
    assert time.monotonic() - started < 5
    assert [Path(str(f["suspect"])).name for f in findings(running.output_path)] == ["letter.txt"]


def test_a_lead_is_counted_echoed_and_hooked_like_a_finding(tmp_path: Path) -> None:
    """A chat whose weak matches of one memo add up: a lead, alerted as a finding is, and
    counted as what that content holds when a copy arrives under another name."""
    archive, export = report_helpers.lead_case(tmp_path / "case")
    index = tmp_path / "index.sqlite"
    with Index.create(index, key=KEY) as opened:
        build(opened, [archive])
    drop = tmp_path / "drop"
    drop.mkdir()
    hook_out = tmp_path / "hook.jsonl"
    echoed: list[str] = []
    options = WatchOptions(  # at 0.7 the chat's one paste of another memo is hidden
        settle_seconds=0.4,
        poll_seconds=0.05,
        status_every=3600,
        on_finding=f"cat >> {hook_out}",
        scan=ScanOptions(min_score=0.7),
    )
    running = Running(index, drop, options, echo=echoed.append)
    try:
        shutil.copy(export / report_helpers.LEAD_CHAT, drop / report_helpers.LEAD_CHAT)
        wait_for(lambda: running.watcher.stats.scanned >= 1)
        shutil.copy(drop / report_helpers.LEAD_CHAT, drop / "copy of the chat.txt")
        wait_for(lambda: running.watcher.stats.already_seen >= 1)
        time.sleep(FAST.settle_seconds * 2)
    finally:
        running.stop()
    stats = running.watcher.stats
    assert (stats.scanned, stats.findings, stats.leads, stats.hook_failures) == (1, 0, 1, 0)
    [lead] = [r for r in records(running.output_path) if r["type"] == "lead"]
    assert lead["source"] == "customs/quay-roster.txt" and len(lead["matches"]) == 3  # type: ignore[arg-type]
    [hooked] = [json.loads(line) for line in hook_out.read_text(encoding="utf-8").splitlines()]
    assert hooked == lead
    [line] = [e for e in echoed if e.startswith("LEAD")]
    assert "3 matches of customs/quay-roster.txt add up (score" in line
    [also] = [r for r in records(running.output_path) if r["type"] == "also-at"]
    assert also["findings"] == 1
    assert any("same content as" in e and "1 finding(s) or lead(s) there" in e for e in echoed)
