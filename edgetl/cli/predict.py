"""The predict command (registered on the main app; imports nothing heavy until it runs)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer, friendly) -> None:
    @app.command()
    @friendly
    def predict(
        model: Path = typer.Argument(..., help="An .onnx file made by `edgetl export`."),
        src: str = typer.Argument(..., help="A folder (searched recursively), a glob ('photos/**/*.jpg'), a .csv with a path column or a .txt with one path per line."),
        out: Path = typer.Option(..., help="preds.jsonl or preds.parquet (Parquet needs the [scale] extra). Rows already there (same model) are skipped."),
        top_k: int = typer.Option(1, help="Labels (and scores) per image."),
        batch: int = typer.Option(64, help="Images per onnxruntime call."),
        overwrite: bool = typer.Option(False, help="Replace an --out whose rows came from another model."),
        ray: Optional[str] = typer.Option(None, help="Run on Ray Data: --ray alone starts a local Ray; --ray HOST:PORT, ray://HOST:10001 or auto joins a cluster."),
        workers: Optional[int] = typer.Option(None, help="With --ray: actors, each one onnxruntime session (default: one per CPU)."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
    ):
        """Predict every image of SRC with a model: one row per image (labels and scores, or the value)."""
        from edgetl.predict import PredictOptions, predict as run_prediction

        summary = run_prediction(model, src, out, PredictOptions(top_k=top_k, batch=batch, overwrite=overwrite,
                                                                ray=ray, workers=workers))
        if as_json:
            typer.echo(json.dumps(summary))
            return
        rate = f", {summary['images_per_s']} images/s" if summary["images_per_s"] else ""
        typer.echo(f"{summary['predicted']} predicted ({summary['errors']} unreadable), {summary['skipped_done']} "
                   f"already in {summary['out']}{rate} [{summary['engine']}]")


RAY_DEFAULT = "local"


def expand_bare_ray(argv: list[str]) -> list[str]:
    """`--ray` (predict) or `--features-on-ray` (train) given alone means a local Ray (click options cannot take
    an optional value)."""
    out = list(argv)
    for i, arg in enumerate(argv):
        follows = argv[i + 1] if i + 1 < len(argv) else ""
        if arg in ("--ray", "--features-on-ray") and not looks_like_address(follows):
            out.insert(i + 1 + (len(out) - len(argv)), RAY_DEFAULT)
    return out


def looks_like_address(text: str) -> bool:
    """auto, local, ray://HOST:PORT or HOST:PORT, and not a model or SRC path that happens to follow --ray."""
    host, _, port = text.split("://", 1)[-1].rpartition(":")
    return text in ("auto", "local") or "://" in text or (bool(host) and port.isdigit() and "/" not in host)
