"""Train on mnist-5k with the packaged VGG16 weights; accuracy on held-out digits, time, caching speed-up.

    python bench/train_mnist.py            # full run (the README figures) + 100-sample run + caching timing
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np

from _common import RUNS, machine, save, table
from edgetl._deps import import_keras
from edgetl.config import TrainConfig
from edgetl.data import load_dataset
from edgetl.evaluate import evaluate
from edgetl.train import train


def timed_train(out, **kwargs) -> tuple[dict, float]:
    start = time.perf_counter()
    run = train(TrainConfig(data="mnist-5k", weights="hed-bsds500", out=out, overwrite=True, **kwargs))
    return json.loads((run / "metrics.json").read_text()), time.perf_counter() - start


def full_mnist_accuracy(run) -> str:
    """Real MNIST's 10,000 test digits when keras.datasets can reach them (users with internet)."""
    try:
        return f"{evaluate(run, 'mnist', 'test')['accuracy']:.2%}"
    except Exception:  # offline: keras.datasets cannot download it
        return "not measured: needs internet for keras.datasets (offline here)"


def caching_speedup(run) -> tuple[float, float, float]:
    """Seconds per epoch: plain model.fit through the frozen backbone vs the head on cached features."""
    from edgetl.rundir import load_run

    keras = import_keras()
    model, _ = load_run(run)
    x, y = load_dataset("mnist-5k").split("train")
    x, y = x[:3600], y[:3600]
    cut = next(i for i, layer in enumerate(model.layers) if layer.name == "feature_norm")
    for i, layer in enumerate(model.layers):
        layer.trainable = i >= cut
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x[:64], y[:64], epochs=1, verbose=0)  # build and trace
    start = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)
    plain = time.perf_counter() - start
    head_in = keras.Input(model.layers[cut].input.shape[1:])
    h = head_in
    for layer in model.layers[cut:]:
        h = layer(h)
    head = keras.Model(head_in, h)
    head.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    feats = np.random.default_rng(0).normal(size=(len(x),) + tuple(head_in.shape[1:])).astype(np.float32)
    head.fit(feats[:64], y[:64], epochs=1, verbose=0)
    start = time.perf_counter()
    head.fit(feats, y, epochs=1, batch_size=64, verbose=0)
    cached = time.perf_counter() - start
    return plain, cached, plain / cached


def main() -> None:
    metrics, seconds = timed_train(RUNS)
    small, small_seconds = timed_train(RUNS.parent / "bench-limit100", limit=100)
    plain, cached, speedup = caching_speedup(RUNS)
    rows = [
        ("machine", machine()),
        ("held-out mnist-5k test digits (never trained on)", f"{metrics['test']['accuracy']:.2%} (n={metrics['test']['n']})"),
        ("validation split", f"{metrics['val']['accuracy']:.2%} (n={metrics['val']['n']})"),
        ("real MNIST test set (10,000)", full_mnist_accuracy(RUNS)),
        ("train wall time, whole command", f"{seconds:.0f} s"),
        ("`--limit 100` (100 digits) held-out accuracy", f"{small['test']['accuracy']:.2%} in {small_seconds:.0f} s"),
        ("epoch through frozen backbone (plain model.fit)", f"{plain:.1f} s"),
        ("epoch on cached frozen features", f"{cached:.2f} s ({speedup:.0f}x faster)"),
    ]
    save("train", {"rows": rows})
    print(table("edgetl train --data mnist-5k --weights hed-bsds500", rows))


if __name__ == "__main__":
    sys.exit(main())
