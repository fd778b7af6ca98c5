"""Plain text: UTF-8, or UTF-16/32 with a byte-order mark."""

from __future__ import annotations

import codecs

from ..errors import ExtractionError
from . import Extracted

__all__ = ["decode_text", "extract"]

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


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
        raise ExtractionError(
            f"not valid {used.upper()} text: undecodable byte 0x{body[exc.start]:02x} "
            f"at offset {exc.start + len(data) - len(body)}"
        ) from exc


def extract(data: bytes) -> Extracted:
    text = decode_text(data)
    if "\f" in text:  # form feeds separate pages in text dumps
        starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\f"]
        return Extracted(text, "text/plain", tuple(starts))
    return Extracted(text, "text/plain")
