"""Pictures of pages for the OCR tests: typed text rendered with real fonts, then
degraded the way phones and scanners degrade it, with real image operations.

Every text here is invented for the tests (fictional offices, people and places).
Arabic-script text is shaped by Pillow's libraqm layout (``PIL.features.check('raqm')``),
which Nastaliq's stacked, joined glyphs need.
"""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, features

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/opentype/fonts-hosny-amiri"),
    Path("/usr/share/fonts/truetype/dejavu"),
)
#: Typeface → font file (Debian: fonts-noto-core, fonts-hosny-amiri).
FONT_FILES = {
    "serif": "NotoSerif-Regular.ttf",
    "sans": "NotoSans-Regular.ttf",
    "naskh": "NotoNaskhArabic-Regular.ttf",
    "amiri": "Amiri-Regular.ttf",
    "nastaliq": "NotoNastaliqUrdu-Regular.ttf",
}
RTL_FACES = frozenset({"naskh", "amiri", "nastaliq"})

# ---------------------------------------------------------------------------
# Texts (invented)
# ---------------------------------------------------------------------------

ENGLISH_MEMO = (
    "Fernhill Water Board, Records Section. Memorandum to the Chief Engineer on the move "
    "of the basement archive. The basement of the old pumping station flooded twice last "
    "winter and the lower shelves are damp. All registers will be moved to the new building "
    "on Canal Street before the end of next month, in three stages. First, the staff will "
    "list every cupboard and number each box. Second, the boxes will travel only by day in "
    "closed vans, with two clerks beside every van. Third, the clerks at the new building "
    "will check each entry of the list against the boxes and sign for them. Registers "
    "damaged by damp will be kept apart until a binder from the district library can "
    "repair them, and every page will be photographed before repair. The keys of the "
    "basement stay with the supervising officer, and a daily report reaches this office "
    "by five in the evening."
)

ENGLISH_OTHER = (
    "Minutes of the Orchard Lane allotment society, spring meeting. The treasurer reported "
    "that seed orders arrived late because the supplier changed its warehouse. Members "
    "agreed to share the new water butts between the eastern plots, and the secretary will "
    "write to the council about the broken gate near the bus shelter. The pumpkin contest "
    "will be judged in October by the retired headmaster, who asked that entries be labelled "
    "with the grower's plot number only. Tea was served and the meeting closed at half past "
    "eight after a short talk on composting leaves."
)

URDU_MEMO = (
    "نیل پور آبی بورڈ، شعبہ ریکارڈ۔ چیف انجینئر کے نام یادداشت۔ پرانے پمپنگ اسٹیشن کا تہ خانہ "
    "پچھلی سردیوں میں دو بار پانی سے بھر گیا اور نچلی الماریاں نم ہیں۔ تمام رجسٹر اگلے مہینے کے "
    "آخر تک نہر روڈ کی نئی عمارت میں تین مرحلوں میں منتقل کیے جائیں گے۔ پہلے عملہ ہر الماری کی "
    "فہرست بنائے گا اور ہر ڈبے پر نمبر لگائے گا۔ پھر ڈبے صرف دن کے وقت بند گاڑیوں میں جائیں گے "
    "اور ہر گاڑی کے ساتھ دو کلرک ہوں گے۔ آخر میں نئی عمارت کا عملہ فہرست کا ہر اندراج ڈبوں سے ملا "
    "کر دستخط کرے گا۔ نمی سے خراب رجسٹر الگ رکھے جائیں گے اور مرمت سے پہلے ہر صفحے کی تصویر لی "
    "جائے گی۔"
)

URDU_OTHER = (
    "باغبانی انجمن کا بہار کا اجلاس۔ خزانچی نے بتایا کہ بیجوں کا آرڈر دیر سے پہنچا کیونکہ فراہم "
    "کنندہ نے اپنا گودام بدل لیا تھا۔ اراکین نے مشرقی کیاریوں کے درمیان پانی کے نئے ڈرم بانٹنے "
    "پر اتفاق کیا اور سیکرٹری بس اسٹاپ کے قریب ٹوٹے ہوئے دروازے کے بارے میں کونسل کو خط لکھیں گے۔ "
    "کدو کا مقابلہ اکتوبر میں ہوگا اور چائے کے بعد اجلاس ساڑھے آٹھ بجے ختم ہوا۔"
)

ENGLISH_NOTICE = (
    "Notice to all depot staff. From the first of June the night gate of the Fernhill depot "
    "closes at ten, and drivers returning later must ring the duty clerk from the call box by "
    "the weighbridge. Spare keys to the fuel store are no longer kept in the gatehouse drawer; "
    "the duty clerk signs them out and back in the blue register."
)

URDU_NOTICE = (
    "ڈپو کے تمام عملے کے لیے اطلاع۔ یکم جون سے ڈپو کا رات والا دروازہ دس بجے بند ہو جائے گا اور "
    "دیر سے آنے والے ڈرائیور کانٹے کے پاس والے فون سے ڈیوٹی کلرک کو اطلاع دیں گے۔ ایندھن کے "
    "گودام کی فالتو چابیاں اب دربان کی دراز میں نہیں رکھی جائیں گی۔"
)


def fonts_available(faces: Sequence[str] = tuple(FONT_FILES)) -> bool:
    """Whether every font file these tests render with is installed."""
    return all(font_file(face) is not None for face in faces)


def font_file(face: str) -> Path | None:
    name = FONT_FILES[face]
    return next((d / name for d in FONT_DIRS if (d / name).exists()), None)


def raqm_available() -> bool:
    """Pillow lays out Arabic script (joining, Nastaliq's stacking) only with libraqm."""
    return bool(features.check("raqm"))


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------


def _wrap(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int, rtl: bool
) -> list[str]:
    options = {"direction": "rtl", "language": "ur"} if rtl else {}
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if line and draw.textlength(candidate, font=font, **options) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    if line:
        lines.append(line)
    return lines


def render_page(
    text: str,
    face: str = "serif",
    *,
    width: int = 1100,
    font_size: int = 30,
    margin: int = 70,
    line_spacing: float = 1.6,
    blocks: Sequence[tuple[str, str]] = (),
) -> Image.Image:
    """A white page (greyscale) with ``text`` typeset in ``face``, as tall as it needs.

    ``blocks`` adds further paragraphs, each in its own face (a mixed page).
    """
    paragraphs = [(text, face), *blocks]
    probe = ImageDraw.Draw(Image.new("L", (10, 10)))
    laid_out: list[tuple[list[str], ImageFont.FreeTypeFont, bool, int]] = []
    height = margin
    for body, body_face in paragraphs:
        path = font_file(body_face)
        if path is None:
            raise FileNotFoundError(f"font {FONT_FILES[body_face]} is not installed")
        rtl = body_face in RTL_FACES
        size = int(font_size * (1.15 if body_face == "nastaliq" else 1.0))
        font = ImageFont.truetype(str(path), size)
        lines = _wrap(probe, body, font, width - 2 * margin, rtl)
        step = int(size * line_spacing * (1.5 if body_face == "nastaliq" else 1.0))
        laid_out.append((lines, font, rtl, step))
        height += step * len(lines) + step // 2
    page = Image.new("L", (width, height + margin), 255)
    draw = ImageDraw.Draw(page)
    y = margin
    for lines, font, rtl, step in laid_out:
        for line in lines:
            if rtl:
                length = draw.textlength(line, font=font, direction="rtl", language="ur")
                draw.text(
                    (width - margin - length, y),
                    line,
                    font=font,
                    fill=0,
                    direction="rtl",
                    language="ur",
                )
            else:
                draw.text((margin, y), line, font=font, fill=0)
            y += step
        y += step // 2
    return page


# ---------------------------------------------------------------------------
# Degradations (each a real image operation)
# ---------------------------------------------------------------------------


def rotate(image: Image.Image, degrees: float) -> Image.Image:
    """Skewed by a few degrees (a page laid crooked on the scanner)."""
    fill = 255 if image.mode == "L" else (255, 255, 255)
    return image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)


def turn(image: Image.Image, degrees: int) -> Image.Image:
    """Turned a quarter, half or three quarters (a phone held sideways)."""
    ops = {
        90: Image.Transpose.ROTATE_90,
        180: Image.Transpose.ROTATE_180,
        270: Image.Transpose.ROTATE_270,
    }
    return image.transpose(ops[degrees])


def _perspective_coefficients(
    source: Sequence[tuple[float, float]], target: Sequence[tuple[float, float]]
) -> list[float]:
    rows = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(rows, dtype=float)
    b = np.array([c for point in source for c in point], dtype=float)
    return [float(c) for c in np.linalg.solve(a, b)]


def tilt(image: Image.Image, amount: float = 0.08) -> Image.Image:
    """Photographed at an angle: the top edge narrower than the bottom (a perspective warp)."""
    w, h = image.size
    inset = w * amount
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    seen = [(inset, h * amount / 2), (w - inset, 0), (w, h), (0, h * (1 - amount / 3))]
    coefficients = _perspective_coefficients(corners, seen)
    fill = 255 if image.mode == "L" else (255, 255, 255)
    return image.transform(
        (w, h),
        Image.Transform.PERSPECTIVE,
        coefficients,
        Image.Resampling.BICUBIC,
        fillcolor=fill,
    )


def blur(image: Image.Image, radius: float = 1.5) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius))


def uneven_light(image: Image.Image, darkest: float = 0.45) -> Image.Image:
    """A lamp to one side: brightness falls from one corner to the opposite one."""
    grey = np.asarray(image.convert("L"), dtype=np.float32)
    h, w = grey.shape
    ys, xs = np.mgrid[0:h, 0:w]
    light = 1.0 - (1.0 - darkest) * (xs / w * 0.6 + ys / h * 0.4)
    return Image.fromarray(np.clip(grey * light, 0, 255).astype(np.uint8), "L")


def downscale(image: Image.Image, factor: float = 0.5) -> Image.Image:
    w, h = image.size
    return image.resize(
        (max(1, int(w * factor)), max(1, int(h * factor))), Image.Resampling.BILINEAR
    )


def noise(image: Image.Image, sigma: float = 12.0, seed: int = 1) -> Image.Image:
    grey = np.asarray(image.convert("L"), dtype=np.float32)
    rng = np.random.default_rng(seed)
    return Image.fromarray(
        np.clip(grey + rng.normal(0, sigma, grey.shape), 0, 255).astype(np.uint8), "L"
    )


def jpeg_bytes(image: Image.Image, quality: int = 30, exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality, exif=exif or Image.Exif())
    return out.getvalue()


def jpeg(image: Image.Image, quality: int = 30) -> Image.Image:
    """Saved as a JPEG at low quality and opened again (blocking, ringing)."""
    return Image.open(io.BytesIO(jpeg_bytes(image, quality))).convert("L")


def phone_photo(image: Image.Image, seed: int = 3) -> Image.Image:
    """Everything a hurried phone photo does at once: tilt, a slight skew, blur, a lamp
    to one side, a smaller picture, JPEG."""
    rng = random.Random(seed)
    out = tilt(image, 0.05)
    out = rotate(out, rng.choice((-1, 1)) * rng.uniform(1.5, 3.0))
    out = blur(out, 1.0)
    out = uneven_light(out, 0.55)
    out = downscale(out, 0.8)
    return jpeg(out, 45)


DEGRADATIONS = {
    "clean": lambda im: im,
    "skew-3deg": lambda im: rotate(im, 3.0),
    "turned-90": lambda im: turn(im, 90),
    "turned-180": lambda im: turn(im, 180),
    "tilt": lambda im: tilt(im, 0.08),
    "blur": lambda im: blur(im, 1.5),
    "uneven-light": uneven_light,
    "jpeg-q30": lambda im: jpeg(im, 30),
    "downscale-0.6": lambda im: downscale(im, 0.6),
    "phone-photo": phone_photo,
}


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    """The picture in a file format (PNG, WEBP, TIFF, BMP, GIF, JPEG, HEIF)."""
    out = io.BytesIO()
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
        image.convert("RGB").save(out, "HEIF", quality=options.pop("quality", 80), **options)
    elif fmt in ("JPEG", "BMP"):
        image.convert("RGB").save(out, fmt, **options)
    else:
        image.save(out, fmt, **options)
    return out.getvalue()


def multipage_tiff(pages: Sequence[Image.Image], compression: str = "group4") -> bytes:
    """A multi-page TIFF as a document scanner writes one (bilevel, CCITT G4)."""
    out = io.BytesIO()
    frames = [p.convert("1") if compression.startswith("group") else p for p in pages]
    frames[0].save(
        out,
        "TIFF",
        save_all=True,
        append_images=frames[1:],
        compression=compression,
        dpi=(200, 200),
    )
    return out.getvalue()


def sideways_jpeg_with_exif(image: Image.Image, quality: int = 85) -> bytes:
    """A phone photo stored sideways with an EXIF Orientation tag saying how to turn it
    (6: rotate 90° clockwise to view), as phones store portrait photos."""
    stored = image.transpose(Image.Transpose.ROTATE_90)  # counter-clockwise on disk
    exif = Image.Exif()
    exif[0x0112] = 6
    return jpeg_bytes(stored, quality, exif)


def image_pdf(pages: Sequence[Image.Image], dpi: int = 150) -> bytes:
    """An image-only PDF, each page a picture and no text layer (a scanner's PDF)."""
    out = io.BytesIO()
    rgb = [p.convert("RGB") for p in pages]
    rgb[0].save(out, "PDF", save_all=True, append_images=rgb[1:], resolution=float(dpi))
    return out.getvalue()
