"""Matching text read by OCR: the short letter stream, every shingle of an OCR'd text,
scheme 1 indexes, and real tesseract output of pages we render ourselves."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from leakscan.errors import SchemeError, SchemeMismatchError
from leakscan.extract import Extracted
from leakscan.extract.ocr_types import OcrInfo
from leakscan.fingerprint import Fingerprinter, Scheme
from leakscan.index import Index
from leakscan.scan import Scanner, ScanOptions
from tests import ocr_pages
from tests.texts import prose, urdu_document, urdu_prose, urdu_vocabulary

KEY = bytes(range(32))
SCHEME = Scheme()
# Only the short stream can meet runs shorter than 64 letters under this scheme.
SHORT_ONLY = Scheme(char_k=64, char_w=1)

urdu_words = st.text(alphabet="ابپتٹثجچحخدڈذرڑزژسشصضطظعغفقکگلمنوہھءیے", min_size=1, max_size=7)


def _hashes(text: str, scheme: Scheme, *, ocr: bool = False) -> set[int]:
    return set(Fingerprinter(KEY, scheme).fingerprint(text, ocr=ocr).hashes.tolist())


def _shared_run_texts(before: list[str], after: list[str], run: list[str]) -> tuple[str, str]:
    """The run inside other text, and again without its spaces inside other text."""
    a = " ".join([*before, "ہم", *run, "تم", *after])
    b = " ".join([*after, "وہ", "".join(run), "تو", *before])
    return a, b


@given(
    st.lists(urdu_words, max_size=30),
    st.lists(urdu_words, max_size=30),
    st.lists(urdu_words, min_size=8, max_size=16),
)
def test_short_stream_finds_every_shared_run_of_k_plus_w_minus_1_letters(
    before: list[str], after: list[str], run: list[str]
) -> None:
    letters = sum(map(len, run))
    assume(SHORT_ONLY.short_guarantee <= letters < SHORT_ONLY.char_k)
    a, b = _shared_run_texts(before, after, run)
    assert _hashes(a, SHORT_ONLY) & _hashes(b, SHORT_ONLY)
    # One side read by OCR (every shingle kept) meets the other side's winnowed picks.
    assert _hashes(a, SHORT_ONLY, ocr=True) & _hashes(b, SHORT_ONLY)
    assert _hashes(a, SHORT_ONLY) & _hashes(b, SHORT_ONLY, ocr=True)


@given(
    st.lists(urdu_words, max_size=20),
    st.lists(urdu_words, max_size=20),
    st.lists(urdu_words, min_size=1, max_size=4),
)
def test_two_ocr_texts_share_every_run_of_k_letters(
    before: list[str], after: list[str], run: list[str]
) -> None:
    assume(sum(map(len, run)) >= SHORT_ONLY.short_k)
    a, b = _shared_run_texts(before, after, run)
    assert _hashes(a, SHORT_ONLY, ocr=True) & _hashes(b, SHORT_ONLY, ocr=True)


@given(st.lists(st.one_of(urdu_words, st.sampled_from(["plan", "harbour", "12"])), max_size=80))
def test_ocr_fingerprints_hold_every_winnowed_one(words: list[str]) -> None:
    text = " ".join(words)
    fingerprinter = Fingerprinter(KEY)
    typed, read = fingerprinter.fingerprint(text), fingerprinter.fingerprint(text, ocr=True)
    assert set(typed.hashes.tolist()) <= set(read.hashes.tolist())
    assert len(read) >= len(typed)
    # The simhash is of the word and 12-letter shingles only: the same either way.
    assert (read.simhash, read.n_shingles) == (typed.simhash, typed.n_shingles)
    assert np.all(read.starts < read.ends)


def test_short_stream_is_its_own_keyed_stream() -> None:
    """Scheme 2 adds short-stream fingerprints to Urdu text only; English is as in scheme 1."""
    urdu = urdu_prose(3, 80)
    assert _hashes(urdu, Scheme.version_1()) < _hashes(urdu, Scheme.version_2())
    english = prose(3, 80)
    assert _hashes(english, Scheme.version_1()) == _hashes(english, Scheme.version_2())


# Computed by leakscan before scheme 2: a scheme 1 index must keep getting exactly these.
GOLDEN_TEXT = "بندرگاہ کی نگرانی سخت ہے اور رات کو گشت ہوگی۔ Harbour patrol at dawn, 12 boats."
GOLDEN_SIMHASH = "e1003b620c96189a"
GOLDEN_SCHEME_1 = [
    "30d39fea5435e4c8",
    "17a6577bb85e2c96",
    "6201ab673cb61388",
    "09ec4ccf4063dfaf",
    "300ce949381cc114",
]
GOLDEN_STARTS_1 = [11, 0, 1, 2, 5]


def test_scheme_1_fingerprints_are_those_scheme_1_indexes_hold() -> None:
    fp = Fingerprinter(KEY, Scheme.version_1()).fingerprint(GOLDEN_TEXT)
    assert f"{fp.simhash:016x}" == GOLDEN_SIMHASH
    assert [f"{h:016x}" for h in fp.hashes.tolist()] == GOLDEN_SCHEME_1
    assert fp.starts.tolist() == GOLDEN_STARTS_1


def test_scheme_2_golden_values_are_pinned() -> None:
    """Scheme 2 indexes are still matched: their fingerprints must not move."""
    fp = Fingerprinter(KEY, Scheme.version_2()).fingerprint(GOLDEN_TEXT)
    assert f"{fp.simhash:016x}" == GOLDEN_SIMHASH
    assert [f"{h:016x}" for h in fp.hashes.tolist()] == GOLDEN_SCHEME_2
    assert fp.starts.tolist() == [11, 0, 1, 2, 5, 1, 2, 5, 6]


GOLDEN_SCHEME_2 = [
    *GOLDEN_SCHEME_1,  # the word and 12-letter streams are scheme 1's
    "1427c7a6efd72434",
    "5db6e38bf1a5d0ae",
    "6114fc528593bef9",
    "0b6c9232a5fa70d6",
]


@pytest.mark.parametrize(
    "bad",
    [
        {"version": 1},  # scheme 1 had no short stream
        {"short_k": 0},
        {"short_w": 65},
    ],
    ids=["short-stream-in-scheme-1", "k-zero", "w-too-large"],
)
def test_invalid_short_streams_are_refused(bad: dict[str, int]) -> None:
    with pytest.raises(SchemeError):
        Scheme(**bad)


def test_schemes_round_trip_and_scheme_1_reads_as_written() -> None:
    assert Scheme.from_dict(SCHEME.to_dict()) == SCHEME
    written_by_scheme_1 = {
        "char_k": 12,
        "char_w": 8,
        "normalization": 1,
        "version": 1,
        "word_k": 5,
        "word_w": 4,
    }
    old = Scheme.from_dict(written_by_scheme_1)
    assert old == Scheme.version_1() and old.short_guarantee == 0
    assert old.to_dict() == written_by_scheme_1
    with pytest.raises(SchemeError):
        Scheme.from_dict({**written_by_scheme_1, "version": 2})  # no short stream given


def _set_meta_scheme(location: Path, scheme: dict[str, object]) -> None:
    db = sqlite3.connect(location)
    with db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'scheme'", (json.dumps(scheme),))
    db.close()


def test_a_scheme_1_index_opens_and_keeps_working(tmp_path: Path) -> None:
    """An index built before scheme 2 is read, extended and scanned with scheme 1 fingerprints."""
    location = tmp_path / "old.sqlite"
    source = urdu_document(41, 300)
    with Index.create(location, key=KEY, scheme=Scheme.version_1()) as index, index.writing():
        index.add_text(source, path="memo.txt")
    # What scheme 1's leakscan wrote in the meta, byte for byte (sorted keys, no short_*).
    db = sqlite3.connect(location)
    stored = db.execute("SELECT value FROM meta WHERE key = 'scheme'").fetchone()[0]
    db.close()
    assert stored == (
        '{"char_k": 12, "char_w": 8, "normalization": 1, "version": 1, "word_k": 5, "word_w": 4}'
    )
    with Index.open(location, readonly=True) as index:
        assert index.scheme == Scheme.version_1()
        scanner = Scanner(index)
        assert scanner.scan_text(source)[0].source == "memo.txt"
        # An OCR'd copy still gets every shingle of the streams scheme 1 has.
        damaged = source.replace("ک", "ل", 5)
        assert scanner.scan_text(damaged, ocr=True)[0].source == "memo.txt"
        assert index.describe()["scheme"] == Scheme.version_1().to_dict()
    with Index.open(location, writer=True) as index, index.writing():
        index.add_text(urdu_document(42, 200), path="second.txt")  # still scheme 1
        assert index.scheme.version == 1


@pytest.mark.parametrize(
    "scheme",
    [
        {"version": 4, "normalization": 1, "word_k": 5, "word_w": 4, "char_k": 12, "char_w": 8},
        {"version": 1, "normalization": 9, "word_k": 5, "word_w": 4, "char_k": 12, "char_w": 8},
        {"version": None},
    ],
    ids=["future-scheme", "other-normalization", "no-version"],
)
def test_an_index_of_an_unknown_scheme_asks_for_a_rebuild(
    tmp_path: Path, scheme: dict[str, object]
) -> None:
    location = tmp_path / "index.sqlite"
    Index.create(location, key=KEY).close()
    _set_meta_scheme(location, scheme)
    with pytest.raises(SchemeMismatchError, match="rebuild the index"):
        Index.open(location, readonly=True)


def test_the_scan_reads_the_ocr_flag_of_the_extracted_text() -> None:
    """Scanner._find_text fingerprints an OCR'd text with every shingle; typed text winnowed."""
    index = Index.open("memory://", create=True, key=KEY)
    source = urdu_document(43, 250)
    index.add_text(source, path="memo.txt")
    scanner = Scanner(index)
    typed = Extracted(source, "text/plain")
    read = Extracted(source, "image/png", ocr=OcrInfo("tesseract", "5", "urd", 90.0))
    typed_findings = scanner._find_text("a.txt", typed, "0" * 64, None)
    read_findings = scanner._find_text("a.png", read, "0" * 64, None)
    assert typed_findings[0].source == read_findings[0].source == "memo.txt"
    assert read_findings[0].matched_tokens >= typed_findings[0].matched_tokens


# -- real OCR ---------------------------------------------------------------

SOURCES = (61, 62)
UNRELATED = (71, 72)


@pytest.fixture(scope="module")
def needs_tesseract() -> None:
    if not ocr_pages.ocr_available("urd", "eng"):
        pytest.skip("tesseract with eng and urd, Pillow's raqm layout or the Noto fonts missing")


def _urdu(seed: int) -> str:
    return urdu_document(seed, 200, urdu_vocabulary())


def _urdu_index(scheme: Scheme) -> Index:
    """Our typed Urdu sources among 60 other Urdu documents of the same vocabulary."""
    index = Index.open("memory://", create=True, key=KEY, scheme=scheme)
    for seed in SOURCES:
        index.add_text(_urdu(seed), path=f"source-{seed}.txt")
    for seed in range(100, 160):
        index.add_text(_urdu(seed), path=f"other-{seed}.txt")
    return index


@pytest.fixture(scope="module")
def urdu_index() -> Index:
    return _urdu_index(SCHEME)


@pytest.mark.slow
@pytest.mark.usefixtures("needs_tesseract")
@pytest.mark.parametrize(
    ("seed", "face", "how"),
    [(61, "nastaliq", "rotated"), (62, "nastaliq", "photo"), (61, "naskh", "photo")],
)
def test_ocr_of_a_rendered_urdu_page_finds_its_typed_source(
    urdu_index: Index, seed: int, face: str, how: str
) -> None:
    text = ocr_pages.ocr_page(_urdu(seed), face, how)
    findings = Scanner(urdu_index).scan_text(text, name="page.png", ocr=True)
    assert [f.source for f in findings] == [f"source-{seed}.txt"]
    finding = findings[0]
    assert finding.score >= 0.65 and finding.containment >= 0.5
    assert all(p.text == text[p.suspect_start : p.suspect_end] for p in finding.passages)


@pytest.mark.slow
@pytest.mark.usefixtures("needs_tesseract")
def test_the_rotated_nastaliq_page_gives_more_evidence_with_scheme_2(urdu_index: Index) -> None:
    """What scheme 2 is for: scheme 1's winnowed 12-letter runs nominate this OCR'd page
    at best through a few long runs (before exact alignment they missed it); scheme 2's
    7-letter runs, every one kept, give it more evidence."""
    text = ocr_pages.ocr_page(_urdu(61), "nastaliq", "rotated")
    old = Scanner(_urdu_index(Scheme.version_1()), ScanOptions(min_score=0.0)).scan_text(text)
    new = Scanner(urdu_index).scan_text(text, ocr=True)
    assert new and new[0].source == "source-61.txt" and new[0].evidence is not None
    assert not old or (old[0].evidence or 0.0) < new[0].evidence


@pytest.mark.slow
@pytest.mark.usefixtures("needs_tesseract")
@pytest.mark.parametrize(("seed", "how"), [(71, "clean"), (72, "photo")])
def test_ocr_of_unrelated_urdu_pages_finds_nothing(urdu_index: Index, seed: int, how: str) -> None:
    text = ocr_pages.ocr_page(_urdu(seed), "nastaliq", how)
    assert Scanner(urdu_index).scan_text(text, ocr=True) == []
    # Nor in an index of one document, where no fingerprint is common enough to drop.
    for other in SOURCES:
        lone = Index.open("memory://", create=True, key=KEY)
        lone.add_text(_urdu(other), path="lone.txt")
        assert Scanner(lone).scan_text(text, ocr=True) == []


@pytest.mark.slow
@pytest.mark.usefixtures("needs_tesseract")
def test_ocr_of_an_english_photo_finds_its_source() -> None:
    index = Index.open("memory://", create=True, key=KEY)
    index.add_text(prose(81, 200), path="memo.txt")
    for seed in range(200, 230):
        index.add_text(prose(seed, 200), path=f"other-{seed}.txt")
    text = ocr_pages.ocr_page(prose(81, 200), "english", "photo")
    findings = Scanner(index).scan_text(text, ocr=True)
    assert [f.source for f in findings] == ["memo.txt"]
    assert findings[0].containment >= 0.8


@pytest.mark.slow
@pytest.mark.usefixtures("needs_tesseract")
def test_a_scanned_archive_page_is_found_from_a_typed_copy() -> None:
    """The archive side may be OCR'd too (a memo kept only as a scan): it keeps every shingle."""
    index = Index.open("memory://", create=True, key=KEY)
    scanned = ocr_pages.ocr_page(_urdu(61), "nastaliq", "clean")
    index.add_fingerprint(
        index.fingerprinter.fingerprint(scanned, ocr=True), path="scan.png", sha256="1" * 64
    )
    for seed in range(100, 130):
        index.add_text(_urdu(seed), path=f"other-{seed}.txt")
    findings = Scanner(index).scan_text(_urdu(61))
    assert [f.source for f in findings] == ["scan.png"]
