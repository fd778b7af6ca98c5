"""Pictures to perceptual hashes: decoded under a pixel limit, seen whole and in parts.

A map, diagram or site photo in the case archive holds little text to
fingerprint, but its copies keep its look: resized, recompressed, cropped a
little, turned a little, or screenshotted in a viewer or chat app. Each
picture is hashed in a few *views*, the same way at ``index build`` and at
``scan``:

* ``full``: the whole picture (after its EXIF orientation);
* ``trim``: the picture less its plain margins (a diagram cropped to its boxes);
* ``inner``: its centre 90 % (a copy turned a few degrees, corners lost, still
  matches it); in the index also ``inner-nw``, ``-ne``, ``-sw``, ``-se``: 90 %
  boxes shifted a quarter of the slack, so a copy cropped by up to 10 % lies
  within 2.5 % of one view of the original wherever the cut fell;
* on the suspect side only, ``region-N`` and ``region-N-trim``: rectangles framed
  by long straight edges, where a screenshot shows a picture among toolbars
  and panels (see :mod:`leakscan.image_regions`).

Every view gets two 64-bit hashes from the kept ``imagehash`` library: the
DCT hash (pHash, the primary, looked up by band) and the difference hash
(dHash, checked on the candidates): unrelated pictures rarely come close on
both. The choice and thresholds were measured (``benchmarks/image_hashes.py``,
README "Pictures without text"). Bits are read row by row, the first bit the
most significant.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .errors import ExtractionError
from .extract import IMAGE_TYPES

if TYPE_CHECKING:  # Pillow is imported when a picture is first read
    from PIL.Image import Image

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "HASH_KINDS",
    "IMAGE_SCHEME",
    "PICTURE_TYPES",
    "PictureHashes",
    "PictureTooLargeError",
    "View",
    "bits_to_int",
    "decode",
    "hash_picture",
    "hash_view",
    "is_picture_type",
]

#: MIME types (as libmagic names them) read as pictures: those OCR reads too.
PICTURE_TYPES = frozenset(IMAGE_TYPES)
#: Hash kinds, the first one banded for lookup.
HASH_KINDS = ("phash", "dhash")
#: What an index's picture hashes were made with; a change here means a rebuild.
IMAGE_SCHEME: dict[str, object] = {"version": 1, "kinds": list(HASH_KINDS), "work_side": 1024}
#: Pictures with more pixels are not decoded (JPEGs are first decoded at 1/2..1/8 scale).
DEFAULT_MAX_PIXELS = 80_000_000  # as OCR's limit (leakscan.ocr.OcrSettings.max_pixels)
#: Longest side views are hashed at: enough for an 8x8 DCT of a 32x32 thumbnail.
_WORK_SIDE = 1024
#: Share of each side the ``inner`` view drops (5 % each side).
_INNER_MARGIN = 0.05
#: Where the four shifted inner boxes sit, as shares of the slack (name, x, y).
_QUARTERS = (
    ("inner-nw", 0.25, 0.25),
    ("inner-ne", 0.75, 0.25),
    ("inner-sw", 0.25, 0.75),
    ("inner-se", 0.75, 0.75),
)
#: A margin is plain when no row (column) has this share of pixels off its colour.
_TRIM_TOLERANCE = 24
_TRIM_MIN_SHARE = 0.004
#: Views whose 64x64 grey thumbnail varies less than this (standard deviation) are plain.
_PLAIN_STD = 3.0
#: Trims smaller than this share of a side are no new view.
_TRIM_MIN_GAIN = 0.03


class PictureTooLargeError(ExtractionError):
    """A picture with more pixels than allowed: passed over by rule, never decoded."""


@dataclass(frozen=True)
class View:
    """One view of a picture: its name, its box in pixels of the picture as stored
    (after EXIF orientation), and its hashes by kind."""

    name: str
    box: tuple[int, int, int, int]
    hashes: dict[str, int]


@dataclass(frozen=True)
class PictureHashes:
    """A picture's views and the size it was read at (width, height as oriented)."""

    size: tuple[int, int]
    views: tuple[View, ...]
    notes: tuple[str, ...] = ()


def is_picture_type(mime: str | None) -> bool:
    """Whether items of this MIME type are hashed as pictures.

    >>> is_picture_type("image/jpeg"), is_picture_type("image/svg+xml"), is_picture_type(None)
    (True, False, False)
    """
    return mime is not None and mime.split(";", 1)[0].strip().lower() in PICTURE_TYPES


def bits_to_int(bits: np.ndarray) -> int:
    """A boolean hash array as an unsigned integer, row by row, first bit most significant.

    >>> bits_to_int(np.array([[True, False], [False, True]]))
    9
    """
    value = 0
    for bit in np.asarray(bits, dtype=bool).ravel().tolist():
        value = (value << 1) | int(bit)
    return value


_heif_registered = False


def _register_heif() -> None:
    """Teach Pillow HEIC/HEIF (iPhone photos) once, when a picture is first opened."""
    global _heif_registered
    if not _heif_registered:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        _heif_registered = True


def decode(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[Image, tuple[int, int]]:
    """The first frame of a picture as an RGB Pillow image of at most ``_WORK_SIDE`` pixels a
    side, EXIF orientation applied, and the size the picture has as stored (oriented).

    Raises PictureTooLargeError for a picture over ``max_pixels`` (after the most a JPEG
    can be scaled down while decoding), ExtractionError when it cannot be decoded.
    """
    from PIL import Image as PIL

    _register_heif()
    try:
        with warnings.catch_warnings():
            # Our own limit below decides; Pillow's warning would be an error under pytest.
            warnings.simplefilter("ignore", PIL.DecompressionBombWarning)
            opened = PIL.open(io.BytesIO(data))
        width, height = opened.size
        if width <= 0 or height <= 0:
            raise ExtractionError("picture has no pixels")
        # A JPEG is decoded at up to 1/8 scale (draft): only 64 times the limit is too many.
        over = max_pixels * (64 if opened.format == "JPEG" else 1)
        if width * height > over:
            raise PictureTooLargeError(
                f"picture of {width}x{height} pixels is over the {max_pixels}-pixel limit"
            )
        if opened.format == "JPEG":
            # decoded at 1/2..1/8 scale, enough for the working size: far less memory and work
            opened.draft("RGB", (_WORK_SIDE, _WORK_SIDE))
        tag = opened.getexif().get(0x0112, 1)
        orientation = tag if isinstance(tag, int) else 1  # a hostile tag turns nothing
        stored = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
        image = _orient(_to_rgb(opened), orientation)
        image.thumbnail((_WORK_SIDE, _WORK_SIDE), PIL.Resampling.LANCZOS)
        return image, stored
    except ExtractionError:
        raise
    except PIL.DecompressionBombError as exc:
        raise PictureTooLargeError(_one_line(exc)) from exc
    except MemoryError as exc:
        raise ExtractionError("ran out of memory while decoding the picture") from exc
    except Exception as exc:  # Pillow's decoders raise anything on damaged files
        raise ExtractionError(f"cannot decode the picture: {_one_line(exc)}") from exc


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


def _orient(image: Image, orientation: int) -> Image:
    """The picture turned as its EXIF orientation tag says it is to be shown."""
    from PIL import Image as PIL

    method = {
        2: PIL.Transpose.FLIP_LEFT_RIGHT,
        3: PIL.Transpose.ROTATE_180,
        4: PIL.Transpose.FLIP_TOP_BOTTOM,
        5: PIL.Transpose.TRANSPOSE,
        6: PIL.Transpose.ROTATE_270,
        7: PIL.Transpose.TRANSVERSE,
        8: PIL.Transpose.ROTATE_90,
    }.get(orientation)
    return image.transpose(method) if method is not None else image


def _to_rgb(image: Image) -> Image:
    """RGB pixels: transparency laid over white, 16-bit and float pictures scaled to 8 bits."""
    from PIL import Image as PIL

    image.load()  # damaged data fails here, inside decode's handler
    mode = image.mode
    if mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) * (255.0 / (high - low)) if high > low else values * 0
        return PIL.fromarray(scaled.astype(np.uint8)).convert("RGB")
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = PIL.new("RGBA", rgba.size, (255, 255, 255, 255))
        return PIL.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB") if mode != "RGB" else image


def hash_view(image: Image) -> dict[str, int] | None:
    """The hashes of one view (a Pillow image), by kind; None for a plain view (one colour,
    a faint gradient), whose hashes are noise that any other plain view would match."""
    import imagehash
    from PIL import Image as PIL

    # Area-averaged to 64x64 first: the hashes' own resizing is then cheap and alias-free.
    gray = image.convert("L") if image.mode != "L" else image
    gray = gray.resize((64, 64), PIL.Resampling.BOX)
    if float(np.asarray(gray, dtype=np.float32).std()) < _PLAIN_STD:
        return None
    return {
        "phash": bits_to_int(imagehash.phash(gray).hash),
        "dhash": bits_to_int(imagehash.dhash(gray).hash),
    }


def trim_box(rgb: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box inside plain margins (rows and columns of one colour) of an RGB pixel array,
    or None when the margins are too thin to matter or nothing but margin is left."""
    height, width = rgb.shape[:2]
    if height < 16 or width < 16:
        return None
    step = max(1, max(height, width) // 256)  # margins to a few pixels are close enough
    sample = rgb[::step, ::step]
    edge = np.concatenate([sample[0], sample[-1], sample[:, 0], sample[:, -1]])
    background = np.median(edge, axis=0)
    off = np.abs(sample.astype(np.int16) - background.astype(np.int16)).max(axis=2)
    off = off > _TRIM_TOLERANCE
    rows = np.flatnonzero(off.sum(axis=1) > max(1, _TRIM_MIN_SHARE * off.shape[1]))
    cols = np.flatnonzero(off.sum(axis=0) > max(1, _TRIM_MIN_SHARE * off.shape[0]))
    if len(rows) == 0 or len(cols) == 0:
        return None
    top, left = int(rows[0]) * step, int(cols[0]) * step
    bottom = min(height, (int(rows[-1]) + 1) * step)
    right = min(width, (int(cols[-1]) + 1) * step)
    if (right - left) < 0.2 * width or (bottom - top) < 0.2 * height:
        return None
    gain = max(top / height, 1 - bottom / height, left / width, 1 - right / width)
    return (left, top, right, bottom) if gain >= _TRIM_MIN_GAIN else None


def _inner_boxes(width: int, height: int) -> Iterator[tuple[str, tuple[int, int, int, int]]]:
    """The centre 90 % and, for the index, four more 90 % boxes shifted a quarter of the
    slack each way: a copy cropped by up to 10 %, wherever the cut fell, then lies within
    2.5 % of one of them."""
    dx, dy = width * _INNER_MARGIN, height * _INNER_MARGIN
    w, h = width - 2 * dx, height - 2 * dy
    yield "inner", (round(dx), round(dy), round(dx + w), round(dy + h))
    for name, fx, fy in _QUARTERS:
        left, top = 2 * dx * fx, 2 * dy * fy
        yield name, (round(left), round(top), round(left + w), round(top + h))


def _views(image: Image, *, suspect: bool) -> Iterator[tuple[str, tuple[int, int, int, int]]]:
    """Names and boxes (in pixels of the working image) of the views to hash."""
    width, height = image.size
    yield "full", (0, 0, width, height)
    pixels = np.asarray(image)
    trimmed = trim_box(pixels)
    if trimmed is not None:
        yield "trim", trimmed
    if width >= 32 and height >= 32:
        inner = _inner_boxes(width, height)
        yield next(inner)
        if not suspect:
            yield from inner
    if suspect:
        from .image_regions import framed_regions

        half = pixels[::2, ::2] if max(width, height) > 512 else pixels  # edges stay long
        factor = 2 if half is not pixels else 1
        for number, found in enumerate(framed_regions(half)):
            box = (
                found[0] * factor,
                found[1] * factor,
                min(width, found[2] * factor),
                min(height, found[3] * factor),
            )
            # in from the frame: the edge itself is a blend of both sides after scaling
            left, top, right, bottom = box
            inset_x, inset_y = max(2, (right - left) // 200), max(2, (bottom - top) // 200)
            box = (left + inset_x, top + inset_y, right - inset_x, bottom - inset_y)
            yield f"region-{number}", box
            left, top, right, bottom = box
            inside = trim_box(pixels[top:bottom, left:right])
            if inside is not None:
                x0, y0, x1, y1 = inside
                yield f"region-{number}-trim", (left + x0, top + y0, left + x1, top + y1)


def hash_picture(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, suspect: bool = False
) -> PictureHashes:
    """Decode a picture and hash its views: as an archive picture (the shifted inner views)
    or as a ``suspect`` (the framed rectangles a screenshot shows).

    Raises ExtractionError (PictureTooLargeError for too many pixels).
    """
    image, stored = decode(data, max_pixels)
    scale_x, scale_y = stored[0] / image.width, stored[1] / image.height
    gray = image.convert("L")
    views = []
    for name, box in _views(image, suspect=suspect):
        left, top, right, bottom = box
        if right - left < 8 or bottom - top < 8:
            continue
        crop = gray if box == (0, 0, image.width, image.height) else gray.crop(box)
        stored_box = (
            round(left * scale_x),
            round(top * scale_y),
            round(right * scale_x),
            round(bottom * scale_y),
        )
        hashes = hash_view(crop)
        if hashes is not None:
            views.append(View(name, stored_box, hashes))
    return PictureHashes(stored, tuple(views))
