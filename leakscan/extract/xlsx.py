"""XLSX text: every worksheet is a page, rows on lines, tabs between cells.

openpyxl reads a normal file. Cells hold the values last saved with the
workbook (``data_only``): a formula gives what it showed, not its source.
Empty rows and trailing empty cells are left out, so a sheet whose recorded
size is far larger than its data costs nothing more.

A package too large or too strange to load (see
:mod:`leakscan.extract.package`), or XML libxml2 refuses, is read part by
part instead: the shared strings and each worksheet streamed with a size cap.
That reading has no cell styles, so a date shows as the number Excel stores.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import ExtractionError
from . import XLSX, Extracted, check_not_ole, from_pages, one_line
from .package import DEFAULT_LIMITS, Limits, Package, library_or_streamed
from .xmlstream import RelationshipIds

__all__ = ["extract", "extract_streamed"]

_S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_SHEET, _SI, _T, _R_PH = f"{_S}sheet", f"{_S}si", f"{_S}t", f"{_S}rPh"
_ROW, _C, _V, _IS = f"{_S}row", f"{_S}c", f"{_S}v", f"{_S}is"
_COLUMN = re.compile(r"[A-Za-z]{1,3}")
_MAX_COLUMN = 16_384  # Excel's last column, XFD


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


def _with_openpyxl(data: bytes) -> Extracted:
    import io

    import openpyxl

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


# -- streamed ------------------------------------------------------------------


@dataclass
class _Strings:
    """lxml parser target for sharedStrings.xml: each string's text (phonetic runs left out)."""

    strings: list[str] = field(default_factory=list)
    _parts: list[str] | None = None
    _in_t = False
    _phonetic = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == _SI:
            self._parts = []
        elif tag == _R_PH:
            self._phonetic += 1
        self._in_t = tag == _T and self._parts is not None and not self._phonetic

    def end(self, tag: str) -> None:
        self._in_t = False
        if tag == _SI and self._parts is not None:
            self.strings.append("".join(self._parts))
            self._parts = None
        elif tag == _R_PH:
            self._phonetic -= 1

    def data(self, data: str) -> None:
        if self._in_t and self._parts is not None:
            self._parts.append(data)

    def close(self) -> None:
        return None


def _number(value: str) -> str:
    """A stored number as openpyxl shows it (an int when it has no decimal point or exponent)."""
    try:
        if "." in value or "e" in value or "E" in value:
            return str(float(value))
        return str(int(value))
    except ValueError:
        return value


@dataclass
class _Cells:
    """lxml parser target for a worksheet: one line per row with a value, cells by column."""

    strings: list[str]
    rows: list[str] = field(default_factory=list)
    _row: dict[int, str] = field(default_factory=dict)
    _column = 0
    _type = "n"
    _value: list[str] | None = None
    _inline: list[str] | None = None
    _collect: list[str] | None = None  # where character data goes now
    _phonetic = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self._collect = None
        if tag == _C:
            reference = _COLUMN.match(attrib.get("r", ""))
            self._column = _column_index(reference.group()) if reference else self._column + 1
            self._type = attrib.get("t", "n")
            self._value = self._inline = None
        elif tag == _V:
            self._collect = self._value = []
        elif tag == _IS:
            self._inline = []
        elif tag == _R_PH:
            self._phonetic += 1
        elif tag == _T and not self._phonetic:
            self._collect = self._inline

    def end(self, tag: str) -> None:
        self._collect = None
        if tag == _C:
            text = self._cell_text()
            if text and 0 < self._column <= _MAX_COLUMN:
                self._row[self._column] = text
        elif tag == _R_PH:
            self._phonetic -= 1
        elif tag == _ROW:
            self.flush_row()

    def data(self, data: str) -> None:
        if self._collect is not None:
            self._collect.append(data)

    def _cell_text(self) -> str:
        if self._type == "inlineStr":
            return "".join(self._inline or ())
        if self._value is None:
            return ""
        value = "".join(self._value)
        if self._type == "s":
            try:
                return self.strings[int(value)]
            except (ValueError, IndexError):
                return ""
        if self._type == "b":
            return "True" if value.strip() in ("1", "true") else "False"
        if self._type in ("str", "e", "d"):
            return value
        return _number(value.strip())

    def flush_row(self) -> None:
        if self._row:
            last = max(self._row)
            line = _row_text(self._row.get(column) for column in range(1, last + 1))
            if line:
                self.rows.append(line)
        self._row = {}
        self._column = 0

    def close(self) -> None:
        return None


def _why(why: str) -> str:
    return f" ({why})" if why else ""


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - ord("A") + 1
    return index


def extract_streamed(data: bytes, limits: Limits = DEFAULT_LIMITS, why: str = "") -> Extracted:
    """XLSX text read part by part within ``limits``: how :func:`extract` reads a hostile file."""
    check_not_ole(data, "XLSX", "legacy Excel .xls")
    notes = ["XLSX read part by part, without cell styles: dates show as numbers" + _why(why)]
    texts: list[str] = []
    with Package(data, "XLSX", limits) as package:
        workbook = package.main_part("xl/workbook.xml")
        sheets = RelationshipIds(_SHEET)
        notes.extend(package.stream(sheets, workbook))
        related = package.relationships(workbook)
        strings = _Strings()
        for kind, part in related.values():
            if kind.endswith("/sharedStrings"):
                notes.extend(package.stream(strings, part))
                break
        for rid in sheets.ids:
            kind, part = related.get(rid, ("", ""))
            if not kind.endswith("/worksheet"):
                continue  # chart sheets hold no cells; openpyxl leaves them out too
            cells = _Cells(strings.strings)
            notes.extend(package.stream(cells, part))
            cells.flush_row()  # a row left open where the part was cut
            texts.append("\n".join(cells.rows))
    notes.extend(package.summary())
    result = from_pages(texts, XLSX, "XLSX")
    return Extracted(result.text, XLSX, result.pages, tuple(notes))


def extract(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Extracted:
    check_not_ole(data, "XLSX", "legacy Excel .xls")
    return library_or_streamed(data, "XLSX", limits, "openpyxl", _with_openpyxl, extract_streamed)
