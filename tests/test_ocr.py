"""The OCR machinery piece by piece: geometry, picture decoding and its limits, the
engine's word order, the cache, availability, and what findings carry. Fast: at most a
few small recognitions (the end-to-end tests are in ``test_ocr_scan.py``)."""

from __future__ import annotations

import io
import multiprocessing
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from leakscan.errors import ExtractionError, SkippedByRuleError
from leakscan.extract import Extracted, detect_mime, extract, extractor_for
from leakscan.extract.ocr_types import OcrInfo, OcrWord
from leakscan.extract.pdf_ocr import usable_layer
from leakscan.ocr import (
    OcrSettings,
    find_tessdata,
    for_index,
    session,
    unavailable_reason,
)
from leakscan.ocr.cache import OcrCache, decode_page, encode_page
from leakscan.ocr.engine import _words
from leakscan.ocr.geometry import Placement, line_layout
from leakscan.ocr.images import frame, open_picture
from leakscan.ocr.page import PageText, Word, arabic_share
from leakscan.records import Finding, Passage
from tests import ocr_factories as f

HAVE_OCR = unavailable_reason(OcrSettings()) is None
needs_ocr = pytest.mark.skipif(not HAVE_OCR, reason="tesseract (eng, urd) is not installed")


# -- geometry -------------------------------------------------------------------------


def _dot_image() -> Image.Image:
    image = Image.new("L", (40, 30), 255)
    for x in range(5, 9):
        for y in range(3, 6):
            image.putpixel((x, y), 0)
    return image


def _ink_box(image: Image.Image) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(np.asarray(image) < 128)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


@pytest.mark.parametrize("method", list(Image.Transpose), ids=lambda m: m.name)
def test_placement_maps_a_transposed_box_back_exactly(method: Image.Transpose) -> None:
    image = _dot_image()
    placement = Placement(*image.size)
    moved = image.transpose(method)
    placement.transpose(method)
    assert placement.size == moved.size
    assert placement.box_on_stored(_ink_box(moved)) == (5, 3, 9, 6)


@pytest.mark.parametrize("degrees", [3.0, -7.5, 90.0])
def test_placement_maps_a_rotated_and_scaled_box_back_within_a_pixel(degrees: float) -> None:
    image = _dot_image()
    placement = Placement(*image.size)
    scaled = image.resize((80, 60), Image.Resampling.NEAREST)
    placement.scale(scaled.size)
    turned = scaled.rotate(degrees, expand=True, fillcolor=255)
    placement.rotate(degrees, turned.size)
    x0, y0, x1, y1 = placement.box_on_stored(_ink_box(turned))
    assert abs(x0 - 5) <= 1 and abs(y0 - 3) <= 1 and abs(x1 - 9) <= 1 and abs(y1 - 6) <= 1


def test_placement_clips_boxes_to_the_stored_picture() -> None:
    placement = Placement(100, 50)
    assert placement.box_on_stored((-20, -5, 130, 70)) == (0, 0, 100, 50)


@pytest.fixture(scope="module")
def english_page() -> Image.Image:
    return f.render_page(f.ENGLISH_MEMO[:500], "serif", width=900)


@pytest.mark.parametrize(
    ("turn", "skew", "quarter"),
    [(0, 0.0, 0), (0, 4.0, 0), (0, -6.0, 0), (90, 0.0, 90), (90, 3.0, 90)],
)
def test_line_layout_finds_quarter_turns_and_skew(
    english_page: Image.Image, turn: int, skew: float, quarter: int
) -> None:
    image = f.rotate(english_page, skew) if skew else english_page
    image = f.turn(image, turn) if turn else image
    layout = line_layout(image)
    assert layout.quarter == quarter
    assert abs(layout.skew + skew) <= 0.4  # the correction undoes the skew
    assert layout.strength > 2


def test_line_layout_of_a_blank_or_noisy_picture_is_weak() -> None:
    assert line_layout(Image.new("L", (300, 200), 255)).strength == 0
    assert line_layout(f.noise(Image.new("L", (300, 200), 200))).strength < 1.5


# -- pictures -------------------------------------------------------------------------


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a size and whose pixels would inflate to gigabytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    crc = struct.pack(">I", zlib.crc32(chunk))
    body = zlib.compress(b"\x00" * 1000)
    idat = b"IDAT" + body
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + crc
        + struct.pack(">I", len(body))
        + idat
        + struct.pack(">I", zlib.crc32(idat))
    )


@pytest.mark.parametrize("size", [(20_000, 20_000), (9_000, 9_000)])
def test_a_picture_over_the_pixel_limit_is_refused_before_decoding(size: tuple[int, int]) -> None:
    notes: list[str] = []
    with pytest.raises(SkippedByRuleError, match=r"too large|limit"):
        open_picture(_png_header_only(*size), max_pixels=80_000_000, max_pages=10, notes=notes)


@pytest.mark.parametrize("cut", [400, 0.5, 0.9])
def test_damaged_pictures_are_extraction_errors(cut: float) -> None:
    whole = f.jpeg_bytes(f.noise(Image.new("L", (300, 200), 128)), 80)
    notes: list[str] = []
    with pytest.raises(ExtractionError, match="damaged picture"):
        image, _ = open_picture(
            whole[: int(cut if cut > 1 else len(whole) * cut)],
            max_pixels=10**8,
            max_pages=1,
            notes=notes,
        )
        frame(image, 1, max_pixels=10**8, work_pixels=10**7)


def test_unknown_bytes_are_not_a_picture() -> None:
    with pytest.raises(ExtractionError, match="not a picture"):
        open_picture(b"GIF89a" + bytes(40), max_pixels=10**8, max_pages=1, notes=[])


def test_big_jpeg_is_decoded_small_and_boxes_still_point_at_stored_pixels() -> None:
    data = f.jpeg_bytes(Image.new("L", (4000, 3000), 255), 80)
    notes: list[str] = []
    image, count = open_picture(data, max_pixels=10**8, max_pages=5, notes=notes)
    page = frame(image, 1, max_pixels=10**8, work_pixels=1_000_000)
    assert count == 1 and page.image.width * page.image.height <= 1_000_000
    assert page.placement.stored == (4000, 3000)
    w, h = page.image.size
    assert page.placement.box_on_stored((0, 0, w, h)) == (0, 0, 4000, 3000)


def test_transparent_screenshot_is_read_on_white_paper() -> None:
    rgba = Image.new("RGBA", (50, 20), (0, 0, 0, 0))
    rgba.putpixel((10, 10), (0, 0, 0, 255))
    notes: list[str] = []
    image, _ = open_picture(f.encode(rgba, "PNG"), max_pixels=10**6, max_pages=1, notes=notes)
    page = frame(image, 1, max_pixels=10**6, work_pixels=10**6)
    assert page.image.getpixel((0, 0)) == 255 and page.image.getpixel((10, 10)) == 0


def test_sixteen_bit_scan_is_scaled_to_eight_bits() -> None:
    deep = Image.fromarray(np.full((20, 30), 40000, dtype=np.uint16))
    deep.putpixel((3, 3), 0)
    notes: list[str] = []
    image, _ = open_picture(f.encode(deep, "PNG"), max_pixels=10**6, max_pages=1, notes=notes)
    page = frame(image, 1, max_pixels=10**6, work_pixels=10**6)
    assert page.image.getpixel((0, 0)) == 255 and page.image.getpixel((3, 3)) == 0


def test_animated_gif_reads_its_first_frame_and_says_so() -> None:
    frames = [Image.new("L", (40, 30), 255), Image.new("L", (40, 30), 0)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    notes: list[str] = []
    _, count = open_picture(out.getvalue(), max_pixels=10**6, max_pages=10, notes=notes)
    assert count == 1 and "animated GIF picture (2 frames)" in notes[0]


def test_tiff_pages_beyond_the_limit_are_left_with_a_note() -> None:
    pages = [Image.new("L", (60, 40), 255) for _ in range(4)]
    notes: list[str] = []
    _, count = open_picture(f.multipage_tiff(pages), max_pixels=10**6, max_pages=3, notes=notes)
    assert count == 3 and notes == ["a picture of 4 pages: only the first 3 are read"]


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [
        ("JPEG", "image/jpeg"),
        ("PNG", "image/png"),
        ("WEBP", "image/webp"),
        ("TIFF", "image/tiff"),
        ("BMP", "image/bmp"),
        ("GIF", "image/gif"),
        ("HEIF", "image/heic"),
    ],
)
def test_every_picture_type_has_the_picture_extractor(fmt: str, mime: str) -> None:
    data = f.encode(Image.new("L", (64, 48), 255), fmt)
    assert detect_mime(data) == mime
    found = extractor_for(mime)
    assert found is not None and found[1].__module__ == "leakscan.extract.image"


def test_with_ocr_off_a_picture_is_skipped_with_the_reason() -> None:
    data = f.encode(Image.new("L", (64, 48), 255), "PNG")
    with session(OcrSettings(enabled=False)), pytest.raises(SkippedByRuleError, match="OCR is off"):
        extract(data, "x.png")


# -- availability and settings --------------------------------------------------------


def test_missing_models_name_the_debian_package(tmp_path: Path) -> None:
    assert unavailable_reason(OcrSettings(tessdata=str(tmp_path))) == (
        f"OCR not available: install tesseract-ocr-eng (no eng.traineddata in {tmp_path})"
    )
    (tmp_path / "eng.traineddata").write_bytes(b"")
    reason = unavailable_reason(OcrSettings(tessdata=str(tmp_path)))
    assert reason is not None and reason.startswith("OCR not available: install tesseract-ocr-urd")
    assert unavailable_reason(OcrSettings(enabled=False)) == "OCR is off (--no-ocr)"


def test_tessdata_prefix_may_name_the_folder_or_its_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tessdata").mkdir()
    (tmp_path / "tessdata" / "eng.traineddata").write_bytes(b"")
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    assert find_tessdata(OcrSettings()) == tmp_path / "tessdata"
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path / "tessdata"))
    assert find_tessdata(OcrSettings()) == tmp_path / "tessdata"


def test_cache_lies_beside_the_index_and_none_for_memory(tmp_path: Path) -> None:
    settings = for_index(OcrSettings(), tmp_path / "index.sqlite", 300)
    assert settings.cache_path == str(tmp_path / "index.ocr-cache.sqlite")
    assert settings.time_budget_seconds == pytest.approx(240)
    assert for_index(OcrSettings(), None, 300).cache_path is None
    assert for_index(OcrSettings(use_cache=False), tmp_path / "i.sqlite", 300).cache_path is None


# -- the engine's words ---------------------------------------------------------------

_TSV = "\n".join(
    [
        "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight"
        "\tconf\ttext",
        "1\t1\t0\t0\t0\t0\t0\t0\t900\t300\t-1\t",
        "5\t1\t1\t1\t1\t1\t800\t10\t50\t30\t93.5\tنیل",
        "5\t1\t1\t1\t1\t2\t740\t12\t50\t28\t90.0\tپور\u200f",
        "5\t1\t1\t1\t2\t1\t800\t50\t40\t30\t-1\t   ",
        "5\t1\t1\t1\t2\t2\t700\t50\t90\t30\t88.0\tآبی",
        "5\t1\t1\t2\t1\t1\t10\t90\t60\t30\t96.0\tFernhill",
        "5\t1\t1\t2\t1\t2\tx\t90\t60\t30\t96.0\tbroken",
    ]
)


def test_engine_words_come_in_reading_order_with_line_and_paragraph_ends() -> None:
    words = _words(_TSV)
    assert [w.text for w in words] == ["نیل", "پور", "آبی", "Fernhill"]
    assert words[0].box == (800, 10, 850, 40)
    assert [w.line_end for w in words] == [False, True, True, True]
    assert [w.paragraph_end for w in words] == [False, False, True, True]


@needs_ocr
def test_urdu_words_read_right_to_left_in_logical_order() -> None:
    from leakscan.ocr.engine import engine_for

    tessdata = find_tessdata(OcrSettings())
    assert tessdata is not None
    engine = engine_for(tessdata)
    result = engine.recognize(f.render_page("نیل پور آبی بورڈ", "naskh", width=700), "urd")
    assert [w.text for w in result.words][:3] == ["نیل", "پور", "آبی"]
    assert result.words[0].box[0] > result.words[1].box[0]  # the first word is rightmost


def test_arabic_share_counts_letters() -> None:
    words = (Word("نیل", 90, (0, 0, 1, 1), False, False), Word("ab", 90, (0, 0, 1, 1), True, True))
    assert arabic_share(words) == pytest.approx(0.6)


# -- the cache ------------------------------------------------------------------------


def _page(text: str = "Fernhill") -> PageText:
    return PageText(
        (
            Word(text, 91.5, (1, 2, 30, 40), True, False),
            Word("نیل", 80.0, (5, 6, 7, 8), True, True),
        ),
        "eng+urd",
        88.0,
        640,
        480,
        90,
        -1.2,
    )


def test_cached_page_round_trips() -> None:
    assert decode_page(encode_page(_page())) == _page()


def _writer(path: str, worker: int) -> None:
    cache = OcrCache(path)
    for number in range(60):
        cache.put(f"{worker:064d}", "k", number, _page(f"w{worker}p{number}"))
    cache.close()


def test_cache_takes_writes_from_many_processes_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "cache.sqlite")
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_writer, args=(path, n)) for n in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    cache = OcrCache(path)
    assert cache.count() == 240
    pages = cache.pages(f"{2:064d}", "k")
    assert pages[59].words[0].text == "w2p59" and cache.pages(f"{2:064d}", "other") == {}
    cache.close()


def test_an_unusable_cache_is_passed_over(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "not-a-db").write_bytes(b"this is not sqlite" * 100)
    cache = OcrCache(str(tmp_path / "not-a-db"))
    assert cache.pages("a" * 64, "k") == {}
    cache.put("a" * 64, "k", 1, _page())  # no error: OCR goes on without it
    assert "cannot be used" in caplog.text


# -- text layers, regions, records ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "usable"),
    [
        ("", False),
        ("  \n 12 ", False),
        ("A memorandum on the basement archive of the pumping station.", True),
        ("\ue001\ue002\ue003" * 20 + "abc", False),
    ],
)
def test_usable_text_layer(text: str, usable: bool) -> None:
    assert usable_layer(text) is usable


def test_region_of_a_passage_is_the_union_of_its_words_on_its_main_page() -> None:
    info = OcrInfo(
        "tesseract",
        "5",
        "eng",
        90.0,
        (
            OcrWord(0, 5, 1, (10, 10, 50, 30)),
            OcrWord(6, 11, 1, (60, 12, 90, 30)),
            OcrWord(12, 15, 2, (5, 5, 9, 9)),
        ),
    )
    assert info.region(0, 11) == (1, (10, 10, 90, 30))
    assert info.region(3, 14) == (1, (10, 10, 90, 30))  # two words on page 1, one on 2
    assert info.region(20, 30) is None


def test_finding_and_passage_records_carry_ocr_and_box() -> None:
    passage = Passage(0, 10, 0, 3, "some words", 3, page=2, bbox=(1, 2, 3, 4))
    assert passage.to_dict()["bbox"] == [1, 2, 3, 4] and passage.to_dict()["page"] == 2
    ocr = {"engine": "tesseract", "version": "5.5.4", "languages": "urd", "mean_confidence": 71.2}
    finding = Finding(
        "a.jpg",
        "0" * 64,
        "memo.txt",
        "1" * 64,
        "excerpt",
        0.9,
        0.5,
        0.5,
        9,
        30,
        (passage,),
        ocr=ocr,
    )
    assert finding.to_dict()["ocr"] == ocr
    plain = Finding("a.txt", "0" * 64, "memo.txt", "1" * 64, "excerpt", 0.9, 0.5, 0.5, 9, 30)
    assert "ocr" not in plain.to_dict()


def test_extracted_from_typed_text_has_no_ocr() -> None:
    assert Extracted("text", "text/plain").ocr is None


# -- the command line -----------------------------------------------------------------


@pytest.fixture
def cli_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An index of one memo, and an export with a typed note and a picture."""
    from click.testing import CliRunner

    from leakscan.cli import cli

    monkeypatch.chdir(tmp_path)
    (tmp_path / "archive").mkdir()
    (tmp_path / "archive" / "memo.txt").write_text(f.ENGLISH_MEMO, encoding="utf-8")
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "note.txt").write_text(f.ENGLISH_OTHER, encoding="utf-8")
    (tmp_path / "export" / "page.png").write_bytes(f.encode(Image.new("L", (64, 48), 255), "PNG"))
    result = CliRunner().invoke(cli, ["index", "build", "archive", "--no-ocr"])
    assert result.exit_code == 0, result.output
    return tmp_path


def _run(args: list[str]) -> tuple[int, str, str]:
    from click.testing import CliRunner

    from leakscan.cli import cli

    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.stdout, result.stderr


def test_cli_no_ocr_skips_pictures_with_the_reason(cli_case: Path) -> None:
    code, out, _ = _run(["scan", "export", "--no-ocr", "--format", "jsonl"])
    assert code == 0
    assert "OCR is off (--no-ocr): pictures are not read" in out
    assert '"skipped_by_type": {"image/png": 1}' in out


def test_cli_without_models_warns_and_skips_and_ocr_insists(
    cli_case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = cli_case / "no-models"
    empty.mkdir()
    monkeypatch.setenv("TESSDATA_PREFIX", str(empty))
    code, out, err = _run(["scan", "export", "--format", "jsonl"])
    assert code == 0
    assert "leakscan: OCR not available: install tesseract-ocr-eng" in err
    assert "install tesseract-ocr-eng" in out and '"image/png": 1' in out
    code, _, err = _run(["scan", "export", "--ocr"])
    assert code == 2 and "--ocr: OCR not available: install tesseract-ocr-eng" in err
    code, _, err = _run(["index", "build", "archive", "--ocr"])
    assert code == 2


def test_cli_index_stats_counts_ocr_documents(cli_case: Path) -> None:
    import json

    code, out, _ = _run(["index", "stats"])
    assert code == 0 and json.loads(out)["ocr_documents"] == 0


@needs_ocr
def test_tesseract_is_loaded_with_one_openmp_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    from leakscan.ocr import load_tesserocr

    monkeypatch.setenv("OMP_THREAD_LIMIT", "8")
    load_tesserocr()
    assert os.environ["OMP_THREAD_LIMIT"] == "1"


@needs_ocr
def test_out_of_time_ocr_keeps_what_it_read_and_says_what_it_left(tmp_path: Path) -> None:
    from leakscan.ocr.reader import PageReader

    data = f.multipage_tiff([Image.new("L", (200, 100), 255)] * 3)
    cache_path = str(tmp_path / "cache.sqlite")
    settings = OcrSettings(cache_path=cache_path, time_budget_seconds=-1.0)
    with session(settings) as entered:
        key = PageReader(data, entered).key
    sha = __import__("hashlib").sha256(data).hexdigest()
    OcrCache(cache_path).put(sha, key, 1, _page("Fernhill"))  # page 1 read by an earlier run
    with session(settings):
        extracted = extract(data, "scan.tif")
    assert extracted.text.startswith("Fernhill") and extracted.ocr is not None
    assert [p.cached for p in extracted.ocr.pages] == [True]
    assert extracted.notes == (
        "OCR stopped after 1 of 3 pages: the item's OCR time budget ran out "
        "(a share of --timeout); the rest was not read",
    )
    with (
        session(OcrSettings(time_budget_seconds=-1.0)),
        pytest.raises(
            ExtractionError, match="no page of the image/tiff could be read: OCR stopped after 0"
        ),
    ):
        extract(data, "scan.tif")
