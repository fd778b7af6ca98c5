"""One contract for every index backend: the same assertions against memory, SQLite and a
real PostgreSQL server (a throwaway cluster, ``tests/postgres_server.py``).

Texts are invented words (``tests.texts``); frequencies are checked against counts made
here from the fingerprints themselves, not against another backend.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import astuple
from pathlib import Path

import numpy as np
import pytest

from leakscan import Scanner
from leakscan.errors import LeakscanIndexError
from leakscan.index import BUILD_COMPLETE, BUILD_RUNNING, Index
from leakscan.index.base import DocumentRecord, NewContent, to_signed, to_signed_array
from leakscan.index.memory import MemoryBackend
from leakscan.index.postgres import PostgresBackend
from leakscan.records import Finding
from tests.postgres_server import PostgresServer
from tests.texts import prose

KEY = b"c" * 32
SHARED = prose(1, 60)  # a letterhead every document of a family carries


def family(n: int) -> str:
    """A document of the family: the shared text and its own."""
    return f"{SHARED} {prose(100 + n, 150)}"


@pytest.fixture(params=["memory", "sqlite", "postgresql", "postgresql-packed"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return str(tmp_path / "index.sqlite")
    if request.param == "postgresql-packed":
        # Every commit packs the postings written since into leaves first (as the end of
        # a build does): the same contract, read from the leaves and changed in them.
        monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
        commit = PostgresBackend.commit

        def packing_commit(backend: PostgresBackend) -> None:
            if not backend.readonly:
                backend._settle(always=True)
            commit(backend)

        monkeypatch.setattr(PostgresBackend, "commit", packing_commit)
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.new_database()


@pytest.fixture
def index(location: str) -> Iterator[Index]:
    with Index.create(location, key=KEY) as opened:
        yield opened


def expected_frequencies(index: Index, texts: list[str]) -> Counter[int]:
    """Contents holding each (unsigned) fingerprint, counted here from the texts."""
    counts: Counter[int] = Counter()
    for text in dict.fromkeys(texts):  # one content per distinct text
        counts.update(set(index.fingerprinter.fingerprint(text).hashes.tolist()))
    return counts


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def postings_of(index: Index, text: str) -> int:
    """Postings a text's content has: its distinct (fingerprint, position) pairs, or, if
    the index holds it as recomputable (positions 0), its distinct fingerprints."""
    fingerprint = index.fingerprinter.fingerprint(text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    if any(c.sha256 == digest and c.recomputable for _, c in index.backend.export_contents()):
        return len(set(fingerprint.hashes.tolist()))
    return len(set(zip(fingerprint.hashes.tolist(), fingerprint.starts.tolist(), strict=True)))


def all_hashes(index: Index, texts: list[str]) -> list[int]:
    found: set[int] = set()
    for text in texts:
        found.update(index.fingerprinter.fingerprint(text).hashes.tolist())
    return sorted(found)


def recomputable(index: Index, text: str, *, again: bool = True) -> NewContent:
    """A text's content as a scheme that can compute its fingerprints again stores it (the
    alignment blob stands in for the encrypted units it would be computed from); with
    ``again`` False, as older schemes store it (with its own copy of its fingerprints)."""
    fingerprint = index.fingerprinter.fingerprint(text)
    return NewContent(
        sha(text),
        to_signed_array(fingerprint.hashes),
        fingerprint.starts,
        fingerprint.simhash,
        fingerprint.n_tokens,
        alignment=b"units of " + sha(text).encode() if again else b"",
        recomputable=again,
    )


class Recomputer:
    """A stand-in for the Index's ``recompute``: the fingerprints the test stored, by sha256,
    and the contents it was asked for."""

    def __init__(self, *contents: NewContent) -> None:
        self.held = {c.sha256: (c.alignment, c.hashes) for c in contents}
        self.calls: list[str] = []

    def __call__(self, sha256: str, alignment: bytes) -> np.ndarray:
        self.calls.append(sha256)
        stored_alignment, hashes = self.held[sha256]
        assert alignment == stored_alignment  # computed from what was stored with it
        return hashes


def put(index: Index, content: NewContent, path: str) -> int:
    """Store a document holding ``content`` as a build does (kept back by a batching backend)."""
    document = DocumentRecord("", path, 0, 10, 0, "text/plain")
    return index.backend.put_document(document, content, index.bands)


def stored_in_table(index: Index, sql: str) -> int | None:
    """One number from the backend's tables (None: the backend keeps no tables)."""
    if isinstance(index.backend, MemoryBackend):
        return None
    index.commit()
    row = index.backend._db.execute(sql).fetchone()  # type: ignore[attr-defined]
    return int(row[0])


def frequency_rows(index: Index) -> int | None:
    """Rows of the frequencies table (None when leaves hold postings: it counts the rest)."""
    if isinstance(index.backend, PostgresBackend) and stored_in_table(
        index, "SELECT count(*) FROM packed"
    ):
        return None
    return stored_in_table(index, "SELECT count(*) FROM frequencies")


def blob_length(index: Index, sha256: str) -> int | None:
    """Length of a content's own copy of its fingerprints (sha256 is hex: safe in SQL)."""
    return stored_in_table(
        index, f"SELECT length(fingerprints) FROM contents WHERE sha256 = '{sha256}'"
    )


class TestIndexContract:
    def test_documents_and_contents_round_trip(self, index: Index) -> None:
        first = index.add_text(family(1), path="memos/Budget_2026.txt", root="/a")
        index.add_text(family(1), path="copies/budget_2026.TXT", root="/b")
        index.add_text(family(2), path="x.zip!inner/100%.txt", root="/a")
        index.add_text(family(3), path="x.zip2", root="/a")
        index.commit()
        document = index.find_document("memos/Budget_2026.txt", "/a")
        assert document is not None and document.id == first
        assert index.find_document("memos/Budget_2026.txt", "/b") is None
        assert [d.path for d in index.documents("/a")] == [
            "memos/Budget_2026.txt",
            "x.zip!inner/100%.txt",
            "x.zip2",
        ]
        assert [(d.root, d.path) for d in index.documents()] == [
            ("/a", "memos/Budget_2026.txt"),
            ("/a", "x.zip!inner/100%.txt"),
            ("/a", "x.zip2"),
            ("/b", "copies/budget_2026.TXT"),
        ]
        below = index.backend.documents_below("/a", "x.zip!")
        assert [d.path for d in below] == ["x.zip!inner/100%.txt"]
        assert index.backend.documents_below("/a", "x.zip!inner/100_") == []
        named = index.documents_named("BUDGET_2026.txt")
        assert {(d.root, d.path) for d in named} == {
            ("/a", "memos/Budget_2026.txt"),
            ("/b", "copies/budget_2026.TXT"),
        }
        assert index.documents_named("Budget%2026.txt") == []
        record = index.contents([document.content_id])[document.content_id]
        assert record.paths == ("copies/budget_2026.TXT", "memos/Budget_2026.txt")
        assert record.roots == ("/b", "/a")
        assert record.sha256 == hashlib.sha256(family(1).encode()).hexdigest()
        fingerprint = index.fingerprinter.fingerprint(family(1))
        assert record.simhash == fingerprint.simhash
        assert record.n_fingerprints == len(fingerprint.hashes)
        assert index.backend.find_content(record.sha256) == document.content_id
        assert index.backend.find_content("0" * 64) is None
        assert index.contents([987654]) == {}
        stats = index.stats()
        assert (stats.documents, stats.contents) == (4, 3)
        assert index.content_count() == 3

    def test_frequencies_stay_exact_through_add_replace_and_remove(self, index: Index) -> None:
        texts = {f"d{n}.txt": family(n) for n in range(5)}
        texts["again.txt"] = family(0)  # the same content twice counts once
        for path, text in texts.items():
            index.add_text(text, path=path)
        index.commit()
        hashes = all_hashes(index, [*texts.values(), family(9)])
        assert index.frequencies(hashes) == expected_frequencies(index, list(texts.values()))
        assert max(index.frequencies(hashes).values()) == 5  # the letterhead's fingerprints

        index.add_text(family(9), path="d1.txt")  # replaced: family(1) leaves the index
        assert index.remove("d2.txt")
        assert index.remove("d0.txt")  # family(0) stays: again.txt holds it
        assert not index.remove("d0.txt")
        index.commit()
        texts.update({"d1.txt": family(9)})
        del texts["d2.txt"], texts["d0.txt"]
        assert index.frequencies(hashes) == expected_frequencies(index, list(texts.values()))
        only_removed = set(index.fingerprinter.fingerprint(family(2)).hashes.tolist()) - set(
            all_hashes(index, list(texts.values()))
        )
        assert only_removed and not index.frequencies(sorted(only_removed))
        assert not index.postings(sorted(only_removed))
        for path in list(texts):
            index.remove(path)
        index.commit()
        assert index.frequencies(hashes) == {}
        assert index.stats().fingerprints == 0 and index.content_count() == 0

    def test_a_look_up_reads_counts_and_the_postings_of_rare_fingerprints(
        self, index: Index
    ) -> None:
        texts = [family(n) for n in range(4)]  # the letterhead in four, the rest in one
        made = [recomputable(index, text, again=n != 1) for n, text in enumerate(texts)]
        for n, content in enumerate(made):
            put(index, content, f"{n}.txt")
        index.commit()
        hashes = [*all_hashes(index, texts), 12345]
        for most in (0, 1, 3, 4, 10):
            found, postings = index.look_up(hashes, most)
            assert found == index.frequencies(hashes) == expected_frequencies(index, texts)
            rare = [h for h, n in found.items() if n <= most]
            expected = sorted(map(astuple, index.postings(rare))) if rare else []
            assert sorted(map(astuple, postings)) == expected
            assert bool(expected) == (most >= 1)
        assert index.look_up([], 3) == ({}, [])

    def test_postings_with_and_without_a_content_filter(self, index: Index) -> None:
        index.add_text(family(1), path="a.txt")
        index.add_text(family(2), path="b.txt")
        index.commit()
        a, b = index.find_document("a.txt"), index.find_document("b.txt")
        assert a is not None and b is not None
        fingerprint = index.fingerprinter.fingerprint(family(1))
        # Scheme 3 contents are aligned from their units: one posting per hash, at 0.
        expected = {(h, 0) for h in fingerprint.hashes.tolist()}
        # every shingle of the shared text (winnowing it alone keeps others at its edges)
        shared = set(index.fingerprinter.fingerprint(SHARED, ocr=True).hashes.tolist())
        postings = index.postings(fingerprint.hashes.tolist())
        assert {(p.hash, p.position) for p in postings if p.content_id == a.content_id} == expected
        assert {p.content_id for p in postings} == {a.content_id, b.content_id}
        assert {p.hash for p in postings if p.content_id == b.content_id} <= shared
        only_b = index.postings(fingerprint.hashes.tolist(), [b.content_id])
        assert only_b and {p.content_id for p in only_b} == {b.content_id}
        assert index.postings(fingerprint.hashes.tolist(), []) == []
        assert index.postings([]) == []
        assert index.postings([12345, 2**64 - 1]) == []

    def test_near_duplicates_are_checked_bit_by_bit(self, index: Index) -> None:
        """A 16-bit band is shared by chance with one content in 65,536: the look-up's
        candidates are checked against the whole simhash (its ``simhashes`` read)."""
        one = np.array([1], dtype=np.uint64)
        close, far = 0b101, 0xFFFF_FFFF_FFFF_0000  # 2 bits from 0; the low band only
        for n, simhash in enumerate((close, far, 2**64 - 1)):
            index.add_hashes(one, [0], simhash, 1, path=f"{n}.txt", sha256=f"{n}" * 64)
        index.commit()
        ids = [d.content_id for d in (index.find_document(f"{n}.txt") for n in range(3)) if d]
        assert index.backend.simhashes([*ids, 10**9]) == dict(
            zip(ids, [close, far, 2**64 - 1], strict=True)
        )
        assert index.near_duplicates(0) == {ids[0], ids[1]}
        assert index.near_duplicates(0, within=3) == {ids[0]}
        assert index.near_duplicates(0, within=1) == set()

    def test_extreme_hashes_keep_their_bits(self, index: Index) -> None:
        hashes = np.array([0, 1, 2**63 - 1, 2**63, 2**64 - 1], dtype=np.uint64)
        index.add_hashes(hashes, np.arange(5), 2**64 - 1, 5, path="edge.txt", sha256="e" * 64)
        index.commit()
        found = index.postings(hashes.tolist())
        assert sorted((p.hash, p.position) for p in found) == list(
            zip(hashes.tolist(), range(5), strict=True)
        )
        assert index.frequencies(hashes.tolist()) == dict.fromkeys(hashes.tolist(), 1)
        document = index.find_document("edge.txt")
        assert document is not None
        assert index.contents([document.content_id])[document.content_id].simhash == 2**64 - 1
        assert document.content_id in index.near_duplicates(2**64 - 1)

    def test_simhash_bands_find_near_duplicates(self, index: Index) -> None:
        index.add_text(family(1), path="memo.txt")
        index.commit()
        simhash = index.fingerprinter.fingerprint(family(1)).simhash
        document = index.find_document("memo.txt")
        assert document is not None
        assert document.content_id in index.near_duplicates(simhash ^ 0b1011)  # three bits off
        assert document.content_id not in index.near_duplicates(~simhash & (2**64 - 1))
        index.remove("memo.txt")
        index.commit()
        assert index.near_duplicates(simhash) == set()

    def test_pictures(self, index: Index) -> None:
        content_id = index.backend.add_content(
            NewContent("p" * 64, np.array([], dtype=np.int64), np.array([], dtype=np.int64), 0, 0),
            index.bands,
        )
        index.backend.add_document(DocumentRecord("/a", "map.png", content_id, 10, 0, "image/png"))
        rows = [
            ("whole", "phash", to_signed(2**64 - 5)),
            ("whole", "dhash", 7),
            ("left", "phash", 9),
        ]
        bands = [(0, 0xFFFB, "whole"), (1, 0xFFFF, "whole"), (0, 9, "left")]
        index.backend.add_image_hashes(content_id, rows, bands)
        index.backend.add_image_hashes(content_id, rows[:1], bands[:1])  # kept once
        index.commit()
        assert sorted(index.backend.image_hashes([content_id])[content_id]) == sorted(rows)
        assert index.backend.image_hashes([content_id + 99]) == {}
        found = set(index.backend.image_candidates([(0, [0xFFFB, 1234])]))
        assert found == {
            (content_id, "whole", "phash", rows[0][2]),
            (content_id, "whole", "dhash", 7),
        }
        assert {c[1] for c in index.backend.image_candidates([(0, [9]), (1, [0xFFFF])])} == {
            "left",
            "whole",
        }
        assert index.backend.image_candidates([(2, [0xFFFB])]) == []
        assert index.backend.count_pictures() == 1
        assert index.stats().pictures == 1
        assert index.remove("map.png", "/a")
        index.commit()
        assert index.backend.image_hashes([content_id]) == {}
        assert index.backend.image_candidates([(0, [0xFFFB])]) == []
        assert index.backend.count_pictures() == 0

    def test_ocr_marks(self, index: Index) -> None:
        fingerprint = index.fingerprinter.fingerprint(family(4))
        for path in ("scan.png", "scan-copy.png"):
            index.add_hashes(
                fingerprint.hashes,
                fingerprint.starts,
                fingerprint.simhash,
                fingerprint.n_tokens,
                path=path,
                sha256="a" * 64,
                ocr=True,
            )
        index.add_text(family(5), path="typed.txt")
        index.commit()
        assert index.backend.count_ocr_documents() == 2
        assert index.stats().ocr_documents == 2
        index.remove("scan.png")
        index.remove("scan-copy.png")
        index.commit()
        assert index.backend.count_ocr_documents() == 0
        index.add_hashes(  # the same content again, not read by OCR this time
            fingerprint.hashes,
            fingerprint.starts,
            fingerprint.simhash,
            fingerprint.n_tokens,
            path="typed-again.txt",
            sha256="a" * 64,
        )
        index.commit()
        assert index.backend.count_ocr_documents() == 0

    def test_everything_stored_comes_back_for_export(self, index: Index) -> None:
        assert list(index.backend.export_contents()) == []
        assert index.backend.ocr_marked(["a" * 64]) == set()
        texts = [family(n) for n in range(3)]
        for n, text in enumerate(texts):
            index.add_text(text, path=f"t{n}.txt")
        extreme = NewContent(
            "e" * 64,
            np.array([-(2**63), 2**63 - 1, 0], dtype=np.int64),
            np.array([0, 7, 2**31 - 1], dtype=np.int64),
            2**64 - 1,
            3,
            public=True,
            alignment=b"\x00\xffunits",
        )
        extreme_id = index.backend.add_content(extreme, index.bands)
        index.backend.add_document(DocumentRecord("/a", "e.txt", extreme_id, 3, 0, "text/plain"))
        index.commit()
        exported = list(index.backend.export_contents())
        assert [i for i, _ in exported] == sorted(i for i, _ in exported)
        # Contents come in id order; a backend that writes in batches numbers a batch's
        # contents in its own order, so each text is found by its hash.
        by_sha = {content.sha256: content for _, content in exported}
        for text in texts:
            fingerprint = index.fingerprinter.fingerprint(text)
            content = by_sha[hashlib.sha256(text.encode()).hexdigest()]
            # held only in the postings: exported without them, computed again by the Index
            assert content.recomputable and not len(content.hashes) and not len(content.positions)
            again = index.recompute_fingerprints(content.sha256, content.alignment)
            assert again.tolist() == to_signed_array(fingerprint.hashes).tolist()
            assert (content.simhash, content.n_tokens) == (
                fingerprint.simhash,
                fingerprint.n_tokens,
            )
            assert not content.public
        last_id, last = exported[-1]
        assert last_id == extreme_id and last.sha256 == extreme.sha256
        assert last.hashes.tolist() == extreme.hashes.tolist()
        assert last.positions.tolist() == extreme.positions.tolist()
        assert (last.simhash, last.n_tokens, last.public) == (2**64 - 1, 3, True)
        assert last.alignment == extreme.alignment
        first_id, first = exported[0]
        bands = [(2, 9, "full"), (0, 65535, "full"), (1, 3, "inner")]
        index.backend.add_image_hashes(first_id, [("full", "phash", 1)], bands)
        index.backend.set_ocr(first.sha256)
        index.commit()
        found = index.backend.image_bands([first_id, exported[1][0]])
        assert list(found) == [first_id] and sorted(found[first_id]) == sorted(bands)
        shas = [c.sha256 for _, c in exported]
        assert index.backend.ocr_marked(shas) == {first.sha256}

    def test_meta_is_created_once(self, index: Index) -> None:
        meta = index.backend.read_meta()
        assert meta["key_id"] == index.key_id and meta["format"] == "leakscan-index"
        assert index.backend.create_meta({"format": "other", "key": "00"}) == meta
        index.backend.write_meta({"note": "one", "key_id": index.key_id})
        index.backend.write_meta({"note": "two"})
        index.commit()
        assert index.backend.read_meta() == {**meta, "note": "two"}

    def test_build_states_through_writing(self, index: Index) -> None:
        assert index.stats().build_state is None
        with index.writing():
            index.add_text(family(1), path="one.txt")
            with index.writing():  # nested: part of the outer build
                index.add_text(family(2), path="two.txt")
            assert index.backend.read_meta()["build_state"] == BUILD_RUNNING
        stats = index.stats()
        assert (stats.build_state, stats.build_documents) == (BUILD_COMPLETE, 2)
        assert stats.build_started_at and stats.build_finished_at
        rolls_back = index.backend.rollback()  # nothing pending: only says what it can do
        with pytest.raises(RuntimeError, match="stopped"), index.writing():
            index.add_text(family(3), path="three.txt")
            raise RuntimeError("stopped")
        if rolls_back:  # the failed build is undone: the index is as it was before it
            assert index.find_document("three.txt") is None
            assert index.stats().build_state == BUILD_COMPLETE
        else:  # its changes stay: the index is marked incomplete
            assert index.find_document("three.txt") is not None
            assert index.stats().build_state == BUILD_RUNNING
        assert index.find_document("two.txt") is not None

    def test_rollback_drops_what_was_not_committed(self, index: Index) -> None:
        index.add_text(family(1), path="kept.txt")
        index.commit()
        index.add_text(family(2), path="dropped.txt")
        index.remove("kept.txt")
        hashes = all_hashes(index, [family(1), family(2)])
        if index.backend.rollback():
            assert index.find_document("dropped.txt") is None
            assert index.find_document("kept.txt") is not None
            assert index.frequencies(hashes) == expected_frequencies(index, [family(1)])
            assert index.stats().documents == 1
        else:
            assert index.find_document("dropped.txt") is not None
            assert index.frequencies(hashes) == expected_frequencies(index, [family(2)])

    def test_documents_are_seen_before_they_are_committed(self, index: Index) -> None:
        """What add_hashes stored is seen by every later call, written yet or not (the
        PostgreSQL backend keeps documents back and writes them many at a time)."""
        first = index.add_text(family(1), path="a.txt", root="/r")
        index.add_text(family(1), path="copy/a.txt", root="/r")  # the same content
        index.add_text(family(2), path="b.zip!inner.txt", root="/r")
        found = index.find_document("a.txt", "/r")
        assert found is not None and found.id == first
        record = index.contents([found.content_id])[found.content_id]
        assert record.paths == ("a.txt", "copy/a.txt")
        below = index.backend.documents_below("/r", "b.zip!")
        assert [d.path for d in below] == ["b.zip!inner.txt"]
        assert index.backend.find_content(sha(family(2))) == below[0].content_id
        assert (index.content_count(), index.stats().documents) == (2, 3)
        replaced = index.add_text(family(3), path="a.txt", root="/r")  # before any commit
        again = index.find_document("a.txt", "/r")
        assert again is not None and again.id == replaced != first
        assert index.remove("copy/a.txt", "/r")  # family(1) is held by no document now
        assert index.backend.find_content(sha(family(1))) is None
        kept = [family(3), family(2)]
        hashes = all_hashes(index, [family(1), *kept])
        assert index.frequencies(hashes) == expected_frequencies(index, kept)
        index.commit()
        assert [d.path for d in index.documents("/r")] == ["a.txt", "b.zip!inner.txt"]
        assert index.frequencies(hashes) == expected_frequencies(index, kept)
        assert index.stats().fingerprints == sum(postings_of(index, text) for text in kept)
        index.add_text(family(4), path="dropped.txt", root="/r")
        index.add_text(family(5), path="a.txt", root="/r")
        if index.backend.rollback():  # what was not committed, written yet or not, is gone
            assert [d.path for d in index.documents("/r")] == ["a.txt", "b.zip!inner.txt"]
            assert index.find_document("a.txt", "/r") == again
            assert index.frequencies(hashes) == expected_frequencies(index, kept)

    def test_alignment_data_is_stored_as_given(self, index: Index) -> None:
        blob = bytes(range(256)) * 3
        with_data = index.backend.add_content(
            NewContent("b" * 64, to_signed_array([5, 6]), np.array([0, 1]), 3, 2, alignment=blob),
            index.bands,
        )
        without = index.backend.add_content(
            NewContent("c" * 64, to_signed_array([7]), np.array([0]), 4, 1), index.bands
        )
        index.commit()
        found = index.backend.alignments([with_data, without, 424242])
        assert found[with_data] == blob
        assert found.get(without, b"") == b""
        assert 424242 not in found

    def test_a_scan_finds_an_excerpt(self, index: Index) -> None:
        index.add_text(family(1), path="memo.txt", root="/archive")
        index.add_text(family(2), path="other.txt", root="/archive")
        index.commit()
        words = family(1).split()
        excerpt = " ".join(words[70:170])
        findings = Scanner(index).scan_text(f"{prose(900, 40)} {excerpt} {prose(901, 40)}")
        sources = {f.source for f in findings if isinstance(f, Finding)}
        assert sources == {"memo.txt"}
        assert all(f.kind in {"excerpt", "near-duplicate"} for f in findings)
        assert Scanner(index).scan_text(prose(902, 200)) == []

    def test_a_recomputable_content_is_held_once_in_its_postings(self, index: Index) -> None:
        content = recomputable(index, family(1))
        repeated = content.hashes[:3].tolist()  # a fingerprint at three places
        content = NewContent(
            content.sha256,
            np.concatenate([content.hashes, repeated]).astype(np.int64),
            np.concatenate([content.positions, [7, 8, 9]]).astype(np.int64),
            content.simhash,
            content.n_tokens,
            alignment=content.alignment,
            recomputable=True,
        )
        put(index, content, "r.txt")
        put(index, recomputable(index, family(2), again=False), "o.txt")  # as today
        index.commit()
        kept = blob_length(index, content.sha256)
        assert kept in (None, 0)
        other = index.fingerprinter.fingerprint(family(2))
        assert blob_length(index, sha(family(2))) in (None, 12 * len(other.hashes))
        r, o = index.find_document("r.txt"), index.find_document("o.txt")
        assert r is not None and o is not None
        distinct = set(content.hashes.tolist())
        postings = index.backend.postings(sorted(distinct), [r.content_id])
        assert sorted(p.hash for p in postings) == sorted(distinct)  # one row per fingerprint
        assert {p.position for p in postings} == {0}
        expected = set(zip(other.hashes.tolist(), other.starts.tolist(), strict=True))
        found = index.postings(other.hashes.tolist(), [o.content_id])
        assert {(p.hash, p.position) for p in found} == expected  # real positions kept
        record = index.contents([r.content_id])[r.content_id]
        assert record.n_fingerprints == len(content.hashes)  # as given, repeats included
        assert index.stats().fingerprints == len(distinct) + len(expected)

    def test_removing_a_recomputable_content_asks_for_its_fingerprints(self, index: Index) -> None:
        first, shared = recomputable(index, family(1)), recomputable(index, family(3))
        recompute = Recomputer(first, shared)
        index.backend.recompute = recompute
        put(index, first, "one.txt")
        put(index, recomputable(index, family(2), again=False), "older.txt")
        put(index, shared, "three.txt")
        put(index, shared, "three-again.txt")
        index.commit()
        texts = {"one.txt": family(1), "older.txt": family(2), "three.txt": family(3)}
        hashes = all_hashes(index, [*texts.values()])
        assert index.frequencies(hashes) == expected_frequencies(index, list(texts.values()))
        assert index.remove("older.txt")  # its own copy is kept: nothing to ask
        assert index.remove("three.txt")  # another document holds the content
        index.commit()
        assert recompute.calls == []
        assert index.remove("one.txt")
        index.commit()
        assert recompute.calls == [first.sha256]
        only_first = set(index.fingerprinter.fingerprint(family(1)).hashes.tolist()) - set(
            all_hashes(index, [family(3)])
        )
        assert only_first and index.postings(sorted(only_first)) == []
        assert index.frequencies(hashes) == expected_frequencies(index, [family(3)])
        assert index.remove("three-again.txt")
        index.commit()
        assert recompute.calls == [first.sha256, shared.sha256]
        assert index.frequencies(hashes) == {} and index.postings(hashes) == []
        assert index.stats().fingerprints == 0 and index.content_count() == 0
        assert frequency_rows(index) in (None, 0)

    def test_a_recomputable_content_needs_the_key_to_go(self, index: Index) -> None:
        content = recomputable(index, family(1))
        put(index, content, "one.txt")
        index.commit()
        index.backend.recompute = None
        with pytest.raises(LeakscanIndexError, match="needs the index key") as failure:
            index.remove("one.txt")
        assert "\n" not in str(failure.value)
        # An export needs no key: it carries the alignment units, not the fingerprints.
        [(_, exported)] = list(index.backend.export_contents())
        assert exported.recomputable and exported.alignment == content.alignment
        index.commit()
        # Nothing was changed: the document and its fingerprints are all there.
        document = index.find_document("one.txt")
        assert document is not None
        hashes = content.hashes.tolist()
        assert {p.content_id for p in index.backend.postings(hashes)} == {document.content_id}
        index.backend.recompute = Recomputer(content)
        assert index.remove("one.txt")
        index.commit()
        assert index.backend.postings(hashes) == [] and index.content_count() == 0

    def test_frequencies_as_contents_sharing_fingerprints_come_and_go(self, index: Index) -> None:
        """Fingerprints held once are answered for (1) without a frequencies row: the
        backends with tables keep rows only for those two or more contents hold."""
        texts = {"a.txt": family(1), "b.txt": family(2), "c.txt": family(3)}
        every = all_hashes(index, list(texts.values()))
        # one of them with its own copy of its fingerprints
        made = [recomputable(index, text, again=n != 1) for n, text in enumerate(texts.values())]
        index.backend.recompute = Recomputer(*made)
        held: dict[str, str] = {}

        def check() -> None:
            expected = expected_frequencies(index, list(held.values()))
            assert index.frequencies(every) == expected
            assert frequency_rows(index) in (None, sum(n >= 2 for n in expected.values()))

        for n, (path, text) in enumerate(texts.items()):
            put(index, made[n], path)
            held[path] = text
            index.commit()
            check()
        once = index.frequencies(every)
        assert 1 in once.values() and 3 in once.values()  # own text, and the letterhead
        common = index.backend.most_common(len(every))  # fingerprints held once are not listed
        shared = sorted((to_signed(h), n) for h, n in once.items() if n >= 2)
        assert sorted(common) == shared and common[0][1] == 3
        for path in texts:
            assert index.remove(path)
            del held[path]
            index.commit()
            check()
        assert index.frequencies(every) == {} and index.backend.most_common(10) == []

    def test_export_carries_a_recomputable_content_without_its_fingerprints(
        self, index: Index
    ) -> None:
        content = recomputable(index, family(1))
        index.backend.recompute = None  # never asked: the export carries the units
        put(index, content, "r.txt")
        put(index, recomputable(index, family(2), again=False), "o.txt")
        index.commit()
        exported = {c.sha256: c for _, c in index.backend.export_contents()}
        found = exported[content.sha256]
        assert found.hashes.tolist() == [] and found.positions.tolist() == []
        assert found.recomputable and found.alignment == content.alignment
        assert (found.simhash, found.n_tokens) == (content.simhash, content.n_tokens)
        older = exported[sha(family(2))]
        fingerprint = index.fingerprinter.fingerprint(family(2))
        assert not older.recomputable
        assert older.positions.tolist() == fingerprint.starts.tolist()

    def test_a_content_without_fingerprints_has_none_to_compute_again(self, index: Index) -> None:
        empty = np.array([], dtype=np.int64)
        picture = NewContent("p" * 64, empty, empty, 0, 0, alignment=b"", recomputable=True)
        put(index, picture, "map.png")
        index.commit()
        index.backend.recompute = None  # not needed: there is nothing to compute
        exported = [c for _, c in index.backend.export_contents()]
        assert [(c.sha256, len(c.hashes)) for c in exported] == [("p" * 64, 0)]
        assert index.remove("map.png")
        index.commit()
        assert index.content_count() == 0
