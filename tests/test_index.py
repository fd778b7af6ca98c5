"""One contract for every index backend, plus SQLite specifics (WAL, no text on disk)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leakscan.errors import (
    ConfigurationError,
    IndexNotFoundError,
    KeyMismatchError,
    LeakscanIndexError,
    SchemeMismatchError,
)
from leakscan.fingerprint import Scheme
from leakscan.index import Index
from leakscan.index.base import band_values, to_signed, to_signed_array, to_unsigned

KEY = b"k" * 32
MEMO = " ".join(f"harbour{i} patrol{i % 7} order{i % 11}" for i in range(120))
OTHER = " ".join(f"radio{i} budget{i % 5} tender{i % 13}" for i in range(120))


@pytest.fixture(params=["memory", "sqlite"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Index]:
    location = "memory://" if request.param == "memory" else str(tmp_path / "i.sqlite")
    with Index.create(location, key=KEY) as opened:
        yield opened


def test_added_text_is_found_by_its_fingerprints(index: Index) -> None:
    index.add_text(MEMO, path="memo.txt", root="/archive")
    fp = index.fingerprinter.fingerprint(MEMO)
    postings = index.postings(fp.hashes.tolist())
    document = index.find_document("memo.txt", "/archive")
    assert document is not None
    assert {p.content_id for p in postings} == {document.content_id}
    assert {p.hash for p in postings} == set(fp.hashes.tolist())
    assert index.stats().documents == 1


def test_same_content_under_two_paths_counts_once(index: Index) -> None:
    index.add_text(MEMO, path="a.txt")
    index.add_text(MEMO, path="copy/a.txt")
    fp = index.fingerprinter.fingerprint(MEMO)
    assert set(index.frequencies(fp.hashes.tolist()).values()) == {1}
    content = index.find_document("a.txt")
    assert content is not None
    record = index.contents([content.content_id])[content.content_id]
    assert record.paths == ("a.txt", "copy/a.txt")
    assert index.stats().contents == 1 and index.stats().documents == 2


def test_frequencies_count_distinct_contents(index: Index) -> None:
    shared = " ".join(f"letterhead{i}" for i in range(30))
    for n in range(4):
        index.add_text(shared + " " + OTHER.replace("radio", f"doc{n}x"), path=f"d{n}.txt")
    fp = index.fingerprinter.fingerprint(shared)
    assert max(index.frequencies(fp.hashes.tolist()).values()) == 4


def test_replacing_a_path_drops_the_old_content(index: Index) -> None:
    index.add_text(MEMO, path="memo.txt")
    index.add_text(OTHER, path="memo.txt")
    old = index.fingerprinter.fingerprint(MEMO).hashes.tolist()
    assert index.postings(old) == []
    assert index.frequencies(old) == {}
    assert index.stats().contents == 1


def test_removing_keeps_content_still_held_elsewhere(index: Index) -> None:
    index.add_text(MEMO, path="a.txt")
    index.add_text(MEMO, path="b.txt")
    assert index.remove("a.txt")
    assert not index.remove("a.txt")
    hashes = index.fingerprinter.fingerprint(MEMO).hashes.tolist()
    assert index.postings(hashes)
    assert index.remove("b.txt")
    assert index.postings(hashes) == []
    assert index.stats().fingerprints == 0


def test_postings_can_be_limited_to_contents(index: Index) -> None:
    index.add_text(MEMO, path="a.txt")
    index.add_text(MEMO + " tail words here for a change", path="b.txt")
    hashes = index.fingerprinter.fingerprint(MEMO).hashes.tolist()
    b = index.find_document("b.txt")
    assert b is not None
    limited = index.postings(hashes, [b.content_id])
    assert limited and {p.content_id for p in limited} == {b.content_id}
    assert index.postings(hashes, []) == []


@given(st.integers(0, 2**64 - 1), st.lists(st.integers(0, 63), max_size=3))
def test_simhash_bands_find_everything_within_three_bits(simhash: int, flips: list[int]) -> None:
    near = simhash
    for bit in flips:
        near ^= 1 << bit
    pairs = zip(band_values(simhash, 4), band_values(near, 4), strict=True)
    assert any(a == b for a, b in pairs)


def test_near_duplicate_lookup(index: Index) -> None:
    index.add_text(MEMO, path="memo.txt")
    simhash = index.fingerprinter.fingerprint(MEMO).simhash
    doc = index.find_document("memo.txt")
    assert doc is not None
    assert doc.content_id in index.near_duplicates(simhash ^ 0b101)
    assert doc.content_id not in index.near_duplicates(~simhash & (2**64 - 1))


@given(st.integers(0, 2**64 - 1))
def test_signed_conversion_round_trips_and_matches_numpy(value: int) -> None:
    signed = to_signed(value)
    assert -(2**63) <= signed < 2**63
    assert to_unsigned(signed) == value
    assert np.array([value], dtype=np.uint64).view(np.int64)[0] == signed
    assert to_signed_array([value]).tolist() == [signed]


def test_scheme_mismatch_is_an_error(tmp_path: Path) -> None:
    location = tmp_path / "i.sqlite"
    Index.create(location, key=KEY).close()
    with pytest.raises(SchemeMismatchError):
        Index.open(location, scheme=Scheme(word_k=7))
    Index.open(location, scheme=Scheme()).close()


def test_wrong_key_is_an_error(tmp_path: Path) -> None:
    location = tmp_path / "i.sqlite"
    Index.create(location, key=KEY).close()
    with pytest.raises(KeyMismatchError, match="key id"):
        Index.open(location, key=b"z" * 32)
    with Index.open(location, key=KEY) as index:
        assert index.key == KEY


def test_missing_index_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="index build"):
        Index.open(tmp_path / "nothing.sqlite")
    assert not (tmp_path / "nothing.sqlite").exists()


def test_foreign_files_are_not_indexes(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(LeakscanIndexError):
        Index.open(junk)
    other_db = tmp_path / "other.sqlite"
    sqlite3.connect(other_db).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(LeakscanIndexError):
        Index.open(other_db)


def test_tampered_schema_version_is_refused(tmp_path: Path) -> None:
    location = tmp_path / "i.sqlite"
    Index.create(location, key=KEY).close()
    db = sqlite3.connect(location)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(SchemeMismatchError, match="rebuild"):
        Index.open(location)


def test_unsupported_locations_say_so() -> None:
    with pytest.raises(ConfigurationError, match="unknown index location"):
        Index.open("ftp://x/y")


def test_a_postgresql_url_libpq_cannot_read_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"not a PostgreSQL URL libpq can read"):
        Index.open("postgresql://ana:pw@db/leaks?nonsense_option=1")


def test_sqlite_index_uses_wal_and_allows_a_reader_during_a_write(tmp_path: Path) -> None:
    location = tmp_path / "i.sqlite"
    with Index.create(location, key=KEY) as writer:
        writer.add_text(MEMO, path="memo.txt")
        writer.commit()
        writer.add_text(OTHER, path="other.txt")  # uncommitted write transaction open
        with Index.open(location, readonly=True) as reader:
            assert reader.stats().documents == 1
        mode = sqlite3.connect(location).execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


def test_index_file_holds_no_text(tmp_path: Path) -> None:
    location = tmp_path / "i.sqlite"
    secret = "zanzibarquokka " * 60 + MEMO
    with Index.create(location, key=KEY) as index:
        index.add_text(secret, path="s.txt")
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"zanzibarquokka" not in raw
    assert "zanzibarquokka".encode("utf-16-le") not in raw


def test_a_content_repeating_itself_counts_once_per_fingerprint(index: Index) -> None:
    index.add_text(MEMO + " " + MEMO, path="twice.txt")
    index.add_text(MEMO, path="once.txt")
    index.commit()
    hashes = index.fingerprinter.fingerprint(MEMO).hashes.tolist()
    assert set(index.frequencies(hashes).values()) == {2}
    holders = [p.content_id for p in index.postings(hashes[:1])]
    assert len(set(holders)) == 2
    # Scheme 3 finds passages by alignment: one posting per content, at position 0.
    assert {p.position for p in index.postings(hashes[:1])} == {0}
