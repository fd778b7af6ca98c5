"""Pages of our own text rendered with real fonts, degraded as phones do, read by tesseract.

Used by tests/test_ocr_matching.py and benchmarks/ocr_matching.py. Urdu is
shaped by Pillow's raqm layout (Nastaliq needs it); pages are drawn at about
200 dpi. OCR runs the ``tesseract`` command with one thread, and its output is
cached by the PNG's sha256 and the language (in memory, and in ``cache_dir``
when one is given), so a page is read once per session or benchmark run.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont, features

FONTS = {
    "nastaliq": "/usr/share/fonts/truetype/noto/NotoNastaliqUrdu-Regular.ttf",
    "naskh": "/usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf",
    "english": "/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf",
}
#: tesseract language of each typeface's text.
LANGUAGE = {"nastaliq": "urd", "naskh": "urd", "english": "eng"}
DEGRADATIONS = ("clean", "rotated", "blurred", "jpeg", "photo")

_memory: dict[str, str] = {}


def ocr_available(*languages: str) -> bool:
    """tesseract, its language models, the fonts and Pillow's text shaping are all here."""
    if shutil.which("tesseract") is None or not features.check("raqm"):
        return False
    if not all(os.path.exists(path) for path in FONTS.values()):
        return False
    found = subprocess.run(
        ["tesseract", "--list-langs"], capture_output=True, text=True, check=False
    ).stdout.split()
    return all(language in found for language in languages)


def render_page(text: str, face: str, size: int = 40, width: int = 1600) -> Image.Image:
    """Greyscale page with ``text`` wrapped in ``face``; right-aligned for Urdu."""
    font = ImageFont.truetype(FONTS[face], size)
    rtl = face != "english"
    layout = {"direction": "rtl", "language": "ur"} if rtl else {}
    measure = ImageDraw.Draw(Image.new("L", (1, 1)))
    margin = width // 20
    lines: list[str] = []
    line: list[str] = []
    for word in text.split():
        candidate = " ".join([*line, word])
        if line and measure.textlength(candidate, font=font, **layout) > width - 2 * margin:
            lines.append(" ".join(line))
            line = [word]
        else:
            line.append(word)
    lines.append(" ".join(line))
    ascent, descent = font.getmetrics()
    height = int((ascent + descent) * 1.15)
    page = Image.new("L", (width, 2 * margin + height * len(lines)), 255)
    draw = ImageDraw.Draw(page)
    for i, text_line in enumerate(lines):
        x = width - margin if rtl else margin
        anchor = "ra" if rtl else "la"
        draw.text((x, margin + i * height), text_line, font=font, fill=0, anchor=anchor, **layout)
    return page


def degrade(page: Image.Image, how: str) -> Image.Image:
    """The page as a phone or a scanner might pass it on."""
    if how == "clean":
        return page
    if how == "rotated":  # held a little crooked
        return page.rotate(1.5, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    if how == "blurred":  # out of focus
        return page.filter(ImageFilter.GaussianBlur(1.2))
    if how == "jpeg":  # downscaled and recompressed by a messenger
        return _jpeg(page, 3 / 4, 30)
    if how == "photo":  # all of it at once: crooked, soft, uneven light, recompressed
        tilted = page.rotate(-1.0, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
        soft = tilted.filter(ImageFilter.GaussianBlur(0.8))
        shade = Image.linear_gradient("L").resize(soft.size).point(lambda v: 255 - v * 70 // 255)
        lit = Image.composite(soft, Image.new("L", soft.size, 0), shade)
        return _jpeg(lit, 2 / 3, 40)
    raise ValueError(f"unknown degradation {how!r}")


def _jpeg(page: Image.Image, scale: float, quality: int) -> Image.Image:
    small = page.resize(
        (round(page.width * scale), round(page.height * scale)), Image.Resampling.LANCZOS
    )
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("L")


def ocr(page: Image.Image, language: str, cache_dir: Path | None = None) -> str:
    """tesseract's text of a page (one thread); cached by the PNG's sha256 and the language."""
    buffer = io.BytesIO()
    page.save(buffer, "PNG")
    png = buffer.getvalue()
    key = f"{hashlib.sha256(png).hexdigest()}.{language}"
    if key in _memory:
        return _memory[key]
    cached = cache_dir / f"{key}.txt" if cache_dir is not None else None
    if cached is not None and cached.exists():
        text = cached.read_text(encoding="utf-8")
    else:
        environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        done = subprocess.run(
            ["tesseract", "stdin", "stdout", "-l", language],
            input=png,
            capture_output=True,
            check=True,
            env=environment,
            timeout=300,
        )
        text = done.stdout.decode("utf-8")
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_text(text, encoding="utf-8")
    _memory[key] = text
    return text


def ocr_page(text: str, face: str, how: str = "clean", cache_dir: Path | None = None) -> str:
    """Render, degrade and OCR in one call."""
    return ocr(degrade(render_page(text, face), how), LANGUAGE[face], cache_dir)
