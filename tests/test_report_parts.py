"""Parts of the reports: marking shared words, reading saved streams back, quoting sources."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from leakscan.errors import ConfigurationError
from leakscan.records import ErrorRecord, Finding, LeadRecord, Summary
from leakscan.report.marks import MAX_SHOWN_CHARS, mark_pair, shown
from leakscan.report.saved import read_records, record_from_dict
from leakscan.report.sources import SourceQuoter, SourceText, Unquoted


def _marked(side: object) -> list[str]:
    return [s.text for s in side.segments if s.kind == "mark"]  # type: ignore[attr-defined]


def test_words_only_one_side_has_are_left_unmarked() -> None:
    suspect = "The patrol leaves Berth 7 at 0300 hours with four officers aboard."
    source = "The patrol leaves Berth 9 at 0300 hours with four officers aboard."
    left, right = mark_pair(suspect, source)
    assert right is not None
    assert _marked(left) == ["The patrol leaves Berth", "at 0300 hours with four officers aboard"]
    assert _marked(right) == ["The patrol leaves Berth", "at 0300 hours with four officers aboard"]
    assert "".join(s.text for s in left.segments) == suspect  # nothing lost or added


def test_urdu_typed_with_arabic_letters_still_matches() -> None:
    urdu = "کشتی کے دونوں جانب نیا رجسٹریشن نمبر لکھا جائے"
    arabic_keyboard = urdu.replace("ی", "ي").replace("ک", "ك")
    left, right = mark_pair(arabic_keyboard, urdu)
    assert right is not None and left.lang == right.lang == "ur"
    assert _marked(left) == [arabic_keyboard] and _marked(right) == [urdu]


def test_without_the_source_the_whole_passage_is_marked() -> None:
    left, right = mark_pair("a pasted paragraph", None)
    assert right is None and _marked(left) == ["a pasted paragraph"]


def test_controls_are_shown_as_escapes_and_bidi_marks_counted() -> None:
    text = "line one\r\nline\u2028two \x00\x1b[2J \udcff \u202eevil\u202c end"
    side = shown(text, None)
    kinds = [(s.kind, s.text) for s in side.segments if s.kind == "ctl"]
    assert kinds == [("ctl", "\\x00"), ("ctl", "\\x1b"), ("ctl", "\\xff")]
    assert side.bidi_hidden == 2
    joined = "".join(s.text for s in side.segments)
    assert "\u202e" not in joined and "line\ntwo" in joined and "\r\n" in joined


def test_a_huge_passage_is_cut_for_display() -> None:
    side = shown("word " * 50_000, None)
    assert sum(len(s.text) for s in side.segments) == MAX_SHOWN_CHARS


def test_saved_streams_read_back_and_ignore_what_they_do_not_know() -> None:
    finding = {
        "type": "finding",
        "suspect": "a.txt",
        "suspect_sha256": "0" * 64,
        "source": "memo.txt",
        "source_sha256": "1" * 64,
        "kind": "excerpt",
        "score": 0.8,
        "containment": 0.5,
        "coverage": 0.4,
        "simhash_distance": 9,
        "matched_tokens": 30,
        "passages": [
            {
                "suspect_start": 0,
                "suspect_end": 9,
                "source_start": 3,
                "source_end": 33,
                "text": "some text",
                "tokens": 30,
                "future": 1,
            }
        ],
        "messages": ["chat.txt#L1", "chat.txt#L2"],
        "added_later": {"x": 1},
    }
    lines = [
        json.dumps(finding),
        json.dumps({"type": "verdict", "whatever": True}),  # a type of a later version
        "",
        json.dumps({"type": "error", "suspect": "b.pdf", "error": "corrupt"}),
        json.dumps({"type": "summary", "findings": 1, "run": {"host": "lab-3"}, "schema": 1}),
    ]
    records = list(read_records(lines))
    assert [type(r) for r in records] == [Finding, ErrorRecord, Summary]
    first = records[0]
    assert isinstance(first, Finding)
    assert first.messages == ("chat.txt#L1", "chat.txt#L2")
    assert first.passages[0].source_start == 3
    assert isinstance(records[2], Summary) and records[2].run == {"host": "lab-3"}


LEAD = LeadRecord(
    suspect="export/chat.txt",
    suspect_sha256="0" * 64,
    source="memo.txt",
    source_sha256="1" * 64,
    score=0.9134,
    evidence=17.25,
    matches=("export/chat.txt#L2", "export/chat.txt#L9"),
    senders=("Imran", "بلال"),
    below_min_score=2,
    source_label="north",
)


def test_a_lead_reads_back_as_it_was_written() -> None:
    data = json.loads(json.dumps(LEAD.to_dict(), ensure_ascii=False))
    assert record_from_dict(data) == LEAD  # tuples again, not lists
    bare = {k: v for k, v in data.items() if k not in ("senders", "source_label")}
    assert record_from_dict({**bare, "future": [1]}) == LeadRecord(
        **{**LEAD.__dict__, "senders": (), "source_label": None}
    )


def test_new_fields_of_findings_and_summaries_read_back() -> None:
    finding = Finding(
        suspect="a.txt",
        suspect_sha256="0" * 64,
        source="memo.txt",
        source_sha256="1" * 64,
        kind="excerpt",
        score=0.8,
        containment=0.5,
        coverage=0.4,
        simhash_distance=9,
        matched_tokens=30,
        evidence=21.5,
        discounted_tokens=12,
    )
    summary = Summary(findings=1, leads=2, hidden_findings=7, min_score=0.7)
    lines = [json.dumps(r.to_dict()) for r in (finding, LEAD, summary)]
    assert list(read_records(lines)) == [finding, LEAD, summary]
    # a stream of an older leakscan has none of them
    old = {k: v for k, v in summary.to_dict().items() if k not in ("leads", "min_score")}
    [read] = read_records([json.dumps(old)])
    assert isinstance(read, Summary) and (read.leads, read.min_score) == (0, None)


def _lead_with(**changes: object) -> str:
    return json.dumps({**LEAD.to_dict(), **changes})


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (_lead_with(matches="export/chat.txt#L2"), "matches is not a list of text"),
        (_lead_with(senders=["Imran", {"name": "x"}]), "senders is not a list of text"),
        (_lead_with(score="high"), "score is not a number"),
        (_lead_with(evidence=True), "evidence is not a number"),
        (_lead_with(source=["memo.txt"]), "source is not text"),
        (json.dumps({"type": "lead", "suspect": "a", "score": 0.9}), "a lead record leakscan"),
        (
            json.dumps({"type": "summary", "findings": 1, "min_score": "0.7"}),
            "min_score is not a number",
        ),
        (
            json.dumps({**json.loads(_lead_with()), "type": "finding", "evidence": "much"}),
            "evidence is not a number",
        ),
    ],
    ids=[
        "matches-not-a-list",
        "sender-not-text",
        "score-text",
        "evidence-bool",
        "source-list",
        "lead-missing-fields",
        "min-score-text",
        "finding-evidence-text",
    ],
)
def test_a_bad_lead_or_new_field_is_named(line: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=f"line 1: .*{message}"):
        list(read_records([line], "saved.jsonl"))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("[1, 2]", 'no "type"'),
        ('{"type": "finding", "suspect": "a"}', "a finding record leakscan cannot read"),
        (
            '{"type": "error", "suspect": "a", "error": ["not", "text"]}',
            "error is not text",
        ),
        ('{"type": "summary", "findings": 1, "nonsense": 2, "items": "many"}', ""),
    ],
    ids=["not-an-object", "missing-fields", "wrong-type", "summary-extra-field"],
)
def test_a_bad_saved_line_is_named(line: str, message: str) -> None:
    if not message:  # a summary's counts are shown as they are: an odd value is not fatal
        assert len(list(read_records([line]))) == 1
        return
    with pytest.raises(ConfigurationError, match=f"line 1: .*{message}"):
        list(read_records([line], "saved.jsonl"))


def test_a_finding_with_a_bad_passage_is_refused() -> None:
    line = json.dumps(
        {
            "type": "finding",
            "suspect": "a",
            "suspect_sha256": "",
            "source": "m",
            "source_sha256": "",
            "kind": "excerpt",
            "score": "high",
            "containment": 0,
            "coverage": 0,
            "simhash_distance": 0,
            "matched_tokens": 0,
            "passages": [],
        }
    )
    with pytest.raises(ConfigurationError, match="score is not a number"):
        list(read_records([line]))


def test_quoter_checks_the_hash_and_maps_token_positions(tmp_path: Path) -> None:
    text = "Alpha beta, gamma-delta!\n\nEpsilon zeta eta theta."
    (tmp_path / "memo.txt").write_text(text, encoding="utf-8")
    sha = hashlib.sha256(text.encode()).hexdigest()
    with SourceQuoter(archive_dirs=[tmp_path]) as quoter:
        quoted = quoter.quote(["memo.txt"], sha, [(1, 4), (4, 6), (7, 99), (50, 60)])
        assert isinstance(quoted, SourceText)
        texts = [q.text if q else None for q in quoted.quotes]
        assert texts == ["beta, gamma-delta", "Epsilon zeta", "theta", None]
        changed = quoter.quote(["memo.txt"], "0" * 64, [(0, 2)])
        assert isinstance(changed, Unquoted) and "changed since it was indexed" in changed.reason
        missing = quoter.quote(["gone/memo.txt"], sha, [(0, 2)])
        assert isinstance(missing, Unquoted) and "gone/memo.txt: not found" in missing.reason


def test_quoter_says_why_it_cannot_read_a_source(tmp_path: Path) -> None:
    (tmp_path / "memo.pdf").write_bytes(b"%PDF-1.4 truncated")
    data = (tmp_path / "memo.pdf").read_bytes()
    with SourceQuoter(archive_dirs=[tmp_path]) as quoter:
        quoted = quoter.quote(["memo.pdf"], hashlib.sha256(data).hexdigest(), [(0, 5)])
        assert isinstance(quoted, Unquoted) and "memo.pdf:" in quoted.reason
        unknown = SourceQuoter().quote(["memo.txt"], "0" * 64, [(0, 1)])
        assert isinstance(unknown, Unquoted) and "archive folder is not known" in unknown.reason
