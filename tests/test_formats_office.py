"""ODT, RTF, HTML, XLSX, PPTX and legacy-encoded text, English and Urdu, read by content.

Files are real: ODT and RTF converted by LibreOffice from a python-docx .docx,
XLSX by openpyxl, PPTX by python-pptx, HTML and a second RTF written by hand.
Every item goes through the public path, ``extract(data, name)``, so libmagic
picks the reader. All texts are fictional.
"""

from __future__ import annotations

import io
import random
import re
import zipfile
from pathlib import Path

import magic
import numpy as np
import pytest

from leakscan import fingerprint_text
from leakscan.errors import EncryptedDocumentError, ExtractionError, UnsupportedFormatError
from leakscan.extract import DOCX, HTML, ODT, PPTX, RTF, XHTML, XLSX, detect_mime, extract
from leakscan.extract.text import decode_text
from leakscan.normalize import tokenize
from tests.factories import NASKH, URDU_MEMO, DocSpec, make_docx
from tests.office_factories import (
    ENGLISH_NOTE,
    FRENCH_NOTE,
    URDU_NOTE,
    make_converted,
    make_encrypted_odt,
    make_pptx,
    make_xlsx,
    replace_member,
    rewrite_zip,
    rtf_document,
    rtf_escape,
    to_windows_urdu,
)

KEY = b"o" * 32
ENGLISH_TABLE = (("Lantern 4", "cracked glass"), ("Lantern 7", "no flame"))
URDU_TABLE = (("ستون", "دراڑ"), ("گودام", "سامان"))
SPECS = {
    "english": DocSpec(
        ENGLISH_NOTE,
        header="HARROWGATE HARBOUR BOARD — INTERNAL",
        footer="Footer: pier lanterns",
        table=ENGLISH_TABLE,
    ),
    "urdu": DocSpec(
        URDU_NOTE, rtl=True, font=NASKH, header="خفیہ: اندرونی", footer="صفحہ: پل", table=URDU_TABLE
    ),
}


def expected(spec: DocSpec) -> str:
    """The text of a converted document: header, paragraphs, table cells, footer."""
    assert spec.table is not None and spec.header is not None and spec.footer is not None
    cells = [cell for row in spec.table for cell in row]
    return "\n".join([spec.header, *spec.paragraphs, *cells, spec.footer])


def in_order(text: str, sentences: tuple[str, ...] | list[str]) -> bool:
    """Every sentence occurs in ``text``, each after the one before."""
    position = 0
    for sentence in sentences:
        found = text.find(sentence, position)
        if found < 0:
            return False
        position = found + len(sentence)
    return True


def same_fingerprint(got: str, original: str) -> bool:
    """The normalizer sees the same tokens, so matching sees the same fingerprints."""
    if tokenize(got).tokens != tokenize(original).tokens:
        return False
    a, b = fingerprint_text(got, KEY), fingerprint_text(original, KEY)
    return a.simhash == b.simhash and np.array_equal(a.hashes, b.hashes)


def one_line_error(caught: pytest.ExceptionInfo[ExtractionError]) -> str:
    message = str(caught.value)
    assert message and "\n" not in message, message
    return message


@pytest.fixture(scope="session")
def converted(
    needs_soffice: None, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], bytes]:
    """(language, "odt" | "rtf" | "docx") → file bytes; one LibreOffice run per format."""
    folder = tmp_path_factory.mktemp("office")
    files: dict[tuple[str, str], bytes] = {}
    for fmt in ("odt", "rtf"):
        paths = make_converted([(folder / f"{n}.{fmt}", s) for n, s in SPECS.items()], fmt)
        for name, path in zip(SPECS, paths, strict=True):
            files[name, fmt] = path.read_bytes()
    for name, spec in SPECS.items():
        docx_path = make_docx(
            folder / f"{name}.docx",
            spec.paragraphs,
            rtl=spec.rtl,
            font=spec.font,
            header=spec.header,
            footer=spec.footer,
            table=spec.table,
        )
        files[name, "docx"] = docx_path.read_bytes()
    return files


# ---------------------------------------------------------------------------
# ODT
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["english", "urdu"])
def test_odt_header_body_table_footer_in_order(
    converted: dict[tuple[str, str], bytes], language: str
) -> None:
    data = converted[language, "odt"]
    assert magic.from_buffer(data, mime=True) == ODT
    got = extract(data, "note.odt")
    assert got.mime == ODT
    assert got.text == expected(SPECS[language])


@pytest.mark.parametrize("language", ["english", "urdu"])
def test_odt_reads_like_the_docx_it_was_made_from(
    converted: dict[tuple[str, str], bytes], language: str
) -> None:
    odt = extract(converted[language, "odt"], "note.odt")
    docx = extract(converted[language, "docx"], "note.docx")
    assert odt.text == docx.text


def test_odt_urdu_fingerprint_is_the_original(converted: dict[tuple[str, str], bytes]) -> None:
    got = extract(converted["urdu", "odt"], "note.odt")
    assert same_fingerprint(got.text, expected(SPECS["urdu"]))


def test_odt_renamed_jpg_is_read_by_content(converted: dict[tuple[str, str], bytes]) -> None:
    got = extract(converted["english", "odt"], "holiday.jpg")
    assert got.mime == ODT
    assert in_order(got.text, ENGLISH_NOTE)


def test_odt_with_mimetype_last_is_still_an_odt(converted: dict[tuple[str, str], bytes]) -> None:
    # libmagic finds ODF by a first member named "mimetype"; other tools write it elsewhere
    data = rewrite_zip(converted["urdu", "odt"], order=lambda name: name == "mimetype")
    assert magic.from_buffer(data, mime=True) == "application/zip"
    assert detect_mime(data) == ODT
    assert extract(data, "cache0001.bin").text == expected(SPECS["urdu"])


def test_encrypted_odt_is_an_encrypted_document_error(needs_soffice: None, tmp_path: Path) -> None:
    try:
        path = make_encrypted_odt(tmp_path / "locked.odt", ENGLISH_NOTE)
    except RuntimeError as exc:
        pytest.skip(f"LibreOffice could not save an encrypted ODT here: {exc}")
    data = path.read_bytes()
    assert detect_mime(data) == ODT
    with pytest.raises(EncryptedDocumentError, match="password") as caught:
        extract(data, "locked.odt")
    one_line_error(caught)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99], ids=lambda k: f"keep-{k:.0%}")
def test_odt_truncated_is_a_one_line_error(
    converted: dict[tuple[str, str], bytes], keep: float
) -> None:
    data = converted["english", "odt"]
    with pytest.raises(ExtractionError) as caught:
        extract(data[: int(len(data) * keep)], "note.odt")
    assert not isinstance(caught.value, EncryptedDocumentError)
    assert "ODT" in one_line_error(caught)


def test_odt_damaged_content_xml_is_a_one_line_error(
    converted: dict[tuple[str, str], bytes],
) -> None:
    data = converted["english", "odt"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        content = archive.read("content.xml")
    damaged = replace_member(data, "content.xml", content[: len(content) // 2])
    with pytest.raises(ExtractionError) as caught:
        extract(damaged, "note.odt")
    message = one_line_error(caught)
    assert "damaged ODT" in message and "content.xml" in message


def test_odt_damaged_styles_xml_loses_only_headers_and_footers(
    converted: dict[tuple[str, str], bytes],
) -> None:
    damaged = replace_member(converted["urdu", "odt"], "styles.xml", b"<office:document-styles")
    spec = SPECS["urdu"]
    assert spec.table is not None
    cells = [cell for row in spec.table for cell in row]
    assert extract(damaged, "note.odt").text == "\n".join([*spec.paragraphs, *cells])


def test_odt_without_content_xml_is_an_error(converted: dict[tuple[str, str], bytes]) -> None:
    damaged = replace_member(converted["english", "odt"], "content.xml", None)
    with pytest.raises(ExtractionError, match=r"no content\.xml") as caught:
        extract(damaged, "note.odt")
    one_line_error(caught)


_ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"'
)


def odt_package(body: str, prolog: str = "") -> bytes:
    """A minimal ODT around a hand-written office:text body (as other tools write it)."""
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}'
        f"<office:document-content {_ODF_NS}><office:body><office:text>{body}"
        "</office:text></office:body></office:document-content>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", ODT)
        archive.writestr("content.xml", content.encode("utf-8"), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def test_odt_lists_spaces_frames_and_notes_read_as_shown() -> None:
    body = (
        "<text:tracked-changes><text:changed-region><text:deletion>"
        "<text:p>Deleted draft sentence.</text:p></text:deletion></text:changed-region>"
        "</text:tracked-changes>"
        '<text:h text:outline-level="1">Pier report</text:h>'
        "<text:list><text:list-item><text:p>First item</text:p></text:list-item>"
        "<text:list-item><text:p>Second<text:s/>item</text:p></text:list-item></text:list>"
        '<text:p>Wide<text:s text:c="3"/>gap<text:tab/>tabbed<text:line-break/>next line'
        '<text:note text:note-class="footnote"><text:note-citation>1</text:note-citation>'
        "<text:note-body><text:p>Footnote text.</text:p></text:note-body></text:note>"
        " continues.</text:p>"
        "<text:p>Before frame<draw:frame><draw:text-box><text:p>Boxed text</text:p>"
        "</draw:text-box></draw:frame> after frame"
        "<office:annotation><dc:creator>Reviewer</dc:creator><text:p>A comment</text:p>"
        "</office:annotation>.</text:p>"
    )
    got = extract(odt_package(body), "report.odt")
    assert got.text == "\n".join(
        [
            "Pier report",
            "First item",
            "Second item",
            "Wide   gap\ttabbed\nnext line continues.",
            "Footnote text.",
            "Before frame after frame.",
            "Boxed text",
        ]
    )


def test_odt_entities_are_not_resolved(tmp_path: Path) -> None:
    # an external entity would make the reader open a file of the examiner's machine
    secret = tmp_path / "examiner-secret.txt"
    secret.write_text("EXAMINER-ONLY-CONTENT")
    prolog = f'<!DOCTYPE office:document-content [<!ENTITY leak SYSTEM "{secret.as_uri()}">]>'
    data = odt_package("<text:p>Visible &leak; text</text:p>", prolog)
    got = extract(data, "attack.odt")
    assert "EXAMINER-ONLY-CONTENT" not in got.text
    assert got.text.startswith("Visible")


# ---------------------------------------------------------------------------
# Office types from inside the ZIP
# ---------------------------------------------------------------------------


def test_docx_main_part_last_is_still_a_docx(tmp_path: Path) -> None:
    data = make_docx(tmp_path / "note.docx", ENGLISH_NOTE).read_bytes()
    # [Content_Types].xml and word/ after everything else: libmagic gives up
    moved = rewrite_zip(
        data, order=lambda name: (name.startswith("word/"), name == "[Content_Types].xml")
    )
    assert magic.from_buffer(moved, mime=True) == "application/octet-stream"
    assert detect_mime(moved) == DOCX
    assert extract(moved, "cache0002.bin").text == "\n".join(ENGLISH_NOTE)


def test_plain_zip_stays_a_zip() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes/pier.txt", "\n".join(ENGLISH_NOTE))
        archive.writestr("mimetype", "text/plain")  # not an ODF type
    data = buffer.getvalue()
    assert detect_mime(data) == "application/zip"
    with pytest.raises(UnsupportedFormatError, match="application/zip"):
        extract(data, "bundle.zip")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"PK\x03\x04" + random.Random(3).randbytes(4000), id="garbage"),
        pytest.param(b"PK\x03\x04\x14\x00\x00\x00\x08\x00", id="header-only"),
    ],
)
def test_damaged_zip_type_is_libmagics(data: bytes) -> None:
    assert detect_mime(data) == magic.from_buffer(data, mime=True)


def test_office_zip_with_a_huge_type_member_is_not_read() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("notes.txt", "fictional")
        archive.writestr("mimetype", ODT + " " * (2 << 20))  # over the 1 MiB bound
    assert detect_mime(buffer.getvalue()) == "application/zip"


# ---------------------------------------------------------------------------
# RTF
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["english", "urdu"])
def test_rtf_by_libreoffice_in_order(
    converted: dict[tuple[str, str], bytes], language: str
) -> None:
    data = converted[language, "rtf"]
    assert detect_mime(data) == RTF
    spec = SPECS[language]
    got = extract(data, "note.rtf")
    assert got.mime == RTF
    assert spec.header is not None and spec.footer is not None and spec.table is not None
    assert in_order(got.text, [spec.header, spec.footer, *spec.paragraphs, *spec.table[0]])


def test_rtf_urdu_by_libreoffice_fingerprint_is_the_original(
    converted: dict[tuple[str, str], bytes],
) -> None:
    # LibreOffice writes Urdu as \uN escapes (with a "?" fallback byte that must be skipped)
    data = converted["urdu", "rtf"]
    assert re.search(rb"\\u1740\\'3f", data)  # U+06CC, the Urdu yeh
    got = extract(data, "note.rtf").text
    spec = SPECS["urdu"]
    assert spec.header is not None and spec.footer is not None and spec.table is not None
    original = "\n".join(
        [spec.header, spec.footer, *spec.paragraphs, *(c for row in spec.table for c in row)]
    )
    assert same_fingerprint(got, original)


def test_rtf_by_hand_with_unicode_escapes() -> None:
    paragraphs = [*ENGLISH_NOTE[:2], *URDU_NOTE]
    data = rtf_document([rtf_escape(p) for p in paragraphs])
    got = extract(data, "hand.rtf")
    assert got.mime == RTF
    assert got.text.splitlines() == paragraphs
    assert same_fingerprint(got.text, "\n".join(paragraphs))


def _cp1256_hex(text: str) -> str:
    return "".join(f"\\'{b:02x}" if b > 127 else chr(b) for b in text.encode("cp1256"))


@pytest.mark.parametrize(
    "fonts",
    [
        pytest.param(r"{\f0\fnil\fcharset178 Arial;}", id="arabic-charset"),
        # DEFAULT_CHARSET means the document's code page; striprtf alone reads cp1252 here
        pytest.param(r"{\f0\fnil\fcharset1 Arial;}", id="default-charset"),
    ],
)
def test_rtf_hex_bytes_in_ansicpg1256_are_urdu(fonts: str) -> None:
    urdu = [to_windows_urdu(p) for p in URDU_NOTE]
    data = rtf_document([_cp1256_hex(p) for p in urdu], codepage=1256, fonts=fonts)
    got = extract(data, "windows.rtf").text
    assert got.splitlines() == urdu
    assert same_fingerprint(got, "\n".join(URDU_NOTE))


def test_rtf_truncated_gives_the_text_before_the_cut() -> None:
    data = rtf_document([rtf_escape(p) for p in URDU_NOTE])
    cut = data[: data.index(rtf_escape(URDU_NOTE[2]).encode("ascii"))]
    got = extract(cut, "cut.rtf")
    assert got.text.splitlines() == list(URDU_NOTE[:2])


def test_rtf_truncated_before_any_text_is_an_error(
    converted: dict[tuple[str, str], bytes],
) -> None:
    data = converted["english", "rtf"]
    with pytest.raises(ExtractionError, match="holds no text") as caught:
        extract(data[:300], "cut.rtf")
    one_line_error(caught)


def test_not_rtf_named_rtf_is_an_error() -> None:
    data = random.Random(4).randbytes(1000)
    with pytest.raises(ExtractionError, match="not an RTF") as caught:
        extract(data, "memo.rtf")
    one_line_error(caught)


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

_PAGE = """<!DOCTYPE html>
<html><head>{meta}<title>{title}</title>
<script>var hidden = "script text is not shown";</script>
<style>p {{ color: navy }}</style>
<meta name="description" content="metadata is not shown"></head>
<body><h1>{heading}</h1>
{paragraphs}
<table><tr><td>{cell1}</td><td> {cell2} </td></tr></table>
<!-- comments are not shown -->
</body></html>
"""


def html_page(title: str, paragraphs: tuple[str, ...], table: tuple[str, str], meta: str) -> str:
    body = "\n".join(
        f"<p>{p.replace(' ', chr(10), 1)}</p>" for p in paragraphs[1:]
    )  # a line break in the source is only a space on screen
    return _PAGE.format(
        meta=meta,
        title=title,
        heading=paragraphs[0],
        paragraphs=body,
        cell1=table[0],
        cell2=table[1],
    )


@pytest.mark.parametrize(
    ("paragraphs", "table", "encoding", "meta"),
    [
        pytest.param(ENGLISH_NOTE, ENGLISH_TABLE[0], "utf-8", '<meta charset="utf-8">', id="en"),
        pytest.param(URDU_NOTE, URDU_TABLE[0], "utf-8", '<meta charset="utf-8">', id="ur"),
        pytest.param(
            tuple(to_windows_urdu(p) for p in URDU_NOTE),
            URDU_TABLE[0],
            "cp1256",
            '<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">',
            id="ur-windows-1256",
        ),
        pytest.param(
            tuple(to_windows_urdu(p) for p in URDU_NOTE),
            URDU_TABLE[0],
            "cp1256",
            "",
            id="ur-cp1256-undeclared",
        ),
        pytest.param(URDU_NOTE, URDU_TABLE[0], "utf-16", "", id="ur-utf16-bom"),
    ],
)
def test_html_visible_text_in_order(
    paragraphs: tuple[str, ...], table: tuple[str, str], encoding: str, meta: str
) -> None:
    data = html_page("Pier note", paragraphs, table, meta).encode(encoding)
    assert detect_mime(data) == HTML
    got = extract(data, "page.htm")
    assert got.mime == HTML
    assert got.text == "\n".join(["Pier note", *paragraphs, "\t".join(table)])
    assert same_fingerprint(got.text, "\n".join(["Pier note", *paragraphs, *table]))


def test_html_malformed_still_gives_its_text() -> None:
    data = (
        "<html><body><div><p>"
        + ENGLISH_NOTE[0]
        + "<p>"
        + ENGLISH_NOTE[1]
        + "</span></td><li>"
        + URDU_NOTE[0]
        + "<br><b><i>"
        + URDU_NOTE[1]
        + "</b></i></div></div>"
        + "<table><tr><td>"
        + ENGLISH_NOTE[2]
    ).encode("utf-8")
    got = extract(data, "broken.html")
    assert got.text.splitlines() == [*ENGLISH_NOTE[:2], *URDU_NOTE[:2], ENGLISH_NOTE[2]]


def test_xhtml_with_xml_declaration(tmp_path: Path) -> None:
    data = (
        '<?xml version="1.0" encoding="windows-1256"?>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>نوٹ</title></head>'
        "<body><p>" + to_windows_urdu(URDU_NOTE[1]) + "</p></body></html>"
    ).encode("cp1256")
    got = extract(data, "page.xhtml")  # libmagic sees XML: the suffix picks the reader
    assert got.text == "نوٹ\n" + to_windows_urdu(URDU_NOTE[1])
    assert got.mime in (XHTML, "text/xml")


def test_html_without_text_is_an_error() -> None:
    with pytest.raises(ExtractionError, match="no text"):
        extract(b"<html><head><script>var a = 1;</script></head><body> </body></html>", "x.html")


# ---------------------------------------------------------------------------
# XLSX
# ---------------------------------------------------------------------------

SHEETS: dict[str, list[list[object]]] = {
    "Lanterns": [
        ["Lantern", "State", "Cost"],
        ["Lantern 4", "cracked glass", 120],
        ["Lantern 7", None, 85.5],
    ],
    "خالی": [],
    "پل": [[URDU_NOTE[1]], [None], ["ستون", "دراڑ", 3]],
}


def test_xlsx_sheets_are_pages_rows_are_lines(tmp_path: Path) -> None:
    data = make_xlsx(tmp_path / "ledger.xlsx", SHEETS).read_bytes()
    assert detect_mime(data) == XLSX
    got = extract(data, "ledger.xlsx")
    first = "Lantern\tState\tCost\nLantern 4\tcracked glass\t120\nLantern 7\t\t85.5"
    third = f"{URDU_NOTE[1]}\nستون\tدراڑ\t3"
    assert got.mime == XLSX
    assert got.text == "\n".join([first, "", third])
    assert got.pages == (0, len(first) + 1, len(first) + 2)
    assert got.page_at(got.text.index("ستون")) == 3
    assert same_fingerprint(got.text.split("\n", 4)[-1], third)


def test_xlsx_renamed_dat_is_read_by_content(tmp_path: Path) -> None:
    data = make_xlsx(tmp_path / "ledger.xlsx", SHEETS).read_bytes()
    got = extract(data, "cache0042.dat")
    assert got.mime == XLSX
    assert URDU_NOTE[1] in got.text


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99], ids=lambda k: f"keep-{k:.0%}")
def test_xlsx_truncated_is_a_one_line_error(tmp_path: Path, keep: float) -> None:
    data = make_xlsx(tmp_path / "ledger.xlsx", SHEETS).read_bytes()
    with pytest.raises(ExtractionError) as caught:
        extract(data[: int(len(data) * keep)], "ledger.xlsx")
    assert "XLSX" in one_line_error(caught)


def test_xlsx_damaged_sheet_xml_is_a_one_line_error(tmp_path: Path) -> None:
    data = make_xlsx(tmp_path / "ledger.xlsx", SHEETS).read_bytes()
    damaged = replace_member(data, "xl/worksheets/sheet1.xml", b"<worksheet><sheetData><row>")
    with pytest.raises(ExtractionError) as caught:
        extract(damaged, "ledger.xlsx")
    assert "damaged XLSX" in one_line_error(caught)


def test_xlsx_without_text_is_an_error(tmp_path: Path) -> None:
    data = make_xlsx(tmp_path / "empty.xlsx", {"Sheet": []}).read_bytes()
    with pytest.raises(ExtractionError, match="no text"):
        extract(data, "empty.xlsx")


# ---------------------------------------------------------------------------
# PPTX
# ---------------------------------------------------------------------------

SLIDES: list[dict[str, object]] = [
    {
        "title": ENGLISH_NOTE[0],
        "body": ENGLISH_NOTE[1],
        "table": [["Lantern 4", "cracked glass"], ["Lantern 7", "no flame"]],
        "notes": ENGLISH_NOTE[3],
    },
    {"title": URDU_NOTE[0], "group": [URDU_NOTE[1], URDU_NOTE[2]], "notes": URDU_NOTE[3]},
]


def test_pptx_slides_are_pages_shapes_then_notes(tmp_path: Path) -> None:
    data = make_pptx(tmp_path / "deck.pptx", SLIDES).read_bytes()
    assert detect_mime(data) == PPTX
    got = extract(data, "deck.pptx")
    table = ["Lantern 4\tcracked glass", "Lantern 7\tno flame"]
    first = "\n".join([ENGLISH_NOTE[0], ENGLISH_NOTE[1], *table, ENGLISH_NOTE[3]])
    second = "\n".join(URDU_NOTE)
    assert got.mime == PPTX
    assert got.text == f"{first}\n{second}"
    assert got.pages == (0, len(first) + 1)
    assert got.page_at(got.text.index(URDU_NOTE[2])) == 2
    assert same_fingerprint(got.text[got.pages[1] :], second)


def test_pptx_renamed_is_read_by_content(tmp_path: Path) -> None:
    data = make_pptx(tmp_path / "deck.pptx", SLIDES).read_bytes()
    got = extract(data, "IMG_0042.jpg")
    assert got.mime == PPTX
    assert in_order(got.text, URDU_NOTE)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99], ids=lambda k: f"keep-{k:.0%}")
def test_pptx_truncated_is_a_one_line_error(tmp_path: Path, keep: float) -> None:
    data = make_pptx(tmp_path / "deck.pptx", SLIDES).read_bytes()
    with pytest.raises(ExtractionError) as caught:
        extract(data[: int(len(data) * keep)], "deck.pptx")
    assert "PPTX" in one_line_error(caught)


def test_pptx_without_text_is_an_error(tmp_path: Path) -> None:
    data = make_pptx(tmp_path / "blank.pptx", [{}]).read_bytes()
    with pytest.raises(ExtractionError, match="no text"):
        extract(data, "blank.pptx")


# ---------------------------------------------------------------------------
# Plain text in legacy code pages
# ---------------------------------------------------------------------------

URDU_LONG = "\n".join(URDU_MEMO)


@pytest.mark.parametrize(
    "original",
    [
        pytest.param(URDU_NOTE[0], id="one-line"),
        pytest.param("\n".join(URDU_NOTE), id="note"),
        pytest.param(URDU_LONG, id="long"),
    ],
)
def test_text_urdu_in_cp1256_is_urdu(original: str) -> None:
    data = to_windows_urdu(original).encode("cp1256")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    got = extract(data, "note.txt")
    assert got.mime == "text/plain"
    assert got.text == to_windows_urdu(original)  # not cp1252 mojibake
    assert same_fingerprint(got.text, original)


@pytest.mark.parametrize(
    "original",
    [
        pytest.param("\n".join(ENGLISH_NOTE) + "\nThe clerk’s “final” list — naïve café.", id="en"),
        pytest.param(FRENCH_NOTE, id="fr"),
    ],
)
def test_text_cp1252_english_and_french(original: str) -> None:
    got = extract(original.encode("cp1252"), "note.txt")
    assert got.text == original
    assert decode_text(original.encode("cp1252")) == original


def test_text_too_short_to_tell_the_code_page_is_an_error() -> None:
    # one short phrase decodes to plausible letters in several code pages: no guess
    with pytest.raises(ExtractionError, match=r"0xe8 at offset 3.*no language") as caught:
        extract("Genève, été".encode("cp1252"), "note.txt")
    one_line_error(caught)


def test_text_utf8_bom_is_not_second_guessed() -> None:
    data = b"\xef\xbb\xbf" + FRENCH_NOTE.encode("cp1252")
    with pytest.raises(ExtractionError, match="not valid UTF-8"):
        extract(data, "note.txt")
