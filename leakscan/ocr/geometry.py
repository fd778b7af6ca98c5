"""Where a page's text lines run: skew of a few degrees, and whether the page lies sideways.

Text lines make the ink's row profile jagged (dense rows of letters, empty
rows of leading between them) when the page is rotated so that the lines lie
flat, and smooth otherwise. Rotating a small, binarised copy of the page
through candidate angles and keeping the one with the most jagged profile
finds the skew; comparing the best horizontal angle with the best vertical
one finds a page turned by a quarter. Both are cheap next to one OCR pass
(a page is examined at about 600 pixels across). Upside down cannot be told
this way: the pipeline compares OCR confidences for that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

__all__ = ["Layout", "Placement", "flatten", "line_layout"]

#: Side of the copy the profile is measured on (pixels).
_PROBE_SIDE = 640
#: Skew angles tried, in degrees (a coarse pass, then a fine one around the best).
_COARSE = np.arange(-12.0, 12.01, 1.0)
_FINE_STEP = 0.2


@dataclass(frozen=True)
class Layout:
    """``quarter``: 0 if lines run across the picture as stored, 90 if they run down it;
    ``skew``: degrees (counter-clockwise) the lines are tilted by; ``strength``: how
    clearly the profile says so (0: no lines found, e.g. a photo without text)."""

    quarter: int
    skew: float
    strength: float


def flatten(image: Image.Image) -> Image.Image:
    """Even out lighting: divide the page by an estimate of its paper's brightness
    (a lamp to one side, a shadow across a photographed page)."""
    grey = image.convert("L")
    w, h = grey.size
    small = grey.resize((max(1, w // 16), max(1, h // 16)), Image.Resampling.BILINEAR)
    paper = (
        small.filter(ImageFilter.MaxFilter(5))
        .filter(ImageFilter.GaussianBlur(2))
        .resize((w, h), Image.Resampling.BILINEAR)
    )
    ink = np.asarray(grey, dtype=np.float32)
    light = np.maximum(np.asarray(paper, dtype=np.float32), 1.0)
    return Image.fromarray(np.clip(ink / light * 255.0, 0, 255).astype(np.uint8), "L")


def _ink(image: Image.Image) -> Image.Image:
    """A small binary copy: 255 where there is ink, by a threshold on the flattened page."""
    grey = image.convert("L")
    scale = _PROBE_SIDE / max(grey.size)
    if scale < 1:
        grey = grey.resize(
            (max(1, round(grey.width * scale)), max(1, round(grey.height * scale))),
            Image.Resampling.BOX,
        )
    flat = np.asarray(flatten(grey), dtype=np.float32)
    ink = flat < min(200.0, float(flat.mean()) - 2 * float(flat.std()) + 80.0)
    return Image.fromarray((ink * 255).astype(np.uint8), "L")


def _sharpness(ink: Image.Image, degrees: float) -> float:
    """How jagged the row profile is with the picture turned by ``degrees``."""
    turned = ink.rotate(degrees, resample=Image.Resampling.NEAREST, expand=True, fillcolor=0)
    rows = np.asarray(turned, dtype=np.float32).sum(axis=1)
    return float(np.square(np.diff(rows)).sum())


def _best(ink: Image.Image, around: float) -> tuple[float, float]:
    coarse = [(_sharpness(ink, around + a), float(a)) for a in _COARSE]
    score, angle = max(coarse)
    fine = np.arange(angle - 1.0, angle + 1.0 + 1e-9, _FINE_STEP)
    score, angle = max([(_sharpness(ink, around + a), float(a)) for a in fine])
    return score, angle


def line_layout(image: Image.Image) -> Layout:
    """The direction and skew of the page's text lines (see the module docstring)."""
    ink = _ink(image)
    total = float(np.asarray(ink, dtype=np.float32).sum())
    if total == 0:
        return Layout(0, 0.0, 0.0)
    across, skew_across = _best(ink, 0.0)
    down, skew_down = _best(ink, 90.0)
    if down > across * 1.15:
        return Layout(90, skew_down, down / max(across, 1.0))
    return Layout(0, skew_across, across / max(down, 1.0))


class Placement:
    """Where a point of the picture being read lay on the picture as stored.

    Each step (a quarter turn, a scaling, a small rotation) that turned the
    stored picture into the one the engine reads is recorded as an affine map;
    boxes the engine reports are mapped back through the inverse, so a finding
    points at the pixels an examiner sees in the file.
    """

    def __init__(self, width: int, height: int) -> None:
        self.stored = (width, height)
        self.size = (width, height)
        self.matrix = np.eye(3)

    def copy(self) -> Placement:
        other = Placement(*self.stored)
        other.matrix, other.size = self.matrix.copy(), self.size
        return other

    def _then(self, step: np.ndarray, size: tuple[int, int]) -> None:
        self.matrix = step @ self.matrix
        self.size = size

    def transpose(self, method: Image.Transpose) -> None:
        """Follow ``Image.transpose(method)`` (EXIF orientation, quarter turns)."""
        w, h = self.size
        T = Image.Transpose
        maps = {
            T.FLIP_LEFT_RIGHT: ((-1, 0, w), (0, 1, 0), (w, h)),
            T.FLIP_TOP_BOTTOM: ((1, 0, 0), (0, -1, h), (w, h)),
            T.ROTATE_90: ((0, 1, 0), (-1, 0, w), (h, w)),
            T.ROTATE_180: ((-1, 0, w), (0, -1, h), (w, h)),
            T.ROTATE_270: ((0, -1, h), (1, 0, 0), (h, w)),
            T.TRANSPOSE: ((0, 1, 0), (1, 0, 0), (h, w)),
            T.TRANSVERSE: ((0, -1, h), (-1, 0, w), (h, w)),
        }
        row_x, row_y, size = maps[method]
        self._then(np.array([row_x, row_y, (0, 0, 1)], dtype=float), size)

    def scale(self, size: tuple[int, int]) -> None:
        """Follow a resize to ``size``."""
        w, h = self.size
        sx, sy = size[0] / w, size[1] / h
        self._then(np.array([(sx, 0, 0), (0, sy, 0), (0, 0, 1)], dtype=float), size)

    def rotate(self, degrees: float, size: tuple[int, int]) -> None:
        """Follow ``Image.rotate(degrees, expand=True)`` (counter-clockwise) giving ``size``."""
        w, h = self.size
        radians = np.deg2rad(degrees)
        c, s = float(np.cos(radians)), float(np.sin(radians))
        to_origin = np.array([(1, 0, -w / 2), (0, 1, -h / 2), (0, 0, 1)], dtype=float)
        turn = np.array([(c, s, 0), (-s, c, 0), (0, 0, 1)], dtype=float)
        to_centre = np.array([(1, 0, size[0] / 2), (0, 1, size[1] / 2), (0, 0, 1)], dtype=float)
        self._then(to_centre @ turn @ to_origin, size)

    def box_on_stored(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """A box on the picture being read, as the smallest box on the stored picture
        holding it (clipped to the picture)."""
        x0, y0, x1, y1 = box
        corners = np.array([(x0, y0, 1), (x1, y0, 1), (x1, y1, 1), (x0, y1, 1)], dtype=float).T
        back = np.linalg.inv(self.matrix) @ corners
        w, h = self.stored
        left = int(np.clip(np.floor(back[0].min()), 0, w))
        top = int(np.clip(np.floor(back[1].min()), 0, h))
        right = int(np.clip(np.ceil(back[0].max()), 0, w))
        bottom = int(np.clip(np.ceil(back[1].max()), 0, h))
        return left, top, right, bottom
