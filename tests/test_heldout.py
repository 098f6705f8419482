"""The int8 gate of `edgetl export` scores exactly the samples training kept out (recorded in the card), never a
training image, also after `--limit` (a fresh 10% draw over all the data used to include training images)."""
from __future__ import annotations

import numpy as np

from edgetl.config import TrainConfig
from edgetl.model import HeadConfig


def numbered_images(n: int) -> np.ndarray:
    """Image i carries i in its first two pixels, so any image can be traced back to its index."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, 32, 32), dtype=np.uint8)
    x[:, 0, 0], x[:, 0, 1] = np.arange(n) % 256, np.arange(n) // 256
    return x


def ids(images: np.ndarray) -> set[int]:
    flat = images.reshape(len(images), 32, 32, -1)[..., 0]
    return {int(a) + 256 * int(b) for a, b in zip(flat[:, 0, 0], flat[:, 0, 1])}


def test_export_gate_scores_only_what_training_kept_out(tmp_path):
    from edgetl.data import load_dataset
    from edgetl.exporting import samples
    from edgetl.runtime.card import ModelCard
    from edgetl.train import split_data, train

    n = 400
    data = tmp_path / "numbered.npz"
    np.savez(data, x=numbered_images(n), y=np.arange(n) % 4)  # x, y only: no test split to fall back on
    config = TrainConfig(data=str(data), out=tmp_path / "run", weights="none", input_size=32,
                         feature_layer="block1_pool", head=HeadConfig(units=8), epochs=1, augment=0, limit=120)
    run = train(config)
    card = ModelCard.load(run / "card.json")
    assert card.training["heldout"]["split"] == "train" and card.training["heldout"]["of"] == n

    (trained, _), (validated, _) = split_data(load_dataset(str(data)), config)
    calib, (held, _) = samples(card, None, 32, min_calib=0)
    assert ids(held) == ids(validated)  # the 12 images training validated on, and only those
    assert not ids(held) & ids(trained) and not ids(held) & ids(calib)
