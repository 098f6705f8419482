"""A handwritten digit rewritten with another pen: its centre line traced and drawn again.

MNIST's digits were all written with one thick pen and scanned at one size. Thinning a digit to its
centre line (Zhang-Suen) and drawing that line with a pen of any width, at any height, gives the
same digit as a pencil, a ballpoint or a marker would write it. The desk renderer (edgetl/desk.py)
writes its pages this way, and training can draw augmented copies the same way (edgetl/augment.py).

The centre line is only as faithful as the shape thinned: taken at one gray level (100), MNIST's thick,
anti-aliased strokes fill small loops (an 8 whose lower loop is a blob thins to a stick and becomes a 9, a 6's
belly a bent stick). ``_pen_shape`` punches back in the holes that show at 160. Held-out digits rewritten and
cut straight from their ink, read by the evening's model: 96.6% -> 97.3% over four pens, and the share of
rewrites with their label's loops stays 78% (holes at 200 and 230 as well read 97.6% but put small rings into
thick strokes, 74%; bench/README.md).

Thinning also eats into each stroke's ends by about half its width, so a short heavy stroke is lost from the
centre line altogether: a 7's top bar (a "/" remains, read as a 1), a 2's heavy base (a ")"), a 3's top hook. The
pen therefore also lays the writer's own shape, each stroke thinned about its own centre in the ratio of the pen
to the writer's median stroke (``_thick_parts``): a stroke of the median width comes out as wide as the pen, what
the writer drew heavier stays heavier in proportion, and the parts thinning lost come back. mnist-5k's 1,000 test
digits rewritten upright with pens 0.08, 0.12 and 0.16 of a 40 px digit (`bench/pen_fidelity.py`): rewrites losing
over a tenth of the writer's ink 61 -> 11 of 3,000; misread by `make bench`'s model, among those it reads right as
written, 52 -> 23. Training draws its other-pen copies without them (``heavy=False``; edgetl/augment.py).

For the same reason each free end of the centre line is drawn on to where the writer's ink is only the pen's half
width deep (``_full_length``): with a pen thinner than the writer's, the shortened ends showed (a 7's bar a hook, an
8's legs parted). The same 1,000 digits with pens 0.02-0.16 of 40 px: ink lost 478 -> 314 of 6,000, misread 78 -> 69.
"""
from __future__ import annotations

import cv2
import numpy as np

def _thinning_tables() -> tuple[np.ndarray, np.ndarray]:
    """Zhang-Suen deletion rules for both sub-iterations, indexed by the 8-neighbour code (bit k: P(k+2))."""
    first, second = np.zeros(256, bool), np.zeros(256, bool)
    for code in range(256):
        p = [(code >> k) & 1 for k in range(8)]  # P2 (N), P3 (NE), P4 (E), ... P9 (NW), clockwise
        b = sum(p)
        a = sum(p[k] == 0 and p[(k + 1) % 8] == 1 for k in range(8))
        if 2 <= b <= 6 and a == 1:
            first[code] = not (p[0] and p[2] and p[4]) and not (p[2] and p[4] and p[6])
            second[code] = not (p[0] and p[2] and p[6]) and not (p[0] and p[4] and p[6])
    return first, second


_THIN = _thinning_tables()
_NEIGHBOURS = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]  # P2..P9 as (dy, dx)


def _skeleton(shape: np.ndarray) -> np.ndarray:
    """One-pixel-wide centre lines of a small binary image (Zhang-Suen thinning, vectorised)."""
    img = np.pad(shape.astype(bool), 1)
    h, w = shape.shape
    for _ in range(30):
        changed = False
        for table in _THIN:
            code = np.zeros((h, w), np.uint8)
            for k, (dy, dx) in enumerate(_NEIGHBOURS):
                code |= img[1 + dy:1 + dy + h, 1 + dx:1 + dx + w].astype(np.uint8) << k
            delete = img[1:-1, 1:-1] & table[code]
            if delete.any():
                img[1:-1, 1:-1] &= ~delete
                changed = True
        if not changed:
            break
    return img[1:-1, 1:-1]


def _filled_loops(shape: np.ndarray, skeleton: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each loop that a thick pen filled in (the small loops of an 8, a 6's belly) as the loop the writer's pen went
    round: its ring (the outline of the blob, half a stroke inside its edge); the blobs, whose centre lines the ring
    replaces; and the inside of the rings.

    Thinning turns a filled loop into a stick, and the digit rewritten from that stick with a thin pen is
    no longer the digit it is labelled (an 8 becomes a 6 or a 9): about 4% of mnist-5k's test digits.
    """
    ring, inside = np.zeros(shape.shape, np.uint8), np.zeros(shape.shape, np.uint8)
    none = ring.astype(bool)
    if not skeleton.any():
        return none, none, none
    depth = cv2.distanceTransform(shape.astype(np.uint8), cv2.DIST_L2, 3)
    half = max(1.0, float(np.median(depth[skeleton])))  # half the typical stroke width
    core = (depth > 1.9 * half).astype(np.uint8)
    if not core.any():
        return none, none, none
    reach = int(np.ceil(1.9 * half)) * 2 + 1
    blob = cv2.dilate(core, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach)))
    blob &= (depth >= half).astype(np.uint8)  # the blob shrunk by half a stroke: its edge is the pen's path
    contours, _ = cv2.findContours(blob, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    loops = [c for c in contours if cv2.contourArea(c) >= 4 * half * half]
    cv2.drawContours(ring, loops, -1, 1, 1)
    cv2.drawContours(inside, loops, -1, 1, -1)
    return ring.astype(bool), cv2.erode(blob, np.ones((3, 3), np.uint8)).astype(bool), (inside & blob).astype(bool)


INK_LEVEL = 100  # gray level (of 255) above which a pixel of the 2x upsampled digit is the pen's shape
HOLE_LEVEL = 160  # a hole seen at this level is a loop the pen went round (200 and 230 give rings too)
LINK_LEVELS = (60, 30)  # tried in turn when the strokes fall apart at INK_LEVEL: 6 of mnist-5k's 1,000 test digits


def _holes(mask: np.ndarray) -> np.ndarray:
    """Pixels of the background that the mask encloses."""
    _, labels = cv2.connectedComponents((~mask).astype(np.uint8), connectivity=4)
    outside = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return (labels > 0) & ~np.isin(labels, outside)


def _pieces(mask: np.ndarray, min_area: int = 6) -> int:
    """Connected pieces of the mask of at least ``min_area`` px (a speck of scanner noise is not a stroke)."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    return int((stats[1:, cv2.CC_STAT_AREA] >= min_area).sum())


def _ink_level(gray: np.ndarray) -> int:
    """``INK_LEVEL``, or a lower level where the digit's strokes only join there: where the pen thinned as it
    moved fast, a few MNIST digits fade below 100 (a 3's lower bowl, a 5's bar, a 4's stem), and the shape at
    100 falls apart into pieces that rewrite as another digit (the 3 as a 2 and a dash)."""
    joined = _pieces(gray > LINK_LEVELS[-1])
    return next(level for level in (INK_LEVEL, *LINK_LEVELS) if _pieces(gray > level) <= joined)


def _pen_shape(gray: np.ndarray) -> np.ndarray:
    """The digit's ink as the pen laid it, from its 2x upsampled gray image: the shape at ``INK_LEVEL`` (lower
    where the strokes join only lower) with the holes that show at ``HOLE_LEVEL`` punched back in (a loop MNIST's
    thick pen nearly filled)."""
    return (gray > _ink_level(gray)) & ~_holes(gray > HOLE_LEVEL)


def _pen_path(big: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The centre line the pen draws along (56x56, each filled loop drawn back as its ring), the centre line
    thinning gave, and the inside of the filled loops."""
    skeleton = _skeleton(big)
    ring, blobs, inside = _filled_loops(big, skeleton)
    return (skeleton & ~blobs) | ring, skeleton, inside


def _neighbour_count(line: np.ndarray) -> np.ndarray:
    """How many of each pixel's 8 neighbours are on the line."""
    count = cv2.filter2D(line.astype(np.uint8), -1, np.ones((3, 3), np.float32), borderType=cv2.BORDER_CONSTANT)
    return count - line.astype(np.uint8)


def _end_direction(line: np.ndarray, end: tuple[int, int], steps: int = 6) -> np.ndarray | None:
    """The unit direction in which the line leaves through ``end`` (a pixel with one neighbour on the line), from
    the pixel ``steps`` back along it (fewer where a junction comes first); None for a lone dot."""
    seen, here = {end}, end
    for _ in range(steps):
        y, x = here
        nxt = [(y + dy, x + dx) for dy, dx in _NEIGHBOURS if 0 <= y + dy < line.shape[0]
               and 0 <= x + dx < line.shape[1] and line[y + dy, x + dx] and (y + dy, x + dx) not in seen]
        if len(nxt) != 1:
            break
        seen.add(nxt[0])
        here = nxt[0]
    d = np.float64(end) - np.float64(here)
    n = float(np.hypot(*d))
    return d / n if n > 0 else None


def _full_length(line: np.ndarray, depth: np.ndarray, pen_half: float) -> np.ndarray:
    """The centre line with each free end drawn on along its direction to where the writer's ink is only
    ``pen_half`` deep, so the pen's stroke ends where the writer's did: thinning stops each end about the writer's
    half width short of it, and with a pen thinner than the writer's a short stroke (a 7's top bar) is lost. The
    ends stay inside the writer's shape."""
    out = line.astype(np.uint8)
    ys, xs = np.nonzero(line & (_neighbour_count(line) == 1))
    for end in zip(ys.tolist(), xs.tolist()):
        d = _end_direction(line, end)
        if d is None:
            continue
        tip, t = np.float64(end), 0.5
        while True:
            p = np.float64(end) + t * d
            y, x = int(round(p[0])), int(round(p[1]))
            if not (0 <= y < depth.shape[0] and 0 <= x < depth.shape[1]) or depth[y, x] <= pen_half:
                break
            tip, t = p, t + 0.5
        cv2.line(out, (end[1], end[0]), (int(round(tip[1])), int(round(tip[0]))), 1, 1)
    return out.astype(bool)


def _centre_lines(skeleton: np.ndarray) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """A 56x56 centre line as line segments (S, 2, 2) in 28x28 pixel coordinates, and their extent x0, y0, x1, y1."""
    segments = []
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a = skeleton[:56 - dy, max(0, -dx):56 - max(0, dx)]
        b = skeleton[dy:, max(0, dx):56 - max(0, -dx) if dx < 0 else 56]
        ys, xs = np.nonzero(a & b)
        xs = xs + max(0, -dx)
        segments.append(np.stack([np.stack([xs, ys], 1), np.stack([xs + dx, ys + dy], 1)], 1))
    ys, xs = np.nonzero(skeleton)
    lone = np.stack([np.stack([xs, ys], 1)] * 2, 1)  # isolated dots stay dots
    segments = np.concatenate(segments + [lone])
    if not len(segments):  # an empty image: a stroke, so every digit has ink
        return np.float64([[[10, 7], [18, 21]]]), (10.0, 7.0, 18.0, 21.0)
    # smooth the pixel staircase: each skeleton pixel moves to the mean of the skeleton around it
    mask = skeleton.astype(np.float32)
    gy, gx = np.mgrid[0:56, 0:56].astype(np.float32)
    count = cv2.boxFilter(mask, -1, (5, 5), normalize=False)
    mean_x = cv2.boxFilter(mask * gx, -1, (5, 5), normalize=False) / np.maximum(count, 1)
    mean_y = cv2.boxFilter(mask * gy, -1, (5, 5), normalize=False) / np.maximum(count, 1)
    sx, sy = segments[..., 0], segments[..., 1]
    segments = np.stack([mean_x[sy, sx], mean_y[sy, sx]], -1).astype(np.float64)
    segments = (segments + 0.5) / 2  # 56 px grid -> 28 px coordinates
    (x0, y0), (x1, y1) = segments.reshape(-1, 2).min(0), segments.reshape(-1, 2).max(0)
    return segments, (float(x0), float(y0), float(x1), float(y1))


OUTSIDE = 1.0  # the signed distance given to pixels off the writer's shape (56-grid px)
SMOOTH = 0.8  # 56-grid px: the blur that takes the grid's steps off the thinned shape's edge


def _depth(big: np.ndarray) -> np.ndarray:
    """Each pixel's distance to the edge of the writer's 56x56 shape (0 off it; the image's border is an edge)."""
    return cv2.distanceTransform(np.pad(big, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]


def _thick_parts(big: np.ndarray, depth: np.ndarray, skeleton: np.ndarray, loops: np.ndarray,
                 pen_half: float) -> np.ndarray:
    """The writer's own 56x56 shape (``depth``: _depth of it) thinned to the pen, as a signed distance in 56-grid px
    (positive inside, edged by the caller at the page's resolution): each stroke keeps its centre and ``pen_half`` / the
    writer's median half width of its own width, so a stroke of the median width comes out as wide as the pen and what
    the writer drew heavier stays heavier in proportion; the filled ``loops`` stay open (the pen draws their rings).

    Thinning eats into a thick stroke's ends by about its half width, so a short heavy stroke disappears from the
    centre line: a 7's top bar (the 7 then reads as a 1), a 2's heavy base (a ")"), a 3's top hook. Drawn beside the
    centre line, these parts come back as the writer drew them.
    """
    if not skeleton.any():
        return np.full(big.shape, -OUTSIDE, np.float32)
    half = float(np.median(depth[skeleton]))
    reach = 2 * int(np.ceil(half)) + 1
    local_half = cv2.dilate(depth, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach)))  # the stroke's own
    inside = depth - local_half * (1 - min(1.0, pen_half / max(half, 1e-6)))
    field = np.where(big & ~loops, inside, -OUTSIDE).astype(np.float32)
    return cv2.GaussianBlur(field, (0, 0), SMOOTH)


def _page_scale(height: float, width: float, extent: float) -> float:
    """Page px per 28-grid px for a centre line ``extent`` 28-grid px tall, written ``height`` px tall with a pen
    ``width`` px wide (which adds half its width above and below the centre line)."""
    return max(4.0, height - width) / max(1.0, extent)


def rewrite(digit: np.ndarray, height: float, width: float, rng: np.random.Generator, heavy: bool = True
            ) -> np.ndarray:
    """The digit rewritten with a pen ``width`` px wide, ``height`` px tall, slanted a little (float alpha);
    ``heavy``: the writer's heavy strokes laid too (``_thick_parts``) and each stroke drawn to its end
    (``_full_length``), else the centre line alone."""
    big = _pen_shape(cv2.resize(digit.astype(np.float32), (56, 56), interpolation=cv2.INTER_LINEAR))
    path, skeleton, loops = _pen_path(big)
    depth = _depth(big) if heavy else None
    if heavy and path.any():
        ys = np.nonzero(path)[0]
        pen_half = width / _page_scale(height, width, (ys.max() - ys.min()) / 2)  # half the pen, in 56-grid px
        path = _full_length(path, depth, max(1.0, pen_half))
    segments, (x0, y0, x1, y1) = _centre_lines(path)
    scale = _page_scale(height, width, y1 - y0)
    angle, shear = np.deg2rad(rng.uniform(-7, 7)), rng.uniform(-0.18, 0.18)
    a = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ np.array([[1, shear], [0, 1]])
    a = a * scale
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    points = (segments.reshape(-1, 2) - centre) @ a.T
    pad = width + 3
    origin = points.min(0) - pad
    points -= origin
    size = np.ceil(points.max(0) + pad).astype(int)
    ridge = np.zeros((size[1], size[0]), np.uint8)
    lines = np.round(points * 16).astype(np.int32).reshape(-1, 2, 2)
    cv2.polylines(ridge, list(lines), False, 255, 1, cv2.LINE_8, 4)
    to_ridge = cv2.distanceTransform(255 - ridge, cv2.DIST_L2, 3)
    alpha = np.clip(width / 2 + 0.5 - to_ridge, 0, 1)
    if not heavy:
        return alpha
    # the 56-grid pixel p is the 28x28 point (p + 0.5) / 2, placed as the segments are: (q - centre) @ a.T - origin;
    # the signed distance is warped and then edged at the page's resolution, so a large digit's edge stays sharp
    to_page = np.hstack([a / 2, (a @ (0.25 - centre) - origin)[:, None]]).astype(np.float32)
    field = _thick_parts(big, depth, skeleton, loops, width / scale)
    thick = cv2.warpAffine(field, to_page, (int(size[0]), int(size[1])), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=-OUTSIDE)
    return np.maximum(alpha, np.clip(thick * scale / 2 + 0.5, 0, 1))
