"""The `edgetl` command's entry point: Ctrl-C or SIGTERM while the CLI is still starting (importing typer,
rich, numpy and onnxruntime takes a second) exits 130/143 quietly instead of printing a traceback.
Each command then installs its own handlers (cli.friendly) for a clean stop with its outputs kept.

A signal that lands while a compiled extension initialises (onnxruntime's pybind11 module, for one) comes out
of the import as "ImportError: initialization failed", not as the KeyboardInterrupt, and one that lands in an
import lock's weakref callback is printed and ignored there ("Exception ignored in ... _get_module_lock": the import
went on, and `edgetl train` ran to its own error, exit 2): the handler records the signal so that either is known
for what it is, and while the CLI imports, such a stop ignored where it was raised is not printed either (it was:
"Exception ignored in ... Traceback ... SystemExit: 143", under the right exit code)."""
from __future__ import annotations

import signal
import sys
from contextlib import contextmanager

_received: list[int] = []


def _interrupt(signum, frame):
    _received.append(signum)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)


@contextmanager
def quiet_stops():
    """While it lasts, a stop _interrupt raised where Python can only print and ignore it (a weakref callback, a
    finalizer) is not printed: main() exits with the signal's code once the import is done."""
    previous = sys.unraisablehook

    def hook(unraisable):
        if not (_received and issubclass(unraisable.exc_type, (KeyboardInterrupt, SystemExit))):
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous


def main():
    previous = {signum: signal.signal(signum, _interrupt) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        with quiet_stops():
            from edgetl.cli import main as cli_main
    except KeyboardInterrupt:
        sys.exit(130)
    except ImportError:
        if _received:
            sys.exit(128 + _received[0])
        raise
    # back to the defaults, which each command's own handlers (runtime._io.signal_handlers) take over from
    for signum, handler in previous.items():
        signal.signal(signum, handler)
    if _received:  # raised where Python prints and ignores it (an import lock's weakref callback): still a stop
        sys.exit(128 + _received[0])
    try:
        return cli_main()
    except KeyboardInterrupt:  # before a command installed its handlers
        sys.exit(130)
