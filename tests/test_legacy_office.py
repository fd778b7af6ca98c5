"""Legacy Office files (.doc, .xls, .ppt), English and Urdu, read by content, on both sides.

The files are real: LibreOffice's "MS Word 97", "MS Excel 97" and "MS
PowerPoint 97" export filters save a python-docx .docx, an openpyxl .xlsx
and a python-pptx .pptx (and a .doc and an .xls with a password), all in one
LibreOffice run per session. What LibreOffice cannot write (a .ppt laid out
as PowerPoint lays it out, an encrypted .ppt, compressed Word text, hostile
piece tables) is built record by record in :mod:`tests.legacy_factories`.
All texts are fictional.
"""

from __future__ import annotations

import io
import json
import random
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from leakscan import Finding, Index, Scanner, build
from leakscan.cli import EXIT_FINDINGS, cli
from leakscan.errors import EncryptedDocumentError, ExtractionError
from leakscan.exports.expand import Expander, Opened
from leakscan.extract import DOC, OLE_MAGIC, PPT, XLS, Extracted, detect_mime, extract
from leakscan.extract.ole import MSG, ole_kind, root_names
from leakscan.walk import Item
from tests.factories import ENGLISH_MEMO, NASTALIQ, URDU_MEMO, make_docx
from tests.legacy_factories import (
    URDU_NUMBERS,
    build_doc,
    build_ole,
    build_ppt,
    legacy_soffice_available,
    make_docx_with_fields,
    save_as_legacy,
)
from tests.office_factories import ENGLISH_NOTE, URDU_NOTE, make_pptx, make_xlsx
from tests.test_mail import build_msg

KEY = b"l" * 32
EN_TABLE = (("Lantern 4", "cracked glass"), ("Lantern 7", "no flame"))
UR_TABLE = (("ستون", "دراڑ"), ("گودام", "سامان"))
LINK = ("harbour map", "https://example.org/harrowgate/map")


@dataclass(frozen=True)
class Legacy:
    """The session's legacy files, by name (en.doc, ur.xls, encrypted.doc, memo.doc …)."""

    folder: Path

    def data(self, name: str) -> bytes:
        return (self.folder / name).read_bytes()


@pytest.fixture(scope="session")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Legacy:
    if not legacy_soffice_available():
        pytest.skip("LibreOffice with Writer, Calc and Impress is not installed")
    root = tmp_path_factory.mktemp("legacy")
    src = root / "src"
    make_docx_with_fields(
        src / "en.docx", ENGLISH_NOTE, link=LINK, footer="Harrowgate harbour board"
    )
    make_docx(
        src / "ur.docx",
        [*URDU_NOTE, URDU_NUMBERS],
        rtl=True,
        font=NASTALIQ,
        header="خفیہ: اندرونی",
        table=UR_TABLE,
    )
    make_docx(src / "memo.docx", ENGLISH_MEMO, table=EN_TABLE)
    make_docx(src / "urdu-memo.docx", URDU_MEMO, rtl=True, font=NASTALIQ)
    make_xlsx(
        src / "en.xlsx",
        {
            "Lanterns": [["Lantern", "State", "Cost"], [*EN_TABLE[0], 12.5], [*EN_TABLE[1], 3]],
            "Notes": [[ENGLISH_NOTE[1]], [], [None, ENGLISH_NOTE[2]]],
        },
    )
    make_xlsx(
        src / "ur.xlsx",
        {
            "پل": [["ستون", "دراڑ", "لاگت"], ["گودام", "سامان", 420]],
            "نوٹ": [[URDU_NOTE[1]], [URDU_NUMBERS]],
        },
    )
    make_pptx(
        src / "en.pptx",
        [
            {"title": "Pier lanterns", "body": ENGLISH_NOTE[1], "notes": ENGLISH_NOTE[2]},
            {"title": "Plan", "body": ENGLISH_NOTE[3], "table": [list(row) for row in EN_TABLE]},
        ],
    )
    make_pptx(
        src / "ur.pptx",
        [
            {"title": "پل کا معائنہ", "body": URDU_NOTE[1], "notes": URDU_NOTE[2]},
            {"title": "منصوبہ", "body": f"{URDU_NOTE[3]}\n{URDU_NUMBERS}"},
        ],
    )
    out = root / "legacy"
    jobs = [(source, out / f"{source.stem}.{source.suffix[1:4]}", "") for source in src.iterdir()]
    jobs += [
        (src / "en.docx", out / "encrypted.doc", "fictional-pw"),
        (src / "en.xlsx", out / "encrypted.xls", "fictional-pw"),
        (src / "ur.xlsx", out / "velvet.xls", "VelvetSweatshop"),  # Excel's built-in password
    ]
    save_as_legacy(jobs, timeout=180)
    return Legacy(out)


def in_order(text: str, strings: list[str] | tuple[str, ...]) -> bool:
    """Every string occurs exactly in ``text``, each after the one before."""
    position = 0
    for string in strings:
        found = text.find(string, position)
        if found < 0:
            return False
        position = found + len(string)
    return True


def page(extracted: Extracted, number: int) -> str:
    """The text of page ``number`` (1-based)."""
    starts = [*extracted.pages, len(extracted.text) + 1]
    return extracted.text[starts[number - 1] : starts[number] - 1]


# -- Word -------------------------------------------------------------------------------


def test_word_english_body_table_link_and_footer(legacy: Legacy) -> None:
    got = extract(legacy.data("en.doc"), "en.doc")
    assert got.mime == DOC and got.notes == ()
    assert in_order(got.text, [*ENGLISH_NOTE, f"Map: {LINK[0]}", "Harrowgate harbour board 1"])
    # field instructions are not text: only what Word shows is
    assert "HYPERLINK" not in got.text and "example.org" not in got.text
    assert "PAGE" not in got.text


def test_word_urdu_nastaliq_with_zwnj_and_digits_is_exact(legacy: Legacy) -> None:
    got = extract(legacy.data("ur.doc"), "ur.doc")
    assert got.mime == DOC
    assert in_order(got.text, [*URDU_NOTE, URDU_NUMBERS])
    assert "ٹیلی\u200cفون" in got.text and "۰۳۰۰۱۲۳۴۵۶۷" in got.text and "٣٤٥" in got.text
    assert "ستون\tدراڑ\nگودام\tسامان" in got.text  # a row per line, cells tab-separated
    assert got.text.endswith("خفیہ: اندرونی")  # headers and footers come after the body


def test_word_compressed_pieces_are_windows_1252() -> None:
    data = build_doc(
        [("Caf\u00e9 bill: \u20ac5 for \u2018tea\u2019 ", True), ("چائے کا بل ", False)]
    )
    assert extract(data).text == "Café bill: €5 for ‘tea’ چائے کا بل "


def test_word_stories_fields_and_marks() -> None:
    body = "Body\x13 PAGE \x14 7\x15 text\x07cell\x07\x07\r"
    note = "Footnote\x02 text\r"
    header = "\x13 IF \x13 DATE \x14x\x15 \x14Shown\x15 header\r"
    data = build_doc([(body + note + header, True)], stories=[len(body), len(note), len(header)])
    assert extract(data).text == "Body 7 text\tcell\nFootnote text\nShown header"


def test_word_piece_table_claiming_more_than_the_file_is_cut() -> None:
    data = build_doc([("fictional ledger entry " * 4, True)], repeat=2000)
    got = extract(data)
    assert len(got.text) < len(data)
    assert any("claims more text" in note for note in got.notes)


def test_word_95_is_named_not_misread() -> None:
    with pytest.raises(ExtractionError, match=r"Word 6\.0/95"):
        extract(build_doc([("old", True)], nfib=0x68))


# -- Excel ------------------------------------------------------------------------------


def test_excel_english_sheets_are_pages(legacy: Legacy) -> None:
    got = extract(legacy.data("en.xls"), "en.xls")
    assert got.mime == XLS and len(got.pages) == 2
    assert page(got, 1) == (
        "Lantern\tState\tCost\nLantern 4\tcracked glass\t12.5\nLantern 7\tno flame\t3"
    )
    assert page(got, 2) == f"{ENGLISH_NOTE[1]}\n\t{ENGLISH_NOTE[2]}"


def test_excel_urdu_cells_are_exact(legacy: Legacy) -> None:
    got = extract(legacy.data("ur.xls"), "ur.xls")
    assert page(got, 1) == "ستون\tدراڑ\tلاگت\nگودام\tسامان\t420"
    assert page(got, 2) == f"{URDU_NOTE[1]}\n{URDU_NUMBERS}"


# -- PowerPoint -------------------------------------------------------------------------


def test_powerpoint_english_slides_notes_and_table(legacy: Legacy) -> None:
    got = extract(legacy.data("en.ppt"), "en.ppt")
    assert got.mime == PPT and len(got.pages) == 2 and got.notes == ()
    assert in_order(page(got, 1), ["Pier lanterns", ENGLISH_NOTE[1], ENGLISH_NOTE[2]])
    assert in_order(page(got, 2), ["Plan", ENGLISH_NOTE[3], *EN_TABLE[0], *EN_TABLE[1]])
    assert "Click to edit" not in got.text  # master slides are the template's


def test_powerpoint_urdu_is_exact(legacy: Legacy) -> None:
    got = extract(legacy.data("ur.ppt"), "ur.ppt")
    assert in_order(page(got, 1), ["پل کا معائنہ", URDU_NOTE[1], URDU_NOTE[2]])
    assert in_order(page(got, 2), ["منصوبہ", URDU_NOTE[3], URDU_NUMBERS])


def test_powerpoint_layout_of_powerpoint_itself() -> None:
    """Placeholder text in SlideListWithText, an 8-bit body, boxes, notes, an edit left behind."""
    data = build_ppt(
        [
            {"title": "Ferry timetable", "body": "Night ferry\nleaves at ten", "notes": "Say why"},
            {
                "title": "پل کی مرمت",
                "body": "Budget approved",
                "body_bytes": True,
                "boxes": ["Box"],
            },
        ],
        stale="An older draft of slide one",
    )
    got = extract(data, "deck.ppt")
    assert got.mime == PPT and got.notes == ()
    assert page(got, 1) == "Ferry timetable\nNight ferry\nleaves at ten\nSay why"
    assert page(got, 2) == "پل کی مرمت\nBudget approved\nBox"


def test_powerpoint_without_a_usable_current_user_is_read_in_stream_order() -> None:
    data = build_ppt([{"boxes": ["Lantern glass ordered"], "notes": "Spoken aside"}])
    broken = data.replace(struct.pack("<I", 0xE391C05F), struct.pack("<I", 0x12345678), 1)
    got = extract(broken, "deck.ppt")
    assert got.text == "Lantern glass ordered\nSpoken aside"
    assert any("stream order" in note for note in got.notes)


def test_powerpoint_nesting_past_any_depth_is_bounded() -> None:
    text = "deep text".encode("utf-16-le")
    nested = struct.pack("<HHI", 0, 0x0FA0, len(text)) + text  # a TextCharsAtom
    for _ in range(5000):
        nested = struct.pack("<HHI", 0xF, 0x03EE, len(nested)) + nested  # in a slide in a slide…
    data = build_ole({"PowerPoint Document": nested})
    with pytest.raises(ExtractionError, match="holds no text"):  # not a RecursionError
        extract(data, "deep.ppt")


# -- content, not name ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["report.pdf", "notes.txt", "mail.msg", "data.bin", "x.docx"])
@pytest.mark.parametrize(
    ("file", "mime", "words"),
    [
        ("en.doc", DOC, ENGLISH_NOTE[1]),
        ("ur.xls", XLS, URDU_NOTE[1]),
        ("ur.ppt", PPT, URDU_NOTE[2]),
    ],
)
def test_renamed_files_are_read_by_content(
    legacy: Legacy, name: str, file: str, mime: str, words: str
) -> None:
    data = legacy.data(file)
    assert detect_mime(data) == mime
    got = extract(data, name)
    assert got.mime == mime and words in got.text


def test_ole_kind_reads_root_streams_only() -> None:
    assert ole_kind(io.BytesIO(build_ole({"WordDocument": bytes(600), "1Table": b""}))) == DOC
    assert ole_kind(io.BytesIO(build_ole({"Book": bytes(600)}))) == XLS
    assert ole_kind(io.BytesIO(build_msg({"subject": "ferry"}))) == MSG
    # an encrypted OOXML package is an OLE container too, but none of these
    assert ole_kind(io.BytesIO(build_ole({"EncryptedPackage": bytes(600)}))) is None
    assert ole_kind(io.BytesIO(b"PK\x03\x04 not OLE")) is None


def test_directory_that_loops_is_not_followed() -> None:
    data = bytearray(build_ole({"WordDocument": bytes(5000)}))
    (first,) = struct.unpack_from("<I", data, 0x30)
    (fat,) = struct.unpack_from("<I", data, 0x4C)
    # the directory's sector points at itself in the FAT
    struct.pack_into("<I", data, (fat + 1) * 512 + first * 4, first)
    assert root_names(io.BytesIO(bytes(data))) == frozenset({"WordDocument"})  # read once
    struct.pack_into("<I", data, 0x30, 0xFFFFFFF0)  # and now to nowhere
    assert root_names(io.BytesIO(bytes(data))) is None


def test_a_doc_named_msg_stays_a_document_and_a_renamed_msg_is_mail(
    legacy: Legacy, tmp_path: Path
) -> None:
    (tmp_path / "minutes.msg").write_bytes(legacy.data("en.doc"))
    attachment = {"name": "memo.doc", "data": legacy.data("memo.doc")}
    message = build_msg({"subject": "Ferry", "body": "See attached.", "attachments": [attachment]})
    (tmp_path / "saved.dat").write_bytes(message)
    entries = list(Expander().expand([tmp_path]))
    items = {Path(e.name).name: e for e in entries if isinstance(e, Item)}
    assert "minutes.msg" in items and items["minutes.msg"].data is None  # read as a file
    assert any(isinstance(e, Opened) and e.name.endswith("saved.dat") for e in entries)
    assert "saved.dat!memo.doc" in items
    assert ENGLISH_MEMO[2] in extract(items["saved.dat!memo.doc"].data or b"").text


# -- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ("encrypted.doc", "encrypted Word document (password-protected): not examined"),
        ("encrypted.xls", "encrypted Excel workbook (password-protected): not examined"),
    ],
)
def test_encrypted_files_made_by_libreoffice(legacy: Legacy, file: str, message: str) -> None:
    with pytest.raises(EncryptedDocumentError) as caught:
        extract(legacy.data(file), "renamed.bin")
    assert str(caught.value) == message


def test_workbook_under_excels_built_in_password_is_read(legacy: Legacy) -> None:
    got = extract(legacy.data("velvet.xls"), "velvet.xls")
    assert page(got, 2) == f"{URDU_NOTE[1]}\n{URDU_NUMBERS}"
    assert any("built-in password" in note for note in got.notes)


def test_encrypted_powerpoint_and_word_flags() -> None:
    with pytest.raises(EncryptedDocumentError, match="encrypted PowerPoint presentation"):
        extract(build_ppt([{"title": "Secret plan"}], encrypted=True))
    with pytest.raises(EncryptedDocumentError, match="encrypted Word document"):
        extract(build_doc([("Secret plan", True)], encrypted=True))


@pytest.mark.parametrize("file", ["en.doc", "ur.xls", "en.ppt"])
def test_truncated_files_are_one_line_errors(legacy: Legacy, file: str) -> None:
    data = legacy.data(file)
    for keep in (8, 100, 600, len(data) // 3, len(data) // 2):
        with pytest.raises(ExtractionError) as caught:
            extract(data[:keep], file)
        assert not isinstance(caught.value, EncryptedDocumentError)
        assert "\n" not in str(caught.value)
    with pytest.raises(ExtractionError, match="corrupt or truncated"):
        extract(data[: len(data) // 2], file)


@pytest.mark.parametrize(
    ("stream", "name"),
    [("WordDocument", "x.doc"), ("Workbook", "x.xls"), ("PowerPoint Document", "x.ppt")],
)
def test_garbage_behind_an_ole_header(stream: str, name: str) -> None:
    noise = random.Random(stream).randbytes(20_000)
    for data in (OLE_MAGIC + noise, build_ole({stream: noise})):
        with pytest.raises(ExtractionError) as caught:
            extract(data, name)
        assert "\n" not in str(caught.value) and str(caught.value)


@pytest.mark.parametrize("file", ["en.doc", "ur.xls", "en.ppt"])
def test_damaged_bytes_never_escape_as_raw_exceptions(legacy: Legacy, file: str) -> None:
    original = legacy.data(file)
    chance = random.Random(file)
    for _ in range(150):
        data = bytearray(original)
        for _ in range(chance.randint(1, 40)):
            data[chance.randrange(512, min(len(data), 40_000))] = chance.randrange(256)
        try:
            extract(bytes(data), file)
        except ExtractionError as exc:
            assert "\n" not in str(exc)


# -- scanning and indexing ---------------------------------------------------------------


def test_doc_inside_a_zip_is_found_by_a_scan(legacy: Legacy, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "records-move.txt").write_text("\n\n".join(ENGLISH_MEMO[1:5]), encoding="utf-8")
    export = tmp_path / "phone.zip"
    with zipfile.ZipFile(export, "w") as bundle:
        bundle.writestr("Download/minutes.doc", legacy.data("memo.doc"))
        bundle.writestr("Download/lanterns.xls", legacy.data("en.xls"))
    with Index.create(tmp_path / "index.sqlite", key=KEY) as index:
        build(index, [archive])
        records = list(Scanner(index).scan([export]))
    findings = [r for r in records if isinstance(r, Finding)]
    assert [(f.suspect, f.source) for f in findings] == [
        (f"{export}!Download/minutes.doc", "records-move.txt")
    ]
    assert findings[0].containment > 0.9
    summary = records[-1]
    assert summary.errors == 0 and summary.skipped == 0  # type: ignore[attr-defined]


def test_doc_in_the_archive_is_indexed_and_found_from_an_excerpt(
    legacy: Legacy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "archive" / "urdu").mkdir(parents=True)
    (tmp_path / "archive" / "urdu" / "nilpur-records.doc").write_bytes(legacy.data("urdu-memo.doc"))
    (tmp_path / "export").mkdir()
    excerpt = "\n".join(URDU_MEMO[2:4])
    (tmp_path / "export" / "forwarded.txt").write_text(excerpt, encoding="utf-8")
    built = CliRunner().invoke(cli, ["index", "build", "archive"])
    assert built.exit_code == 0 and "1 added" in built.output, built.output
    scanned = CliRunner().invoke(cli, ["scan", "export", "--format", "jsonl"])
    assert scanned.exit_code == EXIT_FINDINGS, scanned.output
    records = [json.loads(line) for line in scanned.output.splitlines()]
    findings = [r for r in records if r["type"] == "finding"]
    assert [(f["suspect"], f["source"]) for f in findings] == [
        ("export/forwarded.txt", "urdu/nilpur-records.doc")
    ]
    assert findings[0]["coverage"] > 0.9


def test_a_directory_past_the_bound_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from leakscan.extract import ole

    streams = {f"filler{n}": b"x" for n in range(40)}
    data = build_ole({"WordDocument": bytes(600), **streams})
    monkeypatch.setattr(ole, "_MAX_DIRECTORY_SECTORS", 8)  # 32 entries; this directory has 42
    with pytest.raises(ExtractionError, match="refused: Word document whose OLE directory"):
        extract(data, "many.doc")


def test_powerpoint_whose_directory_points_away_from_its_slides() -> None:
    data = bytearray(build_ppt([{"boxes": ["Harbour lamps checked"]}]))
    atom = bytes(data).index(struct.pack("<HHI", 0, 0x1772, 8 * 3))  # PersistDirectoryAtom
    # entries for persist ids 1 (the document), 2 (the slide), 3 (its notes): the slide's
    # now points at the document, so the slide list leads nowhere
    (document,) = struct.unpack_from("<I", data, atom + 8 + 4)
    struct.pack_into("<I", data, atom + 8 + 8 + 4, document)
    got = extract(bytes(data), "deck.ppt")
    assert got.text == "Harbour lamps checked"
    assert any("stream order" in note for note in got.notes)
