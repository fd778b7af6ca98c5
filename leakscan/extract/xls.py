"""Excel 97-2003 (.xls, BIFF8; and Excel 5/95 BIFF5) text: every worksheet a page, rows on lines.

The ``Workbook`` (``Book`` in Excel 5/95) stream is taken from the OLE
container and given to xlrd, which reads BIFF cell by cell. As for XLSX,
cells hold the values last saved (a formula gives what it showed), empty
rows and trailing empty cells are left out, and cells are tab-separated.
Numbers show as Excel would without a format (``3``, ``12.5``), dates as
``2024-03-11 00:00:00``. Comments, text boxes and charts are not read.
A workbook encrypted with Excel's built-in password (a protected workbook
Excel opens without asking) is decrypted with msoffcrypto-tool and read;
one with a password of its own is not examined.

xlrd was measured against catdoc's xls2csv and LibreOffice (see README,
"Legacy Office files"): all recovered every word; xlrd runs in-process,
fastest, and keeps sheets apart.
"""

from __future__ import annotations

import datetime
import io
from typing import Any

from ..errors import EncryptedDocumentError, ExtractionError
from . import XLS, Extracted, from_pages, one_line
from .ole import open_streams, quiet

__all__ = ["MAX_STREAM_BYTES", "extract"]

#: Largest Workbook stream read (BIFF8 holds at most 65,536 rows by 256 columns a sheet).
MAX_STREAM_BYTES = 256 << 20
_KIND = "Excel workbook"
_DEFAULT_PASSWORD = "VelvetSweatshop"


class _Discard:
    """xlrd writes its diagnostics to a file: here they go nowhere (they are not evidence)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        return None


def _describe(exc: BaseException) -> str:
    message = one_line(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _cell_text(cell: Any, datemode: int) -> str:
    import xlrd

    kind, value = cell.ctype, cell.value
    if kind == xlrd.XL_CELL_TEXT:
        return str(value)
    if kind == xlrd.XL_CELL_NUMBER:
        return _number(float(value))
    if kind == xlrd.XL_CELL_DATE:
        try:
            moment: datetime.datetime = xlrd.xldate.xldate_as_datetime(value, datemode)
        except Exception:  # a date out of Excel's range: show the number it stores
            return _number(float(value))
        return str(moment)
    if kind == xlrd.XL_CELL_BOOLEAN:
        return "TRUE" if value else "FALSE"
    if kind == xlrd.XL_CELL_ERROR:
        return str(xlrd.error_text_from_code.get(value, "#ERROR"))
    return ""


def _sheet_text(sheet: Any, datemode: int) -> str:
    rows = []
    for number in range(sheet.nrows):
        cells = [_cell_text(cell, datemode) for cell in sheet.row(number)]
        while cells and not cells[-1].strip():
            cells.pop()
        if cells:
            rows.append("\t".join(cells))
    return "\n".join(rows)


def _workbook_stream(data: bytes, notes: list[str]) -> bytes:
    with open_streams(data, _KIND, MAX_STREAM_BYTES) as streams:
        name = next((n for n in ("Workbook", "Book") if streams.has(n)), None)
        if name is None:
            raise ExtractionError("not an Excel workbook: the OLE container has no Workbook stream")
        stream = streams.read(name)
        notes.extend(streams.notes)
    if not stream:
        raise ExtractionError("Excel workbook has an empty Workbook stream")
    return stream


def _sheets(stream: bytes, notes: list[str]) -> list[str]:
    """Each worksheet's text, read by xlrd from the BIFF records of the Workbook stream."""
    import xlrd

    texts: list[str] = []
    try:
        book = xlrd.open_workbook(
            file_contents=stream, logfile=_Discard(), on_demand=True, ragged_rows=True
        )
        try:
            for index in range(book.nsheets):
                try:
                    texts.append(_sheet_text(book.sheet_by_index(index), book.datemode))
                except Exception as exc:  # one damaged sheet costs that sheet
                    texts.append("")
                    notes.append(f"sheet {index + 1} unreadable: {_describe(exc)}")
        finally:
            book.release_resources()
    except xlrd.XLRDError as exc:
        if "encrypted" in str(exc).lower():
            raise EncryptedDocumentError(
                "encrypted Excel workbook (password-protected): not examined"
            ) from exc
        raise ExtractionError(f"corrupt or truncated Excel workbook: {one_line(exc)}") from exc
    except Exception as exc:  # xlrd raises IndexError, struct.error, … on damaged records
        raise ExtractionError(f"corrupt or truncated Excel workbook: {_describe(exc)}") from exc
    return texts


def _with_default_password(data: bytes) -> bytes | None:
    """The workbook decrypted with Excel's built-in password, or None if it has another.

    Excel encrypts a workbook whose structure is protected, or that is saved
    write-protected, with the fixed password "VelvetSweatshop" and opens it
    without asking: its text is no secret, and must not go unread.
    """
    import msoffcrypto

    try:
        with quiet():
            office = msoffcrypto.OfficeFile(io.BytesIO(data))
            office.load_key(password=_DEFAULT_PASSWORD)
            plain = io.BytesIO()
            office.decrypt(plain)
    except Exception:  # a wrong password, or a container msoffcrypto cannot follow
        return None
    return plain.getvalue()


def extract(data: bytes) -> Extracted:
    """Text of an Excel 97-2003 workbook, one page per worksheet."""
    notes: list[str] = []
    try:
        texts = _sheets(_workbook_stream(data, notes), notes)
    except EncryptedDocumentError:
        plain = _with_default_password(data)
        if plain is None:
            raise
        notes = [
            "encrypted with Excel's built-in password (VelvetSweatshop: a protected "
            "workbook Excel opens without asking): decrypted and read"
        ]
        texts = _sheets(_workbook_stream(plain, notes), notes)
    result = from_pages(texts, XLS, "Excel workbook")
    return Extracted(result.text, XLS, result.pages, tuple(notes))
