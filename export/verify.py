"""Verification: fp32 ONNX against Keras, and quantized against fp32, on held-out samples."""
from __future__ import annotations

import numpy as np

from edgetl.runtime.metrics import report

PARITY_TOLERANCE = 1e-4


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def parity_diff(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Largest difference relative to the outputs' scale (never below 1): probabilities are compared as they
    are, while a regression value in the thousands may differ in float32's last digits."""
    scale = max(1.0, float(np.max(np.abs(np.asarray(reference, np.float64)))) if np.size(reference) else 1.0)
    return max_abs_diff(reference, candidate) / scale


def compare(task: str, reference: np.ndarray, candidate: np.ndarray, y: np.ndarray, class_names: list[str]) -> dict:
    """How a quantized model's outputs differ from the float model's on labelled held-out data."""
    if task == "regression":
        ref, cand = report(task, y, reference, class_names), report(task, y, candidate, class_names)
        change = cand["mae"] - ref["mae"]
        return {"mae_before": ref["mae"], "mae_after": cand["mae"], "mae_change": change,
                "mae_change_pct": 100.0 * change / max(ref["mae"], 1e-12), "n": int(len(y))}
    before = report(task, y, reference, class_names)["accuracy"]
    after = report(task, y, candidate, class_names)["accuracy"]
    agreement = float(np.mean(np.argmax(reference, 1) == np.argmax(candidate, 1)))
    return {"accuracy_before": before, "accuracy_after": after, "drop_pts": round(100 * (before - after), 3),
            "top1_agreement": agreement, "max_abs_diff": max_abs_diff(reference, candidate), "n": int(len(y))}


def drop_of(task: str, comparison: dict) -> float:
    """The figure --max-drop is checked against: accuracy points, or for regression the MAE's increase in percent
    of the float model's MAE (a value in any unit: a price in the thousands or a fraction)."""
    return comparison["mae_change_pct"] if task == "regression" else comparison["drop_pts"]
