"""Ctrl-C or SIGTERM while the `edgetl` command is still starting (importing typer, rich, numpy) exits with
the signal's code and no traceback, and leaves nothing behind (edgetl/_entry.py)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

EDGETL = Path(sys.executable).with_name("edgetl")
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


def interrupted_start(tmp_path: Path, signum: int, delay: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([str(EDGETL), "train", "--data", "mnist-5k", "--out", str(tmp_path / "run")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(delay)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.skipif(not EDGETL.exists(), reason="the edgetl console script is not installed in this environment")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("delay", [0.05, 0.1, 0.2, 0.4, 0.8])
def test_signal_during_startup_exits_quietly(tmp_path, signum, delay):
    result = interrupted_start(tmp_path, signum, delay)
    # Either Python had not yet started (the default action kills it: -signum) or edgetl's entry point
    # turned it into the shell's exit code; never a traceback, never a crash code such as 1.
    assert result.returncode in (EXIT_CODES[signum], -signum), (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    assert "KeyboardInterrupt" not in result.stderr
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())
