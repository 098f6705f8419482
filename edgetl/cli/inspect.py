"""The inspect command (registered on the main app; imports nothing heavy until it runs)."""
from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer, friendly) -> None:
    @app.command()
    @friendly
    def inspect(
        model: Path = typer.Argument(..., help="A run directory, .keras or .onnx file."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
        trust_model: bool = typer.Option(False, "--trust-model", help="Load a .keras with Lambda or custom layers (safe_mode off: its code runs). Only for files you made."),
    ):
        """The model card, the layers (trainable or frozen, parameters) or ONNX operators, input contract, size."""
        from edgetl.inspect import format_report, inspect_model, to_json

        info = inspect_model(model, trust_model)
        typer.echo(to_json(info) if as_json else format_report(info))
