"""Scores that mean something (issue 12): reproducible under any key, short leaks
surfaced, boilerplate and repetition not counted as evidence, weak leads added up."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leakscan import Finding, Index, Scanner, ScanOptions, Summary
from leakscan import build as build_index
from leakscan import scan as scan_targets
from leakscan.compare import compare_texts
from leakscan.fingerprint import Scheme
from leakscan.leads import screen
from leakscan.match import MatchParams, confidence
from leakscan.records import LeadRecord
from tests.chat_factories import WaMessage, write_whatsapp_export
from tests.texts import prose, urdu_prose

LETTERHEAD = (
    "Directorate of Coastal Vigilance, Block Nine, Harbour Road, Port Zelmar. "
    "Restricted. For official use only."
)
STOCK = (
    "The undersigned is directed to refer to the subject noted above and to state that "
    "the matter is under consideration in accordance with the rules."
)
# Distinctive sentences of 12 to 16 words (fictional).
LEAK_EN = "Call sign Amber Heron will shadow the tanker Mirela from buoy 17 after midnight."
LEAK_UR = "کال سائن عنبر بگلا آدھی رات کے بعد بوائے سترہ سے ٹینکر میریلا کا پیچھا کرے گا"
MEMO_BODY = [
    "The night patrol schedule for the eastern channel is revised with effect from Monday.",
    LEAK_EN,
    "Two fast boats remain on standby at the fuel jetty until the exercise is over.",
    "Radar coverage south of the breakwater is weak and is to be reported every hour.",
    "Any contact with fishing craft near the closed zone is logged with its position.",
]


def memo(body: list[str]) -> str:
    return "\n\n".join([LETTERHEAD, STOCK, *body, "Sd/- Commander, Coastal Vigilance"])


ARCHIVE = {
    "ops/patrol-memo.txt": memo(MEMO_BODY),
    "ops/fuel-memo.txt": memo(
        [
            "Fuel stocks at the northern depot fall short of the monthly need by a third.",
            "The depot manager Tarek Volsin will send revised figures by Thursday noon.",
        ]
    ),
    "urdu/gasht.txt": "\n".join(
        [
            "ڈائریکٹوریٹ ساحلی نگرانی، بلاک نو، ہاربر روڈ",
            LEAK_UR,
            "مشرقی چینل میں رات کی گشت کا نیا شیڈول پیر سے نافذ ہوگا",
        ]
    ),
}


def build(keys: bytes, order: list[str] | None = None) -> Index:
    index = Index.open("memory://", create=True, key=keys)
    for path in order or sorted(ARCHIVE):
        index.add_text(ARCHIVE[path], path=path)
    return index


@pytest.fixture
def archive() -> Iterator[Index]:
    with build(b"s" * 32) as index:
        yield index


def findings(index: Index, text: str, min_score: float = 0.5) -> list[Finding]:
    return Scanner(index, ScanOptions(min_score=min_score)).scan_text(text, name="suspect")


def verdict(found: list[Finding]) -> list[tuple[object, ...]]:
    return [
        (
            f.source,
            f.kind,
            round(f.score, 9),
            f.matched_tokens,
            tuple(
                (p.suspect_start, p.suspect_end, p.source_start, p.source_end) for p in f.passages
            ),
        )
        for f in found
    ]


# -- reproducible --------------------------------------------------------------


@settings(max_examples=12, deadline=None)
@given(
    doc=st.integers(0, 3),
    start=st.integers(0, 300),
    length=st.sampled_from([8, 10, 12, 16, 24, 40, 90]),
    noise=st.integers(0, 10_000),
)
def test_scores_and_passages_do_not_depend_on_the_key(
    doc: int, start: int, length: int, noise: int
) -> None:
    sources = [prose(700 + n, 420) for n in range(4)]
    words = sources[doc].split(" ")
    excerpt = " ".join(words[start : start + length])
    suspect = prose(noise, 60) + " " + excerpt + " " + prose(noise + 1, 60)
    results = []
    for order in (range(4), reversed(range(4)), (2, 0, 3, 1)):
        with Index.open("memory://", create=True, key=secrets.token_bytes(32)) as index:
            for n in order:
                index.add_text(sources[n], path=f"doc{n}.txt")
            results.append(verdict(findings(index, suspect, min_score=0.0)))
    assert results[0] == results[1] == results[2]
    if length >= Scheme().word_guarantee:
        assert results[0], "an excerpt of the scheme's guarantee or more is always matched"
        assert results[0][0][0] == f"doc{doc}.txt"
    # A shorter excerpt counts for nothing; what the generated noise around it shares with
    # the sources by chance may still match, the same under every key (checked above).


def test_passage_boundaries_are_exact_on_both_sides(archive: Index) -> None:
    suspect = "Meeting notes, nothing else here at all. " + LEAK_EN + " See you then."
    [found] = findings(archive, suspect)
    [passage] = found.passages
    assert passage.text == LEAK_EN.rstrip(".")
    source_words = archive.fingerprinter.fingerprint(ARCHIVE[found.source]).tokens.tokens
    leak_words = archive.fingerprinter.fingerprint(LEAK_EN).tokens.tokens
    assert source_words[passage.source_start : passage.source_end] == leak_words


def test_compare_is_deterministic() -> None:
    a = ARCHIVE["ops/patrol-memo.txt"]
    b = prose(5, 200) + " " + LEAK_EN
    first, second = compare_texts(a, b), compare_texts(a, b)
    assert first.to_dict() == second.to_dict()
    assert first.passages and first.passages[0].text.startswith("Call sign Amber Heron")


# -- calibrated and surfaced -------------------------------------------------------


def test_a_distinctive_sentence_is_reported_by_default(archive: Index) -> None:
    chat_message = "bhai dekho ye kya mila: " + LEAK_EN + " delete kar dena"
    [found] = findings(archive, chat_message)
    assert (found.source, found.kind) == ("ops/patrol-memo.txt", "excerpt")
    assert found.score >= 0.5 and found.matched_tokens >= 12


def test_a_distinctive_urdu_sentence_is_reported_by_default(archive: Index) -> None:
    chat_message = "یہ دیکھو " + LEAK_UR + " کسی کو مت بتانا"
    [found] = findings(archive, chat_message)
    assert found.source == "urdu/gasht.txt" and found.score >= 0.5


def test_the_score_grows_with_how_unusual_the_shared_text_is(archive: Index) -> None:
    stock = findings(archive, "Reply: " + STOCK + " Regards.", min_score=0.0)
    leak = findings(archive, "Reply: " + LEAK_EN + " Regards.", min_score=0.0)
    assert leak and leak[0].score >= 0.5
    assert all(f.score < 0.5 for f in stock)
    assert not stock or stock[0].evidence < leak[0].evidence


@pytest.mark.parametrize("documents", [2, 3, 12])
def test_a_shared_letterhead_is_not_a_finding_in_small_and_large_archives(documents: int) -> None:
    with Index.open("memory://", create=True, key=b"l" * 32) as index:
        for n in range(documents):
            index.add_text(LETTERHEAD + "\n\n" + STOCK + "\n\n" + prose(900 + n, 300), path=f"{n}")
        notice = LETTERHEAD + "\n\nThe canteen stays closed on Friday for cleaning."
        assert findings(index, notice) == []
        # A real excerpt next to the letterhead is still found, the letterhead discounted.
        leak = LETTERHEAD + "\n\n" + " ".join(prose(900, 300).split(" ")[100:130])
        [found] = findings(index, leak)
        assert found.source == "0" and found.score >= 0.5


def test_a_quoted_public_sentence_is_not_a_finding(archive: Index) -> None:
    notice = "The harbour office announces that the eastern channel closes for dredging in May."
    archive.add_text("Press note. " + notice, path="public/press.txt", public=True)
    archive.add_text(memo(["Internal: " + notice, "Nothing else."]), path="ops/dredge.txt")
    assert findings(archive, "Saw this: " + notice) == []


def test_repetition_counts_once(archive: Index) -> None:
    once = findings(archive, "x. " + LEAK_EN + " y.", min_score=0.0)
    many = findings(archive, "x. " + " ".join([LEAK_EN] * 6) + " y.", min_score=0.0)
    assert once and many
    assert many[0].score == pytest.approx(once[0].score)
    assert many[0].evidence == pytest.approx(once[0].evidence)
    with Index.open("memory://", create=True, key=b"r" * 32) as index:
        index.add_text(" ".join([LEAK_EN] * 5) + " " + prose(3, 200), path="template.txt")
        [repeated] = findings(index, "x. " + LEAK_EN + " y.", min_score=0.0)
        assert repeated.evidence == pytest.approx(once[0].evidence)


def test_an_exact_copy_never_reads_weaker_than_a_reformatted_one(archive: Index) -> None:
    text = ARCHIVE["ops/patrol-memo.txt"]
    [exact] = findings(archive, text)
    [wrapped] = findings(archive, text.replace(". ", ".\n").replace("Harbour", "HARBOUR"))
    edited = findings(archive, text.replace("Monday", "Sunday"))
    assert exact.kind == "exact-copy" and exact.score == 1.0
    assert wrapped.kind == "exact-copy"
    assert edited[0].kind == "near-duplicate" and edited[0].score <= exact.score


def test_boilerplate_is_discounted_and_said_so(archive: Index) -> None:
    archive.add_text(memo(["A third memo with other content about nets."]), path="ops/nets.txt")
    text = LETTERHEAD + "\n\n" + STOCK + "\n\n" + MEMO_BODY[0] + " " + MEMO_BODY[2]
    [found] = findings(archive, text)
    assert found.source == "ops/patrol-memo.txt"
    assert found.discounted_tokens and found.discounted_tokens >= 20
    assert found.evidence is not None and found.evidence < found.matched_tokens


# -- leads ---------------------------------------------------------------------


def test_weak_matches_of_one_source_add_up_to_a_lead(archive: Index) -> None:
    """Three pastes of ten words (the scheme's guarantee) from three sentences of one
    memo, each under --min-score 0.7, are one lead over it."""
    words = [s.split(" ") for s in MEMO_BODY]
    pastes = [" ".join(words[n][at : at + 10]) for n, at in ((0, 0), (2, 1), (3, 2))]
    weak = [findings(archive, f"msg: {p} ok", min_score=0.0) for p in pastes]
    scores = [f[0].score for f in weak]
    found = [f[0] for f in weak]
    found = [Finding(**{**f.__dict__, "suspect": f"chat.txt#L{n}"}) for n, f in enumerate(found, 1)]
    screened = screen("chat.txt", "abc", found, 0.7)
    assert all(s < 0.7 for s in scores), scores
    [lead] = screened.leads
    assert isinstance(lead, LeadRecord) and lead.source == "ops/patrol-memo.txt"
    assert lead.score >= 0.7 and lead.score > max(scores)
    assert lead.matches == ("chat.txt#L1", "chat.txt#L2", "chat.txt#L3")
    assert lead.below_min_score == 3 and screened.hidden == 0
    # The same paste three times is one paste: no lead.
    same = [Finding(**{**found[0].__dict__, "suspect": f"chat.txt#L{n}"}) for n in range(3)]
    again = screen("chat.txt", "abc", same, 0.7)
    assert again.leads == [] and again.hidden == 3


def test_confidence_rises_with_evidence() -> None:
    params = MatchParams()
    values = [confidence(e, params) for e in (0, 2, 4, 6, 8, 12, 30)]
    assert values == sorted(values) and values[0] == 0.0 and values[-1] > 0.999
    assert confidence(params.evidence_half, params) == pytest.approx(0.5)


def test_urdu_prose_excerpt_keys_agree() -> None:
    source = urdu_prose(31, 300)
    excerpt = " ".join(source.split(" ")[100:118])
    results = []
    for _ in range(3):
        with Index.open("memory://", create=True, key=secrets.token_bytes(32)) as index:
            index.add_text(source, path="u.txt")
            index.add_text(urdu_prose(32, 300), path="v.txt")
            results.append(verdict(findings(index, urdu_prose(33, 40) + " " + excerpt, 0.0)))
    assert results[0] == results[1] == results[2] and results[0]


def test_index_stats_show_boilerplate_and_public_documents() -> None:
    with Index.open("memory://", create=True, key=b"b" * 32) as index:
        for n in range(4):
            index.add_text(LETTERHEAD + "\n\n" + prose(950 + n, 200), path=f"memo{n}.txt")
        index.add_text("A public notice about the harbour dredging in May.", path="p", public=True)
        stats = index.stats(boilerplate=3, cutoff=3)
        assert stats.public_documents == 1
        # at most the three asked for, and only fingerprints two or more contents share
        assert 1 <= len(stats.boilerplate) <= 3
        assert all(entry["contents"] >= 2 for entry in stats.boilerplate)
        top = stats.boilerplate[0]
        assert top["contents"] == 4 and top["ignored"] is True
        assert top["documents"] == [f"memo{n}.txt" for n in range(4)]
        assert index.stats().boilerplate == []  # only when asked for


def _export(tmp_path: Path) -> Path:
    """A seized folder: a WhatsApp chat with one sentence pasted, two short pastes of one
    memo (ten words: weak alone) and one too short to count (eight words, under the
    scheme's guarantee) by one sender, the memo copied as a file, and an Urdu note."""
    export = tmp_path / "export"
    start = datetime(2026, 3, 1, 9, 0)
    words = [s.split(" ") for s in MEMO_BODY]
    texts = [
        ("Nadia Karim", "ok see you at the jetty"),
        ("Omar Sheikh", "bhai ye dekho " + LEAK_EN),
        ("Nadia Karim", "hmm"),
        ("Omar Sheikh", " ".join(words[2][4:14])),
        ("Nadia Karim", "and then?"),
        ("Omar Sheikh", " ".join(words[3][2:12])),
        ("Nadia Karim", "what else"),
        ("Omar Sheikh", " ".join(words[0][:8])),
        ("Nadia Karim", STOCK),  # stock text of every memo: no finding
    ]
    messages = [
        WaMessage(start + timedelta(minutes=n), sender, text)
        for n, (sender, text) in enumerate(texts)
    ]
    write_whatsapp_export(export / "chat", messages)
    (export / "copy.txt").write_text(ARCHIVE["ops/patrol-memo.txt"], encoding="utf-8")
    (export / "note.txt").write_text("نوٹ: " + LEAK_UR, encoding="utf-8")
    circular = LETTERHEAD + "\n\n" + STOCK + "\n\nThe canteen is closed on Friday for cleaning."
    (export / "circular.txt").write_text(circular, encoding="utf-8")
    return export


def _outcome(records: list[object], root: Path) -> list[tuple[object, ...]]:
    shown: list[tuple[object, ...]] = []
    for r in records:
        if isinstance(r, Finding):
            spans = tuple(
                (p.suspect_start, p.suspect_end, p.source_start, p.source_end) for p in r.passages
            )
            shown.append(
                (
                    str(r.suspect).replace(str(root), ""),
                    r.source,
                    r.kind,
                    round(r.score, 9),
                    r.matched_tokens,
                    spans,
                )
            )
        elif isinstance(r, LeadRecord):
            shown.append(
                (
                    r.suspect.replace(str(root), ""),
                    r.source,
                    "lead",
                    round(r.score, 9),
                    tuple(m.replace(str(root), "") for m in r.matches),
                )
            )
    return sorted(shown, key=repr)


def test_findings_and_leads_are_the_same_under_any_key_and_any_jobs(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    for path, text in ARCHIVE.items():
        (archive / path).parent.mkdir(parents=True, exist_ok=True)
        (archive / path).write_text(text, encoding="utf-8")
    for n in range(4):
        (archive / f"other{n}.txt").write_text(prose(600 + n, 300), encoding="utf-8")
    export = _export(tmp_path)
    outcomes, summaries = [], []
    for jobs in (1, 2):
        location = tmp_path / f"index{jobs}.sqlite"
        with Index.create(location, key=secrets.token_bytes(32)) as index:
            build_index(index, [archive], jobs=jobs)
        records = list(scan_targets([export], location, jobs=jobs))
        outcomes.append(_outcome(records, tmp_path))
        summaries.append(next(r for r in records if isinstance(r, Summary)))
    assert outcomes[0] == outcomes[1]
    kinds = {row[2] for row in outcomes[0]}
    assert {"exact-copy", "excerpt", "lead"} <= kinds, outcomes[0]
    [lead] = [row for row in outcomes[0] if row[2] == "lead"]
    # the pasted sentence (reported on its own too) and the two ten-word pastes; the
    # eight-word one is under the scheme's guarantee and counts for nothing
    assert lead[1] == "ops/patrol-memo.txt" and [m.rsplit("#", 1)[1] for m in lead[4]] == [
        "L2",
        "L4",
        "L6",
    ]
    # the stock message and the circular match weakly: hidden, and counted
    assert summaries[0].leads == 1 and summaries[0].hidden_findings == 2
    assert summaries[1].hidden_findings == 2
    assert summaries[0].min_score == 0.5
    suspects = {str(row[0]) for row in outcomes[0]}
    assert not any(s.endswith(("circular.txt", "#L9")) for s in suspects), suspects


def test_weak_matches_in_several_files_of_an_export_add_up(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    for path, text in ARCHIVE.items():
        (archive / path).parent.mkdir(parents=True, exist_ok=True)
        (archive / path).write_text(text, encoding="utf-8")
    export = tmp_path / "laptop"
    export.mkdir()
    # Ten words each (the scheme's guarantee), each under 0.5 alone.
    for n, (sentence, at) in enumerate(((MEMO_BODY[2], 4), (MEMO_BODY[3], 2))):
        paste = " ".join(sentence.split(" ")[at : at + 10])
        (export / f"note{n}.txt").write_text(f"{prose(70 + n, 30)} {paste}", encoding="utf-8")
    location = tmp_path / "index.sqlite"
    with Index.create(location, key=b"e" * 32) as index:
        build_index(index, [archive])
    records = list(scan_targets([export], location))
    assert not [r for r in records if isinstance(r, Finding)]  # each too weak alone
    [lead] = [r for r in records if isinstance(r, LeadRecord)]
    assert lead.suspect == str(export) and lead.source == "ops/patrol-memo.txt"
    assert sorted(Path(m).name for m in lead.matches) == ["note0.txt", "note1.txt"]
    assert lead.below_min_score == 2 and lead.score >= 0.5
    summary = records[-1]
    assert isinstance(summary, Summary) and summary.leads == 1 and summary.hidden_findings == 0
    # One file alone is no lead: its match stays hidden, and counted.
    alone = list(scan_targets([export / "note0.txt"], location))
    assert not [r for r in alone if isinstance(r, LeadRecord | Finding)]
    last = alone[-1]
    assert isinstance(last, Summary) and last.hidden_findings == 1
