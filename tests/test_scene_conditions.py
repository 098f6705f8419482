"""What a desk scene was drawn with, by name (edgetl.desk.scene_conditions): bench/loss_by_scene.py sorts a clip
set's lost digits by it, so the names must say what is on the page, and asking for them must change no frame."""
from __future__ import annotations

import numpy as np
import pytest

from edgetl.desk import desk_frames
from edgetl.desk_page import choose_pen, draw_paper


@pytest.fixture(scope="module")
def held_out():
    from edgetl.data import load_dataset

    x, y = load_dataset("mnist-5k").split("test")
    return x[:200, :, :, 0], y[:200]


def narrow_dips(profile: np.ndarray, window: int = 9, depth: float = 1.0) -> int:
    """Entries of a brightness profile more than ``depth`` below the median around them: printed lines across it."""
    padded = np.pad(profile, window // 2, mode="edge")
    around = np.median(np.lib.stride_tricks.sliding_window_view(padded, window), axis=1)
    return int((around - profile > depth).sum())


def test_the_paper_named_is_the_paper_drawn():
    seen = set()
    for seed in range(16):
        rng = np.random.default_rng(seed)
        page, ruled, kind = draw_paper(rng, choose_pen(rng))
        brightness = page.mean(axis=0)  # planar BGR -> (rows, columns)
        across_rows, across_columns = narrow_dips(brightness.mean(axis=1)), narrow_dips(brightness.mean(axis=0))
        seen.add(kind)
        if kind == "plain":
            assert (across_rows, across_columns) == (0, 0) and ruled is None, seed
        elif kind == "ruled":  # lines across the page, and at most a margin line down it
            assert across_rows > 30 and across_columns <= 4 and ruled is not None, (seed, across_columns)
        else:
            assert kind == "grid" and across_rows > 30 and across_columns > 30 and ruled is None, seed
    assert seen == {"plain", "ruled", "grid"}


def test_each_scenes_conditions_are_given_once_before_its_frames_and_change_no_frame(held_out):
    x, y = held_out
    plain = list(desk_frames(x, y, n_scenes=6, frames_per_scene=2, seed=5))
    conditions: list[dict] = []
    frames_seen = []
    for frame, boxes, labels in desk_frames(x, y, n_scenes=6, frames_per_scene=2, seed=5, scenes_out=conditions):
        frames_seen.append(len(conditions))
        assert np.array_equal(frame, plain[len(frames_seen) - 1][0])
    assert frames_seen == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]  # a scene's conditions come before its first frame
    assert all(c["paper"] in {"plain", "ruled", "grid"} and c["pen"] in {"pencil", "ballpoint", "felt", "marker"}
               and c["light"] in {"dim", "bright"} and c["blur"] in {"motion", "still"} and c["hand"] == "no hand"
               for c in conditions)
    assert len({c["paper"] for c in conditions} | {c["pen"] for c in conditions}) >= 4
