"""DOCX text with python-docx: headers, body paragraphs and tables in order, footers."""

from __future__ import annotations

import io
import zipfile

from ..errors import ExtractionError
from . import DOCX, Extracted, check_not_ole

__all__ = ["extract"]


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

    check_not_ole(data, "DOCX", "legacy Word .doc")
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

    def add(part: object) -> None:
        # A part linked to the previous section's has no text of its own.
        if not part.is_linked_to_previous:  # type: ignore[attr-defined]
            element = part._element  # type: ignore[attr-defined]
            if id(element) not in seen:
                seen.add(id(element))
                parts.extend(_paragraph_texts(element))

    for section in document.sections:
        for header in (section.first_page_header, section.header, section.even_page_header):
            add(header)
    parts.extend(_paragraph_texts(document.element.body))
    for section in document.sections:
        for footer in (section.first_page_footer, section.footer, section.even_page_footer):
            add(footer)
    text = "\n".join(parts)
    if not text.strip():
        raise ExtractionError("DOCX holds no text")
    return Extracted(text, DOCX)
