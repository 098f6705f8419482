"""The desktop window's size and keys (through a fake display), and an overlay whose text never collides."""
from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np

from edgetl.runtime.overlay import draw, overlaps, place_label, status_bar, text_scale
from edgetl.runtime.window import Window, fit

NO_KEY = -1


class FakeDisplay:
    """The cv2 calls Window makes, recorded; keys come from a script (then no key)."""

    def __init__(self, keys=(), visible=True):
        self.keys, self.visible = list(keys), visible
        self.sizes, self.shown, self.waits, self.destroyed = [], 0, 0, False

    def namedWindow(self, name, flags):
        self.flags = flags

    def resizeWindow(self, name, w, h):
        self.sizes.append((w, h))

    def imshow(self, name, image):
        self.shown += 1

    def waitKey(self, ms):
        self.waits += 1
        return self.keys.pop(0) if self.keys else NO_KEY

    def getWindowProperty(self, name, prop):
        return 1.0 if self.visible else 0.0

    def destroyWindow(self, name):
        self.destroyed = True


def frame(w=640, h=480, value=200):
    return np.full((h, w, 3), value, np.uint8)


def window(tmp_path, keys=(), screen=None, visible=True):
    display = FakeDisplay(keys, visible)
    return Window(snapshots=tmp_path, display=display, screen=lambda: screen), display


def test_window_opens_at_the_frame_size_and_only_shrinks_to_fit_the_screen(tmp_path):
    win, display = window(tmp_path)
    win.show(frame(640, 480))
    win.show(frame(640, 480))
    assert display.sizes == [(640, 480)]  # sized once, at the frame's own size (was half of it under Qt)
    assert display.flags & cv2.WINDOW_GUI_NORMAL  # no Qt toolbar over the picture
    assert fit((1920, 1080), (1280, 800)) == (1152, 648)
    assert fit((640, 480), (1280, 800)) == (640, 480)  # never scaled up


def test_q_and_escape_quit(tmp_path):
    for key in (ord("q"), 27):
        win, _ = window(tmp_path, keys=[NO_KEY, key])
        assert win.show(frame()) is True
        assert win.show(frame()) is False


def test_space_pauses_until_space_and_s_saves_a_snapshot_meanwhile(tmp_path):
    win, display = window(tmp_path, keys=[ord(" "), NO_KEY, ord("s"), NO_KEY, ord(" ")])
    shown = frame(value=77)
    assert win.show(shown) is True  # returns only when space is pressed again
    assert display.waits == 5 and display.shown == 1
    assert len(win.saved) == 1 and win.saved[0].parent == tmp_path
    assert np.array_equal(cv2.imread(str(win.saved[0])), shown)
    win, _ = window(tmp_path, keys=[ord(" "), NO_KEY, ord("q")])
    assert win.show(frame()) is False  # q while paused quits


def test_closing_the_window_quits(tmp_path):
    win, _ = window(tmp_path, visible=False)
    assert win.show(frame()) is False


def test_snapshot_into_a_missing_folder_is_reported_not_raised(tmp_path):
    win, _ = window(tmp_path / "missing", keys=[ord("s")])
    assert win.show(frame()) is True and win.saved == []


def test_labels_avoid_the_status_bar_and_each_other():
    bar = 30
    taken = []
    for box in ([100, 5, 40, 60], [110, 8, 40, 60], [115, 10, 40, 60]):  # near the top, overlapping
        rect = place_label(box, (60, 20), taken, bar, 480)
        assert rect[1] >= bar and rect[3] <= 480
        assert not any(overlaps(rect, other) for other in taken), (rect, taken)
        taken.append(rect)
    # with room above, the label sits right above its box
    assert place_label([300, 200, 40, 60], (60, 20), [], bar, 480) == (300, 180, 360, 200)


def test_status_bar_is_dark_with_legible_text_across_the_top():
    canvas = frame(640, 480, value=235)  # white paper
    height = status_bar(canvas, "30.0 FPS | 9.1 ms | CPU", "reconnecting (attempt 1/10)", text_scale(640))
    assert 18 <= height <= 40
    assert canvas[height - 1].max() < 70 and canvas[:height].mean() < 90 and canvas[height:].mean() == 235
    white = (canvas[:height] > 200).all(axis=2).sum()
    orange = ((canvas[:height, :, 2] > 200) & (canvas[:height, :, 0] < 80)).sum()
    assert white > 150 and orange > 150  # both texts drawn, apart (the warning is right-aligned)


def test_draw_keeps_the_frame_size_and_marks_each_detection():
    image = frame(640, 480, value=235)
    dets = [SimpleNamespace(box=[100, 100, 40, 60], label="3", score=0.98),
            SimpleNamespace(box=[150, 100, 40, 60], label="7", score=0.91)]
    out = draw(image, dets, 30.0, 9.1, "CPU")
    assert out.shape == image.shape and (image == 235).all()  # the source frame is not drawn on
    green = (out[..., 1] > 180) & (out[..., 0] < 80) & (out[..., 2] < 80)
    assert green[100:161, 100].all() and green[100:161, 150].all()  # both boxes' left edges


def test_k_keeps_the_crops_on_screen_running_or_paused_and_is_ignored_without_a_keeper(tmp_path):
    kept = []
    display = FakeDisplay([ord("k"), ord(" "), ord("k"), ord("K"), ord(" ")])
    win = Window(snapshots=tmp_path, display=display, screen=lambda: None, on_keep=lambda: kept.append(1))
    assert win.show(frame()) is True and len(kept) == 1  # k
    assert win.show(frame()) is True  # space pauses; k and K while paused; space resumes
    assert len(kept) == 3 and display.waits == 5
    win, _ = window(tmp_path, keys=[ord("k")])
    assert win.show(frame()) is True and win.on_keep is None
