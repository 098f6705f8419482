"""edgetl predict: one row per image in-process and on Ray Data (the same rows), resumable, never mixing
models, unreadable images as error rows."""
from __future__ import annotations

import builtins
import hashlib
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_cli, write_shapes
from edgetl.predict import PredictOptions, predict
from edgetl.runtime.errors import UserError

HAS_RAY = importlib.util.find_spec("ray") is not None
HAS_PYARROW = importlib.util.find_spec("pyarrow") is not None


@pytest.fixture(scope="module")
def model(tiny_run, tmp_path_factory) -> Path:
    from edgetl.exporting import ExportOptions, export

    out = tmp_path_factory.mktemp("predict-model")
    export(tiny_run, ExportOptions(out=out))
    return out / "model.onnx"


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    root = write_shapes(tmp_path_factory.mktemp("predict-images") / "shapes", per_class=6)
    (root / "square" / "nested").mkdir()
    (root / "square" / "0.png").rename(root / "square" / "nested" / "0.png")
    (root / "circle" / "broken.png").write_bytes(b"not a png at all")
    return root


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def expected_labels(model: Path, paths: list[str]) -> list[str]:
    from edgetl.runtime.images import read_image
    from edgetl.runtime.model import Model

    m = Model(model, device="cpu")
    return [labels[0][0] for labels in m.labels(m.predict([read_image(p) for p in paths]))]


def test_rows_in_process(model, images, tmp_path):
    out = tmp_path / "preds.jsonl"
    summary = predict(model, str(images), out, PredictOptions(top_k=2))
    rows = read_jsonl(out)
    assert summary["images"] == len(rows) == 13 and summary["errors"] == 1
    assert any(row["path"].endswith("nested/0.png") for row in rows)  # folders are searched recursively
    broken = [row for row in rows if row["path"].endswith("broken.png")]
    assert broken[0]["error"].startswith("unreadable") and broken[0]["labels"] is None
    good = [row for row in rows if row["error"] is None]
    assert [row["labels"][0] for row in good] == expected_labels(model, [row["path"] for row in good])
    assert all(len(row["labels"]) == 2 and row["scores"][0] >= row["scores"][1] for row in good)
    assert {row["model_sha256"] for row in rows} == {hashlib.sha256(model.read_bytes()).hexdigest()}


def test_rerun_predicts_only_what_is_missing(model, images, tmp_path):
    out = tmp_path / "preds.jsonl"
    predict(model, str(images), out)
    full = out.read_text()
    out.write_text("".join(full.splitlines(keepends=True)[:8]))  # as if stopped after 8 rows
    summary = predict(model, str(images), out)
    assert (summary["skipped_done"], summary["predicted"]) == (8, 5)
    assert out.read_text() == full  # no duplicates, same order
    assert predict(model, str(images), out)["predicted"] == 0


def test_rows_of_another_model_are_refused(model, images, tmp_path):
    out = tmp_path / "preds.jsonl"
    predict(model, str(images), out)
    rows = read_jsonl(out)
    rows[0]["model_sha256"] = "0" * 64
    out.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(UserError, match="another model"):
        predict(model, str(images), out)
    assert predict(model, str(images), out, PredictOptions(overwrite=True))["predicted"] == 13


def test_csv_and_text_lists_with_missing_files(model, images, tmp_path):
    paths = sorted(str(p.relative_to(images)) for p in images.rglob("*.png"))[:3] + ["gone.png"]
    (images / "list.csv").write_text("id,path\n" + "".join(f"{i},{p}\n" for i, p in enumerate(paths)))
    (images / "list.txt").write_text("# images\n" + "\n".join(paths) + "\n")
    for listing in ("list.csv", "list.txt"):
        out = tmp_path / f"{listing}.jsonl"
        predict(model, str(images / listing), out)
        rows = read_jsonl(out)
        assert [Path(row["path"]).name for row in rows] == [Path(p).name for p in paths]  # relative to the list
        assert rows[-1]["error"].startswith("unreadable: missing") and rows[0]["error"] is None
    (images / "list.csv").unlink()
    (images / "list.txt").unlink()


@pytest.mark.skipif(not HAS_PYARROW, reason="pyarrow (the [scale] extra) is not installed")
def test_parquet_holds_the_same_rows(model, images, tmp_path):
    import pyarrow.parquet as pq

    predict(model, str(images), tmp_path / "a.jsonl")
    predict(model, str(images), tmp_path / "a.parquet")
    assert pq.read_table(tmp_path / "a.parquet").to_pylist() == read_jsonl(tmp_path / "a.jsonl")


@pytest.mark.skipif(not HAS_RAY, reason="Ray (the [scale] extra) is not installed")
def test_ray_gives_the_same_rows(model, images, tmp_path):
    predict(model, str(images), tmp_path / "here.jsonl", PredictOptions(top_k=2))
    summary = predict(model, str(images), tmp_path / "ray.jsonl", PredictOptions(top_k=2, ray="local", workers=2))
    assert summary["engine"] == "ray (local)" and summary["predicted"] == 13
    assert (tmp_path / "ray.jsonl").read_text() == (tmp_path / "here.jsonl").read_text()
    assert not [p for p in tmp_path.iterdir() if "tmp" in p.name]  # the Parquet shards' staging folder is gone


def test_ray_missing_names_the_extra(model, images, tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(UserError, match=r"pip install 'edgetl\[scale\]'"):
        predict(model, str(images), tmp_path / "p.jsonl", PredictOptions(ray="local"))


@pytest.mark.skipif(not HAS_RAY, reason="Ray (the [scale] extra) is not installed")
def test_unreachable_cluster_fails_fast(model, images, tmp_path):
    start = time.perf_counter()
    with pytest.raises(UserError, match="cannot reach"):
        predict(model, str(images), tmp_path / "p.jsonl", PredictOptions(ray="127.0.0.1:9"))
    assert time.perf_counter() - start < 30
    assert not (tmp_path / "p.jsonl").exists()


def test_cli_and_bad_input(model, images, tmp_path):
    result = run_cli("predict", model, images, "--out", tmp_path / "p.jsonl", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["predicted"] == 13
    for args, message in ((["--top-k", "0"], "--top-k 0"), (["--out", tmp_path / "p.csv"], ".jsonl or .parquet"),
                          (["--workers", "2"], "only with --ray")):
        argv = ["predict", model, images, "--out", tmp_path / "q.jsonl", *args]
        if args[0] == "--out":
            argv = ["predict", model, images, *args]
        bad = run_cli(*argv)
        assert bad.returncode == 2 and message in bad.stderr and "Traceback" not in bad.stderr, bad.stderr
    missing = run_cli("predict", model, tmp_path / "nowhere", "--out", tmp_path / "r.jsonl")
    assert missing.returncode == 2 and "no such folder" in missing.stderr


def test_runtime_and_in_process_predict_never_import_ray():
    code = ("import sys, edgetl.runtime, edgetl.predict, edgetl.predict_output; "
            "sys.exit(1 if any(m == 'ray' or m.startswith('ray.') for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_ctrl_c_keeps_the_finished_rows(model, images, tmp_path, monkeypatch):
    import edgetl.predict as module

    real, calls = module.rows_for, []

    def interrupted_on_the_third_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "rows_for", interrupted_on_the_third_batch)
    out = tmp_path / "p.jsonl"
    with pytest.raises(KeyboardInterrupt):
        predict(model, str(images), out, PredictOptions(batch=4))
    assert len(read_jsonl(out)) == 8  # two whole batches, written whole
    monkeypatch.setattr(module, "rows_for", real)
    assert predict(model, str(images), out, PredictOptions(batch=4))["predicted"] == 5
