import h5py
import numpy as np
import pytest

from edgetl._deps import import_keras
from edgetl.backbones import get_backbone, hed_weights_file, pretrained
from edgetl.config import TrainConfig
from edgetl.runtime.errors import UserError
from edgetl.train import validate


def test_hed_weights_load_into_vgg16_in_order():
    keras = import_keras()
    model = pretrained(keras, get_backbone("vgg16"), "hed-bsds500", 32)
    with h5py.File(hed_weights_file(), "r") as f:
        first = f["block1/layers/conv2d/vars/0"][()]
        last = f["block5/layers/conv2d_2/vars/0"][()]
    np.testing.assert_array_equal(model.get_layer("block1_conv1").get_weights()[0], first)
    np.testing.assert_array_equal(model.get_layer("block5_conv3").get_weights()[0], last)


def test_imagenet_offline_names_the_alternatives(monkeypatch):
    keras = import_keras()

    def offline(**kwargs):
        raise Exception("URL fetch failure")

    monkeypatch.setattr(keras.applications, "VGG16", offline)
    with pytest.raises(UserError, match="hed-bsds500"):
        pretrained(keras, get_backbone("vgg16"), "imagenet", 32)


@pytest.mark.parametrize("overrides, message", [
    ({"backbone": "resnet9000"}, "valid: vgg16"),
    ({"weights": "imagenett"}, "valid: imagenet, hed-bsds500, none"),
    ({"weights": "missing.weights.h5"}, "no such file"),
    ({"input_size": 16}, "at least 32"),
    ({"feature_layer": "block9_pool"}, "block4_pool"),
])
def test_bad_options_fail_before_any_work(tmp_path, overrides, message):
    with pytest.raises(UserError, match=message):
        validate(TrainConfig(out=tmp_path / "run", **overrides))


def test_out_with_a_run_is_refused_without_overwrite(tmp_path, tiny_run):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    with pytest.raises(UserError, match="--overwrite"):
        validate(TrainConfig(out=run))
    validate(TrainConfig(out=run, overwrite=True))


def test_weights_from_a_local_keras_file(tmp_path):
    keras = import_keras()
    source = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    source.save_weights(tmp_path / "vgg16_notop.weights.h5")
    model = pretrained(keras, get_backbone("vgg16"), str(tmp_path / "vgg16_notop.weights.h5"), 32)
    np.testing.assert_array_equal(model.get_layer("block3_conv2").get_weights()[0],
                                  source.get_layer("block3_conv2").get_weights()[0])


def test_missing_training_extra_names_the_install_command():
    from edgetl._deps import require

    with pytest.raises(UserError, match=r"pip install 'edgetl\[train\]'"):
        require("tensorflow_that_is_not_installed", "training")
