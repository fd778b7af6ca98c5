"""Exact alignment units: runs found, blobs encrypted and checked, hostile repetition bounded."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leakscan.align import (
    ALIGNMENT_FORMAT,
    Run,
    common_runs,
    common_runs_many,
    decode_alignment,
    encode_alignment,
)
from leakscan.errors import LeakscanIndexError
from leakscan.fingerprint import Fingerprinter
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
