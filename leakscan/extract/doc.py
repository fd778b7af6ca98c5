"""Word 97-2003 (.doc) text, read from the piece table ([MS-DOC]) of the WordDocument stream.

The File Information Block (FIB) at the start of the WordDocument stream says
whether the file is encrypted, which table stream (``0Table``/``1Table``)
holds the piece table, and how many characters each story has. The piece
table (in the ``Clx``) maps character positions to byte runs of the
WordDocument stream, each run either UTF-16 or "compressed" Windows-1252.
Stories follow one another: the body, footnotes, headers and footers,
comments, endnotes, text boxes.

Measured against antiword, catdoc and LibreOffice on English and Urdu files
(see README, "Legacy Office files"): all recovered every word, this reader
with no helper process and in a fraction of their time. Field codes
(``HYPERLINK "…"``, ``PAGE``) are dropped and their shown result kept, as
Word shows it; table cells end in tabs and rows in newlines. A .doc has no
page layout stored, so the text is one page.
"""

from __future__ import annotations

import struct

from ..errors import EncryptedDocumentError, ExtractionError
from . import DOC, Extracted
from .ole import open_streams

__all__ = ["MAX_STREAM_BYTES", "extract"]

#: Largest stream read; the WordDocument stream holds the text, so this bounds it too.
MAX_STREAM_BYTES = 256 << 20
_MAX_PIECES = 1 << 20
_KIND = "Word document"

_W_IDENT = 0xA5EC
_NFIB_WORD97 = 0xC0  # Word 97 writes 0xC1; Word 6 and 95 wrote 0x65-0x69 in another layout
_F_ENCRYPTED, _F_WHICH_TABLE, _F_OBFUSCATED = 0x0100, 0x0200, 0x8000
_FC_CLX = 33  # index of fcClx/lcbClx in FibRgFcLcb97
#: FibRgLw97 entries counting each story's characters, in story order
_STORIES = (
    (3, "body"),
    (4, "footnotes"),
    (5, "headers and footers"),
    (6, "macros"),
    (7, "comments"),
    (8, "endnotes"),
    (9, "text boxes"),
    (10, "header text boxes"),
)
_SHOWN = ("body", "footnotes", "endnotes", "comments", "text boxes", "headers and footers")

# Compressed pieces are Windows-1252 but for the five bytes it leaves undefined.
_COMPRESSED = {
    byte: chr(byte) if char == "\ufffd" else char
    for byte in range(0x80, 0xA0)
    for char in [bytes([byte]).decode("cp1252", "replace")]
}
_FIELD_BEGIN, _FIELD_SEPARATOR, _FIELD_END = "\x13", "\x14", "\x15"
_CELL = "\x07"
# Marks of pictures, drawn objects, note and comment anchors, optional hyphens: no text.
_DROP = dict.fromkeys((*range(0x00, 0x09), *range(0x0E, 0x13), *range(0x16, 0x1E), 0x1F), None)
_DROP.update({0x0D: "\n", 0x0B: "\n", 0x0C: "\n", 0x1E: "-"})


def _fib(word: bytes) -> tuple[bool, int, int, list[int]]:
    """(1Table?, fcClx, lcbClx, character counts of the stories) from the FIB."""
    if len(word) < 0x22 or struct.unpack_from("<H", word, 0)[0] != _W_IDENT:
        raise ExtractionError(
            "corrupt Word document: the WordDocument stream has no file information block"
        )
    (nfib,) = struct.unpack_from("<H", word, 2)
    (flags,) = struct.unpack_from("<H", word, 10)
    if flags & _F_ENCRYPTED:
        how = "XOR-obfuscated" if flags & _F_OBFUSCATED else "password-protected"
        raise EncryptedDocumentError(f"encrypted Word document ({how}): not examined")
    if nfib < _NFIB_WORD97:
        raise ExtractionError(
            f"Word 6.0/95 document (nFib {nfib:#x}): only Word 97-2003 .doc files are read"
        )
    try:
        position = 32
        (csw,) = struct.unpack_from("<H", word, position)
        position += 2 + 2 * csw
        (cslw,) = struct.unpack_from("<H", word, position)
        lw = struct.unpack_from(f"<{cslw}i", word, position + 2)
        position += 2 + 4 * cslw
        (pairs,) = struct.unpack_from("<H", word, position)
        if pairs <= _FC_CLX or len(lw) <= _STORIES[-1][0]:
            raise ExtractionError("corrupt Word document: its file information block is too short")
        fc_clx, lcb_clx = struct.unpack_from("<II", word, position + 2 + 8 * _FC_CLX)
    except struct.error as exc:
        raise ExtractionError(
            "truncated Word document: the file information block is cut short"
        ) from exc
    counts = [max(lw[index], 0) for index, _ in _STORIES]
    return bool(flags & _F_WHICH_TABLE), fc_clx, lcb_clx, counts


def _pieces(table: bytes, fc_clx: int, lcb_clx: int) -> list[tuple[int, int, int, bool]]:
    """(first character, last character, byte offset, compressed?) of every piece, in order."""
    clx = table[fc_clx : fc_clx + lcb_clx]
    if fc_clx + lcb_clx > len(table) or not clx:
        raise ExtractionError(
            "corrupt or truncated Word document: no piece table where the FIB says"
        )
    position = 0
    while position < len(clx) and clx[position] == 0x01:  # Prc: formatting, skipped
        if position + 3 > len(clx):
            break
        (size,) = struct.unpack_from("<h", clx, position + 1)
        position += 3 + max(size, 0)
    if position + 5 > len(clx) or clx[position] != 0x02:
        raise ExtractionError("corrupt Word document: the piece table is missing or damaged")
    (size,) = struct.unpack_from("<I", clx, position + 1)
    plc = clx[position + 5 : position + 5 + size]
    count = (len(plc) - 4) // 12
    if count < 1 or size != len(plc):
        raise ExtractionError("corrupt or truncated Word document: the piece table is cut short")
    if count > _MAX_PIECES:
        raise ExtractionError(f"refused: Word document with {count} text pieces (hostile?)")
    starts = struct.unpack_from(f"<{count + 1}I", plc, 0)
    pieces = []
    for index in range(count):
        (fc,) = struct.unpack_from("<I", plc, 4 * (count + 1) + 8 * index + 2)
        compressed = bool(fc & 0x40000000)
        offset = (fc & 0x3FFFFFFF) // 2 if compressed else fc & 0x3FFFFFFF
        pieces.append((starts[index], starts[index + 1], offset, compressed))
    return pieces


def _characters(word: bytes, pieces: list[tuple[int, int, int, bool]], notes: list[str]) -> str:
    """The document's characters in order; a piece outside the stream is cut and noted."""
    out: list[str] = []
    total = 0
    damaged = 0
    for first, last, offset, compressed in pieces:
        count = last - first
        if count <= 0:
            damaged += count < 0
            continue
        # Pieces never overlap in a real file, so the text is no longer than the stream.
        if total + count > len(word):
            notes.append(
                f"the piece table claims more text than the {len(word)}-byte stream holds: "
                "read up to there (hostile or damaged)"
            )
            break
        width = 1 if compressed else 2
        raw = word[offset : offset + count * width]
        if len(raw) < count * width:
            damaged += 1
        if compressed:
            out.append(raw.decode("latin-1").translate(_COMPRESSED))
        else:
            out.append(raw[: len(raw) // 2 * 2].decode("utf-16-le", "replace"))
        total += count
    if damaged:
        notes.append(f"{damaged} text piece(s) point outside the WordDocument stream (truncated?)")
    return "".join(out)


def _without_fields(text: str) -> str:
    """Field instructions dropped, results kept: ``\\x13 PAGE \\x14 3 \\x15`` reads ``3``."""
    if _FIELD_BEGIN not in text:
        return text
    out: list[str] = []
    hiding: list[bool] = []  # one entry per open field: are we in its instructions?
    hidden = 0  # how many of them are True
    for char in text:
        if char == _FIELD_BEGIN:
            hiding.append(True)
            hidden += 1
        elif char == _FIELD_SEPARATOR:
            if hiding and hiding[-1]:
                hiding[-1] = False
                hidden -= 1
        elif char == _FIELD_END:
            if hiding:
                hidden -= hiding.pop()
        elif not hidden:
            out.append(char)
    return "".join(out)


def _readable(story: str) -> str:
    """Word's marks turned into text: paragraphs and breaks on lines, cells tab-separated."""
    story = _without_fields(story)
    # A row ends with a mark of its own right after its last cell's.
    story = story.replace(_CELL + _CELL, "\n").replace(_CELL, "\t")
    return story.translate(_DROP)


def extract(data: bytes) -> Extracted:
    """Text of a Word 97-2003 document: the body, then notes, comments, text boxes, headers."""
    with open_streams(data, _KIND, MAX_STREAM_BYTES) as streams:
        if not streams.has("WordDocument"):
            raise ExtractionError(
                "not a Word document: the OLE container has no WordDocument stream"
            )
        word = streams.read("WordDocument")
        one_table, fc_clx, lcb_clx, counts = _fib(word)
        table_name = "1Table" if one_table else "0Table"
        if not streams.has(table_name):
            raise ExtractionError(f"corrupt Word document: its {table_name} stream is missing")
        table = streams.read(table_name)
        notes = streams.notes
    text_notes: list[str] = []
    characters = _characters(word, _pieces(table, fc_clx, lcb_clx), text_notes)
    stories: dict[str, str] = {}
    position = 0
    for (_, name), count in zip(_STORIES, counts, strict=True):
        stories[name] = characters[position : position + count]
        position += count
    if sum(counts) > len(characters) and not text_notes:
        text_notes.append(
            f"the stories should hold {sum(counts)} characters, the pieces give {len(characters)}"
        )
    parts = [_readable(stories[name]).strip("\n") for name in _SHOWN]
    text = "\n".join(part for part in parts if part.strip())
    if not text.strip():
        raise ExtractionError("Word document holds no text")
    return Extracted(text, DOC, notes=(*notes, *text_notes))
