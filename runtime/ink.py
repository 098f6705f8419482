"""The ink in a frame: how much darker than its paper each pixel is, with uneven and dim light divided out.

Ink may be dark on light paper or light on a dark board, and of any colour: each pixel counts in its most
affected channel (under coloured printed lines and a black or pencil pen, in its least affected one:
neutral_share). The desk beyond the sheet's edge is masked out, so it never reads as one huge stroke, and so
is what reaches in over the page from beyond the frame (the writer's hand and pen, runtime/over_page.py): its
outline, the strokes that run on from it (a pen's tip) and whatever lies on it.
"""
from __future__ import annotations

import cv2
import numpy as np

from .channels import channel_max, channel_min, page_colour, steepness
from .labels import components
from .over_page import object_edges, off_colour, outlines_over_page

SHARP_EDGE = 0.2  # off_page_mask: a dark region whose edge falls this steeply (paper brightness per px) is desk
BUSY_PAGE = 20.0  # neutral_share: the page's 95th percentile of ink at least this (printed lines, a grid)
COLOURED_LINES = (0.4, 0.65)  # ... and that percentile in the least affected channel, as a fraction of the most
# affected one's: from the second value down to the first, ink counts more and more in its least affected channel
GREY_STROKES = (0.4, 0.5)  # ... while the strongest ink (99.9th percentile) keeps this much there (the writing is not
# coloured): from the second value down to the first the share fades out
SPREAD = np.ones((5, 5), np.uint8)  # ink_image: the paper is the brightest (darkest on a board) colour this near
SOFTEN = (5, 5)  # ink_image's Gaussian (sigma 1 px) over 5 taps, not OpenCV's 7: 0.39 ms a 640x480 frame, not 0.59


def to_gray(frame: np.ndarray) -> np.ndarray:
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def light_ink(small_gray: np.ndarray, beside_objects: np.ndarray | None = None) -> bool:
    """True for light ink on a dark board: more clearly bright detail than clearly dark detail.

    Detail is the frame minus its median-filtered self: a median ignores thin strokes, so unlike a
    mean it leaves no bright halo around a dark digit (with one small digit on a page, that halo
    outnumbers the stroke pixels and would pass for light ink). Detail where ``beside_objects`` is set
    (object_edges: the outline of a hand or a pen), when what it rings is darker than the page, does not count:
    on an empty page a hand's outline alone gave more bright detail than dark (15 of 80 pages with a hand), and
    the whole page was then read as light ink.
    """
    detail = small_gray.astype(np.int16) - cv2.medianBlur(small_gray, 5).astype(np.int16)
    noise = float(np.median(np.abs(detail))) + 1.0
    if beside_objects is not None and beside_objects.any():
        outline = beside_objects > 0
        # a hand or a pen is darker than the page; on a dark board the estimate steps around the chalk itself
        if float(np.mean(small_gray[outline])) < float(np.median(small_gray)):
            detail[outline] = 0
    bright = int(np.count_nonzero(detail > 6 * noise))
    dark = int(np.count_nonzero(detail < -6 * noise))
    return bright > 1.5 * dark


def ink_image(frame: np.ndarray, paper_out: dict | None = None) -> np.ndarray:
    """Ink contrast, bright on dark, as a fraction of the local paper brightness (0..255). ``paper_out``, when
    given, receives what ink_of needs to read the ink of any part of the frame again.

    The paper is estimated per colour channel by a max filter on a quarter-size frame (a min
    filter for light ink on a dark board), so uneven and dim light divide out. Ink is how much
    darker than its paper a pixel is in its most affected channel: blue ink is dark in red, red ink
    in green and blue, so coloured pens stand out as well as black ones.
    """
    h, w = frame.shape[:2]
    small = quarter_size(frame)
    paper_small = cv2.blur(cv2.dilate(small, SPREAD), (5, 5))
    page = page_colour(paper_small)
    edges = object_edges(paper_small, page)
    light = light_ink(to_gray(small), edges)
    if light:  # a dark board: its paper is the darkest colour near each pixel
        paper_small = cv2.blur(cv2.erode(small, SPREAD), (5, 5))
    paper = cv2.resize(paper_small, (w, h), interpolation=cv2.INTER_LINEAR)
    if light:  # scale by the brightest ink seen, not by the board
        found = {"light": True, "paper": paper,
                 "scale": 255.0 / max(64.0, float(np.percentile(to_gray(small), 99.5)))}
    else:
        reference_small = cv2.max(channel_max(paper_small), 32)
        reference = cv2.resize(reference_small, (w, h), interpolation=cv2.INTER_LINEAR)
        closed = closed_brightness(small)
        things = off_colour(paper_small, page)
        on_page = off_page_mask(closed, (w, h), things)
        over_page = bool(things.any()) or bool(edges.any())  # something reaching in: a hand, a pen, the desk
        # the page's own lines and writing decide which ink to read, not what reaches in over it
        left_out = cv2.max(things, edges) if over_page else None
        found = {"light": False, "paper": paper, "reference": reference, "on_page": on_page, "over_page": over_page,
                 "neutral": neutral_share(cv2.subtract(paper_small, small), reference_small, left_out)}
        if over_page:
            found["left_out"] = cv2.resize(left_out, (w, h), interpolation=cv2.INTER_NEAREST)
            on_page[found["left_out"] > 0] = 0
            objects = outlines_over_page(things, edges, closed, paper_small, page)
            if objects.any():
                found["objects"] = cv2.resize(objects, (w, h), interpolation=cv2.INTER_NEAREST)
    if paper_out is not None:
        paper_out.update(found)
    return ink_of(cv2.GaussianBlur(frame, SOFTEN, 1.0), found, (slice(None), slice(None)))


def quarter_size(frame: np.ndarray) -> np.ndarray:
    """The frame at a quarter of its width and height, each pixel the mean of its 4x4 block. Halved twice where
    the sides allow: OpenCV's halving is vectorised and its quartering is not (a 640x480 colour frame in 0.09 ms,
    not 0.31-0.38), and the two agree within one level."""
    h, w = frame.shape[:2]
    if h % 4 or w % 4:
        return cv2.resize(frame, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    half = cv2.resize(frame, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return cv2.resize(half, (w // 4, h // 4), interpolation=cv2.INTER_AREA)


def ink_of(image: np.ndarray, paper: dict, region) -> np.ndarray:
    """ink_image's ink of ``image``, the frame's ``region`` (rows, columns), with the paper ink_image found."""
    under = paper["paper"][region]
    if paper["light"]:
        return cv2.convertScaleAbs(channel_max(cv2.subtract(image, under)), alpha=paper["scale"])
    darker, neutral = cv2.subtract(under, image), paper["neutral"]
    darkest = channel_max(darker)
    if neutral > 0:
        darkest = cv2.addWeighted(darkest, 1.0 - neutral, channel_min(darker), neutral, 0.0)
    ink = cv2.divide(darkest, paper["reference"][region], scale=255)
    return cv2.bitwise_and(ink, paper["on_page"][region])


def neutral_share(darker: np.ndarray, reference: np.ndarray, leave_out: np.ndarray | None = None) -> float:
    """How much ink counts in its least affected channel (0..1) rather than its most affected one: 1 where printed
    lines are coloured and the writing is not (a dense blue grid under a black pen), where the lines fade in that
    channel and the writing stays. In the most affected channel such a grid is as dark as the strokes (squared
    paper 14 px a square: its 95th percentile 101, the writing 102-138): the finder's thresholds cut the digits
    into pieces and none was read. Between clearly coloured and grey lines the share falls gradually, and so it does
    between a grey pen and one of the lines' colour, so a page near either boundary does not switch from one ink to
    the other from frame to frame. ``darker`` is the quarter-size paper minus the frame, per channel; a coloured pen
    (or no writing) keeps the usual ink (0).
    ``leave_out``: 1 over what is not the page (a hand, a pen, the desk), counted in neither percentile: a hand's
    rim and a pen's colour passed for the strongest ink and a grid's lines came back as strokes beside them."""
    if darker.ndim == 2:
        return 0.0
    most = cv2.divide(channel_max(darker), reference, scale=255)
    least = cv2.divide(channel_min(darker), reference, scale=255)
    if leave_out is not None:
        on_page = leave_out == 0
        if not on_page.any():  # nothing but what reaches in: no page to read the lines of
            return 0.0
        most, least = most[on_page], least[on_page]
    most = np.bincount(most.ravel(), minlength=256)
    least = np.bincount(least.ravel(), minlength=256)
    busy_most, strongest_most = level_at(most, 0.95), level_at(most, 0.999)
    busy_least, strongest_least = level_at(least, 0.95), level_at(least, 0.999)
    if busy_most < BUSY_PAGE:
        return 0.0
    low, high = COLOURED_LINES
    lines_coloured = np.clip((high - busy_least / busy_most) / (high - low), 0.0, 1.0)
    grey_low, grey_high = GREY_STROKES
    writing_grey = np.clip((strongest_least / max(strongest_most, 1) - grey_low) / (grey_high - grey_low), 0.0, 1.0)
    return float(lines_coloured * writing_grey)


def closed_brightness(small: np.ndarray) -> np.ndarray:
    """The quarter-size frame's brightness (its brightest channel) with strokes closed away, up to 4 px."""
    return cv2.morphologyEx(channel_max(small), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))


def off_page_mask(closed: np.ndarray, size, over: np.ndarray | None = None) -> np.ndarray:
    """0 where the frame shows no paper (the desk beyond the sheet's edge), else 255.

    Paper is the bright majority; a region far darker than it (and a band around it, where the paper
    estimate bleeds over the edge) would otherwise read as one huge stroke. A shadow on the page is as dark
    but fades in over many pixels, and the ink in it divides out like any uneven light: a dark region counts
    as off the page only where its edge is a sharp step (the sheet's edge). ``closed`` (closed_brightness) has its
    strokes closed away: a thick marker stroke in a soft shadow at the page's edge made one dark region with it,
    and its own sharp edge passed for the sheet's (wide-200 frames 30-31: a 6's stem cut out). ``over`` (off_colour,
    quarter size): what reaches in over the page; its outline is no sheet's edge, so a hand and its shadow, one dark
    region, do not take the shadow's writing off the page (writing-600 frames 40-41: a row of three digits).
    """
    level = cv2.blur(closed, (5, 5))
    paper = float(np.percentile(level, 90))
    dark = (level < 0.45 * paper).view(np.uint8)
    dark = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((9, 9), np.uint8))  # not a marker stroke: a region
    if dark.any():
        dark = sharp_edged(dark, closed, paper, over)
    if not dark.any():
        return np.full(size[::-1], 255, np.uint8)
    dark = cv2.dilate(dark, np.ones((9, 9), np.uint8))
    return cv2.resize(np.where(dark > 0, 0, 255).astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)


def sharp_edged(dark: np.ndarray, level: np.ndarray, paper: float, over: np.ndarray | None = None) -> np.ndarray:
    """The dark regions that reach the frame's border and whose edge inside the frame is a sharp step: the 90th
    percentile of the brightness gradient along it is at least SHARP_EDGE of the paper's brightness per pixel
    (quarter size). Measured on the dark regions of 300 desk scenes (wide-200): the sheet's edge 0.30-0.82,
    shadows on the page 0.02-0.10. The desk beyond the sheet always reaches the border; a dark region ringed by
    paper is ink (a big digit in thick marker, its strokes run together), however sharp its edge."""
    step = steepness(level) / max(paper, 1.0)
    inside = np.zeros(dark.shape, np.uint8)
    inside[2:-2, 2:-2] = 1  # the frame's own border is no edge of the region
    if over is not None and over.any():  # nor the outline of what reaches in over the page
        inside[cv2.dilate(over, np.ones((5, 5), np.uint8)) > 0] = 0
    n, labels, stats, _ = components(dark)
    keep = np.zeros(dark.shape, np.uint8)
    for k in range(1, n):
        x, y, w, h = stats[k, :4]
        if x > 0 and y > 0 and x + w < dark.shape[1] and y + h < dark.shape[0]:
            continue
        region = (labels == k).astype(np.uint8)
        edge = (cv2.dilate(region, np.ones((5, 5), np.uint8)) - cv2.erode(region, np.ones((5, 5), np.uint8))) & inside
        values = step[edge > 0]
        if not len(values) or np.percentile(values, 90) >= SHARP_EDGE:
            keep |= region
    return keep


def level_at(counts: np.ndarray, fraction: float) -> int:
    """The level below which ``fraction`` of a histogram's values lie (its lower quantile)."""
    cumulative = np.cumsum(counts)
    return int(np.searchsorted(cumulative, max(1, int(np.ceil(cumulative[-1] * fraction)))))
