"""DOCX text with python-docx: headers, body paragraphs and tables in order, footers."""

from __future__ import annotations

import io
import zipfile

from ..errors import EncryptedDocumentError, ExtractionError
from . import DOCX, Extracted

__all__ = ["extract"]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted Office files are OLE containers


def _paragraph_texts(element: object) -> list[str]:
    from docx.oxml.ns import qn
    from docx.text.paragraph import Paragraph

    return [
        Paragraph(p, None).text  # type: ignore[arg-type]
        for p in element.iter(qn("w:p"))  # type: ignore[attr-defined]
    ]


def extract(data: bytes) -> Extracted:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    if data.startswith(_OLE_MAGIC):
        raise EncryptedDocumentError("DOCX is password-protected (an encrypted OLE container)")
    try:
        document = docx.Document(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ExtractionError(f"not a valid DOCX: not a ZIP archive ({exc})") from exc
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise ExtractionError(f"not a valid DOCX: {exc}") from exc
    except Exception as exc:  # lxml and zipfile raise many kinds on damaged parts
        raise ExtractionError(f"damaged DOCX: {type(exc).__name__}: {exc}") from exc
    parts: list[str] = []
    seen: set[int] = set()
    for section in document.sections:
        for header in (section.first_page_header, section.header):
            if not header.is_linked_to_previous and id(header._element) not in seen:
                seen.add(id(header._element))
                parts.extend(_paragraph_texts(header._element))
    parts.extend(_paragraph_texts(document.element.body))
    for section in document.sections:
        footer = section.footer
        if not footer.is_linked_to_previous and id(footer._element) not in seen:
            seen.add(id(footer._element))
            parts.extend(_paragraph_texts(footer._element))
    text = "\n".join(parts)
    if not text.strip():
        raise ExtractionError("DOCX holds no text")
    return Extracted(text, DOCX)
