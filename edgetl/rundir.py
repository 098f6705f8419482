"""The run directory: written whole into a temp folder and renamed, read back with checks."""
from __future__ import annotations

import csv
import json
import shutil
import tempfile
import zipfile
from pathlib import Path

from edgetl.plots import plot_confusion, plot_curves
from edgetl.runtime._io import current_umask
from edgetl.runtime.card import ModelCard
from edgetl.runtime.errors import UserError

MODEL = "model.keras"
CARD = "card.json"


def check_out_dir(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise UserError(f"--out {out}: already holds files (a previous run?); pass --overwrite or another --out")
    parent = out.resolve().parent
    if not parent.exists():
        parent.mkdir(parents=True)


def write_run(out: Path, model, card: ModelCard, history: list[dict], metrics: dict, dataset, config) -> Path:
    """Write every artifact into a temp folder beside ``out``, then swap it in."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.resolve().parent))
    try:
        model.save(tmp / MODEL)
        card.save(tmp / CARD)
        write_history(history, tmp / "history.csv")
        plot_curves(history, tmp / "curves.png")
        split = "test" if "test" in metrics else "val"
        if card.task == "classification":
            plot_confusion(metrics[split]["confusion"], card.class_names, tmp / "confusion.png",
                           f"{split}: accuracy {metrics[split]['accuracy']:.2%}")
        (tmp / "metrics.json").write_text(json.dumps({**metrics, "config": config.to_dict()}, indent=2) + "\n")
        if dataset.skipped:
            (tmp / "skipped.txt").write_text("".join(f"{p}\t{r}\n" for p, r in dataset.skipped))
        tmp.chmod(0o777 & ~current_umask())  # mkdtemp creates 0700
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def write_history(history: list[dict], path: Path) -> None:
    keys = list(dict.fromkeys(k for row in history for k in row))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(history)


def find_model(path: Path) -> tuple[Path, Path]:
    """(model.keras, card.json) for a run directory or a .keras file beside its card."""
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if path.is_dir():
        model = path / MODEL
        if not model.is_file():
            raise UserError(f"{path}: not an edgetl run directory (no {MODEL}); pass the --out of `edgetl train`")
        return model, path / CARD
    if path.suffix == ".h5":
        raise UserError(f"{path}: legacy .h5 full models are refused (they can carry arbitrary code and "
                        "lack a model card); train with edgetl or pass a run directory")
    if path.suffix != ".keras":
        raise UserError(f"{path}: expected a run directory, a .keras file or an .onnx file")
    return path, path.parent / CARD


def load_keras(path: Path):
    """Load a model we wrote: safe_mode on, Lambda and custom layers refused before deserialising."""
    from edgetl._deps import import_keras

    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, OSError) as exc:
        raise UserError(f"{path}: not a readable .keras model ({exc})") from None
    foreign = sorted({layer.get("class_name", "?") for layer in config.get("config", {}).get("layers", [])
                      if layer.get("class_name") == "Lambda" or layer.get("module") not in (None, "keras.layers")})
    if foreign:
        raise UserError(f"{path}: contains {', '.join(foreign)} layer(s); edgetl loads only models built from "
                        "built-in Keras layers (no Lambda or custom code)")
    keras = import_keras()
    try:
        return keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:
        raise UserError(f"{path}: could not load the model ({type(exc).__name__}: {exc})") from None


def load_run(path: Path):
    """(keras model, model card) from a run directory or .keras file."""
    model_path, card_path = find_model(path)
    model = load_keras(model_path)  # first: a foreign model is refused for what it is, card or not
    return model, ModelCard.load(card_path)
