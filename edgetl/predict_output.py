"""`edgetl predict`'s output: one row per image, as JSON Lines (standard library) or Parquet (pyarrow, in the
`scale` extra). Written whole through a temp file and a rename, so an interrupted run never leaves a torn file.

Row: path, labels and scores (top-k, classification) or value (regression), error (None when read), and
model_sha256, the model file's hash, so rows of another model are never mixed in.
"""
from __future__ import annotations

import json
from pathlib import Path

from edgetl.runtime._io import atomic_path
from edgetl.runtime.errors import UserError

FORMATS = (".jsonl", ".parquet")
FIELDS = ("path", "labels", "scores", "value", "error", "model_sha256")


def check_output(out: Path) -> None:
    if out.suffix.lower() not in FORMATS:
        raise UserError(f"--out {out}: name a .jsonl or .parquet file")
    if out.is_dir():
        raise UserError(f"--out {out}: is a folder; name a .jsonl or .parquet file")
    if out.suffix.lower() == ".parquet":
        pyarrow()


def pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise UserError("Parquet output needs pyarrow: pip install 'edgetl[scale]' (or write --out preds.jsonl)") \
            from None
    return pyarrow


def schema():
    pa = pyarrow()
    return pa.schema([("path", pa.string()), ("labels", pa.list_(pa.string())), ("scores", pa.list_(pa.float64())),
                      ("value", pa.float64()), ("error", pa.string()), ("model_sha256", pa.string())])


def read_rows(out: Path) -> list[dict]:
    """The rows an earlier run wrote (none when the file does not exist)."""
    if not out.is_file():
        return []
    try:
        if out.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            rows = pq.read_table(out).to_pylist()
        else:
            rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    except Exception as exc:  # not ours, or damaged by something else: never guess, never overwrite silently
        raise UserError(f"--out {out}: exists but is not an edgetl predict output ({type(exc).__name__}); "
                        "choose another name or pass --overwrite to replace it") from None
    if any(not isinstance(row, dict) or set(row) != set(FIELDS) for row in rows):
        raise UserError(f"--out {out}: exists but is not an edgetl predict output (other columns); "
                        "choose another name or pass --overwrite to replace it")
    return rows


def write_rows(out: Path, rows: list[dict]) -> None:
    with atomic_path(out) as tmp:
        if out.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            pq.write_table(pyarrow().Table.from_pylist(rows, schema=schema()), tmp)
        else:
            with open(tmp, "w", encoding="utf-8") as handle:
                for row in rows:
                    handle.write(json.dumps({k: row[k] for k in FIELDS}) + "\n")
