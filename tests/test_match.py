"""What a scan must detect, and what it must not, on generated texts (memory index)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leakscan import Finding, Index, MatchParams, Scanner, ScanOptions
from leakscan.match import common_cutoff
from tests.texts import edit_words, prose, rewrap, urdu_as_typed_elsewhere, urdu_prose

KEY = b"m" * 32
SOURCE = prose(1, 700)
LETTERHEAD = "Directorate of Coastal Vigilance, Block Nine, Harbour Road, Port Zelmar, restricted"


@pytest.fixture
def archive() -> Iterator[Index]:
    with Index.create("memory://", key=KEY) as index:
        index.add_text(SOURCE, path="ops/plan.txt")
        for n in range(2, 8):
            index.add_text(prose(n, 400), path=f"ops/other{n}.txt")
        yield index


def scan(index: Index, text: str, **params: object) -> list[Finding]:
    options = ScanOptions(params=MatchParams(**params))  # type: ignore[arg-type]
    return Scanner(index, options).scan_text(text, name="suspect")


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, [(f.source, f.score) for f in findings]
    return findings[0]


def test_exact_copy_is_an_exact_copy(archive: Index) -> None:
    found = only(scan(archive, SOURCE))
    assert (found.source, found.kind) == ("ops/plan.txt", "exact-copy")
    assert found.containment == 1.0 and found.coverage == 1.0 and found.score == 1.0
    assert found.simhash_distance == 0


def test_rewrapped_hyphenated_requoted_copy_is_an_exact_copy(archive: Index) -> None:
    """Same normalized text: an exact copy, never weaker than a reformatted one."""
    variant = rewrap(SOURCE)
    assert "-\n" in variant and "  " in variant
    found = only(scan(archive, variant))
    assert (found.source, found.kind, found.score) == ("ops/plan.txt", "exact-copy", 1.0)
    assert found.containment == 1.0


def test_pasted_paragraph_among_unrelated_text_is_an_excerpt(archive: Index) -> None:
    words = SOURCE.split(" ")
    excerpt = " ".join(words[300:362])  # 62 words from the middle
    suspect = prose(50, 250) + "\n\n" + excerpt + "\n\n" + prose(51, 250)
    found = only(scan(archive, suspect))
    assert (found.source, found.kind) == ("ops/plan.txt", "excerpt")
    assert found.coverage < 0.3 and found.containment < 0.15
    assert found.score >= 0.6
    [passage] = found.passages
    assert suspect[passage.suspect_start : passage.suspect_end] == passage.text
    # The passage is the excerpt, give or take the winnowing's reach at its ends.
    assert excerpt.find(passage.text) >= 0 or passage.text.find(excerpt[20:-20]) >= 0
    assert len(passage.text) >= 0.8 * len(excerpt)


def test_lightly_edited_copy_is_found(archive: Index) -> None:
    edited = edit_words(SOURCE, 0.10, seed=3)
    found = only(scan(archive, edited))
    assert found.source == "ops/plan.txt"
    assert found.kind == "near-duplicate"
    assert found.containment > 0.8 and found.score > 0.9


def test_heavily_edited_copy_is_still_an_excerpt_match(archive: Index) -> None:
    found = only(scan(archive, edit_words(SOURCE, 0.25, seed=4)))
    assert found.source == "ops/plan.txt"


@pytest.mark.parametrize("seed", range(100, 106))
def test_unrelated_text_on_the_same_topic_gives_nothing(archive: Index, seed: int) -> None:
    assert scan(archive, prose(seed, 600)) == []


def test_short_common_phrase_is_not_a_finding(archive: Index) -> None:
    seven_words = " ".join(SOURCE.split(" ")[100:107])
    assert scan(archive, prose(60, 200) + " " + seven_words + " " + prose(61, 200)) == []


def _with_letterhead(text: str) -> str:
    return f"{LETTERHEAD}\n\n{text}\n\n{LETTERHEAD}"


def test_letterhead_shared_by_archive_documents_raises_nothing() -> None:
    with Index.create("memory://", key=KEY) as index:
        for n in range(3):
            index.add_text(_with_letterhead(prose(200 + n, 400)), path=f"d{n}.txt")
        for n in range(20):
            index.add_text(prose(250 + n, 200), path=f"plain{n}.txt")
        innocent = _with_letterhead(prose(300, 300))
        assert scan(index, innocent) == []
        # In this archive of 23, only the cut-off stands between the letterhead (3 of them)
        # and a false alarm:
        assert scan(index, innocent, common_contents=10, evidence_half=2.0)
        # while a real copy is still found, letterhead included in its passage.
        copy = only(scan(index, _with_letterhead(prose(201, 400))))
        assert copy.source == "d1.txt" and copy.containment > 0.95


@pytest.mark.parametrize(
    ("contents", "cutoff"), [(1, 3), (8, 3), (2999, 3), (10_000, 10), (250_000, 250)]
)
def test_common_cutoff_grows_with_the_archive(contents: int, cutoff: int) -> None:
    assert common_cutoff(contents) == cutoff


def test_public_document_text_never_raises_findings() -> None:
    press_release = prose(400, 120)
    with Index.create("memory://", key=KEY) as index:
        index.add_text(prose(401, 300) + "\n\n" + press_release, path="secret.txt")
        index.add_text(press_release, path="press/release.txt", public=True)
        assert scan(index, prose(402, 200) + "\n\n" + press_release) == []
        leaked = prose(401, 300)
        assert only(scan(index, leaked)).source == "secret.txt"


def test_passage_shared_by_two_documents_reports_only_the_copied_one() -> None:
    shared = prose(500, 60)
    with Index.create("memory://", key=KEY) as index:
        index.add_text(prose(501, 300) + "\n\n" + shared, path="a.txt")
        index.add_text(shared + "\n\n" + prose(502, 300), path="b.txt")
        copy = prose(501, 300) + "\n\n" + shared
        assert [f.source for f in scan(index, copy)] == ["a.txt"]


def test_excerpts_of_two_documents_are_both_reported(archive: Index) -> None:
    other = prose(3, 400)
    suspect = " ".join(SOURCE.split(" ")[50:130]) + "\n\n" + " ".join(other.split(" ")[10:90])
    assert {f.source for f in scan(archive, suspect)} == {"ops/plan.txt", "ops/other3.txt"}


URDU_SOURCE = urdu_prose(1, 450)


@pytest.fixture
def urdu_archive() -> Iterator[Index]:
    with Index.create("memory://", key=KEY) as index:
        index.add_text(URDU_SOURCE, path="urdu/orders.txt")
        for n in range(2, 6):
            index.add_text(urdu_prose(n, 400), path=f"urdu/other{n}.txt")
        yield index


def test_urdu_copy_typed_differently_is_found(urdu_archive: Index) -> None:
    variant = urdu_as_typed_elsewhere(URDU_SOURCE, seed=1)
    assert "ي" in variant and "\u200c" in variant and "\ufee1" in variant
    found = only(scan(urdu_archive, variant))
    assert (found.source, found.kind) == ("urdu/orders.txt", "exact-copy")
    # Evidence quotes the suspect's own characters, not the normalized form.
    assert any("ي" in p.text for p in found.passages)


def test_urdu_excerpt_with_other_spacing_is_found(urdu_archive: Index) -> None:
    words = URDU_SOURCE.split(" ")
    excerpt = " ".join(words[200:240]).replace(" ", "", 5)
    suspect = urdu_prose(90, 150) + " " + excerpt + " " + urdu_prose(91, 150)
    found = only(scan(urdu_archive, suspect))
    assert (found.source, found.kind) == ("urdu/orders.txt", "excerpt")


@pytest.mark.parametrize("seed", range(200, 204))
def test_unrelated_urdu_with_the_same_vocabulary_gives_nothing(
    urdu_archive: Index, seed: int
) -> None:
    assert scan(urdu_archive, urdu_prose(seed, 500)) == []


def test_min_score_filters_weak_findings(archive: Index) -> None:
    excerpt = " ".join(SOURCE.split(" ")[400:410])  # the scheme's guarantee: 10 words
    suspect = prose(70, 200) + " " + excerpt + " " + prose(71, 200)
    weak = Scanner(archive, ScanOptions(min_score=0.0)).scan_text(suspect)
    assert weak and all(f.score < 0.99 for f in weak)
    assert Scanner(archive, ScanOptions(min_score=0.99)).scan_text(suspect) == []
