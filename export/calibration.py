"""Calibration samples for static quantization, fed through onnxruntime's CalibrationDataReader."""
from __future__ import annotations

import numpy as np
from onnxruntime.quantization import CalibrationDataReader

from edgetl.runtime.errors import UserError

MIN_CALIB = 16


class BatchReader(CalibrationDataReader):
    """Feeds a uint8 image array to the calibrator in small batches, with a rich progress bar."""

    def __init__(self, input_name: str, images: np.ndarray, batch: int = 32, description: str = "calibration"):
        self.input_name = input_name
        self.images = images
        self.batch = batch
        self.description = description
        self.position = 0
        self.bar = None

    def get_next(self):
        if self.bar is None:
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(console=Console(stderr=True))  # stdout stays clean for --json output
            self.bar.start()
            self.task = self.bar.add_task(self.description, total=len(self.images))
        if self.position >= len(self.images):
            self.bar.stop()
            return None
        chunk = self.images[self.position:self.position + self.batch]
        self.position += len(chunk)
        self.bar.update(self.task, advance=len(chunk))
        return {self.input_name: chunk}

    def rewind(self):
        self.position = 0
        self.bar = None


def check_count(x: np.ndarray, wanted: int) -> None:
    if len(x) < MIN_CALIB:
        raise UserError(f"calibration data has {len(x)} samples; need at least {MIN_CALIB} (asked for {wanted})")
