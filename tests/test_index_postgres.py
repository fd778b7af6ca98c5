"""PostgreSQL specifics, against a real throwaway server (``tests/postgres_server.py``):
concurrent builds from separate processes, readers during a build, the advisory writer
lock, a dead server or a lost connection as one line, passwords never shown, schema
versions and migrations, the postings index made after a fresh load, and the CLI end to
end. Texts are invented words (``tests.texts``).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest

from leakscan import Index, build
from leakscan.errors import IndexNotFoundError, LeakscanIndexError, SchemeMismatchError
from leakscan.index import BUILD_COMPLETE
from leakscan.index import postgres as pg_backend
from leakscan.index.base import IndexBackend
from leakscan.index.pgconn import pg_cause, redact
from leakscan.keyfile import write_key_file
from leakscan.records import Finding
from tests.postgres_server import PASSWORD, PASSWORD_USER, PostgresServer
from tests.test_index_contract import all_hashes, postings_of
from tests.test_index_faults import (
    ROOT,
    WAITING,
    go,
    leakscan_process,
    one_error_line,
    run_leakscan,
    write_folder,
)
from tests.texts import prose

KEY = b"p" * 32


@pytest.fixture
def url(postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new database, and the key file its index uses (an index at a URL has none beside
    it): named by LEAKSCAN_KEY_FILE, for this process and the ones it starts."""
    key_file = tmp_path / "pg.key"
    write_key_file(key_file, KEY)
    monkeypatch.setenv("LEAKSCAN_KEY_FILE", str(key_file))
    return postgres_server.new_database()


def expected_frequencies(index: Index, texts: list[str]) -> Counter[int]:
    counts: Counter[int] = Counter()
    for text in dict.fromkeys(texts):
        counts.update(set(index.fingerprinter.fingerprint(text).hashes.tolist()))
    return counts


def texts_of(*folders: Path) -> list[str]:
    return [p.read_text(encoding="utf-8") for f in folders for p in sorted(f.iterdir())]


def one_line_without(message: str, *secrets: str) -> None:
    assert "\n" not in message and "Traceback" not in message, message
    for secret in secrets:
        assert secret not in message, message


# -- several processes at once ------------------------------------------------------


def test_two_concurrent_builds_neither_lose_nor_duplicate_documents(
    url: str, tmp_path: Path
) -> None:
    first = write_folder(tmp_path / "first", "first", 8, seed=100)
    second = write_folder(tmp_path / "second", "second", 8, seed=300)
    letterhead = prose(6, 60)  # in every document: fingerprints that many contents hold
    for document in [*first.iterdir(), *second.iterdir()]:
        document.write_text(f"{letterhead} {document.read_text(encoding='utf-8')}", "utf-8")
    shared = prose(5, 80)  # one text in both folders: one content, two documents
    (first / "shared.txt").write_text(shared, encoding="utf-8")
    (second / "shared.txt").write_text(shared, encoding="utf-8")
    started = [
        leakscan_process("index", "build", str(folder), "--index", url, on_go=True)
        for folder in (first, second)
    ]
    go(started)
    outputs = [process.communicate(timeout=120) for process in started]
    for process, (_, stderr) in zip(started, outputs, strict=True):
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr, stderr
    # One build at a time: the one that finished first saw only its own folder.
    counts = sorted(
        int(re.search(r"(\d+) documents", stdout).group(1))  # type: ignore[union-attr]
        for stdout, _ in outputs
    )
    assert counts == [9, 18], outputs
    assert sum(WAITING in stderr for _, stderr in outputs) <= 1, outputs
    with Index.open(url, readonly=True) as reader:
        stats = reader.stats()
        assert (stats.documents, stats.contents, stats.build_state) == (18, 17, BUILD_COMPLETE)
        assert sorted(d.path for d in reader.documents()) == sorted(
            [p.name for p in first.iterdir()] + [p.name for p in second.iterdir()]
        )
        texts = texts_of(first, second)
        expected = expected_frequencies(reader, texts)
        assert reader.frequencies(sorted(expected)) == expected
        assert stats.fingerprints == sum(postings_of(reader, t) for t in dict.fromkeys(texts))


def letterheaded(n: int) -> str:
    """Text ``n`` of a family whose members share a letterhead."""
    return f"{prose(1, 60)} {prose(n, 150)}"


_WRITER = textwrap.dedent(
    """
    import sys
    from leakscan import Index
    from tests.test_index_postgres import letterheaded as text
    url, prefix, low, high = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    # no writer lock: the library lets a plain open write, and the tables must hold up
    with Index.open(url, key=b"p" * 32) as index:
        print("ready", flush=True)
        sys.stdin.readline()
        for n in range(low, high):
            index.add_text(text(n), path=f"{prefix}/{n}.txt")
            if n % 3 == 0:
                index.commit()
    """
)


def test_writers_without_the_lock_keep_contents_and_frequencies_exact(url: str) -> None:
    Index.create(url, key=KEY).close()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, url, prefix, str(low), str(high)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for prefix, low, high in (("one", 0, 12), ("two", 6, 18))
    ]
    go(writers)
    for writer in writers:
        _, stderr = writer.communicate(timeout=120)
        assert writer.returncode == 0, stderr
    with Index.open(url, readonly=True) as reader:
        assert reader.stats().documents == 24
        assert reader.stats().contents == 18  # texts 6-11 were written by both: stored once
        texts = [letterheaded(n) for n in range(18)]
        expected = expected_frequencies(reader, texts)
        assert reader.frequencies(sorted(expected)) == expected
        for n in (0, 8, 17):
            hashes = reader.fingerprinter.fingerprint(prose(n, 150)).hashes.tolist()
            assert len({p.content_id for p in reader.postings(hashes[5:10])}) == 1


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_batch_gives_way_to_what_another_writer_stored_meanwhile(url: str) -> None:
    """Documents kept back meet, when written, paths and contents another writer stored
    after they were added: one it committed before, one it commits while the batch waits
    for that path. The batch's documents take the paths, each content is stored once and
    counted once, and contents no document holds any more are gone."""
    Index.create(url, key=KEY).close()
    with Index.open(url, key=KEY) as mine, Index.open(url, key=KEY) as other:
        ids = {
            "p/1.txt": mine.add_text(letterheaded(1), path="p/1.txt"),
            "p/2.txt": mine.add_text(letterheaded(2), path="p/2.txt"),
            "p/3.txt": mine.add_text(letterheaded(3), path="p/3.txt"),
            "p/4.txt": mine.add_text(letterheaded(4), path="p/4.txt"),
        }
        other.add_text(letterheaded(1), path="p/1.txt")  # the same path and content
        other.add_text(letterheaded(20), path="p/2.txt")  # the same path, another text
        other.add_text(letterheaded(3), path="q/3.txt")  # the same content elsewhere
        other.commit()
        other.add_text(letterheaded(5), path="p/5.txt")
        # written (its counts too: its commit waits for no one), not committed
        assert other.stats().documents == 4
        ids["p/5.txt"] = mine.add_text(letterheaded(6), path="p/5.txt")
        failed: list[BaseException] = []

        def commit_other() -> None:
            try:
                other.commit()
            except BaseException as exc:  # (raised again below, in the test's thread)
                failed.append(exc)

        committer = threading.Timer(2.0, commit_other)
        committer.start()
        try:
            mine.commit()  # waits for p/5.txt until the other writer commits it
        finally:
            committer.join()
        if failed:
            raise failed[0]
    with Index.open(url, readonly=True) as reader:
        held = {
            d.path: (d.id, reader.contents([d.content_id])[d.content_id].sha256)
            for d in reader.documents()
        }
        texts = {f"p/{n}.txt": letterheaded(n) for n in (1, 2, 3, 4)}
        texts.update({"p/5.txt": letterheaded(6), "q/3.txt": letterheaded(3)})
        assert {path: content for path, (_, content) in held.items()} == {
            path: sha(text) for path, text in texts.items()
        }
        assert {path: held[path][0] for path in ids} == ids  # the ids add_text gave
        stats = reader.stats()
        assert (stats.documents, stats.contents) == (6, 5)  # 20 and 5 are held by none
        expected = expected_frequencies(reader, list(texts.values()))
        gone = [letterheaded(20), letterheaded(5)]
        assert reader.frequencies(sorted({*expected, *all_hashes(reader, gone)})) == expected
        assert stats.fingerprints == sum(
            postings_of(reader, text) for text in dict.fromkeys(texts.values())
        )


def test_documents_are_written_many_at_a_time(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build sends a few statements per batch, not four per document; batches of four
    (ids taken two, then four at a time) store what one by one would have."""
    monkeypatch.setattr(pg_backend, "_BATCH_DOCUMENTS", 4)
    monkeypatch.setattr(pg_backend, "_FIRST_IDS", 2)
    texts = [letterheaded(n % 11) for n in range(30)]  # contents again, in other batches too
    sent: list[str] = []
    execute = psycopg.Cursor.execute

    def counted(cursor: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return execute(cursor, query, *args, **kwargs)

    with Index.create(url, key=KEY) as index, index.writing():
        monkeypatch.setattr(psycopg.Cursor, "execute", counted)
        ids = [index.add_text(text, path=f"d/{n:02d}.txt") for n, text in enumerate(texts)]
        index.commit()
        monkeypatch.setattr(psycopg.Cursor, "execute", execute)
    kinds = Counter(" ".join(q.replace("(", " ").split()[:3]) for q in sent)
    assert kinds["SELECT nextval pg_get_serial_sequence"] == 8, kinds  # 2, then 4 at a time
    for kind in ("SELECT d.id FROM", "INSERT INTO contents", "INSERT INTO documents"):
        assert kinds[kind] == 8, kinds  # once a batch
    # and BEGIN, the counts lock, COMMIT (a first load is counted when its build ends)
    assert len(sent) == 8 * 4 + 3, kinds
    assert len(set(ids)) == 30
    with Index.open(url, readonly=True) as reader:
        stored = {d.path: d.id for d in reader.documents()}
        assert stored == {f"d/{n:02d}.txt": ids[n] for n in range(30)}
        stats = reader.stats()
        assert (stats.documents, stats.contents) == (30, 11)
        expected = expected_frequencies(reader, texts)
        assert reader.frequencies(sorted(expected)) == expected
        assert stats.fingerprints == sum(postings_of(reader, t) for t in dict.fromkeys(texts))


@pytest.mark.parametrize(
    ("path", "cause"),
    [("bad\x00name.txt", "NUL"), ("bad\udc80name.txt", "not valid Unicode")],
    ids=["nul", "lone-surrogate"],
)
def test_a_name_that_cannot_be_stored_fails_where_it_is_added(
    url: str, path: str, cause: str
) -> None:
    """Kept back or not, a name the database cannot hold fails the call that brought it,
    and the transaction is rolled back as it was when documents were written one by one."""
    with Index.create(url, key=KEY) as index:
        index.add_text(prose(1, 200), path="kept.txt")
        index.commit()
        index.add_text(prose(2, 200), path="uncommitted.txt")
        with pytest.raises(LeakscanIndexError) as failure:
            index.add_text(prose(3, 200), path=path)
        message = str(failure.value)
        one_line_without(message)
        assert message.startswith(f"cannot write index {url}: ") and cause in message
        assert [d.path for d in index.documents()] == ["kept.txt"]
        index.add_text(prose(4, 200), path="after.txt")
    with Index.open(url, readonly=True) as reader:
        assert [d.path for d in reader.documents()] == ["after.txt", "kept.txt"]


# -- the writer lock and readers --------------------------------------------------


def test_a_second_build_waits_for_the_first_and_can_give_up(url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "docs", "doc", 3, seed=40)
    with Index.create(url, key=KEY) as holder:
        assert holder.stats().build_running
        with pytest.raises(LeakscanIndexError, match="already open for writing in this process"):
            Index.create(url, key=KEY)
        code, stdout, stderr = run_leakscan(
            "index", "build", str(folder), "--index", url, "--lock-timeout", "0.5"
        )
        assert code == 2, stdout + stderr
        holder_name = f"pid {os.getpid()} on {socket.gethostname()}"
        assert f"leakscan: {WAITING} {url} ({holder_name}) to finish…" in stderr
        assert one_error_line(stderr).endswith("is still running; gave up waiting after 0.5 s")
        # a reader opens, reads and never takes the lock
        with Index.open(url, readonly=True, allow_incomplete=True) as reader:
            assert reader.stats().build_running
    code, stdout, stderr = run_leakscan("index", "build", str(folder), "--index", url)
    assert code == 0, stderr
    assert WAITING not in stderr
    with Index.open(url, readonly=True) as reader:
        assert not reader.stats().build_running
        assert reader.stats().documents == 3


def test_scans_while_a_build_runs(url: str) -> None:
    """A first build still running is refused; a build over a complete index is not, and
    what it has not committed is not seen."""
    with Index.create(url, key=KEY) as index, index.writing():
        index.add_text(prose(9, 200), path="early.txt")
        index.commit()
        with pytest.raises(LeakscanIndexError, match="is running and no earlier build"):
            Index.open(url, readonly=True)
    with Index.create(url, key=KEY) as index, index.writing():
        index.add_text(prose(10, 200), path="late.txt")
        index.commit()
        index.add_text(prose(11, 200), path="uncommitted.txt")
        with Index.open(url, readonly=True) as reader:
            assert reader.stats().build_running
            assert {d.path for d in reader.documents()} == {"early.txt", "late.txt"}
            findings = scan_texts(reader, prose(9, 200)[200:900], prose(11, 200)[200:900])
            assert findings == {"early.txt"}
    with Index.open(url, readonly=True) as reader:
        assert not reader.stats().build_running
        assert scan_texts(reader, prose(11, 200)[200:900]) == {"uncommitted.txt"}


def scan_texts(index: Index, *texts: str) -> set[str]:
    from leakscan import Scanner

    scanner = Scanner(index)
    return {f.source for text in texts for f in scanner.scan_text(text) if isinstance(f, Finding)}


# -- failures as one line ---------------------------------------------------------------


def test_a_dead_server_is_one_clear_line(tmp_path: Path) -> None:
    nowhere = f"postgresql://leakscan:hunter2@/leaks?host={tmp_path}"
    for args in (
        ("scan", str(tmp_path), "--index", nowhere),
        ("index", "build", str(tmp_path), "--index", nowhere),
    ):
        code, stdout, stderr = run_leakscan(*args)
        assert code == 2, stdout + stderr
        line = one_error_line(stderr)
        assert "no database server answers there" in line, line
        assert "postgresql://leakscan:***@/leaks" in line
        one_line_without(line, "hunter2")


def test_a_lost_connection_is_one_clear_line(url: str, postgres_server: PostgresServer) -> None:
    with Index.create(url, key=KEY) as index:
        index.add_text(prose(1, 200), path="memo.txt")
    with Index.open(url, readonly=True) as reader:
        database = url.split("/")[3].split("?")[0]
        postgres_server.psql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{database}' AND application_name LIKE 'leakscan index reader%'"
        )
        with pytest.raises(LeakscanIndexError) as failure:
            reader.postings([1, 2, 3])
        message = str(failure.value)
        one_line_without(message)
        assert message.startswith(f"cannot read index {url}: the database server closed")
        with pytest.raises(LeakscanIndexError, match="connection to the database server was lost"):
            reader.stats()


def test_passwords_are_never_shown(postgres_server: PostgresServer, url: str) -> None:
    socket_dir = postgres_server.socket_dir
    wrong = f"postgresql://{PASSWORD_USER}:not-the-{PASSWORD}@/postgres?host={socket_dir}"
    with pytest.raises(LeakscanIndexError) as failure:
        Index.open(wrong)
    message = str(failure.value)
    one_line_without(message, f"not-the-{PASSWORD}")
    assert "refused the user name or password" in message
    assert f"postgresql://{PASSWORD_USER}:***@/postgres" in message
    database = url.split("/")[3].split("?")[0]
    postgres_server.psql(f'GRANT ALL ON DATABASE "{database}" TO {PASSWORD_USER}')
    postgres_server.psql(f"GRANT ALL ON SCHEMA public TO {PASSWORD_USER}", url)
    right = f"postgres://{PASSWORD_USER}:{PASSWORD}@/{database}?host={socket_dir}"
    with Index.create(right, key=KEY) as index:
        index.add_text(prose(3, 200), path="memo.txt")
        assert index.location == index.stats().location == redact(right)
        assert PASSWORD not in index.location
    missing = f"postgresql://{PASSWORD_USER}:{PASSWORD}@/no_such_db?host={socket_dir}"
    with pytest.raises(IndexNotFoundError) as not_found:
        Index.open(missing)
    one_line_without(str(not_found.value), PASSWORD)
    assert 'database "no_such_db" does not exist' in str(not_found.value)


def test_an_empty_database_is_no_index(url: str) -> None:
    with pytest.raises(IndexNotFoundError, match=r"no index at .*leakscan index build"):
        Index.open(url, readonly=True)
    with pytest.raises(IndexNotFoundError):
        Index.open(url, writer=True)


def test_every_backend_method_maps_psycopg_errors() -> None:
    handled_inside = {"read_meta", "rollback", "close"}
    for name, _ in inspect.getmembers(IndexBackend, inspect.isfunction):
        if name.startswith("_") or name in handled_inside:
            continue
        assert hasattr(getattr(pg_backend.PostgresBackend, name), "__wrapped__"), name
    assert hasattr(pg_backend.PostgresBackend._finish, "__wrapped__")  # what close() does


def test_a_full_disk_and_other_server_errors_read_as_causes() -> None:
    full = psycopg.errors.DiskFull("could not extend file: No space left on device")
    assert pg_cause(full, "postgresql:///x").startswith("the database server's disk or memory")
    busy = psycopg.errors.DeadlockDetected("deadlock detected")
    assert pg_cause(busy, "postgresql:///x").startswith("another process keeps the index locked")
    secret = psycopg.OperationalError("FATAL: bad pw s3cr3t")
    assert "s3cr3t" not in pg_cause(secret, "postgresql://u:s3cr3t@h/db")


# -- schema versions ----------------------------------------------------------------------


def test_schema_migrations_run_in_one_transaction(
    url: str, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Index.create(url, key=KEY) as index:
        index.add_text(prose(1, 200), path="memo.txt")
    version = "SELECT value FROM meta WHERE key = 'postgres_schema_version'"
    assert postgres_server.psql(version, url) == str(pg_backend.SCHEMA_VERSION) == "3"
    monkeypatch.setattr(pg_backend, "SCHEMA_VERSION", 4)
    monkeypatch.setitem(
        pg_backend._MIGRATIONS,
        4,
        ("CREATE TABLE added_in_4 (x INTEGER)", "ALTER TABLE contents ADD COLUMN extra INTEGER"),
    )
    with Index.open(url, readonly=True) as reader:  # a reader reads the old one as it is
        assert reader.stats().documents == 1
    assert postgres_server.psql(version, url) == "3"
    Index.open(url, writer=True).close()
    assert postgres_server.psql(version, url) == "4"
    assert postgres_server.psql("SELECT to_regclass('added_in_4') IS NOT NULL", url) == "t"

    monkeypatch.setattr(pg_backend, "SCHEMA_VERSION", 5)
    monkeypatch.setitem(
        pg_backend._MIGRATIONS, 5, ("CREATE TABLE added_in_5 (x INTEGER)", "SELECT nonsense()")
    )
    with pytest.raises(LeakscanIndexError) as failure:
        Index.open(url, writer=True)
    one_line_without(str(failure.value))
    assert "function nonsense() does not exist" in str(failure.value)
    assert postgres_server.psql(version, url) == "4"  # nothing of version 5 was kept
    assert postgres_server.psql("SELECT to_regclass('added_in_5') IS NULL", url) == "t"
    monkeypatch.undo()

    postgres_server.psql("UPDATE meta SET value = '99' WHERE key = 'postgres_schema_version'", url)
    with pytest.raises(SchemeMismatchError, match=r"schema version 99.*upgrade leakscan"):
        Index.open(url, readonly=True)


def test_a_version_1_index_keeps_working_without_its_counts_of_one(
    url: str, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Version 1 counted every fingerprint; version 2 keeps counts for those two or more
    contents hold, and version 3 packs postings into leaves. Its next writer drops the
    counts of one, and moves the postings into leaves when it closes; its contents answer,
    and go, as before."""
    texts = {f"d{n}.txt": letterheaded(n) for n in range(3)}
    with monkeypatch.context() as before_leaves:  # as versions 1 and 2 wrote them: rows
        before_leaves.setattr(pg_backend, "pack", lambda db: 0)
        with Index.create(url, key=KEY) as index:
            for path, text in texts.items():
                index.add_text(text, path=path)
    # What version 1 held: a row for every fingerprint.
    postgres_server.psql(
        "INSERT INTO frequencies SELECT hash, count(DISTINCT content_id) FROM postings "
        "GROUP BY hash ON CONFLICT DO NOTHING; "
        # (its bands had no simhash, and there were no leaves)
        "ALTER TABLE bands DROP COLUMN simhash; "
        "ALTER TABLE bands ADD PRIMARY KEY (band, value, content_id); DROP TABLE packed; "
        "UPDATE meta SET value = '1' WHERE key = 'postgres_schema_version'",
        url,
    )
    held_once = "SELECT count(*) FROM frequencies WHERE contents < 2"
    assert int(postgres_server.psql(held_once, url)) > 0
    older = Index.open(url, readonly=True)  # read as it is, and kept open
    every = sorted(all_hashes(older, list(texts.values())))
    assert older.frequencies(every) == expected_frequencies(older, list(texts.values()))
    rows, leaves = "SELECT count(*) FROM postings", "SELECT count(*) FROM packed"
    assert int(postgres_server.psql(rows, url)) > 0
    with Index.open(url, writer=True) as index:
        version = "SELECT value FROM meta WHERE key = 'postgres_schema_version'"
        assert postgres_server.psql(version, url) == "3"
        assert postgres_server.psql(held_once, url) == "0"
        for text in texts.values():  # its bands have their contents' simhashes now
            simhash = index.fingerprinter.fingerprint(text).simhash
            assert index.backend.simhash_candidates(simhash, index.bands) == {
                cid: simhash for cid in index.near_duplicates(simhash, 0)
            }
            assert len(index.near_duplicates(simhash, 0)) == 1
        assert index.frequencies(every) == expected_frequencies(index, list(texts.values()))
        assert index.remove("d0.txt")  # its own copy of its fingerprints says what goes
        index.add_text(letterheaded(7), path="d7.txt")
        index.commit()
        now = [texts["d1.txt"], texts["d2.txt"], letterheaded(7)]
        every = sorted({*every, *all_hashes(index, now)})
        assert index.frequencies(every) == expected_frequencies(index, now)
        assert index.stats().fingerprints == sum(postings_of(index, text) for text in now)
    # Closed: every posting is in a leaf now, and answers as it did, also to the reader
    # that opened the index at version 1 (its look-ups read the version too).
    assert postgres_server.psql(rows, url) == "0" and int(postgres_server.psql(leaves, url)) > 0
    with older:
        assert older.frequencies(every) == expected_frequencies(older, now)
        assert len({p.content_id for p in older.postings(every)}) == len(now)
    with Index.open(url, readonly=True) as reader:
        assert reader.frequencies(every) == expected_frequencies(reader, now)
        assert reader.stats().fingerprints == sum(postings_of(reader, text) for text in now)
    with Index.open(url, writer=True) as index:
        assert index.remove("d1.txt")
        index.commit()
        assert index.frequencies(every) == expected_frequencies(index, now[1:])


def test_the_postings_index_is_made_after_the_first_load(
    url: str, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    exists = "SELECT to_regclass('postings_hash') IS NOT NULL"
    with Index.create(url, key=KEY) as index, index.writing():
        index.add_text(prose(1, 200), path="one.txt")
        index.commit()
        assert postgres_server.psql(exists, url) == "f"  # loaded without it
        index.add_text(prose(2, 200), path="two.txt")
    assert postgres_server.psql(exists, url) == "t"
    analysed = "SELECT count(*) > 0 FROM pg_stats WHERE tablename = 'packed'"
    assert postgres_server.psql(analysed, url) == "t"
    # A first build that died after loading: the next writer makes the index.
    # The frequencies of a first load are counted then, and are none before.
    rows = "SELECT count(*) FROM frequencies"
    texts = [letterheaded(3), letterheaded(4)]
    other = postgres_server.new_database()
    monkeypatch.setattr(pg_backend, "pack", lambda db: 0)  # it died before packing
    with Index.create(other, key=KEY) as index, index.writing():
        for n, text in enumerate(texts):
            index.add_text(text, path=f"{n}.txt")
        index.commit()
        assert postgres_server.psql(rows, other) == "0"
        index.backend._deferred = False  # type: ignore[attr-defined]  # as if it died here
    postgres_server.psql("DROP INDEX IF EXISTS postings_hash", other)
    Index.open(other, writer=True).close()
    assert postgres_server.psql(exists, other) == "t"
    with Index.open(other, readonly=True, allow_incomplete=True) as reader:
        expected = expected_frequencies(reader, texts)
        assert reader.frequencies(sorted(expected)) == expected
        shared = sum(n >= 2 for n in expected.values())
        assert shared and postgres_server.psql(rows, other) == str(shared)


def test_a_first_load_is_counted_again_after_its_count_was_rolled_back(url: str) -> None:
    """A look-up in a first build makes the postings index and counts the frequencies; if
    that transaction is rolled back, both are made again later, not built upon."""
    texts = [letterheaded(n) for n in range(3)]
    with Index.create(url, key=KEY) as index, index.writing():
        index.add_text(texts[0], path="0.txt")
        index.add_text(texts[1], path="1.txt")
        index.commit()  # loaded without counts
        every = sorted(all_hashes(index, texts))
        assert index.frequencies(every) == expected_frequencies(index, texts[:2])
        assert index.backend.rollback()  # the index and the count are undone
        index.add_text(texts[2], path="2.txt")
        index.commit()
        assert index.frequencies(every) == expected_frequencies(index, texts)
    with Index.open(url, readonly=True) as reader:
        assert reader.frequencies(every) == expected_frequencies(reader, texts)


def test_the_database_holds_no_text(url: str, postgres_server: PostgresServer) -> None:
    secret = "zanzibarquokka " * 40 + prose(4, 200)
    with Index.create(url, key=KEY) as index:
        index.add_text(secret, path="s.txt")
    dump = subprocess.run(
        [str(postgres_server.bin_dir / "pg_dump"), "-d", url],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    assert b"COPY public.postings" in dump
    assert b"zanzibarquokka" not in dump
    assert prose(4, 200).split()[3].encode() not in dump


# -- the CLI -------------------------------------------------------------------------------


def test_build_then_scan_through_the_cli(url: str, tmp_path: Path) -> None:
    archive = write_folder(tmp_path / "archive", "memo", 4, seed=70)
    export = tmp_path / "export"
    export.mkdir()
    leaked = (archive / "memo002.txt").read_text(encoding="utf-8")
    (export / "note.txt").write_text(f"{prose(990, 30)} {leaked[100:1100]}", encoding="utf-8")
    (export / "clean.txt").write_text(prose(991, 200), encoding="utf-8")
    code, stdout, stderr = run_leakscan("index", "build", str(archive), "--index", url)
    assert code == 0, stderr
    assert f"index {url}: 4 documents" in stdout
    alias = url.replace("postgresql://", "postgres://", 1)
    code, stdout, stderr = run_leakscan("scan", str(export), "--index", alias, "--format", "jsonl")
    assert code == 1, stdout + stderr
    records = [json.loads(line) for line in stdout.splitlines()]
    findings = [r for r in records if r["type"] == "finding"]
    assert [(Path(f["suspect"]).name, f["source"]) for f in findings] == [
        ("note.txt", "memo002.txt")
    ]
    assert records[-1]["type"] == "summary"
    code, stdout, stderr = run_leakscan("index", "stats", "--index", url)
    assert code == 0 and json.loads(stdout)["documents"] == 4, stderr


def test_a_library_build_and_scan_share_the_index(url: str, tmp_path: Path) -> None:
    archive = write_folder(tmp_path / "archive", "doc", 3, seed=80)
    with Index.create(url, key=KEY) as index:
        report = build(index, [archive])
    assert report.added == 3
    started = time.monotonic()
    readers = [Index.open(url, readonly=True) for _ in range(3)]  # many scanners at once
    try:
        text = (archive / "doc001.txt").read_text(encoding="utf-8")
        for reader in readers:
            assert scan_texts(reader, text[50:900]) == {"doc001.txt"}
    finally:
        for reader in readers:
            reader.close()
    assert time.monotonic() - started < 30
