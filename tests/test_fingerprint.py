"""Fingerprint math: the winnowing guarantee, determinism, keyed hashes, simhash behaviour."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from leakscan.errors import SchemeError
from leakscan.fingerprint import Fingerprinter, Scheme, hamming, key_id, simhash_of, winnow

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SCHEME = Scheme()

latin_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=9)
urdu_words = st.text(alphabet="ابپتٹثجچحخدڈذرڑزژسشصضطظعغفقکگلمنوہھءیے", min_size=1, max_size=7)


def shared_fingerprints(a: str, b: str, key: bytes = KEY) -> set[int]:
    fingerprinter = Fingerprinter(key)
    return set(fingerprinter.fingerprint(a).hashes.tolist()) & set(
        fingerprinter.fingerprint(b).hashes.tolist()
    )


@given(
    st.lists(latin_words, max_size=40),
    st.lists(latin_words, max_size=40),
    st.lists(latin_words, min_size=SCHEME.word_guarantee, max_size=30),
)
def test_shared_word_run_of_k_plus_w_minus_1_is_always_found(
    before: list[str], after: list[str], run: list[str]
) -> None:
    a = " ".join(before + run + after)
    b = " ".join([*after, "x", *run, "y", *before])
    assert shared_fingerprints(a, b)


@given(
    st.lists(urdu_words, max_size=30),
    st.lists(urdu_words, max_size=30),
    st.lists(urdu_words, min_size=8, max_size=40),
)
def test_shared_urdu_letter_run_is_found_whatever_the_spacing(
    before: list[str], after: list[str], run: list[str]
) -> None:
    assume(sum(map(len, run)) >= SCHEME.letter_guarantee)
    a = " ".join([*before, "ہم", *run, "تم", *after])
    # The same run written with no spaces and with zero-width non-joiners instead.
    b = " ".join([*after, "وہ", "".join(run), "تو", *before])
    c = "\u200c".join(run)
    assert shared_fingerprints(a, b)
    assert shared_fingerprints(a, c)


@given(st.lists(st.integers(0, 2**64 - 1), max_size=200), st.integers(1, 12))
def test_winnowing_picks_one_in_every_window(values: list[int], w: int) -> None:
    hashes = np.array(values, dtype=np.uint64)
    picked = winnow(hashes, w).tolist()
    assert picked == sorted(set(picked))
    for start in range(max(0, len(values) - w + 1)):
        assert any(start <= p < start + w for p in picked)
    for p in picked:  # each pick is the minimum of some window
        assert any(values[p] == min(values[s : s + w]) for s in range(max(0, p - w + 1), p + 1))


def _fingerprint_json(text: str) -> str:
    fp = Fingerprinter(KEY).fingerprint(text)
    return json.dumps([fp.simhash, fp.hashes.tolist(), fp.starts.tolist()])


DETERMINISM_TEXT = "The harbour patrol leaves at dawn. " * 5 + "بندرگاہ کی نگرانی سخت ہے " * 3


def test_fingerprints_are_identical_across_processes() -> None:
    code = (
        "import sys; sys.path.insert(0, '.');"
        "from tests.test_fingerprint import _fingerprint_json, DETERMINISM_TEXT;"
        "print(_fingerprint_json(DETERMINISM_TEXT))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": str(seed), "PATH": ""},
        ).stdout.strip()
        for seed in (1, 2)
    }
    assert outputs == {_fingerprint_json(DETERMINISM_TEXT)}


def test_golden_values_are_pinned() -> None:
    """Changing these means every index must be rebuilt: bump SCHEME_VERSION too."""
    text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    fp = Fingerprinter(KEY).fingerprint(text)
    assert key_id(KEY) == "f9330c938203b115"
    assert f"{fp.simhash:016x}" == GOLDEN_SIMHASH
    assert [f"{h:016x}" for h in fp.hashes.tolist()] == GOLDEN_HASHES
    assert fp.starts.tolist() == GOLDEN_STARTS


GOLDEN_SIMHASH = "908280940ca204a4"
GOLDEN_HASHES = ["000054a0a44b1792", "0000789d89549da5"]  # 48 bits
GOLDEN_STARTS = [2, 4]


def test_scheme_2_fingerprints_as_it_always_did() -> None:
    """Indexes built with scheme 2 are still matched: its fingerprints must not move."""
    fp = Fingerprinter(KEY, Scheme.version_2()).fingerprint(
        "one two three four five six seven eight nine ten"
    )
    assert f"{fp.simhash:016x}" == "006c45096728a0b5"
    assert [f"{h:016x}" for h in fp.hashes.tolist()] == ["107d579867bcebab"]
    assert fp.starts.tolist() == [3]


@settings(max_examples=30)
@given(st.integers(0, 2**32), st.booleans())
def test_scheme_3_keeps_the_same_shingles_under_every_key(seed: int, urdu: bool) -> None:
    """Which shingles are kept (so which sources a suspect nominates) is the same under
    any key; the fingerprints themselves share nothing."""
    rng = random.Random(seed)
    alphabet = "ابپتٹثجچحخدڈذرڑزژسشصضطظعغفقکگلمنوہیے" if urdu else "abcdefghijklmnop"
    text = " ".join(
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(200)
    )
    mine, theirs = Fingerprinter(KEY).fingerprint(text), Fingerprinter(OTHER_KEY).fingerprint(text)
    assert mine.starts.tolist() == theirs.starts.tolist()
    assert mine.streams.tolist() == theirs.streams.tolist()
    assert mine.unit_codes.tolist() == theirs.unit_codes.tolist()
    assert not set(mine.hashes.tolist()) & set(theirs.hashes.tolist())


@settings(max_examples=40)
@given(
    st.lists(
        st.sampled_from(
            ["convoy", "harbour", "دستاویز", "خفیہ", "ع", "42", "the", "نگرانی", "x" * 300]
        ),
        min_size=0,
        max_size=120,
    ),
    st.booleans(),
)
def test_scheme_3_fingerprints_come_back_from_alignment_units(words: list[str], ocr: bool) -> None:
    """What lets an index keep no copy of a content's fingerprints: they are computed again,
    exactly, from the alignment units it keeps (one-letter Urdu words, over-long words,
    OCR'd text included)."""
    printer = Fingerprinter(KEY)
    fp = printer.fingerprint(" ".join(words), ocr=ocr)
    again = printer.hashes_of_units(fp.unit_codes, fp.unit_tokens, fp.unit_letters, ocr=ocr)
    assert again.tolist() == fp.hashes.tolist()


def test_another_key_shares_nothing() -> None:
    text = " ".join(f"word{i}" for i in range(200))
    assert shared_fingerprints(text, text)
    mine = set(Fingerprinter(KEY).fingerprint(text).hashes.tolist())
    theirs = set(Fingerprinter(OTHER_KEY).fingerprint(text).hashes.tolist())
    assert not mine & theirs
    assert key_id(KEY) != key_id(OTHER_KEY)


@settings(max_examples=50)
@given(st.integers(0, 2**32), st.integers(300, 800))
def test_small_edit_small_simhash_distance(seed: int, length: int) -> None:
    """Natural-ish text (a large vocabulary): one changed word moves few bits, new text many.

    Measured over 600 seeds: an edit moved 2 bits (median), 7 (99th percentile), 10 at
    most; new text 32 (median), 21 at least. A search once found an edit moving 13."""
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(3000)]
    words = [rng.choice(vocabulary) for _ in range(length)]
    edited = list(words)
    edited[rng.randrange(length)] = "changed"
    other = [rng.choice(vocabulary) for _ in range(length)]
    fingerprinter = Fingerprinter(KEY)
    original = fingerprinter.fingerprint(" ".join(words)).simhash
    assert hamming(original, fingerprinter.fingerprint(" ".join(edited)).simhash) <= 15
    assert hamming(original, fingerprinter.fingerprint(" ".join(other)).simhash) >= 17


def test_simhash_is_a_majority_vote_per_bit() -> None:
    values = np.array([0b1011, 0b0011, 0b0001], dtype=np.uint64)
    assert simhash_of(values) == 0b0011
    assert simhash_of(np.empty(0, dtype=np.uint64)) == 0
    assert simhash_of(np.array([2**63 + 1], dtype=np.uint64)) == 2**63 + 1


def test_fingerprint_positions_map_to_tokens() -> None:
    fp = Fingerprinter(KEY).fingerprint("alpha beta gamma delta epsilon zeta eta theta")
    assert len(fp) > 0
    assert all(0 <= s < e <= fp.n_tokens for s, e in zip(fp.starts, fp.ends, strict=True))
    assert fp.n_tokens == 8


def test_too_short_texts_have_no_fingerprints() -> None:
    fp = Fingerprinter(KEY).fingerprint("only four words here")
    assert len(fp) == 0 and fp.n_tokens == 4


@pytest.mark.parametrize(
    "bad",
    [{"word_k": 0}, {"word_w": 65}, {"char_k": -1}],
    ids=["k-zero", "w-too-large", "negative"],
)
def test_invalid_schemes_are_refused(bad: dict[str, int]) -> None:
    with pytest.raises(SchemeError):
        Scheme(**bad)


@pytest.mark.parametrize("key", [b"short", b"x" * 65, "text-not-bytes"], ids=str)
def test_invalid_keys_are_refused(key: object) -> None:
    with pytest.raises(SchemeError):
        Fingerprinter(key)  # type: ignore[arg-type]


def test_scheme_round_trips_through_dict() -> None:
    scheme = Scheme(word_k=6, word_w=5)
    assert Scheme.from_dict(scheme.to_dict()) == scheme
    with pytest.raises(SchemeError):
        Scheme.from_dict({"version": 1})
