"""Real test files made on demand by real tools: python-docx, LibreOffice, pikepdf, pdfium.

Every text here is fictional and written for these tests.

PDFs are made the way users make them: a .docx written with python-docx is
converted by LibreOffice (``soffice --headless --convert-to pdf``). LibreOffice
takes a few seconds to start, so :func:`make_pdfs` converts many documents in
one run, and every PDF is cached by a hash of what it contains, in the cache
folder given to :func:`set_cache_dir` (``tests/conftest.py`` sets one per test
session): the whole suite converts each distinct document once.

    >>> spec = DocSpec(("Fictional memo text.",))
    >>> spec.key() == DocSpec(["Fictional memo text."]).key()
    True
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

__all__ = [
    "ENGLISH_MEMO",
    "FACTORY_VERSION",
    "NASKH",
    "NASTALIQ",
    "URDU_MEMO",
    "DocSpec",
    "convert_with_soffice",
    "font_installed",
    "make_blank_pdf",
    "make_doc",
    "make_docx",
    "make_encrypted_pdf",
    "make_pdf",
    "make_pdfs",
    "make_text",
    "make_truncated",
    "pdf_font_names",
    "set_cache_dir",
    "soffice_available",
    "soffice_path",
]

#: Bump when a change here changes the files made, so cached PDFs are not reused.
FACTORY_VERSION = 1

#: Wall-clock limit for one LibreOffice run (it converts many files at once).
SOFFICE_TIMEOUT = 300

NASKH = "Noto Naskh Arabic"
NASTALIQ = "Noto Nastaliq Urdu"

# ---------------------------------------------------------------------------
# Sample texts (fictional)
# ---------------------------------------------------------------------------

ENGLISH_MEMO: tuple[str, ...] = (
    "MEMORANDUM: Relocation of the Eastbrook Valley Water Board records room",
    "To the Chief Engineer, from the Records Supervisor. This note sets out how the paper "
    "records kept in the basement of the old pumping station will be moved to the new "
    "archive at Larkspur Yard before the end of next month. The basement flooded twice last "
    "winter, and the lowest shelves now hold ledgers with damp covers and faded ink.",
    "The move will take place in three stages. First, clerks will list every shelf and give "
    "each box a numbered label, so that nothing can leave the basement without appearing in "
    "the register. Second, the boxes will travel in closed vans during daylight only, with "
    "two members of staff in every van. Third, the archive staff at Larkspur Yard will check "
    "each arriving box against the register and sign for it before it is shelved.",
    "Ledgers damaged by water will be kept apart from the rest. A conservator from the "
    "county library has agreed to examine them, and each page will be photographed before "
    "any repair is attempted, so that no entry is lost if the paper crumbles.",
    "The estimated cost is forty-two thousand crowns, covering van hire, acid-free boxes, "
    "temporary clerks and the conservator's fee. The finance office confirms that this sum "
    "is available in the maintenance budget for the current year.",
    "Readers who need a file while the move is under way should ask the duty supervisor, who "
    "will fetch it from its numbered box and note the loan in the register; no box may be "
    "opened in the vans or on the loading bay.",
    "During the move the basement keys will be held only by the duty supervisor, and a short "
    "report will reach this office by five o'clock every evening. I ask for approval so that "
    "work can begin on Monday morning.",
    "Signed: Imogen Thale, Records Supervisor, Eastbrook Valley Water Board",
)

URDU_MEMO: tuple[str, ...] = (
    "یادداشت: نیل پور آبی بورڈ کے پرانے ریکارڈ کی منتقلی",
    "بخدمت چیف انجینئر، منجانب نگران شعبہ ریکارڈ۔ یہ یادداشت اس منصوبے کی تفصیل بیان کرتی ہے "
    "جس کے تحت پرانے پمپنگ اسٹیشن کے تہ خانے میں رکھی گئی تمام فائلیں اگلے مہینے کے آخر تک "
    "نئی عمارت میں منتقل کی جائیں گی۔ تہ خانے میں پچھلی سردیوں میں دو بار پانی بھر گیا تھا اور "
    "نچلی الماریوں میں رکھے گئے کئی رجسٹر نمی سے خراب ہو چکے ہیں۔",
    "منتقلی تین مرحلوں میں ہوگی۔ پہلے مرحلے میں عملہ ہر الماری کی فہرست تیار کرے گا اور ہر ڈبے "
    "پر ایک نمبر لگایا جائے گا۔ دوسرے مرحلے میں ڈبے بند گاڑیوں میں صرف دن کے وقت لے جائے "
    "جائیں گے، اور ہر گاڑی کے ساتھ دو ملازم موجود رہیں گے۔ تیسرے مرحلے میں نئی عمارت کا عملہ "
    "فہرست کا ہر اندراج ڈبوں سے ملا کر دیکھے گا اور وصولی پر دستخط کرے گا۔",
    "جو رجسٹر نمی سے متاثر ہوئے ہیں انہیں الگ رکھا جائے گا اور ان کی مرمت کے لیے ضلعی کتب خانے "
    "سے ایک ماہر کی خدمات حاصل کی جائیں گی۔ مرمت سے پہلے ہر صفحے کی تصویر لی جائے گی تاکہ کوئی "
    "اندراج ضائع نہ ہو۔",
    "اس کام کی کل لاگت کا اندازہ چار لاکھ بیس ہزار روپے ہے، جس میں گاڑیوں کا کرایہ، نئے ڈبے اور "
    "عارضی ملازمین کی اجرت شامل ہے۔ مالیاتی شعبے نے تصدیق کی ہے کہ یہ رقم موجودہ سال کے بجٹ میں "
    "دستیاب ہے۔",
    "منتقلی کے دوران تہ خانے کی چابیاں صرف نگران افسر کے پاس رہیں گی، اور روزانہ کی رپورٹ شام "
    "پانچ بجے تک اس دفتر کو بھیجی جائے گی۔ درخواست ہے کہ منصوبے کی منظوری دی جائے تاکہ کام اگلے "
    "پیر سے شروع ہو سکے۔",
    "دستخط: نسرین اختر، نگران شعبہ ریکارڈ، نیل پور آبی بورڈ",
)

# ---------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------


def soffice_path() -> str | None:
    """The LibreOffice executable, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def soffice_available() -> bool:
    """True if LibreOffice can be run to make PDFs."""
    return soffice_path() is not None


def font_installed(family: str) -> bool:
    """True if fontconfig knows a font of this family (LibreOffice would substitute otherwise)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    done = subprocess.run(
        [fc_list, f"{family}:", "family"], capture_output=True, text=True, timeout=60, check=False
    )
    return any(family in line.split(",") for line in done.stdout.splitlines())


_cache_dir: Path | None = None


def set_cache_dir(path: Path | None) -> None:
    """Where :func:`make_pdfs` keeps PDFs between calls (None: no cache)."""
    global _cache_dir
    _cache_dir = None if path is None else Path(path)
    if _cache_dir is not None:
        _cache_dir.mkdir(parents=True, exist_ok=True)


# ---------------------------------------------------------------------------
# Plain files
# ---------------------------------------------------------------------------

_BOM_FOR = {
    "utf-8": codecs.BOM_UTF8,
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-16-be": codecs.BOM_UTF16_BE,
    "utf-32-le": codecs.BOM_UTF32_LE,
    "utf-32-be": codecs.BOM_UTF32_BE,
}


def make_text(path: Path | str, text: str, encoding: str = "utf-8", bom: bool = False) -> Path:
    """Write ``text`` in ``encoding``, with its byte-order mark first if ``bom``.

    Use an explicit byte order (``utf-16-le``): plain ``utf-16`` always writes a BOM.
    """
    path = Path(path)
    name = codecs.lookup(encoding).name
    data = text.encode(encoding)
    if bom:
        if name not in _BOM_FOR:
            raise ValueError(f"no byte-order mark for {encoding}")
        data = _BOM_FOR[name] + data
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def make_truncated(path: Path | str, source: Path | str, nbytes: int) -> Path:
    """Write the first ``nbytes`` bytes of ``source`` (a download or copy cut short)."""
    data = Path(source).read_bytes()
    if not 0 <= nbytes < len(data):
        raise ValueError(f"cannot cut {len(data)} bytes to {nbytes}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[:nbytes])
    return path


# ---------------------------------------------------------------------------
# DOCX
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DocSpec:
    """What one document holds; lists are turned into tuples so specs hash."""

    paragraphs: tuple[str, ...]
    rtl: bool = False
    font: str | None = None
    header: str | None = None
    footer: str | None = None
    table: tuple[tuple[str, ...], ...] | None = None
    #: start every paragraph after the first on a new page (page count == paragraphs)
    page_breaks: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "paragraphs", tuple(self.paragraphs))
        if self.table is not None:
            object.__setattr__(self, "table", tuple(tuple(row) for row in self.table))

    def key(self) -> str:
        """Content hash naming this document's PDF in the cache."""
        blob = json.dumps([FACTORY_VERSION, asdict(self)], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


def _set_fonts(r_pr: OxmlElement, font: str | None, rtl: bool) -> None:
    if font is not None:
        r_fonts = r_pr.get_or_add_rFonts()
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            r_fonts.set(qn(attr), font)
    if rtl:
        r_pr.append(OxmlElement("w:rtl"))


def _style_paragraph(paragraph: object, spec: DocSpec) -> None:
    if spec.rtl:
        p_pr = paragraph._p.get_or_add_pPr()  # type: ignore[attr-defined]
        p_pr.insert(0, OxmlElement("w:bidi"))
    for run in paragraph.runs:  # type: ignore[attr-defined]
        _set_fonts(run._r.get_or_add_rPr(), spec.font, spec.rtl)


def _write_docx(path: Path, spec: DocSpec) -> Path:
    document = Document()
    if spec.font is not None:
        style_rpr = document.styles["Normal"].element.get_or_add_rPr()
        _set_fonts(style_rpr, spec.font, rtl=False)
    section = document.sections[0]
    if spec.header is not None:
        section.header.paragraphs[0].add_run(spec.header)
        _style_paragraph(section.header.paragraphs[0], spec)
    if spec.footer is not None:
        section.footer.paragraphs[0].add_run(spec.footer)
        _style_paragraph(section.footer.paragraphs[0], spec)
    for i, text in enumerate(spec.paragraphs):
        paragraph = document.add_paragraph()
        paragraph.add_run(text)
        if spec.page_breaks and i:
            paragraph.paragraph_format.page_break_before = True
        _style_paragraph(paragraph, spec)
    if spec.table:
        columns = max(len(row) for row in spec.table)
        table = document.add_table(rows=len(spec.table), cols=columns)
        for r, row in enumerate(spec.table):
            for c, text in enumerate(row):
                cell_paragraph = table.cell(r, c).paragraphs[0]
                cell_paragraph.add_run(text)
                _style_paragraph(cell_paragraph, spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def make_docx(
    path: Path | str,
    paragraphs: Iterable[str],
    *,
    rtl: bool = False,
    font: str | None = None,
    header: str | None = None,
    footer: str | None = None,
    table: Sequence[Sequence[str]] | None = None,
    page_breaks: bool = False,
) -> Path:
    """Write a .docx with python-docx: one Word paragraph per string, then the table.

    ``rtl`` marks paragraphs right-to-left (``w:bidi``) and runs RTL (``w:rtl``);
    ``font`` sets the Latin and complex-script (``w:cs``) fonts.
    """
    spec = DocSpec(
        tuple(paragraphs),
        rtl=rtl,
        font=font,
        header=header,
        footer=footer,
        table=None if table is None else tuple(tuple(row) for row in table),
        page_breaks=page_breaks,
    )
    return _write_docx(Path(path), spec)


# ---------------------------------------------------------------------------
# PDF by LibreOffice
# ---------------------------------------------------------------------------


def _run_soffice(
    sources: list[Path], fmt: str, outdir: Path, profile: Path, timeout: float
) -> None:
    soffice = soffice_path()
    if soffice is None:
        raise RuntimeError("LibreOffice (soffice) is not installed")
    command = [
        soffice,
        f"-env:UserInstallation={profile.resolve().as_uri()}",
        "--headless",
        "--norestore",
        "--convert-to",
        fmt,
        "--outdir",
        str(outdir),
        *map(str, sources),
    ]
    # soffice is a launcher that starts soffice.bin: a session of its own lets a
    # timeout end the whole group, not just the launcher.
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise RuntimeError(f"LibreOffice took over {timeout} s converting {sources}") from None
    missing = [s.name for s in sources if not (outdir / f"{s.stem}.{fmt}").is_file()]
    if process.returncode != 0 or missing:
        raise RuntimeError(
            f"LibreOffice exit code {process.returncode}, no .{fmt} for {missing}:\n"
            f"{stdout.decode(errors='replace')}{stderr.decode(errors='replace')}"
        )


def convert_with_soffice(
    specs: Sequence[tuple[Path | str, DocSpec]], fmt: str, timeout: float
) -> list[Path]:
    """Write each (path, spec) as a .docx converted to ``fmt`` by one LibreOffice run.

    Files already in the cache are copied from it; only new documents are converted.
    """
    targets = [(Path(path), spec) for path, spec in specs]
    with tempfile.TemporaryDirectory(prefix="leakscan-soffice-") as tmp:
        work = Path(tmp)
        store = _cache_dir if _cache_dir is not None else work / "store"
        store.mkdir(parents=True, exist_ok=True)
        todo: dict[str, DocSpec] = {}
        for _, spec in targets:
            if not (store / f"{spec.key()}.{fmt}").is_file():
                todo[spec.key()] = spec
        if todo:
            sources = [_write_docx(work / "docx" / f"{key}.docx", s) for key, s in todo.items()]
            profile = (_cache_dir or work) / "lo-profile"
            _run_soffice(sources, fmt, work / "out", profile, timeout)
            for key in todo:
                # rename is atomic: a reader never sees half a file
                staged = store / f".{key}.{fmt}.tmp"
                shutil.copyfile(work / "out" / f"{key}.{fmt}", staged)
                os.replace(staged, store / f"{key}.{fmt}")
        for path, spec in targets:
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(store / f"{spec.key()}.{fmt}", path)
    return [path for path, _ in targets]


def make_pdfs(
    specs: Sequence[tuple[Path | str, DocSpec]], *, timeout: float = SOFFICE_TIMEOUT
) -> list[Path]:
    """Write each (path, spec) as a PDF made by LibreOffice from a .docx, in one soffice run.

    PDFs already in the cache are copied from it; only new documents are converted.
    """
    return convert_with_soffice(specs, "pdf", timeout)


def make_pdf(
    path: Path | str,
    paragraphs: Iterable[str],
    *,
    rtl: bool = False,
    font: str | None = None,
    header: str | None = None,
    footer: str | None = None,
    table: Sequence[Sequence[str]] | None = None,
    page_breaks: bool = False,
    timeout: float = SOFFICE_TIMEOUT,
) -> Path:
    """Write a PDF that LibreOffice made from a .docx (see :func:`make_docx`)."""
    spec = DocSpec(
        tuple(paragraphs),
        rtl=rtl,
        font=font,
        header=header,
        footer=footer,
        table=None if table is None else tuple(tuple(row) for row in table),
        page_breaks=page_breaks,
    )
    return make_pdfs([(path, spec)], timeout=timeout)[0]


def make_doc(
    path: Path | str, paragraphs: Iterable[str], *, timeout: float = SOFFICE_TIMEOUT
) -> Path:
    """A legacy Word 97-2003 .doc (an OLE container, not encrypted), made by LibreOffice."""
    return convert_with_soffice([(path, DocSpec(tuple(paragraphs)))], "doc", timeout)[0]


def make_encrypted_pdf(
    path: Path | str,
    paragraphs: Iterable[str],
    *,
    user_password: str = "fictional-user-pw",
    owner_password: str = "fictional-owner-pw",
) -> Path:
    """A LibreOffice PDF encrypted by pikepdf (qpdf), AES-256.

    With a non-empty ``user_password`` it cannot be opened without it; with an
    empty one it opens freely and only the permissions are restricted
    (copying text is forbidden here).
    """
    import pikepdf

    path = Path(path)
    plain = make_pdf(path.with_name(f"{path.stem}.plain.pdf"), paragraphs)
    with pikepdf.open(plain) as pdf:
        pdf.save(
            path,
            encryption=pikepdf.Encryption(
                owner=owner_password,
                user=user_password,
                R=6,
                allow=pikepdf.Permissions(extract=False),
            ),
        )
    plain.unlink()
    return path


def make_blank_pdf(path: Path | str) -> Path:
    """A valid one-page A4 PDF with no text on it (made by pdfium), like a scan without OCR."""
    import pypdfium2 as pdfium

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = pdfium.PdfDocument.new()
    try:
        page = document.new_page(595, 842)
        page.close()
        document.save(str(path))
    finally:
        document.close()
    return path


def pdf_font_names(path: Path | str | BinaryIO) -> set[str]:
    """Base names of the fonts a PDF's pages use, subset prefixes removed (NotoNaskhArabic-…)."""
    import pikepdf

    names: set[str] = set()
    with pikepdf.open(path) as pdf:
        for page in pdf.pages:
            fonts = page.resources.get("/Font", {})
            for font in fonts.values():
                base = str(font.get("/BaseFont", ""))
                names.add(base.lstrip("/").split("+", 1)[-1])
    return names
