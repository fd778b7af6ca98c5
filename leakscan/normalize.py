"""Normalization and tokenization for matching, keeping offsets into the raw text.

The raw text is evidence and is never changed: tokens are found in the raw
text (so every token knows its character span there) and only the token
strings are normalized. Normalization makes a copy match its original across
formats, encodings and keyboards:

* NFKC, so PDF presentation-form glyphs and ligatures become plain letters;
* casefold, so case does not matter;
* Arabic-script diacritics (U+064B-U+065F, U+0670, Quranic marks), tatweel
  (U+0640), zero-width and bidi controls and soft hyphens are dropped; hamza
  and madda carried by a letter are dropped with them, because keyboards and
  fonts disagree on whether they are one code point or two;
* Arabic letter variants fold to the Urdu letter (ي ى → ی, ك → ک, ه ە ة ۃ → ہ);
* Arabic-Indic and Extended Arabic-Indic digits become ASCII digits;
* a word hyphenated across a line break is joined (``classi-\\nfied``);
* punctuation (including ۔ ، ؟) is never part of a token.

Cost is linear in the text whatever it holds: Unicode normalization sorts each
run of combining marks, in quadratic time in CPython, so a run of alternating
marks (200,000 after one letter) would take minutes. No script writes more
than 30 marks in a row (UAX #15's "stream-safe" bound); longer runs are cut to
their first 30 before each normalization step, which leaves every real token
as it was.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import chain

import numpy as np

__all__ = [
    "MAX_MARK_RUN",
    "NORMALIZATION_VERSION",
    "TokenizedText",
    "cap_mark_runs",
    "is_arabic_script",
    "normalize_text",
    "normalize_token",
    "tokenize",
]

#: Bump whenever a change here changes any token: indexes record it.
NORMALIZATION_VERSION = 1

# Characters that are invisible formatting: kept inside a token while
# scanning the raw text (so they never split a word), removed when normalizing.
_INVISIBLE = (
    "\u00ad"  # soft hyphen
    "\u200b-\u200f"  # zero-width space/non-joiner/joiner, LRM, RLM
    "\u202a-\u202e"  # bidi embeddings and overrides
    "\u2060-\u2064"  # word joiner and invisible operators
    "\u2066-\u2069"  # bidi isolates
    "\ufeff"  # zero-width no-break space / BOM
)
# Combining marks of the scripts we meet (\\w alone would split a word at every
# Arabic diacritic); underscore is in \\w and is removed when normalizing.
_MARKS = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670"
    "\u06d6-\u06ed\u0900-\u0dff\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
)
# One raw token: a run of word characters (re is 2x faster than the regex module here).
_TOKEN = re.compile(rf"([\w{_MARKS}{_INVISIBLE}]+)")
_LINE_BREAK_HYPHEN = re.compile(r"[-\u2010\u2011][ \t]*\r?\n[ \t]*")
#: Most combining marks in a row a token keeps (UAX #15: stream-safe text has at most 30).
MAX_MARK_RUN = 30
# Every combining mark (canonical combining class > 0) a token can hold or normalize
# into lies in _MARKS or is one of these: halfwidth kana sound marks (class 0, NFKC
# turns them into U+3099/U+309A) and the Kaithi nukta of decomposed Kaithi letters.
# tests/test_normalize.py checks this against the whole Unicode database.
_OTHER_MARKS = "ﾞﾟ𑂺゙゚"
_MARK_RUN = re.compile(f"[{_MARKS}{_OTHER_MARKS}]{{{MAX_MARK_RUN + 1},}}")
_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]")


def _drop_table() -> dict[int, None]:
    ranges = [
        (0x064B, 0x065F),  # harakat, shadda, sukun, hamza/madda above and below
        (0x0670, 0x0670),  # superscript alef
        (0x0610, 0x061A),  # honorific and Quranic signs
        (0x06D6, 0x06DC),
        (0x06DF, 0x06E4),
        (0x06E7, 0x06E8),
        (0x06EA, 0x06ED),
        (0x0640, 0x0640),  # tatweel
        (0x00AD, 0x00AD),
        (0x200B, 0x200F),
        (0x202A, 0x202E),
        (0x2060, 0x2064),
        (0x2066, 0x2069),
        (0xFEFF, 0xFEFF),
    ]
    return {cp: None for lo, hi in ranges for cp in range(lo, hi + 1)}


_FOLD: dict[int, int | None] = {
    **_drop_table(),
    ord("_"): None,
    ord("\u064a"): ord("\u06cc"),  # ي Arabic yeh → ی Farsi/Urdu yeh
    ord("\u0649"): ord("\u06cc"),  # ى alef maksura → ی
    ord("\u0643"): ord("\u06a9"),  # ك Arabic kaf → ک keheh
    ord("\u0647"): ord("\u06c1"),  # ه Arabic heh → ہ heh goal
    ord("\u06d5"): ord("\u06c1"),  # ە ae (base of ۀ) → ہ
    ord("\u0629"): ord("\u06c1"),  # ة teh marbuta → ہ
    ord("\u06c3"): ord("\u06c1"),  # ۃ teh marbuta goal → ہ
    **{0x0660 + d: ord("0") + d for d in range(10)},  # Arabic-Indic digits
    **{0x06F0 + d: ord("0") + d for d in range(10)},  # Extended (Urdu/Persian) digits
}


def _is_mark(char: str) -> bool:
    return unicodedata.combining(char) != 0 or char in "\uff9e\uff9f"


def _cap_run(match: re.Match[str]) -> str:
    kept: list[str] = []
    run = 0
    for char in match.group():
        if _is_mark(char):
            run += 1
            if run > MAX_MARK_RUN:
                continue
        else:
            run = 0
        kept.append(char)
    return "".join(kept)


def cap_mark_runs(text: str) -> str:
    """Keep at most 30 combining marks in a row: longer runs make normalization quadratic.

    >>> len(cap_mark_runs("e" + "\u0301\u0323" * 1000))
    31
    >>> cap_mark_runs("کِتاب") == "کِتاب"
    True
    """
    if len(text) <= MAX_MARK_RUN or _MARK_RUN.search(text) is None:
        return text
    return _MARK_RUN.sub(_cap_run, text)


def normalize_token(raw: str) -> str:
    """Return the matching form of one raw token (may contain spaces after NFKC).

    >>> normalize_token("Classi-\\nFIED")
    'classified'
    >>> normalize_token("كتاب") == normalize_token("کِتاب")
    True
    """
    text = _LINE_BREAK_HYPHEN.sub("", raw)
    text = unicodedata.normalize("NFKC", cap_mark_runs(text)).casefold()
    # dropping tatweel and invisible characters can join two runs of marks into one
    text = cap_mark_runs(unicodedata.normalize("NFD", text).translate(_FOLD))
    return unicodedata.normalize("NFC", text)


def is_arabic_script(token: str) -> bool:
    """True if a normalized token contains Arabic-script letters (Urdu, Arabic, Persian)."""
    return _ARABIC_SCRIPT.search(token) is not None


class _NormalizedCache(dict[str, str]):
    """Raw token → normalized form; documents repeat their vocabulary.

    Raw tokens whose normalized form is not exactly one word (NFKC expanded a
    ligature into words, or nothing was left) are also kept in ``irregular``,
    so the common case can skip splitting.
    """

    limit = 200_000

    def __init__(self) -> None:
        super().__init__()
        self.irregular: set[str] = set()

    def __missing__(self, raw: str) -> str:
        if len(self) >= self.limit:
            self.clear()
            self.irregular.clear()
        words = _TOKEN.findall(normalize_token(raw))
        if len(words) != 1:
            self.irregular.add(raw)
        normalized = " ".join(words)
        self[raw] = normalized
        return normalized


_cache = _NormalizedCache()


class TokenizedText:
    """Normalized tokens of a raw text, each with its [start, end) span in the raw text.

    ``starts`` and ``ends`` are int64 arrays of character offsets into ``text``,
    worked out on first use: fingerprinting an archive never needs them.
    """

    def __init__(
        self,
        text: str,
        tokens: list[str],
        starts: np.ndarray | None = None,
        ends: np.ndarray | None = None,
    ) -> None:
        self.text = text
        self.tokens = tokens
        self._spans = None if starts is None or ends is None else (starts, ends)

    def _compute_spans(self) -> tuple[np.ndarray, np.ndarray]:
        if self._spans is None:
            exact = _tokenize_exact(self.text)
            assert exact.tokens == self.tokens, "fast and exact tokenization disagree"
            self._spans = exact._compute_spans()
        return self._spans

    @property
    def starts(self) -> np.ndarray:
        return self._compute_spans()[0]

    @property
    def ends(self) -> np.ndarray:
        return self._compute_spans()[1]

    def __len__(self) -> int:
        return len(self.tokens)

    def __repr__(self) -> str:
        return (
            f"TokenizedText(tokens={self.tokens!r}, starts={self.starts.tolist()!r}, "
            f"ends={self.ends.tolist()!r})"
        )


class _PieceCache(dict[str, tuple[str, ...]]):
    """Whitespace-separated piece → its normalized tokens (the exact path's, piece by piece)."""

    limit = 200_000

    def __missing__(self, piece: str) -> tuple[str, ...]:
        if len(self) >= self.limit:
            self.clear()
        words = tuple(word for raw in _TOKEN.findall(piece) for word in _cache[raw].split())
        self[piece] = words
        return words


_pieces = _PieceCache()


def _spans_of_parts(parts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Token spans from split() output: separator, token, separator, ..., separator."""
    bounds = np.cumsum(np.fromiter(map(len, parts), dtype=np.int64, count=len(parts)))
    return bounds[0:-1:2], bounds[1::2]


def tokenize(text: str) -> TokenizedText:
    """Split raw text into normalized tokens with raw character offsets.

    >>> t = tokenize("Top-SECRET: the plan.")
    >>> t.tokens, t.starts.tolist(), t.ends.tolist()
    (['top', 'secret', 'the', 'plan'], [0, 4, 12, 16], [3, 10, 15, 20])
    """
    if _LINE_BREAK_HYPHEN.search(text):
        return _tokenize_exact(text)
    # No token crosses white space (only a line-break hyphen join does, handled above),
    # so tokenizing piece by piece gives the exact path's tokens at twice its speed;
    # offsets come from the exact path when someone asks for them.
    return TokenizedText(text, list(chain.from_iterable(map(_pieces.__getitem__, text.split()))))


def _tokenize_exact(text: str) -> TokenizedText:
    """Tokens and their offsets in one pass of the token regex over the whole text."""
    parts = _TOKEN.split(text)
    # parts alternates separator, token, separator, ...; their lengths give offsets.
    raw_tokens = parts[1::2]
    starts, ends = _spans_of_parts(parts)
    if "\n" in text:
        raw_tokens, starts, ends = _join_line_break_hyphens(text, raw_tokens, starts, ends)
    normalized = list(map(_cache.__getitem__, raw_tokens))
    if _cache.irregular.isdisjoint(raw_tokens):
        return TokenizedText(text, normalized, starts, ends)
    tokens: list[str] = []
    copies: list[int] = []
    for words in normalized:  # NFKC may expand one glyph into several words, or into none
        split = words.split()
        tokens.extend(split)
        copies.append(len(split))
    repeat = np.array(copies, dtype=np.int64)
    return TokenizedText(text, tokens, np.repeat(starts, repeat), np.repeat(ends, repeat))


def _join_line_break_hyphens(
    text: str, raw_tokens: list[str], starts: np.ndarray, ends: np.ndarray
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Merge tokens split by a hyphen at a line end ("surveil-\\nlance")."""
    joins = []
    for match in _LINE_BREAK_HYPHEN.finditer(text):
        i = int(np.searchsorted(ends, match.start()))
        if (
            i + 1 < len(starts)
            and ends[i] == match.start()
            and starts[i + 1] == match.end()
            and not text[match.start() - 1].isdigit()  # "pages 12-\n13" is a range
        ):
            joins.append(i)
    if not joins:
        return raw_tokens, starts, ends
    ends = ends.copy()
    for i in reversed(joins):  # right to left, so chains a-/b-/c merge into one token
        ends[i] = ends[i + 1]
        raw_tokens[i] = text[starts[i] : ends[i]]
        raw_tokens[i + 1] = ""
    keep = [i for i, raw in enumerate(raw_tokens) if raw]
    return [raw_tokens[i] for i in keep], starts[keep], ends[keep]


def normalize_text(text: str) -> str:
    """The matching form of a whole text: normalized tokens joined by single spaces.

    >>> normalize_text("Ｔｈｅ  “Plan”, sur-\\nveillance!")
    'the plan surveillance'
    """
    return " ".join(tokenize(text).tokens)
