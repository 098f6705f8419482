"""edgetl evaluate: a trained or exported model on a dataset split."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edgetl.data import load_dataset
from edgetl.runtime.card import ModelCard
from edgetl.runtime.errors import UserError
from edgetl.runtime.images import fit_batch
from edgetl.runtime.metrics import report


def load_predictor(path: Path, device: str = "cpu") -> tuple[callable, ModelCard]:
    """(predict(uint8 batch) -> outputs, card) for a run directory, .keras or .onnx file."""
    if path.suffix == ".onnx":
        from edgetl.runtime.model import Model

        model = Model(path, device=device)
        return model.predict_batch, model.card
    from edgetl.rundir import load_run
    from edgetl.train import predict

    keras_model, card = load_run(path)
    return (lambda x: predict(keras_model, x)), card


def evaluate(model_path: Path, data: str, split: str = "test", device: str = "cpu") -> dict:
    predict, card = load_predictor(Path(model_path), device)
    dataset = load_dataset(data, card.task, image_size=card.height)
    if split not in dataset.splits and set(dataset.splits) == {"train"}:
        split = "train"
    x, y = dataset.split(split)
    if card.task == "classification" and int(np.max(y)) >= len(card.class_names):
        raise UserError(f"--data {data}: labels go up to {int(np.max(y))} but the model knows "
                        f"{len(card.class_names)} classes")
    x = fit_batch(x, card.height, card.width, card.channels)
    outputs = predict(x)
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
