"""The benchmark command (registered on the main app; imports nothing heavy until it runs)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from edgetl.benchmark_macs import model_bound_ms

COLUMNS = [("engine", "engine", None), ("status", "status", None), ("size_bytes", "MB", "mb"),
           ("accuracy", "acc %", "pct"), ("agreement", "agree %", "pct"), ("latency_p50_ms", "b1 p50 ms", "ms"),
           ("latency_p95_ms", "b1 p95 ms", "ms"), ("throughput_b32", "b32 img/s", "rate"),
           ("fps", "frames/s", "rate"), ("cold_start_s", "cold s", "s"), ("peak_rss_mb", "RSS MB", "rate")]


def cell(value, kind) -> str:
    if value is None:
        return "–"
    if kind == "mb":
        return f"{value / 1e6:.2f}"
    if kind == "pct":
        return f"{100 * value:.1f}"
    if kind == "ms":
        return f"{value:.2f}"
    if kind == "s":
        return f"{value:.1f}"
    if kind == "rate":
        return f"{value:.0f}"
    return str(value)


def status_cell(row: dict, notes: list[str]) -> str:
    """ok, or the status with a footnote number; the reasons are printed under the table."""
    if row["status"] == "ok":
        return "[green]ok[/]"
    if row["reason"] not in notes:
        notes.append(row["reason"])
    colour = "yellow" if row["status"] == "skipped" else "red"
    return f"[{colour}]{row['status']}[/] ({notes.index(row['reason']) + 1})"


def peak_line(report: dict) -> str:
    """The VNNI peak estimate and the int8 product measured here, beside onnxruntime int8's batch-1 time."""
    peak = report.get("vnni_peak") or {}
    if not peak.get("peak_ms"):
        return f"VNNI peak estimate: unavailable ({peak.get('reason', 'no fp32 model or no clock')})"
    int8 = next((r for r in report["rows"] if r["engine"] == "onnxruntime int8"), None)
    measured = int8 and int8.get("latency_p50_ms")
    ratio = f"; onnxruntime int8 b1 p50 {measured:.2f} ms = {measured / peak['peak_ms']:.2f}× the peak" \
        if measured else ""
    line = (f"VNNI peak estimate: {peak['macs'] / 1e6:.0f} M MACs / ({peak['cores']} cores × "
            f"{peak['macs_per_cycle_per_core']} int8 MACs/cycle × {peak['mhz'] / 1e3:.2f} GHz) = "
            f"{peak['peak_ms']:.2f} ms{ratio}")
    gemm = report.get("int8_gemm_peak") or {}
    bound = model_bound_ms(peak, gemm)
    if bound is None:
        return line + f"\nint8 product measured here: unavailable ({gemm.get('reason', 'not measured')})"
    ratio = f"; onnxruntime int8 b1 p50 = {measured / bound:.2f}× it" if measured else ""
    side = gemm["side"]
    return line + (f"\nint8 product measured here ({gemm['op']}, {side}x{side} by {side}x{side}, "
                   f"{gemm['threads']} threads): {gemm['macs_per_s'] / 1e9:.0f} G MACs/s, so this model's "
                   f"{peak['macs'] / 1e6:.0f} M MACs take at least {bound:.2f} ms{ratio}")


def render(report: dict) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    m = report["machine"]
    table = Table(title=f"edgetl benchmark: {report['model']}", box=box.SIMPLE_HEAD, pad_edge=False,
                  caption=f"{report['held_out']} held-out images of {report['data']}; {report['threads']} threads; "
                          f"{m['cpu']} ({m['cores']} cores, {m['mhz']} MHz, AVX-512 VNNI "
                          f"{'yes' if m['avx512_vnni'] else 'no'}, AMX {'yes' if m['amx_int8'] else 'no'})")
    columns = COLUMNS if report.get("task") != "regression" else \
        [("accuracy", "MAE", "ms") if key == "accuracy" else (key, t, k) for key, t, k in COLUMNS]
    for _, title, kind in columns:
        table.add_column(title, justify="left" if kind is None else "right", no_wrap=True)
    notes: list[str] = []
    for row in report["rows"]:
        table.add_row(*[status_cell(row, notes) if key == "status" else cell(row[key], kind)
                        for key, _, kind in columns])
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 160))  # piped: no wrapping of a wide table
    console.print(table)
    for number, note in enumerate(notes, 1):
        console.print(f"({number}) {note}", markup=False, highlight=False, soft_wrap=True)
    console.print(peak_line(report), highlight=False, soft_wrap=True)
    console.print(f"written: {report.get('file')}", highlight=False)


def register(app: typer.Typer, friendly) -> None:
    @app.command()
    @friendly
    def benchmark(
        source: Path = typer.Argument(..., help="A run directory (or its .keras), or an .onnx model."),
        data: Optional[str] = typer.Option(None, help="Held-out data spec (default: the run's data, split as export does)."),
        device: str = typer.Option("auto", help="auto, cpu, cuda or tensorrt: which onnxruntime GPU rows to add."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON instead of a table."),
        clip: Optional[Path] = typer.Option(None, help="A video for the stream row (decode + find + classify)."),
        threads: Optional[int] = typer.Option(None, help="Threads for every engine (default: all cores)."),
        seconds: float = typer.Option(2.0, help="Timing budget per measurement (batch 1, batch 32), warm-up excluded."),
        engines: Optional[str] = typer.Option(None, help="Comma-separated rows to keep (e.g. 'onnxruntime,tflite')."),
        out: Optional[Path] = typer.Option(None, help="Where benchmark.json goes (default: beside the model)."),
        trust_model: bool = typer.Option(False, "--trust-model", help="Load a .keras with Lambda or custom layers (safe_mode off: its code runs). Only for files you made."),
    ):
        """Every engine side by side: accuracy, latency, throughput, cold start, memory; writes benchmark.json."""
        from edgetl.benchmark import Options, benchmark as run_benchmark

        options = Options(data=data, device=device, threads=threads, seconds=seconds, clip=clip, out=out,
                          engines=[e.strip() for e in engines.split(",") if e.strip()] if engines else None,
                          trust_model=trust_model)
        report = run_benchmark(source, options)
        if as_json:
            typer.echo(json.dumps(report, indent=2))
        else:
            render(report)
