"""The frozen-feature pass in bfloat16 where the CPU computes it natively, float32 everywhere else."""
import json

import numpy as np
import pytest

from conftest import run_cli
from edgetl.precision import cpu_has_native_bf16, feature_precision, traced_in

ZEN4 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni avx512_bf16 vaes\n"
AVX2 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n"


def test_auto_is_bfloat16_only_on_a_cpu_only_machine_whose_flags_have_native_bfloat16():
    assert cpu_has_native_bf16(ZEN4) and not cpu_has_native_bf16(AVX2)
    assert cpu_has_native_bf16(AVX2.replace("fma", "fma amx_bf16 amx_tile"))  # Sapphire Rapids: AMX
    assert feature_precision("auto", gpus=0, cpuinfo=ZEN4) == "bfloat16"
    assert feature_precision("auto", gpus=0, cpuinfo=AVX2) == "float32"
    assert feature_precision("auto", gpus=1, cpuinfo=ZEN4) == "float32"  # a GPU computes the features
    assert feature_precision("float32", gpus=0, cpuinfo=ZEN4) == "float32"
    assert feature_precision("bfloat16", gpus=0, cpuinfo=AVX2) == "bfloat16"  # asked for: as asked
    with pytest.raises(ValueError):
        feature_precision("float16", gpus=0, cpuinfo=ZEN4)


def conv_stack(keras):
    inp = keras.Input((24, 24, 3))
    x = keras.layers.Conv2D(32, 3, activation="relu", padding="same")(inp)
    x = keras.layers.Conv2D(32, 3, activation="relu", padding="same")(x)
    return inp, keras.layers.MaxPooling2D()(x)


@pytest.mark.skipif(not cpu_has_native_bf16(), reason="this CPU has no native bfloat16")
def test_only_graphs_run_inside_the_block_compute_in_bfloat16():
    """Inside ``traced_in("bfloat16")`` a model's convolutions run in bfloat16 (outputs a few tenths of a percent
    off float32, still float32 arrays); a model first run after the block computes in float32 again, exactly."""
    from edgetl._deps import import_keras

    keras = import_keras()
    keras.utils.set_random_seed(0)
    inp, out = conv_stack(keras)
    x = np.random.default_rng(0).uniform(0, 100, (16, 24, 24, 3)).astype(np.float32)
    reference = np.asarray(keras.Model(inp, out).predict_on_batch(x))
    with traced_in("bfloat16"):
        fast = keras.Model(inp, out).predict_on_batch(x)
    after = np.asarray(keras.Model(inp, out).predict_on_batch(x))
    error = np.abs(np.asarray(fast) - reference).mean() / np.abs(reference).mean()
    assert np.asarray(fast).dtype == np.float32 and 1e-4 < error < 1e-2, error
    np.testing.assert_array_equal(after, reference)
    with traced_in("float32"):
        np.testing.assert_array_equal(keras.Model(inp, out).predict_on_batch(x), reference)


def test_the_card_records_the_feature_pass_precision_and_ray_takes_no_bfloat16(shapes_folder, tmp_path):
    proc = run_cli("train", "--data", str(shapes_folder), "--out", str(tmp_path / "r"), "--weights", "none",
                   "--input-size", "32", "--feature-layer", "block1_pool", "--epochs", "1",
                   "--feature-precision", "float32", timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "r" / "card.json").read_text())["training"]["feature_precision"] == "float32"
    proc = run_cli("train", "--data", str(shapes_folder), "--out", str(tmp_path / "s"), "--weights", "none",
                   "--feature-precision", "bfloat16", "--features-on-ray", "local", timeout=120)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "--feature-precision bfloat16: not with --features-on-ray" in proc.stderr
    assert not (tmp_path / "s").exists()


def test_an_unknown_precision_from_python_is_refused_before_any_data_is_read(tmp_path):
    from edgetl.config import TrainConfig
    from edgetl.runtime.errors import UserError
    from edgetl.train import train

    with pytest.raises(UserError, match="--feature-precision float16: valid: auto, float32, bfloat16"):
        train(TrainConfig(data=str(tmp_path / "nowhere"), out=tmp_path / "r", weights="none",
                          feature_precision="float16"))
    assert not (tmp_path / "r").exists()
