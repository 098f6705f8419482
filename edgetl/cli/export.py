"""The export command (registered on the main app; imports nothing heavy until it runs)."""
from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from edgetl.export.choices import CALIB_METHODS


CalibMethod = Enum("CalibMethod", {method: method for method in CALIB_METHODS}, type=str)


def register(app: typer.Typer, friendly) -> None:
    @app.command()
    @friendly
    def export(
        source: Path = typer.Argument(..., help="A run directory (or .keras file), or an .onnx file to quantize."),
        quantize: Optional[str] = typer.Option(None, "--quantize", help="int8 (the default when given alone) or fp16."),
        calib_data: Optional[str] = typer.Option(None, help="Calibration/held-out data spec (default: the run's data)."),
        calib_size: int = typer.Option(256, help="Calibration samples, spread over the classes."),
        calib_method: CalibMethod = typer.Option(CalibMethod.minmax, help="Activation range estimation."),
        opset: int = typer.Option(17, help="ONNX opset."),
        max_drop: float = typer.Option(1.0, help="Largest int8 accuracy drop allowed, in points (regression: the MAE's rise, in percent of the float model's MAE)."),
        out: Optional[Path] = typer.Option(None, help="Output folder (default: the run directory)."),
        trust_model: bool = typer.Option(False, "--trust-model", help="Load a .keras with Lambda or custom layers (safe_mode off: its code runs). Only for files you made."),
        prune: bool = typer.Option(True, "--prune/--no-prune", help="Leave out channels that are zero on every calibration image (checked on held-out data)."),
    ):
        """Export to ONNX with the model card inside; --quantize to int8 (verified) or fp16."""
        from edgetl.exporting import ExportOptions, export as run_export

        options = ExportOptions(quantize=quantize, calib_data=calib_data, calib_size=calib_size,
                                calib_method=calib_method.value, opset=opset, max_drop=max_drop, out=out,
                                trust_model=trust_model, prune=prune)
        report = run_export(source, options)
        typer.echo(json.dumps(report["files"], indent=2))
