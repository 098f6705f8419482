"""The ink in a frame: how much darker than its paper each pixel is, with uneven and dim light divided out.

Ink may be dark on light paper or light on a dark board, and of any colour: each pixel counts in its most
affected channel (under coloured printed lines and a black or pencil pen, in its least affected one:
neutral_share). The desk beyond the sheet's edge is masked out, so it never reads as one huge stroke, and so
is what reaches in over the page from beyond the frame (the writer's hand and pen): its outline, the strokes that
run on from it (a pen's tip) and whatever lies on it.
"""
from __future__ import annotations

import cv2
import numpy as np

SHARP_EDGE = 0.2  # off_page_mask: a dark region whose edge falls this steeply (paper brightness per px) is desk
BUSY_PAGE = 20.0  # neutral_share: the page's 95th percentile of ink at least this (printed lines, a grid)
COLOURED_LINES = (0.4, 0.65)  # ... and that percentile in the least affected channel, as a fraction of the most
# affected one's: from the second value down to the first, ink counts more and more in its least affected channel
GREY_STROKES = 0.5  # ... while the strongest ink (99.9th percentile) keeps this much there: the writing is not coloured
OBJECT_EDGE = 0.05  # object_edges: the paper estimate's step per quarter-size px, as a share of the page's brightness,
# at the edge of something above the page: 0.04 lost tune digits, 0.07-0.16 left more of a hand's outline as strokes
REACH = 5  # without_object_strokes: a stroke this near an object's outline (px, a square) is part of the object
SHARP_OUTLINE = 0.1  # sharp_outline: the frame's own step there (per quarter-size px, of the page's brightness):
# at 0.05-0.08 the edges of sharp shadows took digits beside them (tune clips -2 to -7), at 0.12-0.16 more pen tips stayed
OFF_COLOUR = 0.04  # off_colour: chroma this far from the page's (0.03-0.06 measured alike; the lightest skin 0.046)
RIM = 9  # ... widened by this (a square, quarter-size px: 18 px each side at full size; 7-11 measured alike)
NOTE = 9  # ... or, ringed by the page, at least this wide (quarter-size px: 36 px; no marker stroke is): a sticky note
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
        on_page = off_page_mask(closed, (w, h))
        found = {"light": False, "paper": paper, "reference": reference, "on_page": on_page,
                 "neutral": neutral_share(cv2.subtract(paper_small, small), reference_small)}
        things = off_colour(paper_small, page)
        has_things, has_edges = bool(things.any()), bool(edges.any())
        found["over_page"] = has_things or has_edges  # something reaching in: a hand, a pen
        if has_things:
            on_page[cv2.resize(things, (w, h), interpolation=cv2.INTER_NEAREST) > 0] = 0
        if has_edges:
            on_page[cv2.resize(edges, (w, h), interpolation=cv2.INTER_NEAREST) > 0] = 0
            outline = sharp_outline(closed, edges)
            if outline.any():
                found["objects"] = cv2.resize(outline, (w, h), interpolation=cv2.INTER_NEAREST)
    if paper_out is not None:
        paper_out.update(found)
    return ink_of(cv2.GaussianBlur(frame, SOFTEN, 1.0), found, (slice(None), slice(None)))


def object_edges(paper_small: np.ndarray, page: np.ndarray | None = None) -> np.ndarray:
    """1 where the paper estimate (quarter size) steps sharply, else 0: the edge of a hand or a pen over the page.

    The estimate is the brightest colour within 5 px (20 at full size), blurred as far: it passes over strokes, and
    under anything wider it is that thing's own colour. At a hand's edge it steps within those 10 px, and there the
    ink image reads the paper's colour against the hand's and sees a thick stroke along its outline; the page's
    own light and shadows change over more.
    """
    paper = paper_small.astype(np.float32)
    page = page_colour(paper_small) if page is None else page
    # against the page's own brightness (each channel's 90th percentile), as against the local estimate a shadow's
    # dim end would read as steep as a hand's edge
    per_page = [1.0 / max(float(level), 16.0) for level in page]
    step = channel_max(cv2.multiply(steepness(paper), tuple(per_page + [0.0] * (4 - len(per_page)))))
    edges = cv2.dilate((step > OBJECT_EDGE).view(np.uint8), np.ones((3, 3), np.uint8))
    # a hand or a pen reaches in from beyond the frame; a big digit in thick marker is ringed by paper
    return reaching_border(edges)


def steepness(image: np.ndarray) -> np.ndarray:
    """How steeply ``image`` changes at each pixel, in its own units per pixel (float32, per channel): the 3x3 Sobel
    gradient's magnitude over 4, what a 3x3 Sobel answers to a unit step."""
    gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.magnitude(gx, gy) * 0.25


def page_colour(paper_small: np.ndarray) -> np.ndarray:
    """The page's brightness in each channel of the paper estimate: its 90th percentile, on every other row and
    column (the estimate is smooth; a quarter of the work)."""
    channels = 1 if paper_small.ndim == 2 else paper_small.shape[2]
    return np.percentile(paper_small[::2, ::2].reshape(-1, channels), 90, axis=0).astype(np.float32)


def reaching_border(mask: np.ndarray) -> np.ndarray:
    """The connected parts of ``mask`` (0/1) that touch the frame's border."""
    if not mask.any():
        return mask
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    x, y, w, h = (stats[:, k] for k in range(4))
    reaching = (x == 0) | (y == 0) | (x + w == mask.shape[1]) | (y + h == mask.shape[0])
    reaching[0] = False  # the background
    return reaching[labels].view(np.uint8) if reaching.any() else np.zeros_like(mask)


def off_colour(paper_small: np.ndarray, page: np.ndarray | None = None) -> np.ndarray:
    """1 over a thing whose colour is not the page's, reaching in from beyond the frame (a hand, a pencil's wood, a
    coloured desk), with its rim, and along the outline of a sheet of another colour on the page; else 0. Under anything wider than the paper estimate's reach the estimate is that
    thing's own colour: a pen lying over the hand (between two fingers, or its cone against the palm) read as ink on
    skin. Chroma, each channel's share of the sum, against the page's (its 90th percentile): a shadow or dim light
    changes the brightness, not the chroma; coloured paper is the page's own colour. A sticky note, ringed by the page,
    keeps its inside (its own colour is its paper there) and loses its outline, which read as a stroke around it."""
    if paper_small.ndim == 2:
        return np.zeros(paper_small.shape, np.uint8)
    page = (page_colour(paper_small) if page is None else page) + 1.0
    share = page / page.sum()
    # |channel / sum - the page's share| > OFF_COLOUR, as |channel - share x sum| > OFF_COLOUR x sum, in one transform
    apart = np.eye(3, dtype=np.float32) - share[:, None].astype(np.float32)
    paper = paper_small.astype(np.float32) + 1.0
    distance = channel_max(cv2.absdiff(cv2.transform(paper, apart), 0.0))
    total = cv2.transform(paper, np.full((1, 3), OFF_COLOUR, np.float32))
    far = cv2.morphologyEx((distance > total).view(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    things = reaching_border(far)
    rim = np.ones((RIM, RIM), np.uint8)
    # its rim, where the estimate is still the paper's and the thing reads as a stroke along its outline
    out = cv2.dilate(things, rim) if things.any() else things
    # a sheet of another colour lying on the page (a sticky note): only its outline, so what is written on it is read
    notes = cv2.morphologyEx(cv2.subtract(far, things), cv2.MORPH_OPEN, np.ones((NOTE, NOTE), np.uint8))
    if notes.any():
        out = cv2.max(out, cv2.subtract(cv2.dilate(notes, rim), cv2.erode(notes, rim)))
    return out


def sharp_outline(closed: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The part of ``edges`` (object_edges) where the frame itself steps sharply: the outline of a hand or a pen,
    in focus, and not the edge of a shadow, which the paper estimate steps at as steeply but the frame does not.
    ``closed``: closed_brightness of the quarter-size frame."""
    frame = closed.astype(np.float32)
    page = max(float(np.percentile(frame[::2, ::2], 90)), 16.0)
    steep = (steepness(frame) > SHARP_OUTLINE * page).view(np.uint8)
    return cv2.bitwise_and(edges, cv2.dilate(steep, np.ones((5, 5), np.uint8)))


def without_object_strokes(mask: np.ndarray, objects: np.ndarray) -> np.ndarray:
    """The stroke mask without the strokes that reach ``objects`` (sharp_outline at full size): a pen's cone and
    point run on from its barrel, whose sides object_edges keeps out of the ink, and are narrower than the paper
    estimate's reach, so they read as a stroke as dark as a marker's; written digits stay clear of the hand."""
    near = cv2.bitwise_and(cv2.dilate(objects, np.ones((REACH, REACH), np.uint8)), mask)
    if not cv2.countNonZero(near):
        return mask
    count, labels = cv2.connectedComponents(mask, connectivity=8)
    touching = np.zeros(count, bool)
    touching[labels[near > 0]] = True
    touching[0] = False
    kept = mask.copy()
    kept[touching[labels]] = 0
    return kept


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


def neutral_share(darker: np.ndarray, reference: np.ndarray) -> float:
    """How much ink counts in its least affected channel (0..1) rather than its most affected one: 1 where printed
    lines are coloured and the writing is not (a dense blue grid under a black pen), where the lines fade in that
    channel and the writing stays. In the most affected channel such a grid is as dark as the strokes (squared
    paper 14 px a square: its 95th percentile 101, the writing 102-138): the finder's thresholds cut the digits
    into pieces and none was read. Between clearly coloured and grey lines the share falls gradually, so a page
    near the boundary does not switch from one ink to the other from frame to frame. ``darker`` is the
    quarter-size paper minus the frame, per channel; a coloured pen (or no writing) keeps the usual ink (0)."""
    if darker.ndim == 2:
        return 0.0
    most = np.bincount(cv2.divide(channel_max(darker), reference, scale=255).ravel(), minlength=256)
    least = np.bincount(cv2.divide(channel_min(darker), reference, scale=255).ravel(), minlength=256)
    busy_most, strongest_most = level_at(most, 0.95), level_at(most, 0.999)
    busy_least, strongest_least = level_at(least, 0.95), level_at(least, 0.999)
    if busy_most < BUSY_PAGE or strongest_least < GREY_STROKES * strongest_most:
        return 0.0
    low, high = COLOURED_LINES
    return float(np.clip((high - busy_least / busy_most) / (high - low), 0.0, 1.0))


def channel_max(image: np.ndarray) -> np.ndarray:
    """Each pixel's largest channel."""
    return image if image.ndim == 2 else per_pixel(image, cv2.dilate)


def channel_min(image: np.ndarray) -> np.ndarray:
    """Each pixel's smallest channel."""
    return per_pixel(image, cv2.erode)


CHANNELS = np.ones((1, 3), np.uint8)


def per_pixel(image: np.ndarray, morph) -> np.ndarray:
    """``morph`` (cv2.dilate: max, cv2.erode: min) over each pixel's 3 channels: a 1x3 window anchored at its left
    end run along each row of interleaved channels, read at every third column. A 640x480 frame in 0.15 ms where
    three extractChannel calls and two cv2.max took 0.85 ms (cv2.split 0.95, numpy's max over the axis 7.2);
    the finder takes it on the whole frame every frame."""
    h, w = image.shape[:2]
    rows = np.ascontiguousarray(image).reshape(h, w * 3)
    return np.ascontiguousarray(morph(rows, CHANNELS, anchor=(0, 0))[:, ::3])


def closed_brightness(small: np.ndarray) -> np.ndarray:
    """The quarter-size frame's brightness (its brightest channel) with strokes closed away, up to 4 px."""
    return cv2.morphologyEx(channel_max(small), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))


def off_page_mask(closed: np.ndarray, size) -> np.ndarray:
    """0 where the frame shows no paper (the desk beyond the sheet's edge), else 255.

    Paper is the bright majority; a region far darker than it (and a band around it, where the paper
    estimate bleeds over the edge) would otherwise read as one huge stroke. A shadow on the page is as dark
    but fades in over many pixels, and the ink in it divides out like any uneven light: a dark region counts
    as off the page only where its edge is a sharp step (the sheet's edge). ``closed`` (closed_brightness) has its
    strokes closed away: a thick marker stroke in a soft shadow at the page's edge made one dark region with it,
    and its own sharp edge passed for the sheet's (wide-200 frames 30-31: a 6's stem cut out).
    """
    level = cv2.blur(closed, (5, 5))
    paper = float(np.percentile(level, 90))
    dark = (level < 0.45 * paper).view(np.uint8)
    dark = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((9, 9), np.uint8))  # not a marker stroke: a region
    if dark.any():
        dark = sharp_edged(dark, closed, paper)
    if not dark.any():
        return np.full(size[::-1], 255, np.uint8)
    dark = cv2.dilate(dark, np.ones((9, 9), np.uint8))
    return cv2.resize(np.where(dark > 0, 0, 255).astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)


def sharp_edged(dark: np.ndarray, level: np.ndarray, paper: float) -> np.ndarray:
    """The dark regions that reach the frame's border and whose edge inside the frame is a sharp step: the 90th
    percentile of the brightness gradient along it is at least SHARP_EDGE of the paper's brightness per pixel
    (quarter size). Measured on the dark regions of 300 desk scenes (wide-200): the sheet's edge 0.30-0.82,
    shadows on the page 0.02-0.10. The desk beyond the sheet always reaches the border; a dark region ringed by
    paper is ink (a big digit in thick marker, its strokes run together), however sharp its edge."""
    step = steepness(level) / max(paper, 1.0)
    inside = np.zeros(dark.shape, np.uint8)
    inside[2:-2, 2:-2] = 1  # the frame's own border is no edge of the region
    n, labels, stats, _ = cv2.connectedComponentsWithStats(dark)
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
