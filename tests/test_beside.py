"""``--beside``: the head reads an earlier feature map, max-pooled to the last one's size, beside it."""
import json

import numpy as np

from conftest import run_cli


def test_a_digit_reader_on_vgg16_reads_block2_beside_block3_unless_told():
    from edgetl.config import TrainConfig, resolve_beside
    from edgetl.model import HeadConfig

    assert resolve_beside(TrainConfig(), True, "block3_pool") == "block2_pool"
    assert resolve_beside(TrainConfig(), False, "block3_pool") is None  # measured on digits only
    assert resolve_beside(TrainConfig(), True, "block5_pool") is None
    assert resolve_beside(TrainConfig(head=HeadConfig(beside="none")), True, "block3_pool") is None
    assert resolve_beside(TrainConfig(head=HeadConfig(beside="block1_pool")), False, "block3_pool") == "block1_pool"


def test_the_head_reads_both_maps_each_standardised_on_its_own(shapes_folder, tmp_path):
    import keras

    from edgetl.config import TrainConfig
    from edgetl.data import load_dataset
    from edgetl.model import HeadConfig
    from edgetl.rundir import load_run
    from edgetl.train import train

    run = train(TrainConfig(data=str(shapes_folder), out=tmp_path / "run", weights="none", input_size=32,
                            feature_layer="block2_pool", head=HeadConfig(units=0, beside="block1_pool"), epochs=2,
                            augment=0, passes=1))
    model, _ = load_run(run)
    joined = model.get_layer("features_beside")
    assert tuple(joined.output.shape[1:]) == (8, 8, 64 + 128)  # block1_pool 16x16x64 pooled to 8x8, block2's 128
    normalised = keras.Model(model.inputs, model.get_layer("feature_norm").output)
    images = np.asarray(load_dataset(str(shapes_folder), "classification", 32).split("train")[0])
    features = normalised.predict(images, verbose=0)
    early, late = features[..., :64], features[..., 64:]
    # one mean and variance per map, learned on the training images (most of these): each map about 0 and 1,
    # though block1's values are several times block2's before it
    for part in (early, late):
        assert abs(part.mean()) < 0.15 and 0.8 < part.std() < 1.2
    raw = keras.Model(model.inputs, joined.output).predict(images, verbose=0)
    assert raw[..., :64].mean() > 1.5 * raw[..., 64:].mean()  # so one scalar for both would not do it
    assert json.loads((run / "card.json").read_text())["training"]["head"]["beside"] == "block1_pool"


def test_a_beside_layer_that_is_not_earlier_is_one_line(shapes_folder, tmp_path):
    for beside in ("block3_pool", "block2_pool", "conv9"):
        result = run_cli("train", "--data", shapes_folder, "--out", tmp_path / "run", "--weights", "none",
                         "--input-size", "32", "--feature-layer", "block2_pool", "--beside", beside, timeout=120)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert f"--beside {beside}" in result.stderr and "valid: block1_pool, or none" in result.stderr
        assert not (tmp_path / "run").exists()
