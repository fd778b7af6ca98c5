"""Leaves of packed postings (PostgreSQL schema 3): the encoding and cutting as properties,
then packing, reading and removing in a real server, with leaves small enough that a few
documents make many, read both ways (a probe per fingerprint, or the span)."""

from __future__ import annotations

from collections import Counter
from dataclasses import astuple
from typing import Any

import numpy as np
import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leakscan.index import Index, pgpacked
from leakscan.index.pgpacked import LEAF_BYTES, Leaves, cut
from tests.postgres_server import PostgresServer
from tests.texts import prose

KEY = b"p" * 32
_MIN = -(2**63)

pairs = st.lists(
    st.tuples(
        st.one_of(st.integers(0, 2**48 - 1), st.integers(1000, 1040)),  # some shared
        st.integers(0, 2**32 - 1),
    ),
    max_size=400,
)


def _read_back(rows: list[tuple[int, int, bytes, bytes, bytes]]) -> Leaves:
    """Leaves from cut rows, as the backend reads them (without ``most``)."""
    return Leaves.decode([(lo, *columns) for lo, _, *columns in rows])


def _sorted_pairs(drawn: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    unique = sorted(set(drawn))
    hashes = np.array([h for h, _ in unique], dtype=np.int64)
    ids = np.array([i for _, i in unique], dtype=np.int64)
    return hashes, ids


@settings(max_examples=200, deadline=None)
@given(drawn=pairs, extra_bounds=st.lists(st.integers(0, 2**48 - 1), max_size=6))
def test_cut_leaves_give_back_every_pair_within_their_ranges(
    drawn: list[tuple[int, int]], extra_bounds: list[int]
) -> None:
    hashes, ids = _sorted_pairs(drawn)
    bounds = np.array(sorted({_MIN, *extra_bounds}), dtype=np.int64)
    rows = cut(hashes, ids, bounds)
    if not len(hashes):
        assert rows == []
        return
    los = [row[0] for row in rows]
    assert los == sorted(los) and len(set(los)) == len(los)
    # Every leaf holds only fingerprints from its lo up to the next leaf's (or bound's).
    edges = sorted({*los, *bounds.tolist()})
    for lo, _, column, _, _ in rows:
        held = Leaves.decode([(lo, column, b"")]).hashes if column else np.empty(0)
        following = [e for e in edges if e > lo]
        assert held.size and held.min() >= lo
        if following:
            assert held.max() < following[0]
    # The first leaf cut from each bound keeps that bound's lo (its range stays covered).
    owners = np.searchsorted(bounds, hashes, side="right") - 1
    for owner in set(owners.tolist()):
        assert int(bounds[owner]) in los
    # Read back whole, and through their `most`, sizes and counts.
    decoded = _read_back(rows)
    back_hashes, back_ids = decoded.flat()
    assert back_hashes.tolist() == hashes.tolist() and back_ids.tolist() == ids.tolist()
    counts = Counter(hashes.tolist())
    for lo, most, column, counted, held_ids in rows:
        leaf = _read_back([(lo, most, column, counted, held_ids)])
        assert most == leaf.counts.max()
        one_hash = 6 + 4 + 4 * int(leaf.counts.max())
        assert len(column) + len(counted) + len(held_ids) <= LEAF_BYTES + one_hash
        assert dict(zip(leaf.hashes.tolist(), leaf.counts.tolist(), strict=True)) == {
            h: counts[h] for h in leaf.hashes.tolist()
        }


@settings(max_examples=200, deadline=None)
@given(drawn=pairs, wanted=st.lists(st.integers(0, 2**48 - 1), max_size=20))
def test_frequencies_and_postings_of_wanted_fingerprints(
    drawn: list[tuple[int, int]], wanted: list[int]
) -> None:
    hashes, ids = _sorted_pairs(drawn)
    rows = cut(hashes, ids, np.array([_MIN], dtype=np.int64))
    asked = wanted + hashes[::3].tolist()
    decoded = _read_back(rows[::-1])  # in any order
    counts = Counter(hashes.tolist())
    assert decoded.frequencies(asked) == {h: counts[h] for h in set(asked) if h in counts}
    found_hashes, found_ids = decoded.postings(asked)
    expected = sorted(
        (h, i) for h, i in zip(hashes.tolist(), ids.tolist(), strict=True) if h in asked
    )
    assert sorted(zip(found_hashes.tolist(), found_ids.tolist(), strict=True)) == expected


# -- in a real server -------------------------------------------------------------------


def _expected(index: Index, texts: list[str]) -> Counter[int]:
    counts: Counter[int] = Counter()
    for text in dict.fromkeys(texts):
        counts.update(set(index.fingerprinter.fingerprint(text).hashes.tolist()))
    return counts


def _table(server: PostgresServer, url: str, sql: str) -> int:
    return int(server.psql(sql, url))


@pytest.mark.parametrize("probes", [True, False], ids=["probe-per-fingerprint", "span"])
def test_packing_merging_and_removing_keep_every_count(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch, probes: bool
) -> None:
    monkeypatch.setattr(pgpacked, "LEAF_BYTES", 120)  # a few fingerprints a leaf
    monkeypatch.setattr(pgpacked, "PACK_ROWS", 97)  # many rounds, cut mid-fingerprint
    monkeypatch.setattr(pgpacked, "RANGE_FACTOR", 0 if probes else 10**9)
    url = postgres_server.new_database()
    shared = prose(7, 40)
    texts = {f"d{n}.txt": f"{shared} {prose(200 + n, 90)}" for n in range(8)}
    names = list(texts)
    with Index.create(url, key=KEY) as index, index.writing():  # a first build: packed
        for name in names[:4]:
            index.add_text(texts[name], path=name)
    leaves = _table(postgres_server, url, "SELECT count(*) FROM packed")
    assert leaves > 8
    assert _table(postgres_server, url, "SELECT count(*) FROM postings") == 0
    with Index.open(url, key=KEY, writer=True) as index:  # merged into the leaves there
        for name in names[4:]:
            index.add_text(texts[name], path=name)
        index.commit()
        assert _table(postgres_server, url, "SELECT count(*) FROM postings") > 0
    assert _table(postgres_server, url, "SELECT count(*) FROM postings") == 0
    assert _table(postgres_server, url, "SELECT count(*) FROM packed") > leaves
    with Index.open(url, key=KEY, readonly=True) as reader:
        every = sorted(_expected(reader, list(texts.values())))
        assert reader.frequencies(every) == _expected(reader, list(texts.values()))
        holders = {p.content_id for p in reader.postings(every)}
        assert len(holders) == len(texts)
        assert reader.stats().fingerprints == sum(_expected(reader, list(texts.values())).values())
        some = sorted(holders)[:3]
        assert {p.content_id for p in reader.postings(every, some)} == set(some)
        assert {p.position for p in reader.postings(every)} == {0}
        top = reader.backend.most_common(3)
        assert [n for _, n in top] == [len(texts)] * 3  # the shared text's fingerprints
    with Index.open(url, key=KEY, writer=True) as index:  # removed from the leaves
        for name in names[::2]:
            assert index.remove(name)
        index.commit()
        kept = [texts[name] for name in names[1::2]]
        assert index.frequencies(every) == _expected(index, kept)
        assert index.stats().fingerprints == sum(_expected(index, kept).values())
        for name in names[1::2]:
            assert index.remove(name)
        index.commit()
        assert index.frequencies(every) == {} and index.postings(every) == []
    # Leaves emptied are gone, but the first (the smallest lo) that every fingerprint has.
    assert postgres_server.psql("SELECT min(lo) FROM packed", url) == str(_MIN)
    with Index.open(url, key=KEY, writer=True) as index:
        index.add_text(texts["d3.txt"], path="again.txt")
    with Index.open(url, key=KEY, readonly=True) as reader:
        assert reader.frequencies(every) == _expected(reader, [texts["d3.txt"]])


def test_a_scan_finds_excerpts_in_the_leaves(postgres_server: PostgresServer) -> None:
    from leakscan import Scanner

    url = postgres_server.new_database()
    texts = [prose(300 + n, 120) for n in range(5)]
    with Index.create(url, key=KEY) as index, index.writing():
        for n, text in enumerate(texts):
            index.add_text(text, path=f"memo{n}.txt")
    assert _table(postgres_server, url, "SELECT count(*) FROM postings") == 0
    with Index.open(url, key=KEY, readonly=True) as reader:
        excerpt = " ".join(texts[3].split()[30:70])
        findings = Scanner(reader).scan_text(f"{prose(999, 30)} {excerpt} {prose(998, 30)}")
        assert findings and findings[0].source.endswith("memo3.txt")


def test_a_reader_sees_leaves_another_writer_changed(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader's leaf map (every leaf's lo) goes out of date when a writer packs or
    removes: the generation read with each look-up says so, and the map is loaded again."""
    monkeypatch.setattr(pgpacked, "LEAF_BYTES", 120)
    url = postgres_server.new_database()
    texts = [prose(400 + n, 90) for n in range(6)]
    with Index.create(url, key=KEY) as index, index.writing():
        index.add_text(texts[0], path="d0.txt")
    with Index.open(url, key=KEY, readonly=True) as reader:
        every = sorted(_expected(reader, texts))
        assert reader.frequencies(every) == _expected(reader, texts[:1])
        loaded = reader.backend._leaf_map.generation  # type: ignore[attr-defined]
        with Index.open(url, key=KEY, writer=True) as writer:  # new leaves split the old
            for n, text in enumerate(texts[1:], start=1):
                writer.add_text(text, path=f"d{n}.txt")
        assert reader.frequencies(every) == _expected(reader, texts)
        assert reader.backend._leaf_map.generation != loaded  # type: ignore[attr-defined]
        assert {p.content_id for p in reader.postings(every)} == set(range(1, 7))
        with Index.open(url, key=KEY, writer=True) as writer:
            assert writer.remove("d2.txt")
        assert reader.frequencies(every) == _expected(reader, texts[:2] + texts[3:])
        # A map that never holds: the leaves are found by the server's sub-query instead.
        monkeypatch.setattr(pgpacked.LeafMap, "holds", lambda self, generation: False)
        assert reader.frequencies(every) == _expected(reader, texts[:2] + texts[3:])
        assert len({p.content_id for p in reader.postings(every)}) == 5


def test_ids_kept_out_of_line_are_read_when_a_look_up_wants_them(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A look-up reads a leaf's ids with it while they are in its row; those of a leaf
    past that (here: every leaf) are read in a second statement, only when wanted."""
    from leakscan.index import postgres

    url = postgres_server.new_database()
    shared = prose(8, 40)
    texts = [f"{shared} {prose(500 + n, 80)}" for n in range(5)]
    with Index.create(url, key=KEY) as index, index.writing():
        for n, text in enumerate(texts):
            index.add_text(text, path=f"d{n}.txt")
    statements: list[str] = []
    with Index.open(url, key=KEY, readonly=True) as reader:
        every = sorted(_expected(reader, texts))
        before = reader.look_up(every, 3)
        monkeypatch.setattr(postgres, "LEAF_BYTES", 0)
        execute = psycopg.Cursor.execute

        def counted(cursor: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
            statements.append(str(query))
            return execute(cursor, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, "execute", counted)
        after = reader.look_up(every, 3)
        assert after[0] == before[0] == _expected(reader, texts)
        assert sorted(map(astuple, after[1])) == sorted(map(astuple, before[1]))
        assert {p.content_id for p in after[1]} == set(range(1, 6))
        assert len([s for s in statements if "FROM packed" in s]) == 2
        statements.clear()
        assert reader.look_up(every, 0)[1] == [] and len(statements) == 1
