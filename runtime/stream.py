"""Per-frame recognition: digits or whole-frame, timed by stage, with a running summary."""
from __future__ import annotations

import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from .affinity import split_cores
from .digits import digit_candidates
from .find_size import FIND_SIZE, find_scale, scaled_for_finding, to_frame
from .heap import keep_freed_memory
from .images import fit_batch, fit_box, fit_to_input
from .model import Model
from .reuse import ReadingCache
from .sources import FrameSource
from .touching import PAIR_SHARE, not_digit_columns, pair_class, pair_shares, pieces_read
from .tracking import Tracker
from .turned import PageTurn
from .uncertain import unsure_crops


@dataclass
class Detection:
    box: list[int]  # x, y, w, h in frame pixels
    label: str
    score: float
    track: int | None = None  # set when readings are smoothed across frames

    def to_dict(self) -> dict:
        record = {"box": [int(v) for v in self.box], "label": self.label, "score": round(float(self.score), 4)}
        if self.track is not None:
            record["track"] = self.track
        return record


@dataclass
class FrameResult:
    index: int
    name: str
    image: np.ndarray
    detections: list[Detection]
    timings: dict[str, float]  # milliseconds per stage
    uncertain: list = field(default_factory=list)  # uncertain.Unsure under process()'s margin (1: every crop)
    reused: int = 0  # crops whose reading was reused (reuse.py), not read by the model again

    @property
    def latency_ms(self) -> float:
        return self.timings["preprocess"] + self.timings["infer"]

    def to_dict(self) -> dict:
        record = {"frame": self.index, "time_ms": round(self.latency_ms, 3),
                  "detections": [d.to_dict() for d in self.detections]}
        if self.name:
            record["file"] = self.name
        return record


def crop(image: np.ndarray, box) -> np.ndarray:
    x, y, w, h = box
    return image[y:y + h, x:x + w]


def whole_frame(model: Model, image: np.ndarray, roi) -> tuple[np.ndarray, list]:
    """The frame (or --roi) brought to the input as the card's resize says, as Model.predict and training do;
    the box is the part that reaches the model (all of it, or the centre cut)."""
    region = crop(image, roi) if roi else image
    x, y, w, h = fit_box(region.shape, model.card)
    box = [x + roi[0], y + roi[1], w, h] if roi else [x, y, w, h]
    return fit_to_input(region, model.card)[None], [box]


def digit_batch(model: Model, image: np.ndarray, roi,
                find_size: int | None = FIND_SIZE, page: PageTurn | None = None) -> tuple[np.ndarray, list, list]:
    """(crops of the digits found, then of each cut blob whole; boxes; splits: (whole box, piece indices, whether
    the cut was only tried: touching.py, for a model with a pair class)). Digits are found in the frame (or ``roi``)
    scaled as find_size.py says for the frame; boxes are frame pixels. ``page``: a video's PageTurn (turned.py)."""
    offset = tuple(roi[:2]) if roi else (0, 0)
    scale = find_scale(image.shape, find_size)  # the frame's, not the region's: the camera sets a stroke's width
    region = crop(image, roi) if roi else image
    boxes, crops, splits = digit_candidates(scaled_for_finding(region, scale), try_cuts=bool(pair_class(model.card)),
                                            page=page)
    boxes = [to_frame(b, scale, region.shape, offset) for b in boxes]
    if splits:
        crops = np.concatenate([crops, np.stack([whole_crop for _, whole_crop, _, _ in splits])])
    splits = [(to_frame(whole, scale, region.shape, offset), pieces, tried) for whole, _, pieces, tried in splits]
    c = model.card
    if (c.height, c.width, c.channels) != (28, 28, 1):
        return (fit_batch(list(crops), c.height, c.width, c.channels) if len(crops) else
                np.zeros((0, c.height, c.width, c.channels), np.uint8)), boxes, splits
    return crops[..., None], boxes, splits


def prepare(model: Model, image: np.ndarray, digits: bool, roi=None,
            find_size: int | None = FIND_SIZE, page: PageTurn | None = None) -> tuple[np.ndarray, list, float, list]:
    """(model input batch, boxes, ms it took, splits): the digits found and cut out (and whole crops of blobs
    cut as touching digits after them, see read_whole_or_pieces), or the frame's ROI. ``page``: as digit_batch's."""
    t0 = time.perf_counter()
    batch, boxes, splits = digit_batch(model, image, roi, find_size, page) if digits else \
        (*whole_frame(model, image, roi), [])
    return batch, boxes, (time.perf_counter() - t0) * 1e3, splits


# A blob the finder cut as touching digits is read whole when the whole reads as one digit at least this
# surely (and not as two digits). 0.97 from 2026-12-03 (tune clips, every 2nd frame, 29 cut blobs: one digit cut in
# two read whole at >= 0.97 in 21 of 22, two touching digits at <= 0.96 in 7 of 7), before the model had a "two
# digits" class; with it, 0.9 (2026-12-07): tune +4 digits and 6 false boxes fewer (a 2 whose loop was cut off and
# read as a 0), check +5 / -6, turned +2, writing alike; 0.7 read check 4 digits fewer (touching pairs read whole).
WHOLE_SCORE = 0.9


STACKED_SCORE = 0.5  # a whole of two pieces one above the other (pieces.stacked_pairs) is read whole from this score
# when it reads at least as surely as its less sure piece


def stacked(boxes: list, pieces: list[int]) -> bool:
    """The pieces lie one above the other (pieces.stacked_pairs), not side by side (a blob cut as touching digits)."""
    if len(pieces) != 2:
        return False
    top, bottom = sorted((boxes[i] for i in pieces), key=lambda box: box[1])
    return top[1] + top[3] <= bottom[1]


def whole_score_needed(boxes: list, pieces: list[int], piece_scores: np.ndarray) -> float:
    """The score a whole needs to be read in place of its pieces: WHOLE_SCORE for a blob cut side by side; for two
    stacked pieces, as much as the less sure piece, from STACKED_SCORE up."""
    if not stacked(boxes, pieces):
        return WHOLE_SCORE
    return min(WHOLE_SCORE, max(STACKED_SCORE, float(piece_scores[pieces].min())))


def read_whole_or_pieces(card, boxes: list, batch: np.ndarray, outputs: np.ndarray, splits: list):
    """(boxes, batch, outputs) with each cut blob read whole, in place of its pieces, where its whole crop
    reads as a digit with at least whole_score_needed and not as two digits, and each blob whose cut was only tried
    read whole unless it reads as two digits and its pieces as digits; the whole crops' rows dropped otherwise."""
    n = len(boxes)
    if not splits:
        return boxes, batch[:n], outputs[:n]
    digits, rejected = digit_probabilities(card, outputs[n:])
    two = pair_shares(card, outputs[n:]) >= PAIR_SHARE
    piece_scores = digit_probabilities(card, outputs[:n])[0].max(axis=1) if n else np.zeros(0)
    dropped, wholes = set(), []
    for k, (whole, pieces, tried) in enumerate(splits):
        if tried:
            read_whole = not (two[k] and pieces_read(card, outputs[pieces]))
        else:
            read_whole = not rejected[k] and not two[k] and \
                digits[k].max() >= whole_score_needed(boxes, pieces, piece_scores)
        if read_whole:
            dropped.update(pieces)
            wholes.append((whole, n + k))
    if not wholes:
        return boxes, batch[:n], outputs[:n]
    rows = sorted([(boxes[i], i) for i in range(n) if i not in dropped] + wholes, key=lambda row: row[0][0])
    index = [i for _, i in rows]
    return [box for box, _ in rows], batch[index], outputs[index]


def recognize(model: Model, image: np.ndarray, digits: bool, roi=None, min_score: float = 0.5,
              top_k: int = 1, tracker: Tracker | None = None,
              prepared: tuple | None = None, uncertain: list | None = None,
              margin: float = 0.3, cache: ReadingCache | None = None) -> tuple[list[Detection], dict[str, float]]:
    """Detections for one frame, and the preprocess/infer times in ms. One batched call per frame.

    ``prepared``: what ``prepare`` returned for this frame, when it ran elsewhere (see ``process``).
    ``uncertain``: digit boxes refused or read with a top-2 gap under ``margin`` are appended to it.
    ``cache``: digit crops that match one read the frame before reuse its reading (reuse.py).
    """
    batch, boxes, preprocess_ms, splits = prepared or prepare(model, image, digits, roi)
    t1 = time.perf_counter()
    if not len(batch):
        outputs = np.zeros((0, len(model.card.class_names)))
    elif cache is not None and digits:
        outputs = cache.predict(model, boxes + [whole for whole, _, _ in splits], batch,
                                read_always=sum(not tried for _, _, tried in splits),
                                hypotheses=frozenset(i for _, pieces, tried in splits if tried for i in pieces))
    else:
        outputs = model.predict_batch(batch)
    t2 = time.perf_counter()
    timings = {"preprocess": preprocess_ms, "infer": (t2 - t1) * 1e3}
    if digits and model.card.task == "classification":
        boxes, batch, outputs = read_whole_or_pieces(model.card, boxes, batch, outputs, splits)
        if uncertain is not None:
            uncertain.extend(unsure_crops(model.card, boxes, batch, outputs,
                                          *digit_probabilities(model.card, outputs), margin))
        return digit_detections(model, boxes, outputs, min_score, tracker), timings
    detections = []
    for box, labels in zip(boxes, model.labels(outputs, k=top_k)):
        label, score = labels[0]
        detections.append(Detection(box, " ".join(lab for lab, _ in labels) if top_k > 1 else label, score))
    return detections, timings


def digit_probabilities(card, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities over the digits alone, rejected mask) under the card's "not a digit" rule.

    A box is rejected only when the reject class is sure (``card.reject_threshold``); otherwise the
    reject class's share is taken out and the digits renormalised, so an unusual but real digit (a 1
    with a foot, a barred 7) is still read as the digit it most resembles. So is the pair class's share.
    """
    taken_out = not_digit_columns(card)
    if not taken_out or not len(probs):
        return probs, np.zeros(len(probs), bool)
    rejected = (probs[:, card.class_names.index(card.reject_class)] >= card.reject_threshold if card.reject_class
                else np.zeros(len(probs), bool))
    digits = probs.astype(np.float64, copy=True)
    digits[:, taken_out] = 0.0  # a blob read as two digits is cut (read_whole_or_pieces); whole, it reads as a digit
    digits /= np.maximum(digits.sum(axis=1, keepdims=True), 1e-12)
    return digits, rejected


SURE = 0.9  # a reading reused for a still crop (reuse.py) is at least this sure of its digit (and 0.05 above
# --min-score), or of no digit:
REJECT_MARGIN = 2.3  # its reject share this many log-odds from the card's threshold (0.99: >= 0.999 or <= 0.9)


def sure_readings(card, probs: np.ndarray, min_score: float = 0.5) -> np.ndarray:
    """Which readings are far from every decision the stream makes on them (reject, label, min score)."""
    digits, _ = digit_probabilities(card, probs)
    sure_digit = digits.max(axis=1) >= max(SURE, min_score + 0.05)
    if not card.reject_class:
        return sure_digit
    share = np.clip(probs[:, card.class_names.index(card.reject_class)], 1e-7, 1 - 1e-7)
    odds = np.log(share / (1 - share)) - np.log(card.reject_threshold / (1 - card.reject_threshold))
    return (odds >= REJECT_MARGIN) | ((odds <= -REJECT_MARGIN) & sure_digit)


def digit_detections(model: Model, boxes: list, probs: np.ndarray, min_score: float,
                     tracker: Tracker | None) -> list[Detection]:
    """Boxes read as a digit scored >= min_score; boxes the "not a digit" class is sure of are dropped."""
    names = model.card.class_names
    digits, rejected = digit_probabilities(model.card, probs)
    best = digits.argmax(axis=1) if len(digits) else np.zeros(0, int)
    keep = [i for i in range(len(boxes)) if not rejected[i] and digits[i, best[i]] >= min_score]
    if tracker is None:
        return [Detection(boxes[i], names[best[i]], float(digits[i, best[i]])) for i in keep]
    detections = []
    for i, (track, votes) in zip(keep, tracker.update([boxes[i] for i in keep], digits[keep])):
        label = int(votes.argmax())
        detections.append(Detection(boxes[i], names[label], float(votes[label]), track))
    return detections


def process(model: Model, source: FrameSource, digits: bool, roi=None, min_score: float = 0.5, top_k: int = 1,
            max_frames: int | None = None, smooth: bool = True,
            uncertain_margin: float | None = None, find_size: int | None = FIND_SIZE) -> Iterator[FrameResult]:
    """Frames in, timed results out. Stops after ``max_frames`` frames when given.

    ``smooth``: digit readings are tracked across frames and voted (see tracking.py), and a still digit's
    crop is read again only when it changes (reuse.py); images from a folder are unrelated to each other
    and never smoothed. Without it every crop of every frame goes through the model.
    """
    keep_freed_memory()  # each frame's arrays reuse the last frame's memory (heap.py)
    frames = source.frames()
    video = not getattr(source, "files", None)  # a folder's images are unrelated to each other
    tracker = Tracker() if smooth and digits and video else None
    cache = ReadingCache(lambda probs: sure_readings(model.card, probs, min_score)) if tracker is not None else None
    page = PageTurn() if video else None  # a video's frames show one page: its turn kept
    count = 0
    # The next frame's digits are found on a second thread while the model reads this frame's: OpenCV and
    # onnxruntime both release the GIL, so on 2 cores the two overlap. Frames are still read, classified,
    # tracked and yielded in order by this thread; only the pure finding step runs on the other.
    with split_cores() as pin_finder, \
            ThreadPoolExecutor(1, thread_name_prefix="edgetl-find", initializer=pin_finder) as finder:
        pending = None  # (frame, read ms, future of prepare)
        while max_frames is None or count < max_frames:
            if pending is None:
                pending = read_and_prepare(frames, finder, model, digits, roi, find_size, page)
                if pending is None:
                    return
            frame, read_ms, future = pending
            pending = None
            if max_frames is None or count + 1 < max_frames:
                pending = read_and_prepare(frames, finder, model, digits, roi, find_size, page)
            unsure = [] if uncertain_margin is not None else None
            reused_before = cache.reused if cache is not None else 0
            detections, timings = recognize(model, frame.image, digits, roi, min_score, top_k, tracker,
                                            prepared=future.result(), uncertain=unsure,
                                            margin=uncertain_margin or 0.0, cache=cache)
            yield FrameResult(frame.index, frame.name, frame.image, detections, {"read": read_ms, **timings},
                              unsure or [], (cache.reused if cache is not None else 0) - reused_before)
            count += 1
            if pending is None and (max_frames is None or count < max_frames):
                return  # the source ended


def read_and_prepare(frames, finder: ThreadPoolExecutor, model: Model, digits: bool, roi, find_size: int | None,
                     page: PageTurn | None = None):
    """(next frame, ms to read it, its ``prepare`` started on ``finder``), or None at the end of the source. One
    finder thread prepares the frames in order, so ``page`` is read and updated by one frame at a time."""
    t0 = time.perf_counter()
    frame = next(frames, None)
    if frame is None:
        return None
    future = finder.submit(prepare, model, frame.image, digits, roi, find_size, page)
    return frame, (time.perf_counter() - t0) * 1e3, future


LATENCY_WINDOW = 10_000  # frames the latency percentiles cover: memory stays flat however long a run lasts


@dataclass
class Summary:
    latencies: deque = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))  # the newest frames' ms
    detections: int = 0
    frames: int = 0
    reused: int = 0
    started: float = field(default_factory=time.perf_counter)

    def add(self, result: FrameResult) -> None:
        self.latencies.append(result.latency_ms)
        self.frames += 1
        self.detections += len(result.detections)
        self.reused += result.reused

    def fps(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.frames / elapsed if elapsed > 0 else 0.0

    def to_dict(self) -> dict:
        """Percentiles over the last LATENCY_WINDOW frames (every frame in a shorter run)."""
        lat = np.asarray(self.latencies or [0.0])
        return {"frames": self.frames, "detections": self.detections, "fps": round(self.fps(), 1),
                "latency_p50_ms": round(float(np.percentile(lat, 50)), 3),
                "latency_p95_ms": round(float(np.percentile(lat, 95)), 3), "readings_reused": self.reused}
