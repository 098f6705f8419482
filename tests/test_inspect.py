"""edgetl inspect: layer table with the frozen/trainable split, ONNX contract and operators, clear errors."""
from __future__ import annotations

import json

from conftest import run_cli


def test_inspect_a_run_lists_layers_and_the_frozen_split(tiny_run):
    result = run_cli("inspect", tiny_run, "--json", timeout=180)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    from edgetl.rundir import load_run

    model, card = load_run(tiny_run)
    assert [row["name"] for row in info["layers"]] == [layer.name for layer in model.layers]
    assert info["params"]["total"] == model.count_params()
    trainable = sum(int(sum(w.numpy().size for w in layer.trainable_weights)) for layer in model.layers)
    assert info["params"]["trainable"] == trainable > 0
    assert {r["name"]: r["trainable"] for r in info["layers"]}["block1_conv1"] is False  # the frozen base
    assert info["card"]["class_names"] == card.class_names


def test_inspect_an_onnx_file_gives_its_contract_and_operators(tiny_run, tmp_path):
    from edgetl.exporting import ExportOptions, export

    export(tiny_run, ExportOptions(quantize="int8", calib_size=16, out=tmp_path))
    for name, quantized in (("model.onnx", False), ("model.int8.onnx", True)):
        result = run_cli("inspect", tmp_path / name, "--json", timeout=120)
        assert result.returncode == 0, result.stderr
        info = json.loads(result.stdout)
        assert info["inputs"][0]["type"] == "uint8" and info["inputs"][0]["shape"][1:] == [32, 32, 3]
        assert info["outputs"][0]["shape"][1] == 2 and info["quantized"] is quantized
        assert info["operators"].get("Conv", 0) == 4  # block1 and block2: two convolutions each
        assert info["card"]["backbone"] == "vgg16"
    text = run_cli("inspect", tmp_path / "model.int8.onnx", timeout=120).stdout
    assert "quantized: yes" in text and "QuantizeLinear" in text


def test_inspect_refuses_missing_and_foreign_files(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    for target in (tmp_path / "missing.onnx", tmp_path / "notes.txt"):
        result = run_cli("inspect", target, timeout=120)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
