"""A CSV of image files and labels, as Keras's flow_from_dataframe reads it (the InceptionV3 tutorial's
`train.csv`): a file-name column and a class column (or a number column for regression). Paths are relative
to the CSV's own folder. Rows that cannot be used are reported with their line numbers and skipped."""
from __future__ import annotations

import csv
import logging
import math
from pathlib import Path

import numpy as np

from edgetl.runtime.errors import UserError
from edgetl.runtime.images import is_gray, read_image

from . import Dataset
from .lazy import ImageFiles

log = logging.getLogger(__name__)
FILE_COLUMNS = ("filename", "path", "file", "image", "id")
LABEL_COLUMNS = {"classification": ("class", "label", "category"), "regression": ("value", "target", "price", "y")}
SHOWN = 5  # skipped rows named in the summary line


def pick(columns: list[str], wanted: tuple[str, ...], what: str, path: Path) -> str:
    found = next((c for c in wanted if c in columns), None)
    if found is None:
        raise UserError(f"{path}: no {what} column (looked for {', '.join(wanted)}; it has "
                        f"{', '.join(columns) or 'no header'}); rename the column")
    return found


def read_rows(path: Path, task: str, x_col: str | None = None,
              y_col: str | None = None) -> tuple[list[tuple[int, str, str]], list[tuple[str, str]], int]:
    """([(line, file, label)], skipped [(where, why)], data rows) from the CSV."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{path}: not a readable CSV file ({exc})") from None
    if not rows:
        raise UserError(f"{path}: empty; expected a header such as filename,class")
    header = [c.strip().lower() for c in rows[0]]
    file_col = header.index(pick(header, (x_col.lower(),) if x_col else FILE_COLUMNS, "file name", path))
    label_col = header.index(pick(header, (y_col.lower(),) if y_col else LABEL_COLUMNS[task],
                                  "label" if task == "classification" else "value", path))
    good, skipped, count = [], [], 0
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        count += 1
        if len(row) != len(header):
            skipped.append((f"line {line}", f"{len(row)} fields, the header has {len(header)}"))
        elif not row[file_col].strip() or not row[label_col].strip():
            skipped.append((f"line {line}", "empty file name or label"))
        else:
            good.append((line, row[file_col].strip(), row[label_col].strip()))
    return good, skipped, count


def as_value(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def load_csv(path: Path, task: str, size: int, columns: dict | None = None) -> Dataset:
    """``columns``: {"x_col", "y_col", "image_root"} where the defaults do not fit (None: found by name;
    paths relative to the CSV's folder)."""
    columns = columns or {}
    rows, skipped, total = read_rows(path, task, columns.get("x_col"), columns.get("y_col"))
    root = Path(columns["image_root"]) if columns.get("image_root") else path.parent
    if not root.is_dir():
        raise UserError(f"--image-root {root}: no such folder")
    files, colour, labels = [], [], []
    for line, name, label in rows:
        file = Path(name) if Path(name).is_absolute() else root / name
        value = as_value(label) if task == "regression" else label
        if value is None:
            skipped.append((f"line {line}", f"{label!r} is not a number"))
            continue
        image = read_image(file) if file.is_file() else None
        if image is None:
            skipped.append((f"line {line}", f"{'missing' if not file.is_file() else 'unreadable'} file {name}"))
            continue
        files.append(str(file))
        colour.append(not is_gray(image))  # decoded once to check it; read again a batch at a time
        labels.append(value)
    skipped.sort(key=lambda item: int(item[0].split()[1]))  # by line number
    if skipped:
        shown = ", ".join(f"{where} {why}" for where, why in skipped[:SHOWN])
        more = f", and {len(skipped) - SHOWN} more" if len(skipped) > SHOWN else ""
        log.warning("%s: skipped %d of %d rows: %s%s", path, len(skipped), total, shown, more)
    if not files:
        raise UserError(f"{path}: no usable rows ({len(skipped)} skipped); first: "
                        f"{skipped[0][0]} {skipped[0][1]}" if skipped else f"{path}: no rows after the header")
    gray = not any(colour)
    x = ImageFiles(files, size, size, 1 if gray else 3)
    if task == "regression":
        return Dataset(path.name, {"train": (x, np.asarray(labels, np.float32))}, ["value"],
                       "gray" if gray else "bgr")
    names = sorted(set(labels))
    if len(names) < 2:
        raise UserError(f"{path}: every usable row is class {names[0]!r}; a classifier needs at least 2 classes")
    y = np.asarray([names.index(label) for label in labels], np.int64)
    return Dataset(path.name, {"train": (x, y)}, names, "gray" if gray else "bgr")
