"""Exact alignment units: runs found, blobs encrypted and checked, hostile repetition bounded."""

from __future__ import annotations

import hashlib
import struct
import time
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leakscan.align import (
    ALIGNMENT_FORMAT,
    Run,
    SourceUnits,
    common_runs,
    common_runs_many,
    decode_alignment,
    decode_alignments,
    encode_alignment,
)
from leakscan.errors import LeakscanIndexError
from leakscan.fingerprint import Fingerprinter
from leakscan.match import Matcher, _disjoint_pieces
from tests.texts import prose, urdu_prose

KEY = b"a" * 32
codes = st.lists(st.integers(0, 5), max_size=80).map(lambda v: np.array(v, dtype=np.uint16))


def brute_force(a: np.ndarray, b: np.ndarray, m: int) -> list[Run]:
    """Every maximal run of at least m equal codes, by looking at every diagonal."""
    runs = []
    for diagonal in range(-len(a) + 1, len(b)):
        length = 0
        for i in range(len(a)):
            j = i + diagonal
            same = 0 <= j < len(b) and a[i] == b[j]
            if same:
                length += 1
            if (not same or i == len(a) - 1) and length:
                end = i + 1 if same else i
                if length >= m:
                    runs.append(Run(end - length, end - length + diagonal, length))
                length = 0
    return sorted(runs, key=lambda r: (r.a_start, r.b_start))


@settings(max_examples=150, deadline=None)
@given(a=codes, sources=st.lists(codes, min_size=1, max_size=4), m=st.integers(2, 6))
def test_runs_are_every_maximal_shared_run(
    a: np.ndarray, sources: list[np.ndarray], m: int
) -> None:
    many = common_runs_many(a, sources, m)
    for source, found in zip(sources, many, strict=True):
        expected = brute_force(a, source, m)
        if all(r.length < 64 for r in expected) and len(expected) < 30:  # no repeat cap reached
            assert common_runs(a, source, m) == expected
            assert found == expected


def test_massive_repetition_is_bounded() -> None:
    """A list repeated on both sides would pair every place with every place."""
    a = np.tile(np.arange(3, dtype=np.uint16), 100_000)
    b = np.tile(np.arange(3, dtype=np.uint16), 100_000)
    started = time.monotonic()
    [runs] = common_runs_many(a, [b], 8)
    assert runs and time.monotonic() - started < 20


@pytest.mark.parametrize("text", [prose(5, 300), urdu_prose(6, 300)])
def test_blobs_round_trip_and_hide_the_words(text: str) -> None:
    fingerprint = Fingerprinter(KEY).fingerprint(text)
    blob = encode_alignment(fingerprint, KEY, "abc")
    assert blob.startswith(ALIGNMENT_FORMAT)
    units = decode_alignment(blob, KEY, "abc")
    assert units is not None
    assert units.codes.tolist() == fingerprint.unit_codes.tolist()
    assert units.tokens.tolist() == fingerprint.unit_tokens.tolist()
    assert units.letters is not None
    assert units.letters.tolist() == fingerprint.unit_letters.tolist()
    assert units.n_tokens == fingerprint.n_tokens
    # The same word's code never shows twice in the stored bytes: encrypted, not just coded.
    raw = fingerprint.unit_codes.astype("<u2").tobytes()
    assert raw[:16] not in blob
    with pytest.raises(LeakscanIndexError, match="another key"):
        decode_alignment(blob, b"b" * 32, "abc")
    with pytest.raises(LeakscanIndexError):
        decode_alignment(blob[:-5], KEY, "abc")
    with pytest.raises(LeakscanIndexError, match="format"):
        decode_alignment(b"XYZ" + blob[3:], KEY, "abc")
    assert decode_alignment(b"", KEY, "abc") is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 60), st.integers(0, 60), st.integers(1, 12)),
        min_size=0,
        max_size=8,
    )
)
def test_runs_that_do_not_overlap_take_the_short_way_to_the_same_pieces(
    places: list[tuple[int, int, int]],
) -> None:
    """_disjoint_pieces (no two runs share a unit) gives what the greedy walk gives."""
    runs = sorted(
        (Run(a, b, n) for a, b, n in places), key=lambda r: (-r.length, r.a_start, r.b_start)
    )
    suspect_tokens = np.arange(80, dtype=np.int64) // 2  # two units per token
    units = SourceUnits(np.zeros(80, np.uint16), np.arange(80, dtype=np.int64) // 3, 27, False)
    quick = _disjoint_pieces(runs, suspect_tokens, units.tokens)
    greedy = Matcher._greedy_pieces(runs, 80, suspect_tokens, units)
    if quick is not None:
        assert quick == greedy
    else:  # some run overlaps another on one side
        spans = [[(r.a_start, r.a_start + r.length) for r in runs]]
        spans.append([(r.b_start, r.b_start + r.length) for r in runs])
        assert any(
            s1 < e2 and s2 < e1
            for side in spans
            for i, (s1, e1) in enumerate(side)
            for (s2, e2) in side[i + 1 :]
        )


def test_many_blobs_decode_at_once_as_each_alone() -> None:
    """decode_alignments: words, Urdu letters, OCR'd text, an LA1 blob of an older index and
    a content without units, in one pass; a damaged blob among them is named."""
    printer = Fingerprinter(KEY)
    texts = [prose(8, 120), urdu_prose(9, 80), prose(10, 5) + " " + urdu_prose(11, 5)]
    prints = [printer.fingerprint(t) for t in texts]
    prints.append(printer.fingerprint(urdu_prose(12, 40), ocr=True))
    blobs = [(encode_alignment(fp, KEY, f"s{n}"), f"s{n}") for n, fp in enumerate(prints)]
    # An LA1 blob, as issue 12's first format wrote it: a token's number of units.
    old = prints[1]
    per_token = np.bincount(old.unit_tokens, minlength=old.n_tokens).astype(np.uint8)
    raw = (
        struct.pack("<BII", 0, old.n_tokens, len(old.unit_codes))
        + per_token.tobytes()
        + old.unit_codes.astype("<u2").tobytes()
    )
    stream = np.frombuffer(
        hashlib.shake_256(b"leakscan alignment\0" + KEY + b"\0old").digest(
            len(zlib.compress(raw, 6))
        ),
        dtype=np.uint8,
    )
    packed = np.frombuffer(zlib.compress(raw, 6), dtype=np.uint8) ^ stream
    blobs.insert(2, (b"LA1" + packed.tobytes(), "old"))
    blobs.insert(1, (b"", "none"))
    decoded = decode_alignments(blobs, KEY)
    assert decoded[1] is None
    alone = [decode_alignment(blob, KEY, sha) for blob, sha in blobs]
    for many, one in zip(decoded, alone, strict=True):
        assert (many is None) == (one is None)
        if many is not None and one is not None:
            assert many.codes.tolist() == one.codes.tolist()
            assert many.tokens.tolist() == one.tokens.tolist()
            assert (many.n_tokens, many.ocr) == (one.n_tokens, one.ocr)
    la1 = decoded[3]
    assert la1 is not None and la1.letters is None
    assert la1.tokens.tolist() == old.unit_tokens.tolist()
    for units, fp in zip([decoded[0], decoded[2], decoded[4], decoded[5]], prints, strict=True):
        assert units is not None and units.letters is not None
        assert units.letters.tolist() == fp.unit_letters.tolist()
        assert units.tokens.tolist() == fp.unit_tokens.tolist()
        assert units.ocr == fp.ocr
    damaged = list(blobs)
    damaged[4] = (damaged[4][0][:-3], damaged[4][1])
    with pytest.raises(LeakscanIndexError, match="content s2"):
        decode_alignments(damaged, KEY)
