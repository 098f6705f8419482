"""`--data labels.csv` (the InceptionV3 tutorial's train.csv, Keras's flow_from_dataframe): file and class
columns, paths relative to the CSV, bad rows reported with their line numbers and skipped."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_cli, write_shapes
from edgetl.runtime.errors import UserError


@pytest.fixture
def labelled_csv(tmp_path):
    root = write_shapes(tmp_path / "photos", per_class=8)
    lines = ["filename,class"] + [f"photos/{kind}/{i}.png,{kind}" for kind in ("circle", "square") for i in range(8)]
    lines += ["photos/circle/gone.png,circle", "photos/square/1.png,square,extra", "photos/square/2.png,"]  # lines 18, 19, 20
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    return tmp_path / "labels.csv", root


def test_rows_load_and_bad_ones_are_named_by_line(labelled_csv, caplog):
    from edgetl.data import load_dataset

    csv_path, _ = labelled_csv
    with caplog.at_level("WARNING"):
        ds = load_dataset(str(csv_path), image_size=32)
    x, y = ds.split("train")
    assert ds.class_names == ["circle", "square"] and x.shape == (16, 32, 32, 3)
    assert np.bincount(y).tolist() == [8, 8]
    assert "skipped 3 of 19 rows: line 18 missing file photos/circle/gone.png, line 19 3 fields, the header has 2, " \
           "line 20 empty file name or label" in caplog.text


def test_train_and_evaluate_from_a_csv(labelled_csv, tmp_path):
    csv_path, _ = labelled_csv
    trained = run_cli("train", "--data", csv_path, "--out", tmp_path / "run", "--weights", "none", "--epochs", "1",
                      "--augment", "0", "--input-size", "32", "--val-split", "0.25")
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert "line 18 missing file photos/circle/gone.png" in trained.stderr
    card = json.loads((tmp_path / "run" / "card.json").read_text())
    assert card["class_names"] == ["circle", "square"] and card["training"]["data"] == str(csv_path)
    evaluated = run_cli("evaluate", tmp_path / "run", "--data", csv_path, "--json")
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert json.loads(evaluated.stdout.strip().splitlines()[-1])["n"] == 16


def test_regression_values_and_bad_numbers(tmp_path):
    from edgetl.data import load_dataset

    write_shapes(tmp_path / "photos", per_class=3)
    rows = ["path,price", "photos/circle/0.png,12.5", "photos/circle/1.png,cheap", "photos/square/0.png,40"]
    (tmp_path / "prices.csv").write_text("\n".join(rows) + "\n")
    ds = load_dataset(str(tmp_path / "prices.csv"), task="regression", image_size=32)
    assert ds.split("train")[1].tolist() == [12.5, 40.0] and ds.class_names == ["value"]


def test_missing_columns_name_what_the_csv_has(tmp_path):
    from edgetl.data import load_dataset

    (tmp_path / "bad.csv").write_text("picture,kind\na.png,cat\n")
    with pytest.raises(UserError, match=r"no file name column .* it has picture, kind"):
        load_dataset(str(tmp_path / "bad.csv"))


def test_columns_and_image_root_by_flag(tmp_path):
    write_shapes(tmp_path / "elsewhere", per_class=4)
    rows = ["picture,kind,note"] + [f"{k}/{i}.png,{k},x" for k in ("circle", "square") for i in range(4)]
    (tmp_path / "mine.csv").write_text("\n".join(rows) + "\n")
    trained = run_cli("train", "--data", tmp_path / "mine.csv", "--x-col", "picture", "--y-col", "kind",
                      "--image-root", tmp_path / "elsewhere", "--out", tmp_path / "run", "--weights", "none",
                      "--epochs", "1", "--augment", "0", "--input-size", "32", "--val-split", "0.25")
    assert trained.returncode == 0, trained.stderr[-2000:]
    card = json.loads((tmp_path / "run" / "card.json").read_text())
    assert card["class_names"] == ["circle", "square"] and card["training"]["csv"]["x_col"] == "picture"
    # export reads the CSV again with the columns the card recorded
    exported = run_cli("export", tmp_path / "run")
    assert exported.returncode == 0, exported.stderr[-2000:]
    wrong = run_cli("train", "--data", "mnist-5k", "--x-col", "picture", "--out", tmp_path / "other")
    assert wrong.returncode == 2 and "--x-col: only with --data x.csv" in wrong.stderr
