"""The `edgetl` command's entry point: Ctrl-C or SIGTERM while the CLI is still starting (importing typer,
rich and numpy takes a second) exits 130/143 quietly instead of printing a KeyboardInterrupt traceback.
Each command then installs its own handlers (cli.friendly) for a clean stop with its outputs kept."""
from __future__ import annotations

import signal
import sys


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def main():
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        from edgetl.cli import main as cli_main
    except KeyboardInterrupt:
        sys.exit(130)
    # back to the default, which each command's own handlers (runtime._io.signal_handlers) take over from
    signal.signal(signal.SIGTERM, previous)
    try:
        return cli_main()
    except KeyboardInterrupt:  # before a command installed its handlers
        sys.exit(130)
