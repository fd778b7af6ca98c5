"""Index faults (issue 13): concurrent builds, a full disk, a killed build, sqlite3 errors.

The processes here are real: two ``leakscan index build`` at once on a new
index, a build under a file-size limit (and on a full tmpfs where one can be
mounted), a build killed with SIGKILL. Texts are invented words
(``tests.texts``).
"""

from __future__ import annotations

import fcntl
import inspect
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from leakscan import (
    Index,
    IndexNotFoundError,
    KeyMismatchError,
    LeakscanIndexError,
    build,
    scan,
)
from leakscan.cli import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, cli
from leakscan.fingerprint import key_id
from leakscan.index import BUILD_COMPLETE, BUILD_RUNNING
from leakscan.index.base import IndexBackend
from leakscan.index.lock import lock_path_of, writer_running
from leakscan.index.sqlite import SQLiteBackend
from leakscan.keyfile import read_key_file
from leakscan.records import Finding
from tests.texts import prose, vocabulary

ROOT = Path(__file__).resolve().parents[1]
KEY = b"f" * 32
WAITING = "waiting for another index build on"
VOCABULARY = vocabulary()


def write_folder(folder: Path, prefix: str, count: int, seed: int, words: int = 200) -> Path:
    """``count`` text files of invented prose, each its own text."""
    folder.mkdir(parents=True)
    for number in range(count):
        text = prose(seed + number, words, VOCABULARY)
        (folder / f"{prefix}{number:03}.txt").write_text(text, encoding="utf-8")
    return folder


# Imports, says "ready", and runs the command once told to on stdin: two commands so
# started run their first lines together, not a Python start-up apart.
_ON_GO = (
    "import sys; from leakscan.cli import cli; "
    "print('ready', flush=True); sys.stdin.readline(); "
    "cli(sys.argv[1:], prog_name='leakscan')"
)


def leakscan_process(
    *args: str, preexec_fn: Callable[[], None] | None = None, on_go: bool = False
) -> subprocess.Popen[str]:
    """``python -m leakscan.cli ARGS`` with this checkout first on the path.

    ``on_go``: the process waits, once ready, for a line on its stdin (see :func:`go`).
    """
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    command = ["-c", _ON_GO] if on_go else ["-m", "leakscan.cli"]
    return subprocess.Popen(
        [sys.executable, *command, *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE if on_go else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec_fn,
    )


def go(processes: list[subprocess.Popen[str]]) -> None:
    """Start processes made with ``on_go`` at the same moment, once all are ready."""
    for process in processes:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()


def run_leakscan(*args: str, preexec_fn: Callable[[], None] | None = None) -> tuple[int, str, str]:
    process = leakscan_process(*args, preexec_fn=preexec_fn)
    stdout, stderr = process.communicate(timeout=120)
    return process.returncode, stdout, stderr


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def meta(index: Path) -> dict[str, str]:
    """The meta table, read as an outsider would (read-only, no leakscan code)."""
    db = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
    try:
        return dict(db.execute("SELECT key, value FROM meta").fetchall())
    finally:
        db.close()


def found_sources(index: Path, *targets: Path) -> set[str]:
    """Archive documents a scan of ``targets`` finds (through the library)."""
    return {
        record.source
        for record in scan([str(t) for t in targets], str(index))
        if isinstance(record, Finding)
    }


def one_error_line(stderr: str) -> str:
    """The build's error: one line, and no traceback anywhere."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("leakscan: error:")]
    assert len(errors) == 1, stderr
    return errors[0]


def file_size_limit(limit: int) -> Callable[[], None]:
    """For the child: writes past ``limit`` bytes fail with EFBIG (SIGXFSZ ignored, not fatal)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def disk_full_at_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, writing documents' postings to a SQLite index fails as on a full disk."""
    flush = SQLiteBackend._flush

    def failing(self: SQLiteBackend) -> None:
        if self._pending:
            error = sqlite3.OperationalError("database or disk is full")
            error.sqlite_errorname = "SQLITE_FULL"  # type: ignore[attr-defined]
            raise error
        flush(self)

    monkeypatch.setattr(SQLiteBackend, "_flush", failing)


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    return (
        write_folder(tmp_path / "first", "first", 10, seed=100),
        write_folder(tmp_path / "second", "second", 10, seed=300),
    )


# -- concurrent builds --------------------------------------------------------


def test_concurrent_builds_of_a_new_index_run_one_after_the_other(
    tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    first, second = folders
    n = len(list(first.iterdir()))
    waits = 0
    for round_ in range(5):
        index = tmp_path / f"round{round_}" / "index.sqlite"
        started = [
            leakscan_process("index", "build", str(folder), "--index", str(index), on_go=True)
            for folder in (first, second)
        ]
        go(started)
        outputs = [process.communicate(timeout=120) for process in started]
        for process, (_, stderr) in zip(started, outputs, strict=True):
            assert process.returncode == 0, stderr
            assert "Traceback" not in stderr and "locked" not in stderr, stderr
        # The one that ran first saw only its own folder when it finished: strictly serial.
        counts = sorted(
            int(re.search(r"(\d+) documents", stdout).group(1))  # type: ignore[union-attr]
            for stdout, _ in outputs
        )
        assert counts == [n, 2 * n], outputs
        waited = [WAITING in stderr for _, stderr in outputs]
        assert sum(waited) <= 1, outputs
        if any(waited):
            waits += 1
            waiter = waited.index(True)
            other_pid = started[1 - waiter].pid
            assert f"(pid {other_pid}) to finish…" in outputs[waiter][1]
        stored = meta(index)
        assert stored["build_state"] == BUILD_COMPLETE
        assert stored["build_documents"] == str(2 * n)
        # One key for both folders: each folder's text has all its fingerprints under it.
        with Index.open(index, readonly=True) as reader:
            for text_file in (first / "first000.txt", second / "second000.txt"):
                hashes = set(reader.fingerprinter.fingerprint(text_file.read_text()).hashes)
                assert len(reader.frequencies(list(hashes))) == len(hashes), (round_, text_file)
    # And a scan finds text of both.
    assert found_sources(index, first / "first000.txt", second / "second000.txt") == {
        "first000.txt",
        "second000.txt",
    }
    assert waits >= 1, "no round ever had one build wait for the other"


def test_a_second_writer_waits_and_can_give_up(tmp_path: Path, folders: tuple[Path, Path]) -> None:
    index = tmp_path / "index.sqlite"
    holder = os.open(lock_path_of(index), os.O_RDWR | os.O_CREAT)
    try:
        os.write(holder, b"4242\n")
        fcntl.flock(holder, fcntl.LOCK_EX)  # another build, as far as the CLI can tell
        assert writer_running(index)
        result = invoke(
            "index", "build", str(folders[0]), "--index", str(index), "--lock-timeout", "0.3"
        )
    finally:
        os.close(holder)
    assert result.exit_code == EXIT_ERROR
    assert f"leakscan: {WAITING} {index} (pid 4242) to finish…" in result.stderr
    assert "still running; gave up waiting after 0.3 s" in result.stderr
    assert not index.exists(), "the index was created without the lock"
    assert not writer_running(index)
    result = invoke("index", "build", str(folders[0]), "--index", str(index))
    assert result.exit_code == 0, result.output
    assert WAITING not in result.stderr


def test_the_writer_lock_is_held_until_close_and_readers_never_take_it(tmp_path: Path) -> None:
    location = tmp_path / "index.sqlite"
    with Index.create(location, key=KEY) as writer:
        assert writer_running(location)
        assert lock_path_of(location).read_text().strip() == str(os.getpid())
        with pytest.raises(LeakscanIndexError, match="already open for writing in this process"):
            Index.create(location, key=KEY)
        writer.add_text(prose(1, 200), path="memo.txt")
        writer.commit()
        with Index.open(location, readonly=True) as reader:
            assert reader.stats().documents == 1
    assert not writer_running(location)
    assert lock_path_of(location).read_text() == ""  # kept, and no stale pid
    with Index.open(location, writer=True) as again:
        with again.writing():  # under the lock the writer holds: no second lock
            again.add_text(prose(2, 200), path="other.txt")
        assert again.stats().build_state == BUILD_COMPLETE
    missing = tmp_path / "missing" / "index.sqlite"
    with pytest.raises(IndexNotFoundError):
        Index.open(missing, writer=True)
    assert not missing.parent.exists()


def test_creating_never_overwrites_an_existing_key(tmp_path: Path) -> None:
    location = tmp_path / "index.sqlite"
    first = SQLiteBackend(location, create=True)
    second = SQLiteBackend(location, create=True)  # a creator that raced past the lock
    try:
        stored = first.create_meta({"key": "aa", "index_id": "1"})
        assert second.create_meta({"key": "bb", "index_id": "2"}) == stored
    finally:
        first.close()
        second.close()
    other = tmp_path / "other.sqlite"
    Index.create(other, key=KEY).close()
    with pytest.raises(KeyMismatchError):
        Index.create(other, key=b"g" * 32)
    assert meta(other)["key_id"] == key_id(KEY)
    assert read_key_file(f"{other}.key") == KEY  # the key file was not replaced either


# -- a build that fails or dies ------------------------------------------------


def test_a_build_failing_before_its_first_commit_leaves_the_index_as_it_was(
    tmp_path: Path, folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    location = tmp_path / "index.sqlite"
    with Index.create(location, key=KEY) as index:
        build(index, [folders[0]])
    before = meta(location)
    with Index.create(location, key=KEY) as index:
        disk_full_at_commit(monkeypatch)
        with pytest.raises(LeakscanIndexError) as failure:
            build(index, [folders[1]])
        monkeypatch.undo()
    message = str(failure.value)
    assert "\n" not in message
    assert f"cannot write index {location}: the disk is full" in message
    assert message.endswith("the build was rolled back and the index is as it was before it")
    assert meta(location) == before
    with Index.open(location) as reader:
        assert reader.stats().documents == 10
    assert found_sources(location, folders[0] / "first003.txt") == {"first003.txt"}


def test_a_build_that_cannot_even_start_says_the_index_is_unchanged(
    tmp_path: Path, folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    location = tmp_path / "index.sqlite"
    with Index.create(location, key=KEY) as index:
        build(index, [folders[0]])
    before = meta(location)

    def disk_full(self: SQLiteBackend, values: dict[str, str]) -> None:
        raise LeakscanIndexError(f"cannot write index {self.path}: the disk is full")

    with Index.create(location, key=KEY) as index:
        monkeypatch.setattr(SQLiteBackend, "write_meta", disk_full)
        with pytest.raises(LeakscanIndexError) as failure:
            build(index, [folders[1]])
        monkeypatch.undo()
    assert str(failure.value) == (
        f"cannot write index {location}: the disk is full; "
        "the build did not start: the index is unchanged"
    )
    assert meta(location) == before


def test_a_failed_build_with_partial_commits_is_refused_by_scans_until_rebuilt(
    tmp_path: Path, folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    location = tmp_path / "index.sqlite"
    with Index.create(location, key=KEY) as index:
        build(index, [folders[0]])
    started = meta(location)["build_started_at"]
    with (
        pytest.raises(LeakscanIndexError) as failure,
        Index.create(location, key=KEY) as index,
        index.writing(),
    ):
        index.add_text(prose(9, 200), path="partial.txt")
        index.commit()
        disk_full_at_commit(monkeypatch)
        index.add_text(prose(10, 200), path="lost.txt")
    monkeypatch.undo()
    assert str(failure.value).endswith(
        "the index is marked incomplete: scans refuse it until `leakscan index build` runs "
        "to the end"
    )
    stored = meta(location)
    assert stored["build_state"] == BUILD_RUNNING
    assert stored["build_finished_at"] and stored["build_started_at"] >= started
    with pytest.raises(LeakscanIndexError, match=r"did not finish; run `leakscan index build`"):
        Index.open(location, readonly=True)
    with Index.open(location, readonly=True, allow_incomplete=True) as reader:
        assert {d.path for d in reader.documents()} >= {"partial.txt"}
        assert reader.find_document("lost.txt") is None
    result = invoke("scan", str(folders[0] / "first000.txt"), "--index", str(location))
    assert result.exit_code == EXIT_ERROR
    assert "did not finish; run `leakscan index build` again" in result.stderr
    result = invoke("index", "stats", "--index", str(location))
    assert result.exit_code == 0 and f'"build_state": "{BUILD_RUNNING}"' in result.output
    assert '"build_running": false' in result.output
    result = invoke("index", "build", str(folders[0]), "--index", str(location))
    assert result.exit_code == 0, result.output
    assert meta(location)["build_state"] == BUILD_COMPLETE
    result = invoke("scan", str(folders[0] / "first000.txt"), "--index", str(location))
    assert result.exit_code == EXIT_FINDINGS, result.output


def test_scans_during_a_build(tmp_path: Path, folders: tuple[Path, Path]) -> None:
    """A first build still running is refused; a build over a complete index is not."""
    location = tmp_path / "index.sqlite"
    with Index.create(location, key=KEY) as index, index.writing():
        index.add_text(prose(9, 200), path="early.txt")
        index.commit()
        with pytest.raises(LeakscanIndexError, match="is running and no earlier build"):
            Index.open(location, readonly=True)
    with Index.create(location, key=KEY) as index, index.writing():
        index.add_text(prose(10, 200), path="late.txt")
        index.commit()
        with Index.open(location, readonly=True) as reader:
            assert reader.stats().documents == 2
            assert reader.stats().build_running


def test_an_index_without_build_state_still_opens(tmp_path: Path) -> None:
    """Indexes of earlier versions, or filled by hand, record no build: they are read as before."""
    location = tmp_path / "index.sqlite"
    with Index.create(location, key=KEY) as index:
        index.add_text(prose(3, 200), path="memo.txt")
    assert "build_state" not in meta(location)
    with Index.open(location, readonly=True) as reader:
        assert reader.stats().build_state is None


def test_a_build_killed_mid_way_is_refused_then_rebuilt(tmp_path: Path) -> None:
    archive = write_folder(tmp_path / "archive", "doc", 150, seed=500)
    index = tmp_path / "index.sqlite"
    process = leakscan_process("index", "build", str(archive), "--index", str(index), "-j", "2")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if meta(index).get("build_state") == BUILD_RUNNING:
                    break
            except sqlite3.Error:
                pass  # not created yet
            time.sleep(0.01)
        time.sleep(0.2)  # into the build
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == -signal.SIGKILL
    assert meta(index)["build_state"] == BUILD_RUNNING, "the build finished before it was killed"
    assert not writer_running(index), "the killed build's workers kept the lock"
    result = invoke("scan", str(archive / "doc007.txt"), "--index", str(index))
    assert result.exit_code == EXIT_ERROR
    assert "the last index build of" in result.stderr and "did not finish" in result.stderr
    result = invoke("index", "build", str(archive), "--index", str(index), "--lock-timeout", "10")
    assert result.exit_code == 0, result.output
    assert meta(index)["build_documents"] == "150"
    result = invoke("scan", str(archive / "doc007.txt"), "--index", str(index))
    assert result.exit_code == EXIT_FINDINGS, result.output


# -- a full disk, for real ------------------------------------------------------


def test_a_full_disk_fails_the_build_cleanly(tmp_path: Path, folders: tuple[Path, Path]) -> None:
    """Under a file-size limit a build exits 2 with one line; the earlier index is unharmed."""
    first = folders[0]
    big = write_folder(tmp_path / "big", "big", 120, seed=700, words=300)
    index = tmp_path / "index.sqlite"
    with Index.create(index, key=KEY) as opened:
        build(opened, [first])
    limit = max(p.stat().st_size for p in tmp_path.glob("index.sqlite*")) + (128 << 10)
    code, stdout, stderr = run_leakscan(
        "index", "build", str(big), "--index", str(index), preexec_fn=file_size_limit(limit)
    )
    assert code == EXIT_ERROR, stdout + stderr
    line = one_error_line(stderr)
    assert line.startswith(f"leakscan: error: cannot write index {index}: disk I/O error"), line
    assert line.endswith("the build was rolled back and the index is as it was before it")
    with Index.open(index) as reopened:
        assert reopened.stats().documents == 10
        assert reopened.stats().build_state == BUILD_COMPLETE
    assert found_sources(index, first / "first005.txt") == {"first005.txt"}

    # A failed *first* build: the new index is refused, never scanned "clean".
    fresh = tmp_path / "fresh" / "index.sqlite"
    code, stdout, stderr = run_leakscan(
        "index", "build", str(big), "--index", str(fresh), preexec_fn=file_size_limit(128 << 10)
    )
    assert code == EXIT_ERROR, stdout + stderr
    assert one_error_line(stderr).endswith(
        "the index is marked incomplete: scans refuse it until `leakscan index build` runs "
        "to the end"
    )
    result = invoke("scan", str(big / "big001.txt"), "--index", str(fresh))
    assert result.exit_code == EXIT_ERROR
    assert "did not finish; run `leakscan index build` again" in result.stderr
    assert "Traceback" not in result.output


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: a disk that really fills up (needs root and a mountable tmpfs)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root: the RLIMIT_FSIZE test stands for a full disk")
    mountpoint = tmp_path / "small-disk"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        reason = mounted.stderr.strip() or f"exit code {mounted.returncode}"
        pytest.skip(f"cannot mount a tmpfs here ({reason}): the RLIMIT_FSIZE test stands in")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", str(mountpoint)], check=False)


def test_a_full_tmpfs_fails_the_build_cleanly(
    small_tmpfs: Path, tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    first = folders[0]
    big = write_folder(tmp_path / "big", "big", 450, seed=900, words=300)
    index = small_tmpfs / "index.sqlite"
    with Index.create(index, key=KEY) as opened:
        build(opened, [first])
    code, stdout, stderr = run_leakscan("index", "build", str(big), "--index", str(index))
    assert code == EXIT_ERROR, stdout + stderr
    line = one_error_line(stderr)
    assert line.startswith(f"leakscan: error: cannot write index {index}: the disk is full"), line
    assert line.endswith("the build was rolled back and the index is as it was before it")
    assert found_sources(index, first / "first002.txt") == {"first002.txt"}
    result = invoke("index", "stats", "--index", str(index))
    assert result.exit_code == 0 and '"documents": 10' in result.output


# -- sqlite3 errors never leave the index unmapped -------------------------------


def test_every_backend_method_maps_sqlite_errors() -> None:
    handled_inside = {"read_meta", "rollback", "close"}
    for name, _ in inspect.getmembers(IndexBackend, inspect.isfunction):
        if name.startswith("_") or name in handled_inside:
            continue
        assert hasattr(getattr(SQLiteBackend, name), "__wrapped__"), name


def test_a_damaged_index_is_one_clear_error(tmp_path: Path) -> None:
    location = tmp_path / "index.sqlite"
    with Index.create(location, key=KEY) as index:
        for number in range(30):
            index.add_text(prose(number, 300), path=f"d{number}.txt")
    data = bytearray(location.read_bytes())
    page = 4096
    data[2 * page : len(data)] = b"\xff" * (len(data) - 2 * page)  # all but the first pages
    location.write_bytes(bytes(data))
    with pytest.raises(LeakscanIndexError) as failure, Index.open(location) as reader:
        reader.postings(list(range(1, 2000)))
        reader.stats()
    message = str(failure.value)
    assert "\n" not in message and str(location) in message
    assert not isinstance(failure.value.__cause__, LeakscanIndexError)


def test_clean_scan_exit_code_is_unchanged(tmp_path: Path, folders: tuple[Path, Path]) -> None:
    index = tmp_path / "index.sqlite"
    assert invoke("index", "build", str(folders[0]), "--index", str(index)).exit_code == 0
    result = invoke("scan", str(folders[1] / "second000.txt"), "--index", str(index))
    assert result.exit_code == EXIT_CLEAN, result.output
