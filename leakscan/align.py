"""Exact alignment of a suspect with one source text, unit by unit.

Winnowing keeps different shingles under different keys, so fingerprints can
only *nominate* a source: which of its words a suspect shares would otherwise
change with the key. Each indexed content therefore keeps its text as a
sequence of alignment units (a 16-bit code per word, per letter of an
Arabic-script word; see :attr:`leakscan.fingerprint.Fingerprint.unit_codes`),
and a nominated source is compared with the suspect on those: every maximal
run of equal units is found, whatever the key.

The units are stored as an *alignment blob*: compressed, then XORed with a
keystream drawn from the index key and the content's sha256 (SHAKE-256), so
without the key the blob shows neither which words repeat nor how often. It
is read only for the few contents a suspect nominates.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import LeakscanIndexError
from .fingerprint import Fingerprint

__all__ = [
    "ALIGNMENT_FORMAT",
    "Run",
    "SourceUnits",
    "common_runs",
    "common_runs_many",
    "decode_alignment",
    "decode_alignments",
    "encode_alignment",
]

#: The first bytes of a blob: names the format, so a later one can be told apart. LA2
#: also says which units are letters (a token's byte is 0 for a word, else its number of
#: letters), so that scheme 3 fingerprints can be computed from the units; LA1 (issue 12's
#: first format, a token's number of units) is still read.
ALIGNMENT_FORMAT = b"LA2"
_FORMAT_1 = b"LA1"
_HEADER = struct.Struct("<BII")  # flags, tokens, units
_FLAG_OCR = 1
#: A content of more units than this keeps no alignment units (a text of some 25 MB:
#: it is matched by its fingerprints' spans, as contents of older indexes are).
MAX_UNITS = 4_000_000
#: Most (suspect place, source place) pairs followed in one alignment step: the
#: repeats allowed per place shrink for texts that repeat themselves massively.
MAX_PAIRS = 4_000_000
#: Occurrences of one unit run followed in the other text (repetitive lists, tables).
MAX_REPEATS = 32
_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class SourceUnits:
    """A source's alignment units, read back from its blob."""

    codes: np.ndarray
    tokens: np.ndarray
    n_tokens: int
    #: The source text was read by OCR (misread letters break its runs).
    ocr: bool
    #: Which units are letters of Arabic-script words (None: an LA1 blob did not say).
    letters: np.ndarray | None = None


@dataclass(frozen=True)
class Run:
    """Units ``a_start ..`` of one text equal units ``b_start ..`` of the other, ``length`` long."""

    a_start: int
    b_start: int
    length: int


def _keystream(key: bytes, sha256: str, size: int) -> np.ndarray:
    seed = b"leakscan alignment\0" + key + b"\0" + sha256.encode("ascii", "replace")
    return np.frombuffer(hashlib.shake_256(seed).digest(size), dtype=np.uint8)


def _xor(data: bytes, key: bytes, sha256: str) -> bytes:
    plain = np.frombuffer(data, dtype=np.uint8)
    mixed: bytes = (plain ^ _keystream(key, sha256, len(plain))).tobytes()
    return mixed


def encode_alignment(fingerprint: Fingerprint, key: bytes, sha256: str) -> bytes:
    """The blob an index keeps for a content: its units, compressed and encrypted."""
    units = len(fingerprint.unit_codes)
    if units > MAX_UNITS:
        return b""
    per_token = np.bincount(fingerprint.unit_tokens, minlength=fingerprint.n_tokens)
    # A word is one unit; a letter token says how many letters it has (at least one).
    letter_tokens = np.zeros(fingerprint.n_tokens, dtype=bool)
    letter_tokens[fingerprint.unit_tokens[fingerprint.unit_letters]] = True
    per_token[~letter_tokens] = 0
    flags = _FLAG_OCR if fingerprint.ocr else 0
    raw = (
        _HEADER.pack(flags, fingerprint.n_tokens, units)
        + per_token.astype(np.uint8).tobytes()
        + fingerprint.unit_codes.astype("<u2").tobytes()
    )
    return ALIGNMENT_FORMAT + _xor(zlib.compress(raw, 6), key, sha256)


def decode_alignment(blob: bytes, key: bytes, sha256: str) -> SourceUnits | None:
    """A content's units; None for a content stored without them (an older index).

    A blob that does not decode under this key is damage, not a miss: it raises.
    """
    return decode_alignments([(blob, sha256)], key)[0]


@dataclass(frozen=True)
class _Unpacked:
    """A blob's plain parts, before its arrays are made."""

    sha256: str
    ocr: bool
    n_tokens: int
    n_units: int
    marks_letters: bool
    body: bytes


def _unpack(blob: bytes, key: bytes, sha256: str) -> _Unpacked:
    if blob.startswith(ALIGNMENT_FORMAT):
        marks_letters = True
    elif blob.startswith(_FORMAT_1):
        marks_letters = False
    else:
        raise LeakscanIndexError(f"content {sha256[:12]}: unknown alignment data format")
    try:
        inflater = zlib.decompressobj()
        packed = _xor(blob[len(ALIGNMENT_FORMAT) :], key, sha256)
        head = inflater.decompress(packed, _HEADER.size)
        flags, n_tokens, n_units = _HEADER.unpack(head)
        if n_units > MAX_UNITS or n_tokens > MAX_UNITS:
            raise ValueError("sizes beyond the limit")
        size = n_tokens + 2 * n_units
        body = inflater.decompress(inflater.unconsumed_tail, size)
        beyond = inflater.decompress(inflater.unconsumed_tail, 1)  # and the checksum
        if beyond or not inflater.eof or inflater.unused_data:
            raise ValueError("not one complete stream")
    except (zlib.error, struct.error, ValueError) as exc:
        raise LeakscanIndexError(
            f"content {sha256[:12]}: alignment data is damaged or was written under another key"
        ) from exc
    if len(body) != size:
        raise LeakscanIndexError(f"content {sha256[:12]}: alignment data is truncated")
    return _Unpacked(sha256, bool(flags & _FLAG_OCR), n_tokens, n_units, marks_letters, body)


def decode_alignments(blobs: Sequence[tuple[bytes, str]], key: bytes) -> list[SourceUnits | None]:
    """:func:`decode_alignment` of many (blob, sha256) pairs: each blob is inflated on
    its own, their arrays are made in one pass (a query aligns a score of sources, and
    a dozen small array steps per source cost more than the work)."""
    unpacked = [_unpack(blob, key, sha) if blob else None for blob, sha in blobs]
    present = [u for u in unpacked if u is not None]
    if not present:
        return [None] * len(blobs)
    n_tokens = np.fromiter((u.n_tokens for u in present), np.int64, len(present))
    n_units = np.fromiter((u.n_units for u in present), np.int64, len(present))
    marks = np.frombuffer(b"".join(u.body[: u.n_tokens] for u in present), dtype=np.uint8)
    codes = np.frombuffer(b"".join(u.body[u.n_tokens :] for u in present), dtype="<u2")
    # LA2 marks a word 0 (one unit) and a letter token by its letters; LA1 counts units.
    by_letters = np.repeat(
        np.fromiter((u.marks_letters for u in present), bool, len(present)), n_tokens
    )
    per_token = np.where(by_letters, np.maximum(marks, 1), marks).astype(np.int64)
    token_starts = np.cumsum(n_tokens) - n_tokens
    counted = np.zeros(len(present), dtype=np.int64)
    has_tokens = n_tokens > 0
    if len(per_token):
        counted[has_tokens] = np.add.reduceat(per_token, token_starts[has_tokens])
    wrong = np.flatnonzero(counted != n_units)
    if len(wrong):
        raise LeakscanIndexError(
            f"content {present[int(wrong[0])].sha256[:12]}: alignment data is inconsistent"
        )
    local = np.arange(len(per_token), dtype=np.int64) - np.repeat(token_starts, n_tokens)
    tokens = np.repeat(local, per_token)
    letters = np.repeat(marks > 0, per_token)
    unit_starts = (np.cumsum(n_units) - n_units).tolist()
    found: list[SourceUnits | None] = []
    place = 0
    for item in unpacked:
        if item is None:
            found.append(None)
            continue
        at, n = unit_starts[place], item.n_units
        found.append(
            SourceUnits(
                codes[at : at + n],
                tokens[at : at + n],
                item.n_tokens,
                item.ocr,
                letters[at : at + n] if item.marks_letters else None,
            )
        )
        place += 1
    return found


def _grams(codes: np.ndarray, m: int) -> np.ndarray:
    """A 64-bit hash of every ``m`` consecutive codes (equal runs give equal hashes)."""
    n = len(codes) - m + 1
    if n <= 0:
        return np.empty(0, np.uint64)
    spread = (codes.astype(np.uint64) + np.uint64(1)) * _MIX
    spread ^= spread >> np.uint64(29)
    acc = spread[:n].copy()
    for i in range(1, m):
        acc *= _MIX
        acc += spread[i : i + n]
    return acc


def _capped(matches: np.ndarray) -> np.ndarray:
    """Matches followed per place: at most MAX_REPEATS, fewer when all of them together
    would pass MAX_PAIRS (a list repeated thousands of times on both sides)."""
    counts = np.minimum(matches, MAX_REPEATS)
    total = int(counts.sum())
    if total > MAX_PAIRS:
        per_place = max(1, MAX_REPEATS * MAX_PAIRS // total)
        counts = np.minimum(counts, per_place)
    capped: np.ndarray = counts
    return capped


def common_runs(a: np.ndarray, b: np.ndarray, m: int) -> list[Run]:
    """Every maximal run of at least ``m`` equal codes shared by ``a`` and ``b``.

    Runs are found on every diagonal (a repeated passage gives one run per
    repeat, up to :data:`MAX_REPEATS` per place in ``a``), in the order of
    ``a_start``, then ``b_start``.
    """
    grams_a, grams_b = _grams(a, m), _grams(b, m)
    if not len(grams_a) or not len(grams_b):
        return []
    order = np.argsort(grams_b, kind="stable")
    sorted_b = grams_b[order]
    low = np.searchsorted(sorted_b, grams_a, "left")
    high = np.searchsorted(sorted_b, grams_a, "right")
    counts = _capped(high - low)
    total = int(counts.sum())
    if total == 0:
        return []
    at_a = np.repeat(np.arange(len(grams_a), dtype=np.int64), counts)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    at_b = order[np.repeat(low, counts) + offsets].astype(np.int64)
    diagonal = at_b - at_a
    by_diagonal = np.lexsort((at_a, diagonal))
    at_a, diagonal = at_a[by_diagonal], diagonal[by_diagonal]
    breaks = np.r_[True, (diagonal[1:] != diagonal[:-1]) | (at_a[1:] != at_a[:-1] + 1)]
    firsts = np.flatnonzero(breaks)
    lasts = np.r_[firsts[1:] - 1, len(at_a) - 1]
    starts_a = at_a[firsts]
    lengths = at_a[lasts] - starts_a + m
    starts_b = starts_a + diagonal[firsts]
    runs = [
        Run(int(x), int(y), int(n))
        for x, y, n in zip(starts_a.tolist(), starts_b.tolist(), lengths.tolist(), strict=True)
    ]
    runs.sort(key=lambda r: (r.a_start, r.b_start))
    return runs


def common_runs_many(a: np.ndarray, sources: list[np.ndarray], m: int) -> list[list[Run]]:
    """:func:`common_runs` of ``a`` with each of ``sources``, all in a few array steps.

    The suspect's runs are hashed and sorted once; the sources' units are laid end
    to end and looked up together, so many nominated sources cost little more than
    one. A place in a source meets at most :data:`MAX_REPEATS` places in ``a``.
    """
    found: list[list[Run]] = [[] for _ in sources]
    grams_a = _grams(a, m)
    if not len(grams_a) or not sources:
        return found
    order = np.argsort(grams_a, kind="stable")
    sorted_a = grams_a[order]
    lengths = np.array([len(s) for s in sources], dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    joined = np.concatenate(sources) if len(sources) > 1 else sources[0]
    grams_b = _grams(joined, m)
    if not len(grams_b):
        return found
    # A gram reaching over the end of its source into the next is no gram of either.
    source_of = np.repeat(np.arange(len(sources), dtype=np.int64), lengths)[: len(grams_b)]
    inside = np.arange(len(grams_b), dtype=np.int64) + m <= (offsets + lengths)[source_of]
    # Most of the sources' grams are not the suspect's: a table of the suspect's grams'
    # top 16 bits turns them away in one gather, and only the rest are searched for.
    present = np.zeros(1 << 16, dtype=bool)
    present[(sorted_a >> np.uint64(48)).astype(np.intp)] = True
    maybe = np.flatnonzero(present[(grams_b >> np.uint64(48)).astype(np.intp)] & inside)
    low = np.zeros(len(grams_b), dtype=np.int64)
    counts = np.zeros(len(grams_b), dtype=np.int64)
    low[maybe] = np.searchsorted(sorted_a, grams_b[maybe], "left")
    counts[maybe] = np.searchsorted(sorted_a, grams_b[maybe], "right") - low[maybe]
    counts = _capped(counts)
    total = int(counts.sum())
    if total == 0:
        return found
    at_b = np.repeat(np.arange(len(grams_b), dtype=np.int64), counts)
    steps = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    at_a = order[np.repeat(low, counts) + steps].astype(np.int64)
    source = source_of[at_b]
    at_b = at_b - offsets[source]
    diagonal = at_b - at_a
    by_run = np.lexsort((at_a, diagonal, source))
    at_a, diagonal, source = at_a[by_run], diagonal[by_run], source[by_run]
    breaks = np.empty(len(at_a), dtype=bool)  # (np.r_ costs more than the work here)
    breaks[0] = True
    breaks[1:] = (
        (source[1:] != source[:-1]) | (diagonal[1:] != diagonal[:-1]) | (at_a[1:] != at_a[:-1] + 1)
    )
    firsts = np.flatnonzero(breaks)
    lasts = np.empty(len(firsts), dtype=np.int64)
    lasts[:-1] = firsts[1:] - 1
    lasts[-1] = len(at_a) - 1
    starts_a = at_a[firsts]
    run_lengths = at_a[lasts] - starts_a + m
    starts_b = starts_a + diagonal[firsts]
    for sid, x, y, n in zip(
        source[firsts].tolist(),
        starts_a.tolist(),
        starts_b.tolist(),
        run_lengths.tolist(),
        strict=True,
    ):
        found[sid].append(Run(int(x), int(y), int(n)))
    for runs in found:
        runs.sort(key=lambda r: (r.a_start, r.b_start))
    return found
