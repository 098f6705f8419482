"""Image folders and CSVs are read from disk a batch at a time (edgetl/data/lazy.py), never all in memory,
and train exactly as the same images held in memory do."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from conftest import write_shapes
from edgetl.data import Dataset, load_dataset
from edgetl.data.lazy import ImageFiles
from edgetl.runtime.images import fit_image


def test_slices_decode_and_index_arrays_stay_on_disk(tmp_path):
    root = write_shapes(tmp_path / "shapes", per_class=5)
    x, y = load_dataset(str(root), image_size=24).split("train")
    assert isinstance(x, ImageFiles) and x.shape == (10, 24, 24, 3) and list(y) == [0] * 5 + [1] * 5
    expected = np.stack([fit_image(cv2.imread(p), 24, 24, 3) for p in x.paths])
    assert np.array_equal(x[2:7], expected[2:7])
    subset = x[np.array([9, 0, 4])]
    assert isinstance(subset, ImageFiles) and len(subset) == 3
    assert np.array_equal(subset[:], expected[[9, 0, 4]])
    assert np.array_equal(x[np.arange(10) % 2 == 1][:], expected[1::2])
    assert np.array_equal(np.asarray(x), expected)
    assert np.array_equal(x[3], expected[3])


def test_augmented_features_are_made_a_batch_at_a_time_and_match_the_whole_copy(tmp_path, monkeypatch):
    from edgetl import features
    from edgetl._deps import import_keras
    from edgetl.augment import augmented_copy

    keras = import_keras()
    root = write_shapes(tmp_path / "shapes", per_class=10)
    x, _ = load_dataset(str(root), image_size=16).split("train")
    prefix = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Rescaling(1.0)])
    monkeypatch.setattr(features, "BATCH", 6)  # several batches, the last one short
    monkeypatch.setattr(ImageFiles, "__array__", lambda *a, **k: pytest.fail("the whole folder was decoded"))
    out = features.extract(prefix, {"train": x}, {"train": 2}, seed=7)["train"]
    whole = x.decode(x.paths)
    assert out.shape == (60, 16, 16, 3)
    assert np.array_equal(out[:20], whole.astype(np.float32))
    assert np.array_equal(out[20:40], augmented_copy(whole, 8).astype(np.float32))
    assert np.array_equal(out[40:], augmented_copy(whole, 9).astype(np.float32))
    assert not np.array_equal(out[20:40], out[:20])  # the copies really are augmented


def test_a_redraw_computes_only_the_augmented_copies_again(tmp_path, monkeypatch):
    """``--passes``: a later pass draws new augmented copies over the last pass's; the images' own rows and
    the validation rows are the same, so they are kept, not computed again."""
    from edgetl import features
    from edgetl._deps import import_keras
    from edgetl.augment import augmented_copy

    keras = import_keras()
    x, _ = load_dataset(str(write_shapes(tmp_path / "shapes", per_class=10)), image_size=16).split("train")
    whole = x.decode(x.paths)
    prefix = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Rescaling(1.0)])
    feats = features.extract(prefix, {"train": x, "val": whole[:5]}, {"train": 2}, seed=7)
    computed = []
    real = features.predict_on_batch
    monkeypatch.setattr(features, "predict_on_batch", lambda model, batch: computed.append(len(batch)) or
                        real(model, batch))
    again = features.extract(prefix, {"train": x}, {"train": 2}, seed=50, redraw=feats)
    assert again is feats and sum(computed) == 40  # two copies of 20 images, nothing else
    assert np.array_equal(feats["train"][:20], whole.astype(np.float32))
    assert np.array_equal(feats["train"][20:40], augmented_copy(whole, 51).astype(np.float32))
    assert np.array_equal(feats["train"][40:], augmented_copy(whole, 52).astype(np.float32))
    assert np.array_equal(feats["val"], whole[:5].astype(np.float32))


def in_memory(dataset: Dataset) -> Dataset:
    splits = {name: (np.asarray(x), y) for name, (x, y) in dataset.splits.items()}
    return Dataset(dataset.name, splits, dataset.class_names, dataset.color_order, dataset.digits, dataset.skipped)


@pytest.mark.slow
def test_a_folder_trains_streamed_as_it_does_in_memory(tmp_path, monkeypatch):
    from edgetl import train as training
    from edgetl.config import TrainConfig
    from edgetl.model import HeadConfig

    root = write_shapes(tmp_path / "shapes", per_class=20)

    def run(out, loader):
        monkeypatch.setattr(training, "load_dataset", loader)
        config = TrainConfig(data=str(root), out=out, weights="none", input_size=32, feature_layer="block1_pool",
                             head=HeadConfig(units=8), epochs=2, augment=1, overwrite=True)
        path = training.train(config)
        return json.loads((path / "metrics.json").read_text())["val"], (path / "history.csv").read_text()

    with monkeypatch.context() as m:
        m.setattr(ImageFiles, "__array__", lambda *a, **k: pytest.fail("the whole folder was decoded"))
        streamed = run(tmp_path / "streamed", load_dataset)
    held = run(tmp_path / "held", lambda *a, **k: in_memory(load_dataset(*a, **k)))
    assert streamed == held
    assert streamed[0]["n"] == 4 and streamed[1].count("\n") == 3  # header and two epochs

    # edgetl evaluate reads the folder a batch at a time too, with the same result as on the decoded images
    from edgetl import evaluate as evaluation

    monkeypatch.setattr(evaluation, "EVAL_BATCH", 7)  # several batches, the last one short
    with monkeypatch.context() as m:
        m.setattr(ImageFiles, "__array__", lambda *a, **k: pytest.fail("the whole folder was decoded"))
        streamed = evaluation.evaluate(tmp_path / "held", str(root))
    monkeypatch.setattr(evaluation, "load_dataset", lambda *a, **k: in_memory(load_dataset(*a, **k)))
    held = evaluation.evaluate(tmp_path / "held", str(root))
    assert streamed == held and streamed["n"] == 40


def test_features_on_disk_are_fed_to_fit_a_batch_at_a_time(monkeypatch):
    from edgetl import features
    from edgetl._deps import import_keras

    monkeypatch.setattr(features, "IN_MEMORY_LIMIT", 0)
    x = features.allocate((23, 2))
    assert isinstance(x, features.FeatureFile)
    x[:10] = np.arange(20, dtype=np.float32).reshape(10, 2)
    x[10:] = np.arange(20, 46, dtype=np.float32).reshape(13, 2)
    y = np.arange(23) * 10
    keras = import_keras()
    shuffled = features.batches_from_disk(keras, x, y, 5, shuffle=True, seed=0)
    assert len(shuffled) == 5
    epochs = []
    for _ in range(2):
        rows = []
        for i in range(len(shuffled)):
            batch, labels = shuffled[i]
            assert isinstance(batch, np.ndarray)
            assert np.array_equal(batch[:, 0] / 2 * 10, labels) and list(labels) == sorted(labels)
            rows += list(labels // 10)
        assert sorted(rows) == list(range(23))
        epochs.append(rows)
        shuffled.on_epoch_end()
    assert epochs[0] != epochs[1] and epochs[0] != list(range(23))
    ordered = features.batches_from_disk(keras, x, y, 5, shuffle=False, seed=0)
    assert [int(v) for i in range(len(ordered)) for v in ordered[i][1] // 10] == list(range(23))


def test_a_feature_file_reads_back_what_was_written_as_an_array_would():
    from edgetl.features import FeatureFile

    rows = np.random.default_rng(0).normal(size=(300, 3, 4)).astype(np.float32)
    file = FeatureFile(rows.shape)
    for start in range(0, 300, 128):  # as extract writes it: a batch at a time
        file[start:start + 128] = rows[start:start + 128]
    index = np.array([0, 1, 2, 7, 8, 150, 299])
    for key in (slice(None), slice(5, 140), slice(None, None, 7), slice(290, 400), index, np.array([], int)):
        assert np.array_equal(file[key], rows[key]), key
    assert len(file) == 300 and file.shape == (300, 3, 4)
    with pytest.raises(IndexError):
        file[np.array([300])]
    with pytest.raises(ValueError):
        file[0:5] = rows[:4]


@pytest.mark.slow
def test_a_folder_trains_with_its_features_on_disk(tmp_path, monkeypatch):
    from edgetl import features, fitting
    from edgetl import train as training
    from edgetl.config import TrainConfig
    from edgetl.model import HeadConfig

    monkeypatch.setattr(features, "IN_MEMORY_LIMIT", 0)
    used = []
    monkeypatch.setattr(fitting, "batches_from_disk", lambda *a, **k: used.append(a[1].shape) or
                        features.batches_from_disk(*a, **k))
    root = write_shapes(tmp_path / "shapes", per_class=20)
    path = training.train(TrainConfig(data=str(root), out=tmp_path / "run", weights="none", input_size=32,
                                      feature_layer="block1_pool", head=HeadConfig(units=8), epochs=2, augment=1))
    assert used == [(72, 16, 16, 64), (4, 16, 16, 64)]  # train (36 + 36 augmented) and validation, from disk
    assert (path / "history.csv").read_text().count("\n") == 3
    assert json.loads((path / "metrics.json").read_text())["val"]["n"] == 4
