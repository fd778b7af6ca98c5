"""Legacy Office test files (.doc, .xls, .ppt): LibreOffice conversions, and what it cannot write.

Every text here is fictional and written for these tests. .doc, .xls and .ppt
files are saved by LibreOffice's export filters ("MS Word 97", "MS Excel 97",
"MS PowerPoint 97", as ``--convert-to doc|xls|ppt`` runs them) from a
python-docx .docx, an openpyxl .xlsx and a python-pptx .pptx, all in one
LibreOffice run driven by a Basic macro, which can also give a password
(the Word and Excel filters then encrypt the file with RC4).

LibreOffice keeps every slide's text in the slide's drawing, and cannot save
an encrypted .ppt. PowerPoint itself keeps placeholder text in the document's
SlideListWithText instead; :func:`build_ppt` writes such a file record by
record ([MS-PPT]: CurrentUserAtom, UserEditAtom, PersistDirectoryAtom,
DocumentContainer, SlideContainer, NotesContainer) into an OLE container made
by extract_msg's writer, and can mark it encrypted as PowerPoint does (the
CurrentUserAtom's header token).
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import tempfile
from collections.abc import Sequence
from pathlib import Path

from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from tests import factories
from tests.office_factories import _soffice

__all__ = [
    "FILTERS",
    "URDU_NUMBERS",
    "build_doc",
    "build_ole",
    "build_ppt",
    "legacy_soffice_available",
    "make_docx_with_fields",
    "save_as_legacy",
]

#: Urdu with a zero-width non-joiner inside a word, Extended Arabic-Indic and Arabic-Indic digits.
URDU_NUMBERS = "ٹیلی\u200cفون نمبر ۰۳۰۰۱۲۳۴۵۶۷ پر رابطہ کریں، فائل نمبر ٣٤٥ اور سال ۲۰۲۴ درج ہے۔"

#: LibreOffice's export filters for the legacy formats
FILTERS = {".doc": "MS Word 97", ".xls": "MS Excel 97", ".ppt": "MS PowerPoint 97"}

_MACRO = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">
<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1"
 script:language="StarBasic">
Sub SaveAll(sources As String, targets As String, filters As String, secrets As String)
  Dim load(0) As New com.sun.star.beans.PropertyValue
  Dim plain(0) As New com.sun.star.beans.PropertyValue
  Dim locked(1) As New com.sun.star.beans.PropertyValue
  load(0).Name = &quot;Hidden&quot;
  load(0).Value = True
  inputs = Split(sources, &quot;|&quot;)
  outputs = Split(targets, &quot;|&quot;)
  kinds = Split(filters, &quot;|&quot;)
  words = Split(secrets, &quot;|&quot;)
  For i = 0 To UBound(inputs)
    url = ConvertToURL(inputs(i))
    document = StarDesktop.loadComponentFromURL(url, &quot;_blank&quot;, 0, load())
    If words(i) = &quot;=&quot; Then
      plain(0).Name = &quot;FilterName&quot;
      plain(0).Value = kinds(i)
      document.storeToURL(ConvertToURL(outputs(i)), plain())
    Else
      locked(0).Name = &quot;FilterName&quot;
      locked(0).Value = kinds(i)
      locked(1).Name = &quot;Password&quot;
      locked(1).Value = Mid(words(i), 2)
      document.storeToURL(ConvertToURL(outputs(i)), locked())
    End If
    document.close(True)
  Next i
End Sub
</script:module>
"""


def legacy_soffice_available() -> bool:
    """LibreOffice with Writer, Calc and Impress (a missing one stalls the macro on a dialog)."""
    soffice = shutil.which("soffice")
    if soffice is None:
        return False
    program = Path(os.path.realpath(soffice)).parent
    return all((program / f"lib{module}lo.so").is_file() for module in ("sw", "sc", "sd"))


def make_docx_with_fields(
    path: Path, paragraphs: Sequence[str], *, link: tuple[str, str], footer: str
) -> Path:
    """A .docx whose last paragraph holds a hyperlink and whose footer a PAGE field.

    Word (and LibreOffice's .doc export) write both as fields: instructions
    (``HYPERLINK "…"``, ``PAGE``) that a reader must drop, and a result it keeps.
    """
    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    shown, url = link
    paragraph = document.add_paragraph("Map: ")
    relationship = document.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    hyperlink = OxmlElement("w:hyperlink")
    hyperlink.set(qn("r:id"), relationship)
    run, text = OxmlElement("w:r"), OxmlElement("w:t")
    text.text = shown
    run.append(text)
    hyperlink.append(run)
    paragraph._p.append(hyperlink)
    bottom = document.sections[0].footer.paragraphs[0]
    bottom.add_run(f"{footer} ")
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    number_run, number = OxmlElement("w:r"), OxmlElement("w:t")
    number.text = "1"
    number_run.append(number)
    field.append(number_run)
    bottom._p.append(field)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def save_as_legacy(
    jobs: Sequence[tuple[Path, Path, str]], *, timeout: float = factories.SOFFICE_TIMEOUT
) -> list[Path]:
    """(source, target .doc/.xls/.ppt, password or "") → targets, saved by one LibreOffice run.

    LibreOffice's export filters are the ones ``--convert-to doc|xls|ppt``
    uses; a Basic macro runs them all in one start (LibreOffice takes seconds
    to start) and can give a password, which ``--convert-to`` cannot.
    """
    columns: list[list[str]] = [[], [], [], []]
    for source, target, password in jobs:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        row = [
            str(Path(source).resolve()),
            str(Path(target).resolve()),
            FILTERS[Path(target).suffix],
            f"={password}",  # never empty: Basic's Split drops a lone empty string
        ]
        for column, value in zip(columns, row, strict=True):
            if '"' in value or "|" in value:
                raise ValueError(f"cannot pass {value!r} to the Basic macro")
            column.append(value)
    with tempfile.TemporaryDirectory(prefix="leakscan-legacy-") as tmp:
        profile = Path(tmp) / "profile"
        _soffice(profile, "--terminate_after_init", timeout=timeout)  # creates the profile
        (profile / "user" / "basic" / "Standard" / "Module1.xba").write_text(_MACRO)
        arguments = ",".join(f'"{"|".join(column)}"' for column in columns)
        _soffice(profile, f"macro:///Standard.Module1.SaveAll({arguments})", timeout=timeout)
    targets = [Path(job[1]) for job in jobs]
    missing = [target.name for target in targets if not target.is_file()]
    if missing:
        raise RuntimeError(f"LibreOffice did not save {missing}")
    return targets


def build_ole(streams: dict[str, bytes]) -> bytes:
    """An OLE container holding these root streams, written by extract_msg's OLE writer."""
    from extract_msg import OleWriter

    writer = OleWriter()
    for name, data in streams.items():
        writer.addEntry([name], data)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# -- Word by hand ([MS-DOC] 2.5 Fib, 2.9.38 Clx, 2.9.177 Pcd) ----------------------------------

_FIB_END = 900  # FibBase, FibRgW97, FibRgLw97, FibRgFcLcb97 (0x5D pairs), cswNew
_TEXT_AT = 1024


def build_doc(
    pieces: Sequence[tuple[str, bool]],
    *,
    stories: Sequence[int] | None = None,
    encrypted: bool = False,
    nfib: int = 0xC1,
    repeat: int = 1,
) -> bytes:
    """A .doc whose text is ``pieces`` (text, stored compressed as Windows-1252?) in order.

    ``stories`` gives the characters of body, footnotes, headers … (FibRgLw97
    ccpText onwards; default: all body). ``encrypted`` sets fEncrypted as
    Word does for a password. ``repeat`` lists every piece that many times
    over (pointing at the same bytes): a piece table claiming more text than
    the file holds.
    """
    word = bytearray(_TEXT_AT)
    runs: list[tuple[int, int]] = []  # (fc field, characters)
    for text, compressed in pieces:
        offset = len(word)
        if compressed:
            word += text.encode("cp1252")
            runs.append((0x40000000 | (offset * 2), len(text)))
        else:
            word += text.encode("utf-16-le")
            runs.append((offset, len(text)))
    runs = runs * repeat
    starts = [0]
    for _, count in runs:
        starts.append(starts[-1] + count)
    plc = struct.pack(f"<{len(starts)}I", *starts)
    plc += b"".join(struct.pack("<HIH", 0, fc, 0) for fc, _ in runs)
    clx = b"\x02" + struct.pack("<I", len(plc)) + plc
    counts = list(stories) if stories is not None else [starts[-1]]
    flags = 0x0200 | (0x0100 if encrypted else 0)  # fWhichTblStm: 1Table
    struct.pack_into("<HHHHHH", word, 0, 0xA5EC, nfib, 0, 0x0409, 0, flags)
    struct.pack_into("<H", word, 32, 14)  # csw
    struct.pack_into("<H", word, 62, 22)  # cslw
    struct.pack_into("<i", word, 64, len(word))  # cbMac
    for index, count in enumerate(counts[:8]):
        struct.pack_into("<i", word, 64 + 4 * (3 + index), count)
    struct.pack_into("<H", word, 152, 0x5D)  # cbRgFcLcb
    struct.pack_into("<II", word, 154 + 8 * 33, 0, len(clx))  # fcClx, lcbClx
    assert _FIB_END <= _TEXT_AT
    return build_ole({"WordDocument": bytes(word), "1Table": clx})


# -- PowerPoint records by hand ([MS-PPT] 2.3, 2.4, 2.5) --------------------------------------


def _record(kind: int, body: bytes, *, instance: int = 0, container: bool = False) -> bytes:
    head = (instance << 4) | (0xF if container else 0)
    return struct.pack("<HHI", head, kind, len(body)) + body


def _text_atoms(text: str, text_type: int, *, as_bytes: bool = False) -> bytes:
    header = _record(0x0F9F, struct.pack("<I", text_type))  # TextHeaderAtom
    value = text.replace("\n", "\r")
    if as_bytes:
        return header + _record(0x0FA8, value.encode("latin-1"))  # TextBytesAtom
    return header + _record(0x0FA0, value.encode("utf-16-le"))  # TextCharsAtom


def _drawing(texts: Sequence[str]) -> bytes:
    """A PPDrawing whose shapes are text boxes (OfficeArtClientTextbox) holding ``texts``."""
    shapes = b"".join(
        _record(
            0xF004,  # OfficeArtSpContainer
            _record(0xF00D, _text_atoms(text, 4), container=True),  # OfficeArtClientTextbox
            container=True,
        )
        for text in texts
    )
    group = _record(0xF003, shapes, container=True)  # OfficeArtSpgrContainer
    return _record(0x040C, _record(0xF002, group, container=True), container=True)


def build_ppt(
    slides: Sequence[dict[str, object]], *, encrypted: bool = False, stale: str = ""
) -> bytes:
    """A .ppt laid out as PowerPoint writes it.

    Each slide dict may hold ``title`` and ``body`` (kept in SlideListWithText,
    as PowerPoint keeps placeholder text; ``body_bytes`` True stores the body
    as 8-bit TextBytesAtom), ``boxes`` (text boxes in the slide's drawing)
    and ``notes``. ``stale`` is the text of an older version of slide 1 left
    earlier in the stream, as an incremental save leaves it: the persist
    directory no longer points at it. ``encrypted`` sets the CurrentUserAtom's
    header token PowerPoint writes for an encrypted file.
    """
    stream = bytearray()
    offsets: dict[int, int] = {}
    if stale:
        stream += _record(0x03EE, _drawing([stale]), container=True)
    slide_list = b""
    notes_list = b""
    # persist ids: 1 the document, 2k slides, 2k+1 their notes
    for number, spec in enumerate(slides, start=1):
        slide_persist, notes_persist, notes_id = 2 * number, 2 * number + 1, 0x100 + number
        slide_list += _record(0x03F3, struct.pack("<IIiII", slide_persist, 4, 2, 0x100 + number, 0))
        if "title" in spec:
            slide_list += _text_atoms(str(spec["title"]), 0)
        if "body" in spec:
            slide_list += _text_atoms(str(spec["body"]), 1, as_bytes=bool(spec.get("body_bytes")))
        boxes = [str(box) for box in spec.get("boxes", [])]  # type: ignore[attr-defined]
        # SlideAtom: geom, placeholder types, masterIdRef, notesIdRef, flags, unused
        atom = _record(0x03EF, struct.pack("<I8sIIHH", 0, bytes(8), 0x80000000, notes_id, 7, 0))
        offsets[slide_persist] = len(stream)
        stream += _record(0x03EE, atom + _drawing(boxes), container=True)
        notes_list += _record(0x03F3, struct.pack("<IIiII", notes_persist, 0, 0, notes_id, 0))
        notes_atom = _record(0x03F1, struct.pack("<IHH", 0x100 + number, 0, 0))
        offsets[notes_persist] = len(stream)
        notes = [str(spec["notes"])] if "notes" in spec else []
        stream += _record(0x03F0, notes_atom + _drawing(notes), container=True)
    document = _record(0x03E9, bytes(40))  # DocumentAtom
    document += _record(0x0FF0, slide_list, instance=0, container=True)
    document += _record(0x0FF0, notes_list, instance=2, container=True)
    offsets[1] = len(stream)
    stream += _record(0x03E8, document, container=True)
    directory = b""
    for persist in sorted(offsets):
        directory += struct.pack("<II", persist | (1 << 20), offsets[persist])
    directory_offset = len(stream)
    stream += _record(0x1772, directory)
    edit_offset = len(stream)
    edit = struct.pack("<IHBBIIIIHH", 0, 0, 0, 3, 0, directory_offset, 1, max(offsets) + 1, 1, 0)
    stream += _record(0x0FF5, edit)
    token = 0xF3D1C4DF if encrypted else 0xE391C05F
    # size, headerToken, offsetToCurrentEdit, lenUserName, docFileVersion, major, minor, unused
    user = struct.pack("<IIIHHBBH", 0x14, token, edit_offset, 6, 0x03F4, 3, 0, 0)
    current_user = _record(0x0FF6, user + b"author" + struct.pack("<I", 8))
    return build_ole({"PowerPoint Document": bytes(stream), "Current User": current_user})
