"""Heavy optional modules, imported lazily with an install hint when missing."""
from __future__ import annotations

import contextlib
import importlib
import os

from edgetl.runtime.errors import UserError

TRAIN_HINT = "pip install 'edgetl[train]'"


@contextlib.contextmanager
def quiet_stderr():
    """Silence C++ start-up logging that ignores TF_CPP_MIN_LOG_LEVEL (absl, oneDNN, CUDA probes)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def require(module: str, purpose: str):
    """Import ``module``; missing, it is an install hint; present but failing, the real reason is kept.

    A broken install (a missing shared library, a sub-dependency at the wrong version, a half-removed
    package) must not look like a missing one: reinstalling the same package would not help.

    Ctrl-C and SIGTERM wait until the import is done (a few seconds for TensorFlow). Raised inside it, the
    interruption lands in some compiled extension's initialisation: that extension is left half made (an
    export stopped so crashed, -11) or it reports an ImportError, which a library's ``except ImportError``
    can swallow (an export stopped so ran on to the end, exit 0) and which would read here as a broken
    install. (Under the CLI's handlers runtime._io holds a signal inside any import; this also covers a Python
    caller with none installed.)
    """
    from edgetl.runtime._io import deferred_signals

    top = module.split(".")[0]
    try:
        with deferred_signals():
            return importlib.import_module(module)
    except ImportError as exc:
        missing = getattr(exc, "name", None)
        if isinstance(exc, ModuleNotFoundError) and missing in (top, module):
            raise UserError(f"{purpose} needs {top}, which is not installed: {TRAIN_HINT}") from None
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise UserError(f"{purpose} needs {top}, which is installed but fails to import ({type(exc).__name__}: "
                        f"{reason}); the install is broken: repair the package it names, or reinstall "
                        f"{top} in a fresh virtual environment") from None


def import_keras():
    """keras with the TensorFlow backend, imported quietly."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    with quiet_stderr():
        tf = require("tensorflow", "training and export")
        keras = require("keras", "training and export")
    tf.get_logger().setLevel("ERROR")  # retracing notices and deprecations are not for our users
    return keras
