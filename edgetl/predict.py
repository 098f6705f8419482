"""edgetl predict: an exported model over many images, one row per image, in-process or on Ray Data.

The in-process path decodes the next batch on a thread while onnxruntime reads this one (OpenCV and
onnxruntime both release the GIL). Rows already in the output (same model) are skipped, so a stopped run
goes on where it stopped; Ctrl-C keeps every row finished so far.
"""
from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgetl.predict_output import check_output, read_rows, write_rows
from edgetl.predict_sources import list_images
from edgetl.runtime._io import sha256_file
from edgetl.runtime.errors import UserError

log = logging.getLogger(__name__)
SCORE_DECIMALS = 6  # rows from different engines or thread counts compare equal


@dataclass
class PredictOptions:
    top_k: int = 1
    batch: int = 64
    overwrite: bool = False
    ray: str | None = None  # None: in-process; "local": a Ray started here; else a cluster address
    workers: int | None = None  # Ray actors (default: one per CPU Ray sees)


def read_images(paths: list[str]) -> list:
    from edgetl.runtime.images import read_image

    return [read_image(p) for p in paths]


def fitted_batch(card, images: list) -> np.ndarray:
    """The readable images brought to the model's input (what Model.predict does), ready for one call."""
    from edgetl.runtime.images import fit_to_input

    good = [image for image in images if image is not None]
    return np.stack([fit_to_input(image, card) for image in good]) if good else None


def rows_for(model, paths: list[str], images: list, top_k: int, sha: str,
             batch: np.ndarray | None = None) -> list[dict]:
    """Rows for one batch: the images (None where unreadable) classified (or valued) in one call.
    ``batch``: fitted_batch of these images when it was made elsewhere (on the decoding thread)."""
    good = [i for i, image in enumerate(images) if image is not None]
    if good and batch is None:
        batch = fitted_batch(model.card, images)
    outputs = model.predict_batch(batch) if good else []
    labelled = dict(zip(good, model.labels(np.asarray(outputs), k=top_k))) if good else {}
    regression = model.card.task == "regression"
    rows = []
    for i, path in enumerate(paths):
        row = {"path": path, "labels": None, "scores": None, "value": None, "error": None, "model_sha256": sha}
        if i not in labelled:
            row["error"] = "unreadable: missing, empty or not an image" if not Path(path).is_file() or \
                Path(path).stat().st_size == 0 else "unreadable: not an image OpenCV can decode"
        elif regression:
            row["value"] = round(float(labelled[i][0][1]), SCORE_DECIMALS)
        else:
            row["labels"] = [label for label, _ in labelled[i]]
            row["scores"] = [round(float(score), SCORE_DECIMALS) for _, score in labelled[i]]
        rows.append(row)
    return rows


def check_options(options: PredictOptions) -> None:
    for name, value, low in (("--top-k", options.top_k, 1), ("--batch", options.batch, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise UserError(f"{name} {value}: must be a whole number >= {low}")
    if options.workers is not None and (not isinstance(options.workers, int) or options.workers < 1):
        raise UserError(f"--workers {options.workers}: must be a whole number >= 1")
    if options.workers is not None and options.ray is None:
        raise UserError("--workers: only with --ray (the in-process path uses this machine's cores)")


def earlier_rows(out: Path, sha: str, overwrite: bool) -> list[dict]:
    if overwrite:
        return []
    rows = read_rows(out)
    other = {row["model_sha256"] for row in rows} - {sha}
    if other:
        raise UserError(f"--out {out}: its rows come from another model (sha256 {sorted(other)[0][:12]}...); "
                        "pass --overwrite to replace them or choose another --out")
    return rows


def predict(model_path: str | Path, src: str, out: str | Path, options: PredictOptions = PredictOptions()) -> dict:
    """Write one row per image of ``src`` to ``out``; return a summary."""
    model_path, out = Path(model_path), Path(out)
    check_options(options)
    check_output(out)
    if not model_path.is_file() or model_path.suffix != ".onnx":
        raise UserError(f"{model_path}: not an .onnx file; predict takes a model made by `edgetl export`")
    paths = list_images(src)
    if not paths:
        raise UserError(f"SRC {src}: no images found (.jpg, .jpeg, .png, .bmp)")
    if options.ray is not None:  # a foreign or broken model is refused here, not in every actor
        from edgetl.runtime.model import Model

        Model(model_path, device="cpu")
    sha = sha256_file(model_path)
    kept = earlier_rows(out, sha, options.overwrite)
    done = {row["path"] for row in kept}
    todo = [p for p in paths if p not in done]
    started = time.perf_counter()
    new: list[dict] = []
    try:
        if options.ray is None:
            new = in_process(model_path, todo, options, sha, new)
        elif todo:
            from edgetl.predict_ray import predict_on_ray

            new = predict_on_ray(model_path, todo, options, sha, out)
    finally:  # also on Ctrl-C: the rows finished so far are kept, so the next run resumes after them
        if new:
            write_rows(out, kept + order_like(paths, new))
    seconds = time.perf_counter() - started
    return {"images": len(paths), "skipped_done": len(paths) - len(todo), "predicted": len(new),
            "errors": sum(row["error"] is not None for row in new), "seconds": round(seconds, 3),
            "images_per_s": round(len(new) / seconds, 1) if seconds > 0 and new else None,
            "engine": "in-process" if options.ray is None else f"ray ({options.ray})", "out": str(out)}


def order_like(paths: list[str], rows: list[dict]) -> list[dict]:
    position = {p: i for i, p in enumerate(paths)}
    return sorted(rows, key=lambda row: position.get(row["path"], len(position)))


def in_process(model_path: Path, todo: list[str], options: PredictOptions, sha: str, rows: list[dict]) -> list[dict]:
    """Fills ``rows`` (the caller's list, so an interruption keeps what is done) batch by batch."""
    from edgetl.progress import progress
    from edgetl.runtime.model import Model

    model = Model(model_path, device="cpu", threads=os.cpu_count() or 1)  # no finder thread here: every core
    batches = [todo[i:i + options.batch] for i in range(0, len(todo), options.batch)]
    with progress() as bar, ThreadPoolExecutor(1, thread_name_prefix="edgetl-decode") as decoder:
        task = bar.add_task("predict", total=len(todo), info="in-process")
        def decode(paths):  # on the decoding thread: read and bring to the input size
            images = read_images(paths)
            return images, fitted_batch(model.card, images)

        pending = decoder.submit(decode, batches[0]) if batches else None
        for k, batch in enumerate(batches):
            images, fitted = pending.result()
            if k + 1 < len(batches):
                pending = decoder.submit(decode, batches[k + 1])
            rows.extend(rows_for(model, batch, images, options.top_k, sha, fitted))
            bar.update(task, advance=len(batch))
    return rows
