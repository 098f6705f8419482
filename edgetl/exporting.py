"""edgetl export: a run (or an .onnx file) to verified ONNX files beside an export.json report.

Keras is imported only for a run; quantizing an existing .onnx needs onnx and onnxruntime alone.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgetl.data import load_dataset
from edgetl.data.split import strata, stratified_limit, stratified_split
from edgetl.export.choices import CALIB_METHODS, QUANTIZE_MODES
from edgetl.runtime.card import ModelCard
from edgetl.runtime.errors import UserError
from edgetl.runtime.images import fit_all

log = logging.getLogger(__name__)
HELD_OUT_MAX = 2000
MIN_CALIB = 16  # as export/calibration.py, which imports onnxruntime.quantization
OPSETS = (13, 18)


@dataclass
class ExportOptions:
    quantize: str | None = None  # None, "int8" or "fp16"
    calib_data: str | None = None
    calib_size: int = 256
    calib_method: str = "minmax"
    opset: int = 17
    max_drop: float = 1.0
    out: Path | None = None
    trust_model: bool = False  # load a .keras with Lambda/custom layers, safe_mode off (the user's own file)
    prune: bool = True  # cut out channels dead on every calibration image (export/prune.py)


def samples(card: ModelCard, spec: str | None, calib_size: int,
            min_calib: int = MIN_CALIB) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """(calibration images, (held-out images, labels)) from --calib-data or the run's own data.

    The data must fit the model: its classes (by name where it names them), its image shape, finite values.
    """
    from edgetl.evaluate import model_labels, nonfinite_arrays

    training = card.training
    option = "--calib-data" if spec else "the run's --data"
    spec = spec or training.get("data")
    if not spec:
        raise UserError("no calibration data: pass --calib-data (a dataset spec as for train)")
    problem = nonfinite_arrays(spec)
    if problem:
        raise UserError(f"{option} {spec}: {problem}; fix or drop them")
    dataset = load_dataset(spec, card.task, image_size=card.height,
                           csv_columns=training.get("csv") if spec == training.get("data") else None)
    x, y = dataset.split("train")
    y = model_labels(card, dataset, y, option, spec)
    shape = (card.height, card.width, card.channels)
    if x.shape[1:] != shape:
        raise UserError(f"{option} {spec}: images are {x.shape[1:]}, the model takes {shape}")
    seed = int(training.get("seed", 0))
    groups = strata(y, card.task)
    n_groups = len(np.unique(groups))
    if calib_size < n_groups and calib_size < len(y):
        what = "classes" if card.task == "classification" else "target bins"
        raise UserError(f"--calib-size {calib_size}: smaller than the number of {what} in {spec} ({n_groups}); "
                        f"calibration needs every one: use --calib-size {max(n_groups, MIN_CALIB)} or more")
    train_idx, val_idx = stratified_split(groups, 0.1, seed)
    held = dataset.splits.get("test") or dataset.splits.get("val")
    if held is not None:
        held = (held[0], model_labels(card, dataset, held[1], option, spec))
    else:
        train_idx, val_idx = kept_out_in_training(training, spec, len(y), (train_idx, val_idx))
        held = (x[val_idx], y[val_idx])
    calib = x[train_idx][stratified_limit(strata(y[train_idx], card.task), calib_size, seed)]
    if len(calib) < min_calib:
        raise UserError(f"{option} {spec}: calibration data has {len(calib)} samples; need at least {min_calib} "
                        "(use more training images)")
    if len(held[1]) == 0:
        raise UserError(f"{option} {spec}: no held-out samples to verify the export on; give it a test split "
                        "or at least 2 samples per class")
    keep = stratified_limit(strata(held[1], card.task), HELD_OUT_MAX, seed)
    return calib, (fit_all(held[0][keep], card), held[1][keep])


def kept_out_in_training(training: dict, spec: str, n: int, drawn: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(calibration candidates, held-out indices): the samples training validated on, recorded in the card,
    when this is the data it trained on; else ``drawn`` (a fresh draw), with a warning if the data changed."""
    record = training.get("heldout") or {}
    if spec != training.get("data") or record.get("split") != "train":
        return drawn
    if record.get("of") != n:
        log.warning("%s has %d samples, %s when the model trained: the held-out set is drawn again and may hold "
                    "training images", spec, n, record.get("of"))
        return drawn
    held = np.asarray(record["indices"], np.int64)
    return np.setdiff1d(np.arange(n), held), held


def check_options(options: ExportOptions) -> None:
    """Every option's range, before any file is read or a heavy module imported."""
    if options.quantize not in (None, *QUANTIZE_MODES):
        raise UserError(f"--quantize {options.quantize}: valid: {', '.join(QUANTIZE_MODES)}")
    if options.calib_method not in CALIB_METHODS:
        raise UserError(f"--calib-method {options.calib_method}: valid: {', '.join(CALIB_METHODS)}")
    size = options.calib_size
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise UserError(f"--calib-size {size}: must be a whole number >= 1 (default 256)")
    if options.quantize == "int8" and size < MIN_CALIB:
        raise UserError(f"--calib-size {size}: int8 calibration needs at least {MIN_CALIB} samples (default 256)")
    drop = options.max_drop
    if not isinstance(drop, (int, float)) or not np.isfinite(drop) or drop < 0:
        raise UserError(f"--max-drop {drop}: must be a number >= 0 (accuracy points, or % of the MAE for regression; "
                        "default 1.0)")
    if isinstance(options.opset, bool) or not isinstance(options.opset, int) or \
            not OPSETS[0] <= options.opset <= OPSETS[1]:
        raise UserError(f"--opset {options.opset}: valid: {OPSETS[0]}..{OPSETS[1]} (per-channel int8 needs "
                        f"{OPSETS[0]} or later; tf2onnx converts up to {OPSETS[1]})")


def timed(report: dict, step: str, fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    report.setdefault("seconds", {})[step] = round(time.perf_counter() - start, 2)
    if isinstance(result, Path):
        report.setdefault("bytes", {})[result.name] = result.stat().st_size
        log.info("%s: %s (%.1f MB, %.1f s)", step, result.name, result.stat().st_size / 1e6, report["seconds"][step])
    return result


def export(source: Path, options: ExportOptions) -> dict:
    """Write model.onnx (from a run) and/or the quantized variant; return the export report."""
    source = Path(source)
    check_options(options)
    if source.suffix == ".onnx":
        if not source.is_file():
            raise UserError(f"{source}: no such file")
        from edgetl.export.onnx_export import check_single_file

        check_single_file(source)
    else:
        from edgetl.rundir import find_model

        find_model(source)  # refuses missing paths, foreign folders and legacy .h5 before any work
    out_dir = Path(options.out or (source if source.is_dir() else source.parent))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {out_dir}: cannot create it ({exc.strerror})") from None
    if not os.access(out_dir, os.W_OK):
        raise UserError(f"--out {out_dir}: not writable")
    from edgetl.runtime._io import deferred_signals, make_temp_dir

    staging = make_temp_dir(out_dir / "export")  # .export.edgetl-tmp-PID-RANDOM; a dead process's is removed
    try:
        report, files = build(source, options, staging)
        report["files"] = {name: str(out_dir / name) for name in files}
        with deferred_signals():  # every check passed: move into place together (Ctrl-C waits for the set)
            for name in files:
                os.replace(staging / name, out_dir / name)
            write_report(out_dir / "export.json", report)
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def build(source: Path, options: ExportOptions, staging: Path) -> tuple[dict, list[str]]:
    from edgetl.export.quantize import convert_fp16

    report: dict = {"source": str(source), "quantize": options.quantize}
    files = []
    if source.suffix == ".onnx":
        from edgetl.runtime.model import Model

        float_path, card, keras_model = source, Model(source, device="cpu").card, None
        if card.quantization:
            raise UserError(f"{source}: already quantized ({card.quantization}); quantize the float model.onnx")
        stem = source.name[:-len(".onnx")]
        calib, held = load_samples(card, options)
    else:
        from edgetl.rundir import find_model, load_run

        card_path = find_model(source)[1]
        samples_first = card_path.is_file()  # bad data is named before TensorFlow loads
        if samples_first:
            calib, held = load_samples(ModelCard.load(card_path), options)
        # a foreign model is refused for what it is
        keras_model, card = timed(report, "load", load_run, source, options.trust_model)
        if not samples_first:
            calib, held = load_samples(card, options)
        float_path, stem = staging / "model.onnx", "model"
    if keras_model is not None:
        if options.prune:
            from edgetl.export.prune import prune_for_export

            keras_model, report["prune"] = timed(report, "prune", prune_for_export, keras_model, calib, held[0])
        export_verified_float(keras_model, card, float_path, held[0], options.opset, report)
        files.append(float_path.name)
    if options.quantize == "fp16":
        fp16_path = timed(report, "fp16", convert_fp16, float_path, staging / f"{stem}.fp16.onnx")
        if held[1] is not None:
            report["fp16"] = check_fp16(float_path, fp16_path, card, held, options.max_drop)
        files.append(fp16_path.name)
    elif options.quantize == "int8":
        files.append(quantize_verified(float_path, staging / f"{stem}.int8.onnx", card, calib, held,
                                       options, report).name)
    return report, files


def load_samples(card: ModelCard, options: ExportOptions):
    """Calibration and held-out data; without any data, random images serve the parity check only."""
    try:
        return samples(card, options.calib_data, options.calib_size,
                       min_calib=MIN_CALIB if options.quantize == "int8" else 0)
    except UserError:
        if options.quantize == "int8" or options.calib_data:
            raise
        log.warning("the run's data is unavailable: checking ONNX parity on random images")
        shape = (64, card.height, card.width, card.channels)
        return None, (np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8), None)


def export_verified_float(keras_model, card: ModelCard, path: Path, x_held: np.ndarray, opset: int,
                          report: dict) -> None:
    from edgetl.export.onnx_export import export_float
    from edgetl.export.verify import PARITY_TOLERANCE, max_abs_diff, parity_diff
    from edgetl.runtime.model import Model
    from edgetl.train import predict

    timed(report, "onnx", export_float, keras_model, card, path, opset)
    x = x_held[:256]
    expected, got = predict(keras_model, x), Model(path, device="cpu").predict_batch(x)
    diff = parity_diff(expected, got)
    report["parity"] = {"max_abs_diff_vs_keras": max_abs_diff(expected, got), "relative_to_output_scale": diff,
                        "n": len(x), "tolerance": PARITY_TOLERANCE}
    log.info("ONNX vs Keras: max |diff| %.2e (relative to the outputs' scale) on %d held-out images", diff, len(x))
    if diff > PARITY_TOLERANCE:
        raise UserError(f"ONNX output differs from Keras by {diff:.2e} (> {PARITY_TOLERANCE}); nothing written")


def check_fp16(float_path: Path, fp16_path: Path, card: ModelCard, held, max_drop: float) -> dict:
    """fp16 against fp32 on held-out data (onnxruntime's CPU provider runs fp16 graphs too)."""
    from edgetl.export.verify import compare, drop_of
    from edgetl.runtime.model import Model

    x_held, y_held = held
    result = compare(card.task, Model(float_path, device="cpu").predict_batch(x_held),
                     Model(fp16_path, device="cpu").predict_batch(x_held), y_held, card.class_names)
    log.info("fp16 vs fp32 on %d held-out: %s", len(y_held), json.dumps(result))
    if drop_of(card.task, result) > max_drop:
        raise UserError(f"fp16 loses {drop_of(card.task, result):.3f} (> --max-drop {max_drop}) on "
                        f"{len(y_held)} held-out samples; fp16 file not written")
    return result


def quantize_verified(float_path: Path, out_path: Path, card: ModelCard, calib: np.ndarray, held, options: ExportOptions,
                      report: dict) -> Path:
    """int8 with the accuracy gate; one retry keeping the lossiest nodes in float."""
    from edgetl.export.quantize import lossiest_nodes, quantize_int8, side_by_side_nodes
    from edgetl.export.verify import compare, drop_of
    from edgetl.runtime.model import Model

    x_held, y_held = held
    reference = Model(float_path, device="cpu").predict_batch(x_held)
    report["calibration"] = {"method": options.calib_method, "samples": int(len(calib)),
                             "data": options.calib_data or card.training.get("data")}
    kept_float = side_by_side_nodes(float_path)
    exclude = list(kept_float)
    for attempt in (1, 2):
        timed(report, f"int8_attempt{attempt}", quantize_int8, float_path, out_path, calib, options.calib_method,
              exclude)
        result = compare(card.task, reference, Model(out_path, device="cpu").predict_batch(x_held), y_held,
                         card.class_names)
        report["int8"] = {**result, "float_nodes": exclude}
        drop = drop_of(card.task, result)
        log.info("int8 vs fp32 on %d held-out: %s", len(y_held), json.dumps(result))
        if drop <= options.max_drop:
            return out_path
        worst = lossiest_nodes(float_path, out_path, x_held)
        report["lossiest_nodes"] = [{"node": n, "sqnr_db": round(float(e), 2)} for n, e in worst]
        if attempt == 1:
            log.warning("int8 drop %.3f > %.3f; retrying with these nodes in float: %s", drop, options.max_drop,
                        ", ".join(n for n, _ in worst))
            exclude = kept_float + [n for n, _ in worst if n not in kept_float]
    out_path.unlink(missing_ok=True)
    names = ", ".join(f"{n} ({e:.1f} dB)" for n, e in worst)
    raise UserError(f"int8 loses {drop:.3f} (> --max-drop {options.max_drop}) on {len(y_held)} held-out samples "
                    f"even with {', '.join(exclude)} kept in float; lossiest nodes: {names}; int8 file not written")


def write_report(path: Path, report: dict) -> None:
    from edgetl.runtime._io import atomic_write_text

    atomic_write_text(path, json.dumps(report, indent=2, default=str) + "\n")
