"""Tracking digit boxes across frames and voting their labels (runtime/tracking.py), and how the stream uses it."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from edgetl.runtime.stream import Detection, digit_detections
from edgetl.runtime.tracking import Tracker, iou

CLASSES = [str(d) for d in range(10)] + ["not a digit"]
REJECT = 10


def onehot(label: int, p: float = 0.97, n: int = 11) -> np.ndarray:
    """A reading of ``label`` with probability ``p``, the rest spread evenly over the other classes."""
    v = np.full(n, (1 - p) / (n - 1))
    v[label] = p
    return v


def reading(**probs: float) -> np.ndarray:
    """Probabilities by class name (d0 .. d9, reject), the rest spread evenly."""
    v = np.zeros(11)
    for key, p in probs.items():
        v[REJECT if key == "reject" else int(key[1:])] = p
    rest = [i for i in range(11) if v[i] == 0]
    v[rest] = (1 - v.sum()) / len(rest)
    return v


def ids(out) -> list[int]:
    return [tid for tid, _ in out]


# ------------------------------------------------------------------------------------------ the geometry

def test_iou_of_known_boxes():
    assert iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1.0
    assert iou([0, 0, 10, 10], [5, 0, 10, 10]) == pytest.approx(50 / 150)
    assert iou([0, 0, 10, 10], [20, 20, 10, 10]) == 0.0
    assert iou([0, 0, 0, 0], [0, 0, 0, 0]) == 0.0  # degenerate: no division by zero


def test_a_box_moving_a_few_pixels_keeps_its_track_over_ten_frames():
    tracker = Tracker()
    seen = []
    for t in range(10):
        box = [100 + 3 * t, 80 + 2 * t, 40, 60]  # 3 px right, 2 px down per frame: a shaking hand
        (tid, votes), = tracker.update([box], [onehot(4)])
        seen.append(tid)
        assert int(votes.argmax()) == 4
    assert seen == [1] * 10
    assert len(tracker.tracks) == 1 and tracker.tracks[0].box == [127, 98, 40, 60]
    assert len(tracker.tracks[0].history) == tracker.window == 5  # only the last few frames vote


def test_a_box_appearing_far_away_gets_a_new_track():
    tracker = Tracker()
    tracker.update([[100, 100, 40, 60]], [onehot(1)])
    out = tracker.update([[102, 100, 40, 60], [400, 300, 40, 60]], [onehot(1), onehot(2)])
    assert ids(out) == [1, 2]
    out = tracker.update([[104, 101, 40, 60], [401, 302, 40, 60]], [onehot(1), onehot(2)])
    assert ids(out) == [1, 2]
    assert [int(v.argmax()) for _, v in out] == [1, 2]


def test_a_box_that_jumps_further_than_it_overlaps_starts_a_new_track():
    tracker = Tracker(min_iou=0.3)
    tracker.update([[100, 100, 40, 60]], [onehot(7)])
    # 30 px to the right: IoU 10*60 / (2*2400 - 600) = 0.14 < 0.3
    (tid, votes), = tracker.update([[130, 100, 40, 60]], [onehot(2)])
    assert tid == 2 and int(votes.argmax()) == 2  # no history carried over from the other track


def test_a_track_unseen_for_more_than_max_missed_frames_is_dropped():
    tracker = Tracker(max_missed=3)
    box = [200, 150, 40, 60]
    assert ids(tracker.update([box], [onehot(8)])) == [1]
    for missed in range(1, 4):  # 3 empty frames: the track waits
        assert tracker.update([], np.zeros((0, 11))) == []
        assert [t.id for t in tracker.tracks] == [1] and tracker.tracks[0].missed == missed
    # back within max_missed frames: same track, and its history still votes
    (tid, votes), = tracker.update([box], [reading(d3=0.45, d8=0.40)])
    assert tid == 1 and int(votes.argmax()) == 8
    for _ in range(4):  # 4 empty frames > max_missed: gone
        tracker.update([], np.zeros((0, 11)))
    assert tracker.tracks == []
    (tid, votes), = tracker.update([box], [reading(d3=0.45, d8=0.40)])
    assert tid == 2 and int(votes.argmax()) == 3  # a fresh track: only its own frame votes


def test_track_ids_are_never_reused():
    tracker = Tracker(max_missed=0)
    got = []
    for t in range(6):
        got += ids(tracker.update([[100 + 200 * (t % 2), 100, 40, 60]], [onehot(0)]))
    assert got == [1, 2, 3, 4, 5, 6]  # alternating places, each gone before it comes back


# ------------------------------------------------------------------------------------------- the voting

def test_an_unsure_frame_is_outvoted_by_its_confident_history():
    tracker = Tracker()
    box = [50, 50, 40, 60]
    for _ in range(4):
        tracker.update([box], [reading(d7=0.97)])
    (_, votes), = tracker.update([box], [reading(d1=0.45, d7=0.40)])
    assert int(votes.argmax()) == 7
    # decay 0.5 over 5 frames: weights 1/16, 1/8, 1/4, 1/2, 1 (sum 31/16) on 0.97, 0.97, 0.97, 0.97, 0.40
    assert votes[7] == pytest.approx((0.97 * 15 / 16 + 0.40) / (31 / 16))
    assert votes.sum() == pytest.approx(1.0)


def test_a_confident_new_reading_wins_at_once():
    """decay 0.5: the newest frame weighs more than all older ones together (1 > 1/2 + 1/4 + 1/8 + 1/16)."""
    tracker = Tracker()
    box = [50, 50, 40, 60]
    for _ in range(4):
        tracker.update([box], [reading(d7=0.99)])
    (tid, votes), = tracker.update([box], [reading(d3=0.99)])
    assert tid == 1 and int(votes.argmax()) == 3
    # and it stays 3 while the page stays
    for _ in range(3):
        (_, votes), = tracker.update([box], [reading(d3=0.99)])
        assert int(votes.argmax()) == 3


def test_a_slower_decay_would_hold_the_old_label():
    """The contrast that shows the decay is what makes the new reading win: with decay 0.9 the history outvotes it."""
    tracker = Tracker(decay=0.9)
    box = [50, 50, 40, 60]
    for _ in range(4):
        tracker.update([box], [reading(d7=0.99)])
    (_, votes), = tracker.update([box], [reading(d3=0.99)])
    assert int(votes.argmax()) == 7


def test_two_boxes_close_together_keep_their_own_tracks_as_both_move():
    tracker = Tracker()
    left, right = [100, 100, 40, 60], [146, 100, 40, 60]  # 6 px apart: digits written side by side
    first = tracker.update([left, right], [onehot(1), onehot(2)])
    assert ids(first) == [1, 2]
    for t in range(1, 10):
        dx, dy = 4 * t, -2 * t  # both drift together (camera shake)
        wobble = 2 if t % 2 else -2  # and the gap between them changes a little
        boxes = [[left[0] + dx, left[1] + dy, 40, 60], [right[0] + dx + wobble, right[1] + dy, 40, 60]]
        # the finder lists them left to right, but feed them in both orders: ids follow the boxes, not the order
        order = [0, 1] if t % 2 else [1, 0]
        out = tracker.update([boxes[i] for i in order], [[onehot(1), onehot(2)][i] for i in order])
        by_box = dict(zip(order, out))
        assert by_box[0][0] == 1 and by_box[1][0] == 2
        assert int(by_box[0][1].argmax()) == 1 and int(by_box[1][1].argmax()) == 2
    assert len(tracker.tracks) == 2


def test_each_track_takes_its_best_overlap_not_the_first_listed():
    """Greedy matching by best overlap: a box overlapping two tracks goes to the one it overlaps more."""
    tracker = Tracker()
    tracker.update([[100, 100, 40, 60], [130, 100, 40, 60]], [onehot(1), onehot(2)])  # overlapping tracks 1, 2
    (tid, _), = tracker.update([[128, 100, 40, 60]], [onehot(2)])  # almost exactly on track 2
    assert tid == 2


# ---------------------------------------------------------------------------------- digit_detections

def fake_model(reject_class: str | None = "not a digit"):
    names = CLASSES if reject_class else CLASSES[:10]
    return SimpleNamespace(card=SimpleNamespace(class_names=names, reject_class=reject_class, reject_threshold=0.7))


def test_reject_wins_are_dropped_with_and_without_smoothing():
    boxes = [[10, 10, 30, 50], [100, 10, 30, 50], [200, 10, 30, 50], [300, 10, 30, 50]]
    probs = np.stack([reading(d5=0.9), reading(reject=0.8), reading(d2=0.3, d3=0.25), reading(d9=0.6)])
    plain = digit_detections(fake_model(), boxes, probs, 0.5, None)
    assert [(d.box, d.label, d.track) for d in plain] == [([10, 10, 30, 50], "5", None), ([300, 10, 30, 50], "9", None)]
    assert plain[0].score == pytest.approx(0.9 / (1 - 0.01))  # the reject class's share taken out
    smooth = digit_detections(fake_model(), boxes, probs, 0.5, Tracker())
    assert [(d.box, d.label, d.track) for d in smooth] == [([10, 10, 30, 50], "5", 1), ([300, 10, 30, 50], "9", 2)]


def test_a_digit_after_reject_history_is_never_labelled_not_a_digit():
    """A track whose history is mostly 'not a digit' but which this frame reads as a digit: the label is a digit."""
    tracker = Tracker()
    box = [40, 40, 30, 50]
    model = fake_model()
    # frames whose best class is reject are dropped before the tracker, so the history can only hold
    # reject mass from frames won by a digit: build it with readings just above the reject class
    for _ in range(4):
        digit_detections(model, [box], np.stack([reading(d4=0.52, reject=0.46)]), 0.5, tracker)
    (det,) = digit_detections(model, [box], np.stack([reading(d6=0.55, reject=0.40)]), 0.5, tracker)
    assert det.label == "6" and det.track == 1


def test_smoothing_only_changes_labels_never_the_detections():
    rng = np.random.default_rng(3)
    model = fake_model()
    tracker = Tracker()
    for frame in range(30):
        n = int(rng.integers(0, 5))
        boxes = [[int(60 * i + rng.integers(0, 4)), int(rng.integers(0, 4)), 30, 50] for i in range(n)]
        probs = rng.dirichlet(np.full(11, 0.3), n) if n else np.zeros((0, 11))
        plain = digit_detections(model, boxes, probs, 0.5, None)
        smooth = digit_detections(model, boxes, probs, 0.5, tracker)
        assert [d.box for d in smooth] == [d.box for d in plain]
        assert all(d.track is not None for d in smooth) and all(d.track is None for d in plain)
        digits = probs[:, :REJECT] / probs[:, :REJECT].sum(axis=1, keepdims=True) if n else probs[:, :REJECT]
        assert [d.label for d in plain] == [CLASSES[int(d.argmax())] for p, d in zip(probs, digits)
                                           if p[REJECT] < 0.7 and d.max() >= 0.5]


def test_detection_record_has_track_only_when_smoothed():
    assert Detection([1, 2, 3, 4], "7", 0.91234).to_dict() == {"box": [1, 2, 3, 4], "label": "7", "score": 0.9123}
    assert Detection([1, 2, 3, 4], "7", 0.9, track=5).to_dict()["track"] == 5
    json.dumps(Detection([np.int64(1), 2, 3, 4], "7", np.float32(0.9), 5).to_dict())  # plain JSON types


# ------------------------------------------------------------------------------------------ the stream

class StubModel:
    """A runtime Model stand-in behind the real finder: one reading per found box, deterministic.

    Each box reads as a fixed digit (from its crop's pixels), confidently, except on every fourth call
    (frame), where it flickers: 0.52 for the next digit, 0.40 for its own, as an unsure model's reading
    does. It never answers the reject class, so every found box is a detection.
    """
    card = SimpleNamespace(class_names=CLASSES, reject_class="not a digit", reject_threshold=0.9, task="classification",
                           height=28, width=28, channels=1, digits=True)
    provider = "stub"

    def __init__(self):
        self.calls = 0

    def warmup(self):
        pass

    @staticmethod
    def read(batch, call: int) -> np.ndarray:
        out = np.zeros((len(batch), 11))
        for i, crop in enumerate(batch):
            label = (int(crop.astype(np.int64).sum()) // 101) % 10
            out[i] = reading(**{f"d{(label + 1) % 10}": 0.52, f"d{label}": 0.40}) if call % 4 == 3 else \
                reading(**{f"d{label}": 0.93})
        return out

    def predict_batch(self, batch):
        self.calls += 1
        return self.read(batch, self.calls)


def synthetic_frames(n: int = 12):
    """Three printed digits drifting a few px per frame, the third gone half way: a tiny video, filmed at 640x480 (the
    finder's own size, so its crops are not rescaled: the stub's reading hangs on every pixel of a crop)."""
    import cv2

    frames = []
    for t in range(n):
        frame = np.full((480, 640, 3), 220, np.uint8)
        for k, (x, y) in enumerate([(40, 60), (130, 70), (220, 60)]):
            if k == 2 and t >= n // 2:
                continue
            cv2.putText(frame, str(k + 2), (x + 2 * t, y + 60 + t), cv2.FONT_HERSHEY_SIMPLEX, 2.2, (30, 30, 30), 5)
        frames.append(frame)
    return frames


def argmax_labels(frame, call: int) -> list[str]:
    """What the stub reads in each found box of one frame on its ``call``-th call, on its own (no history)."""
    from edgetl.runtime.stream import digit_batch

    batch, boxes, _ = digit_batch(StubModel(), frame, None)
    batch = batch[:len(boxes)]  # no blob here is cut as touching digits: no whole crops after the pieces
    return [CLASSES[int(p.argmax())] for p in StubModel.read(batch, call) if p.argmax() != REJECT]


def test_stream_smoothing_adds_tracks_and_keeps_every_detection():
    from edgetl.runtime.digits import digit_crops
    from edgetl.runtime.stream import recognize

    frames = synthetic_frames()
    assert [len(digit_crops(f)[0]) for f in frames] == [3] * 6 + [2] * 6  # the finder sees them all
    plain_model, smooth_model, tracker = StubModel(), StubModel(), Tracker()
    flickers = 0
    for t, frame in enumerate(frames):
        plain, _ = recognize(plain_model, frame, digits=True)
        smooth, _ = recognize(smooth_model, frame, digits=True, tracker=tracker)
        assert len(plain) == len(smooth) == len(digit_crops(frame)[0])
        assert [d.box for d in smooth] == [d.box for d in plain]
        assert all(d.track is None for d in plain)
        assert [d.track for d in smooth][:2] == [1, 2]  # the two that stay keep their tracks all along
        assert [d.label for d in plain] == argmax_labels(frame, t + 1)  # per frame: the frame's own argmax
        steady = argmax_labels(frame, 1)
        if (t + 1) % 4 == 3:  # the unsure frames: plain flickers, the vote holds the digit
            flickers += 1
            assert [d.label for d in plain] != steady
        assert [d.label for d in smooth] == steady
    assert flickers == 3


def test_app_run_smooth_and_no_smooth_on_a_video(tmp_path, monkeypatch):
    """edgetl.runtime.app.run on a small video: smoothing writes track ids, smooth=False per-frame argmax labels."""
    import cv2

    from edgetl.runtime import crop, reuse
    from edgetl.runtime.app import run

    # The stub reads a hash of the crop's pixels, so a crop one pixel off reads as another digit, as no model
    # does: still crops' readings are not reused here (test_reuse.py and test_pipeline.py cover that).
    monkeypatch.setattr(reuse, "MAX_DIFF", -1.0)
    # For the same reason the crops are not brightened: the stretch to full white moves every pixel of a crop with
    # the video's compression noise, and the stub's reading with it.
    monkeypatch.setattr(crop, "brightened", lambda canvas: canvas)
    frames = synthetic_frames()
    video = tmp_path / "tiny.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (640, 480))
    for frame in frames:
        writer.write(frame)
    writer.release()
    records, expected = {}, {}
    for smooth in (True, False):
        out = tmp_path / f"smooth{smooth}.jsonl"
        decoded = []  # the frame's own argmax labels, from the decoded frame the stream saw
        summary = run(StubModel(), str(video), digits=True, show=False, jsonl=out, smooth=smooth,
                      on_frame=lambda r, acc=decoded: acc.append(argmax_labels(r.image, r.index + 1)))
        records[smooth] = [json.loads(line) for line in out.read_text().splitlines()]
        expected[smooth] = decoded
        assert summary["frames"] == len(records[smooth]) == len(frames)
    smooth, plain = records[True], records[False]
    assert [len(r["detections"]) for r in smooth] == [len(r["detections"]) for r in plain] == [3] * 6 + [2] * 6
    assert [[d["box"] for d in r["detections"]] for r in smooth] == [[d["box"] for d in r["detections"]] for r in plain]
    assert all(isinstance(d["track"], int) for r in smooth for d in r["detections"])
    assert [[d["track"] for d in r["detections"]][:2] for r in smooth] == [[1, 2]] * len(frames)
    assert not any("track" in d for r in plain for d in r["detections"])
    plain_labels = [[d["label"] for d in r["detections"]] for r in plain]
    smooth_labels = [[d["label"] for d in r["detections"]] for r in smooth]
    assert plain_labels == expected[False]
    assert sum(a != b for a, b in zip(plain_labels, smooth_labels)) == 3  # frames 3, 7, 11: the flicker, voted away
