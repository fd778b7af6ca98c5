"""Pictures found by their look: archive pictures indexed by perceptual hash, copies found.

Every picture is drawn by ``tests/image_factories.py`` and changed with real
image operations (resize, JPEG at quality 40, crops, a turn, a screenshot in
an app's window, WhatsApp's recompression). Indexes are built the way users
build them (``build``) and scanned with the real Scanner, in worker
processes for SQLite indexes.
"""

from __future__ import annotations

import io
import sqlite3
import struct
import zipfile
import zlib
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from leakscan import ErrorRecord, Finding, Index, Scanner, ScanOptions, SkippedRecord, Summary
from leakscan import build as build_index
from leakscan.errors import ExtractionError
from leakscan.extract import EXTRACTORS, Extracted, detect_mime
from leakscan.images import (
    PictureHashes,
    PictureTooLargeError,
    View,
    hash_picture,
    is_picture_type,
)
from leakscan.imagescan import (
    BANDS,
    MAX_DHASH,
    MAX_PHASH,
    PROBE_RADIUS,
    PictureIndex,
    image_score,
)
from leakscan.index.sqlite import SCHEMA_VERSION
from leakscan.ocr import OcrSettings
from leakscan.records import NoteRecord
from leakscan.report.text import TextWriter
from tests import image_factories as pictures
from tests.chat_factories import WaAttachment, WaMessage, write_whatsapp_export
from tests.texts import prose

KEY = b"p" * 32
START = datetime(2026, 3, 11, 21, 0, 0)
MEMO = prose(301, 400)


def png(image: Image.Image) -> bytes:
    return pictures.encode(image.convert("RGB"), "PNG")


def jpeg(image: Image.Image, quality: int = 85) -> bytes:
    return pictures.encode(image.convert("RGB"), "JPEG", quality=quality)


@pytest.fixture(scope="module")
def originals() -> dict[str, Image.Image]:
    """One archive picture of each family."""
    return {family: pictures.picture(family, 7) for family in sorted(pictures.FAMILIES)}


@pytest.fixture(scope="module")
def index_path(tmp_path_factory: pytest.TempPathFactory, originals: dict[str, Image.Image]) -> Path:
    """An archive of pictures (PNG and JPEG) and a memo, indexed."""
    folder = tmp_path_factory.mktemp("picture-index")
    archive = folder / "archive"
    (archive / "maps").mkdir(parents=True)
    for family, image in originals.items():
        if family == "installation":
            (archive / "site photo.jpg").write_bytes(jpeg(image, 92))
        else:
            (archive / "maps" / f"{family}.png").write_bytes(png(image))
    (archive / "memo.txt").write_text(MEMO, encoding="utf-8")
    location = folder / "index.sqlite"
    with Index.create(location, key=KEY) as index:
        report = build_index(index, [archive])
    assert report.added == len(originals) + 1, report.summary_line()
    assert not report.errors and not report.skipped
    with Index.open(location, key=KEY, readonly=True) as index:
        stats = index.stats()
    assert (stats.documents, stats.pictures) == (len(originals) + 1, len(originals))
    return location


def scan(index_path: Path | str, *targets: Path, jobs: int = 1) -> list[object]:
    with Index.open(index_path, key=KEY, readonly=True) as index:
        records = list(Scanner(index, ScanOptions(jobs=jobs)).scan(targets))
    summary = records[-1]
    assert isinstance(summary, Summary)
    assert summary.items == summary.scanned + summary.skipped + summary.errors
    return records


def picture_findings(records: list[object]) -> dict[str, Finding]:
    """Picture findings by the suspect's file name (an archive member's own name)."""
    found = {}
    for record in records:
        if isinstance(record, Finding) and record.kind == "image-near-duplicate":
            name = record.suspect.replace("!", "/").rsplit("/", 1)[-1]
            assert name not in found, "one finding per suspect picture"
            found[name] = record
    return found


SOURCES = {
    "diagram": "maps/diagram.png",
    "installation": "site photo.jpg",
    "map": "maps/map.png",
    "noise": "maps/noise.png",
    "shapes": "maps/shapes.png",
}


# -- hashing ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF", "HEIF"])
def test_every_picture_format_hashes_alike(fmt: str, originals: dict[str, Image.Image]) -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()  # to write HEIC here; leakscan registers it to read
    image = originals["map"].convert("RGB")
    options = {"quality": 90} if fmt in ("JPEG", "WEBP", "HEIF") else {}
    data = pictures.encode(image, fmt, **options)
    assert is_picture_type(detect_mime(data)), detect_mime(data)
    reference = hash_picture(png(image)).views[0].hashes
    hashed = hash_picture(data)
    assert hashed.size == image.size and hashed.views[0].name == "full"
    full = hashed.views[0].hashes
    assert (full["phash"] ^ reference["phash"]).bit_count() <= MAX_PHASH
    assert (full["dhash"] ^ reference["dhash"]).bit_count() <= MAX_DHASH


def test_transparent_and_sixteen_bit_pictures_hash_as_they_look(
    originals: dict[str, Image.Image],
) -> None:
    image = originals["noise"].convert("RGB")
    reference = hash_picture(png(image)).views[0].hashes
    rgba = image.convert("RGBA")
    rgba.putalpha(255)
    gray = image.convert("L")
    sixteen = Image.fromarray(np.asarray(gray, dtype=np.uint16) * 257)
    for data in (pictures.encode(rgba, "PNG"), pictures.encode(sixteen, "PNG")):
        full = hash_picture(data).views[0].hashes
        assert (full["phash"] ^ reference["phash"]).bit_count() <= 4


def test_exif_orientation_is_applied(originals: dict[str, Image.Image]) -> None:
    upright = originals["installation"].convert("RGB")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # as a phone stores a turned photo
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to show"
    out = io.BytesIO()
    stored.save(out, "JPEG", quality=90, exif=exif.tobytes())
    hashed = hash_picture(out.getvalue())
    assert hashed.size == upright.size
    reference = hash_picture(png(upright)).views[0].hashes
    assert (hashed.views[0].hashes["phash"] ^ reference["phash"]).bit_count() <= 4


def test_a_large_jpeg_is_decoded_small_and_other_large_pictures_are_refused(
    originals: dict[str, Image.Image],
) -> None:
    image = originals["noise"].convert("RGB")  # about 1 megapixel
    limit = image.width * image.height // 10
    hashed = hash_picture(jpeg(image), max_pixels=limit)  # decoded at 1/4 or 1/8 scale
    assert hashed.size == image.size and hashed.views
    with pytest.raises(PictureTooLargeError, match="pixel limit"):
        hash_picture(png(image), max_pixels=limit)


def test_plain_views_have_no_hashes() -> None:
    blank = Image.new("RGB", (800, 600), (250, 250, 250))
    assert hash_picture(png(blank)).views == ()
    half = Image.new("RGB", (800, 600), (255, 255, 255))
    half.paste((20, 40, 200), (0, 0, 400, 600))
    assert [v.name for v in hash_picture(png(half)).views][:1] == ["full"]


def test_the_documented_probe_radius_covers_the_threshold() -> None:
    assert BANDS * (PROBE_RADIUS + 1) - 1 >= MAX_PHASH


def test_image_score_falls_with_distance() -> None:
    assert image_score(0, 0) == 1.0
    assert image_score(2, 2) > image_score(6, 4) > image_score(MAX_PHASH, MAX_DHASH) > 0.5


# -- the index ----------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def any_index(request: pytest.FixtureRequest, tmp_path: Path) -> Index:
    location = "memory://" if request.param == "memory" else str(tmp_path / "i.sqlite")
    return Index.create(location, key=KEY)


def _view(phash: int, dhash: int, name: str = "full") -> PictureHashes:
    return PictureHashes(
        (100, 100), (View(name, (0, 0, 100, 100), {"phash": phash, "dhash": dhash}),)
    )


def _store(index: Index, path: str, picture: PictureHashes) -> int:
    index.add_hashes(
        np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), 0, 0, path=path, sha256=path
    )
    content_id = index.backend.find_content(path)
    assert content_id is not None
    PictureIndex(index).add(content_id, picture)
    return content_id


def test_backends_store_look_up_and_remove_pictures_alike(any_index: Index) -> None:
    near = 0x0123_4567_89AB_CDEF
    a = _store(any_index, "a.png", _view(near, 0xFFFF))
    b = _store(any_index, "b.png", _view(near ^ 0xF0F0_0000_0000_0000, 0xFFFF))  # 8 bits off
    _store(any_index, "c.png", _view(~near & (2**64 - 1), 0xFFFF))  # far from everything
    any_index.commit()
    index = PictureIndex(any_index)
    assert index.holds_pictures()
    found = index.lookup(_view(near ^ 0b101, 0xFFFF ^ 0b1))  # 2 and 1 bits from a
    assert [(m.content_id, m.phash_distance, m.dhash_distance) for m in found] == [
        (a, 2, 1),
        (b, 10, 1),
    ]
    assert index.lookup(_view(near, 0xFFFF ^ 0xFFFF_0000)) == []  # dHash 16 bits off: no match
    assert any_index.backend.count_pictures() == 3
    assert any_index.remove("a.png")
    any_index.commit()
    assert [m.content_id for m in PictureIndex(any_index).lookup(_view(near, 0xFFFF))] == [b]
    assert any_index.backend.image_hashes([a]) == {}
    any_index.close()


@given(
    phash=st.integers(0, 2**64 - 1),
    flips=st.lists(st.integers(0, 63), min_size=0, max_size=11, unique=True),
)
def test_banded_lookup_finds_every_hash_within_eleven_bits(phash: int, flips: list[int]) -> None:
    index = Index.create("memory://", key=KEY)
    content_id = _store(index, "x.png", _view(phash, 7))
    changed = phash
    for bit in flips:
        changed ^= 1 << bit
    found = PictureIndex(index).lookup(_view(changed, 7), max_phash=BANDS * 3 - 1)
    assert [m.content_id for m in found] == [content_id]


def test_a_different_picture_scheme_asks_for_a_rebuild(tmp_path: Path) -> None:
    from leakscan.errors import SchemeMismatchError

    index = Index.create(tmp_path / "i.sqlite", key=KEY)
    _store(index, "a.png", _view(1, 1))
    index.backend.write_meta({"image_scheme": '{"bands": 4, "version": 99}'})
    with pytest.raises(SchemeMismatchError, match="rebuild"):
        PictureIndex(index).holds_pictures()
    with pytest.raises(SchemeMismatchError, match="rebuild"):
        Scanner(index)  # before any item is read
    index.close()


# -- scans ----------------------------------------------------------------------


def test_changed_copies_are_found_and_unrelated_pictures_are_not(
    tmp_path: Path, index_path: Path, originals: dict[str, Image.Image]
) -> None:
    suspect = tmp_path / "phone"
    suspect.mkdir()
    copies = {
        "diagram": "resize-50",
        "installation": "whatsapp",
        "map": "crop-10",
        "noise": "straighten-2-3",
        "shapes": "screenshot",
    }
    for number, (family, change) in enumerate(copies.items()):
        copy = pictures.transform(originals[family], change, number)
        (suspect / f"{family}-{change}.jpg").write_bytes(jpeg(copy, 40 if number % 2 else 80))
    (suspect / "map-crop-5.png").write_bytes(png(pictures.transform(originals["map"], "crop-5", 9)))
    for name, image in pictures.corpus(5, 4000):  # the same kinds of picture, other seeds
        (suspect / f"unrelated-{name}.png").write_bytes(png(image))
        screenshot = pictures.screenshot(image, np.random.default_rng(3))
        (suspect / f"Screenshot unrelated-{name}.png").write_bytes(png(screenshot))
    records = scan(index_path, suspect, jobs=2)
    found = picture_findings(records)
    expected = {f"{family}-{change}.jpg": SOURCES[family] for family, change in copies.items()}
    expected["map-crop-5.png"] = SOURCES["map"]
    assert {name: f.source for name, f in found.items()} == expected
    for finding in found.values():
        assert finding.image is not None
        assert finding.image.phash_distance <= MAX_PHASH
        assert finding.image.dhash_distance <= MAX_DHASH
        assert finding.simhash_distance == finding.image.phash_distance
        assert 0.5 < finding.score <= 1.0
    shot = found["shapes-screenshot.jpg"]
    assert shot.image is not None and shot.image.suspect_view.startswith("region-")
    assert shot.coverage < 0.6  # the picture fills part of the screen only
    left, top, right, bottom = shot.image.region
    width, height = shot.image.suspect_size
    assert 0 < left < right < width and 0 < top < bottom < height
    summary = records[-1]
    assert isinstance(summary, Summary)
    assert summary.findings == 6 and summary.scanned == summary.items == 16
    assert not [r for r in records if isinstance(r, ErrorRecord | SkippedRecord | NoteRecord)]


def test_pictures_ocr_skips_are_still_compared_by_their_look(
    tmp_path: Path, index_path: Path, originals: dict[str, Image.Image]
) -> None:
    suspect = tmp_path / "phone"
    suspect.mkdir()
    (suspect / "IMG_0042.jpg").write_bytes(jpeg(pictures.transform(originals["map"], "crop-5", 1)))
    (suspect / "IMG_0043.jpg").write_bytes(jpeg(pictures.picture("map", 4444)))
    with Index.open(index_path, key=KEY, readonly=True) as index:
        options = ScanOptions(ocr=OcrSettings(enabled=False))
        records = list(Scanner(index, options).scan([suspect]))
    skipped = [r for r in records if isinstance(r, SkippedRecord)]
    assert len(skipped) == 2 and all("OCR is off" in r.reason for r in skipped)
    assert [f.source for f in picture_findings(records).values()] == [SOURCES["map"]]
    notes = [r for r in records if isinstance(r, NoteRecord)]
    assert len(notes) == 2 and all("compared by its look" in n.note for n in notes)
    summary = records[-1]
    assert isinstance(summary, Summary) and (summary.skipped, summary.findings) == (2, 1)


def test_a_photo_sent_in_a_whatsapp_export_names_its_message(
    tmp_path: Path, index_path: Path, originals: dict[str, Image.Image]
) -> None:
    photo = pictures.transform(originals["installation"], "whatsapp", 1)
    other = pictures.picture("installation", 4321)
    sent_at = START + timedelta(minutes=2)
    messages = [
        WaMessage(START, "Ayesha Khan", "Did you get the pictures of the site?"),
        WaMessage(START + timedelta(minutes=1), "Bilal Qureshi", "Yes, here"),
        WaMessage(sent_at, "Bilal Qureshi", "", WaAttachment("IMG-20260311-WA0007.jpg")),
        WaMessage(sent_at, "Bilal Qureshi", "", WaAttachment("IMG-20260311-WA0008.jpg")),
    ]
    export = tmp_path / "WhatsApp Chat with Budget Team.zip"
    write_whatsapp_export(
        export,
        messages,
        zipped=True,
        attachments={
            "IMG-20260311-WA0007.jpg": jpeg(photo, 60),
            "IMG-20260311-WA0008.jpg": jpeg(other, 60),
        },
    )
    records = scan(index_path, export)
    found = picture_findings(records)
    assert list(found) == ["IMG-20260311-WA0007.jpg"]
    finding = found["IMG-20260311-WA0007.jpg"]
    assert finding.suspect == f"{export}!IMG-20260311-WA0007.jpg"
    assert finding.source == "site photo.jpg"
    assert finding.sent_in is not None and "Budget Team.txt#L" in finding.sent_in
    assert finding.sender == "Bilal Qureshi" and finding.sent_at == sent_at.isoformat()
    assert finding.member_sha256 is not None and finding.member_sha256 != finding.suspect_sha256
    with zipfile.ZipFile(export) as archive:
        import hashlib

        member = archive.read("IMG-20260311-WA0007.jpg")
    assert finding.member_sha256 == hashlib.sha256(member).hexdigest()


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims a size and holds (almost) no pixels: a decompression bomb's header."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = b"IDAT" + zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", len(idat) - 4)
        + idat
        + struct.pack(">I", zlib.crc32(idat))
    )


def test_damaged_and_huge_pictures_become_records(
    tmp_path: Path, index_path: Path, originals: dict[str, Image.Image]
) -> None:
    suspect = tmp_path / "bad"
    suspect.mkdir()
    whole = jpeg(originals["map"])
    (suspect / "truncated.jpg").write_bytes(whole[: len(whole) // 3])
    good = png(originals["shapes"])
    scrambled = good[:200] + bytes(b ^ 0x5A for b in good[200:4000]) + good[4000:]
    (suspect / "garbage.png").write_bytes(scrambled)  # a PNG whose image data is damaged
    (suspect / "bomb.png").write_bytes(_png_header(30_000, 30_000))  # over Pillow's own limit
    (suspect / "large.png").write_bytes(_png_header(9_500, 9_500))  # over leakscan's limit
    (suspect / "blank.png").write_bytes(png(Image.new("RGB", (640, 480), (255, 255, 255))))
    records = scan(index_path, suspect)
    by_name: dict[str, list[object]] = {}
    for record in records[:-1]:
        by_name.setdefault(Path(getattr(record, "suspect", "")).name, []).append(record)
    (truncated,) = by_name["truncated.jpg"]
    assert isinstance(truncated, ErrorRecord) and "truncated" in truncated.error
    (garbage,) = by_name["garbage.png"]  # OCR's record, or the picture side's
    assert isinstance(garbage, ErrorRecord) and "damaged" in garbage.error + "cannot decode"
    for name in ("bomb.png", "large.png"):
        (huge,) = by_name[name]
        assert isinstance(huge, SkippedRecord) and "pixel" in huge.reason and huge.mime
    assert all(isinstance(r, NoteRecord) for r in by_name["blank.png"])
    assert any("too plain" in r.note for r in by_name["blank.png"] if isinstance(r, NoteRecord))
    assert not picture_findings(records)
    summary = records[-1]
    assert isinstance(summary, Summary)
    assert (summary.errors, summary.skipped, summary.scanned) == (2, 2, 1)


def test_bad_archive_pictures_do_not_stop_a_build(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "bomb.png").write_bytes(_png_header(30_000, 30_000))
    (archive / "truncated.jpg").write_bytes(jpeg(pictures.picture("map", 1))[:3000])
    (archive / "blank.png").write_bytes(png(Image.new("RGB", (320, 200), (0, 0, 0))))
    (archive / "good.png").write_bytes(png(pictures.picture("shapes", 1)))
    with Index.create(tmp_path / "i.sqlite", key=KEY) as index:
        report = build_index(index, [archive])
        assert report.added == 1
        assert [Path(r.suspect).name for r in report.errors] == ["truncated.jpg"]
        skipped = {Path(r.suspect).name: r.reason for r in report.skipped}
        assert set(skipped) == {"bomb.png", "blank.png"}
        assert "pixel" in skipped["bomb.png"]
        assert skipped["blank.png"] == "no text found by OCR"  # nor a look: plain
        assert index.backend.count_pictures() == 1


def test_a_rebuild_keeps_unchanged_pictures_and_replaces_changed_ones(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    first, second = pictures.picture("installation", 61), pictures.picture("installation", 62)
    (archive / "site.png").write_bytes(png(first))
    location = tmp_path / "i.sqlite"
    with Index.create(location, key=KEY) as index:
        assert build_index(index, [archive]).added == 1
        assert build_index(index, [archive]).unchanged == 1
        (archive / "site.png").write_bytes(png(second))
        assert build_index(index, [archive]).replaced == 1
        assert index.backend.count_pictures() == 1
    old_copy, new_copy = tmp_path / "old.jpg", tmp_path / "new.jpg"
    old_copy.write_bytes(jpeg(first, 60))
    new_copy.write_bytes(jpeg(second, 60))
    assert list(picture_findings(scan(location, old_copy, new_copy))) == ["new.jpg"]


def test_public_pictures_raise_no_findings(tmp_path: Path) -> None:
    archive = tmp_path / "press"
    archive.mkdir()
    image = pictures.picture("map", 55)
    (archive / "published map.png").write_bytes(png(image))
    location = tmp_path / "i.sqlite"
    with Index.create(location, key=KEY) as index:
        build_index(index, [archive], public=True)
    suspect = tmp_path / "copy.jpg"
    suspect.write_bytes(jpeg(image, 50))
    assert picture_findings(scan(location, suspect)) == {}


def _ocr_reads(data: bytes) -> Extracted:
    """Stands in for the OCR extractor (another module's work): a page photo's text."""
    return Extracted(MEMO, "image/png")


def _ocr_fails(data: bytes) -> Extracted:
    """Stands in for an OCR extractor that gives up on a picture."""
    raise ExtractionError("OCR stand-in found no text")


def test_a_picture_with_text_gives_text_and_picture_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(EXTRACTORS, "image/png", f"{__name__}:_ocr_reads")
    archive = tmp_path / "archive"
    archive.mkdir()
    image = pictures.picture("diagram", 77)
    (archive / "network.png").write_bytes(png(image))
    with Index.create("memory://", key=KEY) as index:
        report = build_index(index, [archive])
        assert report.added == 1
        (document,) = index.documents()
        assert index.backend.count_pictures() == 1
        assert index.contents([document.content_id])[document.content_id].n_tokens > 0
        suspect = tmp_path / "copy.png"
        suspect.write_bytes(png(pictures.transform(image, "resize-50", 1)))
        records = list(Scanner(index).scan([suspect]))
    kinds = sorted(r.kind for r in records if isinstance(r, Finding))
    assert kinds == ["exact-copy", "image-near-duplicate"]
    assert {r.source for r in records if isinstance(r, Finding)} == {"network.png"}
    assert not [r for r in records if isinstance(r, NoteRecord | SkippedRecord | ErrorRecord)]


def test_a_picture_whose_text_fails_is_still_indexed_and_compared_by_its_look(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(EXTRACTORS, "image/png", f"{__name__}:_ocr_fails")
    archive = tmp_path / "archive"
    archive.mkdir()
    image = pictures.picture("map", 78)
    (archive / "route.png").write_bytes(png(image))
    with Index.create("memory://", key=KEY) as index:
        report = build_index(index, [archive])
        assert (report.added, report.errors) == (1, [])
        suspect = tmp_path / "copy.png"
        suspect.write_bytes(png(pictures.transform(image, "crop-5", 1)))
        records = list(Scanner(index).scan([suspect]))
    (finding,) = [r for r in records if isinstance(r, Finding)]
    assert finding.kind == "image-near-duplicate" and finding.source == "route.png"
    (error,) = [r for r in records if isinstance(r, ErrorRecord)]
    assert "OCR stand-in" in error.error  # the text side's failure is kept, not hidden


def test_finding_record_and_text_report(tmp_path: Path, index_path: Path) -> None:
    copy = tmp_path / "IMG_0001.png"
    copy.write_bytes(png(pictures.transform(pictures.picture("noise", 7), "resize-50", 2)))
    (finding,) = picture_findings(scan(index_path, copy)).values()
    data = finding.to_dict()
    assert data["kind"] == "image-near-duplicate" and data["passages"] == []
    assert data["image_distance"] == data["simhash_distance"] == data["image"]["distances"]["phash"]
    assert data["image"]["hashes"] == "phash+dhash" and len(data["image"]["region"]) == 4
    out = io.StringIO()
    TextWriter(out).write(finding)
    assert "shows the picture maps/noise.png" in out.getvalue()
    assert "bits apart" in out.getvalue()


# -- indexes built before pictures ------------------------------------------------


def _as_version_1(location: Path) -> None:
    """Turn an index into what leakscan wrote before pictures: no picture tables, version 1."""
    db = sqlite3.connect(location)
    db.execute("DROP TABLE image_hashes")
    db.execute("DROP TABLE image_bands")
    db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db.commit()
    db.close()


def _schema(location: Path) -> tuple[str, set[str]]:
    db = sqlite3.connect(location)
    version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    db.close()
    return version, tables


def test_an_index_built_before_pictures_still_opens_scans_and_migrates(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "memo.txt").write_text(MEMO, encoding="utf-8")
    location = tmp_path / "old.sqlite"
    with Index.create(location, key=KEY) as index:
        build_index(index, [archive])
    _as_version_1(location)
    image = pictures.picture("map", 31)
    suspect = tmp_path / "phone"
    suspect.mkdir()
    (suspect / "memo copy.txt").write_text(MEMO, encoding="utf-8")
    (suspect / "map.jpg").write_bytes(jpeg(image, 50))

    records = scan(location, suspect)  # read-only: read as it is, left as it is
    assert [f.kind for f in records if isinstance(f, Finding)] == ["exact-copy"]
    assert not [r for r in records if isinstance(r, ErrorRecord)]
    assert _schema(location)[0] == "1" and "image_hashes" not in _schema(location)[1]

    (archive / "map.png").write_bytes(png(image))
    with Index.create(location, key=KEY) as index:  # a writer migrates, then builds
        assert _schema(location)[0] == str(SCHEMA_VERSION)
        report = build_index(index, [archive])
    assert (report.added, report.unchanged) == (1, 1)
    version, tables = _schema(location)
    assert version == str(SCHEMA_VERSION) and {"image_hashes", "image_bands"} <= tables
    found = picture_findings(scan(location, suspect))
    assert [f.source for f in found.values()] == ["map.png"]
