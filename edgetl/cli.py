"""The edgetl command line: a thin typer layer over train, evaluate, export and run."""
from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sys
import traceback
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from edgetl import __version__
from edgetl.runtime.errors import UserError

err = Console(stderr=True)
USAGE_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


def one_line(text: str) -> str:
    """A message on one line: newlines (a library's multi-line text) folded into spaces."""
    return " ".join(str(text).split())


class UsageErrorsOnOneLine(TyperGroup):
    """Usage errors (a bad option value, an unknown option or command) as one ``error:`` line and exit 2,
    like every other user mistake, instead of click's usage text and rich's error panel."""

    def make_context(self, *args, **kwargs):
        with usage_errors_on_one_line():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with usage_errors_on_one_line():
            return super().invoke(ctx)


@contextlib.contextmanager
def usage_errors_on_one_line():
    try:
        yield
    except USAGE_ERROR as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `edgetl` alone prints the help
            raise
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        err.print("[bold red]error:[/] " + escape(one_line(exc.format_message()) + hint), highlight=False,
                  soft_wrap=True)
        raise typer.Exit(2) from None


app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  cls=UsageErrorsOnOneLine,
                  help="Train a pretrained backbone on your images, export it to a quantized ONNX model, run it live.")


class Task(str, Enum):
    classification = "classification"
    regression = "regression"


class Fit(str, Enum):
    resize = "resize"
    pad = "pad"


# What an OSError or an interruption leaves behind, per command: said only where it is true.
AFTER_OSERROR = {
    "train": "; nothing partial was written (any previous run is unchanged)",
    "export": "; nothing partial was written (previous files kept)",
}
AFTER_INTERRUPT = {
    "train": "interrupted; previous files kept",
    "export": "interrupted; previous files kept",
    "run": "interrupted before the stream started; nothing written",
    "predict": "interrupted; the rows finished so far are in --out (run the same command again to go on)",
}
DEBUG = {"on": False}


def pass_through() -> tuple[type, ...]:
    kinds: list[type] = [typer.Exit, typer.Abort]
    try:  # typer >= 0.2x vendors click; older typer uses click's exceptions
        from typer.exceptions import TyperException
        kinds.append(TyperException)
    except ImportError:
        pass
    try:
        import click
        kinds.append(click.ClickException)
    except ImportError:
        pass
    return tuple(kinds)


PASS_THROUGH = pass_through()


def debugging() -> bool:
    return DEBUG["on"] or os.environ.get("EDGETL_DEBUG", "") not in ("", "0")


def friendly(fn):
    """Bad input becomes one line on stderr and exit code 2; Ctrl-C exits 130, SIGTERM 143 (both run the
    cleanup); a bug is one line and exit code 1, with the traceback only under --debug or EDGETL_DEBUG=1."""
    command = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from edgetl.runtime._io import exit_code, signal_handlers

        try:
            with signal_handlers():
                return fn(*args, **kwargs)
        except UserError as exc:
            if debugging():
                err.print(traceback.format_exc(), highlight=False, markup=False, soft_wrap=True)
            err.print(f"[bold red]error:[/] " + escape(one_line(exc)), highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except OSError as exc:  # disk full, read-only or unwritable location
            if debugging():
                err.print(traceback.format_exc(), highlight=False, markup=False, soft_wrap=True)
            where = f"{exc.filename}: " if exc.filename else ""
            err.print(f"[bold red]error:[/] " + escape(one_line(f"{where}{exc.strerror or exc}"
                                                                 f"{AFTER_OSERROR.get(command, '')}")),
                      highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM via signal_handlers
            err.print(AFTER_INTERRUPT.get(command, "interrupted"), highlight=False, soft_wrap=True)
            raise typer.Exit(exit_code(exc)) from None
        except PASS_THROUGH:  # typer's own exits and usage errors
            raise
        except Exception as exc:
            from edgetl.runtime._io import caused_by_signal

            signum = caused_by_signal(exc)
            if signum is not None:  # Ctrl-C inside a module's import surfaces as ImportError
                err.print(AFTER_INTERRUPT.get(command, "interrupted"), highlight=False, soft_wrap=True)
                raise typer.Exit(128 + signum) from None
            if debugging():
                err.print(traceback.format_exc(), highlight=False, markup=False, soft_wrap=True)
            message = one_line(exc)
            message = message if len(message) <= 300 else message[:297] + "..."
            err.print(f"[bold red]error:[/] " + escape(f"internal error ({type(exc).__name__}: {message}); this is "
                      f"a bug in edgetl {__version__}, please report it with --debug output"),
                      highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def version_callback(value: bool):
    if value:
        typer.echo(f"edgetl {__version__}")
        raise typer.Exit()


@app.callback()
def root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
         debug: bool = typer.Option(False, "--debug", help="Tracebacks for internal errors (or EDGETL_DEBUG=1)."),
         version: bool = typer.Option(False, "--version", callback=version_callback, is_eager=True,
                                      help="Print the version and exit.")):
    DEBUG["on"] = debug
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s",
                        handlers=[RichHandler(console=err, show_path=False, show_time=False)])


@app.command()
@friendly
def train(
    data: str = typer.Option("mnist-5k", help="mnist-5k (embedded), mnist, fashion-mnist, a .npz file, a .csv with filename and class (or value) columns, or an image folder."),
    out: Path = typer.Option(Path("runs/train"), help="Run directory to create."),
    task: Task = typer.Option(Task.classification, help="classification or regression (a .npz with x, y values)."),
    backbone: str = typer.Option("vgg16", help="vgg16, inceptionv3 (>= 75 px), mobilenetv2, efficientnetb0 or resnet50 (>= 32 px); each brings its own preprocessing, --feature-layer choices and default head."),
    weights: str = typer.Option("imagenet", help="imagenet (download), hed-bsds500 (packaged, offline), none, or a weights .h5 path."),
    input_size: Optional[int] = typer.Option(None, help="Side the backbone sees (at least the backbone's minimum: 32 px, 75 for inceptionv3). Default: 48 for images up to 32 px, else the image size (128 for folders and CSVs)."),
    fit: Fit = typer.Option(Fit.resize, help="How smaller images reach --input-size: resize (upsample) or pad."),
    feature_layer: Optional[str] = typer.Option(None, help="Cut the backbone after this layer (`edgetl inspect` lists them; a bad name lists the valid ones). Default: the backbone's output; for vgg16 block3_pool up to 64 px, else block5_pool."),
    units: Optional[int] = typer.Option(None, help="Dense units in the head; 0: linear head. Default: the backbone's own (inceptionv3 1024, mobilenetv2/efficientnetb0/resnet50 256); vgg16 0 up to 64 px, else 256."),
    dropout: float = typer.Option(0.3, help="Dropout before the head's output layer."),
    epochs: int = typer.Option(40, help="Head epochs (early stopping on validation loss)."),
    lr: float = typer.Option(1e-3, help="Head learning rate (Adam)."),
    batch_size: int = typer.Option(64),
    freeze: Optional[int] = typer.Option(None, help="Keep the first N backbone layers frozen and fine-tune the rest after the head (VGG16 tutorials: 15 with the input layer, i.e. 14 here; a value too large says which freezes everything)."),
    fine_tune_epochs: int = typer.Option(8),
    fine_tune_lr: float = typer.Option(1e-5),
    augment: int = typer.Option(3, help="Randomly transformed copies of the training set, computed once through the frozen layers."),
    val_split: float = typer.Option(0.1, help="Stratified, shuffled validation fraction (when the data has no val split)."),
    limit: Optional[int] = typer.Option(None, help="Train on a stratified subset of N samples."),
    desk: Optional[float] = typer.Option(None, min=0.0, max=5.0, help="Digit data: training digits written on generated desk pages (grid/ruled paper, coloured ink, dim light, tilt, blur) and cut out by the runtime's digit finder, as a fraction of the training set."),
    styles: Optional[float] = typer.Option(None, min=0.0, max=5.0, help="Digit data: synthetic digits in other writing styles, added as a fraction of the training set (0 turns it off; default: edgetl's measured choice)."),
    reject: bool = typer.Option(True, "--reject/--no-reject", help="Digit data: learn a 'not a digit' class from generated clutter (grid crossings, line pieces, smudges), applied by edgetl run."),
    seed: int = typer.Option(0),
    overwrite: bool = typer.Option(False, help="Replace an existing run in --out."),
    x_col: Optional[str] = typer.Option(None, help="--data x.csv: the column of image files (default: filename, path, file, image or id)."),
    y_col: Optional[str] = typer.Option(None, help="--data x.csv: the column of classes (default: class, label or category) or, for regression, values (value, target, price or y)."),
    image_root: Optional[Path] = typer.Option(None, help="--data x.csv: the folder its file names are relative to (default: the CSV's own folder)."),
    features_on_ray: Optional[str] = typer.Option(None, help="Run the frozen layers over the images as Ray actors: alone, a local Ray; HOST:PORT, ray://HOST:10001 or auto joins a cluster ([scale] extra)."),
    distribute: Optional[str] = typer.Option(None, help="mirrored: train on every visible GPU with tf.distribute.MirroredStrategy (--batch-size per GPU)."),
):
    """Fine-tune a pretrained backbone (frozen base, new head) on your images."""
    from edgetl.config import TrainConfig
    from edgetl.model import HeadConfig
    from edgetl.train import train as run_training

    config = TrainConfig(data=data, out=out, task=task.value, backbone=backbone, weights=weights,
                         input_size=input_size, fit=fit.value, feature_layer=feature_layer,
                         head=HeadConfig(units=units, dropout=dropout), epochs=epochs, lr=lr,
                         batch_size=batch_size, freeze=freeze, fine_tune_epochs=fine_tune_epochs,
                         fine_tune_lr=fine_tune_lr, augment=augment, val_split=val_split, limit=limit, reject=reject,
                         **{k: v for k, v in (("styles", styles), ("desk", desk)) if v is not None},
                         seed=seed, overwrite=overwrite, distribute=distribute,
                         features_on_ray=features_on_ray,
                         csv_columns={k: str(v) for k, v in (("x_col", x_col), ("y_col", y_col),
                                                             ("image_root", image_root)) if v} or None)
    run = run_training(config)
    metrics = json.loads((run / "metrics.json").read_text())
    for split in ("val", "test"):
        if split in metrics:
            err.print(f"{split}: " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                                                  for k, v in metrics[split].items() if k in ("accuracy", "mae", "n")))
    typer.echo(str(run))


@app.command()
@friendly
def evaluate(
    model: Path = typer.Argument(..., help="A run directory, a .keras file or an .onnx file."),
    data: str = typer.Option(..., help="Dataset spec, as for train."),
    split: str = typer.Option("test", help="Split to evaluate; falls back to train when the data has only that."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    device: str = typer.Option("cpu", help="For .onnx: auto, cpu, cuda or tensorrt."),
    trust_model: bool = typer.Option(False, "--trust-model", help="Load a .keras with Lambda or custom layers (safe_mode off: its code runs). Only for files you made."),
):
    """Accuracy, per-class precision and recall and a confusion matrix on a dataset split."""
    from edgetl.evaluate import evaluate as run_evaluation, format_report

    result = run_evaluation(model, data, split, device=device, trust_model=trust_model)
    typer.echo(json.dumps(result) if as_json else format_report(result))


from edgetl import cli_benchmark, cli_export, cli_inspect, cli_predict, cli_run  # noqa: E402  (registers those commands)

cli_export.register(app, friendly)
cli_benchmark.register(app, friendly)
cli_inspect.register(app, friendly)
cli_predict.register(app, friendly)
cli_run.register(app, friendly)


QUANTIZE_CHOICES = ("int8", "fp16")


def expand_bare_quantize(argv: list[str]) -> list[str]:
    """`--quantize` given alone means int8 (click options cannot take an optional value)."""
    out = list(argv)
    for i, arg in enumerate(argv):
        if arg == "--quantize" and (i + 1 == len(argv) or argv[i + 1] not in QUANTIZE_CHOICES):
            out.insert(i + 1 + (len(out) - len(argv)), "int8")
    return out


def main():
    app(args=cli_predict.expand_bare_ray(expand_bare_quantize(sys.argv[1:])), prog_name="edgetl")


if __name__ == "__main__":
    sys.exit(main())
