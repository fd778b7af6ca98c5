"""Pictures to greyscale pages, within limits: a hostile picture costs a record, never the machine.

Every format Pillow reads (JPEG, PNG, WebP, TIFF, BMP, GIF) and HEIC/HEIF
(iPhone photos) through pillow-heif. The size in the header is checked before
any pixel is decoded: a picture over ``max_pixels`` (a 20,000 × 20,000 PNG
that compresses to a few kilobytes) is refused unread, and Pillow's own
decompression-bomb guard is turned into the same refusal. Big pictures are
scaled down to ``work_pixels`` (JPEG already while decoding: its DCT scaling
decodes a quarter or an eighth of the pixels). A multi-page TIFF gives one
page per frame; an animated GIF or WebP only its first frame, with a note.
EXIF orientation is applied, and every step is recorded in a
:class:`~leakscan.ocr.geometry.Placement` so word boxes come back in the
pixels of the picture as stored.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import ExtractionError, SkippedByRuleError
from ..extract import one_line
from .geometry import Placement

__all__ = ["Frame", "frame", "megapixels", "open_picture", "shrink"]

#: EXIF Orientation → the transpose that shows the picture upright.
_EXIF_TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ORIENTATION_TAG = 0x0112
#: Formats whose later frames are animation, not pages.
_ANIMATIONS = {"GIF", "WEBP", "PNG", "MPO", "HEIF", "AVIF"}

_heif_registered = False


@dataclass
class Frame:
    """One page of a picture: upright per EXIF, greyscale, at most ``work_pixels``;
    ``placement`` maps it back onto the stored pixels."""

    number: int
    image: Image.Image
    placement: Placement


def megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:g}-megapixel"


def _register_heif() -> None:
    """Let Pillow open HEIC/HEIF (pillow-heif), once per process."""
    global _heif_registered
    if not _heif_registered:
        try:
            import pillow_heif
        except ImportError:  # pragma: no cover - a dependency; a broken install says so
            return
        pillow_heif.register_heif_opener()
        _heif_registered = True


def _open(data: bytes, max_pixels: int) -> Image.Image:
    _register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise SkippedByRuleError(f"picture too large to read: {one_line(exc)}") from exc
    except UnidentifiedImageError as exc:
        raise ExtractionError("not a picture Pillow can read (damaged or unknown format)") from exc
    except Exception as exc:  # truncated headers, odd codecs: Pillow raises many kinds
        raise ExtractionError(f"damaged picture: {one_line(exc)}") from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ExtractionError(f"damaged picture: its header says {width}×{height} pixels")
    if width * height > max_pixels:
        raise SkippedByRuleError(
            f"picture of {width}×{height} pixels is over the {megapixels(max_pixels)} limit: "
            "not decoded"
        )
    return image


def _grey(image: Image.Image) -> Image.Image:
    """Greyscale on white: transparency (screenshots, stickers) over white paper, 16-bit
    scans scaled to 8 bits."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = float(values.max()) or 1.0
        return Image.fromarray((values / top * 255.0).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, rgba).convert("L")
    return image if image.mode == "L" else image.convert("L")


def shrink(image: Image.Image, work_pixels: int, placement: Placement) -> Image.Image:
    """Scale a picture down to at most ``work_pixels`` (recorded in ``placement``)."""
    pixels = image.width * image.height
    if pixels <= work_pixels:
        return image
    factor = (work_pixels / pixels) ** 0.5
    size = (max(1, int(image.width * factor)), max(1, int(image.height * factor)))
    placement.scale(size)
    return image.resize(size, Image.Resampling.LANCZOS)


def _decode(image: Image.Image, number: int, work_pixels: int) -> Frame:
    width, height = image.size
    placement = Placement(width, height)
    if image.format == "JPEG" and width * height > work_pixels:
        # DCT scaling: decode at 1/2, 1/4 or 1/8 size instead of decoding everything.
        factor = (work_pixels / (width * height)) ** 0.5
        image.draft("L", (int(width * factor), int(height * factor)))
    try:
        image.load()
    except Exception as exc:  # a truncated or corrupt body
        raise ExtractionError(f"damaged picture: {one_line(exc)}") from exc
    if image.size != (width, height):
        placement.scale(image.size)
    turn = _EXIF_TURNS.get(_orientation(image))
    grey = _grey(image)
    if turn is not None:
        grey = grey.transpose(turn)
        placement.transpose(turn)
    return Frame(number, shrink(grey, work_pixels, placement), placement)


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_ORIENTATION_TAG, 1)
        return int(value) if isinstance(value, int) else 1
    except Exception:  # damaged EXIF: the picture is read as stored
        return 1


def open_picture(
    data: bytes, *, max_pixels: int, max_pages: int, notes: list[str]
) -> tuple[Image.Image, int]:
    """The picture (header read, no pixels decoded) and how many of its pages to read;
    limits and notes as the module docstring says."""
    image = _open(data, max_pixels)
    count = max(1, int(getattr(image, "n_frames", 1) or 1))
    if count > 1 and (image.format or "") in _ANIMATIONS:
        notes.append(f"an animated {image.format} picture ({count} frames): only the first is read")
        count = 1
    if count > max_pages:
        notes.append(f"a picture of {count} pages: only the first {max_pages} are read")
        count = max_pages
    return image, count


def frame(image: Image.Image, number: int, *, max_pixels: int, work_pixels: int) -> Frame:
    """Page ``number`` (1-based) of an opened picture, decoded."""
    if number > 1:
        try:
            image.seek(number - 1)
        except EOFError as exc:
            raise ExtractionError(f"damaged picture: page {number} is missing") from exc
        except Exception as exc:
            raise ExtractionError(f"damaged picture (page {number}): {one_line(exc)}") from exc
        if image.width * image.height > max_pixels:
            raise SkippedByRuleError(
                f"page {number} of the picture has {image.width}×{image.height} pixels, "
                f"over the {megapixels(max_pixels)} limit"
            )
    return _decode(image, number, work_pixels)
