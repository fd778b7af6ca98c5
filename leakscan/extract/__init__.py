"""Text extraction, one module per format family, chosen by content (libmagic), not suffix.

Extractors take the item's bytes, so an archive member is read the same way
as a file on disk, and return an :class:`Extracted`: the raw text exactly as
the format gives it (evidence is quoted from it) and where its pages start.
"""

from __future__ import annotations

import importlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import TYPE_CHECKING

from ..errors import EncryptedDocumentError, ExtractionError, UnsupportedFormatError
from .ocr_types import OcrInfo

if TYPE_CHECKING:
    import zipfile

__all__ = [
    "DOC",
    "DOCX",
    "EXTRACTORS",
    "HTML",
    "IMAGE_TYPES",
    "ODT",
    "OLE_MAGIC",
    "PPT",
    "PPTX",
    "RTF",
    "XHTML",
    "XLS",
    "XLSX",
    "Extracted",
    "check_not_ole",
    "detect_mime",
    "extract",
    "extractor_for",
    "from_pages",
    "one_line",
]

#: Legacy Office files, Outlook .msg and password-protected OOXML files are OLE containers.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
RTF = "text/rtf"
HTML = "text/html"
XHTML = "application/xhtml+xml"
# Legacy Office (OLE containers), told apart by their streams (leakscan.extract.ole).
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
PPT = "application/vnd.ms-powerpoint"

#: The MIME types libmagic gives pictures (BMP has two names across libmagic versions):
#: read by OCR (extract.image) and compared by their look (leakscan.images).
IMAGE_TYPES = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/tiff",
    "image/bmp",
    "image/x-ms-bmp",
    "image/gif",
    "image/heic",
    "image/heif",
    "image/heic-sequence",
    "image/heif-sequence",
)

#: MIME type → "module:function" of its extractor, imported on first use.
EXTRACTORS: dict[str, str] = {
    "text/plain": "leakscan.extract.text:extract",
    "application/pdf": "leakscan.extract.pdf:extract",
    DOCX: "leakscan.extract.docx:extract",
    XLSX: "leakscan.extract.xlsx:extract",
    PPTX: "leakscan.extract.pptx:extract",
    ODT: "leakscan.extract.odt:extract",
    RTF: "leakscan.extract.rtf:extract",
    HTML: "leakscan.extract.html:extract",
    XHTML: "leakscan.extract.html:extract_xhtml",
    DOC: "leakscan.extract.doc:extract",
    XLS: "leakscan.extract.xls:extract",
    PPT: "leakscan.extract.ppt:extract",
    # Pictures: read by OCR (leakscan.ocr).
    **{mime: "leakscan.extract.image:extract" for mime in IMAGE_TYPES},
}

# A suffix only decides when the content has no readable type: a damaged PDF
# named .pdf should become an error record ("not a PDF"), not a silent skip.
_SUFFIX_HINTS = {
    ".txt": "text/plain",
    ".text": "text/plain",
    ".pdf": "application/pdf",
    ".docx": DOCX,
    ".xlsx": XLSX,
    ".pptx": PPTX,
    ".odt": ODT,
    ".rtf": RTF,
    ".htm": HTML,
    ".html": HTML,
    ".xhtml": XHTML,
    ".doc": DOC,
    ".dot": DOC,
    ".xls": XLS,
    ".xlt": XLS,
    ".ppt": PPT,
    ".pps": PPT,
    ".pot": PPT,
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".bmp": "image/bmp",
    ".gif": "image/gif",
    ".heic": "image/heic",
    ".heif": "image/heif",
}

# Office files are ZIPs; libmagic names them only when the members it looks for
# come first, so a ZIP is opened to read the one member that says what it is.
_ZIP_TYPES = ("application/zip", "application/octet-stream")
_ZIP_MAGIC = b"PK\x03\x04"
_TYPE_MEMBER_LIMIT = 1 << 20
#: main-part content type in [Content_Types].xml → MIME type of the package
_OOXML_MAIN_PARTS = {
    f"{DOCX}.main+xml": DOCX,
    f"{XLSX}.main+xml": XLSX,
    f"{PPTX}.main+xml": PPTX,
}
_ODF_MIMETYPE = re.compile(r"application/vnd\.oasis\.opendocument\.[a-z][a-z.-]{0,60}")
_CONTENT_TYPE = re.compile(rb"""ContentType\s*=\s*["']([^"']{1,200})["']""")

# Text-like types libmagic reports that the plain-text reader handles.
_TEXT_ALIASES = ("text/", "application/csv", "application/json")
_NOT_PLAIN_TEXT = ("text/html", "text/xml", "text/rtf")


@dataclass(frozen=True)
class Extracted:
    """Text of one item; ``pages[i]`` is the character offset where page i + 1 starts.

    ``notes`` say how the reading was degraded but not given up (damaged bytes
    replaced, a parser limit reached, a fallback extractor used): a hostile
    file must cost precision, never the text that could be read.

    ``ocr`` is set when some or all of the text was read by OCR from pictures
    (an image, a scanned PDF page): the engine, languages, confidence and
    every OCR'd word's page and box.
    """

    text: str
    mime: str
    pages: tuple[int, ...] = field(default=(0,))
    notes: tuple[str, ...] = ()
    #: Set when the text (or part of it) was read by OCR: matching then allows for
    #: misread letters, and findings say where on the picture they are.
    ocr: OcrInfo | None = None

    def page_at(self, offset: int) -> int:
        """1-based page holding a character offset."""
        page = 1
        for number, start in enumerate(self.pages, start=1):
            if start <= offset:
                page = number
        return page


def one_line(message: object) -> str:
    """A library's error message on one line, as error records must be."""
    return " ".join(str(message).split())


def check_not_ole(data: bytes, kind: str, legacy: str) -> None:
    """An OOXML file that is an OLE container is either encrypted or a legacy file: say which."""
    if data.startswith(OLE_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise EncryptedDocumentError(
                f"{kind} is password-protected (an encrypted OLE container)"
            )
        from .ole import ole_kind

        found = ole_kind(io.BytesIO(data))
        what = f"an OLE container of type {found}" if found else f"an OLE container ({legacy}?)"
        raise ExtractionError(f"not a {kind}: {what}")


def from_pages(texts: list[str], mime: str, kind: str) -> Extracted:
    """One text from pages (sheets, slides) joined by newlines, with where each page starts."""
    starts: list[int] = []
    offset = 0
    for text in texts:
        starts.append(offset)
        offset += len(text) + 1  # the newline between pages
    joined = "\n".join(texts)
    if not joined.strip():
        raise ExtractionError(f"{kind} holds no text")
    return Extracted(joined, mime, tuple(starts) or (0,))


def detect_mime(data: bytes) -> str:
    """MIME type from content (libmagic, the first MiB); office files inside a ZIP are named.

    An OLE container is named by the streams at its root (a legacy Word,
    Excel or PowerPoint file, an Outlook message), whatever libmagic says.
    """
    import magic

    if data.startswith(OLE_MAGIC):
        from .ole import ole_kind

        kind = ole_kind(io.BytesIO(data))
        if kind is not None:
            return kind
    try:
        detected = str(magic.from_buffer(data[: 1 << 20], mime=True))
    except magic.MagicException as exc:  # pragma: no cover - libmagic internal failure
        raise ExtractionError(f"cannot determine the file type: {exc}") from exc
    if detected in _ZIP_TYPES and data.startswith(_ZIP_MAGIC):
        return _office_type(data) or detected
    return detected


def _read_member(archive: zipfile.ZipFile, name: str) -> bytes | None:
    """One small member, at most 1 MiB read whatever its header claims; None if unreadable."""
    try:
        info = archive.getinfo(name)
        if info.file_size > _TYPE_MEMBER_LIMIT:
            return None
        with archive.open(info) as member:
            return member.read(_TYPE_MEMBER_LIMIT)
    except Exception:  # absent, encrypted or damaged member: zipfile and zlib raise many kinds
        return None


def _office_type(data: bytes) -> str | None:
    """The office MIME type a ZIP declares inside, or None (a plain or unreadable ZIP)."""
    import zipfile

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception:  # not a readable ZIP after all: libmagic's answer stands
        return None
    with archive:
        odf = _read_member(archive, "mimetype")
        types = _read_member(archive, "[Content_Types].xml")
    if odf is not None:
        declared = odf.decode("ascii", "replace").strip()
        if _ODF_MIMETYPE.fullmatch(declared):
            return declared
    if types is not None:
        for match in _CONTENT_TYPE.finditer(types):
            mime = _OOXML_MAIN_PARTS.get(match.group(1).decode("ascii", "replace"))
            if mime is not None:
                return mime
    return None


def extractor_for(mime: str, name: str = "") -> tuple[str, Callable[[bytes], Extracted]] | None:
    """The (MIME type, extractor) that reads content of this type, or None."""
    chosen = mime
    if chosen not in EXTRACTORS:
        if chosen.startswith(_TEXT_ALIASES) and not chosen.startswith(_NOT_PLAIN_TEXT):
            chosen = "text/plain"
        else:
            hint = _SUFFIX_HINTS.get(PurePath(name).suffix.lower())
            if hint is None:
                return None
            chosen = hint
    module_name, _, function = EXTRACTORS[chosen].partition(":")
    module = importlib.import_module(module_name)
    return chosen, getattr(module, function)


def _read_as(
    function: Callable[[bytes], Extracted], data: bytes, chosen: str, detected: str
) -> Extracted:
    """Run an extractor; when the name chose it against the content, say so on failure."""
    try:
        return function(data)
    except ExtractionError as exc:
        if chosen == detected:
            raise
        raise type(exc)(f"{exc} (named as {chosen}, content looks like {detected})") from exc


def extract(data: bytes, name: str = "", mime: str | None = None) -> Extracted:
    """Extract the text of one item; raises ExtractionError if it cannot be read."""
    if not data:
        raise ExtractionError("empty file (0 bytes)")
    detected = mime or detect_mime(data)
    found = extractor_for(detected, name)
    if found is None:
        raise UnsupportedFormatError(f"no text extractor for {detected}")
    chosen, function = found
    result = _read_as(function, data, chosen, detected)
    if chosen != detected:
        return replace(result, mime=detected)
    return result
