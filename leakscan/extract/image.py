"""Pictures (photos of pages, screenshots, scans): their text read by OCR.

JPEG, PNG, WebP, TIFF (every frame a page), BMP, GIF and HEIC/HEIF. How they
are decoded and read is :mod:`leakscan.ocr`'s business; this module is the
entry the extractor table names. A picture in which OCR finds no text is read
all the same (an empty text): a photo of a harbour is not an error.
"""

from __future__ import annotations

import functools
from dataclasses import replace

from . import IMAGE_TYPES, Extracted

__all__ = ["IMAGE_TYPES", "extract"]

#: Pillow's format names → MIME type (a phone's MPO is a JPEG with a second picture).
_FORMATS = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
    "DIB": "image/bmp",
    "GIF": "image/gif",
    "HEIF": "image/heif",
}


def extract(data: bytes) -> Extracted:
    from ..ocr import current
    from ..ocr.images import frame, open_picture
    from ..ocr.reader import PageReader, assemble, out_of_time_note

    session = current()
    settings = session.settings
    reader = PageReader(data, session)
    notes: list[str] = []
    image, count = open_picture(
        data, max_pixels=settings.max_pixels, max_pages=settings.max_pages, notes=notes
    )
    readings = []
    with image:
        for number in range(1, count + 1):
            decode = functools.partial(
                frame,
                image,
                number,
                max_pixels=settings.max_pixels,
                work_pixels=settings.work_pixels,
            )
            reading = reader.read(number, decode)
            if reading is None:
                notes.append(out_of_time_note(number - 1, count, "pages"))
                break
            readings.append(reading)
    mime = _FORMATS.get(image.format or "", "image/unknown")
    text, starts, info = assemble(mime, [""] * len(readings), readings, reader, notes)
    return replace(Extracted(text, mime, starts, tuple(notes)), ocr=info)
