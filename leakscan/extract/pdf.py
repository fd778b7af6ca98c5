"""PDF text, by poppler's pdftotext where installed, else (and when it fails) by pdfium.

Measured on Urdu PDFs that LibreOffice made (see README, "PDF extraction"):
pdfminer.six returned Arabic-script text in reversed visual order (no
8-letter run survived, in Naskh or Nastaliq fonts); pdfium and pdftotext both
kept Naskh text intact; in Nastaliq, where glyphs stack diagonally, pdftotext
kept 77% of 12-letter runs and pdfium 2%. pdftotext also runs as a separate
process, so a PDF that makes the parser loop is killed at a time limit; it is
started so that it dies with the worker that started it (:mod:`leakscan.procs`).

The two readers fail on different damage (a false page count in the page tree
makes pdftotext refuse the file; pdfium gives up on pages it cannot load), so
when the preferred one fails the other is tried, and a note says so.

Pages without a usable text layer (a scanner's image-only PDF, or the scanned
pages of a PDF whose other pages were typed) are rendered by pdfium and read
by OCR (:mod:`leakscan.ocr`), when they hold a picture; the text then says so
(``Extracted.ocr``).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace

from .. import procs
from ..errors import EncryptedDocumentError, ExtractionError
from . import Extracted, one_line

__all__ = [
    "TIMEOUT_SECONDS",
    "NoTextLayerError",
    "extract",
    "extract_with_pdfium",
    "extract_with_pdftotext",
]

#: Wall-clock limit for one PDF.
TIMEOUT_SECONDS = 120
# pdfium trusts the page tree's count; after this many unloadable pages in a row
# the count is taken to be false and the rest is not tried.
_MAX_FAILED_PAGES_IN_A_ROW = 50


class NoTextLayerError(ExtractionError):
    """A PDF none of whose pages has text: scanned pages, for OCR (or blank ones)."""

    def __init__(self, pages: int) -> None:
        super().__init__(f"PDF has no text layer ({pages} page(s)): scanned pages need OCR")
        self.pages = pages


def _paged(pages: list[str], notes: tuple[str, ...] = ()) -> Extracted:
    starts, offset = [], 0
    for page in pages:
        starts.append(offset)
        offset += len(page) + 1
    text = "\f".join(pages)
    if not text.strip():
        raise NoTextLayerError(len(pages))
    return Extracted(text, "application/pdf", tuple(starts) or (0,), notes)


def _reason(stderr: bytes, returncode: int) -> str:
    """The line of pdftotext's messages that says what is wrong (not its usage complaint)."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    specific = [line for line in lines if not line.startswith("Command Line Error")]
    if specific:
        return one_line(specific[0])
    return one_line(lines[-1]) if lines else f"pdftotext exit code {returncode}"


def extract_with_pdftotext(data: bytes, executable: str = "pdftotext") -> Extracted:
    try:
        done = procs.run(
            [executable, "-enc", "UTF-8", "-eol", "unix", "-q", "-", "-"],
            input=data,
            timeout=TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired as exc:
        raise ExtractionError(f"PDF text extraction took over {TIMEOUT_SECONDS} s") from exc
    except OSError as exc:
        raise ExtractionError(f"cannot run pdftotext: {one_line(exc)}") from exc
    if done.returncode != 0:
        # -q silences messages; ask again without it for a reason to report.
        try:
            again = procs.run([executable, "-", "-"], input=data, timeout=TIMEOUT_SECONDS)
            stderr = again.stderr
        except (subprocess.TimeoutExpired, OSError):
            stderr = b""
        if b"password" in stderr.lower():
            raise EncryptedDocumentError("PDF is password-protected")
        raise ExtractionError(f"corrupt or truncated PDF: {_reason(stderr, done.returncode)}")
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
        raise ExtractionError(f"corrupt or truncated PDF: {one_line(exc)}") from exc
    except Exception as exc:  # pypdfium2 raises more than PdfiumError on odd input
        raise ExtractionError(f"corrupt or truncated PDF: {type(exc).__name__}") from exc
    pages: list[str] = []
    failed = in_a_row = 0
    try:
        count = len(document)
        for index in range(count):
            try:
                page = document[index]
            except Exception:  # a page the (false or damaged) page tree promises is missing
                failed += 1
                in_a_row += 1
                pages.append("")
                if in_a_row >= _MAX_FAILED_PAGES_IN_A_ROW:
                    break
                continue
            in_a_row = 0
            try:
                textpage = page.get_textpage()
                pages.append(textpage.get_text_range())
                textpage.close()
            except Exception:  # one unreadable page costs that page only
                failed += 1
                pages.append("")
            finally:
                page.close()
    finally:
        document.close()
    notes: tuple[str, ...] = ()
    if failed:
        read = len(pages) - failed
        notes = (
            f"pdfium could not load {failed} of the {count} pages the page tree declares "
            f"(read {read}): a damaged or false page tree",
        )
        if in_a_row:  # a run of missing pages at the end: the count was false, not the pages
            pages = pages[: len(pages) - in_a_row]
    return _paged(pages, notes)


_Backend = Callable[[bytes], Extracted]


def _read_with_fallback(data: bytes, backends: list[tuple[str, _Backend]]) -> Extracted:
    """The first backend's text; when it fails (not for a password), the next one's, noted."""
    first_error: ExtractionError | None = None
    failures: list[str] = []
    for name, backend in backends:
        try:
            got = backend(data)
        except (EncryptedDocumentError, NoTextLayerError):
            raise
        except ExtractionError as exc:
            first_error = first_error or exc
            failures.append(f"{name} failed ({exc})")
            continue
        if not failures:
            return got
        note = f"{'; '.join(failures)}: text read by {name} instead"
        return replace(got, notes=(note, *got.notes))
    assert first_error is not None
    if len(failures) > 1:
        others = "; ".join(failures[1:])
        raise type(first_error)(f"{first_error} (and {others})") from first_error
    raise first_error


def extract(data: bytes) -> Extracted:
    executable = shutil.which("pdftotext")
    backends: list[tuple[str, _Backend]] = []
    if executable:
        backends.append(
            ("pdftotext", functools.partial(extract_with_pdftotext, executable=executable))
        )
    backends.append(("pdfium", extract_with_pdfium))
    try:
        got = _read_with_fallback(data, backends)
    except NoTextLayerError as exc:
        from .pdf_ocr import ocr_pages

        return ocr_pages(data, [""] * exc.pages, (), exc)
    texts = got.text.split("\f")
    if len(texts) == len(got.pages):
        from .pdf_ocr import usable_layer

        if not all(usable_layer(text) for text in texts):
            from .pdf_ocr import ocr_pages

            return ocr_pages(data, texts, got.notes, None)
    return got
