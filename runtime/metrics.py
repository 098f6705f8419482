"""Classification and regression metrics in plain numpy (shared by train, export and evaluate)."""
from __future__ import annotations

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return cm


def classification_report(y_true, y_pred, class_names: list[str]) -> dict:
    """Accuracy, per-class precision/recall and the confusion matrix (rows: truth, columns: prediction)."""
    cm = confusion_matrix(y_true, y_pred, len(class_names))
    predicted = cm.sum(axis=0)
    actual = cm.sum(axis=1)
    diag = np.diag(cm)
    precision = np.divide(diag, predicted, out=np.zeros(len(diag)), where=predicted > 0)
    recall = np.divide(diag, actual, out=np.zeros(len(diag)), where=actual > 0)
    n = int(cm.sum())
    return {
        "accuracy": float(diag.sum() / n) if n else 0.0,
        "n": n,
        "per_class": {name: {"precision": float(p), "recall": float(r), "support": int(s)}
                      for name, p, r, s in zip(class_names, precision, recall, actual)},
        "confusion": cm.tolist(),
    }


def regression_report(y_true, y_pred) -> dict:
    y_true = np.asarray(y_true, np.float64).reshape(-1)
    y_pred = np.asarray(y_pred, np.float64).reshape(-1)
    err = y_pred - y_true
    return {"mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err ** 2).mean())), "n": int(len(y_true))}


def report(task: str, y_true, outputs: np.ndarray, class_names: list[str]) -> dict:
    """Metrics for model outputs: probabilities (classification) or values (regression)."""
    if task == "regression":
        return regression_report(y_true, outputs)
    return classification_report(y_true, np.argmax(outputs, axis=1), class_names)
