"""Names are data: printing them escapes what a terminal would obey; locators keep them apart."""

from __future__ import annotations

import io
import os
import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leakscan.names import (
    Locator,
    Member,
    Occurrences,
    child_locator,
    duplicate_suffix,
    locator,
    locator_part,
    parse_locator,
    printable,
    printable_passage,
)
from leakscan.records import ErrorRecord, Finding, Passage, Record, SkippedRecord, Summary
from leakscan.report.text import TextWriter
from leakscan.walk import display_name

URDU_NAME = "بندرگاہ\u200cنقشہ.pdf"  # ZWNJ inside a word, as Urdu is written

_READ_BACK = re.compile(
    r"\\(?:(?P<named>[\\nrt])|x(?P<x>[0-9a-fA-F]{2})|u(?P<u>[0-9a-fA-F]{4})|U(?P<U>[0-9a-fA-F]{8}))"
)


def read_back(printed: str) -> str:
    """The inverse of printable, by the rule in the module docstring."""

    def one(match: re.Match[str]) -> str:
        if match.group("named"):
            return {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}[match.group("named")]
        if match.group("x"):
            code = int(match.group("x"), 16)
            return chr(code if code < 0x80 else 0xDC00 + code)
        return chr(int(match.group("u") or match.group("U"), 16))

    return _READ_BACK.sub(one, printed)


def shows_nothing_hidden(text: str) -> bool:
    return all(
        unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Zl", "Zp")
        and c not in "\u115f\u1160\u3164\uffa0"
        for c in text
    )


# --- printable -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("plan.pdf", "plan.pdf"),
        ("a\nFOUND   fake", "a\\nFOUND   fake"),
        ("x\r\ty", "x\\r\\ty"),
        ("\x1b[2J\x1b]0;title\x07", "\\x1b[2J\\x1b]0;title\\x07"),
        ("del\x7f", "del\\x7f"),
        ("c1\x9b31m", "c1\\u009b31m"),
        ("invoice\u202efdp.exe", "invoice\\u202efdp.exe"),
        (
            "\u2066isolate\u2069 \u200eltr\u200f \u061calm",
            "\\u2066isolate\\u2069 \\u200eltr\\u200f \\u061calm",
        ),
        ("line\u2028para\u2029", "line\\u2028para\\u2029"),
        ("zero\u200bwidth\ufeff soft\xadhyphen", "zero\\u200bwidth\\ufeff soft\\u00adhyphen"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("filler\u3164", "filler\\u3164"),
        (URDU_NAME, "بندرگاہ\\u200cنقشہ.pdf"),
        ("byte\udcff", "byte\\xff"),
        ("lone\ud800", "lone\\ud800"),
        ("C:\\Users\\omar\\docs", "C:\\Users\\omar\\docs"),
        ("C:\\new\\report", "C:\\\\new\\\\report"),
        ("a\\x41", "a\\\\x41"),
        ("a\\u202e", "a\\\\u202e"),
        ("a\\\\b", "a\\\\\\b"),
        ("a\\\nb", "a\\\\\\nb"),
        ("trailing\\", "trailing\\"),
        ("مسودہ (نقل) ۲۰۲۴.docx", "مسودہ (نقل) ۲۰۲۴.docx"),
        ("café résumé", "café résumé"),
    ],
    ids=lambda value: value.encode("unicode_escape").decode("ascii")[:30],
)
def test_printable(name: str, shown: str) -> None:
    assert printable(name) == shown
    assert read_back(shown) == name


@given(st.text(alphabet=st.characters(codec=None), max_size=40))
def test_printed_names_hide_nothing_and_read_back(name: str) -> None:
    shown = printable(name)
    assert shows_nothing_hidden(shown)
    assert len(shown.splitlines()) <= 1
    if not re.search(r"\\x[89a-fA-F][0-9a-fA-F]", name):  # the one overlap: see the docstring
        assert read_back(shown) == name


@given(st.binary(max_size=40))
def test_undecodable_bytes_print_alike_however_the_name_arrived(raw: bytes) -> None:
    """A path escaped by walk.display_name prints as the same path kept raw (display_name
    also makes it a locator part, so ``%``, ``!`` and ``#`` are percent-escaped there)."""
    raw_name = locator_part(os.fsdecode(raw))
    assert printable(display_name(os.fsdecode(raw))) == printable(raw_name)
    assert shows_nothing_hidden(printable(os.fsdecode(raw)))


def test_passages_keep_urdu_and_joiners_but_not_controls() -> None:
    text = "اجلاس\u200cرپورٹ\u200d: zero\u200bwidth soft\xad, ESC\x1b[2J, \u202eevil, a\nb"
    assert printable_passage(text) == (
        "اجلاس\u200cرپورٹ\u200d: zero\u200bwidth soft\xad, ESC\\x1b[2J, \\u202eevil, a\\nb"
    )


@given(st.text(max_size=60))
def test_passages_hide_controls_and_bidi(text: str) -> None:
    shown = printable_passage(text)
    assert all(unicodedata.category(c) not in ("Cc", "Zl", "Zp") for c in shown)
    assert not set(shown) & set(
        "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    )
    if not re.search(r"\\x[89a-fA-F][0-9a-fA-F]", text):
        assert read_back(shown) == text


# --- locators --------------------------------------------------------------


def test_locator_parts_escape_only_the_three_markers() -> None:
    assert locator_part("minutes/2024 plan (final).pdf") == "minutes/2024 plan (final).pdf"
    assert locator_part("x.zip!a.txt") == "x.zip%21a.txt"
    assert locator_part("#L5") == "%23L5"
    assert locator_part("50%!") == "50%25%21"


def test_a_file_named_like_a_member_is_not_the_member() -> None:
    real_member = locator("x.zip", ["a.txt"])
    file_named_so = locator("x.zip!a.txt")
    assert real_member == "x.zip!a.txt"
    assert file_named_so == "x.zip%21a.txt"
    assert parse_locator(file_named_so) == Locator("x.zip!a.txt")
    assert parse_locator(real_member) == Locator("x.zip", (Member("a.txt"),))


def test_same_named_members_get_a_number() -> None:
    seen = Occurrences()
    names = ["a.txt", "b.txt", "a.txt", "a.txt#2", "a.txt"]
    located = [child_locator("m.eml", name, seen(name)) for name in names]
    assert located == [
        "m.eml!a.txt",
        "m.eml!b.txt",
        "m.eml!a.txt#2",
        "m.eml!a.txt%232",
        "m.eml!a.txt#3",
    ]
    assert len(set(located)) == len(located)
    assert parse_locator(located[2]).members == (Member("a.txt", 2),)
    assert parse_locator(located[3]).members == (Member("a.txt#2", 1),)


def test_chat_lines_and_repeats_together() -> None:
    text = locator("export.zip", [Member("chat.txt", 2)], line=40)
    assert text == "export.zip!chat.txt#2#L40"
    assert parse_locator(text) == Locator("export.zip", (Member("chat.txt", 2),), 40)
    assert parse_locator("chat.txt#L7") == Locator("chat.txt", (), 7)


def test_bad_numbers_are_refused() -> None:
    with pytest.raises(ValueError):
        duplicate_suffix(0)
    with pytest.raises(ValueError):
        locator("a", line=-1)


def test_old_unescaped_locators_still_come_apart() -> None:
    assert parse_locator("notes #1.txt") == Locator("notes #1.txt")
    assert parse_locator("a.zip!b#x!c") == Locator("a.zip", (Member("b#x"), Member("c")))


names = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["!", "#", "%", "#L5", "#2", "%21", "%2", "a\nb", "x.zip!a.txt", "#L", "!#%"]
)


@given(
    names,
    st.lists(st.tuples(names, st.integers(min_value=1, max_value=12)), max_size=4),
    st.none() | st.integers(min_value=0, max_value=10**6),
)
def test_locators_round_trip(path: str, steps: list[tuple[str, int]], line: int | None) -> None:
    members = tuple(Member(name, n) for name, n in steps)
    text = locator(path, members, line)
    assert parse_locator(text) == Locator(path, members, line)
    assert locator(*parse_locator(text)) == text


anchors = st.none() | st.builds(
    lambda key, value: f"{key}={value}", st.from_regex("[a-z][a-z_]{0,8}", fullmatch=True), names
)


@given(
    names,
    anchors,
    st.lists(st.tuples(names, st.integers(min_value=1, max_value=12), anchors), max_size=4),
    anchors,
)
def test_anchored_locators_round_trip(
    path: str, path_anchor: str | None, steps: list[tuple[str, int, str | None]], last: str | None
) -> None:
    """Places inside parts (a mailbox's message, a database's row) survive any names."""
    members = tuple(Member(name, n, a) for name, n, a in steps)
    if members:
        members = (*members[:-1], members[-1]._replace(anchor=None))
    else:
        path_anchor = None
    text = locator(path, members, anchor=last, path_anchor=path_anchor)
    assert parse_locator(text) == Locator(path, members, None, last, path_anchor)
    assert locator(*parse_locator(text)) == text


# --- the text report -------------------------------------------------------

HOSTILE = "evidence/a.txt\n FOUND   fake.pdf\x1b[2J\x1b[1;1H\u202etxt.exe\r"
URDU_PASSAGE = "بندرگاہ منصوبہ کا مسودہ\u200cنقل ہے، اجلاس رپورٹ کے ساتھ"
BIDI_AND_CONTROLS = set(
    "\x1b\r\x07\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"
)


def report(*records: Record) -> str:
    stream = io.StringIO()
    writer = TextWriter(stream)
    for record in records:
        writer.write(record)
    writer.close()
    return stream.getvalue()


def test_hostile_names_cannot_forge_report_lines() -> None:
    finding = Finding(
        suspect=HOSTILE,
        suspect_sha256="0" * 64,
        source="plans/\u202ecod.pdf",
        source_sha256="1" * 64,
        kind="excerpt",
        score=0.9,
        containment=0.5,
        coverage=0.4,
        simhash_distance=20,
        matched_tokens=40,
        passages=(Passage(0, 60, 0, 40, URDU_PASSAGE + "\x1b[31m\n\u202eFOUND x", 40),),
        sender="Omar\x1b]0;pwned\x07",
        sent_at="2024-03-05 09:15\u2028FOUND y",
        sent_in="chat.txt\n#L4",
    )
    text = report(
        finding,
        ErrorRecord(HOSTILE, "cannot read\nFOUND   z"),
        SkippedRecord(HOSTILE + "\u2029", "larger than the limit\x1b[8m"),
        Summary(items=3, scanned=1, skipped=1, errors=1, findings=1, suspects_with_findings=1),
    )
    lines = text.splitlines()
    # FOUND, contains, "longest passage", the quote, "attached to"; ERROR; SKIPPED; blank, summary
    assert len(lines) == 9, text
    assert [line.split()[0] for line in lines if line and not line.startswith(" ")][:3] == [
        "FOUND",
        "ERROR",
        "SKIPPED",
    ]
    assert sum(line.startswith("FOUND") for line in lines) == 1
    assert not BIDI_AND_CONTROLS & set(text)
    assert not {"\u2028", "\u2029", "\x85"} & set(text)
    assert lines[0] == (
        "FOUND   evidence/a.txt\\n FOUND   fake.pdf\\x1b[2J\\x1b[1;1H\\u202etxt.exe\\r"
    )
    quote = lines[3].strip()
    assert quote.startswith("“" + URDU_PASSAGE)  # Urdu letters and the joiner unchanged
    assert "\\x1b[31m" in quote and "\\u202eFOUND" in quote
    assert "sent by Omar\\x1b]0;pwned\\x07 at 2024-03-05 09:15\\u2028FOUND y" in lines[4]
