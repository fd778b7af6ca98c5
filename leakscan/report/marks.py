"""Passage text made ready to show: matched words marked, invisible controls made visible.

A passage may bridge small edits between the suspect and the source, so the
words both sides share (after the same normalization the fingerprints use)
are marked, and words only one side has are left plain. Text from evidence
can hold control characters and bidirectional overrides that would reorder
what a reader sees: controls are shown as escapes (``\\x1b``), bidi marks are
left out of the display and counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from difflib import SequenceMatcher
from typing import NamedTuple

from ..normalize import tokenize

__all__ = ["MAX_SHOWN_CHARS", "Segment", "Shown", "language_of", "mark_pair", "shown"]

#: Characters of one side of a passage shown in a report (the JSONL keeps all of it).
MAX_SHOWN_CHARS = 20_000
#: Above this many tokens a side is marked as a whole: aligning words costs too much.
MAX_ALIGNED_TOKENS = 20_000

_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# What a reader must not be shown raw: controls (Cc; tab and line ends are text, and HTML
# reads a carriage return as a line end), surrogates (Cs), line and paragraph separators
# (Zl, Zp) and the bidirectional marks.
_HIDDEN = re.compile(
    "([\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069])"
)
_ARABIC_LETTER = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_LETTER = re.compile(r"[^\W\d_]")


class Segment(NamedTuple):
    """A run of text to show: ``kind`` is ``text``, ``mark`` (matched) or ``ctl`` (an escape)."""

    text: str
    kind: str


class Shown(NamedTuple):
    """One side of a passage as segments, with what was left out of the display."""

    segments: tuple[Segment, ...]
    bidi_hidden: int
    lang: str | None


def language_of(text: str) -> str | None:
    """``ur`` when most letters are Arabic-script (the archive's Urdu); None when unknown.

    >>> language_of("کشتی کے دونوں جانب"), language_of("the harbour plan")
    ('ur', None)
    """
    sample = text[:300]
    letters = len(_LETTER.findall(sample))
    if not letters:
        return None
    return "ur" if len(_ARABIC_LETTER.findall(sample)) * 2 > letters else None


def _runs(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """The text cut into (piece, marked) runs by sorted, disjoint character spans."""
    runs: list[tuple[str, bool]] = []
    at = 0
    for start, end in spans:
        if start > at:
            runs.append((text[at:start], False))
        runs.append((text[start:end], True))
        at = end
    if at < len(text):
        runs.append((text[at:], False))
    return runs


def _matched_spans(
    suspect: str, source: str
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]] | None:
    """Character spans of the words both texts share, in order, on each side."""
    a, b = tokenize(suspect), tokenize(source)
    if max(len(a), len(b)) > MAX_ALIGNED_TOKENS:
        return None
    matcher = SequenceMatcher(None, a.tokens, b.tokens, autojunk=False)
    left: list[tuple[int, int]] = []
    right: list[tuple[int, int]] = []
    for i, j, n in matcher.get_matching_blocks():
        if n:
            left.append((int(a.starts[i]), int(a.ends[i + n - 1])))
            right.append((int(b.starts[j]), int(b.ends[j + n - 1])))
    return left, right


def _clean(text: str, kind: str) -> Iterator[Segment]:
    """Segments of one run, controls turned into visible escapes, bidi marks into ``bidi``."""
    if not _HIDDEN.search(text):
        yield Segment(text, kind)
        return
    for number, piece in enumerate(_HIDDEN.split(text)):
        if number % 2 == 0:
            if piece:
                yield Segment(piece, kind)
        elif piece in _BIDI:
            yield Segment("", "bidi")
        elif piece in "\u2028\u2029":
            yield Segment("\n", kind)
        else:
            code = ord(piece)
            if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte (surrogateescape)
                code -= 0xDC00
            yield Segment(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}", "ctl")


def shown(text: str, spans: list[tuple[int, int]] | None) -> Shown:
    """A text as segments, ``spans`` marked (None: the whole text is what matched).

    >>> [s.kind for s in shown("a b\\x1bc", [(0, 1)]).segments]
    ['mark', 'text', 'ctl', 'text']
    """
    cut = text[:MAX_SHOWN_CHARS]
    if spans is None:
        runs = [(cut, True)] if cut else []
    else:
        runs = _runs(cut, [(s, min(e, len(cut))) for s, e in spans if s < len(cut)])
    segments: list[Segment] = []
    hidden = 0
    for piece, marked in runs:
        for segment in _clean(piece, "mark" if marked else "text"):
            if segment.kind == "bidi":
                hidden += 1
            else:
                segments.append(segment)
    return Shown(tuple(segments), hidden, language_of(text))


def mark_pair(suspect: str, source: str | None) -> tuple[Shown, Shown | None]:
    """Both sides of a passage with the words they share marked; without the source's
    text, the suspect's passage is marked whole (all of it matched the index).

    >>> left, right = mark_pair("The boat, NOW at pier 4", "the boat is at pier 4")
    >>> [s.text for s in left.segments if s.kind == "mark"]
    ['The boat', 'at pier 4']
    >>> [s.text for s in right.segments if s.kind == "mark"]
    ['the boat', 'at pier 4']
    """
    if source is None:
        return shown(suspect, None), None
    spans = _matched_spans(suspect[:MAX_SHOWN_CHARS], source[:MAX_SHOWN_CHARS])
    if spans is None:
        return shown(suspect, None), shown(source, None)
    return shown(suspect, spans[0]), shown(source, spans[1])
