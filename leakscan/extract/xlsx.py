"""XLSX text with openpyxl: every worksheet is a page, rows on lines, tabs between cells.

Cells hold the values last saved with the workbook (``data_only``): a formula
gives what it showed, not its source. Empty rows and trailing empty cells are
left out, so a sheet whose recorded size is far larger than its data costs
nothing more.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Iterable

from ..errors import ExtractionError
from . import XLSX, Extracted, check_not_ole, from_pages, one_line

__all__ = ["extract"]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted Office files are OLE containers


def _row_text(values: Iterable[object]) -> str:
    cells = ["" if value is None else str(value) for value in values]
    while cells and not cells[-1].strip():
        cells.pop()
    return "\t".join(cells)


def _sheet_text(sheet: object) -> str:
    if not hasattr(sheet, "iter_rows"):  # a chart sheet holds no cells
        return ""
    # The recorded dimensions can be wrong or huge; without them rows end at their last cell.
    sheet.reset_dimensions()  # type: ignore[attr-defined]
    rows = (_row_text(row) for row in sheet.iter_rows(values_only=True))  # type: ignore[attr-defined]
    return "\n".join(row for row in rows if row)


def extract(data: bytes) -> Extracted:
    import openpyxl

    check_not_ole(data, "XLSX", "legacy Excel .xls")
    texts: list[str] = []
    # openpyxl warns about workbook features it drops (validation, styles): none hold text.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                texts = [_sheet_text(sheet) for sheet in workbook.worksheets]
            finally:
                workbook.close()
        except zipfile.BadZipFile as exc:
            raise ExtractionError(
                f"not a valid XLSX: not a ZIP archive, or cut short ({exc})"
            ) from exc
        except Exception as exc:  # openpyxl, lxml and zipfile raise many kinds on damaged parts
            raise ExtractionError(f"damaged XLSX: {type(exc).__name__}: {one_line(exc)}") from exc
    return from_pages(texts, XLSX, "XLSX")
