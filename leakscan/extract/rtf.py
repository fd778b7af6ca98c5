r"""RTF text with striprtf: ``\uN`` escapes, and ``\'hh`` bytes in the declared code page.

A ``\'hh`` byte is decoded in its font's character set, or in the document's
``\ansicpg`` when the font names none (striprtf alone would use cp1252 there,
turning cp1256 Urdu into Latin letters). Header and footer groups, which
striprtf drops, are read too. A file cut short gives the text before the cut.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable

from ..errors import ExtractionError
from . import RTF, Extracted

__all__ = ["extract"]

_ANSICPG = re.compile(rb"\\ansicpg(\d{1,5})")
# An escaped backslash is consumed first, so "\\header" (literal text) is left alone.
_HEADER_FOOTER = re.compile(r"\\\\|\\((?:header|footer)[lrf]?)(?![a-zA-Z])")
_LEADING = b" \t\r\n\xef\xbb\xbf"
_SURROGATE = re.compile("[\ud800-\udfff]")


def _codepage(data: bytes) -> str:
    """The Python codec of the document's ``\\ansicpg`` (cp1252 if none or unknown)."""
    match = _ANSICPG.search(data[:4096])
    if match:
        name = f"cp{int(match.group(1))}"
        try:
            codecs.lookup(name)
        except LookupError:
            return "cp1252"
        return name
    return "cp1252"


def _source(data: bytes, codepage: str) -> str:
    """RTF source as str: ASCII normally; raw 8-bit bytes are in UTF-8 or the code page."""
    for encoding in ("ascii", "utf-8", codepage):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _show_headers_and_footers(source: str) -> str:
    # striprtf skips \header... groups as destinations; renamed, they are plain groups.
    return _HEADER_FOOTER.sub(
        lambda match: match.group(0) if match.group(1) is None else rf"\ls{match.group(1)}",
        source,
    )


def extract(data: bytes) -> Extracted:
    from striprtf.striprtf import rtf_to_text as untyped

    rtf_to_text: Callable[..., str] = untyped
    if not data.lstrip(_LEADING).startswith(b"{\\rtf"):
        raise ExtractionError("not an RTF document: it does not start with {\\rtf")
    codepage = _codepage(data)
    source = _show_headers_and_footers(_source(data, codepage))
    try:
        try:
            text = rtf_to_text(source, encoding=codepage)
        except UnicodeDecodeError:  # a byte the declared code page does not define
            text = rtf_to_text(source, encoding=codepage, errors="replace")
    except LookupError as exc:
        raise ExtractionError(f"RTF uses a character set Python cannot decode: {exc}") from exc
    except Exception as exc:  # striprtf is a hand-written scanner: map whatever it raises
        raise ExtractionError(f"damaged RTF: {type(exc).__name__}: {exc}") from exc
    text, notes = _join_surrogates(text)
    if not text.strip():
        raise ExtractionError("RTF holds no text")
    return Extracted(text, RTF, notes=notes)


def _join_surrogates(text: str) -> tuple[str, tuple[str, ...]]:
    r"""Characters beyond the BMP, which RTF writes as two ``\uN`` halves, made whole.

    A half without its other half (a damaged or crafted file) becomes U+FFFD,
    noted: text with lone surrogates cannot be written out as UTF-8.
    """
    if _SURROGATE.search(text) is None:
        return text, ()
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    lone = len(_SURROGATE.findall(text)) - 2 * (len(text) - len(joined))
    if not lone:
        return joined, ()
    plural = "" if lone == 1 else "s"
    return joined, (f"{lone} unpaired UTF-16 surrogate{plural} (\\uN) replaced by U+FFFD",)
