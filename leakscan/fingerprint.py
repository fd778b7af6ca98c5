"""Keyed shingles, winnowing and simhash: pure functions of text, no I/O.

A text becomes three streams of shingles over two kinds of unit:

* words (``word_k`` of them), for every script with reliable word boundaries;
* letters of Arabic-script words with the spaces between them removed,
  because Urdu spacing is inconsistent (``کر دیا`` / ``کردیا`` / ZWNJ) and PDF
  extractors damage Arabic-script words; letter runs survive both. Two
  shingle lengths: ``char_k`` (12) letters, rarely shared by chance, and
  ``short_k`` (7) letters, which survive OCR: tesseract misreads one
  Nastaliq letter in four or five, and then one 12-letter run in ten comes
  through intact, against about a quarter of the 7-letter runs
  (``benchmarks/ocr_matching.py`` measured 4 to 8 letters: 4 and 5 raise
  chance matches between unrelated Urdu texts, 8 finds less).

Scheme 3: each unit gets a public 16-bit code (its alignment unit, see
:attr:`Fingerprint.unit_codes`) and each code a 64-bit value from a table
keyed with the index key, so an index without its key cannot be used to
confirm guessed text, and a content's fingerprints can be computed again
from its alignment units (:meth:`Fingerprinter.hashes_of_units`): an index
keeps them once. ``k`` consecutive unit values make a shingle hash, whose
top 48 bits are the fingerprint; winnowing keeps, of every window of ``w``
shingles, the one of smallest *public* rank (the same shingles under every
key), which guarantees, stream by stream, that any run of ``k + w - 1``
units shared by two texts yields at least one shared fingerprint. Schemes 1
and 2 (still read) keyed each unit's 64-bit hash with blake2b and winnowed
on the fingerprints themselves. Text read by OCR (``ocr=True``) keeps every shingle instead, on
both sides of the index: the guarantee still holds against a winnowed text
(the winnowed side's pick from a window inside the shared run is among the
OCR'd side's shingles), two OCR'd texts share every common run of ``k``
units, and an OCR'd copy damaged every few letters meets every fingerprint
of its typed source whose ``k`` units it read right, not only those its own
winnowing would have picked. Positions are token indices, so a match maps
back to the raw text.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

import numpy as np

from .errors import SchemeError
from .normalize import NORMALIZATION_VERSION, TokenizedText, is_arabic_script, tokenize

__all__ = [
    "MAX_LETTER_UNITS",
    "READABLE_SCHEME_VERSIONS",
    "SCHEME_VERSION",
    "Fingerprint",
    "Fingerprinter",
    "Scheme",
    "distinct",
    "fingerprint_text",
    "hamming",
    "key_id",
    "simhash_of",
    "winnow",
]

#: Bump whenever a change here changes any fingerprint: indexes record it.
#: 2 added the short letter stream (``short_k``, ``short_w``). 3 draws every unit's hash
#: from its 16-bit alignment code (so an index can compute a content's fingerprints again
#: from its alignment units and keeps no copy of them) and winnows sparser (see
#: :class:`Scheme`).
SCHEME_VERSION = 3
#: Scheme versions this code fingerprints exactly as they were built: version 1
#: is version 2 without the short letter stream.
READABLE_SCHEME_VERSIONS = (1, 2, 3)

_U64 = np.uint64
_MULT = _U64(0x9E3779B97F4A7C15)  # odd constant: the shingle hash is a polynomial in it
_WORD_TAG = _U64(0x5752440000000001)
_LETTER_TABLE_SIZE = 0x800  # code points below: Latin, Greek, Cyrillic, Hebrew, Arabic
# _BYTE_BITS[v, b] is bit b of the byte value v.
_BYTE_BITS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1, bitorder="little")
_BYTE_BITS = _BYTE_BITS.astype(np.int64)
_CHAR_TAG = _U64(0x4348520000000002)
_SHORT_TAG = _U64(0x5348520000000003)
#: Scheme 3's fingerprints keep the top 48 bits of their shingle hashes.
_FINGERPRINT_SHIFT = 16
#: Scheme 3 names units by public 16-bit codes (see :meth:`Fingerprinter.fingerprint`).
_PUBLIC_UNIT_KEY = b"leakscan public unit codes, scheme 3"
#: Scheme 3 winnows on a public rank of each shingle: one value per code, the same for
#: every index, so the kept shingles, and so the sources a suspect nominates, do not
#: depend on the key; the fingerprints stored are the keyed hashes of those shingles.
_RANKS = np.frombuffer(
    hashlib.shake_256(b"leakscan shingle ranks, scheme 3").digest(8 << 16), dtype="<u8"
).astype(np.uint64)


@dataclass(frozen=True)
class Scheme:
    """The parameters every fingerprint of one index must share.

    Scheme 3's windows keep about one fingerprint in 3.5 words and one in 12.5 and 16.5
    letters (2 in ``w + 1``), and its fingerprints are 48 bits (six bytes in SQLite): an
    index then takes under one byte per byte of text (``benchmarks/scale.py``), and a
    shared run of 10 words (``word_guarantee``) or 35 letters (about 9 Urdu words) still
    always meets a fingerprint. Schemes 1 and 2 kept about twice as many, of 64 bits (8
    words, 14 letters).
    """

    version: int = SCHEME_VERSION
    normalization: int = NORMALIZATION_VERSION
    word_k: int = 5
    word_w: int = 6
    char_k: int = 12
    char_w: int = 24
    #: The short letter stream, for text read by OCR; 0 and 0 in scheme 1, which had none.
    short_k: int = 7
    short_w: int = 32

    def __post_init__(self) -> None:
        names = ["word_k", "word_w", "char_k", "char_w"]
        if self.version == 1:
            if (self.short_k, self.short_w) != (0, 0):
                raise SchemeError("fingerprint scheme 1 has no short letter stream")
        else:
            names += ["short_k", "short_w"]
        for name in names:
            if not 1 <= getattr(self, name) <= 64:
                raise SchemeError(f"scheme parameter {name} must be between 1 and 64")

    @property
    def word_guarantee(self) -> int:
        """Shared word runs at least this long are always found."""
        return self.word_k + self.word_w - 1

    @property
    def char_guarantee(self) -> int:
        """Shared Arabic-script letter runs at least this long are always found."""
        return self.char_k + self.char_w - 1

    @property
    def short_guarantee(self) -> int:
        """Shared runs of this many letters always meet in the short stream (0: no stream)."""
        return self.short_k + self.short_w - 1 if self.short_k else 0

    @property
    def letter_guarantee(self) -> int:
        """Shared letter runs at least this long always meet in one of the letter streams."""
        return min(g for g in (self.char_guarantee, self.short_guarantee) if g)

    @property
    def units_from_codes(self) -> bool:
        """Unit hashes are drawn from alignment codes: fingerprints can be computed again
        from a content's alignment units (scheme 3 on)."""
        return self.version >= 3

    @classmethod
    def version_1(cls) -> Scheme:
        """The scheme indexes were built with before the short letter stream."""
        return cls(version=1, word_w=4, char_w=8, short_k=0, short_w=0)

    @classmethod
    def version_2(cls) -> Scheme:
        """The scheme indexes were built with before fingerprints came from unit codes."""
        return cls(version=2, word_w=4, char_w=8, short_w=8)

    def to_dict(self) -> dict[str, int]:
        data = asdict(self)
        if self.version == 1:  # as version 1 wrote it, so its indexes compare equal
            del data["short_k"], data["short_w"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> Scheme:
        try:
            values = dict(data)
            if int(values.get("version", 0)) == 1:
                values.setdefault("short_k", 0)
                values.setdefault("short_w", 0)
            return cls(**{name: int(values[name]) for name in cls.__dataclass_fields__})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SchemeError(f"incomplete or invalid fingerprint scheme: {data!r}") from exc


def key_id(key: bytes) -> str:
    """A short public name for a key: tells keys apart without revealing them."""
    return hashlib.blake2b(b"leakscan key id", key=key, digest_size=8).hexdigest()


@dataclass(frozen=True)
class Fingerprint:
    """The winnowed fingerprints of one text.

    ``hashes[i]`` is a shingle covering tokens ``starts[i]`` to ``ends[i]``
    (exclusive) of ``tokens``.
    """

    hashes: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    simhash: int
    n_tokens: int
    n_shingles: int
    tokens: TokenizedText = field(repr=False)
    #: The text as alignment units in reading order: a 16-bit code per word (per letter
    #: of an Arabic-script word, as in the letter streams), the token each unit belongs
    #: to, and which units are letters. Exact alignment (:mod:`leakscan.align`) compares
    #: these, so passages and scores do not depend on which shingles winnowing kept.
    unit_codes: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint16), repr=False)
    unit_tokens: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64), repr=False)
    unit_letters: np.ndarray = field(default_factory=lambda: np.empty(0, bool), repr=False)
    #: The text was read by OCR (every shingle kept; alignment allows short runs).
    ocr: bool = False
    #: The stream of each of ``hashes``: 0 words, 1 letters (``char_k``), 2 short letters.
    streams: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint8), repr=False)

    def __len__(self) -> int:
        return len(self.hashes)


def _mix64(z: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: spreads every input bit over the output."""
    z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
    mixed: np.ndarray = z ^ (z >> _U64(31))
    return mixed


#: Letters of one word that take part in alignment (a per-token count is stored in a byte).
MAX_LETTER_UNITS = 255


def _alignment_units(
    word_units: np.ndarray, word_pos: np.ndarray, char_units: np.ndarray, char_pos: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Word and letter units merged in reading order, as 16-bit codes with their tokens.

    Word tokens and Arabic-script tokens are disjoint, and letters come in order
    within their token, so a stable sort by token interleaves them correctly.
    """
    if len(char_pos):
        new_token = np.r_[True, char_pos[1:] != char_pos[:-1]]
        first = np.flatnonzero(new_token)
        offset = np.arange(len(char_pos)) - np.repeat(first, np.diff(np.r_[first, len(char_pos)]))
        if int(offset.max()) >= MAX_LETTER_UNITS:
            keep = offset < MAX_LETTER_UNITS
            char_units, char_pos = char_units[keep], char_pos[keep]
    codes = np.concatenate([word_units >> _U64(48), char_units >> _U64(48)]).astype(np.uint16)
    tokens = np.concatenate([word_pos, char_pos]).astype(np.int64)
    letters = np.r_[np.zeros(len(word_pos), bool), np.ones(len(char_pos), bool)]
    if len(char_pos) and len(word_pos):
        order = np.argsort(tokens, kind="stable")
        codes, tokens, letters = codes[order], tokens[order], letters[order]
    return codes, tokens, letters


def _shingles(unit_hashes: np.ndarray, k: int, tag: np.uint64) -> np.ndarray:
    n = len(unit_hashes) - k + 1
    if n <= 0:
        return np.empty(0, dtype=_U64)
    acc = unit_hashes[:n].copy()
    for i in range(1, k):
        acc *= _MULT
        acc += unit_hashes[i : i + n]
    return _mix64(acc ^ tag)


def winnow(hashes: np.ndarray, w: int) -> np.ndarray:
    """Indices of the hashes winnowing keeps: the rightmost minimum of each window.

    >>> winnow(np.array([5, 3, 4, 3, 9, 1], dtype=np.uint64), 3).tolist()
    [1, 3, 5]
    """
    n = len(hashes)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    if n <= w:
        return np.array([n - 1 - int(np.argmin(hashes[::-1]))], dtype=np.int64)
    # Sliding minimum by doubling: the minimum over [i, i + 2s) combines those over
    # [i, i + s) and [i + s, i + 2s); a tie goes right, so the rightmost minimum wins.
    # log2(w) vector steps; a last, overlapping step reaches a w that is no power of 2.
    values, index = hashes, np.arange(n, dtype=np.int64)
    size = 1
    while size < w:
        step = min(size, w - size)
        take_right = values[step:] <= values[:-step]
        index = np.where(take_right, index[step:], index[:-step])
        values = np.where(take_right, values[step:], values[:-step])
        size += step
    picked = index
    keep = np.empty(len(picked), dtype=bool)
    keep[0] = True
    np.not_equal(picked[1:], picked[:-1], out=keep[1:])
    kept: np.ndarray = picked[keep].astype(np.int64)
    return kept


def distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (numpy's hash-based unique is 30x slower on 64-bit hashes)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    result: np.ndarray = ordered[keep]
    return result


def simhash_of(shingles: np.ndarray) -> int:
    """64-bit simhash of a set of shingle hashes (each bit: majority vote)."""
    unique = distinct(shingles)
    if len(unique) == 0:
        return 0
    as_bytes = unique.astype("<u8").view(np.uint8).reshape(-1, 8)
    if len(unique) < 4096:  # a page: one bit matrix is cheapest
        bits = np.unpackbits(as_bytes, axis=1, bitorder="little")
        counts = bits.sum(axis=0, dtype=np.int64)
    else:
        # Large texts: count set bits byte by byte, a histogram of each byte's values
        # times the bits of each value (8 histograms of 256, not an n x 64 bit matrix).
        histograms = np.stack([np.bincount(as_bytes[:, j], minlength=256) for j in range(8)])
        counts = (histograms @ _BYTE_BITS).reshape(64)
    majority = np.packbits(counts * 2 > len(unique), bitorder="little")
    return int.from_bytes(majority.tobytes(), "little")


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two simhashes."""
    return (a ^ b).bit_count()


class _UnitHashes(dict[str, int]):
    """Unit → keyed 64-bit hash, computed once per distinct unit."""

    limit = 500_000

    def __init__(self, key: bytes, prefix: bytes) -> None:
        super().__init__()
        self.key = key
        self.prefix = prefix
        self.arabic: set[str] = set()
        self.is_arabic: dict[str, bool] = {}

    def __missing__(self, unit: str) -> int:
        if len(self) >= self.limit:
            self.clear()
            self.arabic.clear()
            self.is_arabic.clear()
        arabic = self.is_arabic[unit] = is_arabic_script(unit)
        if arabic:
            self.arabic.add(unit)
        digest = hashlib.blake2b(self.prefix + unit.encode("utf-8"), key=self.key, digest_size=8)
        value = self[unit] = int.from_bytes(digest.digest(), "little")
        return value


class Fingerprinter:
    """Fingerprints texts under one scheme and key; caches unit hashes between texts."""

    def __init__(self, key: bytes, scheme: Scheme | None = None) -> None:
        if not isinstance(key, bytes) or not 16 <= len(key) <= 64:
            raise SchemeError("a fingerprint key must be 16 to 64 bytes")
        self.key = key
        self.scheme = scheme or Scheme()
        self.key_id = key_id(key)
        # Scheme 3's units are named by public codes (the key enters with the code table):
        # which shingles winnowing keeps, and which units align, is then the same under
        # every key.
        unit_key = _PUBLIC_UNIT_KEY if self.scheme.units_from_codes else key
        self._words = _UnitHashes(unit_key, b"w\0")
        self._chars = _UnitHashes(unit_key, b"c\0")
        self._letter_table: np.ndarray | None = None
        self._codes: np.ndarray | None = None

    def _streams(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Unit hashes and token indices of the word stream and the letter stream."""
        word_hashes = np.fromiter(
            map(self._words.__getitem__, tokens), dtype=_U64, count=len(tokens)
        )
        if self._words.arabic.isdisjoint(tokens):
            positions = np.arange(len(tokens), dtype=np.int64)
            return word_hashes, positions, np.empty(0, _U64), np.empty(0, np.int64)
        is_letters = np.fromiter(
            map(self._words.is_arabic.__getitem__, tokens), dtype=bool, count=len(tokens)
        )
        word_positions = np.flatnonzero(~is_letters)
        letter_tokens = np.flatnonzero(is_letters)
        chosen = [tokens[i] for i in letter_tokens.tolist()]
        lengths = np.fromiter(map(len, chosen), dtype=np.int64, count=len(chosen))
        return (
            word_hashes[word_positions],
            word_positions,
            self._letter_hashes("".join(chosen)),
            np.repeat(letter_tokens, lengths),
        )

    def _letter_hashes(self, letters: str) -> np.ndarray:
        """Hashes of every letter, looked up by code point all at once."""
        codes = np.frombuffer(letters.encode("utf-32-le"), dtype="<u4")
        if len(codes) == 0:
            return np.empty(0, _U64)
        if int(codes.max()) < _LETTER_TABLE_SIZE:  # Latin and Arabic blocks: a dense table
            if self._letter_table is None:
                self._letter_table = np.array(
                    [self._chars[chr(c)] for c in range(_LETTER_TABLE_SIZE)], dtype=_U64
                )
            hashes: np.ndarray = self._letter_table[codes]
            return hashes
        alphabet, letter_index = np.unique(codes, return_inverse=True)
        table = np.array([self._chars[chr(c)] for c in alphabet.tolist()], dtype=_U64)
        found: np.ndarray = table[letter_index.reshape(-1)]
        return found

    def _code_table(self) -> np.ndarray:
        """Scheme 3's unit hashes: one keyed 64-bit value per 16-bit alignment code."""
        if self._codes is None:
            stream = hashlib.shake_256(b"leakscan unit codes\0" + self.key).digest(8 << 16)
            self._codes = np.frombuffer(stream, dtype="<u8").astype(_U64)
        return self._codes

    def fingerprint(self, text: str | TokenizedText, *, ocr: bool = False) -> Fingerprint:
        """Fingerprint a raw text (or one already tokenized).

        ``ocr``: the text was read by OCR, so every shingle is kept, not only
        the winnowed ones (see the module's docstring). The simhash is of the
        word and 12-letter shingles only, as in scheme 1.
        """
        tokenized = text if isinstance(text, TokenizedText) else tokenize(text)
        word_units, word_pos, char_units, char_pos = self._streams(tokenized.tokens)
        codes, unit_tokens, letters = _alignment_units(word_units, word_pos, char_units, char_pos)
        ranks = None
        if self.scheme.units_from_codes:
            word_units, word_pos, char_units, char_pos = self._streams_of_codes(
                codes, unit_tokens, letters, self._code_table()
            )
            ranks = self._streams_of_codes(codes, unit_tokens, letters, _RANKS)
        hashes, starts, ends, streams, every = self._shingle(
            word_units, word_pos, char_units, char_pos, ocr=ocr, ranks=ranks
        )
        return Fingerprint(
            hashes=hashes,
            starts=starts,
            ends=ends,
            simhash=simhash_of(every),
            n_tokens=len(tokenized),
            n_shingles=len(every),
            tokens=tokenized,
            unit_codes=codes,
            unit_tokens=unit_tokens,
            unit_letters=letters,
            ocr=ocr,
            streams=streams,
        )

    def hashes_of_units(
        self, codes: np.ndarray, unit_tokens: np.ndarray, letters: np.ndarray, *, ocr: bool
    ) -> np.ndarray:
        """The fingerprints (unsigned) :meth:`fingerprint` gave the text these alignment
        units are of: how an index finds a stored content's postings again (scheme 3)."""
        if not self.scheme.units_from_codes:
            raise SchemeError(
                f"fingerprint scheme {self.scheme.version} cannot be computed from alignment units"
            )
        codes = np.asarray(codes, np.uint16)
        unit_tokens = np.asarray(unit_tokens, np.int64)
        streams = self._streams_of_codes(codes, unit_tokens, letters, self._code_table())
        ranks = self._streams_of_codes(codes, unit_tokens, letters, _RANKS)
        hashes: np.ndarray = self._shingle(*streams, ocr=ocr, ranks=ranks)[0]
        return hashes

    @staticmethod
    def _streams_of_codes(
        codes: np.ndarray, unit_tokens: np.ndarray, letters: np.ndarray, table: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The word and letter streams as :meth:`_streams` gives them, units from ``table``."""
        words = ~letters
        return (
            table[codes[words]],
            unit_tokens[words],
            table[codes[letters]],
            unit_tokens[letters],
        )

    def _shingle(
        self,
        word_units: np.ndarray,
        word_pos: np.ndarray,
        char_units: np.ndarray,
        char_pos: np.ndarray,
        *,
        ocr: bool,
        ranks: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Hashes, starts, ends and streams of the kept shingles, and every shingle of the
        word and letter streams (for the simhash). ``ranks``: the streams' units to winnow
        on instead of their hashes (scheme 3's public ranks)."""
        scheme = self.scheme
        parts = []
        all_shingles = []
        word_ranks = char_ranks = None
        if ranks is not None:
            word_ranks, char_ranks = ranks[0], ranks[2]
        for stream, (units, rank_units, pos, k, w, tag) in enumerate(
            (
                (word_units, word_ranks, word_pos, scheme.word_k, scheme.word_w, _WORD_TAG),
                (char_units, char_ranks, char_pos, scheme.char_k, scheme.char_w, _CHAR_TAG),
                (char_units, char_ranks, char_pos, scheme.short_k, scheme.short_w, _SHORT_TAG),
            )
        ):
            if k == 0 or len(units) < k:
                continue
            shingles = _shingles(units, k, tag)
            if len(shingles) == 0:
                continue
            order = _shingles(rank_units, k, tag) if rank_units is not None else shingles
            first, last = pos[: len(shingles)], pos[k - 1 :]
            span = last - first
            if span.max() >= 2 * k:
                # A shingle whose units lie far apart (digits scattered through Urdu
                # text, Urdu words scattered through English) is not a run of text.
                close = span < 2 * k
                shingles, first, last = shingles[close], first[close], last[close]
                order = order[close]
                if len(shingles) == 0:
                    continue
            if tag != _SHORT_TAG:
                all_shingles.append(shingles)
            if not ocr:
                picked = winnow(order, w)
                shingles, first, last = shingles[picked], first[picked], last[picked]
            parts.append((shingles, first, last + 1, np.full(len(shingles), stream, np.uint8)))
        if len(parts) == 1:
            hashes, starts, ends, streams = parts[0]
        elif parts:
            hashes = np.concatenate([p[0] for p in parts])
            starts = np.concatenate([p[1] for p in parts])
            ends = np.concatenate([p[2] for p in parts])
            streams = np.concatenate([p[3] for p in parts])
        else:
            hashes = np.empty(0, _U64)
            starts = ends = np.empty(0, np.int64)
            streams = np.empty(0, np.uint8)
        if scheme.units_from_codes:
            # 48 bits tell a hundred million fingerprints apart (a chance equality only
            # nominates a source, which alignment then rejects) in 6 bytes of SQLite.
            hashes = hashes >> _U64(_FINGERPRINT_SHIFT)
        if len(all_shingles) == 1:
            every = all_shingles[0]
        elif all_shingles:
            every = np.concatenate(all_shingles)
        else:
            every = np.empty(0, _U64)
        return hashes, starts, ends, streams, every


def fingerprint_text(
    text: str, key: bytes, scheme: Scheme | None = None, *, ocr: bool = False
) -> Fingerprint:
    """Fingerprint one text with a key: sugar over :class:`Fingerprinter`."""
    return Fingerprinter(key, scheme).fingerprint(text, ocr=ocr)
