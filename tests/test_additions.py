"""`edgetl train --add DIR`: sorted crops trained on beside --data (edgetl/data/additions.py)."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import run_cli, write_shapes
from edgetl.data.additions import load_additions, with_additions
from edgetl.data.lazy import ImageFiles
from edgetl.runtime.errors import UserError

DIGITS = [str(d) for d in range(10)] + ["not a digit"]


def write_crop(path: Path, value: int, size: int = 28, colour: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.zeros((size, size, 3) if colour else (size, size), np.uint8)
    image[size // 4:3 * size // 4, size // 4:3 * size // 4] = value
    cv2.imwrite(str(path), image)


def test_class_folders_become_labels_and_unsure_crops_are_left_out(tmp_path):
    write_crop(tmp_path / "7" / "a.png", 200)
    write_crop(tmp_path / "7" / "b.png", 180)
    write_crop(tmp_path / "not a digit" / "grid.png", 90)
    write_crop(tmp_path / "unsure" / "still_to_sort.png", 255)
    (tmp_path / "7" / "notes.txt").write_text("not an image")
    (tmp_path / "3").mkdir()  # made empty by --save-uncertain, never filled
    paths, labels = load_additions([tmp_path], DIGITS, "mnist-5k")
    assert [Path(p).name for p in paths] == ["a.png", "b.png", "grid.png"]
    assert labels.tolist() == [7, 7, 10]


def test_arrays_get_the_added_images_at_their_shape(tmp_path):
    write_crop(tmp_path / "4" / "big_colour.png", 250, size=56, colour=True)
    x, y = np.zeros((3, 28, 28, 1), np.uint8), np.array([1, 2, 3])
    x2, y2 = with_additions((x, y), [str(tmp_path)], DIGITS, "mnist-5k")
    assert x2.shape == (4, 28, 28, 1) and x2.dtype == np.uint8 and y2.tolist() == [1, 2, 3, 4]
    added = x2[3, :, :, 0]
    assert added[7:21, 7:21].min() >= 240 and added[:5].max() == 0  # the square, brought down to 28 px, gray
    assert with_additions((x, y), (), DIGITS, "mnist-5k") == (x, y)


def test_photos_of_dark_ink_added_to_light_on_black_digits_are_pointed_out(tmp_path, caplog):
    page = np.full((40, 40), 230, np.uint8)
    cv2.putText(page, "7", (8, 34), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 20, 3)
    (tmp_path / "7").mkdir()
    cv2.imwrite(str(tmp_path / "7" / "photo.png"), page)
    write_crop(tmp_path / "7" / "crop.png", 200)  # a crop as --save-uncertain writes it: dark background
    x, y = np.zeros((3, 28, 28, 1), np.uint8), np.array([1, 2, 3])
    with caplog.at_level("WARNING"):
        with_additions((x, y), [tmp_path], DIGITS, "mnist-5k")
    assert "1 of 2 images have a light background where --data mnist-5k's are dark" in caplog.text


def test_folder_data_stays_on_disk_with_the_added_files_after_it(tmp_path):
    write_crop(tmp_path / "add" / "square" / "s.png", 200, size=40, colour=True)
    x = ImageFiles(["a.png", "b.png"], 32, 32, 3)
    x2, y2 = with_additions((x, np.array([0, 1])), [tmp_path / "add"], ["circle", "square"], "shapes/")
    assert isinstance(x2, ImageFiles) and x2.paths[:2] == ["a.png", "b.png"] and x2.paths[2].endswith("s.png")
    assert x2.shape == (3, 32, 32, 3) and y2.tolist() == [0, 1, 1]


def test_a_folder_that_is_not_a_class_is_refused_by_name(tmp_path):
    write_crop(tmp_path / "12" / "a.png", 200)
    with pytest.raises(UserError, match=r"folder 12/ is not a class of --data mnist-5k \(0, 1,"):
        load_additions([tmp_path], DIGITS, "mnist-5k")
    (tmp_path / "12").rename(tmp_path / "not a digit")
    with pytest.raises(UserError, match="--no-reject leaves digit models without it"):
        load_additions([tmp_path], DIGITS[:10], "mnist-5k")
    assert load_additions([tmp_path], DIGITS, "mnist-5k")[1].tolist() == [10]


def blanks(n: int, seed: int) -> np.ndarray:
    """Noise with no shape in it: what neither class of the shapes folder looks like."""
    return np.random.default_rng(seed).integers(0, 60, (n, 32, 32, 3), dtype=np.uint8)


@pytest.mark.parametrize("label", ["circle", "square"])
def test_the_model_learns_what_the_added_folder_says(tmp_path, label):
    """Blank images sorted into one class's folder: the trained model reads unseen blanks as that class,
    whichever class it is (so it cannot pass by the model's own leaning)."""
    from edgetl.config import TrainConfig
    from edgetl.model import HeadConfig
    from edgetl.rundir import load_run
    from edgetl.train import predict, train

    data = write_shapes(tmp_path / "shapes", per_class=16)
    (tmp_path / "sorted" / label).mkdir(parents=True)
    for i, image in enumerate(blanks(24, seed=1)):
        cv2.imwrite(str(tmp_path / "sorted" / label / f"{i}.png"), image)
    run = train(TrainConfig(data=str(data), out=tmp_path / "run", weights="none", input_size=32,
                            feature_layer="block2_pool", head=HeadConfig(units=16), epochs=8, augment=0,
                            add=(str(tmp_path / "sorted"),)))
    model, card = load_run(run)
    read = predict(model, blanks(40, seed=2)).argmax(axis=1)
    assert np.mean(read == card.class_names.index(label)) >= 0.9
    training = json.loads((run / "card.json").read_text())["training"]
    assert training["add"] == [str(tmp_path / "sorted")] and training["n_train"] == 2 * 14 + 24


@pytest.mark.parametrize("setup, args, message", [
    (None, ["--add", "no/such/folder"], "--add no/such/folder: no such folder"),
    ("file", ["--add", "{add}"], "is a file, not a folder"),
    ("empty", ["--add", "{add}"], "no images in its class folders"),
    ("stray", ["--add", "{add}"], "folder circles/ is not a class of --data"),
    ("empty", ["--add", "{add}", "--task", "regression"], "--task regression cannot take them"),
])
def test_cli_bad_add_is_one_line_and_writes_nothing(tmp_path, setup, args, message):
    data = write_shapes(tmp_path / "shapes", per_class=4)
    add = tmp_path / "sorted"
    if setup == "empty":
        (add / "circle").mkdir(parents=True)
        (add / "unsure").mkdir()
        write_crop(add / "unsure" / "x.png", 200)
    elif setup == "file":
        add.write_text("not a folder")
    elif setup == "stray":
        write_crop(add / "circles" / "x.png", 200)
    result = run_cli("train", "--data", data, "--out", tmp_path / "run", "--weights", "none", "--input-size", "32",
                     *[a.format(add=add) for a in args], timeout=300)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()
