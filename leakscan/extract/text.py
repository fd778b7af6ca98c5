"""Plain text: UTF-8, UTF-16/32 with a byte-order mark, or a legacy code page told by content.

Text that is not UTF-8 is tried against the Windows and ISO code pages seized
devices hold (cp1252 for English and French, cp1256 for Urdu, ...) by
charset-normalizer. A code page is only taken when the decoded text reads as a
language: a few accented bytes in a short text decode to plausible letters in
every code page, and a wrong guess would corrupt the evidence quoted from it.

UTF-8 damaged in a few places is still UTF-8: one bad or missing byte must not
cost the whole file. Damage and a legacy code page are told apart by the
pattern of the invalid bytes (:func:`decode_with_notes`).
"""

from __future__ import annotations

import codecs
import re

from ..errors import ExtractionError
from . import Extracted

__all__ = ["BOMS", "LEGACY_ENCODINGS", "decode_text", "decode_with_notes", "extract"]

#: Byte-order marks and the encoding each announces, longest first (UTF-32 LE starts as UTF-16 LE).
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

#: Legacy code pages tried on text that is not UTF-8, most likely first (breaks ties).
#: BOM-less UTF-16 is not among them: it is told by its NUL bytes, and guessing it
#: without them reads short cp1256 Urdu as CJK.
LEGACY_ENCODINGS = (
    "cp1252",  # Windows Western: English, French
    "cp1256",  # Windows Arabic: Urdu
    "iso8859_15",
    "latin_1",
    "cp1250",  # Windows Central European
    "cp1251",  # Windows Cyrillic
    "iso8859_6",  # ISO Arabic
    "cp720",  # DOS Arabic
    "cp864",  # DOS Arabic
)
_REPLACED_RUN = re.compile("\ufffd+")
# Two candidates whose mess or coherence ratios differ by less than this are a tie.
_TIE = 0.01


def _guess_nul_encoding(data: bytes) -> str:
    """UTF-8, unless NUL bytes say UTF-16 without a byte-order mark (or not text at all)."""
    if b"\x00" not in data:
        return "utf-8"
    sample = data[:8192]
    even_nuls = sample[0::2].count(0) / max(1, len(sample[0::2]))
    odd_nuls = sample[1::2].count(0) / max(1, len(sample[1::2]))
    if odd_nuls > 0.3 and even_nuls < 0.05:
        return "utf-16-le"
    if even_nuls > 0.3 and odd_nuls < 0.05:
        return "utf-16-be"
    raise ExtractionError("contains NUL bytes: binary data, not text")


def _decode_legacy(data: bytes) -> tuple[str | None, str]:
    """(text, "") decoded from the code page it reads best in, else (None, why not)."""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data, cp_isolation=list(LEGACY_ENCODINGS), enable_fallback=False))
    if not matches:
        return None, "no legacy code page fits it either"
    least_mess = min(match.chaos for match in matches)
    matches = [match for match in matches if match.chaos <= least_mess + _TIE]
    most_coherent = max(match.coherence for match in matches)
    if most_coherent <= 0:
        return None, "it reads as no language in any legacy code page (too short to tell?)"
    matches = [match for match in matches if match.coherence >= most_coherent - _TIE]
    # A match stands for every code page that decodes the data to the same text.
    ranked = sorted(
        {
            encoding
            for match in matches
            for encoding in match.could_be_from_charset
            if encoding in LEGACY_ENCODINGS
        },
        key=LEGACY_ENCODINGS.index,
    )
    for encoding in ranked:
        try:
            return data.decode(encoding), ""
        except UnicodeDecodeError:  # charset-normalizer judged a sample of a large file
            continue
    return None, "no legacy code page fits all of it"


def _replaced(body: bytes, encoding: str) -> tuple[str, int, int, int]:
    """(text with U+FFFD for damage, damaged bytes, damaged places, valid non-ASCII chars).

    A damaged place is a run of invalid bytes: one flipped lead byte leaves its
    continuation bytes invalid too, and that is one place.
    """
    text = body.decode(encoding, "replace")
    kept = body.decode(encoding, "ignore")
    damaged_bytes = len(body) - len(kept.encode(encoding))
    non_ascii = len(kept) - len(kept.encode("ascii", "ignore"))
    return text, damaged_bytes, len(_REPLACED_RUN.findall(text)), non_ascii


def _damage_note(damaged_bytes: int, encoding: str) -> str:
    plural = "" if damaged_bytes == 1 else "s"
    return f"{damaged_bytes} damaged byte{plural} replaced by U+FFFD (not valid {encoding.upper()})"


def _mostly_utf8(body: bytes, places: int, valid_non_ascii: int) -> bool:
    """Damaged UTF-8 rather than a legacy code page, told by the pattern of invalid bytes.

    A legacy code page's letters rarely form valid UTF-8 sequences: in Windows-1256
    Urdu about one letter in twenty-five does (measured on our Urdu samples: 409
    valid sequences to 10,335 invalid ones), in Windows-1252 French none. Real UTF-8
    with damage keeps nearly all of its multi-byte characters, or was only cut short.
    """
    if valid_non_ascii == 0:
        return False
    if valid_non_ascii >= 2 * places:
        return True
    # one incomplete character at the very end: a file cut short
    return places == 1 and _cut_short(body)


def _cut_short(body: bytes) -> bool:
    """True if the only invalid UTF-8 is an incomplete sequence at the end."""
    for size in (1, 2, 3):
        try:
            body[:-size].decode("utf-8")
        except UnicodeDecodeError:
            continue
        lead = body[-size]
        return 0xC2 <= lead <= 0xF4 and all(0x80 <= b <= 0xBF for b in body[-size + 1 :])
    return False


def decode_with_notes(data: bytes) -> tuple[str, tuple[str, ...]]:
    """Decode text, and say how damage was read (``(text, notes)``).

    UTF-8 damaged in a few places (a flipped or dropped byte, a file cut in the
    middle of a character) keeps its text, the damage replaced by U+FFFD and
    counted in a note; a file whose invalid bytes look like a legacy code page
    is decoded in that code page. UTF-16 and UTF-32 cut at an odd byte keep
    their text the same way. Raises ExtractionError when no reading fits.
    """
    for bom, encoding in BOMS:
        if data.startswith(bom):
            body, used = data[len(bom) :], encoding
            break
    else:
        body, used = data, _guess_nul_encoding(data)
    try:
        return body.decode(used), ()
    except UnicodeDecodeError as exc:
        error = exc
    text, damaged_bytes, places, valid_non_ascii = _replaced(body, used)
    note = (_damage_note(damaged_bytes, used),)
    if used != "utf-8" or _mostly_utf8(body, places, valid_non_ascii):
        return text, note  # UTF-16/32 have no legacy rival: their damage is only damage
    reason = ""
    if body is data:  # no byte-order mark promised UTF-8
        legacy, reason = _decode_legacy(data)
        if legacy is not None:
            return legacy, ()
        if damaged_bytes * 1000 <= len(body):  # a stray byte or two in a long text
            return text, note
    raise ExtractionError(
        f"not valid {used.upper()} text: undecodable byte 0x{body[error.start]:02x} "
        f"at offset {error.start + len(data) - len(body)}" + (f", and {reason}" if reason else "")
    ) from error


def decode_text(data: bytes) -> str:
    """Decode text (see :func:`decode_with_notes`); the notes on damage are dropped."""
    return decode_with_notes(data)[0]


def extract(data: bytes) -> Extracted:
    text, notes = decode_with_notes(data)
    if "\f" in text:  # form feeds separate pages in text dumps
        starts = [0, *(match.end() for match in re.finditer("\f", text))]
        return Extracted(text, "text/plain", tuple(starts), notes)
    return Extracted(text, "text/plain", notes=notes)
