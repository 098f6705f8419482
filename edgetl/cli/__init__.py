"""The edgetl command line: a thin typer layer, a file per command (train, evaluate, export, benchmark,
inspect, predict, run) registered on one app here."""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import traceback

import typer
from typer.core import TyperGroup
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from edgetl import __version__
from edgetl.export.choices import QUANTIZE_MODES
from edgetl.runtime.errors import UserError

err = Console(stderr=True)
USAGE_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


def one_line(text: str) -> str:
    """A message on one line: newlines (a library's multi-line text) folded into spaces."""
    return " ".join(str(text).split())


class UsageErrorsOnOneLine(TyperGroup):
    """Usage errors (a bad option value, an unknown option or command) as one ``error:`` line and exit 2,
    like every other user mistake, instead of click's usage text and rich's error panel."""

    def make_context(self, *args, **kwargs):
        with usage_errors_on_one_line():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with usage_errors_on_one_line():
            return super().invoke(ctx)


@contextlib.contextmanager
def usage_errors_on_one_line():
    try:
        yield
    except USAGE_ERROR as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `edgetl` alone prints the help
            raise
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        err.print("[bold red]error:[/] " + escape(one_line(exc.format_message()) + hint), highlight=False,
                  soft_wrap=True)
        raise typer.Exit(2) from None


app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  cls=UsageErrorsOnOneLine,
                  help="Train a pretrained backbone on your images, export it to a quantized ONNX model, run it live.")


# What an OSError or an interruption leaves behind, per command: said only where it is true.
AFTER_OSERROR = {
    "train": "; nothing partial was written (any previous run is unchanged)",
    "export": "; nothing partial was written (previous files kept)",
}
AFTER_INTERRUPT = {
    "train": "interrupted; previous files kept",
    "export": "interrupted; previous files kept",
    "run": "interrupted before the stream started; nothing written",
    "predict": "interrupted; the rows finished so far are in --out (run the same command again to go on)",
}
DEBUG = {"on": False}


def pass_through() -> tuple[type, ...]:
    kinds: list[type] = [typer.Exit, typer.Abort]
    try:  # typer >= 0.2x vendors click; older typer uses click's exceptions
        from typer.exceptions import TyperException
        kinds.append(TyperException)
    except ImportError:
        pass
    try:
        import click
        kinds.append(click.ClickException)
    except ImportError:
        pass
    return tuple(kinds)


PASS_THROUGH = pass_through()


def debugging() -> bool:
    return DEBUG["on"] or os.environ.get("EDGETL_DEBUG", "") not in ("", "0")


def friendly(fn):
    """Bad input becomes one line on stderr and exit code 2; Ctrl-C exits 130, SIGTERM 143 (both run the
    cleanup); a bug is one line and exit code 1, with the traceback only under --debug or EDGETL_DEBUG=1."""
    command = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from edgetl.runtime._io import exit_code, signal_handlers

        try:
            with signal_handlers():
                return fn(*args, **kwargs)
        except UserError as exc:
            if debugging():
                err.print(traceback.format_exc(), highlight=False, markup=False, soft_wrap=True)
            err.print(f"[bold red]error:[/] " + escape(one_line(exc)), highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except OSError as exc:  # disk full, read-only or unwritable location
            if debugging():
                err.print(traceback.format_exc(), highlight=False, markup=False, soft_wrap=True)
            where = f"{exc.filename}: " if exc.filename else ""
            err.print(f"[bold red]error:[/] " + escape(one_line(f"{where}{exc.strerror or exc}"
                                                                 f"{AFTER_OSERROR.get(command, '')}")),
                      highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM via signal_handlers
            err.print(AFTER_INTERRUPT.get(command, "interrupted"), highlight=False, soft_wrap=True)
            raise typer.Exit(exit_code(exc)) from None
        except PASS_THROUGH:  # typer's own exits and usage errors
            raise
        except Exception as exc:
            from edgetl.runtime._io import caused_by_signal

            signum = caused_by_signal(exc)
            if signum is not None:  # Ctrl-C inside a module's import surfaces as ImportError
                err.print(AFTER_INTERRUPT.get(command, "interrupted"), highlight=False, soft_wrap=True)
                raise typer.Exit(128 + signum) from None
            if debugging():
                err.print(traceback.format_exc(), highlight=False, markup=False, soft_wrap=True)
            message = one_line(exc)
            message = message if len(message) <= 300 else message[:297] + "..."
            err.print(f"[bold red]error:[/] " + escape(f"internal error ({type(exc).__name__}: {message}); this is "
                      f"a bug in edgetl {__version__}, please report it with --debug output"),
                      highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def version_callback(value: bool):
    if value:
        typer.echo(f"edgetl {__version__}")
        raise typer.Exit()


@app.callback()
def root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
         debug: bool = typer.Option(False, "--debug", help="Tracebacks for internal errors (or EDGETL_DEBUG=1)."),
         version: bool = typer.Option(False, "--version", callback=version_callback, is_eager=True,
                                      help="Print the version and exit.")):
    DEBUG["on"] = debug
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s",
                        handlers=[RichHandler(console=err, show_path=False, show_time=False)])


from edgetl.cli import benchmark, evaluate, export, inspect, predict, run, train  # noqa: E402  (a file per command)

train.register(app, friendly, err)
evaluate.register(app, friendly)
export.register(app, friendly)
benchmark.register(app, friendly)
inspect.register(app, friendly)
predict.register(app, friendly)
run.register(app, friendly)


QUANTIZE_CHOICES = QUANTIZE_MODES


def expand_bare_quantize(argv: list[str]) -> list[str]:
    """`--quantize` given alone means int8 (click options cannot take an optional value)."""
    out = list(argv)
    for i, arg in enumerate(argv):
        if arg == "--quantize" and (i + 1 == len(argv) or argv[i + 1] not in QUANTIZE_CHOICES):
            out.insert(i + 1 + (len(out) - len(argv)), "int8")
    return out


def main():
    app(args=predict.expand_bare_ray(expand_bare_quantize(sys.argv[1:])), prog_name="edgetl")


if __name__ == "__main__":
    sys.exit(main())
