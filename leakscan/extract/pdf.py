"""PDF text, by poppler's pdftotext where installed, else by pdfium.

Measured on Urdu PDFs that LibreOffice made (see README, "PDF extraction"):
pdfminer.six returned Arabic-script text in reversed visual order (no
8-letter run survived, in Naskh or Nastaliq fonts); pdfium and pdftotext both
kept Naskh text intact; in Nastaliq, where glyphs stack diagonally, pdftotext
kept 77% of 12-letter runs and pdfium 2%. pdftotext also runs as a separate
process, so a PDF that makes the parser loop is killed at a time limit.
"""

from __future__ import annotations

import shutil
import subprocess

from ..errors import EncryptedDocumentError, ExtractionError
from . import Extracted

__all__ = ["TIMEOUT_SECONDS", "extract", "extract_with_pdfium", "extract_with_pdftotext"]

#: Wall-clock limit for one PDF.
TIMEOUT_SECONDS = 120


def _paged(pages: list[str]) -> Extracted:
    starts, offset = [], 0
    for page in pages:
        starts.append(offset)
        offset += len(page) + 1
    text = "\f".join(pages)
    if not text.strip():
        raise ExtractionError(
            f"PDF has no text layer ({len(pages)} page(s)): scanned pages need OCR"
        )
    return Extracted(text, "application/pdf", tuple(starts) or (0,))


def extract_with_pdftotext(data: bytes, executable: str = "pdftotext") -> Extracted:
    try:
        done = subprocess.run(
            [executable, "-enc", "UTF-8", "-eol", "unix", "-q", "-", "-"],
            input=data,
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ExtractionError(f"PDF text extraction took over {TIMEOUT_SECONDS} s") from exc
    if done.returncode != 0:
        # -q silences messages; ask again without it for a reason to report.
        try:
            again = subprocess.run(
                [executable, "-", "-"], input=data, capture_output=True, timeout=TIMEOUT_SECONDS
            )
            reason = again.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            reason = ""
        if "password" in reason.lower():
            raise EncryptedDocumentError("PDF is password-protected")
        lines = [line for line in reason.splitlines() if line.strip()]
        detail = lines[-1] if lines else f"pdftotext exit code {done.returncode}"
        raise ExtractionError(f"corrupt or truncated PDF: {detail}")
    text = done.stdout.decode("utf-8", "replace")
    if text.endswith("\f"):  # pdftotext ends every page, the last one too, with a form feed
        text = text[:-1]
    return _paged(text.split("\f"))


def extract_with_pdfium(data: bytes) -> Extracted:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise EncryptedDocumentError("PDF is password-protected") from exc
        raise ExtractionError(f"corrupt or truncated PDF: {exc}") from exc
    try:
        pages = []
        for page in document:
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
    finally:
        document.close()
    return _paged(pages)


def extract(data: bytes) -> Extracted:
    executable = shutil.which("pdftotext")
    if executable:
        return extract_with_pdftotext(data, executable)
    return extract_with_pdfium(data)
