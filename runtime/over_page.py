"""What reaches in over the page from beyond the frame, or lies on it: the writer's hand and pen, the desk, a
sticky note. Found on the quarter-size frame and its paper estimate (runtime/ink.py), so their outlines are kept
out of the ink and the strokes that run on from them (a pen's cone and point) are left out of the stroke mask.
"""
from __future__ import annotations

import cv2
import numpy as np

from .channels import channel_max, page_colour, steepness
from .labels import components

OBJECT_EDGE = 0.05  # object_edges: the paper estimate's step per quarter-size px, as a share of the page's brightness,
# at the edge of something above the page: 0.04 lost tune digits, 0.07-0.16 left more of a hand's outline as strokes
REACH = 5  # without_object_strokes: a stroke this near an object's outline (px, a square) is part of the object
SHARP_OUTLINE = 0.1  # sharp_outline: the frame's own step there (per quarter-size px, of the page's brightness):
# at 0.05-0.08 the edges of sharp shadows took digits beside them (tune clips -2 to -7), at 0.12-0.16 more pen tips stayed
OFF_COLOUR = 0.04  # off_colour: chroma this far from the page's (0.03-0.06 measured alike; the lightest skin 0.046)
RIM = 9  # ... widened by this (a square, quarter-size px: 18 px each side at full size; 7-11 measured alike)
NOTE = 9  # ... or, ringed by the page, at least this wide (quarter-size px: 36 px; no marker stroke is): a sticky note
LYING_REACH = 21  # lying_things: a dip in the paper estimate narrower than this (quarter-size px: 84 px) ...
LYING_DIP = 0.1  # ... and this much darker than the estimate around it (of the page's brightness) ...
LYING_WIDTH = 5  # ... at least this wide (quarter-size px: 20 px): narrower, a thick dark 6 lost 2 check digits


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


def reaching_border(mask: np.ndarray) -> np.ndarray:
    """The connected parts of ``mask`` (0/1) that touch the frame's border."""
    if not mask.any():
        return mask
    n, labels, stats, _ = components(mask)
    x, y, w, h = (stats[:, k] for k in range(4))
    reaching = (x == 0) | (y == 0) | (x + w == mask.shape[1]) | (y + h == mask.shape[0])
    reaching[0] = False  # the background
    return reaching[labels].view(np.uint8) if reaching.any() else np.zeros_like(mask)


def off_colour(paper_small: np.ndarray, page: np.ndarray | None = None) -> np.ndarray:
    """1 over a thing whose colour is not the page's, reaching in from beyond the frame (a hand, a pencil's wood, a
    coloured desk), with its rim, and along the outline of a sheet of another colour on the page; else 0. Under
    anything wider than the paper estimate's reach the estimate is that thing's own colour: a pen lying over the hand
    (between two fingers, or its cone against the palm) read as ink on skin. Chroma, each channel's share of the sum,
    against the page's (its 90th percentile): a shadow or dim light changes the brightness, not the chroma; coloured
    paper is the page's own colour. A sticky note, ringed by the page, keeps its inside (its own colour is its paper
    there) and loses its outline, which read as a stroke around it."""
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


def lying_things(paper_small: np.ndarray, page: np.ndarray) -> np.ndarray:
    """1 over something lying on the page, wider than a stroke and darker than the paper around it, though it does not
    reach the frame's border or differ in colour: a silver pen's metal cone, a grey cap. Under it the paper estimate
    is the thing's own grey, so only its outline reads as ink: a hollow triangle read as a 4 or a 7."""
    estimate = channel_max(paper_small)
    dip = cv2.morphologyEx(estimate, cv2.MORPH_BLACKHAT, np.ones((LYING_REACH, LYING_REACH), np.uint8))
    deep = (dip > LYING_DIP * max(float(page.max()), 16.0)).view(np.uint8)
    return cv2.morphologyEx(deep, cv2.MORPH_OPEN, np.ones((LYING_WIDTH, LYING_WIDTH), np.uint8))


def outlines_over_page(things: np.ndarray, edges: np.ndarray, closed: np.ndarray, paper_small: np.ndarray,
                       page: np.ndarray) -> np.ndarray:
    """1 where a stroke that touches it belongs to something over the page, not to the writing (quarter size): what
    off_colour found, the sharp part of object_edges' outline, and lying_things."""
    objects = cv2.max(things, lying_things(paper_small, page))
    if edges.any():
        objects = cv2.max(objects, sharp_outline(closed, edges))
    return objects


def without_object_strokes(mask: np.ndarray, objects: np.ndarray) -> np.ndarray:
    """The stroke mask without the strokes that reach ``objects`` (outlines_over_page at full size): a pen's cone
    and point run on from its barrel, whose sides object_edges keeps out of the ink, and are narrower than the paper
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
