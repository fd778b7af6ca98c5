"""Office test files made by the tools people use: LibreOffice, openpyxl, python-pptx.

Every text here is fictional and written for these tests. ODT and RTF are
LibreOffice conversions of a python-docx .docx (cached like the PDFs of
:mod:`tests.factories`); an encrypted ODT is saved by a LibreOffice Basic
macro in a private profile, the one way LibreOffice 7 writes one headless.

    >>> rtf_escape("Memo: نوٹ")
    'Memo: \\\\u1606?\\\\u1608?\\\\u1657?'
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from tests import factories
from tests.factories import DocSpec

__all__ = [
    "ENGLISH_NOTE",
    "FRENCH_NOTE",
    "URDU_NOTE",
    "make_converted",
    "make_encrypted_odt",
    "make_pptx",
    "make_xlsx",
    "replace_member",
    "rewrite_zip",
    "rtf_document",
    "rtf_escape",
    "to_windows_urdu",
]

ENGLISH_NOTE: tuple[str, ...] = (
    "NOTE FOR FILE: Inspection of the Harrowgate ferry pier lanterns",
    "The harbour clerk reports that four of the nine lanterns on the eastern pier failed "
    "during the storm of last Tuesday.",
    "Replacement glass has been ordered from the workshop at Tern Point and should arrive "
    "within ten days.",
    "Until then the night ferry will dock at the western pier, where the lamps were checked "
    "this morning.",
)

URDU_NOTE: tuple[str, ...] = (
    "نوٹ برائے فائل: سبز وادی کے پرانے پل کا معائنہ",
    "محکمہ تعمیرات کے انجینئر نے بتایا ہے کہ پل کے مشرقی ستون میں ایک لمبی دراڑ پائی گئی ہے۔",
    "مرمت کا سامان اگلے ہفتے تک شہر کے گودام سے پہنچ جائے گا۔",
    "اس دوران بھاری گاڑیوں کو پل سے گزرنے کی اجازت نہیں ہوگی اور ٹریفک کو نہر والی سڑک پر موڑ "
    "دیا جائے گا۔",
)

FRENCH_NOTE = (
    "Note de service : la réunion du comité aura lieu à Genève, près du musée, où l'équipe "
    "présentera le budget révisé de l'été."
)

# Windows-1256 has no Farsi yeh (U+06CC) or Urdu full stop (U+06D4): Urdu typed on
# an Arabic code page uses the Arabic yeh and a period instead.
_WINDOWS_URDU = str.maketrans({"\u06cc": "\u064a", "\u06d4": "."})


def to_windows_urdu(text: str) -> str:
    """Urdu as it can be written in Windows-1256 (the normalizer folds it back)."""
    return text.translate(_WINDOWS_URDU)


# ---------------------------------------------------------------------------
# LibreOffice
# ---------------------------------------------------------------------------


def make_converted(specs: Sequence[tuple[Path | str, DocSpec]], fmt: str) -> list[Path]:
    """Each (path, spec) as a python-docx .docx converted to ``fmt`` (odt, rtf) by LibreOffice."""
    return factories.convert_with_soffice(specs, fmt, factories.SOFFICE_TIMEOUT)


_MACRO = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">
<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1"
 script:language="StarBasic">
Sub SaveEncrypted(source As String, target As String, secret As String)
  Dim load(0) As New com.sun.star.beans.PropertyValue
  load(0).Name = &quot;Hidden&quot;
  load(0).Value = True
  document = StarDesktop.loadComponentFromURL(ConvertToURL(source), &quot;_blank&quot;, 0, load())
  Dim store(1) As New com.sun.star.beans.PropertyValue
  store(0).Name = &quot;FilterName&quot;
  store(0).Value = &quot;writer8&quot;
  store(1).Name = &quot;Password&quot;
  store(1).Value = secret
  document.storeToURL(ConvertToURL(target), store())
  document.close(True)
End Sub
</script:module>
"""


def _soffice(profile: Path, *arguments: str, timeout: float) -> None:
    soffice = factories.soffice_path()
    if soffice is None:
        raise RuntimeError("LibreOffice (soffice) is not installed")
    command = [soffice, f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless"]
    # a Basic error opens a dialog nobody can close: only a timeout ends that run
    with subprocess.Popen(
        [*command, "--norestore", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    ) as process:
        try:
            process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise RuntimeError(f"LibreOffice took over {timeout} s running {arguments}") from None


def make_encrypted_odt(
    path: Path | str,
    paragraphs: Sequence[str],
    *,
    password: str = "fictional-pw",
    timeout: float = 120,
) -> Path:
    """A password-protected ODT (AES-256, as LibreOffice saves it), from a python-docx .docx."""
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="leakscan-encrypt-") as tmp:
        work = Path(tmp)
        source = factories.make_docx(work / "source.docx", paragraphs)
        for value in (str(source), str(path), password):
            if '"' in value:
                raise ValueError(f"cannot pass {value!r} to a Basic macro")
        profile = work / "profile"
        _soffice(profile, "--terminate_after_init", timeout=timeout)  # creates the profile
        (profile / "user" / "basic" / "Standard" / "Module1.xba").write_text(_MACRO)
        call = f'macro:///Standard.Module1.SaveEncrypted("{source}","{path}","{password}")'
        _soffice(profile, call, timeout=timeout)
    if not path.is_file():
        raise RuntimeError("LibreOffice did not save the encrypted ODT")
    return path


# ---------------------------------------------------------------------------
# RTF by hand
# ---------------------------------------------------------------------------


def rtf_escape(text: str) -> str:
    r"""RTF for ``text``: ASCII as is, every other character as ``\uN?`` (N signed 16-bit)."""
    out = []
    for char in text:
        code = ord(char)
        if char in "\\{}":
            out.append("\\" + char)
        elif code < 128:
            out.append(char)
        else:
            if code > 0xFFFF:
                raise ValueError("characters outside the BMP need surrogate pairs")
            out.append(f"\\u{code - 0x10000 if code > 0x7FFF else code}?")
    return "".join(out)


def rtf_document(paragraphs: Sequence[str], *, codepage: int = 1252, fonts: str = "") -> bytes:
    """A minimal RTF document, one ``\\par`` per paragraph (already escaped)."""
    table = fonts or r"{\f0\fnil\fcharset0 Arial;}"
    body = "".join(f"{paragraph}\\par\n" for paragraph in paragraphs)
    return (
        f"{{\\rtf1\\ansi\\ansicpg{codepage}\\deff0{{\\fonttbl{table}}}\\uc1\n\\f0 {body}}}"
    ).encode("ascii")


# ---------------------------------------------------------------------------
# XLSX and PPTX
# ---------------------------------------------------------------------------


def make_xlsx(path: Path | str, sheets: dict[str, Sequence[Sequence[object]]]) -> Path:
    """A workbook written by openpyxl: one sheet per entry, rows of cell values."""
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def make_pptx(
    path: Path | str,
    slides: Sequence[dict[str, object]],
) -> Path:
    """A presentation written by python-pptx.

    Each slide is a dict with any of: ``title``, ``body`` (the content
    placeholder), ``table`` (rows of cell strings), ``group`` (texts of text
    boxes grouped together), ``notes``.
    """
    import pptx
    from pptx.util import Inches

    presentation = pptx.Presentation()
    for spec in slides:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        if "title" in spec:
            slide.shapes.title.text = str(spec["title"])
        if "body" in spec:
            slide.placeholders[1].text = str(spec["body"])
        if "table" in spec:
            rows = spec["table"]
            assert isinstance(rows, list)
            shape = slide.shapes.add_table(
                len(rows), len(rows[0]), Inches(1), Inches(5), Inches(8), Inches(1)
            )
            for r, row in enumerate(rows):
                for c, text in enumerate(row):
                    shape.table.cell(r, c).text = text
        if "group" in spec:
            texts = spec["group"]
            assert isinstance(texts, list)
            group = slide.shapes.add_group_shape()
            for i, text in enumerate(texts):
                box = group.shapes.add_textbox(Inches(1 + 3 * i), Inches(6), Inches(3), Inches(1))
                box.text_frame.text = text
        if "notes" in spec:
            slide.notes_slide.notes_text_frame.text = str(spec["notes"])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    presentation.save(str(path))
    return path


# ---------------------------------------------------------------------------
# ZIP surgery
# ---------------------------------------------------------------------------


def rewrite_zip(data: bytes, order: Callable[[str], object] = lambda name: 0) -> bytes:
    """The same members written again, sorted by ``order`` (stable): tools differ in order."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in sorted(source.infolist(), key=lambda info: order(info.filename)):
            target.writestr(info.filename, source.read(info))
    return buffer.getvalue()


def replace_member(data: bytes, name: str, content: bytes | None) -> bytes:
    """The same ZIP with one member's content replaced (or the member removed if None)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info, source.read(info))
            elif content is not None:
                target.writestr(info, content)
    return buffer.getvalue()
