"""The run directory: written whole into a temp folder and renamed, read back with checks."""
from __future__ import annotations

import csv
import json
import logging
import os
import shutil
import zipfile
from pathlib import Path

from edgetl.plots import plot_confusion, plot_curves
from edgetl.runtime._io import current_umask, deferred_signals, is_temp_name, make_temp_dir, remove_stale, temp_path
from edgetl.runtime.card import ModelCard
from edgetl.runtime.errors import UserError

MODEL = "model.keras"
CARD = "card.json"

log = logging.getLogger(__name__)


# What edgetl writes into a run folder: train's artifacts, export's ONNX files and report.
RUN_FILES = {MODEL, CARD, "history.csv", "curves.png", "confusion.png", "metrics.json", "skipped.txt",
             "export.json", "benchmark.json"}
RUN_SUFFIXES = (".onnx",)


def run_problem(folder: Path) -> str | None:
    """None when ``folder`` is a previous edgetl run (only files edgetl writes); else why it is not."""
    if folder.is_symlink():
        return "is a symbolic link"
    foreign = sorted(p.name for p in folder.iterdir()
                     if not (is_temp_name(p.name)
                             or (p.is_file() and not p.is_symlink()
                                 and (p.name in RUN_FILES or p.name.endswith(RUN_SUFFIXES)))))
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        return f"holds files that edgetl did not write (e.g. {', '.join(foreign[:3])}{more})"
    if not (folder / MODEL).is_file() or not (folder / CARD).is_file():
        return f"is not an edgetl run (no {MODEL} and {CARD})"
    try:
        text = (folder / CARD).read_text()
        ModelCard.from_json(text, source=str(folder / CARD))
        if "edgetl_version" not in json.loads(text):
            raise UserError("no edgetl_version")
    except (UserError, OSError, ValueError, TypeError):
        return f"has a {CARD} that edgetl did not write"
    return None


def inside(path: Path, folder: Path) -> bool:
    """``path`` is ``folder`` or lies under it (both resolved)."""
    return path == folder or folder in path.parents


def check_out_dir(out: Path, overwrite: bool, data: str | None = None) -> None:
    """Refuse an --out that a run must not replace; create its parent.

    Never: the current folder or a parent of it, the home folder, the filesystem root, the --data folder
    (or a folder inside it or around it). An existing, non-empty folder only with --overwrite, and only
    when it is a previous edgetl run.
    """
    out = Path(out)
    remove_stale(out)  # a swap cut short by a kill: put the previous run back first
    where = out.resolve()
    cwd = Path.cwd().resolve()
    if where == Path(where.anchor):
        raise UserError(f"--out {out}: is the filesystem root; choose a new folder for the run")
    if where == Path.home().resolve():
        raise UserError(f"--out {out}: is your home folder; choose a new folder for the run")
    if inside(cwd, where):
        what = "the current folder" if where == cwd else "a parent of the current folder"
        raise UserError(f"--out {out}: is {what}; choose a new folder for the run, e.g. runs/NAME")
    if data and Path(data).exists():
        source = Path(data).resolve()
        if inside(where, source) or inside(source, where):
            relation = "is" if where == source else ("is inside" if inside(where, source) else "contains")
            raise UserError(f"--out {out}: {relation} the --data {data}; choose a folder outside the data")
    if out.is_symlink() and not out.is_dir():
        raise UserError(f"--out {out}: is a symbolic link; choose a new folder for the run")
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        problem = run_problem(out)
        if problem is not None:
            raise UserError(f"--out {out}: {problem}; refusing to replace it; choose another --out")
        if not overwrite:
            raise UserError(f"--out {out}: already holds a run; pass --overwrite to replace it, or another --out")
    parent = where.parent
    if not parent.exists():
        parent.mkdir(parents=True)


def write_run(out: Path, model, card: ModelCard, history: list[dict], metrics: dict, dataset, config) -> Path:
    """Write every artifact into a temp folder beside ``out``, then swap it in.

    The previous run (checked again: it may have changed during training) is renamed aside, the new one
    renamed in, and only then the old one deleted: a kill at any moment leaves a complete run, and a
    previous run set aside by a killed process is put back by the next check_out_dir.
    """
    out = Path(out)
    tmp = make_temp_dir(out)
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
        tmp.chmod(0o777 & ~current_umask())  # created 0700
        replace_dir(tmp, out, getattr(config, "overwrite", False))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def replace_dir(new: Path, out: Path, overwrite: bool) -> None:
    """Rename ``new`` to ``out``; an existing ``out`` must be an empty folder or (with overwrite) a run."""
    old = None
    try:
        with deferred_signals():  # Ctrl-C/SIGTERM wait until both renames are done
            if out.is_dir() and not out.is_symlink() and not any(out.iterdir()):
                out.rmdir()
            elif os.path.lexists(out):
                problem = run_problem(out) if out.is_dir() else "exists and is not a folder"
                if problem is None and not overwrite:
                    problem = "now holds a run"
                if problem is not None:
                    raise UserError(f"--out {out}: {problem} (it changed during training); refusing to replace it")
                old = temp_path(out, "old", keep_suffix=False)
                os.rename(out, old)
            try:
                os.rename(new, out)
            except BaseException:
                if old is not None:
                    os.rename(old, out)
                    old = None
                raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


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


def load_keras(path: Path, trust: bool = False):
    """Load a model we wrote: safe_mode on, Lambda and custom layers refused before deserialising.

    trust=True (`--trust-model`) is the user's explicit word that the file is theirs: safe_mode goes off,
    so a Lambda layer's pickled code runs. Custom classes still need to be importable by Keras.
    """
    from edgetl._deps import import_keras

    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, OSError) as exc:
        raise UserError(f"{path}: not a readable .keras model ({exc})") from None
    foreign = sorted({layer.get("class_name", "?") for layer in config.get("config", {}).get("layers", [])
                      if layer.get("class_name") == "Lambda" or layer.get("module") not in (None, "keras.layers")})
    if foreign and not trust:
        raise UserError(f"{path}: contains {', '.join(foreign)} layer(s); edgetl loads only models built from "
                        "built-in Keras layers (no Lambda or custom code); pass --trust-model only if you "
                        "wrote this file yourself (its code will run)")
    if foreign:
        log.warning("%s: --trust-model: loading %s layer(s) with safe_mode off; their code runs",
                    path, ", ".join(foreign))
    keras = import_keras()
    try:
        return keras.models.load_model(path, safe_mode=not trust, compile=False)
    except Exception as exc:
        raise UserError(f"{path}: could not load the model ({type(exc).__name__}: {exc})") from None


def load_run(path: Path, trust: bool = False):
    """(keras model, model card) from a run directory or .keras file; trust as in load_keras."""
    model_path, card_path = find_model(path)
    model = load_keras(model_path, trust)  # first: a foreign model is refused for what it is, card or not
    return model, ModelCard.load(card_path)
