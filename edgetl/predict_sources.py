"""What `edgetl predict` reads: SRC as a folder (searched recursively), a glob, a CSV of paths or a text file
of paths, listed (not opened) in a stable order. Missing files stay in the list: they become error rows."""
from __future__ import annotations

import csv
import glob
from pathlib import Path

from edgetl.runtime.errors import UserError
from edgetl.runtime.images import IMAGE_SUFFIXES

PATH_COLUMNS = ("path", "filename", "file", "image")


def list_images(src: str) -> list[str]:
    path = Path(src)
    if path.is_dir():
        return sorted(str(p) for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if any(ch in src for ch in "*?["):
        return sorted(p for p in glob.glob(src, recursive=True) if Path(p).suffix.lower() in IMAGE_SUFFIXES)
    if path.is_file() and path.suffix.lower() == ".csv":
        return paths_from_csv(path)
    if path.is_file() and path.suffix.lower() == ".txt":
        return paths_from_text(path)
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        return [str(path)]
    if not path.exists():
        raise UserError(f"SRC {src}: no such folder or file; give a folder of images, a glob such as "
                        "'photos/**/*.jpg', a .csv with a path column or a .txt with one path per line")
    raise UserError(f"SRC {src}: not a folder, image, .csv or .txt list of images")


def resolve(entry: str, base: Path) -> str:
    """A listed path as given when absolute, else relative to the list's own folder."""
    path = Path(entry)
    return str(path if path.is_absolute() else base / path)


def paths_from_csv(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in reader.fieldnames or []]
        column = next((c for c in PATH_COLUMNS if c in columns), None)
        if column is None:
            raise UserError(f"{path}: no column named {' or '.join(PATH_COLUMNS)} (it has: "
                            f"{', '.join(columns) or 'no header'}); name the column of image paths 'path'")
        rows = [{k.strip(): v for k, v in row.items() if k is not None} for row in reader]
    return [resolve(row[column].strip(), path.parent) for row in rows if (row.get(column) or "").strip()]


def paths_from_text(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [resolve(line, path.parent) for line in lines if line and not line.startswith("#")]
