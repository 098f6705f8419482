"""`edgetl train --distribute mirrored`: every layer that trains (the head, then the fine-tuned top of the
backbone) and the frozen prefix's feature pass run under ``tf.distribute.MirroredStrategy``, one replica
per visible GPU, gradients summed across replicas each step.

``--batch-size`` stays the batch of one replica, as in TensorFlow's distributed-training guide: the global
batch is ``--batch-size x replicas``, so each GPU keeps the load it had alone.

A machine without GPUs gets one CPU replica (and a warning). ``EDGETL_CPU_REPLICAS=N`` splits the CPU into
N logical devices instead, so the multi-replica code path can be checked where there is no GPU (the tests
do); it gives no speed-up.
"""
from __future__ import annotations

import contextlib
import logging
import os

from edgetl.runtime.errors import UserError

log = logging.getLogger(__name__)

STRATEGIES = ("mirrored",)
CPU_REPLICAS_ENV = "EDGETL_CPU_REPLICAS"


def check_strategy(name: str | None) -> None:
    if name is not None and name not in STRATEGIES:
        raise UserError(f"--distribute {name}: valid: {', '.join(STRATEGIES)} (leave it out to train on one device)")
    if name is not None and os.environ.get(CPU_REPLICAS_ENV) is not None:
        cpu_replicas()


def cpu_replicas() -> int:
    value = os.environ.get(CPU_REPLICAS_ENV, "")
    if not value.isdigit() or not 1 <= int(value) <= 64:
        raise UserError(f"{CPU_REPLICAS_ENV}={value!r}: must be a whole number from 1 to 64 (logical CPU replicas)")
    return int(value)


def make_strategy(name: str | None):
    """The tf.distribute strategy for ``--distribute``, or None. Must run before TensorFlow places any op."""
    if name is None:
        return None
    check_strategy(name)
    from edgetl._deps import require

    tf = require("tensorflow", "training")

    gpus = tf.config.list_physical_devices("GPU")
    devices = None  # MirroredStrategy's default: every visible GPU, else the CPU
    if not gpus and os.environ.get(CPU_REPLICAS_ENV) is not None:
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_replicas())
        except RuntimeError:  # TensorFlow already placed ops in this process: its devices are fixed
            raise UserError(f"{CPU_REPLICAS_ENV}: TensorFlow is already initialised in this process; "
                            "set it before the first training") from None
        devices = [device.name for device in tf.config.list_logical_devices("CPU")]
    elif not gpus:
        log.warning("--distribute mirrored: no GPU is visible, so training runs on one CPU replica")
    strategy = tf.distribute.MirroredStrategy(devices=devices)
    log.info("--distribute mirrored: %d replica(s) on %s", strategy.num_replicas_in_sync,
             ", ".join(devices or [gpu.name for gpu in gpus] or ["the CPU"]))
    return strategy


def scope(strategy):
    """The strategy's scope (variables created inside are mirrored), or a no-op without one."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def replicas(strategy) -> int:
    return strategy.num_replicas_in_sync if strategy is not None else 1


def predict_on_batch(model, batch):
    """``model.predict_on_batch``, except for a model made under a multi-replica strategy: there Keras 3 returns
    each replica's copy of the batch (twice the rows with 2 replicas), while ``predict`` splits it properly."""
    if model.distribute_strategy.num_replicas_in_sync > 1:
        return model.predict(batch, batch_size=len(batch), verbose=0)
    return model.predict_on_batch(batch)
