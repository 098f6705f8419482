"""Shared bits for the benchmark scripts: where runs go and how results are printed."""
from __future__ import annotations

import json
import platform
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs" / "bench"  # the benchmarked run: only edgetl's own files, so --overwrite may replace it
RESULTS = ROOT / "runs" / "bench-results"
CLIPS = ROOT / "runs" / "clips"


def machine() -> str:
    import os

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def table(title: str, rows: list[tuple[str, str]]) -> str:
    lines = [f"### {title}", "", "| measure | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines) + "\n"


def save(name: str, data: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2, default=str))
