"""Rectangles framed by long straight edges: where a screenshot shows a picture.

A picture shown in a viewer or chat app and screenshotted sits, scaled, in a
rectangle among toolbars, side panels, status bars and bubbles. Hashing the
whole screenshot compares mostly the app's chrome; hashing the rectangle
compares the picture. The rectangle's sides are straight edges as long as
the picture is wide or tall, which photos and maps rarely have elsewhere:

1. mark pixel boundaries where brightness jumps (horizontal and vertical);
2. keep rows and columns that hold a long run of such jumps (gaps bridged);
3. try every pair of kept rows with every pair of kept columns (the frame
   counts as a line too) and keep rectangles whose four sides are mostly
   edge, large enough to be the picture;
4. return the few framed on most sides (then the largest) that do not repeat
   one another.

Pure numpy; bounded work (at most ``_MAX_LINES`` lines each way).
"""

from __future__ import annotations

import numpy as np

__all__ = ["framed_regions"]

#: Brightness step (0-255) that counts as an edge.
_EDGE_STEP = 10
#: Gaps (pixels) bridged inside one edge run: JPEG blocks, thin lines crossing it.
_BRIDGE = 4
#: A kept line has a run at least this share of the picture's width (height).
_MIN_RUN_SHARE = 0.12
#: A rectangle's sides must be edge along at least this share of their length.
_MIN_SIDE_SUPPORT = 0.75
#: A region must span this share of each side of the screenshot, and of its area.
_MIN_SIDE_SHARE = 0.15
_MIN_AREA_SHARE = 0.05
#: Lines considered each way (the strongest), regions returned.
_MAX_LINES = 24
_MAX_REGIONS = 6


def _bridged(edges: np.ndarray) -> np.ndarray:
    """Edge marks along the last axis with short gaps filled: a place counts when there is
    an edge at most ``_BRIDGE`` before it and one at most ``_BRIDGE`` after it."""
    counts = np.cumsum(edges, axis=-1, dtype=np.int32)
    padded = np.concatenate(
        [
            np.zeros((*counts.shape[:-1], _BRIDGE + 1), np.int32),
            counts,
            np.repeat(counts[..., -1:], _BRIDGE, axis=-1),
        ],
        axis=-1,
    )
    n = edges.shape[-1]
    # padded[k + _BRIDGE + 1] == counts[k]
    at = np.arange(n)
    before = padded[..., at + _BRIDGE + 1] - padded[..., at]  # edges in [p - B, p]
    after = padded[..., at + 2 * _BRIDGE + 1] - padded[..., at + _BRIDGE]  # edges in [p, p + B]
    filled: np.ndarray = edges | ((before > 0) & (after > 0))
    return filled


def _longest_runs(marks: np.ndarray) -> np.ndarray:
    """Length of the longest run of True in each row."""
    rows, cols = marks.shape
    padded = np.zeros((rows, cols + 2), dtype=np.int8)
    padded[:, 1:-1] = marks
    change = np.diff(padded, axis=1)
    best = np.zeros(rows, dtype=np.int64)
    r_start, c_start = np.nonzero(change == 1)
    _, c_end = np.nonzero(change == -1)
    # starts and ends come in the same row-major order, paired one to one
    np.maximum.at(best, r_start, c_end - c_start)
    return best


def _lines(marks: np.ndarray, length: int) -> list[int]:
    """Boundary indices whose longest run is long enough; neighbours merged, strongest kept."""
    runs = _longest_runs(marks)
    kept = [int(i) for i in np.flatnonzero(runs >= max(12, _MIN_RUN_SHARE * length))]
    merged: list[int] = []
    for index in kept:
        if merged and index - merged[-1] <= 2:
            if runs[index] > runs[merged[-1]]:
                merged[-1] = index
            continue
        merged.append(index)
    if len(merged) > _MAX_LINES:
        merged = sorted(sorted(merged, key=lambda i: -int(runs[i]))[:_MAX_LINES])
    return merged


def framed_regions(rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes (left, top, right, bottom) of rectangles framed by straight edges in an RGB
    pixel array (height, width, 3), best first; the whole picture is never one of them."""
    height, width = rgb.shape[:2]
    if height < 32 or width < 32:
        return []
    pixels = rgb.astype(np.int16)
    # A step in any channel: a picture on a bubble of the same brightness still has edges.
    # horizontal[y, x]: a step between rows y and y+1 (the boundary at y + 1)
    horizontal = _bridged(np.abs(np.diff(pixels, axis=0)).max(axis=2) >= _EDGE_STEP)
    vertical = _bridged(np.abs(np.diff(pixels, axis=1)).max(axis=2).T >= _EDGE_STEP)  # [x, y]
    rows = [0, *(y + 1 for y in _lines(horizontal, width)), height]
    cols = [0, *(x + 1 for x in _lines(vertical, height)), width]
    rows, cols = sorted(set(rows)), sorted(set(cols))
    # cumulative edge counts along each line, for the support of any stretch of it
    h_sum = np.zeros((height + 1, width + 1), dtype=np.int32)
    h_sum[1:height, 1:] = np.cumsum(horizontal, axis=1)
    v_sum = np.zeros((width + 1, height + 1), dtype=np.int32)
    v_sum[1:width, 1:] = np.cumsum(vertical, axis=1)

    def support_row(y: int, x0: int, x1: int) -> float:
        if y in (0, height):
            return 1.0
        return float(h_sum[y, x1] - h_sum[y, x0]) / (x1 - x0)

    found: list[tuple[int, int, tuple[int, int, int, int]]] = []
    min_w, min_h = _MIN_SIDE_SHARE * width, _MIN_SIDE_SHARE * height
    col_index = np.array(cols)
    inner_cols = (col_index > 0) & (col_index < width)
    for i, top in enumerate(rows):
        for bottom in rows[i + 1 :]:
            if bottom - top < min_h:
                continue
            # the columns that are edge over this stretch; the frame always is
            counts = v_sum[np.minimum(col_index, width), bottom] - v_sum[col_index, top]
            support = np.where(inner_cols, counts / (bottom - top), 1.0)
            sides = col_index[support >= _MIN_SIDE_SUPPORT].tolist()
            for j, left in enumerate(sides):
                for right in sides[j + 1 :]:
                    area = (right - left) * (bottom - top)
                    if right - left < min_w or area == width * height:
                        continue
                    if area < _MIN_AREA_SHARE * width * height:
                        continue
                    if (
                        min(support_row(top, left, right), support_row(bottom, left, right))
                        >= _MIN_SIDE_SUPPORT
                    ):
                        framed = sum((top > 0, bottom < height, left > 0, right < width))
                        found.append((framed, area, (left, top, right, bottom)))
    # a picture shown in an app is framed on all four sides; chrome bars frame one or two
    found.sort(key=lambda entry: (-entry[0], -entry[1], entry[2]))
    chosen: list[tuple[int, int, int, int]] = []
    for _, _, box in found:
        if all(_overlap(box, other) < 0.95 for other in chosen):
            chosen.append(box)
        if len(chosen) == _MAX_REGIONS:
            break
    return chosen


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two boxes."""
    left, top = max(a[0], b[0]), max(a[1], b[1])
    right, bottom = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, right - left) * max(0, bottom - top)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0
