"""Pictures of pages end to end, with the real tesseract: photos, scans, screenshots and
scanned PDFs are read by OCR and found against an index of their typed source.

Pages are typeset with real fonts (English; Urdu in Naskh: Noto Naskh Arabic and
Amiri; Nastaliq: Noto Nastaliq Urdu) and degraded with real image operations
(``tests/ocr_factories.py``). One scan of one export folder (two workers) serves
most tests here: OCR is slow, so each picture is read once per session.
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from leakscan import (
    ErrorRecord,
    Finding,
    Index,
    NoteRecord,
    Scanner,
    ScanOptions,
    SkippedRecord,
    Summary,
    build,
)
from leakscan.ocr import OcrSettings, find_tessdata, unavailable_reason
from leakscan.report.text import TextWriter
from tests import factories
from tests import ocr_factories as f

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        unavailable_reason(OcrSettings()) is not None or not f.fonts_available(),
        reason="tesseract (eng, urd) or the test fonts are not installed",
    ),
    pytest.mark.skipif(
        not f.raqm_available(), reason="Pillow has no libraqm: Urdu cannot be typeset"
    ),
]

KEY = b"o" * 32
#: The models installed (looked up before any test points TESSDATA_PREFIX elsewhere).
SYSTEM_TESSDATA = find_tessdata(OcrSettings())
SOURCES = {
    "memo.txt": f.ENGLISH_MEMO,
    "urdu/yaddasht.txt": f.URDU_MEMO,
    "notices/depot.txt": f.ENGLISH_NOTICE,
    "notices/depot-ur.txt": f.URDU_NOTICE,
}
#: Degradations every English and Naskh page photo goes through (each its own picture).
DEGRADED = (
    "skew-3deg",
    "turned-90",
    "turned-180",
    "tilt",
    "blur",
    "uneven-light",
    "jpeg-q30",
    "downscale-0.6",
    "phone-photo",
)
CHAT = "WhatsApp Chat with Sana Mirza.zip"
PHOTO = "IMG-20240311-WA0007.jpg"


def _write_index(folder: Path) -> Path:
    archive = folder / "archive"
    for relative, text in SOURCES.items():
        path = archive / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    location = folder / "index.sqlite"
    with Index.create(location, key=KEY) as index:
        report = build(index, [archive])
    assert report.added == len(SOURCES)
    return location


def _mixed_pdf(folder: Path) -> bytes:
    """A PDF whose page 1 is typed (LibreOffice) and page 2 a scanned picture (Naskh memo)."""
    typed = factories.make_pdf(folder / "typed.pdf", [f.ENGLISH_NOTICE])
    scanned = f.image_pdf([f.render_page(f.URDU_MEMO, "naskh")])
    document = pdfium.PdfDocument(typed)
    try:
        document.import_pages(pdfium.PdfDocument(scanned))
        out = io.BytesIO()
        document.save(out)
    finally:
        document.close()
    return out.getvalue()


def _whatsapp_zip(photo: bytes) -> bytes:
    chat = (
        "11/03/2024, 21:02 - Sana Mirza: Did you get the basement list?\n"
        f"11/03/2024, 21:07 - Bilal: {PHOTO} (file attached)\n"
        "11/03/2024, 21:08 - Bilal: Delete it after reading.\n"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zipped:
        zipped.writestr("WhatsApp Chat with Sana Mirza.txt", chat)
        zipped.writestr(PHOTO, photo)
    return out.getvalue()


def _write_export(folder: Path, needs_soffice: bool) -> Path:
    export = folder / "export"
    photos = export / "photos"
    photos.mkdir(parents=True)
    english = f.render_page(f.ENGLISH_MEMO, "serif")
    naskh = f.render_page(f.URDU_MEMO, "naskh")
    for name in DEGRADED:
        (photos / f"english-{name}.jpg").write_bytes(
            f.jpeg_bytes(f.DEGRADATIONS[name](english), 80)
        )
        (photos / f"naskh-{name}.png").write_bytes(f.encode(f.DEGRADATIONS[name](naskh), "PNG"))
    (photos / "amiri.png").write_bytes(f.encode(f.render_page(f.URDU_MEMO, "amiri"), "PNG"))
    (photos / "amiri-photo.jpg").write_bytes(
        f.jpeg_bytes(f.phone_photo(f.render_page(f.URDU_MEMO, "amiri")), 80)
    )
    (photos / "nastaliq.png").write_bytes(f.encode(f.render_page(f.URDU_MEMO, "nastaliq"), "PNG"))
    mixed = f.render_page(f.ENGLISH_NOTICE, "serif", blocks=[(f.URDU_NOTICE, "naskh")])
    (photos / "mixed-notice.jpg").write_bytes(f.jpeg_bytes(mixed, 85))
    formats = export / "formats"
    formats.mkdir()
    (formats / "memo.webp").write_bytes(f.encode(english, "WEBP", quality=70))
    (formats / "memo.bmp").write_bytes(f.encode(f.downscale(english, 0.8), "BMP"))
    (formats / "memo.gif").write_bytes(f.encode(english, "GIF"))
    (formats / "memo.heic").write_bytes(f.encode(f.phone_photo(english), "HEIF"))
    (formats / "sideways.jpg").write_bytes(f.sideways_jpeg_with_exif(english))
    (formats / "pages.tif").write_bytes(
        f.multipage_tiff([f.render_page(f.ENGLISH_OTHER, "serif"), english])
    )
    scans = export / "scans"
    scans.mkdir()
    (scans / "scanned.pdf").write_bytes(f.image_pdf([english, naskh]))
    if needs_soffice:
        (scans / "mixed.pdf").write_bytes(_mixed_pdf(folder))
    unrelated = export / "unrelated"
    unrelated.mkdir()
    (unrelated / "allotment.jpg").write_bytes(
        f.jpeg_bytes(f.phone_photo(f.render_page(f.ENGLISH_OTHER, "serif")), 80)
    )
    (unrelated / "anjuman.png").write_bytes(f.encode(f.render_page(f.URDU_OTHER, "naskh"), "PNG"))
    (unrelated / "blank-photo.jpg").write_bytes(
        f.jpeg_bytes(f.noise(Image.new("L", (640, 480), 200)), 70)
    )
    bad = export / "bad"
    bad.mkdir()
    (bad / "bomb.png").write_bytes(f.encode(Image.new("1", (20_000, 20_000), 1), "PNG"))
    (bad / "cut.jpg").write_bytes(f.jpeg_bytes(english, 80)[:3000])
    phone = export / "Phone"
    phone.mkdir()
    (phone / CHAT).write_bytes(_whatsapp_zip(f.jpeg_bytes(f.phone_photo(english, seed=9), 70)))
    return export


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ocr-scan")
    _write_index(folder)
    _write_export(folder, factories.soffice_available())
    return folder


def _scan(index: Path, targets: list[Path], jobs: int = 2, **ocr: object) -> list[object]:
    options = ScanOptions(jobs=jobs, ocr=OcrSettings(**ocr))  # type: ignore[arg-type]
    with Index.open(index, key=KEY, readonly=True) as opened:
        records = list(Scanner(opened, options).scan(targets))
    summary = records[-1]
    assert isinstance(summary, Summary)
    assert summary.items == summary.scanned + summary.skipped + summary.errors
    return records


@pytest.fixture(scope="module")
def records(workspace: Path) -> list[object]:
    return _scan(workspace / "index.sqlite", [workspace / "export"])


def _found(records: list[object]) -> dict[str, list[Finding]]:
    found: dict[str, list[Finding]] = {}
    for record in records:
        if isinstance(record, Finding):
            found.setdefault(record.suspect.split("/export/", 1)[-1], []).append(record)
    return found


def _by_name(records: list[object], kind: type) -> dict[str, object]:
    return {
        r.suspect.split("/export/", 1)[-1]: r  # type: ignore[attr-defined]
        for r in records
        if isinstance(r, kind)
    }


@pytest.mark.parametrize("degradation", DEGRADED)
def test_english_photo_is_found_under_each_degradation(
    records: list[object], degradation: str
) -> None:
    [finding] = _found(records)[f"photos/english-{degradation}.jpg"]
    assert finding.source == "memo.txt"
    # OCR that reads every word right gives the same normalized text: an exact copy.
    assert finding.kind in ("near-duplicate", "exact-copy")
    assert finding.containment > 0.8
    assert finding.ocr is not None and finding.ocr["engine"] == "tesseract"
    assert finding.ocr["languages"] == "eng+urd" and finding.ocr["mean_confidence"] > 60


@pytest.mark.parametrize("degradation", DEGRADED)
def test_naskh_urdu_photo_is_found_under_each_degradation(
    records: list[object], degradation: str
) -> None:
    [finding] = _found(records)[f"photos/naskh-{degradation}.png"]
    assert finding.source == "urdu/yaddasht.txt"
    assert finding.containment > 0.5
    assert finding.ocr is not None and finding.ocr["languages"] == "urd"


def test_amiri_naskh_pages_are_found(records: list[object]) -> None:
    found = _found(records)
    for name in ("photos/amiri.png", "photos/amiri-photo.jpg"):
        [finding] = found[name]
        assert finding.source == "urdu/yaddasht.txt"


def test_a_mixed_page_finds_its_english_and_its_urdu_source(records: list[object]) -> None:
    sources = {x.source: x for x in _found(records)["photos/mixed-notice.jpg"]}
    assert set(sources) == {"notices/depot.txt", "notices/depot-ur.txt"}
    english, urdu = sources["notices/depot.txt"], sources["notices/depot-ur.txt"]
    assert english.ocr is not None and english.ocr["languages"] == "eng+urd"
    # the boxes tell the two paragraphs apart: the English one is above the Urdu one
    assert english.passages[0].bbox is not None and urdu.passages[0].bbox is not None
    assert english.passages[0].bbox[3] <= urdu.passages[0].bbox[1] + 5


def test_nastaliq_pages_are_read_with_the_urdu_model(workspace: Path) -> None:
    from leakscan.intake import Loaded, load_item
    from leakscan.walk import Item

    path = workspace / "export" / "photos" / "nastaliq.png"
    loaded = load_item(Item(str(path), str(path)), 1 << 30, OcrSettings(use_cache=False))
    assert isinstance(loaded, Loaded) and loaded.extracted.ocr is not None
    assert loaded.extracted.ocr.languages == "urd"
    arabic = sum("\u0600" <= c <= "\u06ff" for c in loaded.extracted.text)
    assert arabic > 300, "Nastaliq is read as Arabic script, not dropped"


def test_unrelated_pictures_give_no_findings(records: list[object]) -> None:
    found = _found(records)
    assert not [name for name in found if name.startswith("unrelated/")]
    scanned = {
        r.suspect.split("/export/", 1)[-1] for r in records if isinstance(r, Finding | ErrorRecord)
    }
    assert not any(name.startswith("unrelated/") for name in scanned)


def test_every_planted_picture_is_found_and_nothing_else(records: list[object]) -> None:
    found = set(_found(records))
    expected = {f"photos/english-{d}.jpg" for d in DEGRADED}
    expected |= {f"photos/naskh-{d}.png" for d in DEGRADED}
    expected |= {"photos/amiri.png", "photos/amiri-photo.jpg", "photos/mixed-notice.jpg"}
    expected |= {f"formats/memo.{s}" for s in ("webp", "bmp", "gif", "heic")}
    expected |= {"formats/sideways.jpg", "formats/pages.tif", "scans/scanned.pdf"}
    expected |= {f"Phone/{CHAT}!{PHOTO}"}
    if factories.soffice_available():
        expected.add("scans/mixed.pdf")
    assert found - {"photos/nastaliq.png"} == expected


def test_passages_give_page_and_box_on_the_stored_picture(
    records: list[object], workspace: Path
) -> None:
    [finding] = _found(records)["photos/english-skew-3deg.jpg"]
    [passage] = finding.passages
    with Image.open(workspace / "export" / "photos" / "english-skew-3deg.jpg") as stored:
        stored.load()
    assert passage.page == 1 and passage.bbox is not None
    x0, y0, x1, y1 = passage.bbox
    assert 0 <= x0 < x1 <= stored.width and 0 <= y0 < y1 <= stored.height
    # the text block of the page (margins of 70 px, then rotated 3°) fills most of it
    assert (x1 - x0) > 0.7 * stored.width and (y1 - y0) > 0.6 * stored.height
    assert finding.to_dict()["passages"][0]["bbox"] == [x0, y0, x1, y1]


def test_exif_rotated_photo_boxes_are_in_stored_pixels(
    records: list[object], workspace: Path
) -> None:
    [finding] = _found(records)["formats/sideways.jpg"]
    with Image.open(workspace / "export" / "formats" / "sideways.jpg") as stored:
        stored.load()
    assert stored.width < stored.height  # stored sideways, EXIF says to turn it
    box = finding.passages[0].bbox
    assert box is not None
    # the lines run down the stored picture: the box is taller than wide
    assert (box[3] - box[1]) > (box[2] - box[0]) and box[2] <= stored.width


def test_image_only_pdf_pages_are_read_and_located(records: list[object]) -> None:
    sources = {x.source: x for x in _found(records)["scans/scanned.pdf"]}
    assert set(sources) == {"memo.txt", "urdu/yaddasht.txt"}
    assert sources["memo.txt"].passages[0].page == 1
    assert sources["urdu/yaddasht.txt"].passages[0].page == 2
    assert all(x.ocr is not None for x in sources.values())


def test_mixed_pdf_reads_its_typed_page_and_ocrs_its_scanned_one(records: list[object]) -> None:
    if not factories.soffice_available():
        pytest.skip("LibreOffice is not installed: no typed PDF page to mix")
    sources = {x.source: x for x in _found(records)["scans/mixed.pdf"]}
    assert set(sources) == {"notices/depot.txt", "urdu/yaddasht.txt"}
    typed, scanned = sources["notices/depot.txt"], sources["urdu/yaddasht.txt"]
    assert typed.ocr is None and typed.passages[0].bbox is None  # from the text layer
    assert scanned.ocr is not None and scanned.passages[0].page == 2
    assert scanned.passages[0].bbox is not None


def test_multipage_tiff_gives_the_page_of_the_match(records: list[object]) -> None:
    [finding] = _found(records)["formats/pages.tif"]
    assert finding.source == "memo.txt" and finding.passages[0].page == 2


def test_heic_webp_bmp_gif_photos_are_read(records: list[object]) -> None:
    found = _found(records)
    for suffix in ("heic", "webp", "bmp", "gif"):
        [finding] = found[f"formats/memo.{suffix}"]
        assert finding.source == "memo.txt"


def test_page_photo_in_whatsapp_export_names_its_message(
    records: list[object], workspace: Path
) -> None:
    [finding] = _found(records)[f"Phone/{CHAT}!{PHOTO}"]
    chat = workspace / "export" / "Phone" / CHAT
    assert finding.source == "memo.txt"
    assert finding.sent_in == f"{chat}!WhatsApp Chat with Sana Mirza.txt#L2"
    assert (finding.sender, finding.sent_at) == ("Bilal", "2024-03-11T21:07:00")
    assert finding.ocr is not None and finding.member_sha256 is not None


def test_pixel_bomb_is_skipped_unread_and_a_cut_jpeg_is_an_error(records: list[object]) -> None:
    skipped = _by_name(records, SkippedRecord)["bad/bomb.png"]
    assert isinstance(skipped, SkippedRecord) and skipped.mime == "image/png"
    assert "too large" in skipped.reason or "limit" in skipped.reason
    error = _by_name(records, ErrorRecord)["bad/cut.jpg"]
    assert isinstance(error, ErrorRecord) and "damaged picture" in error.error


def test_summary_counts_pictures_read_by_ocr(records: list[object]) -> None:
    summary = records[-1]
    assert isinstance(summary, Summary)
    pictures = sum(1 for name in _found(records) if not name.startswith(("unrelated", "bad")))
    assert summary.ocr_items >= pictures + 3  # the unrelated pictures are read too
    assert summary.ocr_pages_read >= summary.ocr_items and summary.ocr_pages_cached == 0
    assert summary.skipped_by_type == {"image/png": 1}  # the bomb
    assert summary.to_dict()["ocr"]["pages_read"] == summary.ocr_pages_read


def test_text_report_says_read_by_ocr(records: list[object]) -> None:
    out = io.StringIO()
    writer = TextWriter(out)
    for record in records:
        if isinstance(record, Finding) and record.suspect.endswith("english-blur.jpg"):
            writer.write(record)
    text = out.getvalue()
    assert "read by OCR (tesseract" in text and "eng+urd" in text
    assert "page 1, box x " in text


@pytest.fixture
def empty_tessdata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """tesseract pointed at a folder with only the English model (workers inherit it)."""
    folder = tmp_path / "tessdata"
    folder.mkdir()
    monkeypatch.setenv("TESSDATA_PREFIX", str(folder))
    yield folder


def test_a_second_scan_takes_every_page_from_the_cache(
    records: list[object], workspace: Path, empty_tessdata: Path
) -> None:
    # No language model at all now: whatever is found again came from the cache,
    # and not one picture was given to the engine.
    photos = [workspace / "export" / "photos", workspace / "export" / "Phone"]
    again = _scan(workspace / "index.sqlite", photos)
    summary = again[-1]
    assert isinstance(summary, Summary)
    assert summary.ocr_pages_read == 0 and summary.ocr_pages_cached == summary.ocr_items > 20
    first = {k: sorted(x.source for x in v) for k, v in _found(records).items()}
    second = {k: sorted(x.source for x in v) for k, v in _found(again).items()}
    assert second == {k: v for k, v in first.items() if k.startswith(("photos/", "Phone/"))}
    assert not any(isinstance(r, SkippedRecord) for r in again)


def test_missing_language_model_skips_pictures_with_the_package_to_install(
    workspace: Path, empty_tessdata: Path
) -> None:
    assert SYSTEM_TESSDATA is not None
    os.symlink(SYSTEM_TESSDATA / "eng.traineddata", empty_tessdata / "eng.traineddata")
    targets = [workspace / "export" / "formats" / "memo.webp", workspace / "export" / "scans"]
    again = _scan(workspace / "index.sqlite", targets, jobs=1, use_cache=False)
    skipped = _by_name(again, SkippedRecord)
    assert set(skipped) == {"formats/memo.webp", "scans/scanned.pdf"}
    for record in skipped.values():
        assert isinstance(record, SkippedRecord)
        assert "OCR not available: install tesseract-ocr-urd" in record.reason
    summary = again[-1]
    assert isinstance(summary, Summary)
    assert summary.skipped_by_type == {"image/webp": 1, "application/pdf": 1}
    if factories.soffice_available():  # a mixed PDF keeps its typed page, and says what it left
        [typed] = _found(again)["scans/mixed.pdf"]
        assert typed.source == "notices/depot.txt" and typed.ocr is None
        [note] = [r for r in again if isinstance(r, NoteRecord)]
        assert note.note.startswith("scanned pages 2 were not read: OCR not available")
    else:
        assert not _found(again)


def test_no_ocr_skips_pictures_and_says_so(workspace: Path) -> None:
    targets = [workspace / "export" / "formats" / "memo.webp"]
    again = _scan(workspace / "index.sqlite", targets, jobs=1, enabled=False)
    [skipped] = [r for r in again if isinstance(r, SkippedRecord)]
    assert skipped.reason == "OCR is off (--no-ocr): pictures are not read"


def test_index_build_reads_scans_counts_them_and_never_reads_one_twice(
    tmp_path: Path, workspace: Path
) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    english = f.render_page(f.ENGLISH_MEMO, "serif")
    (archive / "memo-scan.pdf").write_bytes(f.image_pdf([english]))
    (archive / "notice.tif").write_bytes(
        f.multipage_tiff([f.render_page(f.ENGLISH_NOTICE, "serif")])
    )
    (archive / "typed.txt").write_text(f.ENGLISH_OTHER, encoding="utf-8")
    (archive / "harbour-photo.jpg").write_bytes(
        f.jpeg_bytes(f.noise(Image.new("L", (400, 300), 180)), 70)
    )
    location = tmp_path / "index.sqlite"
    with Index.create(location) as index:
        report = build(index, [archive])
        assert (report.added, report.ocr_documents, report.ocr_pages_read) == (3, 2, 2)
        [skipped] = report.skipped
        assert skipped.reason == "no text found by OCR" and skipped.mime == "image/jpeg"
        assert index.stats().ocr_documents == 2
        # a typed copy of the scanned memo is found against the index built from the scan
        findings = Scanner(index).scan_text(f.ENGLISH_MEMO)
        assert [x.source for x in findings] == ["memo-scan.pdf"]
    # rebuilt from nothing beside the same cache: the scans are not read again
    for path in tmp_path.glob("index.sqlite*"):
        path.unlink()
    assert (tmp_path / "index.ocr-cache.sqlite").exists()
    with Index.create(location) as index:
        again = build(index, [archive])
        assert (again.ocr_documents, again.ocr_pages_read, again.ocr_pages_cached) == (2, 0, 2)
        assert index.stats().ocr_documents == 2
    with Index.open(location, readonly=True) as index:
        assert index.stats().to_dict()["ocr_documents"] == 2


def test_watch_restart_takes_pictures_from_the_cache(
    tmp_path: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from watchdog.observers.polling import PollingObserver

    from leakscan.watch import Watcher, WatchOptions

    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(workspace / "export" / "photos" / "english-blur.jpg", drop / "a.jpg")
    index = workspace / "index.sqlite"

    def run(state: Path) -> list[dict[str, object]]:
        out = io.StringIO()
        watcher = Watcher(
            index,
            [drop],
            options=WatchOptions(settle_seconds=0.2, poll_seconds=0.1),
            output=out,
            state_path=state,
            observer=PollingObserver(timeout=0.2),
        )
        try:
            watcher.run(until_idle=1.0)
        finally:
            watcher.close()
        import json

        return [json.loads(line) for line in out.getvalue().splitlines()]

    first = run(tmp_path / "state-1.sqlite")
    assert [r["source"] for r in first if r["type"] == "finding"] == ["memo.txt"]
    # a restart that lost its state, with no language model left: only the cache can answer
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    second = run(tmp_path / "state-2.sqlite")
    assert [r["source"] for r in second if r["type"] == "finding"] == ["memo.txt"]
    assert [r["ocr"]["engine"] for r in second if r["type"] == "finding"] == ["tesseract"]
