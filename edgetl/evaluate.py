"""edgetl evaluate: a trained or exported model on a dataset split."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from edgetl.data import load_dataset
from edgetl.runtime.card import ModelCard
from edgetl.runtime.errors import UserError
from edgetl.runtime.images import fit_all
from edgetl.runtime.metrics import report

log = logging.getLogger(__name__)
EVAL_BATCH = 256


def load_predictor(path: Path, device: str = "cpu", trust_model: bool = False) -> tuple[callable, ModelCard]:
    """(predict(uint8 batch) -> outputs, card) for a run directory, .keras or .onnx file."""
    if path.suffix == ".onnx":
        from edgetl.runtime.model import Model

        model = Model(path, device=device)
        return model.predict_batch, model.card
    from edgetl.rundir import load_run
    from edgetl.train import predict

    keras_model, card = load_run(path, trust_model)
    return (lambda x: predict(keras_model, x)), card


def predict_in_batches(predict, x, card: ModelCard) -> np.ndarray:
    """Outputs for every image of ``x``, read (folders and CSVs: from disk), fitted and predicted a batch at a
    time, so a large split is never all in memory."""
    from edgetl.progress import progress

    chunks = []
    with progress() as bar:
        task = bar.add_task("evaluate", total=len(x), info="")
        for start in range(0, max(len(x), 1), EVAL_BATCH):
            batch = x[start:start + EVAL_BATCH]
            chunks.append(predict(fit_all(batch, card)))
            bar.update(task, advance=len(batch))
    return np.concatenate(chunks)


def nonfinite_arrays(spec: str | None) -> str | None:
    """What in a .npz data file is NaN or infinite (images or targets), or None.

    The loader turns float images into uint8 pixels, where NaN silently becomes black: this looks first.
    """
    path = Path(spec) if spec else None
    if path is None or path.suffix != ".npz" or not path.is_file():
        return None
    try:
        npz = np.load(path, allow_pickle=False)
    except Exception:  # the loader names unreadable files
        return None
    with npz:
        for key in npz.files:
            if not key.startswith(("x", "y")):
                continue
            try:
                values = npz[key]
            except Exception:
                return None
            if values.ndim == 0 or not np.issubdtype(values.dtype, np.floating):
                continue
            bad = np.flatnonzero(~np.isfinite(values.reshape(len(values), -1)).all(axis=1))
            if len(bad):
                what = ("image" if key.startswith("x") else "target") + ("s" if len(bad) > 1 else "")
                return (f"{key} has {len(bad)} {what} with NaN or infinite values "
                        f"(first at index {int(bad[0])})")
    return None


def check_values(spec: str) -> None:
    problem = nonfinite_arrays(spec)
    if problem:
        raise UserError(f"--data {spec}: {problem}; fix or drop them")


def model_labels(card: ModelCard, dataset, y: np.ndarray, option: str, spec: str) -> np.ndarray:
    """The dataset's labels as indices into the model's classes, or a clear refusal.

    Classes are matched by name when the data names them (an image folder, or a .npz with class_names):
    the same classes in another order are mapped, classes the model does not know are refused. Unnamed
    classes (0..K-1) are taken as the model's classes in its order.
    """
    if card.task != "classification":
        return y
    names, known = list(dataset.class_names), list(card.class_names)
    if len(y) and (int(np.min(y)) < 0 or int(np.max(y)) >= max(len(names), 1)):
        raise UserError(f"{option} {spec}: labels go from {int(np.min(y))} to {int(np.max(y))} but the data "
                        f"names {len(names)} classes")
    generic = names == [str(i) for i in range(len(names))]
    if not generic and names != known[:len(names)]:
        unknown = [n for n in names if n not in known]
        if unknown:
            shown = ", ".join(unknown[:5]) + (", ..." if len(unknown) > 5 else "")
            raise UserError(f"{option} {spec}: classes {shown} are not among the model's classes "
                            f"({', '.join(known[:12])}{', ...' if len(known) > 12 else ''}); "
                            "use data with the classes the model was trained on")
        return np.asarray([known.index(n) for n in names], np.int64)[np.asarray(y, np.int64)]
    if len(y) and int(np.max(y)) >= len(known):
        raise UserError(f"{option} {spec}: labels go up to {int(np.max(y))} but the model knows {len(known)} "
                        f"classes ({', '.join(known[:12])}{', ...' if len(known) > 12 else ''})")
    return y


def check_shape(card: ModelCard, x: np.ndarray, option: str, spec: str) -> None:
    """Array data must have the model's input shape; folder images are resized by the loader anyway, so a
    different colour depth there is only named in a warning."""
    want = (card.height, card.width, card.channels)
    got = tuple(int(v) for v in x.shape[1:])
    if got == want:
        return
    text = f"images are {'x'.join(map(str, got))}, the model takes {'x'.join(map(str, want))}"
    if Path(spec).is_dir() and got[:2] == want[:2]:
        log.warning("%s %s: %s; converting %s", option, spec, text,
                    "colour to gray" if want[2] == 1 else "gray to colour")
        return
    raise UserError(f"{option} {spec}: {text}; use data shaped like the model's training data "
                    "(edgetl does not resize or convert it silently)")


def evaluate(model_path: Path, data: str, split: str = "test", device: str = "cpu",
             trust_model: bool = False) -> dict:
    check_values(data)
    predict, card = load_predictor(Path(model_path), device, trust_model)
    same = data == card.training.get("data")  # the CSV it trained on: read with the same columns
    dataset = load_dataset(data, card.task, image_size=card.height,
                           csv_columns=card.training.get("csv") if same else None)
    if split not in dataset.splits and set(dataset.splits) == {"train"}:
        split = "train"
    x, y = dataset.split(split)
    y = model_labels(card, dataset, y, "--data", data)
    check_shape(card, x, "--data", data)
    outputs = predict_in_batches(predict, x, card)
    result = report(card.task, y, outputs, card.class_names)
    return {"model": str(model_path), "data": data, "split": split, **result}


def format_report(result: dict) -> str:
    lines = [f"{result['model']} on {result['data']} [{result['split']}], n={result['n']}"]
    if "accuracy" not in result:
        lines.append(f"MAE {result['mae']:.4f}  RMSE {result['rmse']:.4f}")
        return "\n".join(lines)
    lines.append(f"accuracy {result['accuracy']:.2%}")
    names = list(result["per_class"])
    width = max(8, max(len(n) for n in names) + 1)
    lines.append(f"{'class':<{width}} precision  recall  support")
    for name, m in result["per_class"].items():
        lines.append(f"{name:<{width}} {m['precision']:9.3f}  {m['recall']:6.3f}  {m['support']:7d}")
    lines.append("confusion (rows: true, columns: predicted)")
    cell = max(4, len(str(max(max(r) for r in result["confusion"]))) + 1)
    lines.append(" " * width + "".join(f"{n[:cell - 1]:>{cell}}" for n in names))
    for name, row in zip(names, result["confusion"]):
        lines.append(f"{name:<{width}}" + "".join(f"{v:>{cell}}" for v in row))
    return "\n".join(lines)
