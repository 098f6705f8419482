"""Reading digits off a desk with the real (small) digit model: notebook paper, coloured ink, dim light.

Pages are drawn here with OpenCV (printed grid and ruled lines, tints, uneven light, sensor noise) or
rendered by edgetl.desk, and read the way `edgetl run` reads a frame: runtime.stream.recognize (the
finder, the 28x28 crops, one batched call, the "not a digit" class dropped, min score 0.5).

"""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from conftest import run_cli
from edgetl.runtime.digits import digit_crops
from edgetl.runtime.ink import light_ink, to_gray
from edgetl.runtime.stream import recognize
from edgetl.runtime.tracking import iou

H, W = 480, 640
WHITE, CREAM, YELLOW, BLUEISH, GREENISH = (238, 244, 246), (212, 236, 246), (190, 236, 248), (246, 234, 220), (222, 242, 226)
LIGHT_BLUE = (0.98, 0.83, 0.68)  # printed notebook lines, BGR transmission (edgetl.desk's light blue)
MARGIN_RED = (0.72, 0.68, 0.98)
BLACK_INK, BLUE_INK = (0.12, 0.12, 0.14), (0.78, 0.40, 0.18)  # BGR transmission at full coverage

pytestmark = pytest.mark.slow  # the session's digit model (conftest.digit_run): trained and exported once


# ------------------------------------------------------------------------------------------------ pages

def paper(rng: np.random.Generator, tint=WHITE, kind: str = "grid", pitch: float = 20.0, width: int = 1,
          strength: float = 1.0, angle: float = 0.0, margin: bool = False) -> np.ndarray:
    """A float32 BGR page (H, W, 3): tinted paper with printed lines, ``angle`` degrees off the frame's axes.

    kind: "grid" (squared), "ruled" (horizontal lines) or "plain". ``strength`` scales how dark the
    printed lines are (1: edgetl.desk's light blue at full strength).
    """
    page = np.empty((H, W, 3), np.float32)
    page[:] = np.float32(tint) * np.float32(rng.uniform(0.98, 1.02, 3))
    if kind == "plain":
        return page
    lines = np.zeros((H, W), np.uint8)
    a = np.deg2rad(angle)
    along, across = np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])
    centre, reach = np.array([W / 2, H / 2]), np.hypot(W, H)
    families = [(along, across)] + ([(across, -along)] if kind == "grid" else [])
    for direction, normal in families:
        for offset in np.arange(-reach / 2 + rng.uniform(0, pitch), reach / 2, pitch):
            p, q = (centre + normal * offset + s * direction * reach for s in (-1, 1))
            cv2.line(lines, tuple(np.round(p * 16).astype(int)), tuple(np.round(q * 16).astype(int)), 255, width,
                     cv2.LINE_AA, 4)
    coverage = lines.astype(np.float32)[..., None] / 255
    page *= 1 - coverage * (1 - np.float32(LIGHT_BLUE)) * np.float32(strength)
    if margin:  # the red margin of a ruled page
        edge = np.zeros((H, W), np.uint8)
        x = int(rng.uniform(60, 140))
        cv2.line(edge, (x * 16 + int(np.tan(a) * H * 16), 0), (x * 16, H * 16), 255, 2, cv2.LINE_AA, 4)
        page *= 1 - edge.astype(np.float32)[..., None] / 255 * (1 - np.float32(MARGIN_RED))
    return page


def write(page: np.ndarray, digit: np.ndarray, x: int, y: int, height: int, ink=BLACK_INK) -> list[int]:
    """Ink one 28x28 MNIST digit (its gray level as pen coverage) at (x, y), ``height`` px tall; its tight box."""
    alpha = cv2.resize(digit, (height, height), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255
    page[y:y + height, x:x + height] *= 1 - alpha[..., None] * (1 - np.float32(ink))
    ys, xs = np.nonzero(alpha > 0.2)
    return [x + int(xs.min()), y + int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]


def ink_strokes(page: np.ndarray, coverage: np.ndarray, ink=BLACK_INK) -> None:
    """Ink strokes drawn as a uint8 coverage mask (255: full pen) onto the page, in place."""
    page *= 1 - coverage.astype(np.float32)[..., None] / 255 * (1 - np.float32(ink))


def film(page: np.ndarray, rng: np.random.Generator, gain: float = 1.0, noise: float = 3.0) -> np.ndarray:
    """The camera: light falling off across the page (dimmed by ``gain``), a little defocus, sensor noise."""
    direction = rng.uniform(0, 2 * np.pi)
    gy, gx = np.mgrid[0:H // 8, 0:W // 8].astype(np.float32)
    ramp = (np.cos(direction) * (gx / (W // 8) - 0.5) + np.sin(direction) * (gy / (H // 8) - 0.5)) / 0.7 + 0.5
    light = cv2.resize(gain * (1 - rng.uniform(0.1, 0.35) * np.clip(ramp, 0, 1)), (W, H))
    image = cv2.GaussianBlur(page * light[..., None], (0, 0), rng.uniform(0.6, 1.0))
    grain = np.empty_like(image)
    cv2.setRNGSeed(int(rng.integers(2 ** 31)))  # cv2.randn draws from OpenCV's own generator: seed it from ours
    cv2.randn(grain, 0, noise)
    return np.clip(image + grain, 0, 255).astype(np.uint8)


def read(model, frame) -> list:
    """What `edgetl run` reports for one frame (no smoothing): detections after the reject class."""
    detections, _ = recognize(model, frame, digits=True)
    return detections


def match(detections, box):
    """The detection overlapping ``box`` most (IoU), or None below 0.5."""
    best = max(detections, key=lambda d: iou(d.box, box), default=None)
    return best if best is not None and iou(best.box, box) >= 0.5 else None


# --------------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def model(digit_run):
    from edgetl.runtime.model import Model

    m = Model(digit_run / "model.int8.onnx", device="cpu")
    assert (m.card.reject_class, m.card.pair_class) == ("not a digit", "two digits") == tuple(m.card.class_names[-2:])
    return m


@pytest.fixture(scope="module")
def held_out():
    from edgetl.data import load_dataset

    x, y = load_dataset("mnist-5k").split("test")
    return x[..., 0], y


@pytest.fixture(scope="module")
def read_alone(model, held_out):
    """Held-out digits (index 300 on) that the model reads right, with probability >= 0.9, as 28x28 MNIST images."""
    x, y = held_out
    probs = model.predict_batch(x[300:, :, :, None])
    confident = (probs.argmax(axis=1) == y[300:]) & (probs.max(axis=1) >= 0.9)
    return 300 + np.flatnonzero(confident)


# ----------------------------------------------------------------------------------------- blank pages

def blank_pages(seed: int = 11):
    """12 frames of squared and ruled paper with nothing written, bright to dim, tilted a little."""
    rng = np.random.default_rng(seed)
    gains = [1.0, 0.8, 0.6, 0.45, 0.35]
    for i in range(12):
        kind = "grid" if i % 2 == 0 else "ruled"
        page = paper(rng, tint=[WHITE, CREAM, WHITE, YELLOW][i % 4], kind=kind,
                     pitch=rng.uniform(18, 22) if kind == "grid" else rng.uniform(22, 30),
                     width=1 + i % 3 // 2, strength=rng.uniform(0.6, 1.0), angle=rng.uniform(-3, 3),
                     margin=kind == "ruled")
        yield film(page, rng, gain=gains[i % len(gains)], noise=rng.uniform(2, 5))


def test_blank_squared_and_ruled_pages_show_no_digits(model):
    found = [len(read(model, frame)) for frame in blank_pages()]
    # measured: no boxes at all on any of the 12 (this tree); the tree of commit a306294 plus edits found 21
    # boxes on the dimmest squared page (gain 0.35) and read 2 of them as 1s
    assert found == [0] * 12


def test_empty_desk_pages_show_no_digits(model, held_out):
    """edgetl.desk's own empty pages (ruled, squared, plain; dim light, perspective, blur)."""
    from edgetl.desk import desk_frames

    x, y = held_out
    found = [len(read(model, frame)) for frame, _, _ in desk_frames(x[:20], y[:20], 12, 1, seed=7,
                                                                         empty_fraction=1.0)]
    # measured: none (an edit of the finder earlier today read a ruled page's red margin as three 1s here)
    assert found == [0] * 12


def test_blank_squared_paper_with_dark_2px_lines_gives_almost_nothing(model):
    """Blank squared paper with dark 2 px lines (as dark as ink): the printed lines are found as Hough
    segments at their own tilt and removed, so their pieces do not read as 1s.

    Measured: 0 on the clean page; on the filmed ones 0, 4, 2, 2 with the card's reject threshold of
    0.9 (2 in all when any "not a digit" win was dropped, which cost real 1s and 7s from other writers;
    before the segment search: 368 on the clean page). The goal is 0 everywhere; the clean page must
    give 0 and at most 8 in all is asserted so a regression shows.
    """
    page = np.full((H, W, 3), WHITE, np.uint8)
    for v in range(14, W, 28):
        cv2.line(page, (v, 0), (v, H - 1), (235, 200, 170), 2)
    for v in range(14, H, 28):
        cv2.line(page, (0, v), (W - 1, v), (235, 200, 170), 2)
    found = {"axis-aligned 28 px": len(read(model, page))}
    for pitch, angle in ((24, 2.0), (28, 0.5), (28, 2.0), (32, 0.5)):
        rng = np.random.default_rng(5)
        frame = film(paper(rng, kind="grid", pitch=pitch, width=2, strength=1.0, angle=angle), rng, gain=0.7)
        found[f"filmed {pitch} px, {angle} deg"] = len(read(model, frame))
    assert found["axis-aligned 28 px"] == 0 and sum(found.values()) <= 8, f"digits read on blank squared paper: {found}"


def test_digits_crossing_dark_2px_printed_lines_are_found_whole(held_out):
    """Digits written across dark 2 px printed lines (0.8 strength): removing the lines cuts the strokes,
    and the finder bridges the cuts and joins the pieces a line separated.

    Finder only, no model. Found at their box (IoU >= 0.5), 16 digits each, on the committed finder:
    ruled 20/30/40 px 16, 16, 16; squared 30/40 px 16, 16 (the lines are light blue: ink counts in its least
    affected channel there, runtime/ink.py's neutral_share; before that 13, 11; before ink far darker than the
    line's own stayed a stroke: 15, 15, 14; 9, 9; before the bridging: 12, 12, 12; 9, 11; before the Hough line
    pass: 1-3, 0-5, 9-11; 0-2, 3-4). Asserted: 15/16 on every page kind, as a regression guard.
    """
    from edgetl.runtime.digits import find_digit_boxes

    x, _ = held_out
    results = {}
    for kind, pitch in (("ruled", 20), ("ruled", 30), ("ruled", 40), ("grid", 30), ("grid", 40)):
        rng = np.random.default_rng(0)
        found = n = 0
        for p in range(4):
            page = paper(rng, kind=kind, pitch=pitch, width=2, strength=0.8, angle=rng.uniform(-3, 3))
            boxes = [write(page, x[300 + 4 * p + k], 160 + 110 * k, int(rng.uniform(100, 300)), int(rng.uniform(60, 90)))
                     for k in range(4)]
            detected = find_digit_boxes(film(page, rng, gain=[1.0, 0.5][p % 2]))[0]
            found += sum(max((iou(d, box) for d in detected), default=0.0) >= 0.5 for box in boxes)
            n += len(boxes)
        results[f"{kind} {pitch} px"] = f"{found}/{n}"
    found = {k: int(r.split("/")[0]) for k, r in results.items()}
    assert all(v >= 15 for v in found.values()), f"digits found at their box: {results}"


# ---------------------------------------------------------------------------------------- written pages

def written_pages(rng, indices, x, per_page: int, **style):
    """Pages with ``per_page`` held-out digits each, 60-90 px tall, apart (rows of up to 4, right of the margin).

    Yields (frame, true boxes, indices of the digits written).
    """
    tint, ink, kinds = style.pop("tints"), style.pop("ink"), style.pop("kinds")
    width, strength = style.pop("width", 1), style.pop("strength", (0.5, 0.8))
    gains = [1.0, 0.75, 0.55, 0.4]
    cols = min(per_page, 4)
    rows = -(-per_page // cols)
    cell_w, cell_h = (W - 190) // cols, (H - 80) // rows
    for p in range(len(indices) // per_page):
        picks = indices[p * per_page:(p + 1) * per_page]
        kind = kinds[p % len(kinds)]
        page = paper(rng, tint=tint[p % len(tint)], kind=kind,
                     pitch=rng.uniform(18, 24) if kind == "grid" else rng.uniform(24, 40), width=width,
                     strength=rng.uniform(*strength), angle=rng.uniform(-3, 3), margin=kind == "ruled" and p % 2 == 0)
        boxes = []
        for k, i in enumerate(picks):
            height = int(rng.uniform(60, 90))
            left = 150 + (k % cols) * cell_w + int(rng.uniform(0, max(1, cell_w - height - 8)))
            top = 40 + (k // cols) * cell_h + int(rng.uniform(0, max(1, cell_h - height - 8)))
            boxes.append(write(page, x[i], left, top, height, ink))
        yield film(page, rng, gain=gains[p % len(gains)], noise=rng.uniform(2, 5)), boxes, picks


def reading_scores(model, pages, y):
    found = right = extra = total = 0
    for frame, boxes, picks in pages:
        detections = read(model, frame)
        hits = [match(detections, box) for box in boxes]
        total += len(boxes)
        found += sum(h is not None for h in hits)
        right += sum(h is not None and h.label == str(y[i]) for h, i in zip(hits, picks))
        extra += len(detections) - sum(h is not None for h in hits)
    return found / total, right / total, extra


def test_dark_digits_on_squared_paper_are_found_and_read(model, held_out, read_alone):
    x, y = held_out
    pages = written_pages(np.random.default_rng(21), read_alone[:36], x, per_page=3, tints=[WHITE, CREAM],
                          ink=BLACK_INK, kinds=["grid"])
    found, right, extra = reading_scores(model, pages, y)
    print(f"found {found:.3f}, read {right:.3f}, other detections {extra}")
    # measured with the fixture model: found and read 35/36, nothing else detected
    assert found >= 0.9 and right >= 0.85 and extra <= 3, (found, right, extra)


def test_blue_ink_on_tinted_paper_is_found_and_read(model, held_out, read_alone):
    x, y = held_out
    pages = written_pages(np.random.default_rng(22), read_alone[36:72], x, per_page=3,
                          tints=[CREAM, YELLOW, BLUEISH, GREENISH], ink=BLUE_INK, kinds=["grid", "ruled", "plain"])
    found, right, extra = reading_scores(model, pages, y)
    print(f"found {found:.3f}, read {right:.3f}, other detections {extra}")
    # measured with the fixture model: found and read 36/36, nothing else detected
    assert found >= 0.9 and right >= 0.85 and extra <= 3, (found, right, extra)


def test_one_digit_alone_on_a_light_page_is_read_as_dark_ink(model, held_out, read_alone):
    """One dark digit alone on a light page: the page must not be taken for a dark board.

    The regression: light_ink() once compared the tails of (gray - 15x15 box blur); with little ink the
    bright halo a box blur leaves beside dark strokes outnumbered the strokes, the page was processed
    as a dark board, and the crop was a hollow outline (11 of 12 pages misjudged, 0 of 12 digits found).
    It now uses a median filter, which leaves no halo. Minimal case::

        page = np.full((480, 640, 3), 225, np.uint8)
        cv2.putText(page, "4", (280, 290), cv2.FONT_HERSHEY_SIMPLEX, 2, (20, 20, 20), 3, cv2.LINE_AA)
        digit_crops(page)[0]  # [[281, 250, 35, 40]], the ink (it was [[267, 235, 64, 69]], the halo)
    """
    x, y = held_out
    rng = np.random.default_rng(23)
    alone_is_board, found, right, n = 0, 0, 0, 0
    for p, i in enumerate(read_alone[72:84]):
        page = paper(rng, tint=[WHITE, CREAM][p % 2], kind=["plain", "grid"][p % 2], pitch=20, width=1,
                     strength=0.5, angle=rng.uniform(-2, 2))
        box = write(page, x[i], int(rng.uniform(200, 400)), int(rng.uniform(150, 300)), int(rng.uniform(60, 90)))
        frame = film(page, rng, gain=[1.0, 0.6][p // 2 % 2])
        small = cv2.resize(frame, (W // 4, H // 4), interpolation=cv2.INTER_AREA)
        alone_is_board += bool(light_ink(to_gray(small)))
        hit = match(read(model, frame), box)
        found += hit is not None
        right += hit is not None and hit.label == str(y[i])
        n += 1
    assert alone_is_board == 0 and found >= 0.8 * n and right >= 0.8 * n, (
        f"{alone_is_board}/{n} light pages judged dark boards; found {found}/{n}, read {right}/{n}")


# ---------------------------------------------------------------------------------------- reject class

def draw_mark(coverage: np.ndarray, kind: str, cx: int, cy: int, rng: np.random.Generator) -> list[int]:
    """A non-digit in pen or printed-line width on ``coverage`` (uint8); its box."""
    if kind == "smudge":
        blob = np.zeros_like(coverage)
        for _ in range(int(rng.integers(1, 4))):
            centre = (cx + int(rng.integers(-12, 13)), cy + int(rng.integers(-12, 13)))
            cv2.circle(blob, centre, int(rng.integers(6, 14)), 255, -1)
        blob = cv2.GaussianBlur(blob, (0, 0), rng.uniform(2, 4))
        np.maximum(coverage, blob, out=coverage)
        ys, xs = np.nonzero(blob > 60)
        return [int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1]
    s, width = int(rng.uniform(28, 42)), int(rng.integers(2, 4))
    a = np.deg2rad(rng.uniform(-6, 6))
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    strokes = {"crossing": [((-s, 0), (s, 0)), ((0, -s), (0, s))],  # where grid lines cross: a plus
               "corner": [((-s, -s), (-s, s)), ((-s, s), (s, s))],  # where lines meet: an L
               "tee": [((-s, -s), (s, -s)), ((0, -s), (0, s))]}[kind]  # a line ending on another: a T
    for p, q in strokes:
        p, q = (tuple(np.round((rot @ np.array(v) + (cx, cy)) * 16).astype(int)) for v in (p, q))
        cv2.line(coverage, p, q, 255, width, cv2.LINE_AA, 4)
    return [cx - s - width, cy - s - width, 2 * (s + width), 2 * (s + width)]


MARKS = ("crossing", "corner", "tee", "smudge")
PAGES = 12  # 8 marks each: 24 of every kind


def test_reject_class_refuses_crossings_corners_and_smudges(model, seed=31):
    """Crops cut by the runtime's own finder from paper with 8 marks per page: the model's argmax is the reject class.

    (Several marks per page: one mark alone trips the light_ink bug above and is cut as its outline.)
    """
    rng = np.random.default_rng(seed)
    outcome = {kind: [] for kind in MARKS}
    for p in range(PAGES):
        coverage = np.zeros((H, W), np.uint8)
        marks = [(MARKS[(p + k) % 4], draw_mark(coverage, MARKS[(p + k) % 4], 110 + 140 * (k % 4) + int(rng.integers(-10, 11)),
                                                130 + 220 * (k // 4) + int(rng.integers(-10, 11)), rng)) for k in range(8)]
        page = paper(rng, tint=[WHITE, CREAM][p % 2], kind="plain")
        ink = [BLACK_INK, BLUE_INK, (0.2, 0.2, 0.78)][p % 3]
        page *= 1 - (coverage.astype(np.float32)[..., None] / 255 * rng.uniform(0.6, 0.9)) * (1 - np.float32(ink))
        frame = film(page, rng, gain=[1.0, 0.7, 0.5][p % 3])
        boxes, crops = digit_crops(frame)
        probs = model.predict_batch(crops[..., None]) if len(crops) else np.zeros((0, len(model.card.class_names)))
        for kind, box in marks:
            j = max(range(len(boxes)), key=lambda b: iou(boxes[b], box), default=None)
            if j is not None and iou(boxes[j], box) >= 0.3:  # the finder cut it out: what does the model say?
                outcome[kind].append(int(probs[j].argmax()))
    counts = {kind: len(v) for kind, v in outcome.items()}
    rejected = {kind: sum(v == 10 for v in labels) / max(1, len(labels)) for kind, labels in outcome.items()}
    print("cut out", counts, "rejected", {k: round(v, 3) for k, v in rejected.items()})
    # measured with the fixture model (seeds 31-34): all 24 crossings and corners cut out, 19-20 smudges. Rejected
    # since the runtime brightens its crops (runtime/crop.py BRIGHT_AT; these marks are 56-84 px in a 2-3 px line, so
    # shrunk into 20x20 they were faint): crossings 83-100% (seed 31: 100%), corners 79-83% (the rest read as 6),
    # smudges 89-100%; before it 100%, 96-100% and 75-90%. Trained with 3% of its digits held out and thick-pen 9s and
    # 1s (2026-12-07, eighteenth session): crossings 100%, corners 67-75% (the rest still read as 6; make bench's model
    # reads nearly all of them as 6 either way), smudges 89-100%. Tees 0% (42-63% before; a T is a 7 to MNIST, and the
    # clutter set draws no Ts): reported, not asserted
    assert min(counts.values()) >= 16, counts
    assert rejected["crossing"] >= 0.9 and rejected["corner"] >= 0.6 and rejected["smudge"] >= 0.65, rejected
    named = [v for kind in ("crossing", "corner", "smudge") for v in outcome[kind]]
    assert sum(v == 10 for v in named) / len(named) >= 0.85, rejected


def test_reject_class_keeps_real_digits(model, held_out):
    """Held-out digits are almost never refused: as MNIST images, and cut from plain paper by the runtime finder.

    (Plain paper, so that this measures the reject class, not the finder: see the printed-lines tests.)
    """
    x, y = held_out
    probs = model.predict_batch(x[300:600, :, :, None])
    rejected_alone = float(np.mean(probs.argmax(axis=1) == 10))
    rng = np.random.default_rng(41)
    refused = found = 0
    indices = np.arange(300, 600)
    for frame, boxes, picks in written_pages(rng, indices, x, per_page=6, tints=[WHITE, CREAM, YELLOW],
                                             ink=BLACK_INK, kinds=["plain"]):
        detected_boxes, crops = digit_crops(frame)
        page_probs = model.predict_batch(crops[..., None]) if len(crops) else np.zeros((0, len(model.card.class_names)))
        for box in boxes:
            j = max(range(len(detected_boxes)), key=lambda b: iou(detected_boxes[b], box), default=None)
            if j is not None and iou(detected_boxes[j], box) >= 0.5:
                found += 1
                refused += int(page_probs[j].argmax()) == 10
    print(f"refused alone {rejected_alone:.3f}; from paper: found {found}/300, refused {refused}")
    # measured with the fixture model: 0 of 300 refused as images; cut from paper: found 300/300, refused 10 (3.3%)
    assert rejected_alone < 0.03
    assert found >= 290 and refused / found < 0.06, (found, refused)


# ------------------------------------------------------------------------------------------ a desk clip

def test_hard_desk_clip_through_the_cli(digit_run, held_out, tmp_path):
    """edgetl run --jsonl on a hard desk clip (edgetl.desk, seed 7): scores above today's, smoothing drops nothing."""
    from clips import score_clip
    from edgetl.desk import render_desk_clip

    x, y = held_out
    clip = render_desk_clip(tmp_path / "desk.mp4", x, y, scenes=30, frames_per_scene=5, seed=7)
    truth = json.loads(clip.with_suffix(".json").read_text())
    records = {}
    for flag in ("--smooth", "--no-smooth"):
        out = tmp_path / f"{flag[2:]}.jsonl"
        result = run_cli("run", digit_run / "model.int8.onnx", "--source", clip, "--no-show", "--jsonl", out,
                         "--device", "cpu", flag, timeout=180)
        assert result.returncode == 0, result.stderr
        records[flag] = [json.loads(line) for line in out.read_text().splitlines()]
        assert len(records[flag]) == len(truth) == 150
    smooth, plain = records["--smooth"], records["--no-smooth"]
    # Smoothed, a still digit's sure reading is reused (runtime/reuse.py): sure means far enough from the reject
    # threshold and the min score that a near-identical crop decides the same (with the reject share's distance
    # ignored, 5 of these 150 frames had a detection more or fewer).
    assert [len(r["detections"]) for r in smooth] == [len(r["detections"]) for r in plain]
    assert [[d["box"] for d in r["detections"]] for r in smooth] == [[d["box"] for d in r["detections"]] for r in plain]
    assert all("track" in d for r in smooth for d in r["detections"])
    assert not any("track" in d for r in plain for d in r["detections"])
    scores = {flag: score_clip(truth, records[flag]) for flag in records}
    print({flag: {k: round(v, 4) if isinstance(v, float) else v for k, v in s.items()} for flag, s in scores.items()})
    # regression guards, a little below today's (fixture model, this clip as rendered since the pen draws each
    # stroke to the writer's end: 150 frames, 700 digits, 35 empty): digit_accuracy 0.806 / 0.800, detection_precision
    # 0.873 / 0.867, frames_exact 0.460 / 0.447, false_on_empty 0, smoothed / per frame. Earlier draws of this clip
    # (each pen change draws other scenes): 625 digits, 15 empty, 0.814 / 0.906 / 0.520 (the pen laying the writer's
    # heavy strokes); 635 digits, 0.805 / 0.843 / 0.633 (loops MNIST's pen nearly filled punched in); 520 digits, 40
    # empty, 0.721 / 0.767 / 0.587; 600 digits, 0.703 / 0.773 / 0.45 (before filled loops were drawn as loops); the
    # finder before thresholds capped on busy pages and rings kept whole read 0.54-0.65 of them. Trained and read on a
    # 2-core AVX2-only CPU, the same recipe gives another fixture model: 0.795 / 0.808 / 0.580 per frame, and with
    # block2 read beside block3 (the default since 2026-12-05) 0.802 / 0.824 / 0.567 (int8 with 7-bit weights), 0.05
    # under this machine's frames exact then: guarded that far below.
    assert scores["--smooth"]["digit_accuracy"] >= scores["--no-smooth"]["digit_accuracy"] - 0.004  # 3 of 700
    for s in scores.values():
        assert s["digits"] == 700 and s["empty_frames"] == 35
        assert s["digit_accuracy"] >= 0.75 and s["detection_precision"] >= 0.82 and s["frames_exact"] >= 0.40
        assert s["false_on_empty"] <= 2


def test_thin_wide_ring_and_thin_one_are_found_whole():
    """A wide 0 whose pen thinned at two places (one erosion breaks the ring there into an upper and a lower
    arc) stays one box, and a pencil-thin 1 (5 px wide, 86 tall: aspect 0.06) is found. Finder only.

    Measured on the finder before this fix: the ring as two overlapping boxes [334, 224, 99, 67] and
    [369, 190, 98, 67] (IoU with the ring < 0.5), the 1 dropped; now [334, 190, 133, 101] and [199, 199, 5, 86].
    """
    from edgetl.runtime.digits import find_digit_boxes

    rng = np.random.default_rng(3)
    page = paper(rng, kind="plain")
    coverage = np.zeros((H, W), np.uint8)
    cv2.ellipse(coverage, (400, 240), (64, 48), 0, 0, 360, 255, 3, cv2.LINE_AA)
    for start in (200, 20):  # the pen thins over 40 degrees at two places
        cv2.ellipse(coverage, (400, 240), (64, 48), 0, start, start + 40, 0, 3, cv2.LINE_AA)
        cv2.ellipse(coverage, (400, 240), (64, 48), 0, start - 5, start + 45, 255, 1, cv2.LINE_AA)
    cv2.line(coverage, (200, 200), (202, 283), 255, 2, cv2.LINE_AA)
    ink_strokes(page, coverage)
    boxes = find_digit_boxes(film(page, rng, gain=0.6))[0]
    ring, one = [334, 190, 133, 101], [199, 199, 5, 86]
    assert max((iou(b, ring) for b in boxes), default=0) >= 0.8, boxes
    assert max((iou(b, one) for b in boxes), default=0) >= 0.7, boxes
    assert len(boxes) == 2, boxes


def test_a_loop_whose_top_runs_along_a_ruled_line_keeps_its_top():
    """A 9 whose loop touches a ruled line along its top: removed with the line, the top left an open loop (a 4
    to the model; 9 read as 4 was wide-200's commonest misread). Ink far darker than the line's own stays a
    stroke. Finder only, six pages of three 9s in black or blue ink, bright or dim. Measured: IoU with the
    written 9 0.92-0.93 on all 18; before, 0.11-0.79 (boxes 6-7 px short at the top, or the tail alone)."""
    from edgetl.runtime.digits import find_digit_boxes

    found = []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        page = paper(rng, kind="plain")
        rules = np.zeros((H, W), np.uint8)
        for y in range(40, H, 36):
            cv2.line(rules, (0, y * 16), (W * 16, y * 16 + 16 * int(rng.integers(-4, 5))), 255, 2, cv2.LINE_AA, 4)
        page *= 1 - rules.astype(np.float32)[..., None] / 255 * (1 - np.float32(LIGHT_BLUE))
        coverage = np.zeros((H, W), np.uint8)
        nines = []
        for k, x in enumerate((150, 300, 450)):
            top, r = 40 + 36 * (3 + k), 16 + 2 * k  # the loop's top on a ruled line
            cv2.ellipse(coverage, (x, top + r), (r, r), 0, 0, 360, 255, 3, cv2.LINE_AA)
            cv2.line(coverage, (x + r, top + r), (x + r - 8, top + 2 * r + 45), 255, 3, cv2.LINE_AA)
            nines.append([x - r - 1, top - 1, 2 * r + 3, 2 * r + 47])
        ink_strokes(page, coverage, BLUE_INK if seed % 2 else BLACK_INK)
        boxes = find_digit_boxes(film(page, rng, gain=0.6 if seed % 2 == 0 else 1.0))[0]
        found += [max((iou(b, nine) for b in boxes), default=0.0) for nine in nines]
    assert min(found) >= 0.85, [round(v, 2) for v in found]


def test_a_lightly_pressed_pencil_stroke_on_a_clean_page_stays_with_its_digit():
    """A pencil 3 pressed hard on its upper arc (ink contrast 88) and lightly on its lower one (32, between the
    clean-page weak floor of 20-24 and the usual 30). On a page with no printed lines the lower arc joins the upper
    one: IoU with the written 3 0.91-0.93 on all 12 (4 pages of 3, dimmed); before, 0.28-0.68 (pieces)."""
    from edgetl.runtime.digits import find_digit_boxes

    pencil = (0.72, 0.72, 0.74)
    found = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        page = paper(rng, kind="plain")
        threes = []
        for k, x in enumerate((140, 320, 500)):
            y = 160 + 20 * k
            upper, lower = np.zeros((H, W), np.uint8), np.zeros((H, W), np.uint8)
            cv2.ellipse(upper, (x, y + 20), (22, 20), 0, 180, 450, 255, 3, cv2.LINE_AA)
            cv2.ellipse(lower, (x, y + 62), (24, 22), 0, 270, 540, 255, 3, cv2.LINE_AA)
            ink_strokes(page, upper, pencil)
            ink_strokes(page, (lower * 0.42).astype(np.uint8), pencil)
            threes.append([x - 24, y - 1, 48, 87])
        boxes = find_digit_boxes(film(page, rng, gain=0.8))[0]
        found += [max((iou(b, three) for b in boxes), default=0.0) for three in threes]
    assert min(found) >= 0.85, [round(v, 2) for v in found]


def test_faint_blurred_pencil_digits_on_a_clean_page_are_found(held_out):
    """Held-out digits in light pencil (ink contrast peaking at 30-40, under the faint floor of 40 and the strong
    one of 55), in dim light, defocused: on a page with no printed lines the faint floor comes down with the
    weak one (to 26). Finder only, 4 pages of 4 digits. Measured: 15/16 found at their box, no box off them;
    before, 2/16 (wide-200's never-boxed digits were mostly whole scenes of such pencil)."""
    from edgetl.runtime.digits import find_digit_boxes

    x, _ = held_out
    pencil = (0.83, 0.83, 0.84)
    found, stray = 0, 0
    for p in range(4):
        rng = np.random.default_rng(p)
        page = paper(rng, kind="plain")
        boxes = [write(page, x[600 + 4 * p + k], 150 + 110 * k, int(rng.uniform(150, 280)), 60, ink=pencil)
                 for k in range(4)]
        detected = find_digit_boxes(cv2.GaussianBlur(film(page, rng, gain=0.6), (0, 0), 1.5))[0]
        found += sum(max((iou(d, box) for d in detected), default=0.0) >= 0.5 for box in boxes)
        stray += sum(all(iou(d, box) == 0 for box in boxes) for d in detected)
    assert found >= 14 and stray == 0, f"{found}/16 faint pencil digits found, {stray} boxes off them"


def test_digits_on_a_dense_dark_grid_are_found(held_out):
    """Squared paper with a 14 px pitch of dark 2 px lines, dim light: the grid fills a fifth of the page, so
    the page's ink spread (median + k MAD) is the grid itself; thresholds stop at a multiple of the 95th
    percentile instead. Finder only. Measured: 16/16 at their box; before the cap 0/16 (nothing passed the
    threshold)."""
    from edgetl.runtime.digits import find_digit_boxes

    x, _ = held_out
    found = 0
    for p in range(4):
        rng = np.random.default_rng(p)
        page = paper(rng, kind="grid", pitch=14, width=2, strength=1.2, angle=rng.uniform(-3, 3))
        boxes = [write(page, x[500 + 4 * p + k], 160 + 110 * k, int(rng.uniform(100, 300)), int(rng.uniform(60, 90)))
                 for k in range(4)]
        detected = find_digit_boxes(film(page, rng, gain=0.5))[0]
        found += sum(max((iou(d, box) for d in detected), default=0.0) >= 0.5 for box in boxes)
    assert found >= 14, f"{found}/16 digits found at their box on a dense dark grid"


def test_a_piece_of_a_longer_line_is_not_a_one():
    """continues_beyond: a thin box whose stroke goes on past its end is part of a printed line (a margin the
    line search missed: 3 in 600 tune frames read as 1s at 0.99 before this check); a 1 with paper above and
    below, or touching a ruled line at its ends, is not."""
    from edgetl.runtime.digit_like import continues_beyond

    ink = np.zeros((H, W), np.uint8)
    cv2.line(ink, (100, 0), (112, 479), 120, 3)  # a slanted margin, the box holds a piece of it
    cv2.line(ink, (300, 200), (302, 280), 140, 4)  # a 1
    for y in (196, 284):  # ruled lines through the 1's ends
        cv2.line(ink, (0, y), (W - 1, y), 90, 2)
    cv2.line(ink, (500, 100), (501, 180), 140, 4)  # a 1 alone
    assert continues_beyond(ink, [102, 150, 8, 80])
    assert not continues_beyond(ink, [298, 198, 8, 84])
    assert not continues_beyond(ink, [498, 98, 6, 84])


def test_a_one_in_marker_written_close_after_a_three_is_not_a_line_piece():
    """continues_beyond looked for ink past a thin piece's end anywhere within half its width: a 1 in a 10-px marker
    written 2-4 px after a 3 found the 3's upright right side there and was dropped as a piece of a printed line
    (wide-200 frames 22-23: "3 1 8" in red read "3 8"). Only ink in line with the piece's end counts now."""
    from edgetl.runtime.digit_like import continues_beyond

    for gap in (2, 3, 4):
        three, one = np.zeros((H, W), np.uint8), np.zeros((H, W), np.uint8)
        cv2.ellipse(three, (280, 222), (22, 30), 0, -90, 90, 190, 8, cv2.LINE_AA)  # the 3's two bowls
        cv2.ellipse(three, (280, 278), (24, 26), 0, -90, 90, 190, 8, cv2.LINE_AA)
        x = int(np.flatnonzero(three[222])[-1]) + gap + 6
        cv2.line(one, (x, 228), (x + 1, 290), 190, 10, cv2.LINE_AA)
        ys, xs = np.nonzero(one)
        box = [int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1]
        assert not continues_beyond(np.maximum(three, one), box), gap
        cv2.line(one, (x, 140), (x, 228), 190, 10, cv2.LINE_AA)  # the same stroke going on above: a line's piece
        assert continues_beyond(np.maximum(three, one), box), gap


def test_a_missed_line_piece_beside_a_digit_is_not_joined_to_it_and_a_four_in_two_strokes_still_is():
    """A faint margin the line search missed left a 100-px piece beside a 2 (47 px): join_fragments took it for the
    long stroke of a 4 written in two, and the 2 and the 7 after it came out as one box the piece's height (wide-201
    frame 394). A piece whose stroke goes on past its ends is a line's and is left out before fragments are joined;
    the stem of a 4, with paper above and below it, is still joined to the rest of its 4."""
    from edgetl.runtime.digits import DigitFinderConfig, blobs

    ink = np.zeros((H, W), np.uint8)
    cv2.line(ink, (70, 0), (70, H - 1), 120, 3)  # the margin; the mask held only y 328-427 of it
    cv2.ellipse(ink, (47, 365), (18, 14), 0, 180, 360, 200, 3)  # a 2: its bowl, its diagonal, its base
    cv2.line(ink, (65, 365), (29, 396), 200, 3)
    cv2.line(ink, (29, 396), (66, 396), 200, 3)
    cv2.line(ink, (300, 150), (300, 250), 200, 4)  # a 4 in two strokes: the stem, and the open left part beside it
    cv2.line(ink, (262, 150), (258, 205), 200, 4)
    cv2.line(ink, (258, 205), (297, 205), 200, 4)
    lines = np.zeros((H, W), np.uint8)
    two, margin, stem, rest_of_four = [27, 351, 40, 47], [69, 328, 3, 100], [298, 148, 5, 104], [256, 148, 42, 60]
    joined, _ = blobs([two, margin, stem, rest_of_four], ink, lines, DigitFinderConfig())
    assert two in joined and not any(box[3] >= 100 and box[0] <= 27 for box in joined)
    assert [256, 148, 47, 104] in joined  # the 4's two strokes, one box


def test_a_five_whose_bar_stands_apart_is_one_box_and_a_dash_far_above_is_not_joined():
    """The bar of a 5 written in two strokes floats above the right of its body (4 of 18 fragment boxes in a
    sample of the tune clips): attach_bars joins it, and the box is not cut again at the gap. A flat dash a
    digit's height above another digit stays apart (and, too flat to be a digit, is dropped). Finder only.
    Measured on the finder before attach_bars: the 5 as its body alone, [338, 199, 53, 80]."""
    from edgetl.runtime.digits import find_digit_boxes

    rng = np.random.default_rng(5)
    page = paper(rng, kind="plain")
    coverage = np.zeros((H, W), np.uint8)
    cv2.line(coverage, (348, 200), (346, 232), 255, 4, cv2.LINE_AA)  # the 5's stem
    cv2.ellipse(coverage, (362, 252), (26, 24), 0, -150, 150, 255, 4, cv2.LINE_AA)  # its belly
    cv2.line(coverage, (366, 186), (420, 184), 255, 4, cv2.LINE_AA)  # the bar, 14 px above the stem's top
    cv2.line(coverage, (150, 200), (152, 282), 255, 4, cv2.LINE_AA)  # a 1
    cv2.line(coverage, (140, 110), (190, 112), 255, 4, cv2.LINE_AA)  # a dash 88 px above it
    ink_strokes(page, coverage)
    boxes = find_digit_boxes(film(page, rng, gain=0.8))[0]
    five, one = [338, 182, 84, 97], [148, 199, 7, 85]
    assert max((iou(b, five) for b in boxes), default=0) >= 0.8, boxes
    assert max((iou(b, one) for b in boxes), default=0) >= 0.7, boxes
    assert len(boxes) == 2, boxes
