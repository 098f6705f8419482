"""The evaluate command (registered on the main app; imports nothing heavy until it runs)."""
from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer, friendly) -> None:
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
