"""Synthetic pictures for the perceptual-hash tests and benchmark, made procedurally.

Nothing is downloaded: every picture is drawn from a seed with numpy and
Pillow, in the families a case archive holds without text worth reading:
terrain-like noise fields, gradients with shapes, street maps, box-and-arrow
diagrams, and "photos" of installations (sky, ground, buildings, masts,
fences, sensor noise). The same seed always gives the same picture.

The transformations are those a picture meets on its way out of a building:
halved, recompressed at JPEG quality 40, cropped by 5 or 10 %, turned a few
degrees, or shown in a viewer or chat app and screenshotted.

    >>> picture("map", 3).size == picture("map", 3).size
    True
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

__all__ = [
    "FAMILIES",
    "TRANSFORMS",
    "corpus",
    "encode",
    "picture",
    "screenshot",
    "transform",
]

Rng = np.random.Generator


def _size(rng: Rng) -> tuple[int, int]:
    width = int(rng.integers(640, 1400))
    aspect = float(rng.choice([4 / 3, 3 / 2, 16 / 9, 1.0, 3 / 4]))
    return width, max(360, int(width / aspect))


def _value_noise(rng: Rng, width: int, height: int, octaves: int = 5) -> np.ndarray:
    """Smooth noise in [0, 1]: random grids of growing resolution, upsampled and summed."""
    total = np.zeros((height, width), dtype=np.float32)
    weight_sum = 0.0
    for octave in range(octaves):
        cells = 2 ** (octave + 1) + int(rng.integers(0, 3))
        grid = rng.random((cells, cells)).astype(np.float32)
        layer = Image.fromarray((grid * 255).astype(np.uint8)).resize(
            (width, height), Image.Resampling.BICUBIC
        )
        weight = 0.55**octave
        total += np.asarray(layer, dtype=np.float32) / 255 * weight
        weight_sum += weight
    total /= weight_sum
    low, high = float(total.min()), float(total.max())
    return (total - low) / max(high - low, 1e-6)


def _palette(rng: Rng, n: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, 3)).astype(np.float32)


def noise_field(rng: Rng) -> Image.Image:
    """Terrain-like: value noise mapped through a random colour ramp, with contour bands."""
    width, height = _size(rng)
    field = _value_noise(rng, width, height)
    stops = _palette(rng, int(rng.integers(3, 6)))
    positions = np.linspace(0, 1, len(stops))
    rgb = np.stack([np.interp(field, positions, stops[:, c]) for c in range(3)], axis=-1)
    if rng.random() < 0.5:  # contour lines, as on a relief map
        levels = int(rng.integers(6, 14))
        bands = (field * levels) % 1.0
        rgb[bands < 0.04] *= 0.55
    return Image.fromarray(rgb.clip(0, 255).astype(np.uint8))


def gradient_shapes(rng: Rng) -> Image.Image:
    """A linear or radial gradient with random ellipses, boxes and polygons over it."""
    width, height = _size(rng)
    a, b = _palette(rng, 2)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    if rng.random() < 0.5:
        angle = rng.random() * math.tau
        t = (xs * math.cos(angle) + ys * math.sin(angle)) / (width + height)
    else:
        cx, cy = rng.random() * width, rng.random() * height
        t = np.hypot(xs - cx, ys - cy) / math.hypot(width, height)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    rgb = a[None, None, :] * (1 - t[..., None]) + b[None, None, :] * t[..., None]
    image = Image.fromarray(rgb.astype(np.uint8))
    draw = ImageDraw.Draw(image, "RGBA")
    for _ in range(int(rng.integers(4, 18))):
        colour = (*(int(v) for v in rng.integers(0, 256, 3)), int(rng.integers(90, 256)))
        x0, y0 = rng.random() * width, rng.random() * height
        w, h = rng.random() * width / 2.5 + 10, rng.random() * height / 2.5 + 10
        shape = rng.integers(0, 3)
        if shape == 0:
            draw.ellipse((x0, y0, x0 + w, y0 + h), fill=colour)
        elif shape == 1:
            draw.rectangle((x0, y0, x0 + w, y0 + h), fill=colour)
        else:
            points = [
                (x0 + rng.random() * w, y0 + rng.random() * h)
                for _ in range(int(rng.integers(3, 7)))
            ]
            draw.polygon(points, fill=colour)
    return image


def map_drawing(rng: Rng) -> Image.Image:
    """A street map: paper, water, parks, a bent street grid, main roads and a few labels."""
    width, height = _size(rng)
    paper = tuple(int(v) for v in rng.integers(225, 250, 3))
    image = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 4))):  # lakes and a river
        cx, cy = rng.random() * width, rng.random() * height
        radius = rng.random() * min(width, height) / 4 + 20
        points = [
            (
                cx + radius * (0.6 + 0.5 * rng.random()) * math.cos(a),
                cy + radius * (0.6 + 0.5 * rng.random()) * math.sin(a),
            )
            for a in np.linspace(0, math.tau, 14, endpoint=False)
        ]
        draw.polygon(points, fill=(150, 190, 225))
    river = [(0.0, rng.random() * height)]
    while river[-1][0] < width:
        x, y = river[-1]
        river.append((x + width / 12, y + (rng.random() - 0.5) * height / 6))
    draw.line(river, fill=(150, 190, 225), width=int(rng.integers(8, 24)))
    for _ in range(int(rng.integers(2, 6))):  # parks
        x0, y0 = rng.random() * width, rng.random() * height
        draw.rectangle(
            (x0, y0, x0 + rng.random() * width / 5 + 20, y0 + rng.random() * height / 5 + 20),
            fill=(190, 220, 175),
        )
    spacing = int(rng.integers(28, 70))
    skew = (rng.random() - 0.5) * 0.4
    street = tuple(int(v) for v in rng.integers(255 - 40, 256, 3))
    for x in range(-height, width + height, spacing):  # the grid, slightly slanted
        wobble = (rng.random() - 0.5) * spacing * 0.4
        draw.line([(x + wobble, 0), (x + wobble + skew * height, height)], fill=street, width=3)
    for y in range(0, height, spacing):
        wobble = (rng.random() - 0.5) * spacing * 0.4
        draw.line([(0, y + wobble), (width, y + wobble - skew * width)], fill=street, width=3)
    for _ in range(int(rng.integers(2, 5))):  # main roads
        points = [(rng.random() * width, rng.random() * height) for _ in range(4)]
        colour = (245, 200, 90) if rng.random() < 0.5 else (230, 120, 90)
        draw.line(points, fill=(120, 120, 120), width=11)
        draw.line(points, fill=colour, width=7)
    font = ImageFont.load_default(size=int(rng.integers(11, 18)))
    for _ in range(int(rng.integers(3, 9))):
        label = "".join(chr(int(c)) for c in rng.integers(65, 91, int(rng.integers(4, 10))))
        draw.text(
            (rng.random() * width * 0.9, rng.random() * height * 0.95), label, (40, 40, 60), font
        )
    return image


def diagram(rng: Rng) -> Image.Image:
    """Boxes joined by arrows on white, as a network or process diagram."""
    width, height = _size(rng)
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=int(rng.integers(12, 20)))
    boxes = []
    for _ in range(int(rng.integers(4, 11))):
        w, h = rng.integers(80, 220), rng.integers(40, 110)
        x0, y0 = rng.random() * (width - w), rng.random() * (height - h)
        boxes.append((x0, y0, x0 + w, y0 + h))
    for _ in range(len(boxes) + int(rng.integers(0, 5))):
        a, b = rng.choice(len(boxes), 2, replace=False)
        (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = boxes[a], boxes[b]
        start, end = ((ax0 + ax1) / 2, (ay0 + ay1) / 2), ((bx0 + bx1) / 2, (by0 + by1) / 2)
        draw.line([start, (end[0], start[1]), end], fill=(60, 60, 60), width=2)
        draw.polygon([end, (end[0] - 6, end[1] - 10), (end[0] + 6, end[1] - 10)], fill=(60, 60, 60))
    for box in boxes:
        fill = tuple(int(v) for v in rng.integers(170, 256, 3))
        if rng.random() < 0.5:
            draw.rounded_rectangle(box, radius=10, fill=fill, outline=(30, 30, 30), width=2)
        else:
            draw.rectangle(box, fill=fill, outline=(30, 30, 30), width=2)
        label = "".join(chr(int(c)) for c in rng.integers(65, 91, int(rng.integers(3, 9))))
        draw.text((box[0] + 8, box[1] + 8), label, (0, 0, 0), font)
    return image


def installation(rng: Rng) -> Image.Image:
    """A "photo" of a site: sky, textured ground, buildings with windows, masts, a fence."""
    width, height = _size(rng)
    horizon = int(height * (0.35 + 0.3 * rng.random()))
    sky_top, sky_low = _palette(rng, 2) * 0.4 + np.array([120, 150, 200]) * 0.6
    ground = _palette(rng, 1)[0] * 0.5 + np.array([90, 100, 70]) * 0.5
    rgb = np.zeros((height, width, 3), dtype=np.float32)
    t = np.linspace(0, 1, horizon)[:, None, None]
    rgb[:horizon] = sky_top * (1 - t) + sky_low * t
    texture = _value_noise(rng, width, height - horizon, octaves=6)[..., None]
    rgb[horizon:] = ground * (0.7 + 0.6 * texture)
    image = Image.fromarray(rgb.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 6))):
        w = int(rng.integers(width // 12, width // 3))
        h = int(rng.integers(height // 10, height // 2))
        x0 = int(rng.integers(0, max(1, width - w)))
        base = horizon + int(rng.integers(0, max(1, (height - horizon) // 3)))
        wall = tuple(int(v) for v in rng.integers(90, 220, 3))
        draw.rectangle((x0, base - h, x0 + w, base), fill=wall, outline=(50, 50, 50))
        step = int(rng.integers(14, 30))
        for wy in range(base - h + 8, base - 12, step):
            for wx in range(x0 + 6, x0 + w - 10, step):
                draw.rectangle((wx, wy, wx + step // 2, wy + step // 2), fill=(40, 50, 70))
    for _ in range(int(rng.integers(0, 4))):  # masts
        x = int(rng.random() * width)
        top = int(rng.random() * horizon * 0.6)
        draw.line([(x, horizon + 5), (x, top)], fill=(70, 70, 70), width=4)
        for y in range(top, horizon, 25):
            draw.line([(x - 10, y), (x + 10, y + 12)], fill=(70, 70, 70), width=1)
    if rng.random() < 0.6:  # a fence across the front
        y = int(height * (0.8 + 0.15 * rng.random()))
        draw.line([(0, y), (width, y)], fill=(110, 110, 110), width=2)
        for x in range(0, width, int(rng.integers(20, 45))):
            draw.line([(x, y - 30), (x, y + 10)], fill=(100, 100, 100), width=3)
    image = image.filter(ImageFilter.GaussianBlur(0.6 + rng.random()))
    noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, 4, (height, width, 3))
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


FAMILIES: dict[str, Callable[[Rng], Image.Image]] = {
    "noise": noise_field,
    "shapes": gradient_shapes,
    "map": map_drawing,
    "diagram": diagram,
    "installation": installation,
}


def picture(family: str, seed: int) -> Image.Image:
    """One picture of a family; the seed decides everything about it."""
    return FAMILIES[family](np.random.default_rng([seed, sorted(FAMILIES).index(family)]))


def corpus(count: int, first_seed: int = 0) -> list[tuple[str, Image.Image]]:
    """``count`` pictures, the families taken in turn: (name, picture)."""
    families = sorted(FAMILIES)
    result = []
    for n in range(count):
        family = families[n % len(families)]
        seed = first_seed + n // len(families)
        result.append((f"{family}-{seed:04d}", picture(family, seed)))
    return result


def encode(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    """The picture as a file's bytes."""
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    return Image.open(io.BytesIO(encode(image.convert("RGB"), "JPEG", quality=quality)))


def _crop(image: Image.Image, share: float, rng: Rng) -> Image.Image:
    """Cut ``share`` of the width and of the height, split at random between the sides."""
    width, height = image.size
    cut_w, cut_h = int(width * share), int(height * share)
    left, top = int(rng.integers(0, cut_w + 1)), int(rng.integers(0, cut_h + 1))
    return image.crop((left, top, width - (cut_w - left), height - (cut_h - top)))


def _rotate(image: Image.Image, rng: Rng) -> Image.Image:
    """Turned 2-3 degrees either way, the corners filled as a phone's editor fills them."""
    angle = float(rng.uniform(2, 3) * rng.choice([-1, 1]))
    return image.rotate(angle, Image.Resampling.BICUBIC, fillcolor=(0, 0, 0))


def _straighten(image: Image.Image, rng: Rng) -> Image.Image:
    """Turned 2-3 degrees and cut to the largest upright rectangle inside, as the
    "straighten" tool of a phone's photo editor does (no corners left)."""
    angle = float(rng.uniform(2, 3) * rng.choice([-1, 1]))
    turned = image.rotate(angle, Image.Resampling.BICUBIC)
    width, height = image.size
    sin, cos = abs(math.sin(math.radians(angle))), math.cos(math.radians(angle))
    # the scale at which the upright box of the same shape fits inside the turned picture
    scale = min(width / (width * cos + height * sin), height / (width * sin + height * cos))
    w, h = width * scale, height * scale
    left, top = (width - w) / 2, (height - h) / 2
    return turned.crop((round(left), round(top), round(left + w), round(top + h)))


def screenshot(image: Image.Image, rng: Rng) -> Image.Image:
    """The picture shown in a viewer or chat app and screenshotted: bars, buttons, a side
    panel or chat bubbles around it, the picture itself scaled to fit."""
    style = int(rng.integers(0, 3))
    screen_w, screen_h = [(1920, 1080), (1366, 768), (1080, 2340), (1440, 900)][
        int(rng.integers(0, 4))
    ]
    dark = style == 0
    background = (38, 38, 40) if dark else (236, 229, 221) if style == 1 else (250, 250, 250)
    canvas = Image.new("RGB", (screen_w, screen_h), background)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=14)
    bar = (int(rng.integers(30, 60)), int(rng.integers(60, 140)), int(rng.integers(90, 200)))
    top = int(rng.integers(40, 110))
    bottom = int(rng.integers(30, 90))
    draw.rectangle((0, 0, screen_w, top), fill=bar)
    for x in range(12, 12 + 5 * 34, 34):  # toolbar buttons
        draw.rounded_rectangle((x, top // 4, x + 24, top // 4 + 24), 5, fill=(220, 220, 220))
    draw.text((200, top // 3), "IMG_2024_0311.jpg", (255, 255, 255), font)
    draw.rectangle((0, screen_h - bottom, screen_w, screen_h), fill=(60, 60, 60))
    draw.text((12, screen_h - bottom + 8), "12:41  100%  4G", (230, 230, 230), font)
    side = int(rng.integers(0, 2)) * int(screen_w * 0.18) if screen_w > screen_h else 0
    if side:
        draw.rectangle(
            (0, top, side, screen_h - bottom), fill=(55, 55, 60) if dark else (245, 245, 245)
        )
        for y in range(top + 20, screen_h - bottom - 40, 48):
            draw.rectangle(
                (10, y, side - 10, y + 36), fill=(90, 90, 95) if dark else (225, 225, 230)
            )
    area_w, area_h = screen_w - side, screen_h - top - bottom
    fill = float(rng.uniform(0.6, 0.92))
    scale = min(area_w * fill / image.width, area_h * fill / image.height)
    shown = image.convert("RGB").resize(
        (max(8, int(image.width * scale)), max(8, int(image.height * scale))),
        Image.Resampling.BILINEAR,
    )
    x = side + (area_w - shown.width) // 2 + int(rng.integers(-20, 21))
    y = top + (area_h - shown.height) // 2 + int(rng.integers(-20, 21))
    x = max(side, min(x, screen_w - shown.width))
    y = max(top, min(y, screen_h - bottom - shown.height))
    if style == 1:  # a chat bubble around it
        draw.rounded_rectangle(
            (x - 6, y - 6, x + shown.width + 6, y + shown.height + 30), 12, fill=(220, 248, 198)
        )
        draw.text((x + shown.width - 60, y + shown.height + 8), "21:13", (100, 100, 100), font)
    canvas.paste(shown, (x, y))
    return canvas


TRANSFORMS: dict[str, Callable[[Image.Image, Rng], Image.Image]] = {
    "resize-50": lambda image, rng: image.resize(
        (image.width // 2, image.height // 2), Image.Resampling.LANCZOS
    ),
    "jpeg-q40": lambda image, rng: _jpeg(image, 40),
    "crop-5": lambda image, rng: _crop(image, 0.05, rng),
    "crop-10": lambda image, rng: _crop(image, 0.10, rng),
    "rotate-2-3": _rotate,
    "straighten-2-3": _straighten,
    "screenshot": lambda image, rng: (
        _jpeg(screenshot(image, rng), 85) if rng.random() < 0.5 else screenshot(image, rng)
    ),
    "whatsapp": lambda image, rng: _jpeg(
        image.resize((image.width * 3 // 5, image.height * 3 // 5), Image.Resampling.LANCZOS), 60
    ),
}


def transform(image: Image.Image, name: str, seed: int) -> Image.Image:
    """The picture after one of TRANSFORMS, its random choices fixed by ``seed``."""
    return TRANSFORMS[name](image.convert("RGB"), np.random.default_rng([seed, 7]))
