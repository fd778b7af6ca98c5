"""Plain text: UTF-8, UTF-16/32 with a byte-order mark, or a legacy code page told by content.

Text that is not UTF-8 is tried against the Windows and ISO code pages seized
devices hold (cp1252 for English and French, cp1256 for Urdu, ...) by
charset-normalizer. A code page is only taken when the decoded text reads as a
language: a few accented bytes in a short text decode to plausible letters in
every code page, and a wrong guess would corrupt the evidence quoted from it.
"""

from __future__ import annotations

import codecs

from ..errors import ExtractionError
from . import Extracted

__all__ = ["LEGACY_ENCODINGS", "decode_text", "extract"]

_BOMS = (
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


def decode_text(data: bytes) -> str:
    """Decode text strictly: a wrong guess would corrupt the evidence quoted from it."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            body, used = data[len(bom) :], encoding
            break
    else:
        body, used = data, _guess_nul_encoding(data)
    try:
        return body.decode(used)
    except UnicodeDecodeError as exc:
        reason = ""
        if body is data and used == "utf-8":  # no byte-order mark promised UTF-8
            text, reason = _decode_legacy(data)
            if text is not None:
                return text
        raise ExtractionError(
            f"not valid {used.upper()} text: undecodable byte 0x{body[exc.start]:02x} "
            f"at offset {exc.start + len(data) - len(body)}" + (f", and {reason}" if reason else "")
        ) from exc


def extract(data: bytes) -> Extracted:
    text = decode_text(data)
    if "\f" in text:  # form feeds separate pages in text dumps
        starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\f"]
        return Extracted(text, "text/plain", tuple(starts))
    return Extracted(text, "text/plain")
