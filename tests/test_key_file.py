"""The fingerprint key lives in a key file, never in the index (DESIGN.md, issue 11).

Key files themselves (mode, format, never overwritten, bad files), where an
index finds its key (given bytes, --key-file, LEAKSCAN_KEY_FILE, beside the
index), that an index copied without its key confirms nothing, the
migration of indexes that still hold their key, and the key reaching scan's
and watch's worker processes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from leakscan import (
    Index,
    KeyFileError,
    KeyMismatchError,
    MissingKeyError,
    Scheme,
    build,
    new_key_file,
    read_key_file,
)
from leakscan.cli import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, cli
from leakscan.fingerprint import Fingerprinter, key_id
from leakscan.index.keys import ENV_KEY_FILE, key_search
from leakscan.index.sqlite import SQLiteBackend
from leakscan.keyfile import format_key, write_key_file
from leakscan.watch import Watcher, WatchOptions
from tests.texts import prose

KEY = bytes(range(32))
SECRET = prose(71, 400)
OTHER = prose(72, 300)


@pytest.fixture(autouse=True)
def no_key_file_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A LEAKSCAN_KEY_FILE of whoever runs the tests must not change what they see."""
    monkeypatch.delenv(ENV_KEY_FILE, raising=False)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def raw_bytes(index: Path) -> bytes:
    """Everything SQLite keeps of an index on disk: the file, its WAL and shared memory."""
    return b"".join(
        p.read_bytes() for p in (index, Path(f"{index}-wal"), Path(f"{index}-shm")) if p.exists()
    )


def holds_key(data: bytes, key: bytes) -> bool:
    """Whether the key is in ``data`` raw or as hex (either case, text or UTF-16)."""
    forms = [key, key.hex().encode(), key.hex().upper().encode()]
    forms += [f.decode("latin-1").encode("utf-16-le") for f in forms[1:]]
    return any(form in data for form in forms)


def meta(index: Path) -> dict[str, str]:
    db = sqlite3.connect(index)
    try:
        return dict(db.execute("SELECT key, value FROM meta").fetchall())
    finally:
        db.close()


def make_archive(folder: Path) -> Path:
    archive = folder / "archive"
    archive.mkdir(parents=True)
    (archive / "secret.txt").write_text(SECRET, encoding="utf-8")
    (archive / "other.txt").write_text(OTHER, encoding="utf-8")
    return archive


def make_old_index(folder: Path, key: bytes = KEY) -> Path:
    """An index as leakscan wrote them before key files: the key (hex) in its meta, no key
    file. Same order of writes as that code: the meta first, then a build."""
    index = folder / "old.sqlite"
    backend = SQLiteBackend(index, create=True)
    backend.create_meta({**Index._initial_meta(key, Scheme()), "key": key.hex()})
    backend.close()
    with Index.open(index, key=key, writer=True) as opened:
        build(opened, [make_archive(folder)])
    assert not Path(f"{index}.key").exists()
    return index


def leave_stale_copies(index: Path) -> None:
    """Split and merge the meta pages with SQLite's secure_delete off (the default of most
    SQLite builds, not of Debian's): copies of the key's row stay behind in free space."""
    db = sqlite3.connect(index, isolation_level=None)
    db.execute("PRAGMA secure_delete=OFF")
    for n in range(40):
        db.execute("INSERT INTO meta VALUES (?, ?)", (f"filler{n:02}", "f" * 300))
    db.execute("DELETE FROM meta WHERE key LIKE 'filler%'")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    assert raw_bytes(index).count(KEY.hex().encode()) >= 2  # the row and a stale copy


# -- key files -----------------------------------------------------------------


def test_a_new_key_file_is_owner_only_from_the_start_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "case.key"
    old = os.umask(0)  # the mode comes from the creation itself, not from the umask
    try:
        key = new_key_file(path)
    finally:
        os.umask(old)
    assert len(key) == 32
    assert mode_of(path) == 0o600
    assert path.read_text(encoding="ascii") == f"leakscan-key v1 {key.hex()}\n"
    assert read_key_file(path) == key
    assert new_key_file(tmp_path / "second.key") != key  # random, not derived
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers


def test_a_key_file_edited_on_windows_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "crlf.key"
    path.write_bytes(f"  leakscan-key v1 {KEY.hex()}\r\n".encode())
    assert read_key_file(path) == KEY


def test_a_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "case.key"
    key = new_key_file(path)
    with pytest.raises(KeyFileError, match="never overwritten"):
        new_key_file(path)
    with pytest.raises(KeyFileError, match="never overwritten"):
        write_key_file(path, b"q" * 32)
    assert read_key_file(path) == key
    dangling = tmp_path / "link.key"
    dangling.symlink_to(tmp_path / "nowhere")  # writing would create the link's target
    with pytest.raises(KeyFileError, match="never overwritten"):
        new_key_file(dangling)
    assert not (tmp_path / "nowhere").exists()


def test_without_hard_links_the_key_file_is_created_in_place_exclusively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FAT and exFAT media have no hard links: os.link fails there as here.
    def no_links(*_: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "usb.key"
    key = new_key_file(path)
    assert read_key_file(path) == key and mode_of(path) == 0o600
    with pytest.raises(KeyFileError, match="never overwritten"):
        new_key_file(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["usb.key"]


BAD_KEY_FILES: dict[str, tuple[bytes | None, str]] = {
    "missing": (None, "no key file at"),
    "empty": (b"", "not a leakscan key file"),
    "other-text": (b"just some notes\n", "not a leakscan key file"),
    "bare-hex": (KEY.hex().encode() + b"\n", "not a leakscan key file"),
    "newer-format": (f"leakscan-key v2 {KEY.hex()}\n".encode(), "format 'v2'"),
    "bad-hex": (b"leakscan-key v1 " + b"zz" * 32 + b"\n", "no valid hex key"),
    "odd-hex": (b"leakscan-key v1 " + KEY.hex().encode()[:-1] + b"\n", "no valid hex key"),
    "short": (f"leakscan-key v1 {KEY[:8].hex()}\n".encode(), "8-byte key"),
    "long": (f"leakscan-key v1 {(KEY * 3).hex()}\n".encode(), "96-byte key"),
    "binary": (bytes(range(256)), "not ASCII"),
    "huge": (b"leakscan-key v1 " + b"00" * 4000, "too large"),
    "two-keys": (format_key(KEY).encode() * 2, "not a leakscan key file"),
}


@pytest.mark.parametrize("case", sorted(BAD_KEY_FILES))
def test_bad_key_files_are_refused_in_one_line(tmp_path: Path, case: str) -> None:
    content, message = BAD_KEY_FILES[case]
    path = tmp_path / "bad.key"
    if content is not None:
        path.write_bytes(content)
        path.chmod(0o600)
    with pytest.raises(KeyFileError, match=message) as raised:
        read_key_file(path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)


def test_key_files_that_are_not_files_are_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.key"
    os.mkfifo(fifo)
    with pytest.raises(KeyFileError, match="not a regular file"):
        read_key_file(fifo)  # O_NONBLOCK: no writer, no wait
    with pytest.raises(KeyFileError, match=f"{tmp_path}"):
        read_key_file(tmp_path)


def test_a_key_file_without_read_permission_is_a_clear_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:  # (and the interpreter lives where no other user may read it)
        pytest.skip("root reads files whatever their mode")
    path = tmp_path / "locked.key"
    new_key_file(path)
    path.chmod(0)
    with pytest.raises(KeyFileError, match=r"cannot read key file .*Permission denied"):
        read_key_file(path)


def test_a_key_file_others_may_read_is_used_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "shared.key"
    key = new_key_file(path)
    with caplog.at_level(logging.WARNING, logger="leakscan"):
        assert read_key_file(path) == key
    assert caplog.records == []
    path.chmod(0o640)  # a team sharing it through a group, or a FAT stick
    with caplog.at_level(logging.WARNING, logger="leakscan"):
        assert read_key_file(path) == key
    [warning] = caplog.records
    assert "mode 640" in warning.getMessage() and f"chmod 600 {path}" in warning.getMessage()


# -- where an index finds its key ----------------------------------------------


def test_a_new_index_gets_its_key_file_beside_it_and_keeps_only_the_key_id(
    tmp_path: Path,
) -> None:
    location = tmp_path / "index.sqlite"
    with Index.create(location) as index:
        index.add_text(SECRET, path="secret.txt")
        made = index.key
        assert index.key_file == f"{location}.key"
    beside = tmp_path / "index.sqlite.key"
    assert mode_of(beside) == 0o600 and read_key_file(beside) == made
    stored = meta(location)
    assert "key" not in stored and stored["key_id"] == key_id(made)
    assert not holds_key(raw_bytes(location), made)
    with Index.open(location, readonly=True) as again:
        assert again.key == made and not again.stats().key_in_index
    # A key given as bytes for a new index is kept in its key file too.
    given = tmp_path / "given.sqlite"
    Index.create(given, key=KEY).close()
    assert read_key_file(f"{given}.key") == KEY


def test_indexes_can_share_one_key_file_on_purpose(tmp_path: Path) -> None:
    shared = tmp_path / "keys" / "case.key"
    shared.parent.mkdir()
    key = new_key_file(shared)
    for name in ("a.sqlite", "b.sqlite"):
        with Index.create(tmp_path / name, key_file=shared) as index:
            assert index.key == key and index.key_file == str(shared)
    assert not list(tmp_path.glob("*.sqlite.key"))  # nothing written beside them
    assert meta(tmp_path / "a.sqlite")["key_id"] == meta(tmp_path / "b.sqlite")["key_id"]


def test_key_precedence_bytes_then_option_then_environment_then_beside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    location = tmp_path / "index.sqlite"
    Index.create(location, key=KEY).close()
    own = tmp_path / "own.key"
    shutil.copy(f"{location}.key", own)
    stranger = tmp_path / "stranger.key"
    new_key_file(stranger)
    monkeypatch.setenv(ENV_KEY_FILE, str(stranger))
    with pytest.raises(KeyMismatchError, match=f"from {ENV_KEY_FILE}"):
        Index.open(location)  # the environment comes before the file beside the index
    with Index.open(location, key_file=own) as index:  # the option before the environment
        assert index.key == KEY and index.key_file == str(own)
    with Index.open(location, key=KEY, key_file=stranger) as index:  # bytes before all
        assert index.key == KEY
    Path(f"{location}.key").unlink()
    monkeypatch.setenv(ENV_KEY_FILE, str(own))
    with Index.open(location) as index:
        assert index.key == KEY and index.key_file == str(own)


def test_an_index_without_its_key_refuses_clearly_but_its_stats_still_open(
    tmp_path: Path,
) -> None:
    location = tmp_path / "index.sqlite"
    with Index.create(location) as index:
        index.add_text(SECRET, path="secret.txt")
        wanted = index.key_id
    Path(f"{location}.key").unlink()
    with pytest.raises(MissingKeyError) as raised:
        Index.open(location, readonly=True)
    message = str(raised.value)
    assert str(location) in message and wanted in message
    assert f"{location}.key" in message and "--key-file" in message and ENV_KEY_FILE in message
    with Index.open(location, readonly=True, need_key=False) as index:
        stats = index.stats()
        assert stats.documents == 1 and stats.key_file is None and not stats.key_in_index
        with pytest.raises(MissingKeyError, match=wanted):
            index.fingerprinter.fingerprint(SECRET)
        with pytest.raises(MissingKeyError):
            _ = index.key


def test_a_wrong_key_is_a_mismatch_even_for_a_reader_that_needs_none(tmp_path: Path) -> None:
    location = tmp_path / "index.sqlite"
    Index.create(location, key=KEY).close()
    stranger = tmp_path / "stranger.key"
    new_key_file(stranger)
    for need_key in (True, False):
        with pytest.raises(KeyMismatchError, match="key id"):
            Index.open(location, key_file=stranger, need_key=need_key)


def test_two_creators_of_one_shared_key_file_end_with_the_same_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared.key"
    first: list[bytes] = []

    def another_creator_first(path: str) -> bytes:
        # The file appears between this creator's look and its write, as when two
        # indexes sharing one key file are created at the same moment.
        first.append(new_key_file(path))
        return new_key_file(path)  # refused: the file exists now

    monkeypatch.setattr("leakscan.index.keys.new_key_file", another_creator_first)
    with Index.create(tmp_path / "b.sqlite", key_file=shared) as index:
        assert index.key == first[0] == read_key_file(shared)


def test_a_new_index_refuses_a_key_that_differs_from_its_key_file(tmp_path: Path) -> None:
    location = tmp_path / "index.sqlite"
    new_key_file(f"{location}.key")
    with pytest.raises(KeyMismatchError, match="not the key given"):
        Index.create(location, key=KEY)
    assert not location.exists()  # no empty index left behind


def test_a_bad_key_file_stops_creation_before_anything_is_written(tmp_path: Path) -> None:
    location = tmp_path / "index.sqlite"
    Path(f"{location}.key").write_text("not a key\n")
    with pytest.raises(KeyFileError, match="not a leakscan key file"):
        Index.create(location)
    assert not location.exists()


def test_an_index_at_a_url_has_no_key_file_beside_it(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://scanner@db.example/case417"
    path, why = key_search(url, None, None)
    assert path is None and "--key-file" in why and ENV_KEY_FILE in why
    assert key_search(url, None, "/keys/case417.key") == ("/keys/case417.key", "given")
    monkeypatch.setenv(ENV_KEY_FILE, "/keys/env.key")
    assert key_search(url, None, None) == ("/keys/env.key", f"from {ENV_KEY_FILE}")


def test_an_index_in_memory_keeps_its_key_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_KEY_FILE, str(tmp_path / "absent.key"))
    monkeypatch.chdir(tmp_path)
    with Index.open("memory://", create=True) as index:
        index.add_text(SECRET, path="secret.txt")
        assert len(index.key) == 32 and index.key_file is None
    with Index.open("memory://", create=True, key=KEY) as index:
        assert index.key == KEY
    assert list(tmp_path.iterdir()) == []


# -- an index without its key confirms nothing ---------------------------------


def test_known_text_cannot_be_confirmed_against_an_index_without_its_key(
    tmp_path: Path,
) -> None:
    location = tmp_path / "case" / "index.sqlite"
    texts = {f"doc{i}.txt": prose(80 + i, 300) for i in range(5)}
    with Index.create(location) as index:
        for name, text in texts.items():
            index.add_text(text, path=name)
        key = index.key
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    copy = elsewhere / "index.sqlite"
    shutil.copy(location, copy)  # what leaves the building: the index file alone
    assert not holds_key(raw_bytes(copy), key)
    with pytest.raises(MissingKeyError, match=key_id(key)):
        Index.open(copy, readonly=True)
    known = texts["doc2.txt"]
    with Index.open(copy, readonly=True, need_key=False) as index:
        for guess in (b"\0" * 32, b"\xff" * 32, KEY, os.urandom(32), os.urandom(64)):
            hashes = Fingerprinter(guess).fingerprint(known).hashes.tolist()
            assert hashes and index.postings(hashes) == []
            assert index.frequencies(hashes) == {}
        # The same look-up with the index's own key finds the text: the test can fail.
        hashes = Fingerprinter(key).fingerprint(known).hashes.tolist()
        assert len({p.hash for p in index.postings(hashes)}) == len(set(hashes))
    with pytest.raises(KeyMismatchError):
        Index.open(copy, key=os.urandom(32))


# -- migrating indexes that still hold their key --------------------------------


def test_an_old_index_still_works_with_a_warning_until_migrated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    location = make_old_index(tmp_path)
    assert holds_key(raw_bytes(location), KEY)  # the format this migrates from
    with caplog.at_level(logging.WARNING, logger="leakscan"), Index.open(location) as index:
        assert index.key == KEY and index.stats().key_in_index
    [warning] = [r for r in caplog.records if "migrate-key" in r.getMessage()]
    assert str(location) in warning.getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="leakscan"), Index.open(location, key=KEY):
        pass  # a worker given the key does not repeat the warning
    assert caplog.records == []


def test_migration_through_the_cli_leaves_no_copy_of_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    location = make_old_index(tmp_path)
    leave_stale_copies(location)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "copy.txt").write_text(SECRET, encoding="utf-8")
    runner = CliRunner()
    before = runner.invoke(cli, ["index", "stats", "--index", str(location)])
    assert json.loads(before.stdout)["key_in_index"] is True

    # A reader with the index open keeps the WAL from being emptied: refused, said why.
    reader = sqlite3.connect(location)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM documents").fetchone()
    busy = runner.invoke(cli, ["index", "migrate-key", "--index", str(location)])
    reader.close()
    assert busy.exit_code == EXIT_ERROR
    assert "another process has" in busy.stderr and len(busy.stderr.splitlines()) == 1
    assert read_key_file(f"{location}.key") == KEY  # written before anything was removed

    done = runner.invoke(cli, ["index", "migrate-key", "--index", str(location)])
    assert done.exit_code == 0, done.output
    assert "holds no key" in done.stdout  # the first run had deleted it, this one scrubbed
    key_file = Path(f"{location}.key")
    assert mode_of(key_file) == 0o600 and read_key_file(key_file) == KEY
    assert "key" not in meta(location) and meta(location)["key_id"] == key_id(KEY)
    assert not holds_key(raw_bytes(location), KEY)

    scanned = runner.invoke(cli, ["scan", "export", "--index", str(location), "--no-progress"])
    assert scanned.exit_code == EXIT_FINDINGS, scanned.output
    assert "migrate-key" not in scanned.stderr
    after = runner.invoke(cli, ["index", "stats", "--index", str(location)])
    stats = json.loads(after.stdout)
    assert stats["key_in_index"] is False and stats["key_file"] == str(key_file)


def test_migrating_to_a_key_file_elsewhere_in_one_run(tmp_path: Path) -> None:
    location = make_old_index(tmp_path)
    away = tmp_path / "vault"
    away.mkdir()
    target = away / "case417.key"
    runner = CliRunner()
    done = runner.invoke(
        cli, ["index", "migrate-key", "--index", str(location), "--key-file", str(target)]
    )
    assert done.exit_code == 0, done.output
    assert f"written to {target}" in done.stdout and key_id(KEY) in done.stdout
    assert mode_of(target) == 0o600 and read_key_file(target) == KEY
    assert not Path(f"{location}.key").exists()
    assert not holds_key(raw_bytes(location), KEY)
    with pytest.raises(MissingKeyError, match=key_id(KEY)):
        Index.open(location)
    with Index.open(location, key_file=target) as index:
        assert index.key == KEY


def test_migration_refuses_a_key_file_holding_another_key(tmp_path: Path) -> None:
    location = make_old_index(tmp_path)
    stranger = tmp_path / "stranger.key"
    new_key_file(stranger)
    result = CliRunner().invoke(
        cli, ["index", "migrate-key", "--index", str(location), "--key-file", str(stranger)]
    )
    assert result.exit_code == EXIT_ERROR
    assert "key id" in result.stderr and len(result.stderr.splitlines()) == 1
    assert meta(location)["key"] == KEY.hex()  # left as it was


# -- the command line --------------------------------------------------------------


def test_key_new_prints_the_key_id_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "case.key"
    runner = CliRunner()
    made = runner.invoke(cli, ["key", "new", str(path)])
    assert made.exit_code == 0, made.output
    assert made.stdout.strip() == f"wrote key file {path} (key id {key_id(read_key_file(path))})"
    assert mode_of(path) == 0o600
    before = path.read_bytes()
    again = runner.invoke(cli, ["key", "new", str(path)])
    assert again.exit_code == EXIT_ERROR and "never overwritten" in again.stderr
    assert path.read_bytes() == before


def test_a_wrong_key_file_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    make_archive(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["index", "build", "archive"]).exit_code == 0
    stranger = tmp_path / "stranger.key"
    new_key_file(stranger)
    (tmp_path / "suspect.txt").write_text(SECRET, encoding="utf-8")
    for command in (
        ["scan", "suspect.txt", "--key-file", str(stranger)],
        ["index", "build", "archive", "--key-file", str(stranger)],
        ["fingerprint", "suspect.txt", "--key-file", str(stranger)],
    ):
        result = runner.invoke(cli, command)
        assert result.exit_code == EXIT_ERROR, (command, result.output)
        [line] = result.stderr.splitlines()
        assert line.startswith("leakscan: error: key file") and "key id" in line
    monkeypatch.setenv(ENV_KEY_FILE, str(stranger))
    result = runner.invoke(cli, ["scan", "suspect.txt"])
    assert result.exit_code == EXIT_ERROR
    assert f"stranger.key (from {ENV_KEY_FILE})" in result.stderr


def test_scan_with_a_key_file_from_another_folder_reaches_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = tmp_path / "case"
    case.mkdir()
    monkeypatch.chdir(case)
    make_archive(case)
    runner = CliRunner()
    built = runner.invoke(cli, ["index", "build", "archive", "--key-file", "../case.key"])
    assert built.exit_code == 0, built.output
    assert mode_of(tmp_path / "case.key") == 0o600
    assert not (case / "fingerprints" / "index.sqlite.key").exists()
    index = case / "fingerprints" / "index.sqlite"
    export = tmp_path / "desk" / "export"
    export.mkdir(parents=True)
    for n in range(4):
        (export / f"letter{n}.txt").write_text(
            prose(90 + n, 80) + "\n\n" + SECRET, encoding="utf-8"
        )
    (export / "clean.txt").write_text(prose(95, 200), encoding="utf-8")
    monkeypatch.chdir(tmp_path / "desk")
    args = ["scan", "export", "--index", str(index), "--jobs", "2", "--format", "jsonl"]
    without = runner.invoke(cli, args)
    assert without.exit_code == EXIT_ERROR and "--key-file" in without.stderr
    result = runner.invoke(cli, [*args, "--key-file", "../case.key"])
    assert result.exit_code == EXIT_FINDINGS, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    found = sorted(r["suspect"] for r in records if r["type"] == "finding")
    assert found == [f"export/letter{n}.txt" for n in range(4)]
    [summary] = [r for r in records if r["type"] == "summary"]
    assert summary["errors"] == 0 and summary["index"]["key_id"] == key_id(
        read_key_file(tmp_path / "case.key")
    )
    monkeypatch.setenv(ENV_KEY_FILE, str(tmp_path / "case.key"))
    assert runner.invoke(cli, args).exit_code == EXIT_FINDINGS
    clean = runner.invoke(cli, [*args[:1], "export/clean.txt", *args[2:]])
    assert clean.exit_code == EXIT_CLEAN, clean.output


def test_stats_and_report_work_without_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    make_archive(tmp_path)
    (tmp_path / "suspect.txt").write_text(SECRET, encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["index", "build", "archive"]).exit_code == 0
    scanned = runner.invoke(cli, ["scan", "suspect.txt", "--format", "jsonl"])
    assert scanned.exit_code == EXIT_FINDINGS
    (tmp_path / "findings.jsonl").write_text(scanned.stdout, encoding="utf-8")
    Path("fingerprints/index.sqlite.key").rename(tmp_path / "kept-apart.key")
    stats = runner.invoke(cli, ["index", "stats"])
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.stdout)["key_file"] is None
    report = runner.invoke(cli, ["report", "findings.jsonl", "--format", "csv"])
    assert report.exit_code == 0, report.output
    assert "secret.txt" in report.stdout
    scan = runner.invoke(cli, ["scan", "suspect.txt"])
    assert scan.exit_code == EXIT_ERROR and "no key file" in scan.stderr


def test_every_command_that_opens_an_index_takes_key_file() -> None:
    runner = CliRunner()
    for command in (
        ["index", "build"],
        ["index", "stats"],
        ["index", "migrate-key"],
        ["scan"],
        ["watch"],
        ["report"],
        ["fingerprint"],
    ):
        shown = runner.invoke(cli, [*command, "--help"])
        assert shown.exit_code == 0
        assert "--key-file" in shown.output and ENV_KEY_FILE in shown.output, command
    scan_help = runner.invoke(cli, ["scan", "--help"]).output
    matching = scan_help.split("Matching:")[1].split("Limits:")[0]
    assert "--key-file" in matching


# -- watch ----------------------------------------------------------------------


@pytest.fixture
def no_thread_left() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    leaked = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert not leaked, leaked


@pytest.mark.usefixtures("no_thread_left")
def test_watch_with_a_key_file_kept_apart_finds_what_arrives(tmp_path: Path) -> None:
    key_file = tmp_path / "vault" / "case.key"
    key_file.parent.mkdir()
    new_key_file(key_file)
    index = tmp_path / "index.sqlite"
    with Index.create(index, key_file=key_file) as opened:
        build(opened, [make_archive(tmp_path)])
    assert not Path(f"{index}.key").exists()
    drop = tmp_path / "drop"
    drop.mkdir()
    with pytest.raises(MissingKeyError):
        Watcher(index, [drop])
    output_path = tmp_path / "found.jsonl"
    with open(output_path, "a", encoding="utf-8") as output:
        watcher = Watcher(
            index,
            [drop],
            key_file=key_file,
            options=WatchOptions(settle_seconds=0.3, poll_seconds=0.05, status_every=3600),
            output=output,
            state_path=tmp_path / "state.sqlite",
        )
        thread = threading.Thread(target=watcher.run)
        thread.start()
        try:
            (drop / "leak.txt").write_text(prose(97, 60) + "\n" + SECRET, encoding="utf-8")
            deadline = time.monotonic() + 60
            while watcher.stats.scanned < 1:
                assert time.monotonic() < deadline, "timed out"
                time.sleep(0.05)
        finally:
            watcher.stop()
            thread.join(timeout=60)
            watcher.close()
    records = [json.loads(line) for line in output_path.read_text().splitlines()]
    assert [(r["type"], r.get("source")) for r in records] == [("finding", "secret.txt")]
