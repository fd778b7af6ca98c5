"""Normalization: what must match matches, offsets point into the raw text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leakscan.normalize import is_arabic_script, normalize_text, normalize_token, tokenize

# Clean Urdu without hamza or madda: normalization leaves it as it is.
CLEAN_URDU = "محکمہ ساحلی تحفظ کی جانب سے ہدایت کی جاتی ہے کہ کشتیوں کی نگرانی سخت کر دی جاے"


@pytest.mark.parametrize(
    ("variant", "original"),
    [
        pytest.param("The PLAN", "the plan", id="case"),
        pytest.param("ﬁnal ｏｒｄｅｒ", "final order", id="nfkc-ligature-fullwidth"),
        pytest.param("surveil-\nlance", "surveillance", id="hyphen-line-break"),
        pytest.param("surveil‐\r\n   lance", "surveillance", id="unicode-hyphen-crlf-indent"),
        pytest.param("“don’t”  —  go", '"don\'t" - go', id="quotes-dashes-spacing"),
        pytest.param("se\u00adcret", "secret", id="soft-hyphen"),
        pytest.param("se\u200bcret", "secret", id="zero-width-space"),
        pytest.param("٣٤ اور ۵۶", "34 اور 56", id="arabic-indic-digits"),
        pytest.param("كتاب", "کتاب", id="arabic-kaf"),
        pytest.param("يہ", "یہ", id="arabic-yeh"),
        pytest.param("على", "علی", id="alef-maksura"),
        pytest.param("مدرسه", "مدرسہ", id="arabic-heh"),
        pytest.param("ﻻ ﺑﺎﺕ", "لا بات", id="presentation-forms"),
        pytest.param("کِتاب", "کتاب", id="kasra"),
        pytest.param("کتـــاب", "کتاب", id="tatweel"),
        pytest.param("\u202bکتاب\u202c", "کتاب", id="bidi-embedding"),
        pytest.param("آپ", "اپ", id="madda-dropped"),
        pytest.param("گئی", "گیی", id="hamza-seat-folded"),
    ],
)
def test_variants_normalize_alike(variant: str, original: str) -> None:
    assert normalize_text(variant) == normalize_text(original)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("secret", "secrets", id="different-words"),
        pytest.param("12-\n13", "1213", id="number-range-not-joined"),
        pytest.param("بھ", "به", id="do-chashmi-he-kept"),
    ],
)
def test_distinct_texts_stay_distinct(a: str, b: str) -> None:
    assert normalize_text(a) != normalize_text(b)


def test_punctuation_is_never_a_token() -> None:
    assert tokenize("۔ ، ؟ ! — … «»").tokens == []
    assert normalize_text("یہ کتاب ہے۔ کیا؟") == "یہ کتاب ہے کیا"


def test_offsets_point_at_raw_text() -> None:
    raw = "Top-SECRET:  the\nsurveil-\nlance  «plan»"
    tokens = tokenize(raw)
    spans = [raw[s:e] for s, e in zip(tokens.starts, tokens.ends, strict=True)]
    assert tokens.tokens == ["top", "secret", "the", "surveillance", "plan"]
    assert spans == ["Top", "SECRET", "the", "surveil-\nlance", "plan"]


def test_ligature_expanding_to_words_keeps_offsets() -> None:
    tokens = tokenize("a ﷺ b")
    assert len(tokens.tokens) == 6
    assert tokens.starts.tolist()[1:5] == [2, 2, 2, 2]


def test_arabic_script_detection() -> None:
    assert is_arabic_script(normalize_token("کتاب"))
    assert not is_arabic_script("book")


@given(st.text())
def test_normalization_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@given(st.text())
def test_token_spans_are_ordered_and_inside_text(text: str) -> None:
    tokens = tokenize(text)
    assert len(tokens.tokens) == len(tokens.starts) == len(tokens.ends)
    starts, ends = tokens.starts.tolist(), tokens.ends.tolist()
    for start, end in zip(starts, ends, strict=True):
        assert 0 <= start < end <= len(text)
    assert starts == sorted(starts) and ends == sorted(ends)
    assert all(t and " " not in t for t in tokens.tokens)


def test_urdu_clean_text_is_stable() -> None:
    assert normalize_text(CLEAN_URDU) == CLEAN_URDU


_TRICKY = st.text(
    alphabet=st.sampled_from([*"ab -\n\t.,'’", *"\u200b\u200c\u00ad\u202bﷺ½ﻻک\u0650ـ\x1c"]),
    max_size=60,
)


@given(st.one_of(st.text(), _TRICKY))
def test_fast_tokenizing_equals_the_exact_pass(text: str) -> None:
    from leakscan.normalize import _tokenize_exact

    fast, exact = tokenize(text), _tokenize_exact(text)
    assert fast.tokens == exact.tokens
    assert fast.starts.tolist() == exact.starts.tolist()
    assert fast.ends.tolist() == exact.ends.tolist()
